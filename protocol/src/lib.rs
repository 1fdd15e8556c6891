//! The types that cross the LAN between the kiosk and the display daemons
//! (`queue-protocol`).
//!
//! This crate owns the wire shape of the queue: the [`Event`] log that the
//! kiosk's store appends to (and streams as server-sent events), the
//! [`Snapshot`] a new client starts from, the [`Ticket`] record and the
//! per-day [`DaySummary`] kept after retention removes old days. It does no
//! I/O and knows nothing about sled, HTTP or configuration files: the kiosk
//! produces these values, the display daemon and reports consume them.
//!
//! Conventions: times are Unix milliseconds (`*_ms`, UTC); a service day is
//! the local date `YYYY-MM-DD` in the center's time zone; departments are
//! their config id (`ho-tich`); counters are their number. Enums are
//! serialized with a `"type"` tag in `snake_case`.

use serde::{Deserialize, Serialize};

/// Unique identifier of a ticket, never reused (not across days, not after
/// retention removed old tickets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub u64);

impl std::fmt::Display for TicketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One change of the queue, as stored in the log and streamed to displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Sequence number: strictly increasing by one, starting at 1, never
    /// reused. It is the SSE `id:`.
    pub seq: u64,
    /// When the kiosk recorded the change, Unix milliseconds (the kiosk's
    /// clock, which may be wrong right after boot on a Pi without RTC).
    pub at_ms: i64,
    /// What happened.
    pub kind: EventKind,
}

/// Who performed an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A logged-in staff member or admin, by user name.
    Staff {
        /// The account's user name.
        name: String,
    },
    /// The keypad of a counter (through a display daemon).
    Keypad {
        /// The counter the keypad belongs to.
        counter: u16,
    },
    /// A citizen pressing a button on the kiosk.
    Button,
    /// A citizen on the kiosk's touch screen (`/touch`).
    Touch,
    /// A citizen on the ticket's phone page (`/t/{key}` on the public
    /// listener): only ever acts on that one ticket.
    Phone,
    /// The kiosk itself (day rollover, retention, faults).
    System,
}

