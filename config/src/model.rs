//! The validated model of a center and of a display daemon.
//!
//! These are the types the rest of the workspace uses. They are only ever
//! built by validation (see `validate`), so every value here has already been
//! checked: pins exist and are unique, blocks do not overlap, counters serve
//! known departments, times are well formed. Nothing in this module parses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// A whole center: the file `kiosk run --config FILE` reads.
#[derive(Debug, Clone)]
pub struct CenterConfig {
    /// The center's identity, time zone, schedule and ticket texts.
    pub center: Center,
    /// Departments in file order; ids are unique.
    pub departments: Vec<Department>,
    /// Counters in file order; numbers are unique.
    pub counters: Vec<Counter>,
    /// Settings of the ticket-machine Pi itself.
    pub kiosk: KioskSettings,
    /// How citizens rate the service at the counter (`[ratings]`).
    pub ratings: RatingSettings,
    /// Pause reasons, reasons for calling out of order, bring-back policy.
    pub counter_work: CounterWork,
}

/// Rating levels and the attach window (`[ratings]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingSettings {
    /// The levels, best first: `very_satisfied`, `satisfied`, (`neutral`,)
    /// `unsatisfied`.
    pub levels: Vec<RatingLevel>,
    /// A rating attaches to the counter's last finished ticket only this
    /// long after it finished (and before the counter calls the next one).
    pub attach_window: Duration,
}

/// One rating level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingLevel {
    /// Its id in events, the API and reports (`very_satisfied`).
    pub id: String,
    /// Vietnamese label shown to citizens ("Rất hài lòng").
    pub label: String,
    /// Its colour on the rating page, `#rrggbb`.
    pub color: String,
}

impl RatingSettings {
    /// The level with this id.
    pub fn level(&self, id: &str) -> Option<&RatingLevel> {
        self.levels.iter().find(|l| l.id == id)
    }

    /// Whether a rating of this level counts as "satisfied" in reports: the
    /// top two levels, with three levels as with four (`neutral` is not
    /// satisfied).
    pub fn is_satisfied(&self, id: &str) -> bool {
        self.levels.iter().take(2).any(|l| l.id == id)
    }
}

impl Default for RatingSettings {
    /// The three usual levels and a three-minute window.
    fn default() -> Self {
        let level = |id: &str, label: &str, color: &str| RatingLevel {
            id: id.to_owned(),
            label: label.to_owned(),
            color: color.to_owned(),
        };
        Self {
            levels: vec![
                level("very_satisfied", "Rất hài lòng", "#1b7f3b"),
                level("satisfied", "Hài lòng", "#1f5fa8"),
                level("unsatisfied", "Không hài lòng", "#b3261e"),
            ],
            attach_window: Duration::from_secs(180),
        }
    }
}

/// `[counter_work]`: the short lists counter staff choose from and where a
/// no-show that is brought back goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterWork {
    /// Reasons a counter may be paused for ("Nghỉ giải lao"), shown as
    /// buttons in the console; never empty.
    pub pause_reasons: Vec<String>,
    /// Reasons for calling a chosen ticket out of order; never empty.
    pub call_reasons: Vec<String>,
    /// Where a no-show brought back the same day waits.
    pub bring_back: BringBack,
}

/// Where a no-show brought back the same day waits again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BringBack {
    /// At the front of its department's queue (the citizen already waited).
    Front,
    /// At its place by original issue time.
    IssueOrder,
}

/// Who the center is and when it works.
#[derive(Debug, Clone)]
pub struct Center {
    /// Full name, e.g. "Trung tâm Hành chính công quận Phú Xuân".
    pub name: String,
    /// Short name printed large on tickets.
    pub short_name: String,
    /// Postal address, printed under the name.
    pub address: String,
    /// IANA name of the time zone, as written in the file.
    pub timezone_name: String,
    /// The time zone the service day and opening hours are counted in.
    pub timezone: TimeZone,
    /// Local time at which a new service day starts and numbers reset.
    pub day_starts_at: Time,
    /// Opening sessions of an ordinary day, in order, not overlapping.
    pub sessions: Vec<Session>,
    /// Weekdays the center is closed (e.g. Sunday).
    pub closed_weekdays: Vec<Weekday>,
    /// Single dates the center is closed (holidays).
    pub closed_dates: Vec<Date>,
    /// Lines printed above the center's name on every ticket.
    pub ticket_header: Vec<String>,
    /// Lines printed at the bottom of every ticket.
    pub ticket_footer: Vec<String>,
    /// When set, the ticket's QR code links here with `{ticket}` replaced by the ticket id.
    pub status_url: Option<String>,
}

