//! The optional keypad at a counter: buttons for next, recall, no-show and
//! finish, the citizen's rating buttons (one per level), a confirmation LED
//! and a refusal LED.
//!
//! It owns turning button levels into actions and sending them to the kiosk
//! (`POST /api/v1/counters/{n}/{action}` with the display's token, which
//! needs the keypad role). It is generic over embedded-hal's
//! [`InputPin`]/[`OutputPin`], so it is tested with mocks; opening real pins
//! is [`crate::rpi`]'s (cargo feature `rpi`). It does not depend on the
//! `kiosk` crate (which links sled); the rule is the same as the kiosk's
//! buttons, written small:
//!
//! - the pin is sampled every [`POLL_INTERVAL`];
//! - a level counts once it has been stable for [`KeyRule::debounce`], so
//!   contact bounce is ignored;
//! - an action fires on the press (released → pressed), never while held;
//! - at most one action per key per [`KeyRule::min_interval`], so a hammered
//!   button does not call three citizens;
//! - a key with a long-press action ([`KeypadReader::add_key_with_long_press`],
//!   the finish key — or "next" when there is none — holding pause/resume
//!   for [`LONG_PRESS`]) fires its own action on release instead, when it
//!   was let go before the long press; held that long it fires the long
//!   action once, and its release fires nothing.
//!
//! The kiosk's answer is confirmed by a short blink of the LED (accepted),
//! of the refusal LED (refused), and by the counter page and the terminal
//! view (accepted or refused, with the kiosk's reason).
//!
//! # Ratings
//!
//! A rating button sends `POST /api/v1/counters/{n}/rate` with the level,
//! `source: counter_button` and an idempotency key made for that press
//! ([`rating_key`]). A rating is confirmed on the device only once the
//! kiosk answered that it recorded it (the kiosk has flushed it to disk by
//! then), so a confirmed rating is never lost; while the kiosk cannot be
//! reached (network cut, kiosk restarting) the press is re-sent with the
//! same key for up to [`RATING_RETRY_WINDOW`] ([`send_rating_reliably`]),
//! and the kiosk answers a repeated key with the first answer instead of
//! counting it again. A refusal (already rated, nobody served, too late)
//! is never retried. A kiosk that does not answer within the client's
//! response timeout ([`crate::http::RESPONSE_TIMEOUT`]) counts as refused,
//! so a hung kiosk never holds the keypad.

use std::time::{Duration, Instant};

use embedded_hal::digital::{Error as _, ErrorKind, InputPin, OutputPin};
use kiosk_config::ActiveLevel;

use crate::http::{Client, HttpError};

/// How often the keys are sampled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How long a key is held for its long-press action (pause or resume).
pub const LONG_PRESS: Duration = Duration::from_secs(2);
/// How long the confirmation LED stays lit.
pub const CONFIRM_BLINK: Duration = Duration::from_millis(400);

/// How long a rating press keeps being re-sent while the kiosk cannot be
/// reached.
pub const RATING_RETRY_WINDOW: Duration = Duration::from_secs(60);

/// One of the citizen's rating buttons: the fixed level ids of the
/// center's `[[ratings.levels]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatingKey {
    /// `very_satisfied`, Rất hài lòng.
    VerySatisfied,
    /// `satisfied`, Hài lòng.
    Satisfied,
    /// `neutral`, Bình thường (four-level centers).
    Neutral,
    /// `unsatisfied`, Không hài lòng.
    Unsatisfied,
}

impl RatingKey {
    /// The level id sent to the kiosk.
    pub fn id(self) -> &'static str {
        match self {
            Self::VerySatisfied => "very_satisfied",
            Self::Satisfied => "satisfied",
            Self::Neutral => "neutral",
            Self::Unsatisfied => "unsatisfied",
        }
    }

    /// The key of a level id.
    pub fn from_id(id: &str) -> Option<Self> {
        [
            Self::VerySatisfied,
            Self::Satisfied,
            Self::Neutral,
            Self::Unsatisfied,
        ]
        .into_iter()
        .find(|k| k.id() == id)
    }
}

/// An action of the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeypadAction {
    /// Call the next citizen.
    Next,
    /// Call the current citizen again.
    Recall,
    /// The called citizen did not come.
    NoShow,
    /// Service finished.
    Finish,
    /// The citizen rated the service.
    Rate(RatingKey),
    /// Pause the counter when it is open, open it again otherwise (the
    /// daemon decides from the counter's status on the stream).
    PauseResume,
    /// Pause the counter (for the center's first pause reason).
    Pause,
    /// Open the counter again.
    Resume,
}

