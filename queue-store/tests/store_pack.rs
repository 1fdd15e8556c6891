//! Packing of finished service days and the event window: tickets of a
//! packed day are still found, reports still get every ticket of a past
//! day, old events give a gap, summaries stay, and who served a ticket is
//! kept on the ticket itself.

mod store_support;

mod raw_sled;

use jiff::civil::{date, Date};
use jiff::SignedDuration;
use kiosk_config::CenterConfig;
use queue_protocol::{Actor, EventKind, Ticket, TicketId, TicketState};
use queue_store::clock::ManualClock;
use queue_store::store::{ActionError, EventsSince, Store};
use store_support::{center, local, open};

fn staff(name: &str) -> Actor {
    Actor::Staff { name: name.into() }
}

fn every_day_open() -> CenterConfig {
    let mut config = center();
    config.center.closed_weekdays.clear();
    config.center.closed_dates.clear();
    config
}

/// One day on 2026-11-`day`: five tickets through different lives.
fn work_a_day(store: &Store, clock: &ManualClock, day: i8) -> Vec<TicketId> {
    clock.set(local(2026, 11, day, 8, 0));
    let mut ids = Vec::new();
    for dept in ["ho-tich", "ho-tich", "dat-dai", "ho-tich", "dat-dai"] {
        ids.push(
            store
                .issue(&dept.into(), None, Actor::Button)
                .unwrap()
                .ticket
                .id,
        );
        clock.advance(SignedDuration::from_secs(60));
    }
    store.mark_printed(ids[0]).unwrap();
    // Counter 1, staff "lan": serve one to the end, skip one as no-show.
    store.call_next(1, staff("lan")).unwrap();
    store.start_serving(1, None, staff("lan")).unwrap();
    clock.advance(SignedDuration::from_secs(300));
    store.finish(1, None, staff("lan")).unwrap();
    store.call_next(1, staff("lan")).unwrap();
    store.no_show(1, None, staff("lan")).unwrap();
    // Counter 3 by keypad: call and finish with "next".
    store.call_next(3, Actor::Keypad { counter: 3 }).unwrap();
    clock.advance(SignedDuration::from_secs(120));
    store.call_next(3, Actor::Keypad { counter: 3 }).unwrap();
    // Ticket 4 (ho-tich) stays waiting: the next day's rollover cancels it.
    ids
}

fn day(d: i8) -> Date {
    date(2026, 11, d)
}

#[test]
fn a_packed_day_keeps_every_ticket_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let config = every_day_open();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let first = work_a_day(&store, &clock, 20);
    let second = work_a_day(&store, &clock, 21);
    // Today (21) is never packed; yesterday (20) is finished.
    let before_20 = store.day_tickets(day(20)).unwrap();
    assert_eq!(
        before_20.iter().map(|t| t.id).collect::<Vec<_>>(),
        first,
        "in id order"
    );
    let report = store.prune().unwrap();
    assert_eq!(report.packed_days, vec!["2026-11-20"]);
    assert_eq!(report.packed_tickets, 5);
    assert!(report.days.is_empty());

    clock.set(local(2026, 11, 22, 8, 0));
    store.roll_service_day().unwrap();
    let before_21 = store.day_tickets(day(21)).unwrap();
    assert_eq!(before_21.len(), 5);
    let report = store.prune().unwrap();
    assert_eq!(report.packed_days, vec!["2026-11-21"]);

    // Every ticket still found by id, identical to before packing.
    for t in before_20.iter().chain(&before_21) {
        assert_eq!(store.ticket(t.id).unwrap().as_ref(), Some(t));
    }
    assert_eq!(store.day_tickets(day(20)).unwrap(), before_20);
    assert_eq!(store.day_tickets(day(21)).unwrap(), before_21);
    assert_eq!(store.service_days(), vec![day(20), day(21)]);
    assert!(store.day_tickets(day(19)).unwrap().is_empty());
    // Summaries are written when a day is packed.
    let summaries = store.summaries().unwrap();
    assert_eq!(summaries.len(), 4, "two departments on two days");
    let ho_tich_20 = &summaries[1];
    assert_eq!(
        (
            ho_tich_20.service_day.as_str(),
            ho_tich_20.department.as_str()
        ),
        ("2026-11-20", "ho-tich")
    );
    assert_eq!(
        (ho_tich_20.issued, ho_tich_20.served, ho_tich_20.no_show),
        (3, 1, 1)
    );
    assert_eq!(ho_tich_20.cancelled, 1, "left waiting at rollover");

    // History does not change: a print outcome for a packed ticket is refused.
    assert!(matches!(
        store.mark_printed(second[1]),
        Err(ActionError::TicketClosed { .. })
    ));

    // Reopen: the packs and the day index come back.
    drop(store);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(store.day_tickets(day(20)).unwrap(), before_20);
    assert_eq!(
        store.ticket(second[2]).unwrap().as_ref(),
        Some(&before_21[2])
    );
    assert!(store.prune().unwrap().packed_days.is_empty(), "packed once");
    let today = store
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap()
        .ticket;
    assert_eq!(today.label, "1001");
    assert_eq!(store.service_days(), vec![day(20), day(21), day(22)]);
    assert_eq!(store.day_tickets(day(22)).unwrap(), vec![today]);
}