/// One opening session, e.g. "Sáng" 07:30–11:30.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Vietnamese name shown on tickets ("Sáng", "Chiều").
    pub name: String,
    /// First minute tickets are issued.
    pub start: Time,
    /// Tickets are refused from this time on.
    pub end: Time,
}

/// The identifier of a department, as written in the config (`ho-tich`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DepartmentId(pub String);

impl std::fmt::Display for DepartmentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A department: its own numbers, button and hours.
#[derive(Debug, Clone)]
pub struct Department {
    /// Unique id used by counters, the API and the store.
    pub id: DepartmentId,
    /// Vietnamese name, printed on tickets and shown on displays.
    pub name: String,
    /// The numbers this department hands out each service day.
    pub block: NumberBlock,
    /// At most this many tickets per service day; never larger than the block.
    pub daily_cap: Option<u32>,
    /// Opening sessions of this department when they differ from the center's.
    pub sessions: Option<Vec<Session>>,
    /// Whether priority tickets are offered for this department.
    pub priority: bool,
    /// The button citizens press for an ordinary ticket.
    pub button: Option<ButtonPin>,
    /// The button for a priority ticket, when there is one.
    pub priority_button: Option<ButtonPin>,
    /// Service-level target: a ticket waiting longer than this is "over
    /// target" (admin live view, console, metrics, report).
    pub target_wait: Option<Duration>,
    /// The procedures a citizen may pick on the touch screen (Hộ tịch →
    /// Khai sinh, Kết hôn, …); empty for a department picked as a whole.
    pub services: Vec<Service>,
}

/// One procedure of a department, picked on the touch screen and printed
/// on the ticket under the department's name. Its tickets are numbered and
/// called with the department's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Unique within its department; stored with the ticket (`khai-sinh`).
    pub id: String,
    /// Vietnamese name shown and printed ("Khai sinh").
    pub name: String,
    /// Whether priority tickets are offered for this procedure; `None`
    /// follows the department.
    pub priority: Option<bool>,
    /// A short Vietnamese note shown under the name on the touch screen.
    pub note: Option<String>,
}

/// The numbers of a department, e.g. 1001–1999 or A001–A999.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberBlock {
    /// First number of the day.
    pub first: u32,
    /// Last number of the day.
    pub last: u32,
    /// Optional letter prefix printed before the digits ("A").
    pub prefix: Option<String>,
    /// Number of digits printed, zero-padded (3 gives "A005").
    pub digits: u8,
    /// What happens after `last` has been issued.
    pub on_exhausted: Exhaustion,
}

impl NumberBlock {
    /// How many numbers the block holds.
    pub fn len(&self) -> u32 {
        self.last - self.first + 1
    }

    /// A block always holds at least one number.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The label printed on the ticket and shown on displays: `1005`, `A005`.
    pub fn label(&self, number: u32) -> String {
        let prefix = self.prefix.as_deref().unwrap_or("");
        format!("{prefix}{number:0width$}", width = usize::from(self.digits))
    }
}

/// What a department does when its block runs out during a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhaustion {
    /// Start again at `first` (only safe when earlier holders are long served).
    Wrap,
    /// Refuse further tickets for the day ("đã hết số").
    Refuse,
}

/// A GPIO input, numbered as BCM GPIO (what `rppal` uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonPin {
    /// BCM GPIO number, 2–27 on a 40-pin header.
    pub pin: u8,
    /// Level the pin reads while the button is pressed.
    pub active: ActiveLevel,
}

/// Electrical level meaning "pressed" or "lit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveLevel {
    /// Pressed pulls the pin to ground (internal pull-up); the usual wiring.
    Low,
    /// Pressed drives the pin high (pull-down).
    High,
}

/// A counter where a clerk serves citizens.
#[derive(Debug, Clone)]
pub struct Counter {
    /// Number shown on displays and said by the voice ("quầy số 3").
    pub number: u16,
    /// Name shown to staff ("Quầy 3 – Hộ tịch").
    pub name: String,
    /// Departments this counter calls from, most preferred first.
    pub serves: Vec<DepartmentId>,
}

