//! The configuration of a service center (`kiosk-config`).
//!
//! One TOML file describes a center: the `kiosk` daemon reads it and
//! `kiosk check-config FILE` checks it. A display daemon has its own small
//! file. Loading is two steps: the text is parsed into raw serde types that
//! deny unknown keys, then validated into the [`model`] types the rest of the
//! workspace uses. Every problem is reported at once, each as
//! `FILE:LINE:COL: path: message` with a hint ([`ConfigError`]); problems
//! that do not stop the center are [`ConfigWarning`]s.
//!
//! This crate reads the file it is asked to load and does no other I/O.
//!
//! # The center file
//!
//! The commented examples are the reference: `config/examples/phu-xuan.toml`
//! (15 departments, 80 mm network printer), `thuan-hoa.toml` (letter
//! prefixes, 58 mm USB printer) and `minimal.toml` (one department, every
//! default). In short (this table is [`keys::CENTER_FILE`], which the
//! `kiosk-center.toml(5)` manual page is also made from):
//!
//! | section | keys |
//! |---|---|
//! | `[center]` | `name`, `short_name`, `address`, `timezone` (IANA, default `Asia/Ho_Chi_Minh`), `day_starts_at` (`"HH:MM"`, default `"00:00"`), `closed_weekdays` (`["sunday"]`), `closed_dates` (`["2025-09-02"]`), `ticket_header`, `ticket_footer`, `status_url` |
//! | `[[center.sessions]]` | `name`, `start` (`"HH:MM"`), `end` (`"HH:MM"`; default Sáng 07:30–11:30 and Chiều 13:30–17:00) |
//! | `[[departments]]` | `id` (`ho-tich`), `name`, `block` (`{ first, last, prefix, digits, on_exhausted = "refuse" \| "wrap" }`), `daily_cap`, `sessions` (override), `priority`, `button` (`{ pin, active = "low" }`), `priority_button`, `target_wait_minutes` (service-level target, minutes) |
//! | `[[departments.services]]` | `id` (`khai-sinh`, unique in the department), `name` (`Khai sinh`), `priority` (default: the department's), `note` (shown under the name on the touch screen) |
//! | `[[counters]]` | `number`, `name`, `serves` (`["ho-tich", …]`, most preferred first) |
//! | `[counter_work]` | `pause_reasons` (`["Nghỉ giải lao", "Họp", …]`), `call_reasons` (`["Bổ sung hồ sơ", …]`), `bring_back` (`front`/`issue_order`) |
//! | `[kiosk]` | `data_dir` (`/var/lib/kiosk`), `listen` (`0.0.0.0:8080`), `press_interval_ms` (1500), `store_cache_mib` (8), `retention_days` (90), `daily_reexec` (true) |
//! | `[kiosk.tls]` | `cert` (PEM certificate chain, the kiosk's first), `key` (PEM private key of that certificate) |
//! | `[kiosk.public]` | `base_url` (`http://192.168.50.10:8081`, how phones reach `listen`), `listen` (`0.0.0.0:8081`) |
//! | `[kiosk.printer]` | `transport` (`tcp` with `address`, `usb`/`file` with `path`, `serial` with `path` and `baud`), `address`, `path`, `baud`, `paper_width_mm` (58/80), `dots_per_line`, `cut`, `band_height` (64), `mode` (`raster`/`text`), `codepage` (with `mode = "text"`), `connect_timeout_ms`, `io_timeout_ms`, `status_interval_ms` |
//! | `[kiosk.leds]` | `ready` (`{ pin, active = "high" }`, like the others), `paper_low`, `fault`, `closed` |
//! | `[kiosk.priority]` | `max_in_a_row` (2) |
//! | `[[kiosk.priority.classes]]` | `id`, `name` |
//! | `[ratings]` | `attach_window_secs` (180: a rating attaches to the ticket finished this long ago at most) |
//! | `[[ratings.levels]]` | `id` (`very_satisfied`, `satisfied`, `neutral` (four levels only), `unsatisfied`, in this order), `label` (Vietnamese, e.g. `Rất hài lòng`), `color` (`#rrggbb`, the button's colour on the `/rate` page) |
//! | `[kiosk.touch]` | `loopback` (`true`: the Pi's own screen needs no token; else a `touch` token), `self_declared_priority` (`true`), `idle_seconds` (8), `cccd_priority_class` (a priority class id; absent: scans are ignored), `cccd_min_age` (75) |
//!
//! Pins are BCM GPIO numbers 2–27 of the 40-pin header; each pin drives one
//! thing. Number blocks of departments sharing a prefix may not overlap.
//!
//! # The display file
//!
//! `kiosk_url` (`http://` or `https://`), `ca_file` (for `https://`: the
//! PEM file of the CA that signed the kiosk's certificate; without it the
//! system's CA bundle), `token`, `mode` (`hall-board`, `counter`, `terminal`),
//! `counters`, `listen`, `announcement` (an optional line scrolling along
//! the bottom of the hall board), `[led_board]`, `[voice]` and `[keypad]`
//! (the clerk's `next`, `recall`, `no_show`, `finish`, `confirm_led`, and
//! the citizen's rating buttons `very_satisfied`, `satisfied`, `neutral`,
//! `unsatisfied` with their `refused_led`); see
//! `config/examples/display-hall.toml` and `display-counter.toml`.
//!
//! # Example
//!
//! ```
//! let loaded = kiosk_config::parse_center(kiosk_config::examples::PHU_XUAN, "phu-xuan.toml").unwrap();
//! assert_eq!(loaded.value.departments.len(), 15);
//! println!("{}", kiosk_config::summary(&loaded.value));
//! ```