/// Why a change happened: every variant is one kind of event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A new service day began; numbers restart from each block's first.
    ServiceDayStarted {
        /// The new service day, `YYYY-MM-DD`.
        service_day: String,
        /// The previous service day, if any.
        previous: Option<String>,
    },
    /// A ticket was issued (before it is printed).
    TicketIssued {
        /// The new ticket.
        ticket: TicketId,
        /// Its service day.
        service_day: String,
        /// Its department.
        department: String,
        /// Its number within the department's block.
        number: u32,
        /// The label printed and shown (`1005`, `A005`).
        label: String,
        /// The priority class id, for a priority ticket.
        priority: Option<String>,
        /// People waiting ahead of it when it was issued.
        waiting_ahead: u32,
        /// Who asked for it.
        actor: Actor,
        /// The department's service (procedure) id picked on the touch
        /// screen; absent for a button press and from older kiosks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// A ticket was called to a counter (`recall` when called again).
    Called {
        /// The ticket called.
        ticket: TicketId,
        /// Its label, for the board and the voice.
        label: String,
        /// The counter the citizen should go to.
        counter: u16,
        /// The ticket's department.
        department: String,
        /// `false` for the first call, `true` for a repeat of the same call.
        recall: bool,
        /// Who pressed "next" or "recall".
        actor: Actor,
        /// The Vietnamese name of the ticket's service (procedure), shown
        /// under the number on the boards; absent for a ticket without a
        /// service and from older kiosks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// The called citizen did not come; the ticket is closed.
    NoShow {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter that had called it.
        counter: u16,
        /// Its department.
        department: String,
        /// Who skipped it.
        actor: Actor,
    },
    /// The citizen arrived at the counter and service began.
    ServingStarted {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter serving it.
        counter: u16,
        /// Its department.
        department: String,
        /// Who started it.
        actor: Actor,
    },
    /// Service ended; the ticket is done.
    Finished {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter that served it.
        counter: u16,
        /// Its department.
        department: String,
        /// Who finished it (`System` when "next" closed it implicitly).
        actor: Actor,
    },
    /// The ticket was sent to another department or counter; it waits again,
    /// keeping its place by original issue time.
    Transferred {
        /// The ticket.
        ticket: TicketId,
        /// Its label (unchanged).
        label: String,
        /// The department it belonged to.
        from_department: String,
        /// The department it now waits in.
        to_department: String,
        /// The counter that transferred it, if any.
        from_counter: Option<u16>,
        /// The only counter that may call it now, for a transfer to a counter.
        to_counter: Option<u16>,
        /// Who transferred it.
        actor: Actor,
    },
    /// The ticket was cancelled (by staff, or by the kiosk when its service
    /// day ended before it was served).
    Cancelled {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// Its department.
        department: String,
        /// Why, in English for technicians ("service day ended").
        reason: String,
        /// Who cancelled it.
        actor: Actor,
    },
    /// The ticket was printed completely.
    Printed {
        /// The ticket.
        ticket: TicketId,
    },
    /// Printing failed after the number was issued; the ticket can be reprinted.
    PrintFailed {
        /// The ticket.
        ticket: TicketId,
        /// What the printer or transport reported.
        reason: String,
    },
    /// The clock maps to an earlier service day than one already used; the
    /// kiosk keeps the later day and continues its numbering.
    ClockWentBackwards {
        /// The service day the clock now maps to.
        clock_day: String,
        /// The service day kept.
        kept_day: String,
    },
    /// A fault outside the queue itself (printer, disk, network).
    Fault {
        /// Short machine-readable kind ("printer_paper_out").
        kind: String,
        /// English detail for technicians.
        detail: String,
    },
    /// A fault reported earlier is gone.
    FaultCleared {
        /// The kind given when it was reported.
        kind: String,
    },
    /// An administrative change (config reload, user added, …).
    AdminAction {
        /// Who did it.
        actor: Actor,
        /// What, in English.
        action: String,
    },
    /// A citizen rated the service of a ticket at a counter (one rating per
    /// ticket, attached to the counter's ticket being served or just
    /// finished; see the store's attach rule).
    Rated {
        /// The ticket rated.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter that served it.
        counter: u16,
        /// Its department.
        department: String,
        /// The staff account that served it; `None` when only a keypad did.
        staff: Option<String>,
        /// The level id (`very_satisfied`, `satisfied`, `neutral`,
        /// `unsatisfied`).
        level: String,
        /// Where the citizen rated: `counter_button`, `counter_touch` or
        /// `phone`.
        source: String,
        /// Who sent it (the counter's keypad token for counter devices).
        actor: Actor,
    },
    /// A counter opened, paused (with a reason from the center's list) or
    /// closed. A paused or closed counter calls nobody and receives no
    /// transfers; displays show "Quầy 3 tạm dừng".
    CounterStatusChanged {
        /// The counter.
        counter: u16,
        /// Its new status.
        status: CounterStatus,
        /// Display name of the officer now at the counter (from the staff
        /// account), for the counter display and the hall board tile; none
        /// when the account has none or the counter closed.
        #[serde(default)]
        officer: Option<String>,
        /// Who changed it.
        actor: Actor,
    },
    /// A chosen ticket was called out of order (not the one "next" would
    /// call), for a reason from the center's list. Displays treat it as a
    /// first call.
    CalledChosen {
        /// The ticket called.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter the citizen should go to.
        counter: u16,
        /// The ticket's department.
        department: String,
        /// Why it was called out of order (Vietnamese, from the list).
        reason: String,
        /// Who called it.
        actor: Actor,
        /// The Vietnamese name of the ticket's service (procedure), shown
        /// under the number on the boards; absent for a ticket without a
        /// service and from older kiosks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// The ticket being served was parked: the citizen stepped away (to
    /// fetch a paper); it waits in the counter's parked list and comes back
    /// with one action (a `Called` with `recall = true`).
    Parked {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The counter that parked it.
        counter: u16,
        /// Its department.
        department: String,
        /// Who parked it.
        actor: Actor,
    },
    /// A no-show came back the same day and waits again.
    BroughtBack {
        /// The ticket.
        ticket: TicketId,
        /// Its label.
        label: String,
        /// The department it waits in.
        department: String,
        /// `true`: at the front of the queue; `false`: in issue order.
        front: bool,
        /// The counter whose staff brought it back.
        counter: u16,
        /// Who brought it back.
        actor: Actor,
    },
    /// Retention ran: service days older than the retention were removed
    /// (their summaries stay) and/or events older than the kiosk's event
    /// window (the last two service days) left the log.
    Pruned {
        /// Service days removed (empty when only events were pruned).
        days: Vec<String>,
        /// Events before this sequence number are gone from the log.
        oldest_kept_seq: u64,
    },
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TicketState {
    /// In the queue of its department (or of one counter after a transfer).
    Waiting,
    /// Called to a counter; the citizen is on the way.
    Called {
        /// The counter that called it.
        counter: u16,
    },
    /// Being served at a counter.
    Serving {
        /// The counter serving it.
        counter: u16,
    },
    /// Served and finished.
    Done,
    /// Called but the citizen never came.
    NoShow,
    /// Cancelled before being served.
    Cancelled,
    /// Parked by a counter while the citizen stepped away; the counter is
    /// free for others meanwhile.
    Parked {
        /// The counter that parked it and will recall it.
        counter: u16,
    },
}

/// Whether a counter takes citizens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CounterStatus {
    /// Working: calls and receives transfers.
    #[default]
    Open,
    /// Temporarily not calling, for a reason from the center's list.
    Paused {
        /// The reason, Vietnamese ("Nghỉ giải lao").
        reason: String,
    },
    /// Closed for the rest of the day (or until opened again).
    Closed,
}

impl CounterStatus {
    /// Whether the counter may call tickets and receive transfers.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }

    /// Short English name for logs, metrics and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paused { .. } => "paused",
            Self::Closed => "closed",
        }
    }
}

