//! The display's own picture of the queue, kept from the kiosk's stream.
//!
//! This module owns the pure reducer: [`BoardState::apply_snapshot`] and
//! [`BoardState::apply`] turn the kiosk's snapshot and events into what the
//! screens show (the current number of each counter, the last calls, the
//! waiting count of each department, the link status) and into [`Effect`]s
//! for the outputs (announce a call, update a counter's LED board). It does
//! no I/O and reads no clock: the link says when it is connected and whether
//! an event is live ([`Delivery`]), the daemon acts on the effects.
//!
//! # Rules
//!
//! - **Exactly once.** Every event carries the kiosk's sequence number; an
//!   event whose `seq` is not above the last one applied is ignored, so an
//!   event replayed after a reconnect (or sent twice) changes nothing and is
//!   never announced twice. A snapshot sets the last sequence number to its
//!   own `last_seq`.
//! - **Live or replayed.** A call is announced only when it is *live*: the
//!   daemon learnt of it within [`ANNOUNCE_MAX_AGE_MS`] of the kiosk recording
//!   it, by the kiosk's own clock ([`classify`]; the link estimates the
//!   kiosk's clock from the HTTP `Date` header of each connection, so a Pi
//!   without a battery-backed clock does not matter). Calls that happened
//!   during a longer outage are shown when the link catches up but not said
//!   aloud: the citizen was called long ago. A short glitch (the kiosk
//!   restarting) loses no announcement. Nothing in a snapshot is announced.
//! - **Recall.** A recall (`Called` with `recall: true`) is announced again,
//!   moves to the top of the last calls and is highlighted again.
//! - **Counter work.** A counter's status (open, paused with a reason,
//!   closed) and its officer's display name come from the snapshot and from
//!   `CounterStatusChanged`; a call out of order (`CalledChosen`) is shown
//!   and announced like any first call; a parked ticket leaves its counter
//!   and comes back as a recall; a no-show brought back waits again.
//! - **Convergence.** Waiting counts are kept from events (issued +1, first
//!   call −1, transfer and cancel as the ticket's place says) and may drift
//!   if the kiosk's rules change; every snapshot (after each gap in the log,
//!   and on every fresh start) replaces them with the kiosk's figures.

use std::collections::BTreeMap;

use queue_protocol::{
    CallInfo, CounterStatus, CurrentTicket, Event, EventKind, Snapshot, TicketId,
};
use serde::Serialize;

/// How many recent calls are kept (newest first).
pub const LAST_CALLS: usize = 10;

/// A call learnt of later than this after it was made (milliseconds, by the
/// kiosk's clock) is shown but not announced.
pub const ANNOUNCE_MAX_AGE_MS: i64 = 30_000;

/// Whether an event arrived while it was still news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// It just happened: calls are announced.
    Live,
    /// It is old news caught up after an outage: shown, not announced.
    Replayed,
}

/// Classifies an event recorded at `at_ms` by the kiosk, given the kiosk's
/// current time `kiosk_now_ms` as estimated by the link.
pub fn classify(at_ms: i64, kiosk_now_ms: i64) -> Delivery {
    if kiosk_now_ms.saturating_sub(at_ms) <= ANNOUNCE_MAX_AGE_MS {
        Delivery::Live
    } else {
        Delivery::Replayed
    }
}

/// What the outputs should do after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Say the call aloud.
    Announce {
        /// Ticket label, e.g. `1005`.
        label: String,
        /// Counter the citizen is called to.
        counter: u16,
    },
    /// A counter's current number changed (for LED boards and the terminal).
    CounterChanged {
        /// The counter.
        counter: u16,
        /// Its new number; `None` when it has none.
        label: Option<String>,
    },
}

/// The state of the link to the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LinkStatus {
    /// Never connected yet since the daemon started.
    Connecting,
    /// Receiving the kiosk's stream.
    Connected,
    /// The kiosk is unreachable ("mất kết nối") since this time (local Unix ms).
    Lost {
        /// When the link was lost, Unix ms by the display's clock.
        since_ms: i64,
    },
}

/// The waiting count of one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentWaiting {
    /// Department id, as in the kiosk's config.
    pub department: String,
    /// Its Vietnamese name (the id until a snapshot told the name).
    pub name: String,
    /// Tickets waiting.
    pub waiting: u32,
}

