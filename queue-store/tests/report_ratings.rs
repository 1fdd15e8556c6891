//! A scripted day with ratings, run through the real store (so every rating
//! passes the attach rule), reported by staff, department and counter in
//! every format, and again after the day was packed.
//!
//! Thursday 2026-11-26; counter 1 is lan, counter 2 minh, counter 3 a keypad:
//!
//! | ticket | served at | rated |
//! |---|---|---|
//! | 1001 ho-tich | c1 lan | very_satisfied (button) |
//! | 1002 ho-tich | c2 minh | satisfied (touch) |
//! | 1003 ho-tich | c1 lan | unsatisfied (button) |
//! | A001 dat-dai | c3 keypad | very_satisfied (button) |
//! | 1004 ho-tich | c1 lan | — |
//! | A002 dat-dai | c2 minh | satisfied (touch) |

mod store_support;

use jiff::civil::date;
use jiff::SignedDuration;
use kiosk_config::CenterConfig;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::report::format::{write, write_ratings_csv, write_ratings_table, Format};
use queue_store::report::{from_store, GroupBy, Report, ReportRequest, Row};
use queue_store::store::{RatingRequest, Store};
use store_support::{center, local, open};

fn config() -> CenterConfig {
    let mut config = center();
    config.center.closed_weekdays.clear();
    config.center.closed_dates.clear();
    config.center.sessions.clear();
    config
}

fn staff(name: &str) -> Actor {
    Actor::Staff { name: name.into() }
}

/// Serve the next ticket at `counter` for five minutes, then rate it.
fn serve(
    store: &Store,
    clock: &ManualClock,
    counter: u16,
    actor: Actor,
    rating: Option<(&str, &str)>,
) {
    store.call_next(counter, actor.clone()).unwrap();
    if !matches!(actor, Actor::Keypad { .. }) {
        store.start_serving(counter, None, actor.clone()).unwrap();
    }
    clock.advance(SignedDuration::from_secs(300));
    store.finish(counter, None, actor).unwrap();
    clock.advance(SignedDuration::from_secs(30));
    if let Some((level, source)) = rating {
        let request = RatingRequest {
            counter,
            level: level.into(),
            source: source.into(),
            ticket: None,
            key: None,
        };
        store
            .rate(&request, Actor::Keypad { counter })
            .expect("rating attaches");
    }
}

fn the_day(dir: &std::path::Path) -> (ManualClock, Store) {
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir, &config(), &clock);
    for dept in [
        "ho-tich", "ho-tich", "ho-tich", "dat-dai", "ho-tich", "dat-dai",
    ] {
        store.issue(&dept.into(), None, Actor::Button).unwrap();
    }
    let keypad = Actor::Keypad { counter: 3 };
    serve(
        &store,
        &clock,
        1,
        staff("lan"),
        Some(("very_satisfied", "counter_button")),
    );
    serve(
        &store,
        &clock,
        2,
        staff("minh"),
        Some(("satisfied", "counter_touch")),
    );
    serve(
        &store,
        &clock,
        1,
        staff("lan"),
        Some(("unsatisfied", "counter_button")),
    );
    serve(
        &store,
        &clock,
        3,
        keypad,
        Some(("very_satisfied", "counter_button")),
    );
    serve(&store, &clock, 1, staff("lan"), None);
    serve(
        &store,
        &clock,
        2,
        staff("minh"),
        Some(("satisfied", "counter_touch")),
    );
    (clock, store)
}

fn report(store: &Store, by: GroupBy) -> Report {
    let day = date(2026, 11, 26);
    let request = ReportRequest {
        from: day,
        to: day,
        by,
        daily: false,
    };
    from_store(store, &config(), request).unwrap()
}