#[test]
fn tickets_remember_the_counter_and_who_served_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = every_day_open();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let ids = work_a_day(&store, &clock, 20);
    let get = |id: TicketId| -> Ticket { store.ticket(id).unwrap().unwrap() };
    let served = get(ids[0]);
    assert_eq!(served.state, TicketState::Done);
    assert_eq!(served.counter, Some(1));
    assert_eq!(served.served_by.as_deref(), Some("lan"));
    let no_show = get(ids[1]);
    assert_eq!(no_show.state, TicketState::NoShow);
    assert_eq!(no_show.counter, Some(1));
    let by_keypad = get(ids[2]);
    assert_eq!(by_keypad.state, TicketState::Done);
    assert_eq!(by_keypad.counter, Some(3));
    assert_eq!(by_keypad.served_by.as_deref(), Some("keypad-3"));
    let waiting = get(ids[3]);
    assert_eq!((waiting.counter, waiting.served_by), (None, None));

    // Kept through packing.
    clock.set(local(2026, 11, 21, 8, 0));
    store.roll_service_day().unwrap();
    store.prune().unwrap();
    let packed = store.ticket(ids[0]).unwrap().unwrap();
    assert_eq!(packed.counter, Some(1));
    assert_eq!(packed.served_by.as_deref(), Some("lan"));
}

/// A store in `dir` after three worked days (20–22 November) and the roll
/// into the 23rd, nothing packed yet.
fn three_days_then_the_fourth(
    dir: &std::path::Path,
    config: &CenterConfig,
    clock: &ManualClock,
) -> Store {
    let store = open(dir, config, clock);
    for d in 20..=22 {
        work_a_day(&store, clock, d);
    }
    clock.set(local(2026, 11, 23, 8, 0));
    store.roll_service_day().unwrap();
    store
}

#[test]
fn events_older_than_the_window_are_removed_with_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let config = every_day_open();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = three_days_then_the_fourth(dir.path(), &config, &clock);
    let EventsSince::Events(all) = store.events_since(0, usize::MAX).unwrap() else {
        panic!("nothing pruned yet");
    };
    let day_start_seq = |d: &str| {
        all.iter()
            .find(|e| {
                matches!(&e.kind, EventKind::ServiceDayStarted { service_day, .. } if service_day == d)
            })
            .map(|e| e.seq)
            .unwrap()
    };
    let keep_from = day_start_seq("2026-11-22");
    let last_before = store.last_seq();

    let report = store.prune().unwrap();
    assert_eq!(
        report.events,
        usize::try_from(keep_from - 1).unwrap(),
        "days 20 and 21 go, 22 (yesterday) and 23 (today) stay"
    );
    assert_eq!(store.oldest_kept_seq(), keep_from);
    assert_eq!(
        store.events_since(0, 10).unwrap(),
        EventsSince::Gap {
            oldest_kept_seq: keep_from
        }
    );
    assert!(matches!(
        store.events_since(keep_from - 2, 10).unwrap(),
        EventsSince::Gap { .. }
    ));
    let EventsSince::Events(kept) = store.events_since(keep_from - 1, usize::MAX).unwrap() else {
        panic!("yesterday's events are kept");
    };
    assert_eq!(kept.first().map(|e| e.seq), Some(keep_from));
    assert_eq!(kept.last().map(|e| e.seq), Some(last_before + 1));
    for pair in kept.windows(2) {
        assert_eq!(pair[0].seq + 1, pair[1].seq);
    }
    assert!(matches!(
        &kept.last().unwrap().kind,
        EventKind::Pruned { days, oldest_kept_seq } if days.is_empty() && *oldest_kept_seq == keep_from
    ));
    // Tickets of days whose events are gone are still there, packed.
    assert_eq!(store.day_tickets(day(20)).unwrap().len(), 5);
    // Summaries of all three finished days.
    assert_eq!(store.summaries().unwrap().len(), 6);

    // Reopen: same window, numbering continues.
    drop(store);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(store.oldest_kept_seq(), keep_from);
    assert_eq!(store.last_seq(), last_before + 1);
    let report = store.prune().unwrap();
    assert_eq!((report.events, report.days.len()), (0, 0));
    assert_eq!(store.last_seq(), last_before + 1, "nothing to do, no event");

    // A one-day window keeps only today's events.
    store.set_event_days(1);
    store.prune().unwrap();
    assert_eq!(store.oldest_kept_seq(), day_start_seq("2026-11-23"));
}

