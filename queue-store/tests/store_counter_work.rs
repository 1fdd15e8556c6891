//! Counter work in the pure state machine: counter status (open, paused with
//! a reason, closed), calling a chosen ticket out of order, parking and
//! recalling, bringing back a no-show — each action and each refusal — and,
//! through a real store, that the new records survive a reopen.

mod store_support;

use jiff::{SignedDuration, Timestamp};
use kiosk_config::{BringBack, CenterConfig};
use queue_protocol::{Actor, CounterStatus, EventKind, Ticket, TicketId, TicketState};
use queue_store::clock::ManualClock;
use queue_store::store::queue::QueueState;
use queue_store::store::{ActionError, EventsSince};
use store_support::{center, morning, open};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

fn at(secs: i64) -> Timestamp {
    morning() + SignedDuration::from_secs(secs)
}

fn issue(q: &mut QueueState, c: &CenterConfig, dept: &str, secs: i64) -> Ticket {
    q.issue(c, &dept.into(), None, Actor::Button, at(secs))
        .expect("issued")
        .ticket
}

fn paused(reason: &str) -> CounterStatus {
    CounterStatus::Paused {
        reason: reason.into(),
    }
}

/// The kinds of the events recorded since the last call.
fn events(q: &mut QueueState) -> Vec<EventKind> {
    q.take_change().events.into_iter().map(|e| e.kind).collect()
}

#[test]
fn pause_and_resume_record_the_reason_and_the_officer() {
    let c = center();
    let mut q = QueueState::default();
    q.set_counter_status(
        &c,
        1,
        paused("Họp"),
        Some("Nguyễn Thị Lan".into()),
        staff(),
        at(0),
    )
    .unwrap();
    let kinds = events(&mut q);
    assert!(kinds.contains(&EventKind::CounterStatusChanged {
        counter: 1,
        status: paused("Họp"),
        officer: Some("Nguyễn Thị Lan".into()),
        actor: staff(),
    }));
    assert_eq!(q.counter_status(1), paused("Họp"));
    let snapshot = q.snapshot(&c);
    assert_eq!(snapshot.counters[0].status, paused("Họp"));
    assert_eq!(
        snapshot.counters[0].officer.as_deref(),
        Some("Nguyễn Thị Lan")
    );
    // Resuming without a display name keeps the officer known.
    q.set_counter_status(&c, 1, CounterStatus::Open, None, staff(), at(60))
        .unwrap();
    assert_eq!(q.counter_status(1), CounterStatus::Open);
    assert_eq!(
        q.snapshot(&c).counters[0].officer.as_deref(),
        Some("Nguyễn Thị Lan")
    );
    // Another officer takes the open counter over; the same one cannot.
    q.set_counter_status(
        &c,
        1,
        CounterStatus::Open,
        Some("Lê Văn Hùng".into()),
        staff(),
        at(90),
    )
    .unwrap();
    assert!(matches!(
        q.set_counter_status(
            &c,
            1,
            CounterStatus::Open,
            Some("Lê Văn Hùng".into()),
            staff(),
            at(91)
        ),
        Err(ActionError::AlreadyInStatus { .. })
    ));
    assert_eq!(
        q.snapshot(&c).counters[0].officer.as_deref(),
        Some("Lê Văn Hùng")
    );
    // Closing forgets the officer.
    q.set_counter_status(&c, 1, CounterStatus::Closed, None, staff(), at(120))
        .unwrap();
    assert_eq!(q.snapshot(&c).counters[0].officer, None);
}