/// `(key, served, ratings, [very, satisfied, unsatisfied], share, per served)`.
type Expected = (&'static str, u32, u32, [u32; 3], f64, f64);

fn check(rows: &[Row], total: &Row, want: &[Expected], want_total: Expected) {
    let got = |r: &Row| {
        let levels: Vec<u32> = r.ratings.levels.iter().map(|l| l.count).collect();
        (
            r.key.clone(),
            r.served,
            r.ratings.total,
            levels,
            r.ratings.satisfied_share_pct,
            r.ratings.per_served,
        )
    };
    let expect = |e: &Expected| (e.0.to_owned(), e.1, e.2, e.3.to_vec(), Some(e.4), Some(e.5));
    let rows: Vec<_> = rows.iter().map(got).collect();
    let want: Vec<_> = want.iter().map(expect).collect();
    assert_eq!(rows, want);
    assert_eq!(got(total), expect(&want_total));
}

const STAFF: [Expected; 3] = [
    ("keypad-3", 1, 1, [1, 0, 0], 100.0, 1.0),
    ("lan", 3, 2, [1, 0, 1], 50.0, 0.67),
    ("minh", 2, 2, [0, 2, 0], 100.0, 1.0),
];
const TOTAL: Expected = ("total", 6, 5, [2, 2, 1], 80.0, 0.83);

fn check_all(store: &Store) {
    let by_staff = report(store, GroupBy::Staff);
    check(&by_staff.rows, &by_staff.total, &STAFF, TOTAL);
    let by_department = report(store, GroupBy::Department);
    check(
        &by_department.rows,
        &by_department.total,
        &[
            ("ho-tich", 4, 3, [1, 1, 1], 66.7, 0.75),
            ("dat-dai", 2, 2, [1, 1, 0], 100.0, 1.0),
        ],
        TOTAL,
    );
    let by_counter = report(store, GroupBy::Counter);
    check(
        &by_counter.rows,
        &by_counter.total,
        &[
            ("1", 3, 2, [1, 0, 1], 50.0, 0.67),
            ("2", 2, 2, [0, 2, 0], 100.0, 1.0),
            ("3", 1, 1, [1, 0, 0], 100.0, 1.0),
        ],
        TOTAL,
    );
}

#[test]
fn the_rated_day_by_staff_department_and_counter() {
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = the_day(dir.path());
    check_all(&store);
    let by_hour = report(&store, GroupBy::Hour);
    assert_eq!(
        by_hour.total.ratings,
        Default::default(),
        "no ratings by hour"
    );
}

#[test]
fn a_packed_day_reports_the_same_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, store) = the_day(dir.path());
    clock.set(local(2026, 11, 28, 8, 0));
    store.roll_service_day().unwrap();
    store.set_event_days(1);
    let pruned = store.prune().unwrap();
    assert_eq!(pruned.packed_days, vec!["2026-11-26"]);
    assert!(pruned.events > 0, "the day's events are gone: {pruned:?}");
    check_all(&store);
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn the_ratings_table_is_the_per_officer_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = the_day(dir.path());
    let report = report(&store, GroupBy::Staff);
    let text = render(|out| write_ratings_table(&report, out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        cells(lines[2]),
        [
            "officer",
            "ratings",
            "Rất hài lòng",
            "Hài lòng",
            "Không hài lòng",
            "satisfied"
        ]
    );
    let lan = lines.iter().find(|l| l.starts_with("lan")).unwrap();
    assert_eq!(cells(lan), ["lan", "2", "1", "0", "1", "50.0%"]);
    let total = lines.iter().find(|l| l.starts_with("Tổng cộng")).unwrap();
    assert_eq!(cells(total), ["Tổng cộng", "5", "2", "2", "1", "80.0%"]);
    assert!(
        text.contains("satisfied = Rất hài lòng + Hài lòng"),
        "{text}"
    );
}

#[test]
fn the_ratings_csv_has_a_bom_and_one_line_per_officer() {
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = the_day(dir.path());
    let report = report(&store, GroupBy::Staff);
    let text = render(|out| write_ratings_csv(&report, true, out));
    assert!(text.starts_with('\u{feff}'));
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines,
        [
            "officer,ratings,very_satisfied,satisfied,unsatisfied,satisfied_share_pct",
            "keypad-3,1,1,0,0,100",
            "lan,2,1,0,1,50",
            "minh,2,0,2,0,100",
        ]
    );
}

#[test]
fn the_full_report_formats_carry_the_rating_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (_clock, store) = the_day(dir.path());
    let report = report(&store, GroupBy::Staff);
    let csv = render(|out| write(&report, Format::Csv, false, out));
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].ends_with(
        "rated,rated_very_satisfied,rated_satisfied,rated_unsatisfied,satisfied_share_pct,ratings_per_served"
    ));
    let lan = lines.iter().find(|l| l.contains(",staff,lan,")).unwrap();
    assert!(lan.ends_with(",2,1,0,1,50,0.67"), "{lan}");
    let json = render(|out| write(&report, Format::Json, false, out));
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["total"]["ratings"]["total"], 5);
    assert_eq!(value["total"]["ratings"]["satisfied_share_pct"], 80.0);
    assert_eq!(value["levels"][2]["id"], "unsatisfied");
    assert_eq!(value["levels"][1]["satisfied"], true);
    let table = render(|out| write(&report, Format::Table, false, out));
    let minh = table.lines().find(|l| l.starts_with("minh")).unwrap();
    assert!(
        cells(minh).ends_with(&["2", "0", "2", "0", "100.0%", "1.00"]),
        "{minh}"
    );
}