impl KeypadAction {
    /// The last segment of the API path.
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Recall => "recall",
            Self::NoShow => "no-show",
            Self::Finish => "finish",
            Self::Rate(_) => "rate",
            Self::PauseResume => "pause-resume",
            Self::Pause => "pause",
            Self::Resume => "open",
        }
    }

    /// What the counter display says once the kiosk accepted it.
    pub fn done_text(self) -> &'static str {
        match self {
            Self::Next => "Đã gọi số tiếp theo",
            Self::Recall => "Đã gọi lại",
            Self::NoShow => "Đã bỏ qua số vắng mặt",
            Self::Finish => "Đã hoàn thành",
            Self::Rate(_) => "Cảm ơn ông/bà đã đánh giá",
            Self::PauseResume | Self::Pause => "Quầy đã tạm dừng",
            Self::Resume => "Quầy đã mở lại",
        }
    }
}

/// Timing of the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRule {
    /// How long a level must hold before it counts.
    pub debounce: Duration,
    /// The shortest time between two actions of one key.
    pub min_interval: Duration,
}

impl Default for KeyRule {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(20),
            min_interval: Duration::from_millis(500),
        }
    }
}

/// A pin could not be read or driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeypadError {
    /// Reading a key's pin failed.
    #[error(
        "cannot read the keypad's {action:?} button: {kind:?}; check the wiring and the pin number"
    )]
    Read {
        /// The key.
        action: KeypadAction,
        /// What the pin driver reported.
        kind: ErrorKind,
    },
    /// Driving the confirmation LED failed.
    #[error("cannot drive the keypad's confirmation LED: {0:?}")]
    Led(ErrorKind),
}

/// One key: a pin and its debounce state.
#[derive(Debug)]
struct Key<P> {
    /// The action it sends.
    action: KeypadAction,
    /// The pin.
    pin: P,
    /// Level that means pressed.
    active: ActiveLevel,
    /// The level that counts (after debounce): pressed or not.
    stable: bool,
    /// The last level read.
    candidate: bool,
    /// When `candidate` was first read.
    candidate_since: Option<Instant>,
    /// When the key last fired.
    last_fired: Option<Instant>,
    /// The action of a long press, and how long that is.
    long: Option<(KeypadAction, Duration)>,
    /// When the current (debounced) press began.
    pressed_since: Option<Instant>,
    /// Whether the current press already fired its long action.
    long_fired: bool,
}

/// Reads a set of keys; see the module docs for the rule.
#[derive(Debug)]
pub struct KeypadReader<P> {
    /// The keys.
    keys: Vec<Key<P>>,
    /// Their timing.
    rule: KeyRule,
}

impl<P: InputPin> KeypadReader<P> {
    /// A reader with no keys yet.
    pub fn new(rule: KeyRule) -> Self {
        Self {
            keys: Vec::new(),
            rule,
        }
    }

    /// Adds a key (released at start).
    pub fn add_key(&mut self, action: KeypadAction, pin: P, active: ActiveLevel) {
        self.keys.push(Key {
            action,
            pin,
            active,
            stable: false,
            candidate: false,
            candidate_since: None,
            last_fired: None,
            long: None,
            pressed_since: None,
            long_fired: false,
        });
    }

    /// Adds a key that fires `long_action` when held for `long_press`, and
    /// `action` when released sooner (see the module docs).
    pub fn add_key_with_long_press(
        &mut self,
        action: KeypadAction,
        long_action: KeypadAction,
        long_press: Duration,
        pin: P,
        active: ActiveLevel,
    ) {
        self.add_key(action, pin, active);
        if let Some(key) = self.keys.last_mut() {
            key.long = Some((long_action, long_press));
        }
    }

