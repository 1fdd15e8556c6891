//! The pure queue state machine: unit tests of its rules and a property test
//! that any sequence of actions keeps the invariants.

mod store_support;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use kiosk_config::{CenterConfig, Exhaustion};
use proptest::prelude::*;
use queue_protocol::{Actor, CounterStatus, Event, EventKind, Ticket, TicketId, TicketState};
use queue_store::store::queue::QueueState;
use queue_store::store::ActionError;
use store_support::{center, morning};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

fn issue(
    q: &mut QueueState,
    c: &CenterConfig,
    dept: &str,
    prio: Option<&str>,
    now: Timestamp,
) -> Ticket {
    q.issue(c, &dept.into(), prio, Actor::Button, now)
        .expect("issued")
        .ticket
}

#[test]
fn next_calls_oldest_of_the_preferred_department() {
    let c = center();
    let mut q = QueueState::default();
    let t0 = morning();
    let a = issue(&mut q, &c, "dat-dai", None, t0);
    let h = issue(
        &mut q,
        &c,
        "ho-tich",
        None,
        t0 + SignedDuration::from_secs(1),
    );
    // Counter 2 prefers ho-tich even though dat-dai's ticket is older.
    assert_eq!(
        q.call_next(&c, 2, staff(), t0 + SignedDuration::from_secs(2))
            .unwrap()
            .id,
        h.id
    );
    assert_eq!(
        q.call_next(&c, 2, staff(), t0 + SignedDuration::from_secs(3))
            .unwrap()
            .id,
        a.id
    );
    assert!(matches!(
        q.call_next(&c, 2, staff(), t0 + SignedDuration::from_secs(4)),
        Err(ActionError::NothingWaiting { counter: 2 })
    ));
    // "next" finished the previous tickets.
    let events: Vec<Event> = q.take_change().events;
    let finished = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Finished { .. }))
        .count();
    assert_eq!(finished, 2);
}

#[test]
fn priority_goes_first_but_never_more_than_max_in_a_row() {
    let c = center(); // max_in_a_row = 2
    let mut q = QueueState::default();
    let mut now = morning();
    let mut tick = || {
        now += SignedDuration::from_secs(10);
        now
    };
    let normal: Vec<TicketId> = (0..3)
        .map(|_| issue(&mut q, &c, "ho-tich", None, tick()).id)
        .collect();
    let prio: Vec<TicketId> = (0..4)
        .map(|_| issue(&mut q, &c, "ho-tich", Some("nguoi-cao-tuoi"), tick()).id)
        .collect();
    let order: Vec<TicketId> = (0..7)
        .map(|_| q.call_next(&c, 1, staff(), tick()).unwrap().id)
        .collect();
    assert_eq!(
        order,
        vec![prio[0], prio[1], normal[0], prio[2], prio[3], normal[1], normal[2]]
    );
}

#[test]
fn transfer_keeps_place_by_issue_time() {
    let c = center();
    let mut q = QueueState::default();
    let t0 = morning();
    let early = issue(&mut q, &c, "ho-tich", None, t0);
    let later = issue(
        &mut q,
        &c,
        "dat-dai",
        None,
        t0 + SignedDuration::from_secs(60),
    );
    let called = q
        .call_next(&c, 1, staff(), t0 + SignedDuration::from_secs(120))
        .unwrap();
    assert_eq!(called.id, early.id);
    let moved = q
        .transfer_to_department(
            &c,
            1,
            Some(early.id),
            &"dat-dai".into(),
            staff(),
            t0 + SignedDuration::from_secs(180),
        )
        .unwrap();
    assert_eq!(moved.state, TicketState::Waiting);
    assert_eq!(moved.label, "1001");
    // At dat-dai the transferred ticket is older than A001, so it goes first.
    assert_eq!(
        q.call_next(&c, 3, staff(), t0 + SignedDuration::from_secs(200))
            .unwrap()
            .id,
        early.id
    );
    assert_eq!(
        q.call_next(&c, 3, staff(), t0 + SignedDuration::from_secs(300))
            .unwrap()
            .id,
        later.id
    );
}

#[test]
fn transfer_to_counter_is_called_only_there_and_first() {
    let c = center();
    let mut q = QueueState::default();
    let t0 = morning();
    let a = issue(&mut q, &c, "ho-tich", None, t0);
    let b = issue(
        &mut q,
        &c,
        "ho-tich",
        None,
        t0 + SignedDuration::from_secs(1),
    );
    q.call_next(&c, 1, staff(), t0 + SignedDuration::from_secs(2))
        .unwrap();
    q.transfer_to_counter(&c, 1, None, 3, staff(), t0 + SignedDuration::from_secs(3))
        .unwrap();
    // Counter 2 serves ho-tich but must not take the ticket sent to counter 3.
    assert_eq!(
        q.call_next(&c, 2, staff(), t0 + SignedDuration::from_secs(4))
            .unwrap()
            .id,
        b.id
    );
    assert_eq!(
        q.call_next(&c, 3, staff(), t0 + SignedDuration::from_secs(5))
            .unwrap()
            .id,
        a.id
    );
}

