//! The rules of a center's file, one module per section: [`hours`]
//! (`[center]`), [`departments`], [`counters`], [`kiosk`], [`ratings`] and
//! [`counter_work`].
//!
//! Builds [`CenterConfig`] from [`RawCenterFile`]. Every rule reports through
//! the `Checker` and carries on, so one run finds every problem. Defaults are
//! filled in here and only here.

mod counter_work;
mod counters;
mod departments;
mod hours;
mod kiosk;
mod ratings;

use counters::counters;
use departments::departments;
use hours::center;
use kiosk::kiosk;
use ratings::ratings;

use super::Checker;
use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;

/// Time zone of a center that does not name one.
pub const DEFAULT_TIMEZONE: &str = "Asia/Ho_Chi_Minh";
/// Numbers restart at midnight unless the file says otherwise: centers close
/// in the evening, so midnight never splits a session.
pub const DEFAULT_DAY_START: &str = "00:00";
/// Where the kiosk keeps its store.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/kiosk";
/// Where the kiosk's LAN API listens.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Where the citizens' phone pages listen when `[kiosk.public]` is given.
pub const DEFAULT_PUBLIC_LISTEN: &str = "0.0.0.0:8081";
/// One ticket per button per this many milliseconds.
pub const DEFAULT_PRESS_INTERVAL_MS: i64 = 1500;
/// At most this many priority tickets are called in a row while normal ones wait.
pub const DEFAULT_MAX_PRIORITY_IN_A_ROW: i64 = 2;
/// sled page cache, MiB.
pub const DEFAULT_STORE_CACHE_MIB: i64 = 8;
/// Service days kept in full, days.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// Rows per `GS v 0` band: 64 rows of 576 dots is 4.6 KB, below the input
/// buffer of the cheapest printers.
pub const DEFAULT_BAND_HEIGHT: i64 = 64;
/// Age from which a scanned citizen ID card grants its priority class.
pub const DEFAULT_CCCD_MIN_AGE: i64 = 75;
/// The footer printed when the file gives none.
pub const DEFAULT_FOOTER: &str = "Vui lòng giữ phiếu và chờ gọi số";

/// Builds the model; `None` when any rule is broken.
pub(crate) fn validate_center(raw: &RawCenterFile, c: &mut Checker<'_>) -> Option<CenterConfig> {
    let root = FieldPath::root();
    claim_all_pins(raw, c);
    let center = center(raw.center.as_ref(), &root.key("center"), c);
    let departments = departments(raw, c);
    let counters = counters(raw, c);
    let kiosk = kiosk(raw, departments.as_deref(), c);
    let ratings = ratings(raw.ratings.as_ref(), &root.key("ratings"), c);
    let counter_work = counter_work::counter_work(raw.counter_work.as_ref(), c);
    if let (Some(departments), Some(counters)) = (&departments, &counters) {
        for (i, d) in departments.iter().enumerate() {
            if !counters.iter().any(|k| k.serves.contains(&d.id)) {
                c.warn(
                    &root.key("departments").index(i).key("id"),
                    format!(
                        "no counter serves department `{}`; its tickets would never be called",
                        d.id
                    ),
                    format!("add \"{}\" to the `serves` list of a counter", d.id),
                );
            }
        }
    }
    let config = CenterConfig {
        center: center?,
        departments: departments?,
        counters: counters?,
        kiosk: kiosk?,
        ratings: ratings?,
        counter_work: counter_work?,
    };
    c.errors.is_empty().then_some(config)
}

/// Claims every pin of the file in the order the pins appear, so that the
/// second use of a pin is the one reported, wherever its section is.
fn claim_all_pins(raw: &RawCenterFile, c: &mut Checker<'_>) {
    let mut claims: Vec<(FieldPath, i64)> = Vec::new();
    let departments = FieldPath::root().key("departments");
    for (i, d) in raw.departments.iter().flatten().enumerate() {
        let p = departments.index(i);
        for (key, pin) in [
            ("button", &d.button),
            ("priority_button", &d.priority_button),
        ] {
            if let Some(number) = pin.as_ref().and_then(|b| b.pin) {
                claims.push((p.key(key), number));
            }
        }
    }
    if let Some(leds) = raw.kiosk.as_ref().and_then(|k| k.leds.as_ref()) {
        let p = FieldPath::root().key("kiosk").key("leds");
        for (key, led) in led_slots(leds) {
            if let Some(number) = led.as_ref().and_then(|l| l.pin) {
                claims.push((p.key(key), number));
            }
        }
    }
    c.claim_all(claims);
}

