//! Reports over days that retention removed: the same department figures
//! from the kept summaries as from the log before pruning, and a clear note
//! about what is no longer known.

#[path = "store_support/mod.rs"]
mod store_support;

use jiff::SignedDuration;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::report::{from_store, GroupBy, Report, ReportRequest, Row};
use queue_store::store::Store;
use store_support::{center, local, open};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

/// Six days, 20–25 November 2026, each with two `ho-tich` tickets (one
/// served, one no-show) and one `dat-dai` ticket served without "start";
/// waits grow by a minute a day. Retention keeps two days.
fn six_days(dir: &std::path::Path) -> (Store, kiosk_config::CenterConfig) {
    let mut config = center();
    config.kiosk.retention_days = 2;
    config.center.closed_weekdays.clear();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = open(dir, &config, &clock);
    for day in 20..=25i8 {
        let k = i64::from(day - 19);
        clock.set(local(2026, 11, day, 8, 0));
        store
            .issue(&"ho-tich".into(), Some("nguoi-cao-tuoi"), Actor::Button)
            .unwrap();
        store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
        store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
        clock.advance(SignedDuration::from_secs(60 * k));
        store.call_next(1, staff()).unwrap();
        store.start_serving(1, None, staff()).unwrap();
        clock.advance(SignedDuration::from_secs(120));
        store.finish(1, None, staff()).unwrap();
        store.call_next(1, staff()).unwrap();
        store.no_show(1, None, staff()).unwrap();
        store.call_next(3, staff()).unwrap();
        clock.advance(SignedDuration::from_secs(30));
        store.finish(3, None, staff()).unwrap();
    }
    (store, config)
}

fn report(
    store: &Store,
    config: &kiosk_config::CenterConfig,
    from: &str,
    to: &str,
    by: &str,
) -> Report {
    let request = ReportRequest::parse(from, to, Some(by), true).unwrap();
    from_store(store, config, request).unwrap()
}

/// The figures a kept summary can carry: day, key, issued, counts, durations.
type SummaryFigures = (
    Option<String>,
    String,
    Option<u32>,
    [u32; 6],
    [Option<u64>; 5],
);

/// The figures a kept summary can carry.
fn summary_figures(row: &Row) -> SummaryFigures {
    (
        row.service_day.clone(),
        row.key.clone(),
        row.issued,
        [
            row.called,
            row.served,
            row.no_show,
            row.transferred,
            row.cancelled,
            row.waiting.count,
        ],
        [
            row.waiting.mean_secs,
            row.waiting.p90_secs,
            row.waiting.max_secs,
            row.service.mean_secs,
            row.service.p90_secs,
        ],
    )
}

