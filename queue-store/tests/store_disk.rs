//! The durable store on a temporary directory: reopening, service days,
//! a clock going backwards, limits, opening hours, retention, subscriptions.

mod store_support;

use jiff::SignedDuration;
use kiosk_config::{Exhaustion, Session};
use queue_protocol::{Actor, Event, EventKind, PrintStatus, TicketState};
use queue_store::clock::ManualClock;
use queue_store::store::{ActionError, EventsSince, IssueError, Store};
use store_support::{center, local, morning, open};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

fn all_events(store: &Store) -> Vec<Event> {
    match store.events_since(0, usize::MAX).unwrap() {
        EventsSince::Events(events) => events,
        EventsSince::Gap { .. } => panic!("unexpected gap"),
    }
}

fn assert_no_holes(events: &[Event]) {
    for pair in events.windows(2) {
        assert_eq!(pair[0].seq + 1, pair[1].seq, "hole after {}", pair[0].seq);
    }
}

fn issue(store: &Store, dept: &str) -> String {
    store
        .issue(&dept.into(), None, Actor::Button)
        .expect("issued")
        .ticket
        .label
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "ho-tich"), "1001");
    assert_eq!(issue(&store, "ho-tich"), "1002");
    assert_eq!(issue(&store, "dat-dai"), "A001");
    let called = store.call_next(1, staff()).unwrap();
    store.mark_printed(called.id).unwrap();
    let before = store.snapshot();
    let seq = store.last_seq();
    drop(store);

    let store = open(dir.path(), &config, &clock);
    assert_eq!(store.last_seq(), seq);
    assert_eq!(store.snapshot(), before);
    assert_eq!(issue(&store, "ho-tich"), "1003");
    let ticket = store.ticket(called.id).unwrap().unwrap();
    assert_eq!(ticket.state, TicketState::Called { counter: 1 });
    assert_eq!(ticket.print, PrintStatus::Printed);
    let events = all_events(&store);
    assert_eq!(events.first().map(|e| e.seq), Some(1));
    assert_no_holes(&events);
}

#[test]
fn a_snapshot_left_unfinished_by_a_kill_does_not_stop_the_store_opening() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "ho-tich"), "1001");
    assert_eq!(issue(&store, "ho-tich"), "1002");
    let seq = store.last_seq();
    drop(store);
    // What a kill leaves while sled writes its snapshot at an opening: a
    // partial `.generating` file, newer than the last finished snapshot.
    let unfinished = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&unfinished, b"partial snapshot, no length, no crc").unwrap();
    // sled lets the closed store's file lock go from a background thread:
    // the lock error is waited out.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let raw = loop {
        match sled::open(dir.path()) {
            Err(sled::Error::Io(e)) if std::time::Instant::now() < deadline => {
                eprintln!("waiting for sled's lock: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break other,
        }
    };
    assert!(
        matches!(raw, Err(sled::Error::Corruption { .. })),
        "sled itself refuses the store with the unfinished snapshot: {raw:?}"
    );
    drop(raw);

    let store = open(dir.path(), &config, &clock);
    assert_eq!(store.last_seq(), seq);
    assert_eq!(issue(&store, "ho-tich"), "1003");
    assert!(!unfinished.exists());
    assert!(dir
        .path()
        .join("unfinished-snap.7FFFFFFFFFFFFFFF.generating")
        .exists());
    assert_no_holes(&all_events(&store));
}

#[test]
fn numbers_restart_each_service_day_at_the_reset_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = center(); // day starts 04:00
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    issue(&store, "ho-tich");
    let left = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap()
        .ticket;
    // 03:00 the next morning still belongs to Thursday's service day.
    clock.set(local(2026, 11, 27, 3, 0));
    store.roll_service_day().unwrap();
    assert_eq!(store.service_day().unwrap().to_string(), "2026-11-26");
    clock.set(local(2026, 11, 27, 4, 0));
    store.roll_service_day().unwrap();
    assert_eq!(store.service_day().unwrap().to_string(), "2026-11-27");
    // Yesterday's unserved ticket was closed so its number cannot clash.
    assert_eq!(
        store.ticket(left.id).unwrap().unwrap().state,
        TicketState::Cancelled
    );
    clock.set(local(2026, 11, 27, 8, 0));
    assert_eq!(issue(&store, "ho-tich"), "1001");
    let started = all_events(&store)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::ServiceDayStarted { .. }))
        .count();
    assert_eq!(started, 2);
}