/// The answer to the last keypad action, shown at the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeypadFeedback {
    /// The action, e.g. `next`.
    pub action: String,
    /// Whether the kiosk accepted it.
    pub ok: bool,
    /// Citizen-facing text for the counter display (Vietnamese).
    pub message: String,
    /// When the answer came, Unix ms by the display's clock.
    pub at_ms: i64,
}

/// Everything a display shows; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardState {
    /// Sequence number of the last event applied (or of the snapshot).
    pub last_seq: u64,
    /// The center's name, from the snapshot.
    pub center: String,
    /// The center's IANA time zone, from the snapshot; empty until one
    /// came (or from an older kiosk): the pages then use the machine's zone.
    pub time_zone: String,
    /// The current service day, once known.
    pub service_day: Option<String>,
    /// Each counter known (from the snapshot or events) and its ticket.
    pub counters: BTreeMap<u16, Option<CurrentTicket>>,
    /// Most recent calls, newest first, at most [`LAST_CALLS`]; a recall
    /// replaces the earlier entry of the same ticket.
    pub last_calls: Vec<CallInfo>,
    /// Sequence number of the event behind `last_calls[0]`; 0 when it came
    /// from a snapshot. Pages flash when it grows.
    pub latest_call_seq: u64,
    /// Waiting count of each department, in the kiosk's config order.
    pub departments: Vec<DepartmentWaiting>,
    /// The link to the kiosk.
    pub link: LinkStatus,
    /// Events whose seq skipped ahead of `last_seq + 1` (a hole in what was
    /// received), for diagnostics.
    pub gaps: u64,
    /// The answer to the last keypad action.
    pub keypad: Option<KeypadFeedback>,
    /// The center's rating levels, from the snapshot (empty until one came).
    pub rating_levels: Vec<queue_protocol::RatingLevelInfo>,
    /// Each counter's status and officer, for counters not plainly open
    /// or with a known officer.
    pub counter_info: BTreeMap<u16, CounterInfo>,
}

/// A counter's status and the officer shown on its tile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CounterInfo {
    /// Open, paused (with its reason) or closed.
    pub status: CounterStatus,
    /// The officer's display name, when known.
    pub officer: Option<String>,
}

impl Default for BoardState {
    fn default() -> Self {
        Self::new()
    }
}

impl BoardState {
    /// An empty state, not yet connected.
    pub fn new() -> Self {
        Self {
            last_seq: 0,
            center: String::new(),
            time_zone: String::new(),
            service_day: None,
            counters: BTreeMap::new(),
            last_calls: Vec::new(),
            latest_call_seq: 0,
            departments: Vec::new(),
            link: LinkStatus::Connecting,
            gaps: 0,
            keypad: None,
            rating_levels: Vec::new(),
            counter_info: BTreeMap::new(),
        }
    }

    /// The status and officer of `counter` (open, none when unknown).
    pub fn counter_info(&self, counter: u16) -> CounterInfo {
        self.counter_info.get(&counter).cloned().unwrap_or_default()
    }

    /// The Vietnamese name of a department, or its id when unknown.
    pub fn department_name<'a>(&'a self, department: &'a str) -> &'a str {
        self.departments
            .iter()
            .find(|d| d.department == department)
            .map_or(department, |d| d.name.as_str())
    }

    /// The label shown for `counter`, if it has a ticket.
    pub fn current_label(&self, counter: u16) -> Option<&str> {
        self.counters
            .get(&counter)
            .and_then(|c| c.as_ref())
            .map(|c| c.label.as_str())
    }

