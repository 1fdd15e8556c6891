//! The report's counter-work figures, from a real store's log: the share
//! served within the department's target, a no-show brought back and then
//! served, and the time each counter and officer spent open, paused and
//! closed — in the JSON model and in the table.

mod store_support;

use std::time::Duration;

use jiff::civil::date;
use jiff::SignedDuration;
use queue_protocol::{Actor, CounterStatus};
use queue_store::clock::ManualClock;
use queue_store::report::format::{write_csv, write_table};
use queue_store::report::{from_store, GroupBy, ReportRequest};
use store_support::{center, morning, open};

fn staff(name: &str) -> Actor {
    Actor::Staff { name: name.into() }
}

fn request(by: GroupBy) -> ReportRequest {
    ReportRequest {
        from: date(2026, 11, 26),
        to: date(2026, 11, 26),
        by,
        daily: false,
    }
}

#[test]
fn share_within_target_and_time_in_each_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = center();
    // ho-tich: a 10-minute target; dat-dai has none.
    config.departments[0].target_wait = Some(Duration::from_secs(600));
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let mins = |m: i64| clock.advance(SignedDuration::from_mins(m));
    for _ in 0..3 {
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    }
    store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
    // 08:00 lan takes counter 1 (sets its status: counting starts).
    store
        .set_counter_status(
            1,
            CounterStatus::Open,
            Some("Nguyễn Thị Lan".into()),
            staff("lan"),
        )
        .unwrap();
    mins(5);
    // 08:05 first ticket called: within its 10 minutes; served.
    store.call_next(1, staff("lan")).unwrap();
    store.finish(1, None, staff("lan")).unwrap();
    // 08:05–08:15 lan pauses for a meeting.
    store
        .set_counter_status(
            1,
            CounterStatus::Paused {
                reason: "Họp".into(),
            },
            None,
            staff("lan"),
        )
        .unwrap();
    mins(10);
    store
        .set_counter_status(1, CounterStatus::Open, None, staff("lan"))
        .unwrap();
    // 08:15 the second ticket (waited 15 minutes, over target) does not come,
    // is brought back and served at 08:20 — still counted from its first call.
    let gone = store.call_next(1, staff("lan")).unwrap();
    store.no_show(1, None, staff("lan")).unwrap();
    store.bring_back(1, gone.id, staff("lan")).unwrap();
    mins(5);
    assert_eq!(store.call_next(1, staff("lan")).unwrap().id, gone.id);
    store.finish(1, None, staff("lan")).unwrap();
    // 08:20 hung takes counter 2 over and serves dat-dai (no target).
    store
        .set_counter_status(2, CounterStatus::Closed, None, staff("hung"))
        .unwrap();
    mins(10);
    store
        .set_counter_status(2, CounterStatus::Open, None, staff("hung"))
        .unwrap();
    store.call_next(3, staff("hung")).unwrap();
    store.finish(3, None, staff("hung")).unwrap();
    // 08:30 lan closes counter 1; the log ends at 08:40.
    store
        .set_counter_status(1, CounterStatus::Closed, None, staff("lan"))
        .unwrap();
    mins(10);
    store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();

    let by_department = from_store(&store, &config, request(GroupBy::Department)).unwrap();
    let ho_tich = &by_department.rows[0];
    assert_eq!(ho_tich.key, "ho-tich");
    assert_eq!(ho_tich.served, 2);
    assert_eq!(ho_tich.no_show, 0, "brought back and served");
    assert_eq!(ho_tich.within_target_pct, Some(50.0));
    assert_eq!(by_department.rows[1].within_target_pct, None, "no target");
    assert_eq!(by_department.total.within_target_pct, Some(50.0));

    let by_counter = from_store(&store, &config, request(GroupBy::Counter)).unwrap();
    let counter_1 = by_counter.rows.iter().find(|r| r.key == "1").unwrap();
    // Its stays: served, no-show (then brought back), served.
    assert_eq!((counter_1.served, counter_1.no_show), (2, 1));
    assert_eq!(counter_1.within_target_pct, Some(50.0));

    let times: Vec<(&str, &str, [u64; 3])> = by_counter
        .status_time
        .iter()
        .map(|t| {
            (
                t.by.as_str(),
                t.key.as_str(),
                [t.open_secs, t.paused_secs, t.closed_secs],
            )
        })
        .collect();
    assert_eq!(
        times,
        vec![
            // Counter 1: open 08:00–08:05 and 08:15–08:30, paused 10 min,
            // closed 08:30–08:40.
            ("counter", "1", [20 * 60, 10 * 60, 10 * 60]),
            // Counter 2: closed 08:20–08:30, open 08:30–08:40.
            ("counter", "2", [10 * 60, 0, 10 * 60]),
            ("staff", "hung", [10 * 60, 0, 10 * 60]),
            ("staff", "lan", [20 * 60, 10 * 60, 10 * 60]),
        ]
    );

    let mut table = Vec::new();
    write_table(&by_department, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("in target"), "{table}");
    assert!(table.contains("50.0%"), "{table}");
    assert!(table.contains("time in status"), "{table}");
    assert!(table.contains("Quầy 1"), "{table}");
    let mut csv = Vec::new();
    write_csv(&by_department, false, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",within_target_pct"));
    assert!(
        csv.contains(",50\r\n") || csv.contains(",50.0\r\n"),
        "{csv}"
    );
}

#[test]
fn without_targets_or_status_changes_the_report_keeps_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    store.call_next(1, staff("lan")).unwrap();
    store.finish(1, None, staff("lan")).unwrap();
    let report = from_store(&store, &config, request(GroupBy::Department)).unwrap();
    assert_eq!(report.total.within_target_pct, None);
    assert!(report.status_time.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.get("status_time").is_none());
    let mut table = Vec::new();
    write_table(&report, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(!table.contains("in target") && !table.contains("time in status"));
}