#[test]
fn pause_refusals() {
    let c = center();
    let mut q = QueueState::default();
    assert!(matches!(
        q.set_counter_status(&c, 1, paused("Đi chợ"), None, staff(), at(0)),
        Err(ActionError::UnknownReason { .. })
    ));
    assert!(matches!(
        q.set_counter_status(&c, 9, paused("Họp"), None, staff(), at(0)),
        Err(ActionError::UnknownCounter { counter: 9 })
    ));
    assert!(matches!(
        q.set_counter_status(&c, 1, CounterStatus::Open, None, staff(), at(0)),
        Err(ActionError::AlreadyInStatus {
            counter: 1,
            status: "open"
        })
    ));
    // Pause with a ticket being served (or only called): refused.
    let t = issue(&mut q, &c, "ho-tich", 0);
    q.call_next(&c, 1, staff(), at(1)).unwrap();
    assert!(matches!(
        q.set_counter_status(&c, 1, paused("Họp"), None, staff(), at(2)),
        Err(ActionError::CounterBusy { counter: 1, ticket, .. }) if ticket == t.id
    ));
    q.start_serving(&c, 1, None, staff(), at(3)).unwrap();
    assert!(matches!(
        q.set_counter_status(&c, 1, CounterStatus::Closed, None, staff(), at(4)),
        Err(ActionError::CounterBusy { counter: 1, .. })
    ));
    q.finish(&c, 1, None, staff(), at(5)).unwrap();
    q.set_counter_status(&c, 1, paused("Họp"), None, staff(), at(6))
        .unwrap();
    assert!(matches!(
        q.set_counter_status(&c, 1, paused("Nghỉ giải lao"), None, staff(), at(7)),
        Err(ActionError::AlreadyInStatus {
            counter: 1,
            status: "paused"
        })
    ));
    q.check_invariants().unwrap();
}

#[test]
fn a_paused_or_closed_counter_calls_nobody_and_receives_no_transfer() {
    let c = center();
    let mut q = QueueState::default();
    let t = issue(&mut q, &c, "ho-tich", 0);
    q.set_counter_status(&c, 1, paused("Họp"), None, staff(), at(1))
        .unwrap();
    assert!(matches!(
        q.call_next(&c, 1, staff(), at(2)),
        Err(ActionError::CounterNotOpen {
            counter: 1,
            status: "paused"
        })
    ));
    assert!(matches!(
        q.call_chosen(&c, 1, t.id, "Hẹn trước", staff(), at(2)),
        Err(ActionError::CounterNotOpen { counter: 1, .. })
    ));
    // Counter 2 calls it and tries to send it to the paused counter.
    q.call_next(&c, 2, staff(), at(3)).unwrap();
    assert!(matches!(
        q.transfer_to_counter(&c, 2, None, 1, staff(), at(4)),
        Err(ActionError::CounterNotOpen { counter: 1, .. })
    ));
    q.set_counter_status(&c, 3, CounterStatus::Closed, None, staff(), at(5))
        .unwrap();
    assert!(matches!(
        q.transfer_to_counter(&c, 2, None, 3, staff(), at(6)),
        Err(ActionError::CounterNotOpen {
            counter: 3,
            status: "closed"
        })
    ));
    // Still at counter 2: nothing was lost by the refusals.
    assert_eq!(q.current_at(2).map(|t| t.id), Some(t.id));
    q.set_counter_status(&c, 1, CounterStatus::Open, None, staff(), at(7))
        .unwrap();
    q.transfer_to_counter(&c, 2, None, 1, staff(), at(8))
        .unwrap();
    assert_eq!(q.call_next(&c, 1, staff(), at(9)).unwrap().id, t.id);
}

#[test]
fn call_a_chosen_ticket_out_of_order_with_its_reason() {
    let c = center();
    let mut q = QueueState::default();
    let first = issue(&mut q, &c, "ho-tich", 0);
    let second = issue(&mut q, &c, "ho-tich", 1);
    events(&mut q);
    let called = q
        .call_chosen(&c, 1, second.id, "Hẹn trước", staff(), at(2))
        .unwrap();
    assert_eq!(called.state, TicketState::Called { counter: 1 });
    assert_eq!(
        events(&mut q),
        vec![EventKind::CalledChosen {
            ticket: second.id,
            label: second.label.clone(),
            counter: 1,
            department: "ho-tich".into(),
            reason: "Hẹn trước".into(),
            actor: staff(),
            service: None,
        }]
    );
    assert_eq!(q.snapshot(&c).last_calls[0].ticket, second.id);
    q.finish(&c, 1, None, staff(), at(3)).unwrap();
    // "Next" then goes on in order.
    assert_eq!(q.call_next(&c, 1, staff(), at(4)).unwrap().id, first.id);
}

