//! The queue as a pure state machine: issuing, calling, serving, transfers,
//! the priority policy, service-day rollover and the event sequence.
//!
//! Nothing here touches the disk. Every operation takes the config and "now",
//! updates the in-memory state and records what it changed in a [`Change`]
//! (events, tickets, runtime records) that the store persists atomically
//! before anyone learns the outcome. Only open tickets (waiting, called,
//! serving) are kept in memory; closed ones live on disk only.
//!
//! Policies decided here:
//! - **Priority** is per counter: when a department the counter serves has
//!   both priority and normal tickets waiting, at most
//!   `kiosk.priority.max_in_a_row` priority tickets are called in a row at
//!   that counter before the oldest normal one.
//! - **"Next"** picks, in order: tickets transferred to this very counter
//!   (oldest first), then the first department in the counter's `serves` list
//!   that has someone waiting. Pressing "next" while a ticket is called or
//!   served at the counter finishes that ticket first (a keypad may only have
//!   a "next" button).
//! - **Counter status**: a paused or closed counter calls nobody and receives
//!   no transfer; it cannot be paused or closed while it holds a called or
//!   served ticket (its parked tickets stay parked).
//! - **Out of order**: a chosen waiting ticket may be called with a reason
//!   from `[counter_work] call_reasons` by a free, open counter that serves
//!   its department.
//! - **Parking**: only a ticket being served is parked; it leaves the
//!   counter free and comes back as a repeat call of that counter.
//! - **Bring back**: a no-show of the current service day waits again, at
//!   the front of its department (called before anything else there, in the
//!   order brought back) or in issue order.
//! - **Order** in a department is by original issue time, then ticket id, so
//!   a transferred ticket keeps its place.
//! - **Day rollover** cancels the tickets still open from the previous day
//!   (their numbers would clash with the new day's).
//! - **Clock backwards**: a clock mapping to an earlier service day than the
//!   latest one used keeps the latest day and its numbering, and records one
//!   `ClockWentBackwards` event per jump.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use jiff::civil::Date;
use jiff::Timestamp;
use kiosk_config::{BringBack, CenterConfig, Department, DepartmentId, Exhaustion};
use queue_protocol::{
    Actor, CallInfo, CounterNow, CounterStatus, CurrentTicket, DepartmentQueue, Event, EventKind,
    PrintStatus, RatingLevelInfo, Snapshot, Ticket, TicketId, TicketRating, TicketState,
    RATING_SOURCES,
};
use serde::{Deserialize, Serialize};

use super::day::{self, Closure};
use super::error::{ActionError, IssueError, RatingError};
use super::record::StoredCounterStatus;

/// Service time assumed per ticket before any ticket was served.
pub const DEFAULT_SERVICE_TIME: Duration = Duration::from_secs(5 * 60);
/// How many recent service times the estimate averages.
pub const RECENT_SERVICE_SAMPLES: usize = 10;
/// How many calls the snapshot lists.
pub const LAST_CALLS: usize = 10;

/// Global counters of the store, persisted as one small record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Core {
    /// Sequence number the next event gets.
    pub next_seq: u64,
    /// Id the next ticket gets.
    pub next_ticket: u64,
    /// The latest service day used; never goes back.
    pub service_day: Option<Date>,
    /// First ticket id of `service_day`.
    pub day_first_ticket: u64,
    /// Whether a `ClockWentBackwards` was recorded for the current jump.
    pub clock_behind: bool,
    /// Events before this sequence number were removed by retention.
    pub oldest_kept_seq: u64,
}

impl Default for Core {
    fn default() -> Self {
        Self {
            next_seq: 1,
            next_ticket: 1,
            service_day: None,
            day_first_ticket: 1,
            clock_behind: false,
            oldest_kept_seq: 1,
        }
    }
}

/// Per-department runtime record: today's numbering and recent service times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRuntime {
    /// Last number issued this service day.
    pub last_number: Option<u32>,
    /// Tickets issued this service day.
    pub issued: u32,
    /// Recent call-to-finish durations, milliseconds, newest last.
    pub recent_service_ms: VecDeque<u64>,
    /// No-shows brought back to the front of the queue today, ticket ids,
    /// called first (in this order) by "next".
    #[serde(default)]
    pub front: Vec<u64>,
}

/// Per-counter runtime record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterRuntime {
    /// Priority tickets called in a row while normal tickets waited.
    pub priority_streak: u32,
    /// The ticket this counter finished last, which a citizen may still
    /// rate (see [`QueueState::rate`]).
    #[serde(default)]
    pub last_finished: Option<FinishedHere>,
    /// Ratings accepted here lately, by the device's idempotency key, so a
    /// retry after a lost answer is answered again and not counted twice.
    #[serde(default)]
    pub rating_receipts: VecDeque<RatingReceipt>,
    /// Open, paused or closed.
    #[serde(default)]
    pub status: StoredCounterStatus,
    /// Display name of the officer at the counter, when known.
    #[serde(default)]
    pub officer: Option<String>,
}

/// How many rating receipts a counter remembers (a device retries only its
/// last press).
pub const RATING_RECEIPTS: usize = 16;

/// The ticket a counter finished last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedHere {
    /// The ticket.
    pub ticket: TicketId,
    /// When it was finished, Unix ms.
    pub finished_at_ms: i64,
    /// Whether it was rated.
    pub rated: bool,
    /// Whether the counter called another ticket since (no rating then).
    pub next_called: bool,
}

/// A rating accepted at a counter, remembered by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingReceipt {
    /// The device's key.
    pub key: String,
    /// The ticket rated.
    pub ticket: TicketId,
    /// Its label.
    pub label: String,
    /// The level recorded.
    pub level: String,
    /// The ticket's department.
    #[serde(default)]
    pub department: String,
}

/// A rating request as the state machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRequest {
    /// The counter where it was given.
    pub counter: u16,
    /// The level id.
    pub level: String,
    /// `counter_button`, `counter_touch` or `phone`.
    pub source: String,
    /// The ticket the device shows, if it names one.
    pub ticket: Option<TicketId>,
    /// The device's idempotency key.
    pub key: Option<String>,
}

/// A rating recorded (or recognised as a retry of one already recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingOutcome {
    /// The ticket rated.
    pub ticket: TicketId,
    /// Its label.
    pub label: String,
    /// The level.
    pub level: String,
    /// The ticket's department.
    pub department: String,
    /// A retry of a rating already recorded: nothing new was written.
    pub repeated: bool,
}

/// Where a service day's records start, persisted per day for retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStart {
    /// First ticket id of the day.
    pub first_ticket: u64,
    /// Sequence number of the day's `ServiceDayStarted` event.
    pub first_seq: u64,
    /// The day's tickets were moved into one pack record (see `pack`).
    #[serde(default)]
    pub packed: bool,
}

