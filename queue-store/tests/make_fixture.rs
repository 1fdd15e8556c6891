//! Writes a fixture data directory with the store of this release, for the
//! format-upgrade test. Run by hand when the stored format changes:
//!
//! ```sh
//! FIXTURE_DIR=queue-store/tests/fixtures/v2 cargo test -p queue-store --test make_fixture -- --ignored
//! ```
//!
//! `fixtures/v1` was written by format 1's release (before the lines marked
//! "format 2" below existed); `fixtures/v2` by format 2's, with a ticket
//! picked on the touch screen, a rating, a paused counter, a chosen call,
//! a parked ticket and a no-show brought back on every day.
//!
//! With `FIXTURE_JOURNAL=1` the data directory is what a power cut on the
//! last day leaves (`fixtures/v2-journal`, the journal's first format): sled's
//! files as they were right after that day's pruning (a checkpoint: the
//! journal empty, sled synced), and the journal as it was at the end,
//! holding the whole last day. Opened, it must give what the release
//! reported at the end.

#[path = "store_support/mod.rs"]
mod store_support;

use jiff::SignedDuration;
use queue_protocol::{Actor, CounterStatus};
use queue_store::clock::Clock;
use queue_store::clock::ManualClock;
use queue_store::report::{from_store, ReportRequest};
use queue_store::store::RatingRequest;
use store_support::{fixture_center, journal_record_ends, local, open, sled_image};