#[test]
fn call_chosen_refusals() {
    let c = center();
    let mut q = QueueState::default();
    let h = issue(&mut q, &c, "ho-tich", 0);
    let d = issue(&mut q, &c, "dat-dai", 1);
    // A department the counter does not serve.
    assert!(matches!(
        q.call_chosen(&c, 1, d.id, "Hẹn trước", staff(), at(2)),
        Err(ActionError::NotServedHere { counter: 1, ticket, .. }) if ticket == d.id
    ));
    // A reason not on the list (the empty one too).
    for reason in ["", "Người quen"] {
        assert!(matches!(
            q.call_chosen(&c, 1, h.id, reason, staff(), at(2)),
            Err(ActionError::UnknownReason { .. })
        ));
    }
    assert!(matches!(
        q.call_chosen(&c, 1, TicketId(99), "Hẹn trước", staff(), at(2)),
        Err(ActionError::UnknownTicket { .. })
    ));
    q.call_chosen(&c, 1, h.id, "Hẹn trước", staff(), at(3))
        .unwrap();
    // The counter is busy now; and a called ticket is not waiting.
    let h2 = issue(&mut q, &c, "ho-tich", 4);
    assert!(matches!(
        q.call_chosen(&c, 1, h2.id, "Hẹn trước", staff(), at(5)),
        Err(ActionError::CounterBusy { counter: 1, .. })
    ));
    assert!(matches!(
        q.call_chosen(&c, 2, h.id, "Hẹn trước", staff(), at(5)),
        Err(ActionError::WrongState {
            action: "call out of order",
            state: "called",
            ..
        })
    ));
    q.finish(&c, 1, None, staff(), at(6)).unwrap();
    assert!(matches!(
        q.call_chosen(&c, 2, h.id, "Hẹn trước", staff(), at(7)),
        Err(ActionError::TicketClosed { .. })
    ));
    q.check_invariants().unwrap();
}

#[test]
fn park_frees_the_counter_and_one_action_calls_the_ticket_back() {
    let c = center();
    let mut q = QueueState::default();
    let a = issue(&mut q, &c, "ho-tich", 0);
    let b = issue(&mut q, &c, "ho-tich", 1);
    q.call_next(&c, 1, staff(), at(2)).unwrap();
    q.start_serving(&c, 1, None, staff(), at(3)).unwrap();
    events(&mut q);
    let parked = q.park(&c, 1, None, staff(), at(4)).unwrap();
    assert_eq!(parked.state, TicketState::Parked { counter: 1 });
    assert!(
        matches!(events(&mut q)[..], [EventKind::Parked { ticket, counter: 1, .. }] if ticket == a.id)
    );
    assert!(q.current_at(1).is_none());
    let snapshot = q.snapshot(&c);
    assert_eq!(snapshot.counters[0].parked.len(), 1);
    assert_eq!(snapshot.counters[0].parked[0].ticket, a.id);
    // The counter serves someone else meanwhile; "next" leaves the parked one.
    assert_eq!(q.call_next(&c, 1, staff(), at(5)).unwrap().id, b.id);
    // Recall is refused while the counter is busy.
    assert!(matches!(
        q.recall_parked(&c, 1, a.id, staff(), at(6)),
        Err(ActionError::CounterBusy { counter: 1, .. })
    ));
    q.finish(&c, 1, None, staff(), at(7)).unwrap();
    events(&mut q);
    let back = q.recall_parked(&c, 1, a.id, staff(), at(8)).unwrap();
    assert_eq!(back.state, TicketState::Called { counter: 1 });
    assert_eq!(back.serving_at_ms, Some(at(3).as_millisecond()));
    assert!(matches!(
        events(&mut q)[..],
        [EventKind::Called { ticket, counter: 1, recall: true, .. }] if ticket == a.id
    ));
    // Serving again keeps the first start of service.
    let serving = q.start_serving(&c, 1, None, staff(), at(9)).unwrap();
    assert_eq!(serving.serving_at_ms, Some(at(3).as_millisecond()));
    q.check_invariants().unwrap();
}

