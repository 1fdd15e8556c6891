//! The rules of a center's file: center, departments, counters, kiosk.
//!
//! Builds [`CenterConfig`] from [`RawCenterFile`]. Every rule reports through
//! the `Checker` and carries on, so one run finds every problem. Defaults are
//! filled in here and only here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use super::{hh_mm, Checker};
use crate::model::*;
use crate::parse::closest;
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

fn center(raw: Option<&RawCenter>, p: &FieldPath, c: &mut Checker<'_>) -> Option<Center> {
    let Some(raw) = raw else {
        c.error(
            p,
            "missing section [center]",
            "add [center] with name and short_name of the center",
        );
        return None;
    };
    let name = c.text(
        &raw.name,
        &p.key("name"),
        "write the full name, e.g. name = \"Trung tâm Hành chính công quận Phú Xuân\"",
    );
    let short_name = c.text(
        &raw.short_name,
        &p.key("short_name"),
        "write the short name printed large on tickets, e.g. short_name = \"TTHCC Phú Xuân\"",
    );
    let address = raw.address.clone().unwrap_or_default().trim().to_owned();

    let timezone_name = raw
        .timezone
        .clone()
        .unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
    let timezone = match TimeZone::get(&timezone_name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            c.error(
                &p.key("timezone"),
                format!("unknown time zone `{timezone_name}`"),
                format!("write an IANA time zone name, e.g. timezone = \"{DEFAULT_TIMEZONE}\""),
            );
            None
        }
    };
    let day_start_text = raw.day_starts_at.as_deref().unwrap_or(DEFAULT_DAY_START);
    let day_starts_at = c.time(day_start_text, &p.key("day_starts_at"));

    let sessions = match &raw.sessions {
        Some(list) => c.sessions(list, &p.key("sessions")),
        None => Some(default_sessions()),
    };
    if let (Some(start), Some(sessions)) = (day_starts_at, &sessions) {
        check_day_start(start, sessions, &p.key("day_starts_at"), c);
    }

    let closed_weekdays = weekdays(
        raw.closed_weekdays.as_deref().unwrap_or(&[]),
        &p.key("closed_weekdays"),
        c,
    );
    let closed_dates = dates(
        raw.closed_dates.as_deref().unwrap_or(&[]),
        &p.key("closed_dates"),
        c,
    );

    let status_url = raw.status_url.clone();
    if let Some(url) = &status_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) || !url.contains("{ticket}")
        {
            c.error(
                &p.key("status_url"),
                format!("`{url}` is not an http(s) URL containing {{ticket}}"),
                "write e.g. status_url = \"http://192.168.1.10:8080/t/{ticket}\", or leave it out to print no QR code",
            );
        }
    }
    Some(Center {
        name: name?,
        short_name: short_name?,
        address,
        timezone_name,
        timezone: timezone?,
        day_starts_at: day_starts_at?,
        sessions: sessions?,
        closed_weekdays: closed_weekdays?,
        closed_dates: closed_dates?,
        ticket_header: raw.ticket_header.clone().unwrap_or_default(),
        ticket_footer: raw
            .ticket_footer
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_FOOTER.to_owned()]),
        status_url,
    })
}

/// Office hours of a Vietnamese public office: 07:30–11:30 and 13:30–17:00.
fn default_sessions() -> Vec<Session> {
    vec![
        Session {
            name: "Sáng".to_owned(),
            start: Time::constant(7, 30, 0, 0),
            end: Time::constant(11, 30, 0, 0),
        },
        Session {
            name: "Chiều".to_owned(),
            start: Time::constant(13, 30, 0, 0),
            end: Time::constant(17, 0, 0, 0),
        },
    ]
}

/// A new service day must not begin in the middle of a session.
fn check_day_start(start: Time, sessions: &[Session], p: &FieldPath, c: &mut Checker<'_>) {
    if let Some(s) = sessions.iter().find(|s| s.start < start && start < s.end) {
        c.error(
            p,
            format!(
                "the service day would start at {} inside session {} ({}–{})",
                hh_mm(start),
                s.name,
                hh_mm(s.start),
                hh_mm(s.end)
            ),
            "numbers reset then; choose a time outside opening hours, e.g. \"00:00\"",
        );
    }
}

