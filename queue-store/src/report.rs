//! Reports for center managers: what each department, counter, staff member
//! or hour of the day did over a range of service days.
//!
//! This module owns the figures and how they are computed — a pure fold over
//! the event log ([`ReportBuilder::add_event`]) plus the [`DaySummary`]s kept
//! for days that retention removed — and their three output formats
//! ([`format`](mod@format): aligned table, CSV, JSON). It does not open the store or
//! serve HTTP: [`from_store`] pages through a [`Store`](crate::store::Store)'s log for the
//! `kiosk report` command and `GET /api/v1/reports`. The model (request,
//! rows, figures) is in `model.rs`, the fold in `build.rs`.
//!
//! [`DaySummary`]: queue_protocol::DaySummary
//!
//! # Figures
//!
//! For each group (and, on request, each service day of each group):
//!
//! - `issued`: tickets issued (department and hour groupings only; counters
//!   and staff do not issue tickets, so it is `null` there);
//! - `called`: tickets called at least once (department, hour) or stays at a
//!   counter — first calls, recalls not counted (counter, staff);
//! - `served`, `no_show`, `cancelled`: tickets that ended so; for counters
//!   and staff, the stays that ended so there;
//! - `transferred`: tickets transferred at least once (department, hour), or
//!   stays that ended by a transfer (counter, staff);
//! - `priority` and `priority_share_pct`: priority tickets among `issued`
//!   (among `called` for counters and staff);
//! - `waiting`: issue → first call, seconds (for counters and staff, the
//!   tickets they called first); `service`: start of service (or the call,
//!   when "start" was never pressed) → finish, seconds. Each has `count`,
//!   `mean`, `p50`, `p90`, `max`; percentiles are nearest-rank, the sample at
//!   index round((n−1)·q) of the sorted samples — the same rule retention
//!   uses for the kept summaries, so a day reads the same before and after it
//!   is pruned;
//! - `busiest_hour`: the local hour (center time zone) with the most tickets
//!   issued (department, hour) or called (counter, staff).
//!
//! - `within_target_pct` ("share served within target"): of the served
//!   tickets whose issuing department has `target_wait_minutes`, the share
//!   whose waiting was at most that target; absent when no department with
//!   a target served anyone.
//!
//! Tickets count in their **issuing** department and service day, as the
//! kept [`DaySummary`]s do.
//!
//! # Ratings
//!
//! Every row also has `ratings`: how many citizens rated (`total`), the
//! count per level in the config's order, `satisfied_share_pct` (the top
//! two levels among all ratings — with three levels "Rất hài lòng" and
//! "Hài lòng"; a four-level center counts the same two, so `neutral`
//! ("Bình thường") is **not** satisfied, and shares stay comparable between
//! centers) and `per_served` (ratings ÷ `served`). A rating counts in the
//! service day of its ticket, at the counter and staff member who served it
//! (the `Rated` event's, or the packed ticket's last), and in the
//! department that served it (after a transfer, the receiving one, while
//! `served` counts the issuing one). Hour rows have no ratings; days known
//! only from summaries have none either. `kiosk report --ratings` prints
//! the per-officer table of these figures.
//!
//! **Time in each counter status** ([`Report::status_time`], from the event
//! log only): for each counter, and for each officer (the user who set the
//! status), seconds open, paused and closed within the range. A counter is
//! counted from its first status change on; an interval runs until the next
//! change, a new service day, or the last event read (for today: the last
//! thing that happened), so a counter whose status nobody ever set does not
//! appear.
//!
//! # Where the figures come from
//!
//! The store keeps three tiers of history (see `store`'s Retention), and a
//! report reads each day from the richest one it still has:
//!
//! 1. **the event log** (the last few service days): everything above, each
//!    stay at a counter attributed to its counter and staff member;
//! 2. **kept tickets** (packed days, up to `retention_days`): every figure
//!    of the department and hour groupings; for counter and staff only each
//!    ticket's *last* counter and staff member are known, so a transferred
//!    ticket counts once, at its last counter, and its waiting time runs to
//!    the call of that last stay;
//! 3. **day summaries** (days older than `retention_days`): one
//!    [`DaySummary`] per department and day. The department grouping has
//!    every count and the waiting and service mean, p90 and max, but no p50,
//!    priority share or busiest hour; counter, staff and hour groupings
//!    cannot include these days at all. They are listed in
//!    [`Report::summary_days`] with a note. A percentile over several days
//!    cannot be rebuilt from per-day percentiles: a total row that mixes
//!    such days has `p50`/`p90` `null` (the per-day rows, `--daily`, still
//!    have each day's p90).

mod build;
pub mod format;
mod model;

pub use build::{from_store, ReportBuilder};
pub use model::{
    BusyHour, Durations, GroupBy, LevelCount, RatingFigures, Report, ReportError, ReportLevel,
    ReportRequest, Row, StatusTime,
};
