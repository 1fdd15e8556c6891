//! Building a report: the fold over the event log, kept tickets and day
//! summaries described in the [module docs](super), and [`from_store`], which
//! pages through a [`Store`] for it.

use std::collections::{BTreeMap, HashMap};

use kiosk_config::{CenterConfig, DepartmentId};
use queue_protocol::{
    Actor, DaySummary, DurationStats, Event, EventKind, Ticket, TicketId, TicketState,
};

use super::model::{
    BusyHour, Durations, GroupBy, LevelCount, RatingFigures, Report, ReportError, ReportLevel,
    ReportRequest, Row, StatusTime,
};
use crate::store::retention::percentile;
use crate::store::{EventsSince, Store};

/// Everything needed to fold a ticket's life.
#[derive(Debug, Clone)]
struct TicketLife {
    day: String,
    department: String,
    /// The service picked on the touch screen, if any.
    service: Option<String>,
    priority: bool,
    issued_at_ms: i64,
    first_call_ms: Option<i64>,
    stays: Vec<Stay>,
    outcome: Outcome,
    transferred: bool,
}

#[derive(Debug, Clone)]
struct Stay {
    counter: u16,
    staff: String,
    called_at_ms: i64,
    started_at_ms: Option<i64>,
    outcome: Outcome,
    service_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Open,
    Served,
    NoShow,
    Transferred,
    Cancelled,
}

/// Running figures of one group (and day).
#[derive(Debug, Clone, Default)]
struct Acc {
    issued: u32,
    called: u32,
    served: u32,
    no_show: u32,
    transferred: u32,
    cancelled: u32,
    priority: u32,
    waiting: Samples,
    service: Samples,
    hours: [u32; 24],
    summary_days: u32,
    ratings: BTreeMap<String, u32>,
    /// Served tickets of departments with a target.
    targeted: u32,
    /// Of which first called within the target.
    within_target: u32,
}

/// Raw samples plus per-day summaries that cannot be split into samples.
#[derive(Debug, Clone, Default)]
struct Samples {
    secs: Vec<u32>,
    summaries: Vec<DurationStats>,
}

impl Samples {
    fn push(&mut self, secs: u64) {
        self.secs.push(u32::try_from(secs).unwrap_or(u32::MAX));
    }

    fn merge(&mut self, other: &Samples) {
        self.secs.extend_from_slice(&other.secs);
        self.summaries.extend(other.summaries.iter().cloned());
    }

    fn stats(&self) -> Durations {
        let kept: Vec<&DurationStats> = self.summaries.iter().filter(|s| s.count > 0).collect();
        let count = self.secs.len() as u64 + kept.iter().map(|s| u64::from(s.count)).sum::<u64>();
        if count == 0 {
            return Durations::default();
        }
        let sum = self.secs.iter().map(|&s| u64::from(s)).sum::<u64>()
            + kept
                .iter()
                .map(|s| s.mean_secs * u64::from(s.count))
                .sum::<u64>();
        let max = self
            .secs
            .iter()
            .map(|&s| u64::from(s))
            .chain(kept.iter().map(|s| s.max_secs))
            .max();
        let mut sorted = self.secs.clone();
        sorted.sort_unstable();
        let (p50, p90) = match (sorted.is_empty(), kept.as_slice()) {
            (false, []) => (
                Some(u64::from(percentile(&sorted, 0.5))),
                Some(u64::from(percentile(&sorted, 0.9))),
            ),
            (true, [one]) => (None, Some(one.p90_secs)),
            _ => (None, None),
        };
        Durations {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            mean_secs: Some((sum + count / 2) / count),
            p50_secs: p50,
            p90_secs: p90,
            max_secs: max,
        }
    }
}

impl Acc {
    fn merge(&mut self, other: &Acc) {
        self.issued += other.issued;
        self.called += other.called;
        self.served += other.served;
        self.no_show += other.no_show;
        self.transferred += other.transferred;
        self.cancelled += other.cancelled;
        self.priority += other.priority;
        self.waiting.merge(&other.waiting);
        self.service.merge(&other.service);
        for (mine, theirs) in self.hours.iter_mut().zip(other.hours) {
            *mine += theirs;
        }
        self.summary_days += other.summary_days;
        for (level, n) in &other.ratings {
            *self.ratings.entry(level.clone()).or_default() += n;
        }
        self.targeted += other.targeted;
        self.within_target += other.within_target;
    }