#[test]
fn illegal_moves_are_refused_with_typed_errors() {
    let c = center();
    let mut q = QueueState::default();
    let t0 = morning();
    let waiting = issue(&mut q, &c, "ho-tich", None, t0);
    assert!(matches!(
        q.finish(&c, 1, Some(waiting.id), staff(), t0),
        Err(ActionError::NotCalledYet { .. })
    ));
    assert!(matches!(
        q.finish(&c, 1, None, staff(), t0),
        Err(ActionError::NoCurrentTicket { counter: 1 })
    ));
    assert!(matches!(
        q.call_next(&c, 99, staff(), t0),
        Err(ActionError::UnknownCounter { counter: 99 })
    ));
    q.call_next(&c, 1, staff(), t0).unwrap();
    assert!(matches!(
        q.no_show(&c, 2, Some(waiting.id), staff(), t0),
        Err(ActionError::BelongsToOtherCounter { counter: 1, .. })
    ));
    q.start_serving(&c, 1, None, staff(), t0).unwrap();
    assert!(matches!(
        q.no_show(&c, 1, None, staff(), t0),
        Err(ActionError::WrongState { .. })
    ));
    assert!(matches!(
        q.recall(&c, 1, None, staff(), t0),
        Err(ActionError::WrongState { .. })
    ));
    q.finish(&c, 1, None, staff(), t0).unwrap();
    assert!(matches!(
        q.cancel(&c, waiting.id, "test", staff(), t0),
        Err(ActionError::TicketClosed { .. })
    ));
    assert!(matches!(
        q.cancel(&c, TicketId(1000), "test", staff(), t0),
        Err(ActionError::UnknownTicket { .. })
    ));
    q.check_invariants().unwrap();
}

#[test]
fn estimated_wait_uses_recent_service_times_and_counters() {
    let c = center();
    let mut q = QueueState::default();
    let t0 = morning();
    // No data yet: 5 minutes per person ahead, ho-tich has 2 counters.
    for _ in 0..4 {
        issue(&mut q, &c, "ho-tich", None, t0);
    }
    let issued = q
        .issue(&c, &"ho-tich".into(), None, Actor::Button, t0)
        .unwrap();
    assert_eq!(issued.waiting_ahead, 4);
    assert_eq!(issued.estimated_wait.as_secs(), 4 * 300 / 2);
    // Serve one in 2 minutes: the estimate follows.
    q.call_next(&c, 1, staff(), t0).unwrap();
    q.finish(&c, 1, None, staff(), t0 + SignedDuration::from_secs(120))
        .unwrap();
    let issued = q
        .issue(&c, &"ho-tich".into(), None, Actor::Button, t0)
        .unwrap();
    assert_eq!(issued.waiting_ahead, 4);
    assert_eq!(issued.estimated_wait.as_secs(), 4 * 120 / 2);
}

/// One step of the property test.
#[derive(Debug, Clone)]
enum Action {
    Issue(usize, bool),
    Next(u16),
    Recall(u16),
    NoShow(u16),
    Start(u16),
    Finish(u16),
    TransferDepartment(u16, usize),
    TransferCounter(u16, u16),
    Cancel(u64),
    Printed(u64),
    Advance(i64),
    Pause(u16, usize),
    Open(u16),
    Close(u16),
    CallChosen(u16, u64, usize),
    Park(u16),
    RecallParked(u16, u64),
    BringBack(u16, u64),
}

fn action() -> impl Strategy<Value = Action> {
    let counter = 1u16..=4; // 4 is unknown
    prop_oneof![
        6 => (0usize..3, any::<bool>()).prop_map(|(d, p)| Action::Issue(d, p)),
        4 => counter.clone().prop_map(Action::Next),
        1 => counter.clone().prop_map(Action::Recall),
        1 => counter.clone().prop_map(Action::NoShow),
        2 => counter.clone().prop_map(Action::Start),
        2 => counter.clone().prop_map(Action::Finish),
        1 => (counter.clone(), 0usize..3).prop_map(|(c, d)| Action::TransferDepartment(c, d)),
        1 => (counter.clone(), 1u16..=4).prop_map(|(c, t)| Action::TransferCounter(c, t)),
        1 => (1u64..40).prop_map(Action::Cancel),
        1 => (1u64..40).prop_map(Action::Printed),
        1 => (counter.clone(), 0usize..5).prop_map(|(c, r)| Action::Pause(c, r)),
        2 => counter.clone().prop_map(Action::Open),
        1 => counter.clone().prop_map(Action::Close),
        2 => (counter.clone(), 1u64..40, 0usize..4).prop_map(|(c, t, r)| Action::CallChosen(c, t, r)),
        1 => counter.clone().prop_map(Action::Park),
        1 => (counter.clone(), 1u64..40).prop_map(|(c, t)| Action::RecallParked(c, t)),
        1 => (counter.clone(), 1u64..40).prop_map(|(c, t)| Action::BringBack(c, t)),
        // Mostly minutes forward, sometimes hours, sometimes a day back.
        2 => prop_oneof![1i64..600, 3_600i64..30_000, Just(-86_400i64)].prop_map(Action::Advance),
    ]
}