#[test]
fn a_clock_going_backwards_never_reopens_a_day_or_reuses_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(local(2026, 11, 27, 8, 0));
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "ho-tich"), "1001");
    // The Pi reboots without RTC and believes it is the day before.
    clock.set(local(2026, 11, 26, 9, 0));
    drop(store);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "ho-tich"), "1002");
    assert_eq!(issue(&store, "ho-tich"), "1003");
    assert_eq!(store.service_day().unwrap().to_string(), "2026-11-27");
    let backwards = |store: &Store| {
        all_events(store)
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::ClockWentBackwards { .. }))
            .count()
    };
    assert_eq!(backwards(&store), 1, "one event per jump");
    // Time sync brings it back; a second jump is recorded again.
    clock.set(local(2026, 11, 27, 9, 0));
    assert_eq!(issue(&store, "ho-tich"), "1004");
    clock.set(local(2026, 11, 25, 9, 0));
    assert_eq!(issue(&store, "ho-tich"), "1005");
    assert_eq!(backwards(&store), 2);
    assert_no_holes(&all_events(&store));
}

#[test]
fn daily_cap_and_block_end_refuse_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = center();
    config.departments[0].daily_cap = Some(2);
    config.departments[1].block.last = 3;
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    issue(&store, "ho-tich");
    issue(&store, "ho-tich");
    let err = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap_err();
    assert!(
        matches!(err, IssueError::DailyCapReached { cap: 2, .. }),
        "{err}"
    );
    assert!(err.citizen_message().contains("đã hết số"));
    assert!(err.to_string().contains("daily cap"));
    for _ in 0..3 {
        issue(&store, "dat-dai");
    }
    let err = store
        .issue(&"dat-dai".into(), None, Actor::Button)
        .unwrap_err();
    assert!(
        matches!(err, IssueError::BlockExhausted { last: 3, .. }),
        "{err}"
    );
    assert!(err.citizen_message().contains("đã hết số"));
}

#[test]
fn a_wrapping_block_starts_again_only_when_the_old_holder_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = center();
    config.departments[1].block.last = 2;
    config.departments[1].block.on_exhausted = Exhaustion::Wrap;
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "dat-dai"), "A001");
    assert_eq!(issue(&store, "dat-dai"), "A002");
    assert!(matches!(
        store.issue(&"dat-dai".into(), None, Actor::Button),
        Err(IssueError::BlockExhausted { .. })
    ));
    store.call_next(3, staff()).unwrap();
    store.finish(3, None, staff()).unwrap();
    assert_eq!(issue(&store, "dat-dai"), "A001");
}

#[test]
fn issuing_is_refused_outside_opening_hours_and_on_closed_days() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = center();
    // dat-dai only opens in the afternoon.
    config.departments[1].sessions = Some(vec![Session {
        name: "Chiều".into(),
        start: jiff::civil::time(13, 30, 0, 0),
        end: jiff::civil::time(17, 0, 0, 0),
    }]);
    let clock = ManualClock::new(local(2026, 11, 26, 12, 0));
    let store = open(dir.path(), &config, &clock);
    let err = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap_err();
    assert!(
        matches!(err, IssueError::OutsideOpeningHours { .. }),
        "{err}"
    );
    assert_eq!(err.citizen_message(), "Ngoài giờ làm việc.");
    clock.set(local(2026, 11, 26, 7, 30));
    assert_eq!(issue(&store, "ho-tich"), "1001");
    assert!(matches!(
        store.issue(&"dat-dai".into(), None, Actor::Button),
        Err(IssueError::OutsideOpeningHours { .. })
    ));
    clock.set(local(2026, 11, 26, 16, 59));
    assert_eq!(issue(&store, "dat-dai"), "A001");
    clock.set(local(2026, 11, 29, 9, 0)); // Sunday
    assert!(matches!(
        store.issue(&"ho-tich".into(), None, Actor::Button),
        Err(IssueError::ClosedDay { .. })
    ));
    assert!(matches!(
        store.issue(&"khong-co".into(), None, Actor::Button),
        Err(IssueError::UnknownDepartment { .. })
    ));
    assert!(matches!(
        store.issue(&"ho-tich".into(), Some("vip"), Actor::Button),
        Err(IssueError::UnknownPriorityClass { .. })
    ));
}

