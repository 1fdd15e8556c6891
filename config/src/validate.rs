//! Validation: raw types in, model types out, every broken rule reported.
//!
//! `Checker` collects errors and warnings with their place in the file and
//! knows which paths serde already rejected, so one mistake is reported once.
//! The rules themselves live in `center` and `display`; the checks shared by
//! both (pins, times, numbers in range) live here. Nothing here reads files.

mod center;
mod display;
mod tls;

pub use display::DEFAULT_PHRASE;

pub(crate) use center::validate_center;
pub(crate) use display::validate_display;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::ops::RangeInclusive;

use jiff::civil::Time;

use crate::error::{ConfigError, ConfigWarning, ErrorKind};
use crate::model::{ActiveLevel, ButtonPin, LedPin, Session};
use crate::raw::{RawPin, RawSession};
use crate::source::{FieldPath, Source};

/// BCM GPIO numbers brought out on the Raspberry Pi 40-pin header that are free to use.
pub const USABLE_GPIO: RangeInclusive<u8> = 2..=27;

/// Collects problems while the model is being built.
pub(crate) struct Checker<'a> {
    source: &'a Source,
    rejected: Vec<FieldPath>,
    /// Problems found by the rules.
    pub errors: Vec<ConfigError>,
    /// Things worth a look that do not stop the file.
    pub warnings: Vec<ConfigWarning>,
    /// GPIO pins claimed so far, with the path of who claimed them.
    pins: BTreeMap<u8, FieldPath>,
    /// The pin each button or LED got, by its path.
    claimed: HashMap<FieldPath, u8>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(source: &'a Source, rejected: Vec<FieldPath>) -> Self {
        Self {
            source,
            rejected,
            errors: Vec::new(),
            warnings: Vec::new(),
            pins: BTreeMap::new(),
            claimed: HashMap::new(),
        }
    }

    /// Whether serde already reported on `path` or on a table containing it.
    fn rejected(&self, path: &FieldPath) -> bool {
        self.rejected.iter().any(|r| path.starts_with(r))
    }

    /// Reports a broken rule at `path`.
    pub(crate) fn error(
        &mut self,
        path: &FieldPath,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        if self.rejected(path) {
            return;
        }
        let error = self
            .source
            .error(ErrorKind::Rule, path, message.into(), hint.into());
        self.errors.push(error);
    }

    /// Reports something suspicious at `path`.
    pub(crate) fn warn(
        &mut self,
        path: &FieldPath,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        if self.rejected(path) {
            return;
        }
        let warning = self.source.warning(path, message.into(), hint.into());
        self.warnings.push(warning);
    }

    /// The value of a required key, or an error saying it is missing.
    pub(crate) fn required<'v, T>(
        &mut self,
        value: &'v Option<T>,
        path: &FieldPath,
        hint: &str,
    ) -> Option<&'v T> {
        if value.is_none() {
            let key = path.last_key().unwrap_or("value");
            self.error(path, format!("missing key `{key}`"), hint);
        }
        value.as_ref()
    }

    /// A required, non-blank string.
    pub(crate) fn text(
        &mut self,
        value: &Option<String>,
        path: &FieldPath,
        hint: &str,
    ) -> Option<String> {
        let text = self.required(value, path, hint)?;
        if text.trim().is_empty() {
            let key = path.last_key().unwrap_or("value");
            self.error(path, format!("`{key}` is empty"), hint);
            return None;
        }
        Some(text.trim().to_owned())
    }

    /// `value` (or `default` when absent) if it lies in `range`.
    pub(crate) fn int_in<T: TryFrom<i64>>(
        &mut self,
        value: Option<i64>,
        default: i64,
        range: RangeInclusive<i64>,
        path: &FieldPath,
        hint: &str,
    ) -> Option<T> {
        let v = value.unwrap_or(default);
        if !range.contains(&v) {
            let key = path.last_key().unwrap_or("value");
            self.error(
                path,
                format!(
                    "{key} {v} is out of range {}..={}",
                    range.start(),
                    range.end()
                ),
                hint,
            );
            return None;
        }
        T::try_from(v).ok()
    }

    /// A socket address such as `0.0.0.0:8080`.
    pub(crate) fn socket_addr(
        &mut self,
        value: &Option<String>,
        default: &str,
        path: &FieldPath,
    ) -> Option<SocketAddr> {
        let text = value.as_deref().unwrap_or(default);
        match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.error(
                    path,
                    format!("`{text}` is not an IP address with a port"),
                    format!("write address:port with a numeric IP, e.g. \"{default}\""),
                );
                None
            }
        }
    }

    /// A local time written `HH:MM`.
    pub(crate) fn time(&mut self, value: &str, path: &FieldPath) -> Option<Time> {
        let parsed = parse_hh_mm(value);
        if parsed.is_none() {
            let hint = match value.split_once(':') {
                Some((h, m)) if h.len() == 1 && h.chars().all(|c| c.is_ascii_digit()) => {
                    format!("write the hour with two digits: \"0{h}:{m}\"")
                }
                _ => "write a 24-hour time with two-digit hours and minutes, e.g. \"07:30\" or \"13:30\"".to_owned(),
            };
            self.error(path, format!("`{value}` is not a time in HH:MM form"), hint);
        }
        parsed
    }

    /// Opening sessions: each well formed, in order and not overlapping.
    pub(crate) fn sessions(
        &mut self,
        raw: &[RawSession],
        path: &FieldPath,
    ) -> Option<Vec<Session>> {
        if raw.is_empty() {
            self.error(
                path,
                "no opening session",
                "add at least one [[sessions]] table with name, start and end",
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, s) in raw.iter().enumerate() {
            let p = path.index(i);
            let name = self.text(
                &s.name,
                &p.key("name"),
                "name the session, e.g. name = \"Sáng\"",
            );
            let start = self
                .required(&s.start, &p.key("start"), "add start = \"07:30\"")
                .cloned()
                .and_then(|t| self.time(&t, &p.key("start")));
            let end = self
                .required(&s.end, &p.key("end"), "add end = \"11:30\"")
                .cloned()
                .and_then(|t| self.time(&t, &p.key("end")));
            let (Some(name), Some(start), Some(end)) = (name, start, end) else {
                ok = false;
                continue;
            };
            if start >= end {
                self.error(
                    &p.key("end"),
                    format!(
                        "session ends at {} but starts at {}",
                        hh_mm(end),
                        hh_mm(start)
                    ),
                    "the end must be later than the start on the same day",
                );
                ok = false;
                continue;
            }
            if let Some((j, previous)) = out
                .iter()
                .enumerate()
                .rev()
                .find(|(_, prev): &(usize, &Session)| start < prev.end)
            {
                let previous: &Session = previous;
                self.error(
                    &p.key("start"),
                    format!(
                        "session {}–{} overlaps {}[{j}] ({}–{})",
                        hh_mm(start),
                        hh_mm(end),
                        path,
                        hh_mm(previous.start),
                        hh_mm(previous.end)
                    ),
                    "list sessions in order of the day, each starting after the previous one ends",
                );
                ok = false;
                continue;
            }
            out.push(Session { name, start, end });
        }
        ok.then_some(out)
    }

    /// Claims the pins of every button and LED, `(owner path, pin)`, in the
    /// order they appear in the file, so the later use of a pin is the one
    /// reported wherever its section is. [`Checker::button`] and
    /// [`Checker::led`] then pick up the result.
    pub(crate) fn claim_all(&mut self, mut claims: Vec<(FieldPath, i64)>) {
        claims.sort_by_key(|(owner, _)| {
            self.source
                .span(&owner.key("pin"))
                .map_or(usize::MAX, |span| span.start)
        });
        for (owner, pin) in claims {
            if let Some(gpio) = self.claim_pin(pin, &owner) {
                self.claimed.insert(owner, gpio);
            }
        }
    }

    /// Claims a GPIO pin for `owner`, reporting pins that do not exist or are taken.
    fn claim_pin(&mut self, pin: i64, owner: &FieldPath) -> Option<u8> {
        let pin_path = owner.key("pin");
        let hint_free = || {
            let free: Vec<String> = USABLE_GPIO.map(|p| p.to_string()).collect();
            format!(
                "use a BCM GPIO number between 2 and 27 ({})",
                free.join(", ")
            )
        };
        let gpio = match u8::try_from(pin) {
            Ok(p @ (0 | 1)) => {
                self.error(
                    &pin_path,
                    format!("pin {p} is reserved for the HAT ID EEPROM (ID_SD/ID_SC)"),
                    "GPIO 0 and 1 must stay free on a Raspberry Pi; use a pin between 2 and 27",
                );
                return None;
            }
            Ok(p) if USABLE_GPIO.contains(&p) => p,
            _ => {
                self.error(
                    &pin_path,
                    format!("pin {pin} does not exist on a Raspberry Pi 40-pin header"),
                    hint_free(),
                );
                return None;
            }
        };
        if let Some(holder) = self.pins.get(&gpio) {
            let message = format!("pin {gpio} is already used by {holder}");
            // Suggest I2C's 2 and 3 (fixed pull-ups) only when nothing else is left.
            let free = (4..=27).chain(2..=3).find(|p| !self.pins.contains_key(p));
            let hint = match free {
                Some(p) => format!("each pin drives one thing; GPIO {p} is still free"),
                None => "each pin drives one thing; every header pin is taken".to_owned(),
            };
            self.error(&pin_path, message, hint);
            return None;
        }
        self.pins.insert(gpio, owner.clone());
        Some(gpio)
    }

    fn level(
        &mut self,
        value: &Option<String>,
        default: ActiveLevel,
        path: &FieldPath,
    ) -> Option<ActiveLevel> {
        match value.as_deref() {
            None => Some(default),
            Some("low") => Some(ActiveLevel::Low),
            Some("high") => Some(ActiveLevel::High),
            Some(other) => {
                self.error(
                    path,
                    format!("`{other}` is not an active level"),
                    "write active = \"low\" (pressed pulls to ground, the usual wiring) or \"high\"",
                );
                None
            }
        }
    }

    /// A button input; active low unless stated.
    pub(crate) fn button(&mut self, raw: &RawPin, path: &FieldPath) -> Option<ButtonPin> {
        self.required(
            &raw.pin,
            &path.key("pin"),
            "add pin = <BCM GPIO number>, e.g. pin = 17",
        )?;
        let pin = self.claimed.get(path).copied();
        let active = self.level(&raw.active, ActiveLevel::Low, &path.key("active"));
        let (pin, active) = (pin?, active?);
        if active == ActiveLevel::High && (pin == 2 || pin == 3) {
            self.warn(
                &path.key("pin"),
                format!("GPIO {pin} has a fixed 1.8 kΩ pull-up (I2C), so an active-high button there may never read as released"),
                "wire the button to ground and write active = \"low\", or use another pin",
            );
        }
        Some(ButtonPin { pin, active })
    }

    /// An LED output; active high unless stated.
    pub(crate) fn led(&mut self, raw: &RawPin, path: &FieldPath) -> Option<LedPin> {
        self.required(
            &raw.pin,
            &path.key("pin"),
            "add pin = <BCM GPIO number>, e.g. pin = 5",
        )?;
        let pin = self.claimed.get(path).copied();
        let active = self.level(&raw.active, ActiveLevel::High, &path.key("active"));
        Some(LedPin {
            pin: pin?,
            active: active?,
        })
    }
}

/// `HH:MM` with two-digit hour and minute; nothing else.
pub(crate) fn parse_hh_mm(text: &str) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

/// A time as `HH:MM`.
pub(crate) fn hh_mm(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_need_two_digit_hours_and_minutes() {
        assert_eq!(parse_hh_mm("07:30"), Some(Time::constant(7, 30, 0, 0)));
        assert_eq!(parse_hh_mm("23:59"), Some(Time::constant(23, 59, 0, 0)));
        for bad in [
            "7:30", "07:3", "24:00", "07:60", "0730", "07:30:00", "", "ab:cd", "+7:30",
        ] {
            assert_eq!(parse_hh_mm(bad), None, "{bad}");
        }
    }
}
