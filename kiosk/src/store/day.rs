//! Service days and opening hours: pure functions of the center's config and
//! an instant. No state, no storage.

use jiff::civil::{Date, Time};
use jiff::Timestamp;
use kiosk_config::{Center, Department, Session};

/// The service day `now` falls in: the local date in the center's time zone,
/// or the day before when the local time is earlier than `day_starts_at`.
pub fn service_day(center: &Center, now: Timestamp) -> Date {
    let local = now.to_zoned(center.timezone.clone());
    let date = local.date();
    if local.time() < center.day_starts_at {
        date.yesterday().unwrap_or(date)
    } else {
        date
    }
}

/// Why a department does not issue tickets right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closure {
    /// The service day is a closed weekday or a closed date.
    ClosedDay(Date),
    /// The local time is outside every opening session.
    OutsideHours(Time),
}

/// The sessions a department follows: its own, else the center's.
pub fn sessions<'a>(center: &'a Center, department: &'a Department) -> &'a [Session] {
    department.sessions.as_deref().unwrap_or(&center.sessions)
}

/// Whether `department` issues tickets at `now`.
///
/// Closed weekdays and dates are those of the service day; opening sessions
/// are compared with the local time of day, `start` included, `end` excluded.
/// A center with no sessions configured at all is treated as always open.
pub fn check_open(center: &Center, department: &Department, now: Timestamp) -> Result<(), Closure> {
    let day = service_day(center, now);
    if center.closed_weekdays.contains(&day.weekday()) || center.closed_dates.contains(&day) {
        return Err(Closure::ClosedDay(day));
    }
    let sessions = sessions(center, department);
    if sessions.is_empty() {
        return Ok(());
    }
    let time = now.to_zoned(center.timezone.clone()).time();
    if sessions.iter().any(|s| s.start <= time && time < s.end) {
        Ok(())
    } else {
        Err(Closure::OutsideHours(time))
    }
}