/// Everything one operation changed, to be persisted atomically.
#[derive(Debug, Default)]
pub struct Change {
    /// New events, in sequence order.
    pub events: Vec<Event>,
    /// Tickets written (latest version last).
    pub tickets: Vec<Ticket>,
    /// Departments whose runtime record changed.
    pub departments: BTreeSet<String>,
    /// Counters whose runtime record changed.
    pub counters: BTreeSet<u16>,
    /// A service day that started.
    pub day_started: Option<(Date, DayStart)>,
}

impl Change {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.tickets.is_empty()
    }
}

/// A ticket just issued, with what the citizen is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTicket {
    /// The ticket as stored.
    pub ticket: Ticket,
    /// People waiting ahead of it in its department.
    pub waiting_ahead: u32,
    /// Estimated wait before it is called.
    pub estimated_wait: Duration,
    /// The key of its phone page (set by the store when it is written).
    pub key: Option<super::citizen::TicketKey>,
}

/// The in-memory queue.
#[derive(Debug, Default)]
pub struct QueueState {
    /// Global counters.
    pub core: Core,
    /// Runtime record per department id.
    pub departments: BTreeMap<String, DepartmentRuntime>,
    /// Runtime record per counter number.
    pub counters: BTreeMap<u16, CounterRuntime>,
    /// Open tickets by id.
    open: BTreeMap<TicketId, Ticket>,
    /// Counts and numbers of the open tickets, kept with `open` (in
    /// [`QueueState::put`]) so that an issue does not walk every open ticket.
    index: OpenIndex,
    /// Recent calls, newest first.
    last_calls: VecDeque<CallInfo>,
    /// What changed since the last `take_change`.
    change: Change,
}

/// How many tickets wait in a department's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Waiting {
    all: u32,
    priority: u32,
}

/// What an issue needs to know of the open tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct OpenIndex {
    /// Waiting tickets by (current) department; departments with none may
    /// be missing or hold zeros.
    waiting: BTreeMap<String, Waiting>,
    /// (issuing department, number) of every open ticket.
    numbers: BTreeSet<(String, u32)>,
}

impl OpenIndex {
    /// The open tickets among `tickets`, by id, and their index.
    fn of(tickets: impl Iterator<Item = Ticket>) -> (BTreeMap<TicketId, Ticket>, OpenIndex) {
        let mut index = OpenIndex::default();
        let open = tickets
            .filter(|t| t.state.is_open())
            .inspect(|t| index.add(t))
            .map(|t| (t.id, t))
            .collect();
        (open, index)
    }

    fn add(&mut self, ticket: &Ticket) {
        self.numbers
            .insert((ticket.issued_department.clone(), ticket.number));
        if ticket.state == TicketState::Waiting {
            let entry = self.waiting.entry(ticket.department.clone()).or_default();
            entry.all += 1;
            entry.priority += u32::from(ticket.priority.is_some());
        }
    }

    fn remove(&mut self, ticket: &Ticket) {
        self.numbers
            .remove(&(ticket.issued_department.clone(), ticket.number));
        if ticket.state == TicketState::Waiting {
            if let Some(entry) = self.waiting.get_mut(&ticket.department) {
                entry.all = entry.all.saturating_sub(1);
                entry.priority = entry
                    .priority
                    .saturating_sub(u32::from(ticket.priority.is_some()));
            }
        }
    }

    fn waiting(&self, department: &str) -> Waiting {
        self.waiting.get(department).copied().unwrap_or_default()
    }

    /// The same index without the departments that have nobody waiting.
    fn trimmed(&self) -> OpenIndex {
        OpenIndex {
            waiting: self
                .waiting
                .iter()
                .filter(|(_, w)| w.all > 0)
                .map(|(d, w)| (d.clone(), *w))
                .collect(),
            numbers: self.numbers.clone(),
        }
    }
}

fn ms(now: Timestamp) -> i64 {
    now.as_millisecond()
}

fn state_name(state: TicketState) -> &'static str {
    match state {
        TicketState::Waiting => "waiting",
        TicketState::Called { .. } => "called",
        TicketState::Serving { .. } => "being served",
        TicketState::Done => "done",
        TicketState::NoShow => "no-show",
        TicketState::Cancelled => "cancelled",
        TicketState::Parked { .. } => "parked",
    }
}

/// The name reports group staff work by: the account's user name, or
/// `keypad-<counter>`; buttons and the system act for nobody.
fn actor_name(actor: &Actor) -> Option<String> {
    match actor {
        Actor::Staff { name } => Some(name.clone()),
        Actor::Keypad { counter } => Some(format!("keypad-{counter}")),
        Actor::Button | Actor::Touch | Actor::Phone | Actor::System => None,
    }
}

/// Remember on the ticket which counter and who acted on it last.
/// The Vietnamese name of `ticket`'s service, for the boards: the service
/// belongs to the department that issued the ticket (a transfer keeps it).
/// `None` without a service, or when a reload removed it from the config.
fn service_name(config: &CenterConfig, ticket: &Ticket) -> Option<String> {
    let id = ticket.service.as_deref()?;
    let department = config.department(&DepartmentId(ticket.issued_department.clone()))?;
    department.service(id).map(|s| s.name.clone())
}

fn mark_handler(ticket: &mut Ticket, counter: u16, actor: &Actor) {
    ticket.counter = Some(counter);
    if let Some(name) = actor_name(actor) {
        ticket.served_by = Some(name);
    }
}

/// Queue order: original issue time, then id.
fn queue_key(ticket: &Ticket) -> (i64, TicketId) {
    (ticket.issued_at_ms, ticket.id)
}

impl QueueState {
    /// A state rebuilt from persisted records.
    pub fn restore(
        core: Core,
        departments: BTreeMap<String, DepartmentRuntime>,
        counters: BTreeMap<u16, CounterRuntime>,
        open: impl IntoIterator<Item = Ticket>,
        last_calls: VecDeque<CallInfo>,
    ) -> Self {
        let (open, index) = OpenIndex::of(open.into_iter());
        Self {
            core,
            departments,
            counters,
            open,
            index,
            last_calls,
            change: Change::default(),
        }
    }

    /// Hand over what changed since the last call.
    pub fn take_change(&mut self) -> Change {
        std::mem::take(&mut self.change)
    }

