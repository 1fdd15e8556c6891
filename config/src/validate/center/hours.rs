//! The `[center]` table: names, time zone, the service day's start,
//! opening sessions, closed weekdays and dates.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use super::*;
use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::{hh_mm, Checker};

pub(super) fn center(
    raw: Option<&RawCenter>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<Center> {
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
pub(super) fn default_sessions() -> Vec<Session> {
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
pub(super) fn check_day_start(
    start: Time,
    sessions: &[Session],
    p: &FieldPath,
    c: &mut Checker<'_>,
) {
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

pub(super) fn weekdays(raw: &[String], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<Weekday>> {
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

pub(super) fn dates(raw: &[String], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<Date>> {
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
