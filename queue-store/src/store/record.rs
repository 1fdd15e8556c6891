//! The records the store keeps on disk, as types of their own.
//!
//! The protocol's [`Ticket`], [`Event`] and [`DaySummary`] are the wire
//! format: they may gain, lose or rename fields as displays and the city hub
//! need. What sled holds must not move with them, or a renamed field would
//! turn into a data migration. So the store converts at its edge: it writes
//! [`StoredTicket`], [`StoredEvent`] and [`StoredSummary`], and reads them
//! back into the protocol types. A change of the wire types only changes the
//! conversions here; a change of these types is a new disk format: bump
//! [`FORMAT`], keep reading the old shape, and add a fixture data directory
//! to `tests/fixtures/` (see `tests/make_fixture.rs`).
//!
//! # Formats
//!
//! | format | released | what changed |
//! |---|---|---|
//! | 1 | first landing | JSON records as listed in `disk.rs`; no metadata key (a store without one is format 1) |
//!
//! The format in force is the metadata key `v` of the hot tree. A store whose
//! format is newer than [`FORMAT`] was written by a newer kiosk and is
//! refused at open, so an older binary never half-reads it.
//!
//! Beside sled's files, the data directory holds the store's journal
//! (`journal`, layout `QJ01` in [`super::journal`]; `tests/fixtures/v2-journal`
//! is a format 2 store whose last day is only in its journal). It did not
//! change the format: sled's records are the same, and the journal's mark
//! (key `j`) is new and ignored by older builds. An older build does not
//! read the journal either, so a kiosk should not be downgraded between an
//! unclean stop (a power cut, a kill) and its next start on this build,
//! which applies the journal; after a clean stop (the store checkpoints
//! when it closes) or any start sled holds everything.

use queue_protocol::{
    Actor, CounterStatus, DaySummary, DurationStats, Event, EventKind, PrintStatus, Ticket,
    TicketId, TicketRating, TicketState,
};
use serde::{Deserialize, Serialize};

/// The disk format this build writes (and the newest it reads).
///
/// - 1: the first release.
/// - 2: a ticket's phone page key, service and rating; counter status,
///   chosen calls, parked tickets, no-shows brought back and ratings as
///   events; the counter's rating receipts. Every addition is optional, so
///   format 1 stores open unchanged (`tests/fixtures/v1`); format 1 builds
///   refuse format 2 stores (`tests/fixtures/v2`).
pub const FORMAT: u32 = 2;

/// A ticket as stored (format 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTicket {
    /// Unique id.
    pub id: u64,
    /// Service day it was issued on, `YYYY-MM-DD`.
    pub service_day: String,
    /// Department it was issued for.
    pub issued_department: String,
    /// Department it waits in or was served by.
    pub department: String,
    /// Number within the issuing department's block.
    pub number: u32,
    /// Label printed.
    pub label: String,
    /// Priority class id.
    pub priority: Option<String>,
    /// Issue time, Unix ms.
    pub issued_at_ms: i64,
    /// State.
    pub state: StoredTicketState,
    /// Only this counter may call it (after a transfer to a counter).
    pub for_counter: Option<u16>,
    /// First call of the current stay, Unix ms.
    pub called_at_ms: Option<i64>,
    /// Start of service, Unix ms.
    pub serving_at_ms: Option<i64>,
    /// Closing time, Unix ms.
    pub closed_at_ms: Option<i64>,
    /// Repeated calls.
    pub recalls: u32,
    /// Transfers.
    pub transfers: u32,
    /// Print outcome.
    pub print: StoredPrintStatus,
    /// Counter that called or served it last.
    #[serde(default)]
    pub counter: Option<u16>,
    /// Who handled it last.
    #[serde(default)]
    pub served_by: Option<String>,
    /// The citizen's rating (absent before ratings existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<StoredRating>,
    /// The key of its phone page (base64url), valid on its service day
    /// only (see `store::citizen`); absent before keys existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Service (procedure) id picked on the touch screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A ticket's rating as stored.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRating {
    pub level: String,
    pub at_ms: i64,
    pub source: String,
}

/// A ticket's state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredTicketState {
    /// Waiting.
    Waiting,
    /// Called to `counter`.
    Called {
        /// The counter.
        counter: u16,
    },
    /// Being served at `counter`.
    Serving {
        /// The counter.
        counter: u16,
    },
    /// Served.
    Done,
    /// Never came.
    NoShow,
    /// Cancelled.
    Cancelled,
    /// Parked by `counter`.
    Parked {
        /// The counter.
        counter: u16,
    },
}