#[test]
fn park_refusals() {
    let c = center();
    let mut q = QueueState::default();
    let a = issue(&mut q, &c, "ho-tich", 0);
    assert!(matches!(
        q.park(&c, 1, None, staff(), at(1)),
        Err(ActionError::NoCurrentTicket { counter: 1 })
    ));
    q.call_next(&c, 1, staff(), at(2)).unwrap();
    // Only a ticket being served is parked.
    assert!(matches!(
        q.park(&c, 1, None, staff(), at(3)),
        Err(ActionError::WrongState {
            action: "park",
            state: "called",
            ..
        })
    ));
    q.start_serving(&c, 1, None, staff(), at(4)).unwrap();
    assert!(matches!(
        q.park(&c, 2, Some(a.id), staff(), at(5)),
        Err(ActionError::BelongsToOtherCounter { counter: 1, .. })
    ));
    q.park(&c, 1, Some(a.id), staff(), at(6)).unwrap();
    // Park twice.
    assert!(matches!(
        q.park(&c, 1, Some(a.id), staff(), at(7)),
        Err(ActionError::AlreadyParked { counter: 1, ticket }) if ticket == a.id
    ));
    // Another counter cannot recall it; a waiting ticket is not parked.
    assert!(matches!(
        q.recall_parked(&c, 2, a.id, staff(), at(8)),
        Err(ActionError::BelongsToOtherCounter { counter: 1, .. })
    ));
    let w = issue(&mut q, &c, "ho-tich", 9);
    assert!(matches!(
        q.recall_parked(&c, 1, w.id, staff(), at(10)),
        Err(ActionError::WrongState {
            state: "waiting",
            ..
        })
    ));
    // A paused counter keeps its parked ticket but cannot recall it.
    q.set_counter_status(&c, 1, paused("Họp"), None, staff(), at(11))
        .unwrap();
    assert!(matches!(
        q.recall_parked(&c, 1, a.id, staff(), at(12)),
        Err(ActionError::CounterNotOpen { counter: 1, .. })
    ));
    assert_eq!(q.parked_at(1).count(), 1);
    q.check_invariants().unwrap();
}

#[test]
fn a_parked_ticket_is_cancelled_when_the_day_ends() {
    let c = center();
    let mut q = QueueState::default();
    issue(&mut q, &c, "ho-tich", 0);
    q.call_next(&c, 1, staff(), at(1)).unwrap();
    q.start_serving(&c, 1, None, staff(), at(2)).unwrap();
    let parked = q.park(&c, 1, None, staff(), at(3)).unwrap();
    q.take_change();
    q.enter_day(&c, at(24 * 3600));
    assert!(q.open_ticket(parked.id).is_none());
    assert!(q
        .take_change()
        .tickets
        .iter()
        .any(|t| t.id == parked.id && t.state == TicketState::Cancelled));
}

/// A no-show of `dept`, as the store would hand it back from disk.
fn no_show(q: &mut QueueState, c: &CenterConfig, dept: &str, counter: u16, secs: i64) -> Ticket {
    issue(q, c, dept, secs);
    q.call_next(c, counter, staff(), at(secs + 1)).unwrap();
    q.no_show(c, counter, None, staff(), at(secs + 2)).unwrap()
}

#[test]
fn a_no_show_brought_back_goes_to_the_front() {
    let c = center();
    let mut q = QueueState::default();
    let gone = no_show(&mut q, &c, "ho-tich", 1, 0);
    let waiting = issue(&mut q, &c, "ho-tich", 10);
    events(&mut q);
    let back = q.bring_back(&c, 1, gone.clone(), staff(), at(20)).unwrap();
    assert_eq!(back.state, TicketState::Waiting);
    assert_eq!(back.closed_at_ms, None);
    assert!(matches!(
        events(&mut q)[..],
        [EventKind::BroughtBack { ticket, front: true, counter: 1, .. }] if ticket == gone.id
    ));
    // Counter 2 also serves ho-tich: the brought-back ticket comes first.
    assert_eq!(q.call_next(&c, 2, staff(), at(21)).unwrap().id, gone.id);
    assert_eq!(q.call_next(&c, 2, staff(), at(22)).unwrap().id, waiting.id);
    q.check_invariants().unwrap();
}

