//! The configuration files exactly as written: serde types, nothing checked.
//!
//! Every struct denies unknown keys. Every field is optional and numbers are
//! plain `i64`: whether a key is required and whether a number is in range is
//! decided by `validate`, which can then report all such problems at once with
//! a hint, instead of serde stopping at the first. Choices such as
//! `on_exhausted` are strings for the same reason.

use serde::Deserialize;

/// A center's file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCenterFile {
    pub center: Option<RawCenter>,
    pub departments: Option<Vec<RawDepartment>>,
    pub counters: Option<Vec<RawCounter>>,
    pub kiosk: Option<RawKiosk>,
    pub ratings: Option<RawRatings>,
    pub counter_work: Option<RawCounterWork>,
}

/// `[center]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCenter {
    pub name: Option<String>,
    pub short_name: Option<String>,
    pub address: Option<String>,
    pub timezone: Option<String>,
    pub day_starts_at: Option<String>,
    pub sessions: Option<Vec<RawSession>>,
    pub closed_weekdays: Option<Vec<String>>,
    pub closed_dates: Option<Vec<String>>,
    pub ticket_header: Option<Vec<String>>,
    pub ticket_footer: Option<Vec<String>>,
    pub status_url: Option<String>,
}

/// `[[center.sessions]]` or `[[departments.sessions]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSession {
    pub name: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// `[[departments]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDepartment {
    pub id: Option<String>,
    pub name: Option<String>,
    pub block: Option<RawBlock>,
    pub daily_cap: Option<i64>,
    pub sessions: Option<Vec<RawSession>>,
    pub priority: Option<bool>,
    pub button: Option<RawPin>,
    pub priority_button: Option<RawPin>,
    pub target_wait_minutes: Option<i64>,
    pub services: Option<Vec<RawService>>,
}

/// `[counter_work]`: what counter staff may choose from.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCounterWork {
    pub pause_reasons: Option<Vec<String>>,
    pub call_reasons: Option<Vec<String>>,
    pub bring_back: Option<String>,
}

/// `[[departments.services]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub id: Option<String>,
    pub name: Option<String>,
    pub priority: Option<bool>,
    pub note: Option<String>,
}

/// `departments[i].block`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBlock {
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub prefix: Option<String>,
    pub digits: Option<i64>,
    pub on_exhausted: Option<String>,
}

/// A button or LED: `{ pin = 17, active = "low" }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPin {
    pub pin: Option<i64>,
    pub active: Option<String>,
}

/// `[[counters]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCounter {
    pub number: Option<i64>,
    pub name: Option<String>,
    pub serves: Option<Vec<String>>,
}

/// `[kiosk]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKiosk {
    pub data_dir: Option<String>,
    pub listen: Option<String>,
    pub press_interval_ms: Option<i64>,
    pub store_cache_mib: Option<i64>,
    pub retention_days: Option<i64>,
    pub daily_reexec: Option<bool>,
    pub printer: Option<RawPrinter>,
    pub leds: Option<RawLeds>,
    pub priority: Option<RawPriority>,
    pub tls: Option<RawTls>,
    pub public: Option<RawPublic>,
    pub touch: Option<RawTouch>,
}

/// `[kiosk.public]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPublic {
    pub base_url: Option<String>,
    pub listen: Option<String>,
}

/// `[kiosk.touch]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTouch {
    pub loopback: Option<bool>,
    pub self_declared_priority: Option<bool>,
    pub idle_seconds: Option<i64>,
    pub cccd_priority_class: Option<String>,
    pub cccd_min_age: Option<i64>,
}

/// `[kiosk.tls]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// `[kiosk.printer]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrinter {
    pub transport: Option<String>,
    pub address: Option<String>,
    pub path: Option<String>,
    pub baud: Option<i64>,
    pub paper_width_mm: Option<i64>,
    pub dots_per_line: Option<i64>,
    pub cut: Option<bool>,
    pub band_height: Option<i64>,
    pub mode: Option<String>,
    pub codepage: Option<i64>,
    pub connect_timeout_ms: Option<i64>,
    pub io_timeout_ms: Option<i64>,
    pub status_interval_ms: Option<i64>,
}

/// `[kiosk.leds]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLeds {
    pub ready: Option<RawPin>,
    pub paper_low: Option<RawPin>,
    pub fault: Option<RawPin>,
    pub closed: Option<RawPin>,
}

/// `[kiosk.priority]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPriority {
    pub max_in_a_row: Option<i64>,
    pub classes: Option<Vec<RawPriorityClass>>,
}

/// `[[kiosk.priority.classes]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPriorityClass {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// `[ratings]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRatings {
    pub attach_window_secs: Option<i64>,
    pub levels: Option<Vec<RawRatingLevel>>,
}

/// `[[ratings.levels]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRatingLevel {
    pub id: Option<String>,
    pub label: Option<String>,
    pub color: Option<String>,
}

/// A display daemon's file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDisplayFile {
    pub kiosk_url: Option<String>,
    pub ca_file: Option<String>,
    pub token: Option<String>,
    pub mode: Option<String>,
    pub counters: Option<Vec<i64>>,
    pub listen: Option<String>,
    pub announcement: Option<String>,
    pub led_board: Option<RawLedBoard>,
    pub voice: Option<RawVoice>,
    pub keypad: Option<RawKeypad>,
}

/// `[led_board]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLedBoard {
    pub path: Option<String>,
    pub baud: Option<i64>,
}

/// `[voice]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVoice {
    pub enabled: Option<bool>,
    pub phrase: Option<String>,
    pub digit_by_digit: Option<bool>,
    pub backend: Option<String>,
    pub command: Option<Vec<String>>,
    pub clips_dir: Option<String>,
    pub player: Option<Vec<String>>,
    pub chime: Option<bool>,
    pub repeat: Option<i64>,
}

/// `[keypad]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeypad {
    pub counter: Option<i64>,
    pub next: Option<RawPin>,
    pub recall: Option<RawPin>,
    pub no_show: Option<RawPin>,
    pub finish: Option<RawPin>,
    pub confirm_led: Option<RawPin>,
    pub very_satisfied: Option<RawPin>,
    pub satisfied: Option<RawPin>,
    pub neutral: Option<RawPin>,
    pub unsatisfied: Option<RawPin>,
    pub refused_led: Option<RawPin>,
}