impl TicketState {
    /// Whether the ticket can still change (waiting, called, serving or
    /// parked).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Waiting | Self::Called { .. } | Self::Serving { .. } | Self::Parked { .. }
        )
    }

    /// The counter holding the ticket, while called or serving.
    pub fn counter(self) -> Option<u16> {
        match self {
            Self::Called { counter } | Self::Serving { counter } => Some(counter),
            _ => None,
        }
    }
}

/// Whether the paper ticket reached the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintStatus {
    /// Issued; printing not confirmed yet.
    Pending,
    /// Printed completely.
    Printed,
    /// Printing failed; it can be reprinted.
    Failed,
}

/// A ticket as stored by the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Unique id.
    pub id: TicketId,
    /// Service day it was issued on, `YYYY-MM-DD`.
    pub service_day: String,
    /// Department it was issued for.
    pub issued_department: String,
    /// Department it waits in or is served by now (differs after a transfer).
    pub department: String,
    /// Number within the issuing department's block.
    pub number: u32,
    /// Label printed and shown.
    pub label: String,
    /// Priority class id, for a priority ticket.
    pub priority: Option<String>,
    /// Issue time, Unix ms; the queue order (kept across transfers).
    pub issued_at_ms: i64,
    /// Current state.
    pub state: TicketState,
    /// After a transfer to a counter, only this counter may call it.
    pub for_counter: Option<u16>,
    /// First call time of the current stay at a counter, Unix ms.
    pub called_at_ms: Option<i64>,
    /// When service began, Unix ms.
    pub serving_at_ms: Option<i64>,
    /// When the ticket was closed (done, no-show, cancelled), Unix ms.
    pub closed_at_ms: Option<i64>,
    /// How many times it was called again.
    pub recalls: u32,
    /// How many times it was transferred.
    pub transfers: u32,
    /// Print outcome.
    pub print: PrintStatus,
    /// The counter that called or served it last (none while never called).
    /// Kept in packed past days so reports by counter work without events.
    #[serde(default)]
    pub counter: Option<u16>,
    /// Who called, started or finished its service last: the staff
    /// account's user name, or `keypad-<counter>` for a counter keypad.
    #[serde(default)]
    pub served_by: Option<String>,
    /// The citizen's rating of its service, once rated (kept in packed days
    /// so reports count it). Staff never see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<TicketRating>,
    /// The department's service (procedure) id picked on the touch screen
    /// (`khai-sinh`); absent for a button press and from older kiosks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A citizen's rating of a ticket's service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRating {
    /// The level id.
    pub level: String,
    /// When it was given, Unix ms.
    pub at_ms: i64,
    /// `counter_button`, `counter_touch` or `phone`.
    pub source: String,
}