#[test]
fn priority_never_starves_normal_tickets_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = center(); // max_in_a_row = 2
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let normal = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap()
        .ticket
        .id;
    for _ in 0..5 {
        clock.advance(SignedDuration::from_secs(1));
        store
            .issue(&"ho-tich".into(), Some("khuyet-tat"), Actor::Button)
            .unwrap();
    }
    let mut calls = Vec::new();
    for _ in 0..3 {
        calls.push(store.call_next(1, staff()).unwrap().id);
    }
    assert_eq!(calls[2], normal, "the normal ticket is the third call");
}

#[test]
fn illegal_counter_moves_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &center(), &clock);
    assert!(matches!(
        store.call_next(1, staff()),
        Err(ActionError::NothingWaiting { counter: 1 })
    ));
    let t = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap()
        .ticket;
    assert!(matches!(
        store.finish(1, Some(t.id), staff()),
        Err(ActionError::NotCalledYet { .. })
    ));
    store.call_next(1, staff()).unwrap();
    assert!(matches!(
        store.finish(2, Some(t.id), staff()),
        Err(ActionError::BelongsToOtherCounter { counter: 1, .. })
    ));
    assert!(matches!(
        store.recall(7, None, staff()),
        Err(ActionError::UnknownCounter { counter: 7 })
    ));
}

#[test]
fn subscribers_get_every_event_after_their_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &center(), &clock);
    issue(&store, "ho-tich");
    let (snapshot, mut events) = store.subscribe_with_snapshot();
    assert_eq!(snapshot.departments[0].waiting, 1);
    let t = store.call_next(2, staff()).unwrap();
    store.mark_print_failed(t.id, "paper out").unwrap();
    store
        .record_fault("printer_paper_out", "printer reports paper end")
        .unwrap();
    let got: Vec<Event> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert_eq!(got.first().map(|e| e.seq), Some(snapshot.last_seq + 1));
    assert_no_holes(&got);
    assert!(matches!(
        got[0].kind,
        EventKind::Called {
            counter: 2,
            recall: false,
            ..
        }
    ));
    assert!(matches!(got[1].kind, EventKind::PrintFailed { .. }));
    assert!(matches!(got[2].kind, EventKind::Fault { .. }));
    assert_eq!(
        store.ticket(t.id).unwrap().unwrap().print,
        PrintStatus::Failed
    );
    let (since, _rx) = store.subscribe_since(snapshot.last_seq, 100).unwrap();
    assert_eq!(since, EventsSince::Events(got));
    let snap = store.snapshot();
    assert_eq!(snap.last_calls[0].ticket, t.id);
    assert_eq!(
        snap.counters[1].current.as_ref().map(|c| c.ticket),
        Some(t.id)
    );
}

#[test]
fn retention_summarises_and_removes_old_days() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = center();
    config.kiosk.retention_days = 2;
    config.center.closed_weekdays.clear();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let mut first_ids = Vec::new();
    for day in 20..=25 {
        clock.set(local(2026, 11, day, 8, 0));
        let t = store
            .issue(&"ho-tich".into(), None, Actor::Button)
            .unwrap()
            .ticket;
        first_ids.push(t.id);
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        clock.advance(SignedDuration::from_secs(600));
        store.call_next(1, staff()).unwrap();
        store.start_serving(1, None, staff()).unwrap();
        clock.advance(SignedDuration::from_secs(300));
        store.finish(1, None, staff()).unwrap();
        store.call_next(1, staff()).unwrap();
        store.no_show(1, None, staff()).unwrap();
    }
    let before = store.last_seq();
    let report = store.prune().unwrap();
    assert_eq!(report.days, vec!["2026-11-20", "2026-11-21", "2026-11-22"]);
    assert_eq!(report.tickets, 6);
    assert!(store.ticket(first_ids[0]).unwrap().is_none());
    assert!(store.ticket(first_ids[3]).unwrap().is_some());
    // Removed days (20–22) and packed days (23, 24) all have summaries.
    let summaries = store.summaries().unwrap();
    assert_eq!(summaries.len(), 5);
    assert_eq!(report.packed_days, vec!["2026-11-23", "2026-11-24"]);
    let s = &summaries[0];
    assert_eq!((s.issued, s.served, s.no_show), (2, 1, 1));
    assert_eq!(s.waiting.max_secs, 900);
    assert_eq!(s.service.mean_secs, 300);
    assert!(matches!(
        store.events_since(0, 10).unwrap(),
        EventsSince::Gap { .. }
    ));
    assert_eq!(
        store.last_seq(),
        before + 1,
        "one Pruned event, numbering continues"
    );
    // Reopen: still consistent and numbering continues.
    drop(store);
    let store = open(dir.path(), &config, &clock);
    let EventsSince::Gap { oldest_kept_seq } = store.events_since(0, 10).unwrap() else {
        panic!("expected a gap");
    };
    let EventsSince::Events(rest) = store.events_since(oldest_kept_seq - 1, usize::MAX).unwrap()
    else {
        panic!("expected events");
    };
    assert_eq!(rest.first().map(|e| e.seq), Some(oldest_kept_seq));
    assert_eq!(rest.last().map(|e| e.seq), Some(before + 1));
    assert_no_holes(&rest);
    assert!(store.prune().unwrap().days.is_empty());
}