fn weekdays(raw: &[String], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<Weekday>> {
    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let mut out = Vec::new();
    let mut ok = true;
    for (i, name) in raw.iter().enumerate() {
        match NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        {
            Some((_, day)) if out.contains(day) => {
                c.warn(
                    &p.index(i),
                    format!("`{name}` is listed twice"),
                    "list each closed weekday once",
                );
            }
            Some((_, day)) => out.push(*day),
            None => {
                ok = false;
                c.error(
                    &p.index(i),
                    format!("`{name}` is not a weekday"),
                    "write English weekday names, e.g. closed_weekdays = [\"saturday\", \"sunday\"]",
                );
            }
        }
    }
    if out.len() == 7 {
        c.error(
            p,
            "the center is closed every day of the week",
            "leave at least one weekday open",
        );
        return None;
    }
    ok.then_some(out)
}

fn dates(raw: &[String], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<Date>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, text) in raw.iter().enumerate() {
        let parsed = (text.len() == 10)
            .then(|| text.parse::<Date>().ok())
            .flatten();
        match parsed {
            Some(date) if out.contains(&date) => {
                c.warn(
                    &p.index(i),
                    format!("{date} is listed twice"),
                    "list each closed date once",
                );
            }
            Some(date) => out.push(date),
            None => {
                ok = false;
                c.error(
                    &p.index(i),
                    format!("`{text}` is not a date in YYYY-MM-DD form"),
                    "write e.g. \"2025-09-02\"",
                );
            }
        }
    }
    ok.then_some(out)
}