/// A counter's status as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredCounterStatus {
    /// Open.
    #[default]
    Open,
    /// Paused for `reason`.
    Paused {
        /// The reason.
        reason: String,
    },
    /// Closed.
    Closed,
}

/// Print outcome as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredPrintStatus {
    /// Not confirmed yet.
    Pending,
    /// Printed.
    Printed,
    /// Failed; can be reprinted.
    Failed,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Sequence number.
    pub seq: u64,
    /// Unix ms.
    pub at_ms: i64,
    /// What happened.
    pub kind: StoredEventKind,
}

/// Who acted, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredActor {
    /// A staff account.
    Staff {
        /// User name.
        name: String,
    },
    /// A counter keypad.
    Keypad {
        /// Its counter.
        counter: u16,
    },
    /// A kiosk button.
    Button,
    /// The kiosk's touch screen.
    Touch,
    /// The kiosk itself.
    System,
    /// A citizen's phone page (a new variant: older records never hold it).
    Phone,
}

/// What an event records, as stored. Field meanings are those of the
/// protocol's [`EventKind`] variant of the same name.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredEventKind {
    ServiceDayStarted {
        service_day: String,
        previous: Option<String>,
    },
    TicketIssued {
        ticket: u64,
        service_day: String,
        department: String,
        number: u32,
        label: String,
        priority: Option<String>,
        waiting_ahead: u32,
        actor: StoredActor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    Called {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        recall: bool,
        actor: StoredActor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    NoShow {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        actor: StoredActor,
    },
    ServingStarted {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        actor: StoredActor,
    },
    Finished {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        actor: StoredActor,
    },
    Transferred {
        ticket: u64,
        label: String,
        from_department: String,
        to_department: String,
        from_counter: Option<u16>,
        to_counter: Option<u16>,
        actor: StoredActor,
    },
    Cancelled {
        ticket: u64,
        label: String,
        department: String,
        reason: String,
        actor: StoredActor,
    },
    Printed {
        ticket: u64,
    },
    PrintFailed {
        ticket: u64,
        reason: String,
    },
    ClockWentBackwards {
        clock_day: String,
        kept_day: String,
    },
    Fault {
        kind: String,
        detail: String,
    },
    FaultCleared {
        kind: String,
    },
    AdminAction {
        actor: StoredActor,
        action: String,
    },
    Pruned {
        days: Vec<String>,
        oldest_kept_seq: u64,
    },
    Rated {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        staff: Option<String>,
        level: String,
        source: String,
        actor: StoredActor,
    },
    CounterStatusChanged {
        counter: u16,
        status: StoredCounterStatus,
        #[serde(default)]
        officer: Option<String>,
        actor: StoredActor,
    },
    CalledChosen {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        reason: String,
        actor: StoredActor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    Parked {
        ticket: u64,
        label: String,
        counter: u16,
        department: String,
        actor: StoredActor,
    },
    BroughtBack {
        ticket: u64,
        label: String,
        department: String,
        front: bool,
        counter: u16,
        actor: StoredActor,
    },
}

/// Duration statistics as stored, seconds.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDurations {
    pub count: u32,
    pub mean_secs: u64,
    pub p90_secs: u64,
    pub max_secs: u64,
}

/// A department's day summary as stored (kept forever).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSummary {
    pub service_day: String,
    pub department: String,
    pub issued: u32,
    pub served: u32,
    pub no_show: u32,
    pub transferred: u32,
    pub cancelled: u32,
    pub waiting: StoredDurations,
    pub service: StoredDurations,
}

impl From<&Ticket> for StoredTicket {
    fn from(t: &Ticket) -> Self {
        Self {
            id: t.id.0,
            service_day: t.service_day.clone(),
            issued_department: t.issued_department.clone(),
            department: t.department.clone(),
            number: t.number,
            label: t.label.clone(),
            priority: t.priority.clone(),
            issued_at_ms: t.issued_at_ms,
            state: t.state.into(),
            for_counter: t.for_counter,
            called_at_ms: t.called_at_ms,
            serving_at_ms: t.serving_at_ms,
            closed_at_ms: t.closed_at_ms,
            recalls: t.recalls,
            transfers: t.transfers,
            print: t.print.into(),
            counter: t.counter,
            served_by: t.served_by.clone(),
            rating: t.rating.as_ref().map(|r| StoredRating {
                level: r.level.clone(),
                at_ms: r.at_ms,
                source: r.source.clone(),
            }),
            key: None,
            service: t.service.clone(),
        }
    }
}