#[test]
fn a_reload_reaches_every_holder_at_once_and_an_operation_keeps_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let holder = store.config().clone();
    let before = holder.load();

    let mut reloaded = config.clone();
    reloaded.departments[0].name = "Hộ tịch (mới)".into();
    store
        .config()
        .replace(std::sync::Arc::new(reloaded.clone()));
    // Every clone of the handle sees the new value, and the store uses it.
    assert_eq!(holder.load().departments[0].name, "Hộ tịch (mới)");
    assert_eq!(store.snapshot().departments[0].name, "Hộ tịch (mới)");
    // An operation started under the old value finishes under it, even
    // though the live one no longer has the department it asks for.
    let mut without = reloaded;
    without.departments.retain(|d| d.id.as_str() != "dat-dai");
    without.counters.retain(|c| c.number == 1);
    store.config().replace(std::sync::Arc::new(without));
    assert!(matches!(
        store.issue(&"dat-dai".into(), None, Actor::Button),
        Err(IssueError::UnknownDepartment { .. })
    ));
    let issued = store
        .issue_under(&before, &"dat-dai".into(), None, Actor::Button)
        .unwrap();
    assert_eq!(issued.ticket.label, "A001");
}

#[test]
fn opening_waits_for_a_lock_that_is_being_released_and_names_one_that_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    // Someone else holds the data directory for a moment, then lets go.
    let held = sled::open(dir.path()).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    let store = open(dir.path(), &config, &clock);
    release.join().unwrap();
    issue(&store, "ho-tich");
    drop(store);

    // A holder that never lets go is reported, after the wait (on a
    // directory of its own: the store just dropped may itself hold the
    // lock of the first one for a moment, which is the point above).
    let other = tempfile::tempdir().unwrap();
    let _held = sled::open(other.path()).unwrap();
    let err = Store::open(
        other.path(),
        std::sync::Arc::new(config),
        std::sync::Arc::new(clock),
        &queue_store::store::StoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no other kiosk process uses it"),
        "{err}"
    );
}

#[test]
fn maintenance_reopens_in_place_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    assert_eq!(issue(&store, "ho-tich"), "1001");
    assert_eq!(issue(&store, "dat-dai"), "A001");
    let called = store.call_next(1, staff()).unwrap();
    let before = store.snapshot();
    let mut events = store.subscribe();

    store.maintain().expect("maintenance");

    assert_eq!(store.snapshot(), before);
    assert_eq!(store.ticket(called.id).unwrap().unwrap().id, called.id);
    assert_eq!(issue(&store, "ho-tich"), "1002");
    // Subscribers keep receiving across the reopen.
    let event = events.try_recv().expect("the issue after maintenance");
    assert_eq!(event.seq, before.last_seq + 1);
    assert_no_holes(&all_events(&store));
}

#[test]
fn presses_during_maintenance_wait_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let presser = {
        let store = store.clone();
        std::thread::spawn(move || {
            (0..60)
                .map(|_| issue(&store, "ho-tich"))
                .collect::<Vec<_>>()
        })
    };
    for _ in 0..5 {
        store.maintain().expect("maintenance");
    }
    let labels = presser.join().unwrap();
    let expected: Vec<String> = (1001..1061).map(|n| n.to_string()).collect();
    assert_eq!(
        labels, expected,
        "numbers continue without a gap or a repeat"
    );
    drop(store);

    let store = open(dir.path(), &config, &clock);
    let stored: Vec<String> = store
        .day_tickets(store.service_day().unwrap())
        .unwrap()
        .into_iter()
        .map(|t| t.label)
        .collect();
    assert_eq!(stored, expected, "every issued ticket is on disk");
    assert_eq!(issue(&store, "ho-tich"), "1061");
    assert_no_holes(&all_events(&store));
}