    /// Samples every key at `now`; returns the actions fired.
    pub fn poll(&mut self, now: Instant) -> Result<Vec<KeypadAction>, KeypadError> {
        let mut fired = Vec::new();
        for key in &mut self.keys {
            let level = match key.active {
                ActiveLevel::Low => key.pin.is_low(),
                ActiveLevel::High => key.pin.is_high(),
            };
            let pressed = level.map_err(|e| KeypadError::Read {
                action: key.action,
                kind: e.kind(),
            })?;
            if pressed != key.candidate || key.candidate_since.is_none() {
                key.candidate = pressed;
                key.candidate_since = Some(now);
            }
            let held = key
                .candidate_since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
            let rested = match key.last_fired {
                Some(last) => now.saturating_duration_since(last) >= self.rule.min_interval,
                None => true,
            };
            if key.candidate != key.stable && held >= self.rule.debounce {
                key.stable = key.candidate;
                match (key.long, key.stable) {
                    (None, true) if rested => {
                        key.last_fired = Some(now);
                        fired.push(key.action);
                    }
                    (None, _) => {}
                    (Some(_), true) => {
                        key.pressed_since = Some(now);
                        key.long_fired = false;
                    }
                    (Some(_), false) => {
                        // Released before the long press: the short action.
                        if !key.long_fired && key.pressed_since.is_some() && rested {
                            key.last_fired = Some(now);
                            fired.push(key.action);
                        }
                        key.pressed_since = None;
                    }
                }
            }
            if let (Some((long_action, long_press)), Some(since)) = (key.long, key.pressed_since) {
                if key.stable
                    && !key.long_fired
                    && now.saturating_duration_since(since) >= long_press
                {
                    key.long_fired = true;
                    key.last_fired = Some(now);
                    fired.push(long_action);
                }
            }
        }
        Ok(fired)
    }

    /// Gives the pins back (tests call `.done()` on mocks).
    pub fn into_pins(self) -> Vec<P> {
        self.keys.into_iter().map(|k| k.pin).collect()
    }
}

/// The confirmation LED.
#[derive(Debug)]
pub struct ConfirmLed<O> {
    /// The pin.
    pin: O,
    /// Level that lights it.
    active: ActiveLevel,
}

impl<O: OutputPin> ConfirmLed<O> {
    /// Wraps a pin.
    pub fn new(pin: O, active: ActiveLevel) -> Self {
        Self { pin, active }
    }

    /// Lights or darkens the LED.
    pub fn set(&mut self, lit: bool) -> Result<(), KeypadError> {
        let high = lit == (self.active == ActiveLevel::High);
        let result = if high {
            self.pin.set_high()
        } else {
            self.pin.set_low()
        };
        result.map_err(|e| KeypadError::Led(e.kind()))
    }

    /// Gives the pin back.
    pub fn into_pin(self) -> O {
        self.pin
    }
}

/// Why the kiosk did not carry out an action.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The kiosk could not be reached.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The kiosk refused it (its `{"error": …}` message).
    #[error("the kiosk refused it (HTTP {status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The kiosk's message.
        message: String,
    },
}

/// Sends `action` for `counter` to the kiosk through `client`, whose
/// response timeout ([`crate::http::RESPONSE_TIMEOUT`] by default) bounds
/// how long a silent kiosk can hold the keypad.
pub async fn send_action(
    client: &Client,
    token: &str,
    counter: u16,
    action: KeypadAction,
) -> Result<(), ActionError> {
    let path = format!("/api/v1/counters/{counter}/{}", action.path_segment());
    let auth = format!("Bearer {token}");
    let (status, body) = client
        .post_empty(&path, &[("Authorization", &auth)])
        .await?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
    Err(ActionError::Refused { status, message })
}

/// Why a rating was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// The kiosk could not be reached (after retrying, for
    /// [`send_rating_reliably`]).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The kiosk refused it.
    #[error("the kiosk refused the rating (HTTP {status}, {reason}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The kiosk's reason code (`already_rated`, `no_ticket`, …).
        reason: String,
        /// What to show the citizen (Vietnamese).
        message_vi: String,
        /// The kiosk's English message.
        message: String,
    },
}

impl RatingError {
    /// What the device shows the citizen.
    pub fn citizen_message(&self) -> String {
        match self {
            Self::Refused { message_vi, .. } if !message_vi.is_empty() => message_vi.clone(),
            Self::Refused { .. } => "Chưa ghi nhận được đánh giá.".to_owned(),
            Self::Http(_) => {
                "Không kết nối được máy chủ, chưa ghi nhận được đánh giá. Xin báo cán bộ."
                    .to_owned()
            }
        }
    }

    /// Whether trying again later may succeed (the kiosk was unreachable or
    /// its store was unavailable).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http(_) => true,
            Self::Refused { status, .. } => *status >= 500,
        }
    }
}

/// A fresh idempotency key for one press at `counter`: the daemon's start
/// time and a sequence number, so keys differ across restarts too.
pub fn rating_key(counter: u16) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static START: OnceLock<u128> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let start = START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("c{counter}-{start:x}-{n}")
}