/// Ids go into URLs and the store: lowercase ASCII, digits and single dashes.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn departments(raw: &RawCenterFile, c: &mut Checker<'_>) -> Option<Vec<Department>> {
    let p = FieldPath::root().key("departments");
    let Some(list) = &raw.departments else {
        c.error(
            &p,
            "no department is configured",
            "add a [[departments]] table with id, name, block and button",
        );
        return None;
    };
    if list.is_empty() {
        c.error(
            &p,
            "no department is configured",
            "add at least one [[departments]] table",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut blocks: Vec<(usize, NumberBlock)> = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let dp = p.index(i);
        let id = c
            .text(&d.id, &dp.key("id"), "give the department an id, e.g. id = \"ho-tich\"")
            .and_then(|id| {
                if !valid_id(&id) {
                    c.error(
                        &dp.key("id"),
                        format!("`{id}` is not a valid id"),
                        "use lowercase letters without diacritics, digits and single dashes, e.g. \"ho-tich\"",
                    );
                    return None;
                }
                if let Some(first) = ids.get(&id) {
                    c.error(
                        &dp.key("id"),
                        format!("id `{id}` is already used by departments[{first}]"),
                        "every department needs its own id",
                    );
                    return None;
                }
                ids.insert(id.clone(), i);
                Some(id)
            });
        let name = c.text(
            &d.name,
            &dp.key("name"),
            "write the Vietnamese name, e.g. name = \"Hộ tịch\"",
        );
        let block = c
            .required(
                &d.block,
                &dp.key("block"),
                "add block = { first = 1001, last = 1999 }",
            )
            .and_then(|b| block(b, &dp.key("block"), c));
        if let Some(b) = &block {
            check_overlap(i, b, &blocks, &dp.key("block"), c);
            blocks.push((i, b.clone()));
        }
        let daily_cap = match (d.daily_cap, &block) {
            (None, _) => Some(None),
            (Some(cap), Some(b)) if cap > i64::from(b.len()) => {
                c.error(
                    &dp.key("daily_cap"),
                    format!(
                        "daily cap {cap} is larger than the block, which holds {} numbers",
                        b.len()
                    ),
                    format!("lower daily_cap to at most {} or widen the block", b.len()),
                );
                None
            }
            (Some(cap), _) => c
                .int_in::<u32>(
                    Some(cap),
                    0,
                    1..=i64::from(u32::MAX),
                    &dp.key("daily_cap"),
                    "the cap is at least 1; leave it out for no cap",
                )
                .map(Some),
        };
        let sessions = match &d.sessions {
            None => Some(None),
            Some(list) => c.sessions(list, &dp.key("sessions")).map(Some),
        };
        let button = match &d.button {
            None => Some(None),
            Some(b) => c.button(b, &dp.key("button")).map(Some),
        };
        let priority_button = match &d.priority_button {
            None => Some(None),
            Some(b) => c.button(b, &dp.key("priority_button")).map(Some),
        };
        let priority = d.priority.unwrap_or(d.priority_button.is_some());
        if !priority && d.priority_button.is_some() {
            c.error(
                &dp.key("priority_button"),
                "a priority button is wired but priority = false",
                "set priority = true, or remove priority_button",
            );
        }
        match (
            id,
            name,
            block,
            daily_cap,
            sessions,
            button,
            priority_button,
        ) {
            (
                Some(id),
                Some(name),
                Some(block),
                Some(daily_cap),
                Some(sessions),
                Some(button),
                Some(priority_button),
            ) => out.push(Department {
                id: DepartmentId(id),
                name,
                block,
                daily_cap,
                sessions,
                priority,
                button,
                priority_button,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn digits_of(n: u32) -> u8 {
    let mut digits = 1;
    let mut n = n / 10;
    while n > 0 {
        digits += 1;
        n /= 10;
    }
    digits
}

fn block(raw: &RawBlock, p: &FieldPath, c: &mut Checker<'_>) -> Option<NumberBlock> {
    let first = c
        .required(&raw.first, &p.key("first"), "add first = 1001")
        .copied()
        .and_then(|v| {
            c.int_in::<u32>(
                Some(v),
                0,
                0..=999_999_999,
                &p.key("first"),
                "numbers are 0 to 999999999",
            )
        });
    let last = c
        .required(&raw.last, &p.key("last"), "add last = 1999")
        .copied()
        .and_then(|v| {
            c.int_in::<u32>(
                Some(v),
                0,
                0..=999_999_999,
                &p.key("last"),
                "numbers are 0 to 999999999",
            )
        });
    let prefix = match raw.prefix.as_deref() {
        None => Some(None),
        Some(text)
            if (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            Some(Some(text.to_owned()))
        }
        Some(text) => {
            c.error(
                &p.key("prefix"),
                format!("`{text}` is not a prefix of 1 to 3 capital letters"),
                "write e.g. prefix = \"A\" (letters A–Z, read out one by one), or leave it out",
            );
            None
        }
    };
    let on_exhausted = match raw.on_exhausted.as_deref() {
        None | Some("refuse") => Some(Exhaustion::Refuse),
        Some("wrap") => Some(Exhaustion::Wrap),
        Some(other) => {
            c.error(
                &p.key("on_exhausted"),
                format!("`{other}` is not a choice"),
                "write on_exhausted = \"refuse\" (no more tickets today) or \"wrap\" (start again at first)",
            );
            None
        }
    };
    let (first, last) = (first?, last?);
    if first > last {
        c.error(
            &p.key("first"),
            format!("first number {first} is after last number {last}"),
            "swap them: first is the smallest number of the day",
        );
        return None;
    }
    let needed = digits_of(last);
    let digits = match raw.digits {
        None => needed,
        Some(d) => {
            let d: u8 = c.int_in(Some(d), 0, 1..=9, &p.key("digits"), "digits is 1 to 9")?;
            if d < needed {
                c.error(
                    &p.key("digits"),
                    format!("last number {last} needs {needed} digits but digits = {d}"),
                    format!("write digits = {needed} or lower `last`"),
                );
                return None;
            }
            d
        }
    };
    Some(NumberBlock {
        first,
        last,
        prefix: prefix?,
        digits,
        on_exhausted: on_exhausted?,
    })
}

/// Two departments with the same prefix (or both none) must not share a number.
fn check_overlap(
    i: usize,
    block: &NumberBlock,
    earlier: &[(usize, NumberBlock)],
    p: &FieldPath,
    c: &mut Checker<'_>,
) {
    for (j, other) in earlier {
        if other.prefix == block.prefix && block.first <= other.last && other.first <= block.last {
            let prefix = match &block.prefix {
                Some(x) => format!("prefix {x}"),
                None => "no prefix".to_owned(),
            };
            c.error(
                p,
                format!(
                    "numbers {}–{} ({prefix}) overlap departments[{j}].block ({}–{})",
                    block.first, block.last, other.first, other.last
                ),
                "give each department its own range, e.g. 1001–1999 and 2001–2999, or different prefixes",
            );
            let _ = i;
            return;
        }
    }
}

fn counters(raw: &RawCenterFile, c: &mut Checker<'_>) -> Option<Vec<Counter>> {
    let p = FieldPath::root().key("counters");
    let Some(list) = &raw.counters else {
        c.error(
            &p,
            "no counter is configured",
            "add a [[counters]] table with number and serves",
        );
        return None;
    };
    if list.is_empty() {
        c.error(
            &p,
            "no counter is configured",
            "add at least one [[counters]] table",
        );
        return None;
    }
    // Ids as written, even of departments that broke other rules, so that a
    // counter is not also blamed for them.
    let known: Vec<String> = raw
        .departments
        .iter()
        .flatten()
        .filter_map(|d| d.id.as_ref().map(|id| id.trim().to_owned()))
        .collect();
    // With a department whose id could not be read, an id not found here may
    // well be that one: its own error is enough.
    let departments_unusable =
        raw.departments.is_none() || raw.departments.iter().flatten().any(|d| d.id.is_none());
    let mut numbers: BTreeMap<u16, usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, k) in list.iter().enumerate() {
        let kp = p.index(i);
        let number = c
            .required(
                &k.number,
                &kp.key("number"),
                "add number = <counter number shown on displays>",
            )
            .copied()
            .and_then(|n| {
                c.int_in::<u16>(
                    Some(n),
                    0,
                    1..=999,
                    &kp.key("number"),
                    "counter numbers are 1 to 999",
                )
            })
            .and_then(|n| {
                if let Some(first) = numbers.get(&n) {
                    c.error(
                        &kp.key("number"),
                        format!("counter number {n} is already used by counters[{first}]"),
                        "every counter needs its own number",
                    );
                    return None;
                }
                numbers.insert(n, i);
                Some(n)
            });
        let name = match (&k.name, number) {
            (None, Some(n)) => Some(format!("Quầy {n}")),
            (None, None) => None,
            (Some(_), _) => c.text(
                &k.name,
                &kp.key("name"),
                "write e.g. name = \"Quầy 1 – Hộ tịch\", or leave it out",
            ),
        };
        let serves = c
            .required(
                &k.serves,
                &kp.key("serves"),
                "add serves = [\"<department id>\", …]",
            )
            .and_then(|list| {
                if list.is_empty() {
                    c.error(
                        &kp.key("serves"),
                        "the counter serves no department",
                        "list at least one department id",
                    );
                    return None;
                }
                let mut ids: Vec<DepartmentId> = Vec::new();
                let mut fine = true;
                for (j, id) in list.iter().enumerate() {
                    let id = id.trim();
                    if !departments_unusable && !known.iter().any(|k| k == id) {
                        let hint = match closest(id, &known) {
                            Some(close) => format!("did you mean \"{close}\"?"),
                            None => format!("known department ids: {}", known.join(", ")),
                        };
                        c.error(
                            &kp.key("serves").index(j),
                            format!("unknown department `{id}`"),
                            hint,
                        );
                        fine = false;
                    } else if ids.iter().any(|d| d.0 == id) {
                        c.error(
                            &kp.key("serves").index(j),
                            format!("department `{id}` is listed twice"),
                            "list each department once, most preferred first",
                        );
                        fine = false;
                    } else {
                        ids.push(DepartmentId(id.to_owned()));
                    }
                }
                fine.then_some(ids)
            });
        match (number, name, serves) {
            (Some(number), Some(name), Some(serves)) => out.push(Counter {
                number,
                name,
                serves,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn kiosk(
    raw: &RawCenterFile,
    departments: Option<&[Department]>,
    c: &mut Checker<'_>,
) -> Option<KioskSettings> {
    let p = FieldPath::root().key("kiosk");
    let default = RawKiosk::default();
    let k = raw.kiosk.as_ref().unwrap_or(&default);
    let data_dir = match k.data_dir.as_deref().map(str::trim) {
        None => Some(PathBuf::from(DEFAULT_DATA_DIR)),
        Some("") => {
            c.error(
                &p.key("data_dir"),
                "`data_dir` is empty",
                format!("write e.g. data_dir = \"{DEFAULT_DATA_DIR}\""),
            );
            None
        }
        Some(dir) => Some(PathBuf::from(dir)),
    };
    let listen = c.socket_addr(&k.listen, DEFAULT_LISTEN, &p.key("listen"));
    let press_interval = c
        .int_in::<u64>(
            k.press_interval_ms,
            DEFAULT_PRESS_INTERVAL_MS,
            100..=60_000,
            &p.key("press_interval_ms"),
            "one ticket per button per 100 ms to 60 s; 1500 suits most centers",
        )
        .map(Duration::from_millis);
    let store_cache_bytes = c
        .int_in::<u64>(
            k.store_cache_mib,
            DEFAULT_STORE_CACHE_MIB,
            1..=1024,
            &p.key("store_cache_mib"),
            "a Pi needs only 8 MiB",
        )
        .map(|mib| mib * 1024 * 1024);
    let retention_days = c.int_in::<u32>(
        k.retention_days,
        DEFAULT_RETENTION_DAYS,
        1..=3650,
        &p.key("retention_days"),
        "keep between 1 day and 10 years of history",
    );
    let printer = c
        .required(
            &k.printer,
            &p.key("printer"),
            "add a [kiosk.printer] section with transport and address or path",
        )
        .and_then(|pr| printer(pr, &p.key("printer"), c));
    let leds = leds(k.leds.as_ref(), &p.key("leds"), c);
    let priority = priority(k.priority.as_ref(), departments, &p.key("priority"), c);
    let tls = super::tls::tls(k.tls.as_ref(), &p.key("tls"), c);
    Some(KioskSettings {
        data_dir: data_dir?,
        listen: listen?,
        printer: printer?,
        leds: leds?,
        press_interval: press_interval?,
        priority: priority?,
        store_cache_bytes: store_cache_bytes?,
        retention_days: retention_days?,
        tls: tls?,
    })
}

/// Standard serial speeds a receipt printer may use.
const BAUD_RATES: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200];

fn printer(raw: &RawPrinter, p: &FieldPath, c: &mut Checker<'_>) -> Option<PrinterSettings> {
    let transport = printer_transport(raw, p, c);
    let paper_width_mm = match raw.paper_width_mm.unwrap_or(80) {
        w @ (58 | 80) => Some(w as u8),
        other => {
            c.error(
                &p.key("paper_width_mm"),
                format!("paper width {other} mm is not supported"),
                "write paper_width_mm = 80 or 58",
            );
            None
        }
    };
    let dots_per_line = paper_width_mm.and_then(|width| {
        let max: i64 = if width == 58 { 384 } else { 576 };
        let dots = raw.dots_per_line.unwrap_or(max);
        if dots > max || dots < 64 {
            c.error(
                &p.key("dots_per_line"),
                format!("{dots} dots per line do not fit {width} mm paper"),
                format!("{width} mm printers print at most {max} dots per line at 203 dpi; write dots_per_line = {max}"),
            );
            return None;
        }
        if dots % 8 != 0 {
            c.error(
                &p.key("dots_per_line"),
                format!("{dots} dots per line is not a whole number of bytes"),
                format!("raster lines are sent in bytes of 8 dots; write dots_per_line = {}", dots / 8 * 8),
            );
            return None;
        }
        u16::try_from(dots).ok()
    });
    let band_height = c.int_in::<u16>(
        raw.band_height,
        DEFAULT_BAND_HEIGHT,
        1..=1024,
        &p.key("band_height"),
        "bands of 24 to 255 dots suit every printer; 64 is a safe default",
    );
    let mode = match raw.mode.as_deref() {
        None | Some("raster") => {
            if raw.codepage.is_some() {
                c.error(
                    &p.key("codepage"),
                    "codepage is only used with mode = \"text\"",
                    "remove codepage, or write mode = \"text\"",
                );
                None
            } else {
                Some(PrintMode::Raster)
            }
        }
        Some("text") => c
            .required(
                &raw.codepage,
                &p.key("codepage"),
                "text mode needs the printer's Vietnamese code page (ESC t n), e.g. codepage = 30",
            )
            .copied()
            .and_then(|n| {
                c.int_in::<u8>(
                    Some(n),
                    0,
                    0..=255,
                    &p.key("codepage"),
                    "a code page number is 0 to 255",
                )
            })
            .map(|codepage| PrintMode::Text { codepage }),
        Some(other) => {
            c.error(
                &p.key("mode"),
                format!("`{other}` is not a print mode"),
                "write mode = \"raster\" (works on every printer) or \"text\"",
            );
            None
        }
    };
    let ms = |c: &mut Checker<'_>, v: Option<i64>, default: i64, key: &str| {
        c.int_in::<u64>(
            v,
            default,
            100..=600_000,
            &p.key(key),
            "write milliseconds between 100 and 600000",
        )
        .map(Duration::from_millis)
    };
    let connect_timeout = ms(c, raw.connect_timeout_ms, 3000, "connect_timeout_ms");
    let io_timeout = ms(c, raw.io_timeout_ms, 5000, "io_timeout_ms");
    let status_interval = ms(c, raw.status_interval_ms, 2000, "status_interval_ms");
    Some(PrinterSettings {
        transport: transport?,
        paper_width_mm: paper_width_mm?,
        dots_per_line: dots_per_line?,
        cut: raw.cut.unwrap_or(true),
        band_height: band_height?,
        mode: mode?,
        connect_timeout: connect_timeout?,
        io_timeout: io_timeout?,
        status_interval: status_interval?,
    })
}

fn printer_transport(
    raw: &RawPrinter,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PrinterTransport> {
    let transport = c.required(
        &raw.transport,
        &p.key("transport"),
        "write transport = \"tcp\", \"usb\", \"serial\" or \"file\"",
    )?;
    let not_for = |c: &mut Checker<'_>, present: bool, key: &str, what: &str| {
        if present {
            c.error(
                &p.key(key),
                format!("`{key}` is not used by the {transport} transport"),
                format!("remove it; {what}"),
            );
        }
    };
    match transport.as_str() {
        "tcp" => {
            not_for(
                c,
                raw.path.is_some(),
                "path",
                "a network printer is reached by `address`",
            );
            not_for(
                c,
                raw.baud.is_some(),
                "baud",
                "only serial printers have a baud rate",
            );
            let address = c.text(
                &raw.address,
                &p.key("address"),
                "write address = \"192.168.1.50:9100\"",
            )?;
            let (host, port) = match address.rsplit_once(':') {
                Some((host, port)) => {
                    (host.to_owned(), port.parse::<u16>().ok().filter(|p| *p > 0))
                }
                None => (address.clone(), Some(9100)),
            };
            match port {
                Some(port) if !host.is_empty() && !host.contains(char::is_whitespace) => {
                    Some(PrinterTransport::Tcp { host, port })
                }
                _ => {
                    c.error(
                        &p.key("address"),
                        format!("`{address}` is not host:port"),
                        "write address = \"192.168.1.50:9100\" (port 9100 when left out)",
                    );
                    None
                }
            }
        }
        "usb" | "file" | "serial" => {
            not_for(
                c,
                raw.address.is_some(),
                "address",
                "`address` is for network (tcp) printers",
            );
            if transport != "serial" {
                not_for(
                    c,
                    raw.baud.is_some(),
                    "baud",
                    "only serial printers have a baud rate",
                );
            }
            let example = match transport.as_str() {
                "usb" => "path = \"/dev/usb/lp0\"",
                "serial" => "path = \"/dev/ttyUSB0\"",
                _ => "path = \"/tmp/tickets.bin\"",
            };
            let path =
                PathBuf::from(c.text(&raw.path, &p.key("path"), &format!("write {example}"))?);
            match transport.as_str() {
                "usb" => Some(PrinterTransport::Usb { path }),
                "file" => Some(PrinterTransport::File { path }),
                _ => {
                    let baud = raw.baud.unwrap_or(9600);
                    match u32::try_from(baud).ok().filter(|b| BAUD_RATES.contains(b)) {
                        Some(baud) => Some(PrinterTransport::Serial { path, baud }),
                        None => {
                            c.error(
                                &p.key("baud"),
                                format!("{baud} is not a standard baud rate"),
                                "receipt printers use 9600, 19200, 38400 or 115200; check the printer's self-test page",
                            );
                            None
                        }
                    }
                }
            }
        }
        other => {
            c.error(
                &p.key("transport"),
                format!("`{other}` is not a printer transport"),
                "write transport = \"tcp\", \"usb\", \"serial\" or \"file\"",
            );
            None
        }
    }
}

fn leds(raw: Option<&RawLeds>, p: &FieldPath, c: &mut Checker<'_>) -> Option<StatusLeds> {
    let Some(raw) = raw else {
        return Some(StatusLeds::default());
    };
    let mut out = StatusLeds::default();
    let mut ok = true;
    for (key, led) in led_slots(raw) {
        let Some(led) = led else { continue };
        let pin = c.led(led, &p.key(key));
        ok &= pin.is_some();
        let slot = match key {
            "ready" => &mut out.ready,
            "paper_low" => &mut out.paper_low,
            "fault" => &mut out.fault,
            _ => &mut out.closed,
        };
        *slot = pin;
    }
    ok.then_some(out)
}

/// The classes of citizens Vietnamese law puts first at public offices.
fn default_priority_classes() -> Vec<PriorityClass> {
    [
        ("nguoi-cao-tuoi", "Người cao tuổi"),
        ("nguoi-khuyet-tat", "Người khuyết tật"),
        ("phu-nu-mang-thai", "Phụ nữ mang thai"),
        ("nguoi-co-con-nho", "Người có con nhỏ dưới 36 tháng tuổi"),
        ("nguoi-co-cong", "Người có công với cách mạng"),
    ]
    .into_iter()
    .map(|(id, name)| PriorityClass {
        id: id.to_owned(),
        name: name.to_owned(),
    })
    .collect()
}

fn priority(
    raw: Option<&RawPriority>,
    departments: Option<&[Department]>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PriorityPolicy> {
    let default = RawPriority::default();
    let raw = raw.unwrap_or(&default);
    let max_in_a_row = c.int_in::<u32>(
        raw.max_in_a_row,
        DEFAULT_MAX_PRIORITY_IN_A_ROW,
        1..=100,
        &p.key("max_in_a_row"),
        "after this many priority calls a waiting normal ticket is called; 2 is usual",
    );
    let classes = match &raw.classes {
        None => Some(default_priority_classes()),
        Some(list) => {
            let cp = p.key("classes");
            let mut out = Vec::new();
            let mut seen = BTreeSet::new();
            let mut ok = true;
            for (i, class) in list.iter().enumerate() {
                let id = c.text(
                    &class.id,
                    &cp.index(i).key("id"),
                    "write e.g. id = \"nguoi-cao-tuoi\"",
                );
                let name = c.text(
                    &class.name,
                    &cp.index(i).key("name"),
                    "write e.g. name = \"Người cao tuổi\"",
                );
                let (Some(id), Some(name)) = (id, name) else {
                    ok = false;
                    continue;
                };
                if !valid_id(&id) {
                    c.error(
                        &cp.index(i).key("id"),
                        format!("`{id}` is not a valid id"),
                        "use lowercase letters without diacritics, digits and single dashes",
                    );
                    ok = false;
                } else if !seen.insert(id.clone()) {
                    c.error(
                        &cp.index(i).key("id"),
                        format!("class `{id}` is listed twice"),
                        "give each class its own id",
                    );
                    ok = false;
                } else {
                    out.push(PriorityClass { id, name });
                }
            }
            let offered = departments.is_some_and(|ds| ds.iter().any(|d| d.priority));
            if list.is_empty() && offered {
                c.error(
                    &cp,
                    "departments offer priority tickets but no priority class is defined",
                    "add [[kiosk.priority.classes]] entries, or leave `classes` out for the standard ones",
                );
                ok = false;
            }
            ok.then_some(out)
        }
    };
    Some(PriorityPolicy {
        classes: classes?,
        max_in_a_row: max_in_a_row?,
    })
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