#[test]
fn pruned_days_report_the_same_department_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = six_days(dir.path());
    let before = report(&store, &config, "2026-11-20", "2026-11-25", "department");
    assert!(before.summary_days.is_empty());
    assert_eq!(before.total.issued, Some(18));

    let pruned = store.prune().unwrap();
    assert_eq!(pruned.days, ["2026-11-20", "2026-11-21", "2026-11-22"]);
    // Day 23 keeps its tickets (packed) but not its events: the middle tier.
    assert!(store
        .service_days()
        .contains(&jiff::civil::date(2026, 11, 23)));
    let first_kept = match store.events_since(0, 1).unwrap() {
        queue_store::store::EventsSince::Gap { oldest_kept_seq } => oldest_kept_seq,
        queue_store::store::EventsSince::Events(e) => e[0].seq,
    };
    let queue_store::store::EventsSince::Events(kept) =
        store.events_since(first_kept - 1, 1000).unwrap()
    else {
        panic!("no gap from the oldest kept event")
    };
    assert!(kept.iter().all(|e| !matches!(
        &e.kind,
        queue_protocol::EventKind::TicketIssued { service_day, .. } if service_day.as_str() < "2026-11-24"
    )));
    let after = report(&store, &config, "2026-11-20", "2026-11-25", "department");
    assert_eq!(
        after.summary_days,
        ["2026-11-20", "2026-11-21", "2026-11-22"]
    );
    assert_eq!(after.notes.len(), 1);
    assert!(
        after.notes[0].contains("removed by retention"),
        "{:?}",
        after.notes
    );

    // Every daily row: the same counts, means, p90s and maxima.
    assert_eq!(before.daily.len(), 12);
    assert_eq!(after.daily.len(), 12);
    for (b, a) in before.daily.iter().zip(&after.daily) {
        assert_eq!(summary_figures(a), summary_figures(b));
        let pruned_day = a.service_day.as_deref() < Some("2026-11-23");
        if pruned_day {
            assert_eq!(a.summary_days, 1);
            assert_eq!(a.waiting.p50_secs, None, "no median in a summary");
            assert_eq!(
                (a.priority, a.priority_share_pct, &a.busiest_hour),
                (None, None, &None)
            );
        } else {
            assert_eq!(a, b, "days still in the log are untouched");
        }
    }
    // Day 21 of ho-tich: waits of 120 s and 240 s.
    let d21 = &after.daily[2];
    assert_eq!(
        (d21.service_day.as_deref(), d21.key.as_str()),
        (Some("2026-11-21"), "ho-tich")
    );
    assert_eq!(d21.waiting.p90_secs, Some(240));
    assert_eq!(d21.service.mean_secs, Some(120));

    // Totals over the range: counts, means and maxima still exact;
    // percentiles over mixed days are not knowable.
    for (b, a) in before.rows.iter().zip(&after.rows) {
        assert_eq!(
            (a.issued, a.called, a.served, a.no_show, a.cancelled),
            (b.issued, b.called, b.served, b.no_show, b.cancelled)
        );
        assert_eq!(a.waiting.count, b.waiting.count);
        assert_eq!(a.waiting.mean_secs, b.waiting.mean_secs);
        assert_eq!(a.waiting.max_secs, b.waiting.max_secs);
        assert_eq!(a.service.mean_secs, b.service.mean_secs);
        assert_eq!((a.waiting.p50_secs, a.waiting.p90_secs), (None, None));
        assert_eq!(a.summary_days, 3);
    }
    assert_eq!(after.total.issued, Some(18));
    assert_eq!(after.total.summary_days, 3);
}

#[test]
fn one_pruned_day_keeps_its_p90() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = six_days(dir.path());
    let before = report(&store, &config, "2026-11-22", "2026-11-22", "department");
    store.prune().unwrap();
    let after = report(&store, &config, "2026-11-22", "2026-11-22", "department");
    for (b, a) in before.rows.iter().zip(&after.rows) {
        assert_eq!(summary_figures(a), summary_figures(b));
        assert_eq!(a.waiting.p90_secs, b.waiting.p90_secs);
        assert!(a.waiting.p90_secs.is_some());
    }
}

#[test]
fn other_groupings_say_pruned_days_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = six_days(dir.path());
    store.prune().unwrap();
    let by_counter = report(&store, &config, "2026-11-20", "2026-11-25", "counter");
    assert_eq!(by_counter.by, GroupBy::Counter);
    // Three days left in the log, three stays a day.
    assert_eq!(by_counter.total.called, 9);
    assert_eq!(by_counter.summary_days.len(), 3);
    assert!(
        by_counter.notes[0].contains("--by department"),
        "{:?}",
        by_counter.notes
    );
    let by_staff = report(&store, &config, "2026-11-23", "2026-11-25", "staff");
    assert_eq!(by_staff.rows.len(), 1);
    assert_eq!(
        (by_staff.rows[0].key.as_str(), by_staff.rows[0].called),
        ("lan", 9)
    );
    assert_eq!(by_staff.rows[0].served, 6);
    assert_eq!(by_staff.rows[0].no_show, 3);
    let only_pruned = report(&store, &config, "2026-11-20", "2026-11-22", "staff");
    assert!(only_pruned.rows.is_empty());
    assert_eq!(only_pruned.total.called, 0);
}