    /// Counts a served ticket against its department's target.
    fn count_target(&mut self, target_secs: Option<u64>, waited_secs: u64) {
        if let Some(target) = target_secs {
            self.targeted += 1;
            self.within_target += u32::from(waited_secs <= target);
        }
    }

    fn count_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Served => self.served += 1,
            Outcome::NoShow => self.no_show += 1,
            Outcome::Transferred => self.transferred += 1,
            Outcome::Cancelled => self.cancelled += 1,
            Outcome::Open => {}
        }
    }
}

/// Folds events (and kept summaries) into a [`Report`]. Feed it the log in
/// order; events of days outside the range are ignored.
#[derive(Debug)]
pub struct ReportBuilder {
    request: ReportRequest,
    from: String,
    to: String,
    timezone: jiff::tz::TimeZone,
    open: HashMap<TicketId, TicketLife>,
    groups: BTreeMap<(String, String), Acc>,
    days_seen: std::collections::BTreeSet<String>,
    past_range: bool,
    /// Service day of every in-range ticket seen in the log (a rating may
    /// come after its ticket was folded).
    ticket_days: HashMap<TicketId, String>,
    /// `target_wait_minutes` of each department that has one, seconds.
    targets: HashMap<String, u64>,
    /// The service day the log is in (from `ServiceDayStarted`).
    log_day: Option<String>,
    /// Time of the last event read.
    last_event_ms: i64,
    /// Each counter's current status interval: (status, since, officer).
    status_now: BTreeMap<u16, (&'static str, i64, String)>,
    /// Seconds per (by, key) and status: open, paused, closed.
    status_secs: BTreeMap<(&'static str, String), [u64; 3]>,
}

impl ReportBuilder {
    /// A builder for `request`, counting hours in `config`'s time zone.
    pub fn new(config: &CenterConfig, request: ReportRequest) -> ReportBuilder {
        ReportBuilder {
            from: request.from.to_string(),
            to: request.to.to_string(),
            request,
            timezone: config.center.timezone.clone(),
            open: HashMap::new(),
            groups: BTreeMap::new(),
            days_seen: Default::default(),
            past_range: false,
            ticket_days: HashMap::new(),
            targets: config
                .departments
                .iter()
                .filter_map(|d| Some((d.id.as_str().to_owned(), d.target_wait?.as_secs())))
                .collect(),
            log_day: None,
            last_event_ms: 0,
            status_now: BTreeMap::new(),
            status_secs: BTreeMap::new(),
        }
    }

    /// Closes every counter's status interval at `at_ms`, crediting it to
    /// the counter and its officer when the log's day is in the range.
    fn close_status_intervals(&mut self, at_ms: i64) {
        let in_range = self.log_day.as_deref().is_some_and(|d| self.in_range(d));
        for (counter, (status, since, officer)) in &mut self.status_now {
            if in_range {
                let secs = secs(*since, at_ms);
                let index = match *status {
                    "open" => 0,
                    "paused" => 1,
                    _ => 2,
                };
                for key in [("counter", counter.to_string()), ("staff", officer.clone())] {
                    self.status_secs.entry(key).or_default()[index] += secs;
                }
            }
            *since = at_ms;
        }
    }

    /// Whether the log has moved past the range: a later service day started,
    /// so no further event can concern the range's tickets.
    pub fn is_past_range(&self) -> bool {
        self.past_range
    }

    fn in_range(&self, day: &str) -> bool {
        self.from.as_str() <= day && day <= self.to.as_str()
    }

    fn hour_of(&self, at_ms: i64) -> usize {
        jiff::Timestamp::from_millisecond(at_ms)
            .map(|t| usize::try_from(t.to_zoned(self.timezone.clone()).hour()).unwrap_or(0))
            .unwrap_or(0)
            .min(23)
    }

    /// One event of the log.
    pub fn add_event(&mut self, event: &Event) {
        let at = event.at_ms;
        self.last_event_ms = self.last_event_ms.max(at);
        match &event.kind {
            EventKind::ServiceDayStarted { service_day, .. } => {
                self.close_status_intervals(at);
                self.log_day = Some(service_day.clone());
            }
            EventKind::CounterStatusChanged {
                counter,
                status,
                actor,
                ..
            } => {
                self.close_status_intervals(at);
                self.status_now
                    .insert(*counter, (status.name(), at, staff_name(actor)));
            }
            _ => {}
        }
        match &event.kind {
            EventKind::ServiceDayStarted { service_day, .. }
                if service_day.as_str() > self.to.as_str() =>
            {
                self.past_range = true;
            }
            EventKind::TicketIssued {
                ticket,
                service_day,
                department,
                priority,
                service,
                ..
            } if self.in_range(service_day) => {
                self.days_seen.insert(service_day.clone());
                self.ticket_days.insert(*ticket, service_day.clone());
                self.open.insert(
                    *ticket,
                    TicketLife {
                        day: service_day.clone(),
                        department: department.clone(),
                        service: service.clone(),
                        priority: priority.is_some(),
                        issued_at_ms: at,
                        first_call_ms: None,
                        stays: Vec::new(),
                        outcome: Outcome::Open,
                        transferred: false,
                    },
                );
            }
            EventKind::Called {
                ticket,
                counter,
                recall,
                actor,
                ..
            } => {
                if let Some(life) = self.open.get_mut(ticket) {
                    let current_open = life
                        .stays
                        .last()
                        .is_some_and(|s| s.outcome == Outcome::Open && s.counter == *counter);
                    // A recall, or a repeated first call at the same counter,
                    // is not a new stay.
                    if !*recall && !current_open {
                        life.first_call_ms.get_or_insert(at);
                        life.stays.push(Stay {
                            counter: *counter,
                            staff: staff_name(actor),
                            called_at_ms: at,
                            started_at_ms: None,
                            outcome: Outcome::Open,
                            service_secs: None,
                        });
                    }
                }
            }
            EventKind::CalledChosen {
                ticket,
                counter,
                actor,
                ..
            } => {
                if let Some(life) = self.open.get_mut(ticket) {
                    life.first_call_ms.get_or_insert(at);
                    life.stays.push(Stay {
                        counter: *counter,
                        staff: staff_name(actor),
                        called_at_ms: at,
                        started_at_ms: None,
                        outcome: Outcome::Open,
                        service_secs: None,
                    });
                }
            }
            EventKind::BroughtBack { ticket, .. } => {
                // It waits again: a later call is a new stay.
                if let Some(life) = self.open.get_mut(ticket) {
                    life.outcome = Outcome::Open;
                }
            }
            EventKind::ServingStarted { ticket, .. } => {
                if let Some(stay) = self.open_stay(*ticket) {
                    stay.started_at_ms.get_or_insert(at);
                }
            }
            EventKind::Finished { ticket, .. } => {
                if let Some(stay) = self.open_stay(*ticket) {
                    let start = stay.started_at_ms.unwrap_or(stay.called_at_ms);
                    stay.service_secs = Some(secs(start, at));
                    stay.outcome = Outcome::Served;
                }
                self.close(*ticket, Outcome::Served);
            }
            EventKind::NoShow { ticket, .. } => {
                if let Some(stay) = self.open_stay(*ticket) {
                    stay.outcome = Outcome::NoShow;
                }
                // Kept open: the citizen may be brought back the same day;
                // the day's end (or `finish`) folds it as a no-show.
                if let Some(life) = self.open.get_mut(ticket) {
                    life.outcome = Outcome::NoShow;
                }
            }
            EventKind::Transferred { ticket, .. } => {
                if let Some(stay) = self.open_stay(*ticket) {
                    stay.outcome = Outcome::Transferred;
                }
                if let Some(life) = self.open.get_mut(ticket) {
                    life.transferred = true;
                }
            }
            EventKind::Cancelled { ticket, .. } => {
                if let Some(stay) = self.open_stay(*ticket) {
                    stay.outcome = Outcome::Cancelled;
                }
                self.close(*ticket, Outcome::Cancelled);
            }
            EventKind::Rated {
                ticket,
                counter,
                department,
                staff,
                level,
                ..
            } => {
                if let Some(day) = self.ticket_days.get(ticket).cloned() {
                    let staff = staff.clone().unwrap_or_else(|| format!("keypad-{counter}"));
                    self.add_rating(&day, *counter, department, &staff, level);
                }
            }
            _ => {}
        }
    }

    /// One rating, in the group of its counter, staff member or department.
    fn add_rating(&mut self, day: &str, counter: u16, department: &str, staff: &str, level: &str) {
        let key = match self.request.by {
            GroupBy::Department => department.to_owned(),
            GroupBy::Counter => counter.to_string(),
            GroupBy::Staff => staff.to_owned(),
            // Ratings are reported by department, counter and officer only.
            GroupBy::Hour | GroupBy::Service => return,
        };
        *self
            .acc(day, key)
            .ratings
            .entry(level.to_owned())
            .or_default() += 1;
    }

    /// Every ticket of a service day whose events are gone but whose
    /// tickets are kept (packed). Each ticket carries only its last stay at
    /// a counter, so for counter and staff groupings a transferred ticket
    /// counts at its last counter only, and waiting is measured to the call
    /// of that last stay. A day already seen in the events is skipped.
    pub fn add_day_tickets(&mut self, day: &str, tickets: &[Ticket]) {
        if !self.in_range(day) || self.days_seen.contains(day) {
            return;
        }
        self.days_seen.insert(day.to_owned());
        for t in tickets {
            let outcome = match t.state {
                TicketState::Done => Outcome::Served,
                TicketState::NoShow => Outcome::NoShow,
                TicketState::Cancelled => Outcome::Cancelled,
                _ => Outcome::Open,
            };
            let stays = match (t.called_at_ms, t.counter) {
                (Some(called_at_ms), Some(counter)) => vec![Stay {
                    counter,
                    staff: t.served_by.clone().unwrap_or_else(|| "unknown".into()),
                    called_at_ms,
                    started_at_ms: t.serving_at_ms,
                    outcome,
                    service_secs: (t.state == TicketState::Done)
                        .then(|| {
                            t.closed_at_ms
                                .map(|end| secs(t.serving_at_ms.unwrap_or(called_at_ms), end))
                        })
                        .flatten(),
                }],
                _ => Vec::new(),
            };
            let life = TicketLife {
                day: day.to_owned(),
                department: t.issued_department.clone(),
                service: t.service.clone(),
                priority: t.priority.is_some(),
                issued_at_ms: t.issued_at_ms,
                first_call_ms: t.called_at_ms,
                stays,
                outcome,
                transferred: t.transfers > 0,
            };
            self.fold(&life);
            if let (Some(rating), Some(counter)) = (&t.rating, t.counter) {
                let staff = t.served_by.clone().unwrap_or_else(|| "unknown".into());
                self.add_rating(day, counter, &t.department, &staff, &rating.level);
            }
        }
    }

    fn open_stay(&mut self, ticket: TicketId) -> Option<&mut Stay> {
        self.open
            .get_mut(&ticket)?
            .stays
            .last_mut()
            .filter(|s| s.outcome == Outcome::Open)
    }

    fn close(&mut self, ticket: TicketId, outcome: Outcome) {
        if let Some(mut life) = self.open.remove(&ticket) {
            life.outcome = outcome;
            self.fold(&life);
        }
    }

    fn acc(&mut self, day: &str, key: String) -> &mut Acc {
        self.groups.entry((day.to_owned(), key)).or_default()
    }

    /// Adds a closed (or, at the end, still open) ticket to its groups.
    fn fold(&mut self, life: &TicketLife) {
        let by = self.request.by;
        let target = self.targets.get(&life.department).copied();
        match by {
            GroupBy::Department | GroupBy::Hour | GroupBy::Service => {
                let key = match (by, &life.service) {
                    (GroupBy::Hour, _) => format!("{:02}", self.hour_of(life.issued_at_ms)),
                    (GroupBy::Service, Some(service)) => {
                        format!("{}/{service}", life.department)
                    }
                    _ => life.department.clone(),
                };
                let hour = self.hour_of(life.issued_at_ms);
                let acc = self.acc(&life.day, key);
                acc.issued += 1;
                acc.hours[hour] += 1;
                acc.priority += u32::from(life.priority);
                acc.called += u32::from(life.first_call_ms.is_some());
                acc.transferred += u32::from(life.transferred);
                if life.outcome != Outcome::Transferred {
                    acc.count_outcome(life.outcome);
                }
                if let Some(call) = life.first_call_ms {
                    acc.waiting.push(secs(life.issued_at_ms, call));
                    if life.outcome == Outcome::Served {
                        acc.count_target(target, secs(life.issued_at_ms, call));
                    }
                }
                for stay in &life.stays {
                    if let Some(s) = stay.service_secs {
                        acc.service.push(s);
                    }
                }
            }
            GroupBy::Counter | GroupBy::Staff => {
                for (index, stay) in life.stays.iter().enumerate() {
                    let key = match by {
                        GroupBy::Counter => stay.counter.to_string(),
                        _ => stay.staff.clone(),
                    };
                    let hour = self.hour_of(stay.called_at_ms);
                    let acc = self.acc(&life.day, key);
                    acc.called += 1;
                    acc.hours[hour] += 1;
                    acc.priority += u32::from(life.priority);
                    // A ticket still open when its day's log ends was left
                    // at the counter: its day-end cancellation counts here.
                    let outcome = match stay.outcome {
                        Outcome::Open => life.outcome,
                        other => other,
                    };
                    acc.count_outcome(outcome);
                    if index == 0 {
                        acc.waiting.push(secs(life.issued_at_ms, stay.called_at_ms));
                    }
                    if outcome == Outcome::Served {
                        let call = life.first_call_ms.unwrap_or(stay.called_at_ms);
                        acc.count_target(target, secs(life.issued_at_ms, call));
                    }
                    if let Some(s) = stay.service_secs {
                        acc.service.push(s);
                    }
                }
            }
        }
    }

    /// The report, given the kept summaries (any days; those in the range
    /// and not in the log are used).
    pub fn finish(mut self, config: &CenterConfig, summaries: &[DaySummary]) -> Report {
        self.close_status_intervals(self.last_event_ms);
        let open: Vec<TicketLife> = self.open.drain().map(|(_, life)| life).collect();
        for life in &open {
            self.fold(life);
        }
        let mut summary_days = std::collections::BTreeSet::new();
        for s in summaries {
            if !self.in_range(&s.service_day) || self.days_seen.contains(&s.service_day) {
                continue;
            }
            summary_days.insert(s.service_day.clone());
            if self.request.by != GroupBy::Department {
                continue;
            }
            let acc = self.acc(&s.service_day, s.department.clone());
            acc.issued += s.issued;
            acc.called += s.waiting.count;
            acc.served += s.served;
            acc.no_show += s.no_show;
            acc.transferred += s.transferred;
            acc.cancelled += s.cancelled;
            acc.waiting.summaries.push(s.waiting.clone());
            acc.service.summaries.push(s.service.clone());
            acc.summary_days += 1;
        }
        let by = self.request.by;
        let mut totals: BTreeMap<String, Acc> = BTreeMap::new();
        for ((_, key), acc) in &self.groups {
            totals.entry(key.clone()).or_default().merge(acc);
        }
        let mut keys: Vec<String> = totals.keys().cloned().collect();
        keys.sort_by_key(|k| order_key(config, by, k));
        let rows: Vec<Row> = keys
            .iter()
            .map(|k| row(config, by, None, k, &totals[k]))
            .collect();
        let mut all = Acc::default();
        for acc in totals.values() {
            all.merge(acc);
        }
        // Days from summaries count once in the total, not once per department.
        all.summary_days = u32::try_from(summary_days.len()).unwrap_or(u32::MAX);
        let mut total = row(config, by, None, "", &all);
        total.key = "total".into();
        total.name = "Tổng cộng".into();
        let daily = if self.request.daily {
            let mut daily: Vec<(&(String, String), &Acc)> = self.groups.iter().collect();
            daily.sort_by_key(|((day, key), _)| (day.clone(), order_key(config, by, key)));
            daily
                .into_iter()
                .map(|((day, key), acc)| row(config, by, Some(day), key, acc))
                .collect()
        } else {
            Vec::new()
        };
        let summary_days: Vec<String> = summary_days.into_iter().collect();
        let mut notes = Vec::new();
        if !summary_days.is_empty() {
            notes.push(match by {
                GroupBy::Department => format!(
                    "{} day(s) of this range were removed by retention and are counted from their kept summaries: no median wait, priority share or busiest hour for them, and no percentiles in rows that mix them with other days (see --daily)",
                    summary_days.len()
                ),
                _ => format!(
                    "{} day(s) of this range were removed by retention and only per-department summaries were kept: they are not in this {} report; use --by department for them",
                    summary_days.len(),
                    by.as_str()
                ),
            });
        }
        let levels = config
            .ratings
            .levels
            .iter()
            .map(|l| ReportLevel {
                id: l.id.clone(),
                label: l.label.clone(),
                satisfied: config.ratings.is_satisfied(&l.id),
            })
            .collect();
        let mut status_time: Vec<StatusTime> = self
            .status_secs
            .iter()
            .map(|((by, key), [open, paused, closed])| StatusTime {
                by: (*by).to_owned(),
                key: key.clone(),
                name: match *by {
                    "counter" => key
                        .parse::<u16>()
                        .ok()
                        .and_then(|n| config.counter(n))
                        .map_or_else(|| format!("Quầy {key}"), |c| c.name.clone()),
                    _ => key.clone(),
                },
                open_secs: *open,
                paused_secs: *paused,
                closed_secs: *closed,
            })
            .collect();
        status_time.sort_by_key(|s| {
            (
                s.by != "counter",
                order_key(config, GroupBy::Counter, &s.key),
            )
        });
        Report {
            levels,
            center: config.center.name.clone(),
            from: self.from,
            to: self.to,
            by,
            timezone: config.center.timezone_name.clone(),
            rows,
            total,
            daily,
            summary_days,
            notes,
            status_time,
        }
    }
}

/// How a ticket's caller is named in staff reports.
fn staff_name(actor: &Actor) -> String {
    match actor {
        Actor::Staff { name } => name.clone(),
        Actor::Keypad { counter } => format!("keypad-{counter}"),
        Actor::Button => "button".into(),
        Actor::Touch => "touch".into(),
        Actor::System => "system".into(),
        Actor::Phone => "phone".into(),
    }
}

fn secs(from_ms: i64, to_ms: i64) -> u64 {
    u64::try_from(to_ms.saturating_sub(from_ms) / 1000).unwrap_or(0)
}

/// Rows in config order (departments, counters), hours in order, the rest
/// (staff, departments no longer configured) by name after them.
fn order_key(config: &CenterConfig, by: GroupBy, key: &str) -> (usize, String) {
    let position = match by {
        GroupBy::Department => config.department_index(&DepartmentId(key.to_owned())),
        GroupBy::Counter => key
            .parse::<u16>()
            .ok()
            .and_then(|n| config.counters.iter().position(|c| c.number == n)),
        GroupBy::Hour => key.parse::<usize>().ok(),
        GroupBy::Staff => None,
        GroupBy::Service => {
            let (department, service) = key.split_once('/').unwrap_or((key, ""));
            let id = DepartmentId(department.to_owned());
            config.department_index(&id).map(|d| {
                // The department's own row (button tickets) first, then its
                // services in config order.
                let s = config.department(&id).and_then(|d| {
                    d.services
                        .iter()
                        .position(|s| s.id == service)
                        .map(|i| i + 1)
                });
                d * 1000 + s.unwrap_or(if service.is_empty() { 0 } else { 999 })
            })
        }
    };
    (position.unwrap_or(usize::MAX), key.to_owned())
}

fn row(config: &CenterConfig, by: GroupBy, day: Option<&str>, key: &str, acc: &Acc) -> Row {
    let name = match by {
        GroupBy::Department => config
            .department(&DepartmentId(key.to_owned()))
            .map_or_else(|| key.to_owned(), |d| d.name.clone()),
        GroupBy::Counter => key
            .parse::<u16>()
            .ok()
            .and_then(|n| config.counter(n))
            .map_or_else(|| format!("Quầy {key}"), |c| c.name.clone()),
        GroupBy::Staff => key.to_owned(),
        GroupBy::Hour => format!("{key}:00–{key}:59"),
        GroupBy::Service => {
            let (department, service) = key.split_once('/').unwrap_or((key, ""));
            let d = config.department(&DepartmentId(department.to_owned()));
            let d_name = d.map_or_else(|| department.to_owned(), |d| d.name.clone());
            match (service, d.and_then(|d| d.service(service))) {
                ("", _) => d_name,
                (_, Some(s)) => format!("{d_name} – {}", s.name),
                (id, None) => format!("{d_name} – {id}"),
            }
        }
    };
    let counts_issue = matches!(by, GroupBy::Department | GroupBy::Hour | GroupBy::Service);
    let base = if counts_issue { acc.issued } else { acc.called };
    // Priority and hours are unknown for days known only from summaries.
    let detail_known = acc.summary_days == 0;
    let busiest_hour = acc
        .hours
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        // Most tickets; the earliest hour on a tie.
        .max_by_key(|(hour, &n)| (n, std::cmp::Reverse(*hour)))
        .filter(|_| detail_known)
        .map(|(hour, &tickets)| BusyHour {
            hour: u8::try_from(hour).unwrap_or(0),
            tickets,
        });
    Row {
        service_day: day.map(str::to_owned),
        key: key.to_owned(),
        name,
        issued: counts_issue.then_some(acc.issued),
        called: acc.called,
        served: acc.served,
        no_show: acc.no_show,
        transferred: acc.transferred,
        cancelled: acc.cancelled,
        priority: detail_known.then_some(acc.priority),
        priority_share_pct: (detail_known && base > 0)
            .then(|| (f64::from(acc.priority) * 1000.0 / f64::from(base)).round() / 10.0),
        waiting: acc.waiting.stats(),
        service: acc.service.stats(),
        busiest_hour,
        summary_days: acc.summary_days,
        within_target_pct: (acc.targeted > 0).then(|| {
            (f64::from(acc.within_target) * 1000.0 / f64::from(acc.targeted)).round() / 10.0
        }),
        // Ratings are not grouped by hour (see the module docs).
        ratings: if by == GroupBy::Hour {
            RatingFigures::default()
        } else {
            rating_figures(config, acc)
        },
    }
}

fn rating_figures(config: &CenterConfig, acc: &Acc) -> RatingFigures {
    let total: u32 = acc.ratings.values().sum();
    let mut levels: Vec<LevelCount> = config
        .ratings
        .levels
        .iter()
        .map(|l| LevelCount {
            level: l.id.clone(),
            count: acc.ratings.get(&l.id).copied().unwrap_or(0),
        })
        .collect();
    for (level, &count) in &acc.ratings {
        if config.ratings.level(level).is_none() {
            levels.push(LevelCount {
                level: level.clone(),
                count,
            });
        }
    }
    let satisfied: u32 = acc
        .ratings
        .iter()
        .filter(|(level, _)| config.ratings.is_satisfied(level))
        .map(|(_, n)| n)
        .sum();
    RatingFigures {
        total,
        levels,
        satisfied_share_pct: (total > 0)
            .then(|| (f64::from(satisfied) * 1000.0 / f64::from(total)).round() / 10.0),
        per_served: (acc.served > 0)
            .then(|| (f64::from(total) * 100.0 / f64::from(acc.served)).round() / 100.0),
    }
}

/// How many events are read from the store at a time.
const PAGE: usize = 5_000;

/// The report for `request` from `store`'s log and kept summaries. Reads
/// the log page by page (a year of log does not sit in memory at once) and
/// stops once a service day after the range has started.
pub fn from_store(
    store: &Store,
    config: &CenterConfig,
    request: ReportRequest,
) -> Result<Report, ReportError> {
    let request_range = (request.from, request.to);
    let mut builder = ReportBuilder::new(config, request);
    let mut after = 0;
    loop {
        match store.events_since(after, PAGE)? {
            EventsSince::Gap { oldest_kept_seq } => {
                after = oldest_kept_seq.saturating_sub(1);
            }
            EventsSince::Events(events) => {
                let Some(last) = events.last().map(|e| e.seq) else {
                    break;
                };
                for event in &events {
                    builder.add_event(event);
                }
                if builder.is_past_range() {
                    break;
                }
                after = last;
            }
        }
    }
    // Days whose events are gone but whose tickets are still kept.
    for day in store.service_days() {
        if request_range.0 <= day && day <= request_range.1 {
            let tickets = store.day_tickets(day)?;
            builder.add_day_tickets(&day.to_string(), &tickets);
        }
    }
    let summaries = store.summaries()?;
    Ok(builder.finish(config, &summaries))
}