mod error;
pub mod keys;
pub mod model;
mod parse;
mod raw;
mod source;
mod summary;
mod validate;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors, ConfigWarning, ErrorKind, Loaded};
pub use model::*;
pub use summary::summary;
pub use validate::{DEFAULT_PHRASE, USABLE_GPIO};

use source::{FieldPath, Source};
use validate::Checker;

/// The example configurations, embedded so the binary can run a demo anywhere.
pub mod examples {
    /// Trung tâm Hành chính công quận Phú Xuân: 15 departments, 15 counters.
    pub const PHU_XUAN: &str = include_str!("../examples/phu-xuan.toml");
    /// The sister district Thuận Hóa: letter prefixes, a 58 mm USB printer.
    pub const THUAN_HOA: &str = include_str!("../examples/thuan-hoa.toml");
    /// One department, everything else left to defaults.
    pub const MINIMAL: &str = include_str!("../examples/minimal.toml");
    /// The hall board's display daemon.
    pub const DISPLAY_HALL: &str = include_str!("../examples/display-hall.toml");
    /// A counter display with a keypad.
    pub const DISPLAY_COUNTER: &str = include_str!("../examples/display-counter.toml");
}

/// Reads and validates a center's file.
pub fn load_center(path: &Path) -> Result<Loaded<CenterConfig>, ConfigErrors> {
    let text = read(path)?;
    parse_center(&text, &path.display().to_string())
}

/// Validates a center's file given as text; `file_name` is used in messages.
pub fn parse_center(text: &str, file_name: &str) -> Result<Loaded<CenterConfig>, ConfigErrors> {
    check(text, file_name, validate::validate_center)
}

/// Reads and validates a display daemon's file.
pub fn load_display(path: &Path) -> Result<Loaded<DisplayConfig>, ConfigErrors> {
    let text = read(path)?;
    parse_display(&text, &path.display().to_string())
}

/// Validates a display daemon's file given as text; `file_name` is used in messages.
pub fn parse_display(text: &str, file_name: &str) -> Result<Loaded<DisplayConfig>, ConfigErrors> {
    check(text, file_name, validate::validate_display)
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|err| ConfigErrors {
        errors: vec![ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the file: {err}"),
            hint: "check the path and that the file is readable by this user".to_owned(),
            kind: ErrorKind::Read,
        }],
    })
}

/// Parse, then validate, then report everything found by both.
fn check<R, T>(
    text: &str,
    file_name: &str,
    validate: impl FnOnce(&R, &mut Checker<'_>) -> Option<T>,
) -> Result<Loaded<T>, ConfigErrors>
where
    R: serde::de::DeserializeOwned + Default,
{
    let source = Source::parse(text, file_name).map_err(|e| ConfigErrors { errors: vec![e] })?;
    let raw = parse::parse_raw::<R>(&source);
    let mut checker = Checker::new(&source, raw.rejected);
    let value = validate(&raw.value, &mut checker);
    let mut errors = raw.errors;
    errors.append(&mut checker.errors);
    match value {
        Some(value) if errors.is_empty() => Ok(Loaded {
            value,
            warnings: checker.warnings,
        }),
        _ => {
            if errors.is_empty() {
                // A rule returned nothing without saying why: still refuse, loudly.
                errors.push(
                    source.error(
                        ErrorKind::Rule,
                        &FieldPath::root(),
                        "the configuration was rejected without a message (a bug in kiosk-config)"
                            .to_owned(),
                        "please report this file to the developers".to_owned(),
                    ),
                );
            }
            errors.sort_by_key(|e| (e.line == 0, e.line, e.column));
            Err(ConfigErrors { errors })
        }
    }
}
