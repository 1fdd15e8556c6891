//! The report model: what a report asks for ([`ReportRequest`]) and what it
//! holds ([`Report`], its [`Row`]s and their figures). Plain data, serialized
//! as the JSON of `kiosk report --format json` and `GET /api/v1/reports`;
//! how the figures are computed is [`super::build`].

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// What a report's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Issuing department.
    #[default]
    Department,
    /// Counter that called the ticket.
    Counter,
    /// Staff member (or keypad) who called the ticket.
    Staff,
    /// Local hour the ticket was issued in.
    Hour,
    /// Issuing department and the service picked on the touch screen
    /// (`ho-tich/khai-sinh`; a button ticket counts under the department's
    /// own id).
    Service,
}

impl GroupBy {
    /// Its name in the CLI, the API and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Department => "department",
            GroupBy::Counter => "counter",
            GroupBy::Staff => "staff",
            GroupBy::Hour => "hour",
            GroupBy::Service => "service",
        }
    }
}

impl std::str::FromStr for GroupBy {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "department" => Ok(GroupBy::Department),
            "counter" => Ok(GroupBy::Counter),
            "staff" => Ok(GroupBy::Staff),
            "hour" => Ok(GroupBy::Hour),
            "service" => Ok(GroupBy::Service),
            other => Err(ReportError::BadGroupBy(other.to_owned())),
        }
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A date is not `YYYY-MM-DD`.
    #[error("{field} {value:?} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01")]
    BadDate {
        /// `from` or `to`.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// `from` is after `to`.
    #[error("the range starts ({from}) after it ends ({to}); swap the dates")]
    EmptyRange {
        /// First day asked.
        from: Date,
        /// Last day asked.
        to: Date,
    },
    /// Unknown grouping.
    #[error("cannot group by {0:?}; use department, counter, staff, hour or service")]
    BadGroupBy(String),
    /// The store failed while reading the log.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// First service day, included.
    pub from: Date,
    /// Last service day, included.
    pub to: Date,
    /// Grouping of the rows.
    pub by: GroupBy,
    /// Also give one row per service day and group.
    pub daily: bool,
}

impl ReportRequest {
    /// A request from the text of its parts, as typed on a command line or
    /// in a query string.
    pub fn parse(from: &str, to: &str, by: Option<&str>, daily: bool) -> Result<Self, ReportError> {
        let date = |field, value: &str| {
            value
                .trim()
                .parse::<Date>()
                .map_err(|_| ReportError::BadDate {
                    field,
                    value: value.to_owned(),
                })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if from > to {
            return Err(ReportError::EmptyRange { from, to });
        }
        let by = by.map(str::parse).transpose()?.unwrap_or_default();
        Ok(ReportRequest {
            from,
            to,
            by,
            daily,
        })
    }
}

/// Statistics of durations, seconds. `None` where nothing was measured or
/// where the figure cannot be known (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    /// How many samples.
    pub count: u32,
    /// Mean, seconds (rounded).
    pub mean_secs: Option<u64>,
    /// Median (nearest rank), seconds.
    pub p50_secs: Option<u64>,
    /// 90th percentile (nearest rank), seconds.
    pub p90_secs: Option<u64>,
    /// Longest, seconds.
    pub max_secs: Option<u64>,
}

/// The hour with the most tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyHour {
    /// Local hour, 0–23 (8 means 08:00–08:59).
    pub hour: u8,
    /// Tickets issued (or called) in it.
    pub tickets: u32,
}

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The service day, for a daily row; `None` for the whole range.
    pub service_day: Option<String>,
    /// Group id: department id, counter number, user name or hour (`08`).
    pub key: String,
    /// Readable name: department or counter name from the config, user
    /// name, `08:00–08:59`.
    pub name: String,
    /// Tickets issued (`None` for counter and staff groupings).
    pub issued: Option<u32>,
    /// Tickets called (see the module docs).
    pub called: u32,
    /// Served to the end.
    pub served: u32,
    /// Called but never came.
    pub no_show: u32,
    /// Transferred (see the module docs).
    pub transferred: u32,
    /// Cancelled, including those left open when their day ended.
    pub cancelled: u32,
    /// Priority tickets; `None` when retention removed the detail.
    pub priority: Option<u32>,
    /// Priority tickets as a percentage of issued (or called), one decimal.
    pub priority_share_pct: Option<f64>,
    /// Issue → first call.
    pub waiting: Durations,
    /// Start of service → finish.
    pub service: Durations,
    /// The busiest local hour.
    pub busiest_hour: Option<BusyHour>,
    /// Service days of this row known only from their kept summaries.
    pub summary_days: u32,
    /// Of the tickets served whose department has `target_wait_minutes`,
    /// the percentage first called within the target, one decimal; `None`
    /// when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_target_pct: Option<f64>,
    /// Citizens' ratings of this group's services.
    #[serde(default)]
    pub ratings: RatingFigures,
}

/// The ratings of a group (see the module docs for how they are grouped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatingFigures {
    /// Ratings given.
    pub total: u32,
    /// Count per level, in the config's order (best first); levels no
    /// longer configured follow.
    pub levels: Vec<LevelCount>,
    /// Ratings of the top two levels as a percentage of all ratings, one
    /// decimal; `None` without ratings.
    pub satisfied_share_pct: Option<f64>,
    /// Ratings per ticket served, two decimals; `None` when nothing was
    /// served.
    pub per_served: Option<f64>,
}

/// How many ratings of one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelCount {
    /// The level id (`very_satisfied`).
    pub level: String,
    /// How many.
    pub count: u32,
}

/// A rating level as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLevel {
    /// The level id.
    pub id: String,
    /// Its Vietnamese label.
    pub label: String,
    /// Whether it counts as satisfied.
    pub satisfied: bool,
}

/// Time a counter (or an officer's counters) spent in each status, from
/// the first status change in the range; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTime {
    /// `counter` or `staff`.
    pub by: String,
    /// Counter number, or the user name who set the status.
    pub key: String,
    /// Counter name, or the user name.
    pub name: String,
    /// Seconds open.
    pub open_secs: u64,
    /// Seconds paused.
    pub paused_secs: u64,
    /// Seconds closed.
    pub closed_secs: u64,
}

/// A finished report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The center's name.
    pub center: String,
    /// First service day, `YYYY-MM-DD`.
    pub from: String,
    /// Last service day, `YYYY-MM-DD`.
    pub to: String,
    /// Grouping of the rows.
    pub by: GroupBy,
    /// IANA time zone hours are counted in.
    pub timezone: String,
    /// One row per group over the whole range, in config order (hours in
    /// order, staff by name).
    pub rows: Vec<Row>,
    /// Every group together.
    pub total: Row,
    /// With `daily`: one row per service day and group, by day.
    pub daily: Vec<Row>,
    /// Days of the range known only from kept summaries (retention removed
    /// their tickets and events).
    pub summary_days: Vec<String>,
    /// English notes for the reader (what is missing and why).
    pub notes: Vec<String>,
    /// The rating levels of the config, best first: the columns of the
    /// rating figures.
    #[serde(default)]
    pub levels: Vec<ReportLevel>,
    /// Time in each counter status, per counter then per officer (empty
    /// when no counter status changed in the range).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_time: Vec<StatusTime>,
}