    /// Sequence number of the last event (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.core.next_seq - 1
    }

    /// An open ticket by id.
    pub fn open_ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.open.get(&id)
    }

    /// All open tickets, by id.
    pub fn open_tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.open.values()
    }

    fn push(&mut self, now: Timestamp, kind: EventKind) {
        let event = Event {
            seq: self.core.next_seq,
            at_ms: ms(now),
            kind,
        };
        self.core.next_seq += 1;
        self.change.events.push(event);
    }

    /// Store a modified ticket: keep it in memory while open, record it.
    fn put(&mut self, ticket: Ticket) {
        if ticket.state != TicketState::Waiting {
            for (id, runtime) in &mut self.departments {
                if runtime.front.contains(&ticket.id.0) {
                    runtime.front.retain(|t| *t != ticket.id.0);
                    self.change.departments.insert(id.clone());
                }
            }
        }
        let before = if ticket.state.is_open() {
            self.open.insert(ticket.id, ticket.clone())
        } else {
            self.open.remove(&ticket.id)
        };
        if let Some(before) = before {
            self.index.remove(&before);
        }
        if ticket.state.is_open() {
            self.index.add(&ticket);
        }
        self.change.tickets.push(ticket);
    }

    /// Bring the state to the service day of `now` and return the day in use.
    ///
    /// Every operation calls this first, so a new day starts with the first
    /// action after the reset time (the daemon also calls it periodically
    /// through `Store::roll_service_day`).
    pub fn enter_day(&mut self, config: &CenterConfig, now: Timestamp) -> Date {
        let clock_day = config.center.service_day(now);
        match self.core.service_day {
            Some(kept) if clock_day < kept => {
                if !self.core.clock_behind {
                    self.core.clock_behind = true;
                    self.push(
                        now,
                        EventKind::ClockWentBackwards {
                            clock_day: clock_day.to_string(),
                            kept_day: kept.to_string(),
                        },
                    );
                }
                kept
            }
            Some(kept) if clock_day == kept => {
                self.core.clock_behind = false;
                kept
            }
            previous => {
                self.core.clock_behind = false;
                let leftovers: Vec<Ticket> = self.open.values().cloned().collect();
                for mut ticket in leftovers {
                    ticket.state = TicketState::Cancelled;
                    ticket.closed_at_ms = Some(ms(now));
                    let event = EventKind::Cancelled {
                        ticket: ticket.id,
                        label: ticket.label.clone(),
                        department: ticket.department.clone(),
                        reason: "service day ended".into(),
                        actor: Actor::System,
                    };
                    self.put(ticket);
                    self.push(now, event);
                }
                for (id, runtime) in &mut self.departments {
                    runtime.last_number = None;
                    runtime.issued = 0;
                    runtime.front.clear();
                    self.change.departments.insert(id.clone());
                }
                for (number, runtime) in &mut self.counters {
                    runtime.priority_streak = 0;
                    runtime.last_finished = None;
                    self.change.counters.insert(*number);
                }
                let start = DayStart {
                    first_ticket: self.core.next_ticket,
                    first_seq: self.core.next_seq,
                    packed: false,
                };
                self.core.service_day = Some(clock_day);
                self.core.day_first_ticket = start.first_ticket;
                self.push(
                    now,
                    EventKind::ServiceDayStarted {
                        service_day: clock_day.to_string(),
                        previous: previous.map(|d| d.to_string()),
                    },
                );
                self.change.day_started = Some((clock_day, start));
                clock_day
            }
        }
    }

    fn waiting_in(&self, department: &str) -> impl Iterator<Item = &Ticket> + '_ {
        let department = department.to_owned();
        self.open
            .values()
            .filter(move |t| t.state == TicketState::Waiting && t.department == department)
    }

    /// Estimated wait for someone with `ahead` people before them.
    pub fn estimate(&self, config: &CenterConfig, department: &str, ahead: u32) -> Duration {
        let per_ticket = self
            .departments
            .get(department)
            .filter(|r| !r.recent_service_ms.is_empty())
            .map(|r| {
                let sum: u64 = r.recent_service_ms.iter().sum();
                Duration::from_millis(sum / r.recent_service_ms.len() as u64)
            })
            .unwrap_or(DEFAULT_SERVICE_TIME);
        let counters = config
            .counters
            .iter()
            .filter(|c| c.serves.iter().any(|d| d.0 == department))
            .count()
            .max(1) as u32;
        per_ticket * ahead / counters
    }

    /// Issue a ticket for `department` (with a priority class id or none):
    /// `admit` decides whether a ticket may be issued at all,
    /// `next_number` which number it gets.
    pub fn issue(
        &mut self,
        config: &CenterConfig,
        department: &DepartmentId,
        priority: Option<&str>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<IssuedTicket, IssueError> {
        self.issue_service(config, department, None, priority, actor, now)
    }

    /// [`Queue::issue`] for one of the department's services (picked on
    /// the touch screen): numbered and queued with the department, the
    /// service kept on the ticket and its event.
    pub fn issue_service(
        &mut self,
        config: &CenterConfig,
        department: &DepartmentId,
        service: Option<&str>,
        priority: Option<&str>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<IssuedTicket, IssueError> {
        let day = self.enter_day(config, now);
        let dept = self.admit(config, department, service, priority, now)?;
        let number = self.next_number(dept)?;
        let department = department.as_str();
        let waiting = self.index.waiting(department);
        let ahead = if priority.is_some() {
            waiting.priority
        } else {
            waiting.all
        };
        let estimated_wait = self.estimate(config, department, ahead);
        let label = dept.block.label(number);
        let ticket = Ticket {
            id: TicketId(self.core.next_ticket),
            service_day: day.to_string(),
            issued_department: department.to_owned(),
            department: department.to_owned(),
            number,
            label: label.clone(),
            priority: priority.map(str::to_owned),
            issued_at_ms: ms(now),
            state: TicketState::Waiting,
            for_counter: None,
            called_at_ms: None,
            serving_at_ms: None,
            closed_at_ms: None,
            recalls: 0,
            transfers: 0,
            print: PrintStatus::Pending,
            counter: None,
            served_by: None,
            rating: None,
            service: service.map(str::to_owned),
        };
        self.core.next_ticket += 1;
        let runtime = self.departments.entry(department.to_owned()).or_default();
        runtime.last_number = Some(number);
        runtime.issued += 1;
        self.change.departments.insert(department.to_owned());
        self.put(ticket.clone());
        self.push(
            now,
            EventKind::TicketIssued {
                ticket: ticket.id,
                service_day: day.to_string(),
                department: department.to_owned(),
                number,
                label,
                priority: priority.map(str::to_owned),
                waiting_ahead: ahead,
                actor,
                service: service.map(str::to_owned),
            },
        );
        Ok(IssuedTicket {
            ticket,
            waiting_ahead: ahead,
            estimated_wait,
            key: None,
        })
    }

    /// Admission: whether `department` may issue a ticket (of `priority`)
    /// at `now` — it exists, offers that priority class, is open, and is
    /// under its daily cap.
    fn admit<'c>(
        &self,
        config: &'c CenterConfig,
        department: &DepartmentId,
        service: Option<&str>,
        priority: Option<&str>,
        now: Timestamp,
    ) -> Result<&'c Department, IssueError> {
        let name = || department.as_str().to_owned();
        let dept = config
            .department(department)
            .ok_or_else(|| IssueError::UnknownDepartment { department: name() })?;
        let service = match service {
            None => None,
            Some(id) => Some(dept.service(id).ok_or_else(|| IssueError::UnknownService {
                department: name(),
                service: id.to_owned(),
            })?),
        };
        if let Some(class) = priority {
            if !dept.offers_priority(service) {
                return Err(IssueError::PriorityNotOffered { department: name() });
            }
            if !config.kiosk.priority.classes.iter().any(|c| c.id == class) {
                return Err(IssueError::UnknownPriorityClass {
                    class: class.to_owned(),
                });
            }
        }
        match day::check_open(&config.center, dept, now) {
            Ok(()) => {}
            Err(Closure::ClosedDay(day)) => {
                return Err(IssueError::ClosedDay {
                    department: name(),
                    day,
                })
            }
            Err(Closure::OutsideHours(time)) => {
                return Err(IssueError::OutsideOpeningHours {
                    department: name(),
                    time,
                })
            }
        }
        if let Some(cap) = dept.daily_cap {
            let issued = self
                .departments
                .get(department.as_str())
                .map_or(0, |r| r.issued);
            if issued >= cap {
                return Err(IssueError::DailyCapReached {
                    department: name(),
                    cap,
                });
            }
        }
        Ok(dept)
    }

    /// Numbering: the number after the department's last one today, from
    /// the start of its block on a new day, wrapping or refusing at the end
    /// of the block as configured — never a number whose holder still waits.
    fn next_number(&self, dept: &Department) -> Result<u32, IssueError> {
        let block = &dept.block;
        let exhausted = || IssueError::BlockExhausted {
            department: dept.id.as_str().to_owned(),
            last: block.last,
        };
        let last = self
            .departments
            .get(dept.id.as_str())
            .and_then(|r| r.last_number);
        let number = match last {
            None => block.first,
            Some(last) if last < block.last => last + 1,
            Some(_) => match block.on_exhausted {
                Exhaustion::Refuse => return Err(exhausted()),
                Exhaustion::Wrap => block.first,
            },
        };
        if self
            .index
            .numbers
            .contains(&(dept.id.as_str().to_owned(), number))
        {
            return Err(exhausted());
        }
        Ok(number)
    }

    fn check_counter(config: &CenterConfig, counter: u16) -> Result<(), ActionError> {
        if config.counters.iter().any(|c| c.number == counter) {
            Ok(())
        } else {
            Err(ActionError::UnknownCounter { counter })
        }
    }

    /// The ticket called or served at `counter`.
    pub fn current_at(&self, counter: u16) -> Option<&Ticket> {
        self.open
            .values()
            .find(|t| t.state.counter() == Some(counter))
    }

    fn closed_or_unknown(&self, ticket: TicketId) -> ActionError {
        if ticket.0 < self.core.next_ticket {
            ActionError::TicketClosed { ticket }
        } else {
            ActionError::UnknownTicket { ticket }
        }
    }

    /// The ticket an action at `counter` applies to: the one given (which
    /// must be at that counter) or the counter's current one.
    fn resolve(
        &self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
    ) -> Result<Ticket, ActionError> {
        Self::check_counter(config, counter)?;
        match ticket {
            None => self
                .current_at(counter)
                .cloned()
                .ok_or(ActionError::NoCurrentTicket { counter }),
            Some(id) => {
                let found = self
                    .open
                    .get(&id)
                    .ok_or_else(|| self.closed_or_unknown(id))?;
                match found.state.counter() {
                    Some(at) if at == counter => Ok(found.clone()),
                    Some(other) => Err(ActionError::BelongsToOtherCounter {
                        ticket: id,
                        counter: other,
                    }),
                    None => Err(ActionError::NotCalledYet { ticket: id }),
                }
            }
        }
    }

    /// [`Self::resolve`] once the service day is entered: the preamble of
    /// every action at a counter.
    fn resolve_today(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        self.resolve(config, counter, ticket)
    }

    /// [`Self::resolve_today`] for an action only a called ticket allows;
    /// `action` names it in the `WrongState` error.
    fn resolve_called(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        action: &'static str,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let ticket = self.resolve_today(config, counter, ticket, now)?;
        if !matches!(ticket.state, TicketState::Called { .. }) {
            return Err(ActionError::WrongState {
                ticket: ticket.id,
                action,
                state: state_name(ticket.state),
            });
        }
        Ok(ticket)
    }

    fn close_served(
        &mut self,
        mut ticket: Ticket,
        counter: u16,
        actor: Actor,
        now: Timestamp,
    ) -> Ticket {
        if let Some(called) = ticket.called_at_ms {
            let took = u64::try_from(ms(now).saturating_sub(called)).unwrap_or(0);
            let runtime = self
                .departments
                .entry(ticket.department.clone())
                .or_default();
            runtime.recent_service_ms.push_back(took);
            while runtime.recent_service_ms.len() > RECENT_SERVICE_SAMPLES {
                runtime.recent_service_ms.pop_front();
            }
            self.change.departments.insert(ticket.department.clone());
        }
        ticket.state = TicketState::Done;
        ticket.closed_at_ms = Some(ms(now));
        mark_handler(&mut ticket, counter, &actor);
        self.counters.entry(counter).or_default().last_finished = Some(FinishedHere {
            ticket: ticket.id,
            finished_at_ms: ms(now),
            rated: ticket.rating.is_some(),
            next_called: false,
        });
        self.change.counters.insert(counter);
        let event = EventKind::Finished {
            ticket: ticket.id,
            label: ticket.label.clone(),
            counter,
            department: ticket.department.clone(),
            actor,
        };
        self.put(ticket.clone());
        self.push(now, event);
        ticket
    }

    fn record_call(
        &mut self,
        config: &CenterConfig,
        ticket: &Ticket,
        counter: u16,
        recall: bool,
        actor: Actor,
        now: Timestamp,
    ) {
        if !recall {
            if let Some(finished) = self
                .counters
                .get_mut(&counter)
                .and_then(|c| c.last_finished.as_mut())
            {
                finished.next_called = true;
                self.change.counters.insert(counter);
            }
        }
        let service = service_name(config, ticket);
        self.last_calls.push_front(CallInfo {
            ticket: ticket.id,
            label: ticket.label.clone(),
            counter,
            department: ticket.department.clone(),
            at_ms: ms(now),
            recall,
            service: service.clone(),
        });
        self.last_calls.truncate(LAST_CALLS);
        self.push(
            now,
            EventKind::Called {
                ticket: ticket.id,
                label: ticket.label.clone(),
                counter,
                department: ticket.department.clone(),
                recall,
                actor,
                service,
            },
        );
    }

    /// Pick the ticket "next" at `counter` would call, and whether it is a
    /// priority pick made while normal tickets waited.
    fn pick_next(&self, config: &CenterConfig, counter: u16) -> Option<(TicketId, Pick)> {
        if let Some(t) = self
            .open
            .values()
            .filter(|t| t.state == TicketState::Waiting && t.for_counter == Some(counter))
            .min_by_key(|t| queue_key(t))
        {
            return Some((t.id, Pick::Direct));
        }
        let serves = &config.counters.iter().find(|c| c.number == counter)?.serves;
        let max_in_a_row = config.kiosk.priority.max_in_a_row;
        let streak = self.counters.get(&counter).map_or(0, |c| c.priority_streak);
        for department in serves {
            let front = self.departments.get(&department.0).and_then(|r| {
                r.front.iter().map(|id| TicketId(*id)).find(|id| {
                    self.open.get(id).is_some_and(|t| {
                        t.state == TicketState::Waiting
                            && t.department == department.0
                            && t.for_counter.is_none()
                    })
                })
            });
            if let Some(id) = front {
                return Some((id, Pick::Direct));
            }
            let waiting = self
                .waiting_in(&department.0)
                .filter(|t| t.for_counter.is_none());
            let (mut best_priority, mut best_normal): (Option<&Ticket>, Option<&Ticket>) =
                (None, None);
            for t in waiting {
                let slot = if t.priority.is_some() {
                    &mut best_priority
                } else {
                    &mut best_normal
                };
                if slot.is_none_or(|b| queue_key(t) < queue_key(b)) {
                    *slot = Some(t);
                }
            }
            match (best_priority, best_normal) {
                (Some(p), None) => return Some((p.id, Pick::PriorityAlone)),
                (Some(p), Some(_)) if streak < max_in_a_row => {
                    return Some((p.id, Pick::PriorityOverNormal))
                }
                (_, Some(n)) => return Some((n.id, Pick::Normal)),
                (None, None) => {}
            }
        }
        None
    }

    /// "Next" at `counter`: finish its current ticket, call the next one.
    pub fn call_next(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        Self::check_counter(config, counter)?;
        self.check_open(counter)?;
        if let Some(current) = self.current_at(counter).cloned() {
            self.close_served(current, counter, actor.clone(), now);
        }
        let (id, pick) = self
            .pick_next(config, counter)
            .ok_or(ActionError::NothingWaiting { counter })?;
        let runtime = self.counters.entry(counter).or_default();
        match pick {
            Pick::Direct | Pick::PriorityAlone => {}
            Pick::PriorityOverNormal => runtime.priority_streak += 1,
            Pick::Normal => runtime.priority_streak = 0,
        }
        self.change.counters.insert(counter);
        let mut ticket = self.open[&id].clone();
        ticket.state = TicketState::Called { counter };
        ticket.for_counter = None;
        ticket.called_at_ms = Some(ms(now));
        mark_handler(&mut ticket, counter, &actor);
        self.put(ticket.clone());
        self.record_call(config, &ticket, counter, false, actor, now);
        Ok(ticket)
    }

    /// Call the counter's called ticket again.
    pub fn recall(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let ticket = self.resolve_called(config, counter, ticket, "recall", now)?;
        Ok(self.call_again(config, ticket, counter, actor, now))
    }

    /// A repeat call of `ticket` to `counter` (a recall, or a parked ticket
    /// called back): counted, and announced as a recall.
    fn call_again(
        &mut self,
        config: &CenterConfig,
        mut ticket: Ticket,
        counter: u16,
        actor: Actor,
        now: Timestamp,
    ) -> Ticket {
        ticket.state = TicketState::Called { counter };
        ticket.recalls += 1;
        mark_handler(&mut ticket, counter, &actor);
        self.put(ticket.clone());
        self.record_call(config, &ticket, counter, true, actor, now);
        ticket
    }

    /// The called citizen did not come.
    pub fn no_show(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let mut ticket = self.resolve_called(config, counter, ticket, "mark as no-show", now)?;
        ticket.state = TicketState::NoShow;
        ticket.closed_at_ms = Some(ms(now));
        mark_handler(&mut ticket, counter, &actor);
        self.put(ticket.clone());
        self.push(
            now,
            EventKind::NoShow {
                ticket: ticket.id,
                label: ticket.label.clone(),
                counter,
                department: ticket.department.clone(),
                actor,
            },
        );
        Ok(ticket)
    }

    /// The citizen arrived; service begins.
    pub fn start_serving(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let mut ticket = self.resolve_called(config, counter, ticket, "start serving", now)?;
        ticket.state = TicketState::Serving { counter };
        // A ticket recalled from the parked list keeps its first start.
        ticket.serving_at_ms.get_or_insert(ms(now));
        mark_handler(&mut ticket, counter, &actor);
        self.put(ticket.clone());
        self.push(
            now,
            EventKind::ServingStarted {
                ticket: ticket.id,
                label: ticket.label.clone(),
                counter,
                department: ticket.department.clone(),
                actor,
            },
        );
        Ok(ticket)
    }

    /// Service ended.
    pub fn finish(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let ticket = self.resolve_today(config, counter, ticket, now)?;
        Ok(self.close_served(ticket, counter, actor, now))
    }

    fn transfer(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        to: Destination<'_>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let mut ticket = self.resolve_today(config, counter, ticket, now)?;
        let from_department = ticket.department.clone();
        let (to_department, to_counter) = match to {
            Destination::Department(d) => (Some(d), None),
            Destination::Counter(c) => (None, Some(c)),
        };
        if let Some(to) = to_department {
            if !config.departments.iter().any(|d| d.id.0 == to) {
                return Err(ActionError::UnknownDepartment {
                    department: to.to_owned(),
                });
            }
            ticket.department = to.to_owned();
        }
        if let Some(to) = to_counter {
            Self::check_counter(config, to)?;
            self.check_open(to)?;
        }
        ticket.state = TicketState::Waiting;
        ticket.for_counter = to_counter;
        ticket.called_at_ms = None;
        ticket.serving_at_ms = None;
        ticket.transfers += 1;
        self.put(ticket.clone());
        self.push(
            now,
            EventKind::Transferred {
                ticket: ticket.id,
                label: ticket.label.clone(),
                from_department,
                to_department: ticket.department.clone(),
                from_counter: Some(counter),
                to_counter,
                actor,
            },
        );
        Ok(ticket)
    }

    /// Send the counter's ticket to another department; it keeps its place
    /// by issue time there.
    pub fn transfer_to_department(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        to: &DepartmentId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.transfer(
            config,
            counter,
            ticket,
            Destination::Department(to.as_str()),
            actor,
            now,
        )
    }

    /// Send the counter's ticket to one specific counter, which calls it
    /// before its ordinary queue.
    pub fn transfer_to_counter(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        to: u16,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.transfer(
            config,
            counter,
            ticket,
            Destination::Counter(to),
            actor,
            now,
        )
    }

    /// The status of `counter` (open when never set).
    pub fn counter_status(&self, counter: u16) -> CounterStatus {
        self.counters
            .get(&counter)
            .map_or(CounterStatus::Open, |r| r.status.clone().into())
    }

    fn check_open(&self, counter: u16) -> Result<(), ActionError> {
        match self.counter_status(counter) {
            CounterStatus::Open => Ok(()),
            other => Err(ActionError::CounterNotOpen {
                counter,
                status: other.name(),
            }),
        }
    }

    /// Refuse when `counter` has a called or served ticket: the action
    /// needs the counter free.
    fn check_free(&self, counter: u16, action: &'static str) -> Result<(), ActionError> {
        match self.current_at(counter) {
            None => Ok(()),
            Some(t) => Err(ActionError::CounterBusy {
                counter,
                action,
                ticket: t.id,
                label: t.label.clone(),
            }),
        }
    }

    /// Open, pause (for a reason of the center's list) or close `counter`.
    /// `officer` is the display name of the staff account acting, shown on
    /// the counter's displays; it is forgotten when the counter closes.
    /// Opening an open counter is refused, except by an officer whose name
    /// is not the one shown: they take the counter over.
    pub fn set_counter_status(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        status: CounterStatus,
        officer: Option<String>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<CounterStatus, ActionError> {
        self.enter_day(config, now);
        Self::check_counter(config, counter)?;
        if let CounterStatus::Paused { reason } = &status {
            check_reason(reason, &config.counter_work.pause_reasons)?;
        }
        let current = self.counter_status(counter);
        // Opening an open counter is how another officer takes it over.
        let takes_over = status.is_open()
            && officer.is_some()
            && self.counters.get(&counter).and_then(|r| r.officer.as_ref()) != officer.as_ref();
        if std::mem::discriminant(&current) == std::mem::discriminant(&status) && !takes_over {
            return Err(ActionError::AlreadyInStatus {
                counter,
                status: current.name(),
            });
        }
        if !status.is_open() {
            self.check_free(counter, status.name())?;
        }
        let runtime = self.counters.entry(counter).or_default();
        runtime.status = status.clone().into();
        runtime.officer = match status {
            CounterStatus::Closed => None,
            _ => officer.or_else(|| runtime.officer.take()),
        };
        let officer = runtime.officer.clone();
        self.change.counters.insert(counter);
        self.push(
            now,
            EventKind::CounterStatusChanged {
                counter,
                status: status.clone(),
                officer,
                actor,
            },
        );
        Ok(status)
    }

    /// Call a chosen waiting ticket out of order, for a reason of the
    /// center's list. The counter must be open and free, and serve the
    /// ticket's department (or be the counter it was transferred to).
    pub fn call_chosen(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: TicketId,
        reason: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        Self::check_counter(config, counter)?;
        self.check_open(counter)?;
        check_reason(reason, &config.counter_work.call_reasons)?;
        self.check_free(counter, "call a chosen ticket")?;
        let mut found = self
            .open
            .get(&ticket)
            .cloned()
            .ok_or_else(|| self.closed_or_unknown(ticket))?;
        if found.state != TicketState::Waiting {
            return Err(ActionError::WrongState {
                ticket,
                action: "call out of order",
                state: state_name(found.state),
            });
        }
        let served_here = match found.for_counter {
            Some(only) => only == counter,
            None => config
                .counter(counter)
                .is_some_and(|c| c.serves.iter().any(|d| d.0 == found.department)),
        };
        if !served_here {
            return Err(ActionError::NotServedHere {
                ticket,
                department: found.department.clone(),
                counter,
            });
        }
        found.state = TicketState::Called { counter };
        found.for_counter = None;
        found.called_at_ms = Some(ms(now));
        mark_handler(&mut found, counter, &actor);
        self.put(found.clone());
        let service = service_name(config, &found);
        self.last_calls.push_front(CallInfo {
            ticket: found.id,
            label: found.label.clone(),
            counter,
            department: found.department.clone(),
            at_ms: ms(now),
            recall: false,
            service: service.clone(),
        });
        self.last_calls.truncate(LAST_CALLS);
        self.push(
            now,
            EventKind::CalledChosen {
                ticket: found.id,
                label: found.label.clone(),
                counter,
                department: found.department.clone(),
                reason: reason.to_owned(),
                actor,
                service,
            },
        );
        Ok(found)
    }

    /// Park the ticket being served at `counter`: the citizen steps away and
    /// the counter is free for others until it recalls the ticket.
    pub fn park(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        if let Some(id) = ticket {
            if let Some(TicketState::Parked { counter: at }) = self.open.get(&id).map(|t| t.state) {
                return Err(ActionError::AlreadyParked {
                    ticket: id,
                    counter: at,
                });
            }
        }
        let mut found = self.resolve(config, counter, ticket)?;
        if !matches!(found.state, TicketState::Serving { .. }) {
            return Err(ActionError::WrongState {
                ticket: found.id,
                action: "park",
                state: state_name(found.state),
            });
        }
        found.state = TicketState::Parked { counter };
        mark_handler(&mut found, counter, &actor);
        self.put(found.clone());
        self.push(
            now,
            EventKind::Parked {
                ticket: found.id,
                label: found.label.clone(),
                counter,
                department: found.department.clone(),
                actor,
            },
        );
        Ok(found)
    }

    /// Call a ticket of the counter's parked list back (a repeat call, so
    /// displays show and announce it again).
    pub fn recall_parked(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        ticket: TicketId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        Self::check_counter(config, counter)?;
        self.check_open(counter)?;
        self.check_free(counter, "recall a parked ticket")?;
        let found = self
            .open
            .get(&ticket)
            .cloned()
            .ok_or_else(|| self.closed_or_unknown(ticket))?;
        match found.state {
            TicketState::Parked { counter: at } if at == counter => {}
            TicketState::Parked { counter: at } => {
                return Err(ActionError::BelongsToOtherCounter {
                    ticket,
                    counter: at,
                })
            }
            other => {
                return Err(ActionError::WrongState {
                    ticket,
                    action: "recall from the parked list",
                    state: state_name(other),
                })
            }
        }
        Ok(self.call_again(config, found, counter, actor, now))
    }

    /// Bring a no-show of today back into its department's queue (at the
    /// front or in issue order, as `[counter_work] bring_back` says).
    /// `ticket` is the closed ticket as read from the store.
    pub fn bring_back(
        &mut self,
        config: &CenterConfig,
        counter: u16,
        mut ticket: Ticket,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        let day = self.enter_day(config, now);
        Self::check_counter(config, counter)?;
        if ticket.state != TicketState::NoShow {
            return Err(ActionError::WrongState {
                ticket: ticket.id,
                action: "bring back",
                state: state_name(ticket.state),
            });
        }
        if ticket.service_day != day.to_string() {
            return Err(ActionError::NotToday {
                ticket: ticket.id,
                service_day: ticket.service_day.clone(),
            });
        }
        let serves = config
            .counter(counter)
            .is_some_and(|c| c.serves.iter().any(|d| d.0 == ticket.department));
        if !serves && ticket.counter != Some(counter) {
            return Err(ActionError::NotServedHere {
                ticket: ticket.id,
                department: ticket.department.clone(),
                counter,
            });
        }
        if let Some(holder) = self
            .open
            .values()
            .find(|t| t.issued_department == ticket.issued_department && t.number == ticket.number)
        {
            return Err(ActionError::NumberReissued {
                ticket: ticket.id,
                holder: holder.id,
            });
        }
        let front = config.counter_work.bring_back == BringBack::Front;
        ticket.state = TicketState::Waiting;
        ticket.closed_at_ms = None;
        ticket.called_at_ms = None;
        ticket.serving_at_ms = None;
        ticket.for_counter = None;
        self.put(ticket.clone());
        if front {
            self.departments
                .entry(ticket.department.clone())
                .or_default()
                .front
                .push(ticket.id.0);
            self.change.departments.insert(ticket.department.clone());
        }
        self.push(
            now,
            EventKind::BroughtBack {
                ticket: ticket.id,
                label: ticket.label.clone(),
                department: ticket.department.clone(),
                front,
                counter,
                actor,
            },
        );
        Ok(ticket)
    }

    /// Tickets parked by `counter`, oldest first.
    pub fn parked_at(&self, counter: u16) -> impl Iterator<Item = &Ticket> + '_ {
        self.open
            .values()
            .filter(move |t| t.state == TicketState::Parked { counter })
    }

    /// Cancel an open ticket, wherever it is.
    pub fn cancel(
        &mut self,
        config: &CenterConfig,
        ticket: TicketId,
        reason: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Ticket, ActionError> {
        self.enter_day(config, now);
        let mut found = self
            .open
            .get(&ticket)
            .cloned()
            .ok_or_else(|| self.closed_or_unknown(ticket))?;
        found.state = TicketState::Cancelled;
        found.closed_at_ms = Some(ms(now));
        self.put(found.clone());
        self.push(
            now,
            EventKind::Cancelled {
                ticket,
                label: found.label.clone(),
                department: found.department.clone(),
                reason: reason.to_owned(),
                actor,
            },
        );
        Ok(found)
    }

    /// Record the print outcome of `ticket` (read from memory or disk by the
    /// caller). `Err(reason)` marks it failed.
    pub fn print_outcome(
        &mut self,
        mut ticket: Ticket,
        outcome: Result<(), String>,
        now: Timestamp,
    ) -> Ticket {
        let kind = match outcome {
            Ok(()) => {
                ticket.print = PrintStatus::Printed;
                EventKind::Printed { ticket: ticket.id }
            }
            Err(reason) => {
                ticket.print = PrintStatus::Failed;
                EventKind::PrintFailed {
                    ticket: ticket.id,
                    reason,
                }
            }
        };
        self.put(ticket.clone());
        self.push(now, kind);
        ticket
    }

    /// The ticket a rating at `counter` would attach to if the counter is
    /// not serving one: its last finished ticket (the store reads it from
    /// disk for [`Self::rate`]).
    pub fn last_finished_at(&self, counter: u16) -> Option<TicketId> {
        self.counters
            .get(&counter)
            .and_then(|c| c.last_finished.as_ref())
            .map(|f| f.ticket)
    }

    /// Whether a rating of `ticket` from its phone page would be accepted
    /// now by [`Self::rate`]'s attach rule: not rated yet, and being served,
    /// or the last ticket its counter finished, within the window and
    /// before the counter called another number.
    pub fn phone_can_rate(&self, config: &CenterConfig, ticket: &Ticket, now: Timestamp) -> bool {
        if ticket.rating.is_some() {
            return false;
        }
        match ticket.state {
            TicketState::Serving { .. } => true,
            TicketState::Done => {
                let Some(counter) = ticket.counter else {
                    return false;
                };
                let window =
                    i64::try_from(config.ratings.attach_window.as_millis()).unwrap_or(i64::MAX);
                self.counters
                    .get(&counter)
                    .and_then(|c| c.last_finished.as_ref())
                    .is_some_and(|f| {
                        f.ticket == ticket.id
                            && !f.rated
                            && !f.next_called
                            && ms(now).saturating_sub(f.finished_at_ms) <= window
                    })
            }
            _ => false,
        }
    }

    /// A citizen's rating at a counter. The attach rule:
    ///
    /// - it attaches to the ticket **being served** at the counter, or else
    ///   to the ticket the counter **finished last**, if that finish was at
    ///   most `ratings.attach_window` ago and the counter has not called a
    ///   ticket since (a recall does not count);
    /// - one rating per ticket: a second one is refused;
    /// - when the request names a ticket (what the device shows), it must be
    ///   that one: a ticket handled by another counter is refused as such;
    /// - a retry with the key of a rating accepted here is answered as the
    ///   first time, with `repeated`, and records nothing.
    ///
    /// `finished` is the ticket [`Self::last_finished_at`] named, `named`
    /// the ticket the request names, both as read by the store.
    pub fn rate(
        &mut self,
        config: &CenterConfig,
        request: &RatingRequest,
        actor: Actor,
        now: Timestamp,
        finished: Option<Ticket>,
        named: Option<Ticket>,
    ) -> Result<RatingOutcome, RatingError> {
        self.enter_day(config, now);
        let counter = request.counter;
        if let Some(key) = &request.key {
            if let Some(receipt) = self
                .counters
                .get(&counter)
                .and_then(|c| c.rating_receipts.iter().find(|r| &r.key == key))
            {
                return Ok(RatingOutcome {
                    ticket: receipt.ticket,
                    label: receipt.label.clone(),
                    level: receipt.level.clone(),
                    department: receipt.department.clone(),
                    repeated: true,
                });
            }
        }
        if config.counter(counter).is_none() {
            return Err(RatingError::UnknownCounter { counter });
        }
        if config.ratings.level(&request.level).is_none() {
            return Err(RatingError::UnknownLevel {
                level: request.level.clone(),
            });
        }
        if !RATING_SOURCES.contains(&request.source.as_str()) {
            return Err(RatingError::BadSource {
                source_name: request.source.clone(),
            });
        }
        // A device (or a phone) naming a ticket of another counter is told
        // so, whatever this counter is doing.
        if let Some(wanted) = request.ticket {
            match &named {
                None => return Err(RatingError::UnknownTicket { ticket: wanted }),
                Some(n) if n.counter != Some(counter) => {
                    return Err(RatingError::OtherCounter {
                        ticket: wanted,
                        counter: n.counter,
                    })
                }
                Some(_) => {}
            }
        }
        let serving = self
            .current_at(counter)
            .filter(|t| matches!(t.state, TicketState::Serving { .. }))
            .cloned();
        let here = self
            .counters
            .get(&counter)
            .and_then(|c| c.last_finished.clone());
        let mut ticket = match (serving, here) {
            (Some(t), _) => t,
            (None, Some(f)) => {
                let late = ms(now).saturating_sub(f.finished_at_ms)
                    > i64::try_from(config.ratings.attach_window.as_millis()).unwrap_or(i64::MAX);
                let found = finished.filter(|t| t.id == f.ticket);
                match found {
                    Some(t) if f.rated || t.rating.is_some() => {
                        return Err(RatingError::AlreadyRated {
                            ticket: t.id,
                            label: t.label,
                        })
                    }
                    Some(_) if f.next_called => return Err(RatingError::NextCalled { counter }),
                    Some(t) if late => {
                        return Err(RatingError::TooLate {
                            ticket: t.id,
                            window_secs: config.ratings.attach_window.as_secs(),
                        })
                    }
                    Some(t) => t,
                    None => return Err(RatingError::NoTicket { counter }),
                }
            }
            (None, None) => return Err(RatingError::NoTicket { counter }),
        };
        if let Some(wanted) = request.ticket {
            if wanted != ticket.id {
                return Err(match named {
                    Some(n) if n.rating.is_some() => RatingError::AlreadyRated {
                        ticket: n.id,
                        label: n.label,
                    },
                    _ => RatingError::NextCalled { counter },
                });
            }
        }
        if ticket.rating.is_some() {
            return Err(RatingError::AlreadyRated {
                ticket: ticket.id,
                label: ticket.label,
            });
        }
        ticket.rating = Some(TicketRating {
            level: request.level.clone(),
            at_ms: ms(now),
            source: request.source.clone(),
        });
        let runtime = self.counters.entry(counter).or_default();
        if let Some(f) = runtime
            .last_finished
            .as_mut()
            .filter(|f| f.ticket == ticket.id)
        {
            f.rated = true;
        }
        if let Some(key) = &request.key {
            runtime.rating_receipts.push_back(RatingReceipt {
                key: key.clone(),
                ticket: ticket.id,
                label: ticket.label.clone(),
                level: request.level.clone(),
                department: ticket.department.clone(),
            });
            while runtime.rating_receipts.len() > RATING_RECEIPTS {
                runtime.rating_receipts.pop_front();
            }
        }
        self.change.counters.insert(counter);
        let staff = ticket
            .served_by
            .clone()
            .filter(|name| !name.starts_with("keypad-"));
        let event = EventKind::Rated {
            ticket: ticket.id,
            label: ticket.label.clone(),
            counter,
            department: ticket.department.clone(),
            staff,
            level: request.level.clone(),
            source: request.source.clone(),
            actor,
        };
        let outcome = RatingOutcome {
            ticket: ticket.id,
            label: ticket.label.clone(),
            level: request.level.clone(),
            department: ticket.department.clone(),
            repeated: false,
        };
        self.put(ticket);
        self.push(now, event);
        Ok(outcome)
    }

    /// Record an event that changes no ticket (faults, admin actions, pruning).
    pub fn record(&mut self, kind: EventKind, now: Timestamp) {
        self.push(now, kind);
    }

    /// The visible state for displays.
    pub fn snapshot(&self, config: &CenterConfig) -> Snapshot {
        let counters = config
            .counters
            .iter()
            .map(|c| CounterNow {
                counter: c.number,
                name: c.name.clone(),
                current: self.current_at(c.number).map(|t| CurrentTicket {
                    ticket: t.id,
                    label: t.label.clone(),
                    department: t.department.clone(),
                    serving: matches!(t.state, TicketState::Serving { .. }),
                    called_at_ms: t.called_at_ms.unwrap_or(t.issued_at_ms),
                    service: service_name(config, t),
                }),
                status: self.counter_status(c.number),
                officer: self.counters.get(&c.number).and_then(|r| r.officer.clone()),
                parked: self
                    .parked_at(c.number)
                    .map(|t| CurrentTicket {
                        ticket: t.id,
                        label: t.label.clone(),
                        department: t.department.clone(),
                        serving: false,
                        called_at_ms: t.called_at_ms.unwrap_or(t.issued_at_ms),
                        service: service_name(config, t),
                    })
                    .collect(),
            })
            .collect();
        let departments = config
            .departments
            .iter()
            .map(|d| {
                let Waiting {
                    all: waiting,
                    priority: priority_waiting,
                } = self.index.waiting(&d.id.0);
                DepartmentQueue {
                    department: d.id.0.clone(),
                    name: d.name.clone(),
                    waiting,
                    priority_waiting,
                    estimated_wait_secs: self.estimate(config, &d.id.0, waiting).as_secs(),
                    issued_today: self.departments.get(&d.id.0).map_or(0, |r| r.issued),
                }
            })
            .collect();
        Snapshot {
            last_seq: self.last_seq(),
            center: config.center.name.clone(),
            time_zone: config.center.timezone_name.clone(),
            service_day: self.core.service_day.map(|d| d.to_string()),
            counters,
            departments,
            last_calls: self.last_calls.iter().cloned().collect(),
            rating_levels: config
                .ratings
                .levels
                .iter()
                .map(|l| RatingLevelInfo {
                    id: l.id.clone(),
                    label: l.label.clone(),
                    color: l.color.clone(),
                })
                .collect(),
        }
    }

    /// Check the invariants that must hold between any two operations.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut at_counter = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        for (id, t) in &self.open {
            if *id != t.id || !t.state.is_open() {
                return Err(format!("open map holds {id} in state {:?}", t.state));
            }
            if let Some(c) = t.state.counter() {
                if !at_counter.insert(c) {
                    return Err(format!("counter {c} holds two tickets"));
                }
                if !self.counter_status(c).is_open() {
                    return Err(format!("counter {c} is not open but holds {id}"));
                }
            }
            if !numbers.insert((t.issued_department.clone(), t.number)) {
                return Err(format!(
                    "two open tickets share {} {}",
                    t.issued_department, t.number
                ));
            }
            if t.id.0 >= self.core.next_ticket {
                return Err(format!(
                    "ticket {id} not below next id {}",
                    self.core.next_ticket
                ));
            }
        }
        let (_, counted) = OpenIndex::of(self.open.values().cloned());
        let kept = self.index.trimmed();
        if kept != counted {
            return Err(format!(
                "the open tickets' index {kept:?} differs from the open tickets' {counted:?}"
            ));
        }
        Ok(())
    }
}

/// Refuse a reason that is not on the center's list.
fn check_reason(reason: &str, list: &[String]) -> Result<(), ActionError> {
    if list.iter().any(|r| r == reason) {
        Ok(())
    } else {
        Err(ActionError::UnknownReason {
            reason: reason.to_owned(),
            allowed: list.join(", "),
        })
    }
}

/// How "next" chose a ticket, for the priority streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Transferred to this counter.
    Direct,
    /// A priority ticket with no normal one waiting.
    PriorityAlone,
    /// A priority ticket ahead of waiting normal ones.
    PriorityOverNormal,
    /// A normal ticket.
    Normal,
}

/// Where a transfer sends a ticket.
#[derive(Debug, Clone, Copy)]
enum Destination<'a> {
    /// The queue of another department.
    Department(&'a str),
    /// One specific counter.
    Counter(u16),
}