/// Sends one rating attempt to the kiosk.
pub async fn send_rating(
    client: &Client,
    token: &str,
    counter: u16,
    request: &queue_protocol::RateRequest,
) -> Result<queue_protocol::RateAccepted, RatingError> {
    let path = format!("/api/v1/counters/{counter}/rate");
    let auth = format!("Bearer {token}");
    let body = serde_json::to_vec(request).unwrap_or_default();
    let exchange = async {
        let (head, mut reply) = client
            .request(
                "POST",
                &path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                &body,
            )
            .await?;
        let bytes = reply.read_to_end(64 * 1024).await?;
        Ok::<_, HttpError>((head.status, bytes))
    };
    let (status, bytes) = exchange.await?;
    if (200..300).contains(&status) {
        if let Ok(accepted) = serde_json::from_slice(&bytes) {
            return Ok(accepted);
        }
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    Err(RatingError::Refused {
        status,
        reason: text("reason"),
        message_vi: text("message_vi"),
        message: text("error"),
    })
}

/// Sends a rating, re-sending it with the same key while the kiosk cannot
/// be reached, for at most `window` (see the module docs). Returns the
/// kiosk's first real answer, or the last transient error.
pub async fn send_rating_reliably(
    client: &Client,
    token: &str,
    counter: u16,
    request: &queue_protocol::RateRequest,
    window: Duration,
) -> Result<queue_protocol::RateAccepted, RatingError> {
    let began = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match send_rating(client, token, counter, request).await {
            Err(e) if e.is_transient() && began.elapsed() + pause < window => {
                tracing::debug!("rating at counter {counter} not delivered yet, retrying: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// Starts the thread that polls the keys every [`POLL_INTERVAL`], sends
/// fired actions to `actions`, and blinks `led` for each `true` received on
/// `confirms` (the kiosk accepted an action). It ends when `stop` turns true.
pub fn spawn_reader<P, O>(
    reader: KeypadReader<P>,
    led: Option<ConfirmLed<O>>,
    actions: tokio::sync::mpsc::Sender<KeypadAction>,
    confirms: std::sync::mpsc::Receiver<bool>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    P: InputPin + Send + 'static,
    O: OutputPin + Send + 'static,
{
    spawn_reader_with_refusal(reader, led, None, actions, confirms, stop)
}

/// Lights the LED that answers the kiosk's verdict: `confirm` when it
/// accepted, `refused` when it refused; the other one goes dark.
pub fn show_verdict<O: OutputPin>(
    confirm: Option<&mut ConfirmLed<O>>,
    refused: Option<&mut ConfirmLed<O>>,
    accepted: bool,
) -> Result<(), KeypadError> {
    if let Some(led) = confirm {
        led.set(accepted)?;
    }
    if let Some(led) = refused {
        led.set(!accepted)?;
    }
    Ok(())
}

/// [`spawn_reader`] with a refusal LED too, blinked for each `false`
/// received on `confirms`.
pub fn spawn_reader_with_refusal<P, O>(
    mut reader: KeypadReader<P>,
    mut led: Option<ConfirmLed<O>>,
    mut refused_led: Option<ConfirmLed<O>>,
    actions: tokio::sync::mpsc::Sender<KeypadAction>,
    confirms: std::sync::mpsc::Receiver<bool>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    P: InputPin + Send + 'static,
    O: OutputPin + Send + 'static,
{
    std::thread::Builder::new()
        .name("keypad".into())
        .spawn(move || {
            let mut lit_until: Option<Instant> = None;
            let mut failing = false;
            while !*stop.borrow() {
                let now = Instant::now();
                match reader.poll(now) {
                    Ok(fired) => {
                        failing = false;
                        for action in fired {
                            if actions.try_send(action).is_err() {
                                tracing::warn!(
                                    "keypad {} ignored: earlier actions are still being sent to the kiosk",
                                    action.path_segment()
                                );
                            }
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!("{e}");
                    }
                    Err(_) => {}
                }
                while let Ok(ok) = confirms.try_recv() {
                    // Without a refusal LED a refusal shows on the counter
                    // page only.
                    if ok || refused_led.is_some() {
                        lit_until = Some(now + CONFIRM_BLINK);
                        if let Err(e) = show_verdict(led.as_mut(), refused_led.as_mut(), ok) {
                            tracing::warn!("{e}");
                        }
                    }
                }
                if lit_until.is_some_and(|until| now >= until) {
                    lit_until = None;
                    if let Some(led) = led.as_mut() {
                        let _ = led.set(false);
                    }
                    if let Some(led) = refused_led.as_mut() {
                        let _ = led.set(false);
                    }
                }
                std::thread::sleep(POLL_INTERVAL);
            }
        })
}