#[test]
fn a_no_show_brought_back_in_issue_order() {
    let mut c = center();
    c.counter_work.bring_back = BringBack::IssueOrder;
    let mut q = QueueState::default();
    let older = issue(&mut q, &c, "ho-tich", 0);
    // The younger ticket is called out of order and does not come; brought
    // back, it waits behind the older one again.
    let gone = {
        issue(&mut q, &c, "ho-tich", 1);
        q.call_chosen(&c, 1, TicketId(2), "Hẹn trước", staff(), at(2))
            .unwrap();
        q.no_show(&c, 1, None, staff(), at(3)).unwrap()
    };
    let back = q.bring_back(&c, 1, gone.clone(), staff(), at(4)).unwrap();
    assert_eq!(back.state, TicketState::Waiting);
    assert!(matches!(
        events(&mut q).last(),
        Some(EventKind::BroughtBack { front: false, .. })
    ));
    assert_eq!(q.call_next(&c, 1, staff(), at(5)).unwrap().id, older.id);
    assert_eq!(q.call_next(&c, 1, staff(), at(6)).unwrap().id, gone.id);
}

#[test]
fn bring_back_refusals() {
    let c = center();
    let mut q = QueueState::default();
    // A served ticket.
    issue(&mut q, &c, "ho-tich", 0);
    q.call_next(&c, 1, staff(), at(1)).unwrap();
    let served = q.finish(&c, 1, None, staff(), at(2)).unwrap();
    assert!(matches!(
        q.bring_back(&c, 1, served, staff(), at(3)),
        Err(ActionError::WrongState {
            action: "bring back",
            state: "done",
            ..
        })
    ));
    // A waiting ticket.
    let waiting = issue(&mut q, &c, "dat-dai", 4);
    assert!(matches!(
        q.bring_back(&c, 3, waiting, staff(), at(5)),
        Err(ActionError::WrongState {
            state: "waiting",
            ..
        })
    ));
    // A counter that neither serves its department nor skipped it.
    let gone = no_show(&mut q, &c, "dat-dai", 3, 6);
    assert!(matches!(
        q.bring_back(&c, 1, gone.clone(), staff(), at(10)),
        Err(ActionError::NotServedHere { counter: 1, .. })
    ));
    // Yesterday's no-show.
    let tomorrow = at(24 * 3600);
    assert!(matches!(
        q.bring_back(&c, 3, gone, staff(), tomorrow),
        Err(ActionError::NotToday { .. })
    ));
    q.check_invariants().unwrap();
}

#[test]
fn counter_work_survives_a_reopen_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let c = center();
    let clock = ManualClock::new(morning());
    let (parked, gone) = {
        let store = open(dir.path(), &c, &clock);
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store.call_next(1, staff()).unwrap();
        store.start_serving(1, None, staff()).unwrap();
        let parked = store.park(1, None, staff()).unwrap();
        store.call_next(2, staff()).unwrap();
        let gone = store.no_show(2, None, staff()).unwrap();
        store.bring_back(2, gone.id, staff()).unwrap();
        store
            .set_counter_status(2, paused("Họp"), Some("Lê Văn Hùng".into()), staff())
            .unwrap();
        (parked, gone)
    };
    let store = open(dir.path(), &c, &clock);
    let snapshot = store.snapshot();
    assert_eq!(snapshot.counters[0].parked[0].ticket, parked.id);
    assert_eq!(snapshot.counters[1].status, paused("Họp"));
    assert_eq!(snapshot.counters[1].officer.as_deref(), Some("Lê Văn Hùng"));
    // The brought-back ticket is still at the front after the reopen.
    assert_eq!(store.call_next(1, staff()).unwrap().id, gone.id);
    // Every new event reads back from disk.
    let EventsSince::Events(events) = store.events_since(0, 100).unwrap() else {
        panic!("no gap expected");
    };
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Parked { .. } => Some("parked"),
            EventKind::BroughtBack { .. } => Some("brought_back"),
            EventKind::CounterStatusChanged { .. } => Some("status"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["parked", "brought_back", "status"]);
}