impl From<StoredTicket> for Ticket {
    fn from(t: StoredTicket) -> Self {
        Self {
            id: TicketId(t.id),
            service_day: t.service_day,
            issued_department: t.issued_department,
            department: t.department,
            number: t.number,
            label: t.label,
            priority: t.priority,
            issued_at_ms: t.issued_at_ms,
            state: t.state.into(),
            for_counter: t.for_counter,
            called_at_ms: t.called_at_ms,
            serving_at_ms: t.serving_at_ms,
            closed_at_ms: t.closed_at_ms,
            recalls: t.recalls,
            transfers: t.transfers,
            print: t.print.into(),
            counter: t.counter,
            served_by: t.served_by,
            rating: t.rating.map(|r| TicketRating {
                level: r.level,
                at_ms: r.at_ms,
                source: r.source,
            }),
            service: t.service,
        }
    }
}

impl From<TicketState> for StoredTicketState {
    fn from(s: TicketState) -> Self {
        match s {
            TicketState::Waiting => Self::Waiting,
            TicketState::Called { counter } => Self::Called { counter },
            TicketState::Serving { counter } => Self::Serving { counter },
            TicketState::Done => Self::Done,
            TicketState::NoShow => Self::NoShow,
            TicketState::Cancelled => Self::Cancelled,
            TicketState::Parked { counter } => Self::Parked { counter },
        }
    }
}

impl From<StoredTicketState> for TicketState {
    fn from(s: StoredTicketState) -> Self {
        match s {
            StoredTicketState::Waiting => Self::Waiting,
            StoredTicketState::Called { counter } => Self::Called { counter },
            StoredTicketState::Serving { counter } => Self::Serving { counter },
            StoredTicketState::Done => Self::Done,
            StoredTicketState::NoShow => Self::NoShow,
            StoredTicketState::Cancelled => Self::Cancelled,
            StoredTicketState::Parked { counter } => Self::Parked { counter },
        }
    }
}

impl From<PrintStatus> for StoredPrintStatus {
    fn from(p: PrintStatus) -> Self {
        match p {
            PrintStatus::Pending => Self::Pending,
            PrintStatus::Printed => Self::Printed,
            PrintStatus::Failed => Self::Failed,
        }
    }
}

impl From<StoredPrintStatus> for PrintStatus {
    fn from(p: StoredPrintStatus) -> Self {
        match p {
            StoredPrintStatus::Pending => Self::Pending,
            StoredPrintStatus::Printed => Self::Printed,
            StoredPrintStatus::Failed => Self::Failed,
        }
    }
}

impl From<CounterStatus> for StoredCounterStatus {
    fn from(s: CounterStatus) -> Self {
        match s {
            CounterStatus::Open => Self::Open,
            CounterStatus::Paused { reason } => Self::Paused { reason },
            CounterStatus::Closed => Self::Closed,
        }
    }
}

impl From<StoredCounterStatus> for CounterStatus {
    fn from(s: StoredCounterStatus) -> Self {
        match s {
            StoredCounterStatus::Open => Self::Open,
            StoredCounterStatus::Paused { reason } => Self::Paused { reason },
            StoredCounterStatus::Closed => Self::Closed,
        }
    }
}

impl From<&Actor> for StoredActor {
    fn from(a: &Actor) -> Self {
        match a {
            Actor::Staff { name } => Self::Staff { name: name.clone() },
            Actor::Keypad { counter } => Self::Keypad { counter: *counter },
            Actor::Button => Self::Button,
            Actor::Touch => Self::Touch,
            Actor::System => Self::System,
            Actor::Phone => Self::Phone,
        }
    }
}

impl From<StoredActor> for Actor {
    fn from(a: StoredActor) -> Self {
        match a {
            StoredActor::Staff { name } => Self::Staff { name },
            StoredActor::Keypad { counter } => Self::Keypad { counter },
            StoredActor::Button => Self::Button,
            StoredActor::Touch => Self::Touch,
            StoredActor::System => Self::System,
            StoredActor::Phone => Self::Phone,
        }
    }
}