#[test]
fn retention_removes_packs_but_keeps_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = every_day_open();
    config.kiosk.retention_days = 2;
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let mut ids = Vec::new();
    for d in 20..=21 {
        ids.push(work_a_day(&store, &clock, d));
        // Packed the day after, like the daemon does.
        clock.set(local(2026, 11, d + 1, 4, 30));
        store.roll_service_day().unwrap();
        store.prune().unwrap();
    }
    assert_eq!(store.service_days(), vec![day(20), day(21)]);
    clock.set(local(2026, 11, 23, 4, 30));
    store.roll_service_day().unwrap();
    let report = store.prune().unwrap();
    assert_eq!(report.days, vec!["2026-11-20"]);
    assert_eq!(report.tickets, 5);
    assert!(store.ticket(ids[0][0]).unwrap().is_none());
    assert!(store.day_tickets(day(20)).unwrap().is_empty());
    assert!(store.ticket(ids[1][0]).unwrap().is_some());
    assert_eq!(store.service_days(), vec![day(21)]);
    let summaries = store.summaries().unwrap();
    assert_eq!(summaries.len(), 4, "day 20 summarised forever, 21 too");
    assert_eq!(summaries[0].service_day, "2026-11-20");
}

/// The records of the default tree whose keys start with `prefix`, read
/// with the store closed.
fn raw_records(dir: &std::path::Path, prefix: &[u8]) -> Vec<(sled::IVec, sled::IVec)> {
    let db = raw_sled::raw_open(dir);
    db.scan_prefix(prefix).map(Result::unwrap).collect()
}

/// Write `records` back as they were, with the store closed: what a crash
/// between a pack (or a new `oldest_kept_seq`) and the batched removal of
/// the records it replaces leaves on disk.
fn put_back(dir: &std::path::Path, records: &[(sled::IVec, sled::IVec)]) {
    let db = raw_sled::raw_open(dir);
    for (k, v) in records {
        db.insert(k, v.clone()).unwrap();
    }
    db.flush().unwrap();
}

#[test]
fn records_a_crash_leaves_after_a_pack_are_never_read_and_go_at_the_next_prune() {
    let dir = tempfile::tempdir().unwrap();
    let config = every_day_open();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = three_days_then_the_fourth(dir.path(), &config, &clock);
    drop(store);
    let tickets = raw_records(dir.path(), b"t/");
    let events = raw_records(dir.path(), b"e/");

    let store = open(dir.path(), &config, &clock);
    let report = store.prune().unwrap();
    assert_eq!(report.packed_tickets, 15, "days 20, 21 and 22 packed");
    let keep_from = store.oldest_kept_seq();
    assert!(keep_from > 1, "days 20 and 21 lose their events");
    let last_seq = store.last_seq();
    let packed: Vec<Ticket> = (20..=22)
        .flat_map(|d| store.day_tickets(day(d)).unwrap())
        .collect();
    drop(store);
    assert_eq!(raw_records(dir.path(), b"t/"), Vec::new(), "copies removed");
    assert!(raw_records(dir.path(), b"e/")
        .iter()
        .all(|(k, _)| k.as_ref()
            >= [b"e/".as_slice(), &keep_from.to_be_bytes()]
                .concat()
                .as_slice()));

    // As if killed right after the pack's transaction and the new
    // `oldest_kept_seq`: every ticket record and every old event is back.
    put_back(dir.path(), &tickets);
    put_back(dir.path(), &events);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(store.oldest_kept_seq(), keep_from);
    assert_eq!(
        store.events_since(0, 10).unwrap(),
        EventsSince::Gap {
            oldest_kept_seq: keep_from
        },
        "events under oldest_kept_seq are not served"
    );
    for t in &packed {
        assert_eq!(store.ticket(t.id).unwrap().as_ref(), Some(t));
    }
    assert_eq!(store.day_tickets(day(21)).unwrap().len(), 5);
    let report = store.prune().unwrap();
    assert_eq!(report.packed_tickets, 0, "nothing left to pack");
    assert_eq!(report.events, usize::try_from(keep_from - 1).unwrap());
    assert!(store.last_seq() > last_seq, "the removal is recorded");
    for t in &packed {
        assert_eq!(store.ticket(t.id).unwrap().as_ref(), Some(t));
    }
    drop(store);
    assert_eq!(raw_records(dir.path(), b"t/"), Vec::new());
    assert!(raw_records(dir.path(), b"e/")
        .iter()
        .all(|(k, _)| k.as_ref()
            >= [b"e/".as_slice(), &keep_from.to_be_bytes()]
                .concat()
                .as_slice()));
}