    /// Replaces the whole picture by the kiosk's snapshot. Nothing is
    /// announced; counters whose number changed are reported.
    pub fn apply_snapshot(&mut self, snapshot: Snapshot) -> Vec<Effect> {
        let before: BTreeMap<u16, Option<String>> = self.labels();
        let same_latest = match (self.last_calls.first(), snapshot.last_calls.first()) {
            (Some(a), Some(b)) => a.ticket == b.ticket && a.at_ms == b.at_ms,
            _ => false,
        };
        if !same_latest {
            self.latest_call_seq = 0;
        }
        self.last_seq = snapshot.last_seq;
        self.center = snapshot.center;
        self.time_zone = snapshot.time_zone;
        self.service_day = snapshot.service_day;
        self.counter_info = snapshot
            .counters
            .iter()
            .map(|c| {
                let info = CounterInfo {
                    status: c.status.clone(),
                    officer: c.officer.clone(),
                };
                (c.counter, info)
            })
            .collect();
        self.counters = snapshot
            .counters
            .into_iter()
            .map(|c| (c.counter, c.current))
            .collect();
        self.last_calls = snapshot.last_calls;
        self.last_calls.truncate(LAST_CALLS);
        if !snapshot.rating_levels.is_empty() {
            self.rating_levels = snapshot.rating_levels;
        }
        self.departments = snapshot
            .departments
            .into_iter()
            .map(|d| DepartmentWaiting {
                name: if d.name.is_empty() {
                    d.department.clone()
                } else {
                    d.name
                },
                department: d.department,
                waiting: d.waiting,
            })
            .collect();
        let after = self.labels();
        let mut effects = Vec::new();
        for (counter, label) in &after {
            if before.get(counter) != Some(label) {
                effects.push(Effect::CounterChanged {
                    counter: *counter,
                    label: label.clone(),
                });
            }
        }
        for counter in before.keys() {
            if !after.contains_key(counter) {
                effects.push(Effect::CounterChanged {
                    counter: *counter,
                    label: None,
                });
            }
        }
        effects
    }

    /// Applies one event from the stream; see the module docs for the rules.
    /// Returns nothing for an event already applied.
    pub fn apply(&mut self, event: &Event, delivery: Delivery) -> Vec<Effect> {
        if event.seq <= self.last_seq {
            return Vec::new();
        }
        if self.last_seq != 0 && event.seq != self.last_seq + 1 {
            self.gaps += 1;
        }
        self.last_seq = event.seq;
        let mut effects = Vec::new();
        match &event.kind {
            EventKind::ServiceDayStarted { service_day, .. } => {
                self.service_day = Some(service_day.clone());
                for (counter, current) in &mut self.counters {
                    if current.take().is_some() {
                        effects.push(Effect::CounterChanged {
                            counter: *counter,
                            label: None,
                        });
                    }
                }
                self.last_calls.clear();
                self.latest_call_seq = 0;
                for d in &mut self.departments {
                    d.waiting = 0;
                }
            }
            EventKind::TicketIssued { department, .. } => {
                self.department(department).waiting += 1;
            }
            EventKind::Called {
                ticket,
                label,
                counter,
                department,
                recall,
                service,
                ..
            } => {
                let call = CallInfo {
                    ticket: *ticket,
                    label: label.clone(),
                    counter: *counter,
                    department: department.clone(),
                    at_ms: event.at_ms,
                    recall: *recall,
                    service: service.clone(),
                };
                self.call(call, event.seq, delivery, &mut effects);
            }
            EventKind::CalledChosen {
                ticket,
                label,
                counter,
                department,
                service,
                ..
            } => {
                let call = CallInfo {
                    ticket: *ticket,
                    label: label.clone(),
                    counter: *counter,
                    department: department.clone(),
                    at_ms: event.at_ms,
                    recall: false,
                    service: service.clone(),
                };
                self.call(call, event.seq, delivery, &mut effects);
            }
            EventKind::CounterStatusChanged {
                counter,
                status,
                officer,
                ..
            } => {
                self.counters.entry(*counter).or_default();
                self.counter_info.insert(
                    *counter,
                    CounterInfo {
                        status: status.clone(),
                        officer: officer.clone(),
                    },
                );
            }
            EventKind::Parked { ticket, .. } => {
                self.take_ticket(*ticket, &mut effects, None);
            }
            EventKind::BroughtBack { department, .. } => {
                self.department(department).waiting += 1;
            }
            EventKind::ServingStarted {
                ticket,
                label,
                counter,
                department,
                ..
            } => {
                let slot = self.counters.entry(*counter).or_default();
                match slot {
                    Some(current) if current.ticket == *ticket => current.serving = true,
                    _ => {
                        *slot = Some(CurrentTicket {
                            ticket: *ticket,
                            label: label.clone(),
                            department: department.clone(),
                            serving: true,
                            called_at_ms: event.at_ms,
                            // Its call was missed; the next snapshot brings it.
                            service: None,
                        });
                        effects.push(Effect::CounterChanged {
                            counter: *counter,
                            label: Some(label.clone()),
                        });
                    }
                }
            }
            EventKind::NoShow { ticket, .. } | EventKind::Finished { ticket, .. } => {
                self.take_ticket(*ticket, &mut effects, None);
            }
            EventKind::Transferred {
                ticket,
                from_department,
                to_department,
                ..
            } => {
                if self.take_ticket(*ticket, &mut effects, None).is_none() {
                    let from = self.department(from_department);
                    from.waiting = from.waiting.saturating_sub(1);
                }
                self.department(to_department).waiting += 1;
            }
            EventKind::Cancelled {
                ticket, department, ..
            } => {
                if self.take_ticket(*ticket, &mut effects, None).is_none() {
                    let d = self.department(department);
                    d.waiting = d.waiting.saturating_sub(1);
                }
            }
            EventKind::Printed { .. }
            | EventKind::PrintFailed { .. }
            | EventKind::ClockWentBackwards { .. }
            | EventKind::Fault { .. }
            | EventKind::FaultCleared { .. }
            | EventKind::AdminAction { .. }
            | EventKind::Pruned { .. }
            | EventKind::Rated { .. } => {}
        }
        effects
    }

