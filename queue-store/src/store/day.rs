//! Why a department is closed now, as the store reports it. The rules
//! themselves (service day, sessions, closed days) are the config model's
//! ([`Center::service_day`], [`Center::is_open_at`]); this module only turns
//! them into a reason. No state, no storage.

use jiff::civil::{Date, Time};
use jiff::Timestamp;
use kiosk_config::{Center, Department};

/// Why a department does not issue tickets right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closure {
    /// The service day is a closed weekday or a closed date.
    ClosedDay(Date),
    /// The local time is outside every opening session.
    OutsideHours(Time),
}

/// Whether `department` issues tickets at `now`.
///
/// Closed weekdays and dates are those of the service day; opening sessions
/// are compared with the local time of day, `start` included, `end` excluded.
/// A center with no sessions configured at all is treated as always open.
pub fn check_open(center: &Center, department: &Department, now: Timestamp) -> Result<(), Closure> {
    let day = center.service_day(now);
    if center.is_closed_on(day) {
        return Err(Closure::ClosedDay(day));
    }
    if center.is_open_at(department, now) {
        Ok(())
    } else {
        Err(Closure::OutsideHours(center.local(now).time()))
    }
}