/// Where a rating was given, as written in [`EventKind::Rated`].
pub const RATING_SOURCES: [&str; 3] = ["counter_button", "counter_touch", "phone"];

/// Body of `POST /api/v1/counters/{n}/rate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    /// The level id chosen.
    pub level: String,
    /// One of [`RATING_SOURCES`].
    pub source: String,
    /// The ticket the device shows, if it knows one: the rating is refused
    /// unless that is the ticket it would attach to.
    #[serde(default)]
    pub ticket: Option<TicketId>,
    /// Idempotency key chosen by the device for this press: a retry with
    /// the same key after a lost answer gets the first answer again and is
    /// never counted twice.
    #[serde(default)]
    pub key: Option<String>,
}

/// Answer of an accepted rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateAccepted {
    /// The ticket the rating attached to.
    pub ticket: TicketId,
    /// Its label.
    pub label: String,
    /// The level recorded.
    pub level: String,
    /// `true` when this was a retry of a rating already recorded (same key).
    #[serde(default)]
    pub repeated: bool,
}

/// Answer of a refused rating (HTTP 409 or 422): what to show the citizen
/// and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRefused {
    /// Machine-readable reason: `already_rated`, `no_ticket`,
    /// `other_counter`, `too_late`, `next_called`, `unknown_level`,
    /// `bad_source`.
    pub reason: String,
    /// Vietnamese, for the citizen.
    pub message_vi: String,
    /// English, for technicians.
    pub error: String,
}

/// A call shown on displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// The ticket called.
    pub ticket: TicketId,
    /// Its label.
    pub label: String,
    /// The counter it was called to.
    pub counter: u16,
    /// Its department.
    pub department: String,
    /// When it was called (or recalled), Unix ms.
    pub at_ms: i64,
    /// Whether this was a repeated call.
    pub recall: bool,
    /// The Vietnamese name of its service (procedure), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// What a counter is doing now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterNow {
    /// Counter number.
    pub counter: u16,
    /// Its name as configured ("Quầy 3 – Đất đai").
    #[serde(default)]
    pub name: String,
    /// The ticket called or being served there, if any.
    pub current: Option<CurrentTicket>,
    /// Open, paused (with its reason) or closed; open from an older kiosk.
    /// Left out of the JSON while open, like the two below when empty, so
    /// a snapshot without counter work reads as before.
    #[serde(default, skip_serializing_if = "CounterStatus::is_open")]
    pub status: CounterStatus,
    /// Display name of the officer at the counter, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<String>,
    /// Tickets parked by this counter, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parked: Vec<CurrentTicket>,
}

/// The ticket at a counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentTicket {
    /// The ticket.
    pub ticket: TicketId,
    /// Its label.
    pub label: String,
    /// Its department.
    pub department: String,
    /// `true` once service started, `false` while only called.
    pub serving: bool,
    /// When it was called, Unix ms.
    pub called_at_ms: i64,
    /// The Vietnamese name of its service (procedure), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The queue of one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentQueue {
    /// Department id.
    pub department: String,
    /// Its Vietnamese name, for displays.
    #[serde(default)]
    pub name: String,
    /// Tickets waiting (all classes).
    pub waiting: u32,
    /// Of which priority tickets.
    pub priority_waiting: u32,
    /// Estimated wait of a ticket issued now, seconds.
    pub estimated_wait_secs: u64,
    /// Tickets issued this service day.
    pub issued_today: u32,
}