impl From<&Event> for StoredEvent {
    fn from(e: &Event) -> Self {
        Self {
            seq: e.seq,
            at_ms: e.at_ms,
            kind: (&e.kind).into(),
        }
    }
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Self {
        Self {
            seq: e.seq,
            at_ms: e.at_ms,
            kind: e.kind.into(),
        }
    }
}

impl From<&EventKind> for StoredEventKind {
    fn from(kind: &EventKind) -> Self {
        use EventKind as K;
        match kind.clone() {
            K::ServiceDayStarted {
                service_day,
                previous,
            } => Self::ServiceDayStarted {
                service_day,
                previous,
            },
            K::TicketIssued {
                ticket,
                service_day,
                department,
                number,
                label,
                priority,
                waiting_ahead,
                actor,
                service,
            } => Self::TicketIssued {
                ticket: ticket.0,
                service_day,
                department,
                number,
                label,
                priority,
                waiting_ahead,
                actor: (&actor).into(),
                service,
            },
            K::Called {
                ticket,
                label,
                counter,
                department,
                recall,
                actor,
                service,
            } => Self::Called {
                ticket: ticket.0,
                label,
                counter,
                department,
                recall,
                actor: (&actor).into(),
                service,
            },
            K::NoShow {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::NoShow {
                ticket: ticket.0,
                label,
                counter,
                department,
                actor: (&actor).into(),
            },
            K::ServingStarted {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::ServingStarted {
                ticket: ticket.0,
                label,
                counter,
                department,
                actor: (&actor).into(),
            },
            K::Finished {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::Finished {
                ticket: ticket.0,
                label,
                counter,
                department,
                actor: (&actor).into(),
            },
            K::Transferred {
                ticket,
                label,
                from_department,
                to_department,
                from_counter,
                to_counter,
                actor,
            } => Self::Transferred {
                ticket: ticket.0,
                label,
                from_department,
                to_department,
                from_counter,
                to_counter,
                actor: (&actor).into(),
            },
            K::Cancelled {
                ticket,
                label,
                department,
                reason,
                actor,
            } => Self::Cancelled {
                ticket: ticket.0,
                label,
                department,
                reason,
                actor: (&actor).into(),
            },
            K::Printed { ticket } => Self::Printed { ticket: ticket.0 },
            K::PrintFailed { ticket, reason } => Self::PrintFailed {
                ticket: ticket.0,
                reason,
            },
            K::ClockWentBackwards {
                clock_day,
                kept_day,
            } => Self::ClockWentBackwards {
                clock_day,
                kept_day,
            },
            K::Fault { kind, detail } => Self::Fault { kind, detail },
            K::FaultCleared { kind } => Self::FaultCleared { kind },
            K::AdminAction { actor, action } => Self::AdminAction {
                actor: (&actor).into(),
                action,
            },
            K::Pruned {
                days,
                oldest_kept_seq,
            } => Self::Pruned {
                days,
                oldest_kept_seq,
            },
            K::Rated {
                ticket,
                label,
                counter,
                department,
                staff,
                level,
                source,
                actor,
            } => Self::Rated {
                ticket: ticket.0,
                label,
                counter,
                department,
                staff,
                level,
                source,
                actor: (&actor).into(),
            },
            K::CounterStatusChanged {
                counter,
                status,
                officer,
                actor,
            } => Self::CounterStatusChanged {
                counter,
                status: status.into(),
                officer,
                actor: (&actor).into(),
            },
            K::CalledChosen {
                ticket,
                label,
                counter,
                department,
                reason,
                actor,
                service,
            } => Self::CalledChosen {
                ticket: ticket.0,
                label,
                counter,
                department,
                reason,
                actor: (&actor).into(),
                service,
            },
            K::Parked {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::Parked {
                ticket: ticket.0,
                label,
                counter,
                department,
                actor: (&actor).into(),
            },
            K::BroughtBack {
                ticket,
                label,
                department,
                front,
                counter,
                actor,
            } => Self::BroughtBack {
                ticket: ticket.0,
                label,
                department,
                front,
                counter,
                actor: (&actor).into(),
            },
        }
    }
}

impl From<StoredEventKind> for EventKind {
    fn from(kind: StoredEventKind) -> Self {
        use StoredEventKind as S;
        match kind {
            S::ServiceDayStarted {
                service_day,
                previous,
            } => Self::ServiceDayStarted {
                service_day,
                previous,
            },
            S::TicketIssued {
                ticket,
                service_day,
                department,
                number,
                label,
                priority,
                waiting_ahead,
                actor,
                service,
            } => Self::TicketIssued {
                ticket: TicketId(ticket),
                service_day,
                department,
                number,
                label,
                priority,
                waiting_ahead,
                actor: actor.into(),
                service,
            },
            S::Called {
                ticket,
                label,
                counter,
                department,
                recall,
                actor,
                service,
            } => Self::Called {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                recall,
                actor: actor.into(),
                service,
            },
            S::NoShow {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::NoShow {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                actor: actor.into(),
            },
            S::ServingStarted {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::ServingStarted {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                actor: actor.into(),
            },
            S::Finished {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::Finished {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                actor: actor.into(),
            },
            S::Transferred {
                ticket,
                label,
                from_department,
                to_department,
                from_counter,
                to_counter,
                actor,
            } => Self::Transferred {
                ticket: TicketId(ticket),
                label,
                from_department,
                to_department,
                from_counter,
                to_counter,
                actor: actor.into(),
            },
            S::Cancelled {
                ticket,
                label,
                department,
                reason,
                actor,
            } => Self::Cancelled {
                ticket: TicketId(ticket),
                label,
                department,
                reason,
                actor: actor.into(),
            },
            S::Printed { ticket } => Self::Printed {
                ticket: TicketId(ticket),
            },
            S::PrintFailed { ticket, reason } => Self::PrintFailed {
                ticket: TicketId(ticket),
                reason,
            },
            S::ClockWentBackwards {
                clock_day,
                kept_day,
            } => Self::ClockWentBackwards {
                clock_day,
                kept_day,
            },
            S::Fault { kind, detail } => Self::Fault { kind, detail },
            S::FaultCleared { kind } => Self::FaultCleared { kind },
            S::AdminAction { actor, action } => Self::AdminAction {
                actor: actor.into(),
                action,
            },
            S::Pruned {
                days,
                oldest_kept_seq,
            } => Self::Pruned {
                days,
                oldest_kept_seq,
            },
            S::Rated {
                ticket,
                label,
                counter,
                department,
                staff,
                level,
                source,
                actor,
            } => Self::Rated {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                staff,
                level,
                source,
                actor: actor.into(),
            },
            S::CounterStatusChanged {
                counter,
                status,
                officer,
                actor,
            } => Self::CounterStatusChanged {
                counter,
                status: status.into(),
                officer,
                actor: actor.into(),
            },
            S::CalledChosen {
                ticket,
                label,
                counter,
                department,
                reason,
                actor,
                service,
            } => Self::CalledChosen {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                reason,
                actor: actor.into(),
                service,
            },
            S::Parked {
                ticket,
                label,
                counter,
                department,
                actor,
            } => Self::Parked {
                ticket: TicketId(ticket),
                label,
                counter,
                department,
                actor: actor.into(),
            },
            S::BroughtBack {
                ticket,
                label,
                department,
                front,
                counter,
                actor,
            } => Self::BroughtBack {
                ticket: TicketId(ticket),
                label,
                department,
                front,
                counter,
                actor: actor.into(),
            },
        }
    }
}

impl From<&DurationStats> for StoredDurations {
    fn from(d: &DurationStats) -> Self {
        Self {
            count: d.count,
            mean_secs: d.mean_secs,
            p90_secs: d.p90_secs,
            max_secs: d.max_secs,
        }
    }
}

impl From<StoredDurations> for DurationStats {
    fn from(d: StoredDurations) -> Self {
        Self {
            count: d.count,
            mean_secs: d.mean_secs,
            p90_secs: d.p90_secs,
            max_secs: d.max_secs,
        }
    }
}

impl From<&DaySummary> for StoredSummary {
    fn from(s: &DaySummary) -> Self {
        Self {
            service_day: s.service_day.clone(),
            department: s.department.clone(),
            issued: s.issued,
            served: s.served,
            no_show: s.no_show,
            transferred: s.transferred,
            cancelled: s.cancelled,
            waiting: (&s.waiting).into(),
            service: (&s.service).into(),
        }
    }
}

impl From<StoredSummary> for DaySummary {
    fn from(s: StoredSummary) -> Self {
        Self {
            service_day: s.service_day,
            department: s.department,
            issued: s.issued,
            served: s.served,
            no_show: s.no_show,
            transferred: s.transferred,
            cancelled: s.cancelled,
            waiting: s.waiting.into(),
            service: s.service.into(),
        }
    }
}