    /// A call (first, repeated or out of order) shown at its counter, put
    /// on top of the last calls and announced when live.
    fn call(&mut self, call: CallInfo, seq: u64, delivery: Delivery, effects: &mut Vec<Effect>) {
        let (ticket, counter) = (call.ticket, call.counter);
        let was_at_counter = self.take_ticket(ticket, effects, Some(counter));
        if !call.recall && was_at_counter.is_none() {
            let d = self.department(&call.department);
            d.waiting = d.waiting.saturating_sub(1);
        }
        let slot = self.counters.entry(counter).or_default();
        let called_at_ms = match (&was_at_counter, &*slot) {
            (Some(_), Some(current)) if current.ticket == ticket => current.called_at_ms,
            _ => call.at_ms,
        };
        let changed = slot.as_ref().map(|c| c.label.as_str()) != Some(call.label.as_str());
        let serving = matches!(&*slot, Some(c) if c.ticket == ticket && c.serving);
        *slot = Some(CurrentTicket {
            ticket,
            label: call.label.clone(),
            department: call.department.clone(),
            serving,
            called_at_ms,
            service: call.service.clone(),
        });
        if changed {
            effects.push(Effect::CounterChanged {
                counter,
                label: Some(call.label.clone()),
            });
        }
        self.last_calls
            .retain(|c| !(c.ticket == ticket && c.counter == counter));
        let label = call.label.clone();
        self.last_calls.insert(0, call);
        self.last_calls.truncate(LAST_CALLS);
        self.latest_call_seq = seq;
        if delivery == Delivery::Live {
            effects.push(Effect::Announce { label, counter });
        }
    }

    /// Records that the link is receiving the kiosk's stream.
    pub fn set_connected(&mut self) {
        self.link = LinkStatus::Connected;
    }

    /// Records that the kiosk became unreachable at `now_ms` (kept when the
    /// link was already lost, so the notice says since when).
    pub fn set_lost(&mut self, now_ms: i64) {
        if !matches!(self.link, LinkStatus::Lost { .. }) {
            self.link = LinkStatus::Lost { since_ms: now_ms };
        }
    }

    /// Each counter's current label.
    fn labels(&self) -> BTreeMap<u16, Option<String>> {
        self.counters
            .iter()
            .map(|(n, c)| (*n, c.as_ref().map(|c| c.label.clone())))
            .collect()
    }

    /// Removes `ticket` from whichever counter shows it, except `keep_at`
    /// (where it is about to be shown again); returns the counter it was at.
    fn take_ticket(
        &mut self,
        ticket: TicketId,
        effects: &mut Vec<Effect>,
        keep_at: Option<u16>,
    ) -> Option<u16> {
        let (&counter, _) = self
            .counters
            .iter()
            .find(|(_, c)| c.as_ref().is_some_and(|c| c.ticket == ticket))?;
        if keep_at != Some(counter) {
            self.counters.insert(counter, None);
            effects.push(Effect::CounterChanged {
                counter,
                label: None,
            });
        }
        Some(counter)
    }

    /// The waiting entry of `department`, added at the end when unknown.
    fn department(&mut self, department: &str) -> &mut DepartmentWaiting {
        let index = match self
            .departments
            .iter()
            .position(|d| d.department == department)
        {
            Some(i) => i,
            None => {
                self.departments.push(DepartmentWaiting {
                    department: department.to_owned(),
                    name: department.to_owned(),
                    waiting: 0,
                });
                self.departments.len() - 1
            }
        };
        &mut self.departments[index]
    }
}