/// The whole visible state, for a client that starts or lost events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Sequence number of the last event included; stream from here.
    pub last_seq: u64,
    /// The center's name, for the top of displays.
    #[serde(default)]
    pub center: String,
    /// The center's IANA time zone (`Asia/Ho_Chi_Minh`): displays show the
    /// clock and date of the center, whatever their own machine's zone.
    /// Empty from a kiosk older than this field (the display then uses its
    /// own zone).
    #[serde(default)]
    pub time_zone: String,
    /// The current service day, once one was started.
    pub service_day: Option<String>,
    /// Every configured counter, in config order.
    pub counters: Vec<CounterNow>,
    /// Every configured department, in config order.
    pub departments: Vec<DepartmentQueue>,
    /// Most recent calls, newest first.
    pub last_calls: Vec<CallInfo>,
    /// The center's rating levels, best first, for the counter displays'
    /// rating page. Empty from a kiosk older than ratings.
    #[serde(default)]
    pub rating_levels: Vec<RatingLevelInfo>,
}

/// A rating level as counter devices show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingLevelInfo {
    /// Its id (`very_satisfied`).
    pub id: String,
    /// Vietnamese label.
    pub label: String,
    /// Colour, `#rrggbb`.
    pub color: String,
}

/// Statistics of a duration, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationStats {
    /// How many samples.
    pub count: u32,
    /// Mean, seconds.
    pub mean_secs: u64,
    /// 90th percentile, seconds.
    pub p90_secs: u64,
    /// Longest, seconds.
    pub max_secs: u64,
}

/// What happened in one department on one service day; kept after retention
/// removed that day's tickets and events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    /// Service day, `YYYY-MM-DD`.
    pub service_day: String,
    /// Department id (the issuing department).
    pub department: String,
    /// Tickets issued.
    pub issued: u32,
    /// Tickets served to the end.
    pub served: u32,
    /// Tickets skipped as no-show.
    pub no_show: u32,
    /// Tickets transferred at least once.
    pub transferred: u32,
    /// Tickets cancelled (including those left when the day ended).
    pub cancelled: u32,
    /// Time from issue to first call.
    pub waiting: DurationStats,
    /// Time from start of service to finish.
    pub service: DurationStats,
}

/// What a citizen's phone page (`/t/{key}` on the kiosk's public listener)
/// knows about one ticket: that ticket only, never another citizen's
/// number, department or position beyond the count ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPage {
    /// The printed number ("1005").
    pub label: String,
    /// The name of the department it waits in or was served by now.
    pub department: String,
    /// Where the ticket is.
    pub status: TicketPageStatus,
    /// The counter it was called to or is served at (`called`, `serving`).
    #[serde(default)]
    pub counter: Option<u16>,
    /// People who will be called before it (`waiting` only).
    #[serde(default)]
    pub ahead: Option<u32>,
    /// The estimated wait (`waiting` only).
    #[serde(default)]
    pub wait: Option<WaitEstimate>,
    /// It was transferred from the department it was issued for.
    #[serde(default)]
    pub transferred: bool,
    /// How many times it was called again.
    #[serde(default)]
    pub recalls: u32,
    /// The citizen can rate its service from the phone now: it is being
    /// served, or it was finished within the rating window and its counter
    /// has not called the next number (the store's attach rule), and it is
    /// not rated yet.
    #[serde(default)]
    pub rateable: bool,
    /// The level id it was rated with, once rated (from any device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated: Option<String>,
}

/// A [`TicketPage`]'s status, `snake_case` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPageStatus {
    /// Waiting to be called.
    Waiting,
    /// Called to a counter.
    Called,
    /// Being served at a counter.
    Serving,
    /// Parked by its counter while the citizen stepped away; the counter
    /// calls it back.
    Parked,
    /// Served.
    Done,
    /// Called and did not come (the counter may still bring it back the
    /// same day, so this is not final).
    NoShow,
    /// Cancelled by staff.
    Cancelled,
    /// Still open when its service day ended.
    DayEnded,
}

impl TicketPageStatus {
    /// Whether nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled | Self::DayEnded)
    }
}