/// Settings of the ticket-machine Pi.
#[derive(Debug, Clone)]
pub struct KioskSettings {
    /// Where the durable store lives.
    pub data_dir: PathBuf,
    /// Address the LAN API listens on.
    pub listen: SocketAddr,
    /// The ticket printer.
    pub printer: PrinterSettings,
    /// Status LEDs; each is optional.
    pub leds: StatusLeds,
    /// A button gives at most one ticket per this interval.
    pub press_interval: Duration,
    /// How priority tickets are ordered against normal ones.
    pub priority: PriorityPolicy,
    /// sled page cache size in bytes; small on a Pi.
    pub store_cache_bytes: u64,
    /// Service days older than this many days are summarised and removed.
    pub retention_days: u32,
    /// Whether `kiosk run` re-executes itself (same PID, same listening
    /// socket) at each service-day roll while the center is closed, so a
    /// kiosk left running for months starts every day as a fresh process.
    pub daily_reexec: bool,
    /// HTTPS for the LAN API: the certificate and key files (`[kiosk.tls]`);
    /// `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The citizens' phone pages (`[kiosk.public]`); `None` serves none and
    /// the ticket's QR code carries what `status_url` says.
    pub public: Option<PublicSite>,
    /// The touch screen page (`/touch`) and the citizen ID card's QR.
    pub touch: TouchSettings,
}

/// Where the citizens' phone pages are served (`[kiosk.public]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSite {
    /// How phones reach the public listener, without a trailing slash
    /// (`http://192.168.50.10:8081`); the QR code is `{base_url}/t/{key}`.
    pub base_url: String,
    /// The public listener's address (the guest Wi-Fi's interface).
    pub listen: SocketAddr,
}

/// The touch screen ticket page (`[kiosk.touch]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchSettings {
    /// Whether the page and its API answer callers on the kiosk's own
    /// loopback without a token (the Pi's own screen); otherwise a `touch`
    /// device token is needed.
    pub loopback: bool,
    /// Whether citizens may declare a priority class themselves on the
    /// page (departments that offer priority only).
    pub self_declared_priority: bool,
    /// The page goes back to its start after this long without a touch.
    pub idle_return: Duration,
    /// Priority granted from the birth date on a scanned citizen ID card;
    /// `None` ignores scans.
    pub cccd: Option<CccdPriority>,
}

/// The priority a citizen ID card (CCCD) grants by age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CccdPriority {
    /// The priority class id granted (one of `[[kiosk.priority.classes]]`).
    pub class: String,
    /// Granted from this age (whole years, in the center's time zone) on.
    pub min_age: u8,
}

impl Default for TouchSettings {
    fn default() -> Self {
        TouchSettings {
            loopback: true,
            self_declared_priority: true,
            idle_return: Duration::from_secs(8),
            cccd: None,
        }
    }
}

/// The PEM files of the kiosk's TLS certificate (`[kiosk.tls]`). The files
/// are read when the kiosk starts, not when the config is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain: the kiosk's certificate, then the CA's.
    pub cert: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
}

/// Status LEDs of the kiosk, BCM GPIO numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusLeds {
    /// Lit while tickets can be issued.
    pub ready: Option<LedPin>,
    /// Lit while the printer reports its paper near the end.
    pub paper_low: Option<LedPin>,
    /// Lit while paper is out, the cover is open or the printer is unreachable.
    pub fault: Option<LedPin>,
    /// Lit outside opening hours or when a department cannot issue more today.
    pub closed: Option<LedPin>,
}

/// A GPIO output driving an LED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedPin {
    /// BCM GPIO number.
    pub pin: u8,
    /// Level that lights the LED.
    pub active: ActiveLevel,
}

/// How priority tickets go ahead of normal ones without starving them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityPolicy {
    /// The priority classes a ticket can carry.
    pub classes: Vec<PriorityClass>,
    /// When both wait, at most this many priority tickets are called before a normal one.
    pub max_in_a_row: u32,
}

/// A class of citizens served first (elderly, disabled, pregnant, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityClass {
    /// Identifier used by the API ("nguoi-cao-tuoi").
    pub id: String,
    /// Vietnamese name printed on the ticket ("Người cao tuổi").
    pub name: String,
}

/// The ticket printer and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSettings {
    /// How bytes reach the printer.
    pub transport: PrinterTransport,
    /// Paper width in millimetres: 58 or 80.
    pub paper_width_mm: u8,
    /// Printable dots per line (384 for 58 mm, 576 for 80 mm).
    pub dots_per_line: u16,
    /// Cut the paper after each ticket.
    pub cut: bool,
    /// Height in dots of each `GS v 0` band, so small buffers never overflow.
    pub band_height: u16,
    /// Raster (default, works everywhere) or a Vietnamese code page.
    pub mode: PrintMode,
    /// Connect timeout for network printers.
    pub connect_timeout: Duration,
    /// Timeout for one write or status answer.
    pub io_timeout: Duration,
    /// How often the printer's status is polled.
    pub status_interval: Duration,
}

