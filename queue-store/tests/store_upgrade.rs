//! Every released disk format keeps opening: each folder of
//! `tests/fixtures/` holds a data directory written by a past release (by
//! `make_fixture.rs` as it was then) and `expected.json`, what that release
//! reported of it. Opened by today's store, the data must give the same
//! reports, snapshot, tickets, events and summaries, and numbering must go on
//! from where it stopped.
//!
//! When the stored format changes, add a fixture (see `make_fixture.rs`);
//! never edit or remove an old one.

#[path = "store_support/mod.rs"]
mod store_support;

mod raw_sled;

use std::path::{Path, PathBuf};

use queue_protocol::{Actor, Event, EventKind, Ticket};
use queue_store::clock::ManualClock;
use queue_store::report::{from_store, ReportRequest};
use queue_store::store::{EventsSince, Store};
use raw_sled::raw_open;
use serde_json::Value;
use store_support::{copy_dir, fixture_center, open};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no fixture in {}", root.display());
    dirs
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// `actual` cut down to the fields `expected` has, at every depth: a wire
/// type such as the snapshot or a report may gain fields after a release
/// (additively, with serde defaults, like `time_zone` or a row's
/// `ratings`); every field the release reported must stay the same.
fn as_reported(actual: Value, expected: &Value) -> Value {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => Value::Object(
            actual
                .into_iter()
                .filter_map(|(key, value)| {
                    let reported = expected.get(&key)?;
                    Some((key, as_reported(value, reported)))
                })
                .collect(),
        ),
        (Value::Array(actual), Value::Array(expected)) if actual.len() == expected.len() => {
            Value::Array(
                actual
                    .into_iter()
                    .zip(expected)
                    .map(|(value, reported)| as_reported(value, reported))
                    .collect(),
            )
        }
        (actual, _) => actual,
    }
}

fn all_events(store: &Store) -> Vec<Event> {
    let after = store.oldest_kept_seq().saturating_sub(1);
    match store.events_since(after, 100_000).unwrap() {
        EventsSince::Events(events) => events,
        EventsSince::Gap { oldest_kept_seq } => panic!("gap at {oldest_kept_seq}"),
    }
}

fn all_tickets(store: &Store) -> Vec<Ticket> {
    store
        .service_days()
        .into_iter()
        .flat_map(|day| store.day_tickets(day).unwrap())
        .collect()
}

#[test]
fn every_fixture_opens_with_the_figures_its_release_reported() {
    let config = fixture_center();
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(fixture.join("expected.json")).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        copy_dir(&fixture.join("data"), &data);
        let now: jiff::Timestamp = serde_json::from_value(expected["now"].clone()).unwrap();
        let clock = ManualClock::new(now);
        let store = open(&data, &config, &clock);

        for by in ["department", "counter", "staff", "hour"] {
            let request = ReportRequest::parse("2026-11-01", "2026-11-30", Some(by), true).unwrap();
            let report = from_store(&store, &config, request).unwrap();
            let reported = &expected[format!("report_{by}")];
            assert_eq!(
                as_reported(json(&report), reported),
                *reported,
                "{name}: report by {by}"
            );
        }
        assert_eq!(
            as_reported(json(&store.snapshot()), &expected["snapshot"]),
            expected["snapshot"],
            "{name}: snapshot"
        );
        assert_eq!(json(&store.last_seq()), expected["last_seq"], "{name}");
        assert_eq!(
            json(&store.oldest_kept_seq()),
            expected["oldest_kept_seq"],
            "{name}"
        );
        let days: Vec<String> = store
            .service_days()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(json(&days), expected["service_days"], "{name}: days");
        assert_eq!(
            json(&store.summaries().unwrap()),
            expected["summaries"],
            "{name}: summaries"
        );
        assert_eq!(
            json(&all_tickets(&store)),
            expected["tickets"],
            "{name}: tickets"
        );
        assert_eq!(
            json(&all_events(&store)),
            expected["events"],
            "{name}: events"
        );

        // Numbering goes on from where the release stopped, in the same day.
        let tickets: Vec<Ticket> = serde_json::from_value(expected["tickets"].clone()).unwrap();
        let today = expected["snapshot"]["service_day"].as_str().unwrap();
        let last_number = tickets
            .iter()
            .filter(|t| t.service_day == today && t.issued_department == "ho-tich")
            .map(|t| t.number)
            .max()
            .unwrap();
        let last_id = tickets.iter().map(|t| t.id.0).max().unwrap();
        let issued = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        assert_eq!(issued.ticket.number, last_number + 1, "{name}: next number");
        assert_eq!(issued.ticket.id.0, last_id + 1, "{name}: next ticket id");
        let last_seq = expected["last_seq"].as_u64().unwrap();
        assert_eq!(
            store.last_seq(),
            last_seq + 1,
            "{name}: next sequence number"
        );

        // And what the new release wrote reads back after a restart.
        drop(store);
        let store = open(&data, &config, &clock);
        assert_eq!(
            store.ticket(issued.ticket.id).unwrap(),
            Some(issued.ticket.clone())
        );
        let events = all_events(&store);
        assert!(matches!(
            &events.last().unwrap().kind,
            EventKind::TicketIssued { ticket, .. } if *ticket == issued.ticket.id
        ));
        let tomorrow = now + jiff::SignedDuration::from_hours(24);
        clock.set(tomorrow);
        store.roll_service_day().unwrap();
        let pruned = store.prune().unwrap();
        assert!(
            pruned.packed_days.contains(&today.to_owned()),
            "{name}: the fixture's live day is packed"
        );
        let next_day = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        assert_eq!(
            next_day.ticket.number, 1001,
            "{name}: a new day starts at the block's first number"
        );
        assert_eq!(
            json(&store.summaries().unwrap()).as_array().unwrap().len(),
            expected["summaries"].as_array().unwrap().len() + 2 * pruned.packed_days.len(),
            "{name}: each packed day has a summary per department"
        );
    }
}

#[test]
fn a_store_of_a_newer_format_is_refused_and_left_untouched() {
    let config = fixture_center();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let clock = ManualClock::new(store_support::morning());
    drop(open(&data, &config, &clock));
    {
        let db = raw_open(&data);
        assert_eq!(
            db.get(b"v").unwrap().as_deref(),
            Some(&b"2"[..]),
            "a new store names its format"
        );
        db.insert(b"v", &b"3"[..]).unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(
        &data,
        std::sync::Arc::new(config),
        std::sync::Arc::new(clock),
        &queue_store::store::StoreOptions::default(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("disk format 3"), "{message}");
    assert!(message.contains("install that newer kiosk"), "{message}");
    let db = raw_open(&data);
    assert_eq!(db.get(b"v").unwrap().as_deref(), Some(&b"3"[..]));
}

#[test]
fn an_older_store_is_marked_with_this_format_once_opened() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture.join("data"), &data);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixture.join("expected.json")).unwrap()).unwrap();
    let now: jiff::Timestamp = serde_json::from_value(expected["now"].clone()).unwrap();
    let clock = ManualClock::new(now);
    drop(open(&data, &fixture_center(), &clock));
    // A format-1 build would misread what this build writes from now on.
    let db = raw_open(&data);
    assert_eq!(
        db.get(b"v").unwrap().as_deref(),
        Some(queue_store::store::record::FORMAT.to_string().as_bytes())
    );
}