/// How long a waiting ticket is likely to wait, from the day's real service
/// times (see `queue_store::wait` for the method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaitEstimate {
    /// Too few services finished today at the counters concerned.
    NotEnoughData,
    /// No counter serving the department is open.
    NoCounterOpen,
    /// About this long.
    About {
        /// Seconds.
        secs: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_is_tagged_snake_case() {
        let event = Event {
            seq: 7,
            at_ms: 1_700_000_000_000,
            kind: EventKind::Called {
                ticket: TicketId(42),
                label: "A005".into(),
                counter: 3,
                department: "ho-tich".into(),
                recall: false,
                actor: Actor::Keypad { counter: 3 },
                service: None,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["seq"], 7);
        assert_eq!(json["kind"]["type"], "called");
        assert_eq!(json["kind"]["ticket"], 42);
        assert_eq!(json["kind"]["actor"]["type"], "keypad");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn a_snapshot_from_an_older_kiosk_still_parses() {
        // What a kiosk sent before `center`, counter names and `time_zone`.
        let old = r#"{"last_seq": 4, "service_day": "2026-12-01",
            "counters": [{"counter": 1, "current": null}],
            "departments": [{"department": "ho-tich", "waiting": 2,
                "priority_waiting": 0, "estimated_wait_secs": 60, "issued_today": 2}],
            "last_calls": []}"#;
        let snapshot: Snapshot = serde_json::from_str(old).unwrap();
        assert_eq!(snapshot.last_seq, 4);
        assert_eq!(snapshot.time_zone, "");
        assert_eq!(snapshot.center, "");
    }

    #[test]
    fn a_call_carries_its_service_name_and_older_calls_still_parse() {
        // A call from a kiosk older than services on the boards.
        let old = r#"{"type": "called", "ticket": 5, "label": "1005", "counter": 2,
            "department": "ho-tich", "recall": false,
            "actor": {"type": "keypad", "counter": 2}}"#;
        let kind: EventKind = serde_json::from_str(old).unwrap();
        assert!(matches!(kind, EventKind::Called { service: None, .. }));
        let call = r#"{"ticket": 5, "label": "1005", "counter": 2,
            "department": "ho-tich", "at_ms": 0, "recall": false}"#;
        assert_eq!(
            serde_json::from_str::<CallInfo>(call).unwrap().service,
            None
        );

        let kind = EventKind::CalledChosen {
            ticket: TicketId(5),
            label: "1005".into(),
            counter: 2,
            department: "ho-tich".into(),
            reason: "Người khuyết tật".into(),
            actor: Actor::Keypad { counter: 2 },
            service: Some("Khai sinh".into()),
        };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["service"], "Khai sinh");
        assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
        let none = EventKind::CalledChosen {
            ticket: TicketId(5),
            label: "1005".into(),
            counter: 2,
            department: "ho-tich".into(),
            reason: "Người khuyết tật".into(),
            actor: Actor::Keypad { counter: 2 },
            service: None,
        };
        // No `service` key at all, so an older display reads it as before.
        assert!(serde_json::to_value(&none)
            .unwrap()
            .get("service")
            .is_none());
    }

    #[test]
    fn rated_event_has_the_agreed_shape() {
        let kind = EventKind::Rated {
            ticket: TicketId(9),
            label: "1005".into(),
            counter: 3,
            department: "ho-tich".into(),
            staff: None,
            level: "very_satisfied".into(),
            source: "counter_button".into(),
            actor: Actor::Keypad { counter: 3 },
        };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["type"], "rated");
        assert_eq!(json["label"], "1005");
        assert_eq!(json["staff"], serde_json::Value::Null);
        assert_eq!(json["level"], "very_satisfied");
        assert_eq!(json["source"], "counter_button");
        assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
    }

    #[test]
    fn a_ticket_without_rating_field_still_parses() {
        let old = r#"{"id": 1, "service_day": "2026-12-01", "issued_department": "a",
            "department": "a", "number": 1, "label": "001", "priority": null,
            "issued_at_ms": 0, "state": {"type": "done"}, "for_counter": null,
            "called_at_ms": null, "serving_at_ms": null, "closed_at_ms": null,
            "recalls": 0, "transfers": 0, "print": "printed"}"#;
        let ticket: Ticket = serde_json::from_str(old).unwrap();
        assert_eq!(ticket.rating, None);
    }

    #[test]
    fn ticket_state_helpers() {
        assert!(TicketState::Waiting.is_open());
        assert!(!TicketState::Done.is_open());
        assert_eq!(TicketState::Serving { counter: 2 }.counter(), Some(2));
        assert_eq!(TicketState::NoShow.counter(), None);
    }
}