/// How bytes reach the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTransport {
    /// Network printer, usually port 9100.
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// USB printer-class device such as `/dev/usb/lp0`.
    Usb {
        /// The device file.
        path: PathBuf,
    },
    /// Serial port.
    Serial {
        /// The device file.
        path: PathBuf,
        /// Bits per second.
        baud: u32,
    },
    /// A file: each ticket's bytes are written there (tests, demo).
    File {
        /// The file, appended to.
        path: PathBuf,
    },
}

/// How the ticket is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintMode {
    /// The whole ticket as a 1-bit image; the default.
    Raster,
    /// Text in the printer's own Vietnamese code page (`ESC t n`).
    Text {
        /// The `n` of `ESC t n`.
        codepage: u8,
    },
}

/// A display daemon's own file.
#[derive(Debug, Clone)]
pub struct DisplayConfig {
    /// Base URL of the kiosk, e.g. `http://192.168.1.10:8080`.
    pub kiosk_url: String,
    /// For an `https://` kiosk: the PEM file of the CA that signed the
    /// kiosk's certificate (`None`: the system's CA bundle).
    pub ca_file: Option<PathBuf>,
    /// Device token with the `display` role (and `keypad` for a keypad).
    pub token: String,
    /// What this display shows.
    pub mode: DisplayMode,
    /// Counters shown; empty means all.
    pub counters: Vec<u16>,
    /// Address of the local page served for the browser (hall board, counter page).
    pub listen: SocketAddr,
    /// A line of Vietnamese text scrolling along the bottom of the hall
    /// board (opening hours, documents to bring); `None` shows no line.
    pub announcement: Option<String>,
    /// Serial LED board, when one is attached.
    pub led_board: Option<LedBoard>,
    /// Voice announcements.
    pub voice: VoiceSettings,
    /// Keypad buttons at a counter.
    pub keypad: Option<Keypad>,
}

/// What a display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// The big board in the hall.
    HallBoard,
    /// One counter's current number.
    Counter,
    /// A text view in the terminal.
    Terminal,
}

/// A serial LED board at a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedBoard {
    /// Serial device path.
    pub path: PathBuf,
    /// Baud rate.
    pub baud: u32,
}

/// How calls are announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceSettings {
    /// Whether calls are announced at all.
    pub enabled: bool,
    /// Phrase with `{number}` and `{counter}` placeholders.
    pub phrase: String,
    /// Read the number digit by digit instead of as a Vietnamese number.
    pub digit_by_digit: bool,
    /// Where the audio comes from.
    pub backend: VoiceBackend,
    /// Command that plays a WAV file (the file path is appended).
    pub player: Vec<String>,
    /// Play a chime before the phrase.
    pub chime: bool,
    /// How many times each call is said.
    pub repeat: u8,
}

/// Source of the spoken audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceBackend {
    /// A text-to-speech command writing a WAV (default `espeak-ng -v vi -w {wav} {text}`).
    Command(Vec<String>),
    /// A folder of recorded clips, one WAV per word.
    Clips(PathBuf),
}

/// Keypad buttons of a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keypad {
    /// The counter the keypad acts for.
    pub counter: u16,
    /// "Next" button.
    pub next: ButtonPin,
    /// "Recall" button.
    pub recall: Option<ButtonPin>,
    /// "No-show" button.
    pub no_show: Option<ButtonPin>,
    /// "Finish" button.
    pub finish: Option<ButtonPin>,
    /// LED confirming an action.
    pub confirm_led: Option<LedPin>,
    /// The citizen's rating buttons, best level first: `(level id, pin)`.
    pub ratings: Vec<(String, ButtonPin)>,
    /// LED lit when the kiosk refused an action or a rating.
    pub refused_led: Option<LedPin>,
}

// Lookups and questions the rest of the workspace asks of a validated
// configuration. None of them fails: validation already made sure ids,
// numbers and pins are unique.

impl CenterConfig {
    /// The department with this id.
    pub fn department(&self, id: &DepartmentId) -> Option<&Department> {
        self.departments.iter().find(|d| &d.id == id)
    }