fn small_center() -> CenterConfig {
    let mut c = center();
    c.center.sessions.clear(); // always open except closed days
    c.departments[1].block.last = 6;
    c.departments[1].block.on_exhausted = Exhaustion::Wrap;
    c.departments[0].daily_cap = Some(8);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_action_sequence_keeps_the_invariants(actions in proptest::collection::vec(action(), 1..120)) {
        let c = small_center();
        let departments = ["ho-tich", "dat-dai", "khong-co"];
        let mut q = QueueState::default();
        let mut now = morning();
        let mut all: BTreeMap<TicketId, Ticket> = BTreeMap::new();
        let mut next_seq = 1;
        // (day, department) -> numbers in issue order
        let mut numbers: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        for action in actions {
            let actor = staff();
            match action {
                Action::Issue(d, p) => {
                    let prio = p.then_some("khuyet-tat");
                    if let Ok(issued) = q.issue(&c, &departments[d].into(), prio, Actor::Button, now) {
                        let t = issued.ticket;
                        numbers.entry((t.service_day.clone(), t.issued_department.clone())).or_default().push(t.number);
                    }
                }
                Action::Next(k) => { let _ = q.call_next(&c, k, actor, now); }
                Action::Recall(k) => { let _ = q.recall(&c, k, None, actor, now); }
                Action::NoShow(k) => { let _ = q.no_show(&c, k, None, actor, now); }
                Action::Start(k) => { let _ = q.start_serving(&c, k, None, actor, now); }
                Action::Finish(k) => { let _ = q.finish(&c, k, None, actor, now); }
                Action::TransferDepartment(k, d) => { let _ = q.transfer_to_department(&c, k, None, &departments[d].into(), actor, now); }
                Action::TransferCounter(k, t) => { let _ = q.transfer_to_counter(&c, k, None, t, actor, now); }
                Action::Cancel(id) => { let _ = q.cancel(&c, TicketId(id), "test", actor, now); }
                Action::Printed(id) => {
                    if let Some(t) = all.get(&TicketId(id)).cloned() {
                        q.print_outcome(t, Ok(()), now);
                    }
                }
                Action::Advance(secs) => now += SignedDuration::from_secs(secs),
                // Reasons past the end of the list are refused.
                Action::Pause(k, r) => {
                    let reason = c.counter_work.pause_reasons.get(r).cloned().unwrap_or_else(|| "không có".into());
                    let _ = q.set_counter_status(&c, k, CounterStatus::Paused { reason }, None, actor, now);
                }
                Action::Open(k) => { let _ = q.set_counter_status(&c, k, CounterStatus::Open, None, actor, now); }
                Action::Close(k) => { let _ = q.set_counter_status(&c, k, CounterStatus::Closed, None, actor, now); }
                Action::CallChosen(k, id, r) => {
                    let reason = c.counter_work.call_reasons.get(r).cloned().unwrap_or_default();
                    let _ = q.call_chosen(&c, k, TicketId(id), &reason, actor, now);
                }
                Action::Park(k) => { let _ = q.park(&c, k, None, actor, now); }
                Action::RecallParked(k, id) => { let _ = q.recall_parked(&c, k, TicketId(id), actor, now); }
                Action::BringBack(k, id) => {
                    if let Some(t) = all.get(&TicketId(id)).cloned() {
                        let _ = q.bring_back(&c, k, t, actor, now);
                    }
                }
            }
            let change = q.take_change();
            for e in &change.events {
                prop_assert_eq!(e.seq, next_seq, "events have no holes");
                next_seq += 1;
                // Nobody is called to a counter that is not open.
                if let EventKind::Called { counter, .. } | EventKind::CalledChosen { counter, .. } = e.kind {
                    prop_assert!(q.counter_status(counter).is_open(), "call at a {:?} counter {}", q.counter_status(counter), counter);
                }
            }
            for t in change.tickets {
                all.insert(t.id, t);
            }
            prop_assert!(q.check_invariants().is_ok(), "{:?}", q.check_invariants());
            // Exactly one state: open tickets in memory match the latest record.
            for (id, t) in &all {
                match q.open_ticket(*id) {
                    Some(open) => prop_assert_eq!(open, t),
                    None => prop_assert!(!t.state.is_open(), "ticket {} is {:?} but not open", id, t.state),
                }
            }
        }
        prop_assert_eq!(q.last_seq() + 1, next_seq);
        for ((day, dept), list) in &numbers {
            if dept == "ho-tich" {
                prop_assert!(list.windows(2).all(|w| w[0] < w[1]), "{} {}: {:?}", day, dept, list);
                prop_assert!(list.len() <= 8, "cap holds");
            } else {
                // A wrapping block: consecutive numbers follow the block's cycle.
                prop_assert!(list.windows(2).all(|w| w[1] == w[0] + 1 || (w[0] == 6 && w[1] == 1)), "{:?}", list);
            }
        }
    }
}