#[test]
#[ignore = "writes a fixture; run by hand when the stored format changes"]
fn write_fixture() {
    let dir = std::path::PathBuf::from(std::env::var("FIXTURE_DIR").expect("FIXTURE_DIR"));
    assert!(!dir.exists(), "{} exists already", dir.display());
    let data = dir.join("data");
    let journal = std::env::var_os("FIXTURE_JOURNAL").is_some();
    let image = dir.join("image");
    let config = fixture_center();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(&data, &config, &clock);
    let lan = Actor::Staff { name: "lan".into() };
    let minh = Actor::Staff {
        name: "minh".into(),
    };
    for day in 20..=26i8 {
        let k = i64::from(day - 19);
        clock.set(local(2026, 11, day, 7, 40));
        store.prune().unwrap();
        if day == 26 && journal {
            sled_image(&data, &image);
        }
        let a = store
            .issue(&"ho-tich".into(), Some("nguoi-cao-tuoi"), Actor::Button)
            .unwrap();
        store.mark_printed(a.ticket.id).unwrap();
        let b = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store.mark_printed(b.ticket.id).unwrap();
        let c = store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
        store.mark_print_failed(c.ticket.id, "paper out").unwrap();
        let d = store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
        store.mark_printed(d.ticket.id).unwrap();
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        clock.advance(SignedDuration::from_secs(60 * k));
        store.call_next(1, lan.clone()).unwrap();
        store.recall(1, None, lan.clone()).unwrap();
        store.start_serving(1, None, lan.clone()).unwrap();
        clock.advance(SignedDuration::from_secs(90 + 10 * k));
        store.finish(1, None, lan.clone()).unwrap();
        store.call_next(2, minh.clone()).unwrap();
        store
            .transfer_to_department(2, None, &"dat-dai".into(), minh.clone())
            .unwrap();
        store.call_next(3, Actor::Keypad { counter: 3 }).unwrap();
        clock.advance(SignedDuration::from_secs(45));
        store.finish(3, None, Actor::Keypad { counter: 3 }).unwrap();
        let gone = store.call_next(1, lan.clone()).unwrap();
        store.no_show(1, None, lan.clone()).unwrap();
        let f = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store
            .cancel(f.ticket.id, "citizen left", minh.clone())
            .unwrap();
        // Format 2: a service from the touch screen, a chosen call, a
        // parked ticket, a rating, a paused counter, a no-show brought back.
        let s = store
            .issue_service_under(
                &config,
                &"ho-tich".into(),
                Some("khai-sinh"),
                None,
                Actor::Touch,
            )
            .unwrap();
        store.mark_printed(s.ticket.id).unwrap();
        store
            .call_chosen(1, s.ticket.id, "Hẹn trước", lan.clone())
            .unwrap();
        store.start_serving(1, None, lan.clone()).unwrap();
        store.park(1, None, lan.clone()).unwrap();
        clock.advance(SignedDuration::from_secs(20));
        store.recall_parked(1, s.ticket.id, lan.clone()).unwrap();
        store.start_serving(1, None, lan.clone()).unwrap();
        clock.advance(SignedDuration::from_secs(30 + 5 * k));
        store.finish(1, None, lan.clone()).unwrap();
        store
            .rate(
                &RatingRequest {
                    counter: 1,
                    level: if day % 2 == 0 {
                        "very_satisfied"
                    } else {
                        "unsatisfied"
                    }
                    .into(),
                    source: "counter_button".into(),
                    ticket: None,
                    key: Some(format!("fixture-{day}")),
                },
                Actor::Keypad { counter: 1 },
            )
            .unwrap();
        store
            .set_counter_status(
                3,
                CounterStatus::Paused {
                    reason: "Họp".into(),
                },
                None,
                Actor::Keypad { counter: 3 },
            )
            .unwrap();
        clock.advance(SignedDuration::from_secs(60));
        store
            .set_counter_status(3, CounterStatus::Open, None, Actor::Keypad { counter: 3 })
            .unwrap();
        store.bring_back(1, gone.id, lan.clone()).unwrap();
        store
            .record_fault("printer_paper_out", "paper out")
            .unwrap();
        if day < 26 {
            store.call_next(3, Actor::Keypad { counter: 3 }).unwrap();
            store.finish(3, None, Actor::Keypad { counter: 3 }).unwrap();
        }
    }
    // The last day stays open: one ticket called at counter 2, one waiting.
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    store.call_next(2, minh.clone()).unwrap();
    let _ = store.issue(&"dat-dai".into(), Some("khuyet-tat"), Actor::Button);

    let mut expected = serde_json::Map::new();
    for by in ["department", "counter", "staff", "hour"] {
        let request = ReportRequest::parse("2026-11-01", "2026-11-30", Some(by), true).unwrap();
        let report = from_store(&store, &config, request).unwrap();
        expected.insert(
            format!("report_{by}"),
            serde_json::to_value(&report).unwrap(),
        );
    }
    expected.insert(
        "snapshot".into(),
        serde_json::to_value(store.snapshot()).unwrap(),
    );
    expected.insert("last_seq".into(), store.last_seq().into());
    expected.insert("oldest_kept_seq".into(), store.oldest_kept_seq().into());
    expected.insert(
        "service_days".into(),
        serde_json::to_value(
            store
                .service_days()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    expected.insert(
        "summaries".into(),
        serde_json::to_value(store.summaries().unwrap()).unwrap(),
    );
    let mut tickets = Vec::new();
    for day in store.service_days() {
        tickets.extend(store.day_tickets(day).unwrap());
    }
    expected.insert("tickets".into(), serde_json::to_value(&tickets).unwrap());
    let events = match store.events_since(0, 100_000).unwrap() {
        queue_store::store::EventsSince::Events(events) => events,
        queue_store::store::EventsSince::Gap { oldest_kept_seq } => {
            match store.events_since(oldest_kept_seq - 1, 100_000).unwrap() {
                queue_store::store::EventsSince::Events(events) => events,
                other => panic!("{other:?}"),
            }
        }
    };
    expected.insert("events".into(), serde_json::to_value(&events).unwrap());
    expected.insert("now".into(), serde_json::to_value(clock.now()).unwrap());
    drop(store);
    if journal {
        // The day's records: the journal's current epoch, from offset 0.
        let bytes = std::fs::read(data.join(queue_store::store::journal::FILE)).unwrap();
        let end = journal_record_ends(&bytes).last().copied().unwrap_or(0);
        assert!(end > 0, "the last day left no journal record");
        std::fs::remove_dir_all(&data).unwrap();
        std::fs::rename(&image, &data).unwrap();
        std::fs::write(data.join(queue_store::store::journal::FILE), &bytes[..end]).unwrap();
    }
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_vec_pretty(&expected).unwrap(),
    )
    .unwrap();
}