    /// The position of the department with this id in file order.
    pub fn department_index(&self, id: &DepartmentId) -> Option<usize> {
        self.departments.iter().position(|d| &d.id == id)
    }

    /// The counter with this number.
    pub fn counter(&self, number: u16) -> Option<&Counter> {
        self.counters.iter().find(|c| c.number == number)
    }

    /// Counters that call tickets of this department, in file order.
    pub fn counters_serving<'a>(
        &'a self,
        id: &'a DepartmentId,
    ) -> impl Iterator<Item = &'a Counter> + 'a {
        self.counters
            .iter()
            .filter(move |c| c.serves_department(id))
    }

    /// Departments whose tickets no counter calls (a warning at load time).
    pub fn unserved_departments(&self) -> Vec<&Department> {
        self.departments
            .iter()
            .filter(|d| self.counters_serving(&d.id).next().is_none())
            .collect()
    }

    /// Every GPIO pin the kiosk uses (buttons and LEDs), ascending.
    pub fn used_pins(&self) -> Vec<u8> {
        let buttons = self
            .departments
            .iter()
            .flat_map(|d| [d.button, d.priority_button])
            .flatten()
            .map(|b| b.pin);
        let l = &self.kiosk.leds;
        let leds = [l.ready, l.paper_low, l.fault, l.closed]
            .into_iter()
            .flatten()
            .map(|l| l.pin);
        let mut pins: Vec<u8> = buttons.chain(leds).collect();
        pins.sort_unstable();
        pins
    }
}

impl Center {
    /// The opening sessions that apply to `department`: its own, or the center's.
    pub fn sessions_for<'a>(&'a self, department: &'a Department) -> &'a [Session] {
        department.sessions.as_deref().unwrap_or(&self.sessions)
    }

    /// `at` as a local date and time in the center's time zone.
    pub fn local(&self, at: jiff::Timestamp) -> jiff::Zoned {
        at.to_zoned(self.timezone.clone())
    }

    /// The service day `at` belongs to: the local date, or the day before
    /// when `at` is earlier than `day_starts_at`.
    pub fn service_day(&self, at: jiff::Timestamp) -> Date {
        let local = self.local(at).datetime();
        if local.time() < self.day_starts_at {
            local.date().yesterday().unwrap_or(local.date())
        } else {
            local.date()
        }
    }

    /// Whether the center is closed for the whole of service day `day`.
    pub fn is_closed_on(&self, day: Date) -> bool {
        self.closed_weekdays.contains(&day.weekday()) || self.closed_dates.contains(&day)
    }

    /// Whether `department` issues tickets at `at`: not a closed day, and
    /// inside one of its sessions. A center with no sessions at all is open
    /// all day.
    pub fn is_open_at(&self, department: &Department, at: jiff::Timestamp) -> bool {
        if self.is_closed_on(self.service_day(at)) {
            return false;
        }
        let sessions = self.sessions_for(department);
        let time = self.local(at).time();
        sessions.is_empty() || sessions.iter().any(|s| s.contains(time))
    }
}

impl Session {
    /// Whether `time` lies in `[start, end)`.
    pub fn contains(&self, time: Time) -> bool {
        self.start <= time && time < self.end
    }
}

impl Department {
    /// The service `id` of this department.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// Whether a priority ticket may be issued for this department and,
    /// when given, this service.
    pub fn offers_priority(&self, service: Option<&Service>) -> bool {
        service.and_then(|s| s.priority).unwrap_or(self.priority)
    }

    /// How many tickets the department may issue in one service day.
    pub fn daily_limit(&self) -> u32 {
        self.daily_cap
            .map_or(self.block.len(), |cap| cap.min(self.block.len()))
    }
}

impl NumberBlock {
    /// Whether `number` belongs to the block.
    pub fn contains(&self, number: u32) -> bool {
        (self.first..=self.last).contains(&number)
    }
}

impl Counter {
    /// Whether this counter calls tickets of department `id`.
    pub fn serves_department(&self, id: &DepartmentId) -> bool {
        self.serves.contains(id)
    }
}

impl From<&str> for DepartmentId {
    fn from(id: &str) -> Self {
        DepartmentId(id.to_owned())
    }
}

impl DepartmentId {
    /// The id as written in the config.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl DisplayConfig {
    /// Whether this display shows `counter` (an empty list shows all).
    pub fn shows_counter(&self, counter: u16) -> bool {
        self.counters.is_empty() || self.counters.contains(&counter)
    }
}