fn led_slots(leds: &RawLeds) -> [(&'static str, &Option<RawPin>); 4] {
    [
        ("ready", &leds.ready),
        ("paper_low", &leds.paper_low),
        ("fault", &leds.fault),
        ("closed", &leds.closed),
    ]
}

#[cfg(test)]
mod tests {
    //! One test per rule, each breaking one thing in a valid file.
    use crate::{parse_center, CenterConfig, ConfigErrors};

    const BASE: &str = r#"
[center]
name = "Trung tâm"
short_name = "TT"

[[departments]]
id = "ho-tich"
name = "Hộ tịch"
block = { first = 1001, last = 1999 }
button = { pin = 17 }

[[departments]]
id = "dat-dai"
name = "Đất đai"
block = { first = 2001, last = 2999 }
button = { pin = 27 }

[[counters]]
number = 1
serves = ["ho-tich", "dat-dai"]

[kiosk.printer]
transport = "tcp"
address = "127.0.0.1:9100"
"#;

    fn load(text: &str) -> Result<CenterConfig, ConfigErrors> {
        parse_center(text, "t.toml").map(|l| l.value)
    }

    /// The `path: message` of every error after replacing `from` with `to` in BASE.
    fn errors_after(from: &str, to: &str) -> Vec<String> {
        assert!(BASE.contains(from), "{from}");
        let errors = load(&BASE.replacen(from, to, 1)).expect_err("should be rejected");
        errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()
    }

    #[test]
    fn base_is_valid_and_defaults_are_filled_in() {
        let c = load(BASE).unwrap();
        assert_eq!(c.center.timezone_name, "Asia/Ho_Chi_Minh");
        assert_eq!(c.center.day_starts_at, jiff::civil::Time::midnight());
        assert_eq!(c.center.sessions.len(), 2);
        assert_eq!(
            c.center.ticket_footer,
            vec![super::DEFAULT_FOOTER.to_owned()]
        );
        assert_eq!(c.kiosk.data_dir.to_str(), Some("/var/lib/kiosk"));
        assert_eq!(c.kiosk.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.kiosk.press_interval.as_millis(), 1500);
        assert_eq!(c.kiosk.store_cache_bytes, 8 * 1024 * 1024);
        assert_eq!(c.kiosk.retention_days, 90);
        assert_eq!(c.kiosk.priority.max_in_a_row, 2);
        assert_eq!(c.kiosk.priority.classes.len(), 5);
        let p = &c.kiosk.printer;
        assert_eq!(
            (p.paper_width_mm, p.dots_per_line, p.band_height, p.cut),
            (80, 576, 64, true)
        );
        assert_eq!(
            p.transport,
            crate::PrinterTransport::Tcp {
                host: "127.0.0.1".into(),
                port: 9100
            }
        );
        let d = &c.departments[0];
        assert_eq!(d.block.digits, 4);
        assert_eq!(d.block.on_exhausted, crate::Exhaustion::Refuse);
        assert_eq!(d.button.unwrap().active, crate::ActiveLevel::Low);
        assert!(!d.priority);
        assert_eq!(c.counters[0].name, "Quầy 1");
    }

    #[test]
    fn duplicate_department_id() {
        assert_eq!(
            errors_after("id = \"dat-dai\"", "id = \"ho-tich\""),
            [
                "departments[1].id: id `ho-tich` is already used by departments[0]",
                "counters[0].serves[1]: unknown department `dat-dai`",
            ]
        );
    }

    #[test]
    fn duplicate_counter_number() {
        let text = format!("{BASE}\n[[counters]]\nnumber = 1\nserves = [\"dat-dai\"]\n");
        let errors = load(&text).unwrap_err();
        assert_eq!(errors.errors[0].path, "counters[1].number");
        assert_eq!(
            errors.errors[0].message,
            "counter number 1 is already used by counters[0]"
        );
    }

    #[test]
    fn pin_used_twice_names_the_first_user() {
        assert_eq!(
            errors_after("pin = 27", "pin = 17"),
            ["departments[1].button.pin: pin 17 is already used by departments[0].button"]
        );
    }

    #[test]
    fn led_and_button_share_the_pin_space() {
        let text = format!("{BASE}\n[kiosk.leds]\nready = {{ pin = 27 }}\n");
        let errors = load(&text).unwrap_err();
        assert_eq!(
            errors.errors[0].to_string(),
            "t.toml:27:17: kiosk.leds.ready.pin: pin 27 is already used by departments[1].button"
        );
    }

    #[test]
    fn pins_outside_the_header() {
        assert_eq!(
            errors_after("pin = 27", "pin = 28"),
            ["departments[1].button.pin: pin 28 does not exist on a Raspberry Pi 40-pin header"]
        );
        let e = errors_after("pin = 27", "pin = 1");
        assert!(e[0].contains("reserved for the HAT ID EEPROM"), "{e:?}");
    }

    #[test]
    fn counter_serving_an_unknown_department() {
        assert_eq!(
            errors_after("\"dat-dai\"]", "\"dat-da\"]"),
            ["counters[0].serves[1]: unknown department `dat-da`"]
        );
    }

    #[test]
    fn overlapping_blocks_without_prefix() {
        assert_eq!(
            errors_after("first = 2001", "first = 1999"),
            ["departments[1].block: numbers 1999–2999 (no prefix) overlap departments[0].block (1001–1999)"]
        );
    }

    #[test]
    fn same_numbers_with_different_prefixes_do_not_overlap() {
        let text = BASE
            .replace(
                "first = 1001, last = 1999",
                "prefix = \"A\", first = 1, last = 999",
            )
            .replace(
                "first = 2001, last = 2999",
                "prefix = \"B\", first = 1, last = 999",
            );
        assert!(load(&text).is_ok());
        let same = text.replace("prefix = \"B\"", "prefix = \"A\"");
        assert!(load(&same).is_err());
    }

    #[test]
    fn daily_cap_larger_than_block() {
        assert_eq!(
            errors_after("button = { pin = 27 }", "button = { pin = 27 }\ndaily_cap = 1000"),
            ["departments[1].daily_cap: daily cap 1000 is larger than the block, which holds 999 numbers"]
        );
    }

    #[test]
    fn number_must_fit_its_digits() {
        assert_eq!(
            errors_after("last = 2999 }", "last = 2999, digits = 3 }"),
            ["departments[1].block.digits: last number 2999 needs 4 digits but digits = 3"]
        );
    }

    #[test]
    fn malformed_time_gets_a_two_digit_hint() {
        let errors = load(&BASE.replace(
            "short_name = \"TT\"",
            "short_name = \"TT\"\nday_starts_at = \"5:00\"",
        ))
        .unwrap_err();
        assert_eq!(
            errors.errors[0].message,
            "`5:00` is not a time in HH:MM form"
        );
        assert!(errors.errors[0].hint.contains("\"05:00\""));
    }

    #[test]
    fn unknown_timezone() {
        assert_eq!(
            errors_after(
                "short_name = \"TT\"",
                "short_name = \"TT\"\ntimezone = \"Asia/Hue\""
            ),
            ["center.timezone: unknown time zone `Asia/Hue`"]
        );
    }

    #[test]
    fn empty_department_name() {
        assert_eq!(
            errors_after("name = \"Đất đai\"", "name = \" \""),
            ["departments[1].name: `name` is empty"]
        );
    }

    #[test]
    fn unknown_key_and_wrong_type_together_with_rule_errors() {
        let e = errors_after(
            "button = { pin = 27 }",
            "button = { pin = \"27\" }\ncolor = 1\ndaily_cap = 5000",
        );
        assert_eq!(
            e,
            [
                "departments[1].button.pin: expected a whole number, found a quoted string",
                "departments[1].color: unknown key `color`",
                "departments[1].daily_cap: daily cap 5000 is larger than the block, which holds 999 numbers",
            ]
        );
    }

    #[test]
    fn unserved_department_is_only_a_warning() {
        let loaded = parse_center(&BASE.replace(", \"dat-dai\"]", "]"), "t.toml").unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert_eq!(loaded.warnings[0].path, "departments[1].id");
    }

    #[test]
    fn service_day_starts_at_the_configured_time() {
        let text = BASE.replace(
            "short_name = \"TT\"",
            "short_name = \"TT\"\nday_starts_at = \"05:00\"\nclosed_weekdays = [\"sunday\"]",
        );
        let c = load(&text).unwrap();
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        // 2025-06-02 is a Monday; 04:30 in Huế is still Sunday's service day.
        assert_eq!(
            c.center.service_day(at("2025-06-01T21:30:00Z")).to_string(),
            "2025-06-01"
        );
        assert_eq!(
            c.center.service_day(at("2025-06-01T22:30:00Z")).to_string(),
            "2025-06-02"
        );
        let d = &c.departments[0];
        assert!(c.center.is_open_at(d, at("2025-06-02T01:00:00Z"))); // 08:00 Monday
        assert!(!c.center.is_open_at(d, at("2025-06-02T05:00:00Z"))); // 12:00, lunch
        assert!(!c.center.is_open_at(d, at("2025-06-01T01:00:00Z"))); // Sunday
        assert_eq!(
            c.department(&crate::DepartmentId("dat-dai".into()))
                .unwrap()
                .name,
            "Đất đai"
        );
        assert_eq!(c.counters_serving(&d.id).count(), 1);
        assert_eq!(c.used_pins(), vec![17, 27]);
        assert_eq!(d.daily_limit(), 999);
    }
}
