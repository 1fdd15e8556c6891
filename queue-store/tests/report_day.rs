//! A scripted service day replayed through the report, with every figure
//! known in advance, checked in each grouping and each format.
//!
//! The day (Thursday 2026-11-26 in Huế, UTC+7), departments `ho-tich` and
//! `dat-dai`, counters 1 (lan), 2 (minh), 3 (keypad):
//!
//! | ticket | issued | life |
//! |---|---|---|
//! | 1001 | 08:00 | called c1 by lan 08:05, start 08:06, finish 08:16 |
//! | 1002 priority | 08:10 | called c2 by minh 08:12, recall 08:13, finished 08:20 by "next" |
//! | 1003 | 08:30 | called c1 by lan 08:40, no-show 08:45 |
//! | A001 | 09:00 | called c3 by keypad 09:01, start 09:02, transferred to ho-tich 09:03, called c1 by lan 09:10, start 09:10, finish 09:40 |
//! | A002 priority | 09:30 | never called; cancelled when the day ended |
//! | 1004 | 10:15 | cancelled by lan 10:20 |
//!
//! plus a ticket of the next day, which no report of the 26th may count.

#[path = "store_support/mod.rs"]
mod store_support;

use jiff::civil::date;
use queue_protocol::{Actor, Event, EventKind, TicketId};
use queue_store::report::format::{csv_header, write, Format, CSV_HEADER};
use queue_store::report::{
    BusyHour, Durations, GroupBy, LevelCount, RatingFigures, Report, ReportBuilder, ReportRequest,
    Row,
};

fn at(day: i8, h: i8, m: i8) -> i64 {
    store_support::local(2026, 11, day, h, m).as_millisecond()
}

fn staff(name: &str) -> Actor {
    Actor::Staff { name: name.into() }
}

fn issued(t: u64, day: &str, dep: &str, n: u32, label: &str, prio: bool) -> EventKind {
    EventKind::TicketIssued {
        ticket: TicketId(t),
        service_day: day.into(),
        department: dep.into(),
        number: n,
        label: label.into(),
        priority: prio.then(|| "nguoi-cao-tuoi".to_string()),
        waiting_ahead: 0,
        actor: Actor::Button,
        service: None,
    }
}

fn called(t: u64, label: &str, c: u16, dep: &str, recall: bool, actor: Actor) -> EventKind {
    EventKind::Called {
        ticket: TicketId(t),
        label: label.into(),
        counter: c,
        department: dep.into(),
        recall,
        actor,
        service: None,
    }
}

fn started(t: u64, label: &str, c: u16, dep: &str, actor: Actor) -> EventKind {
    EventKind::ServingStarted {
        ticket: TicketId(t),
        label: label.into(),
        counter: c,
        department: dep.into(),
        actor,
    }
}

fn finished(t: u64, label: &str, c: u16, dep: &str, actor: Actor) -> EventKind {
    EventKind::Finished {
        ticket: TicketId(t),
        label: label.into(),
        counter: c,
        department: dep.into(),
        actor,
    }
}

fn cancelled(t: u64, label: &str, dep: &str, reason: &str, actor: Actor) -> EventKind {
    EventKind::Cancelled {
        ticket: TicketId(t),
        label: label.into(),
        department: dep.into(),
        reason: reason.into(),
        actor,
    }
}

/// The scripted log, in order.
fn day_log() -> Vec<Event> {
    let d = "2026-11-26";
    let keypad = Actor::Keypad { counter: 3 };
    let kinds: Vec<(i64, EventKind)> = vec![
        (
            at(26, 4, 0),
            EventKind::ServiceDayStarted {
                service_day: d.into(),
                previous: None,
            },
        ),
        (at(26, 8, 0), issued(1, d, "ho-tich", 1001, "1001", false)),
        (
            at(26, 8, 0),
            EventKind::Printed {
                ticket: TicketId(1),
            },
        ),
        (
            at(26, 8, 5),
            called(1, "1001", 1, "ho-tich", false, staff("lan")),
        ),
        (at(26, 8, 6), started(1, "1001", 1, "ho-tich", staff("lan"))),
        (at(26, 8, 10), issued(2, d, "ho-tich", 1002, "1002", true)),
        (
            at(26, 8, 12),
            called(2, "1002", 2, "ho-tich", false, staff("minh")),
        ),
        (
            at(26, 8, 13),
            called(2, "1002", 2, "ho-tich", true, staff("minh")),
        ),
        (
            at(26, 8, 16),
            finished(1, "1001", 1, "ho-tich", staff("lan")),
        ),
        (
            at(26, 8, 20),
            finished(2, "1002", 2, "ho-tich", Actor::System),
        ),
        (at(26, 8, 30), issued(3, d, "ho-tich", 1003, "1003", false)),
        (
            at(26, 8, 40),
            called(3, "1003", 1, "ho-tich", false, staff("lan")),
        ),
        (
            at(26, 8, 45),
            EventKind::NoShow {
                ticket: TicketId(3),
                label: "1003".into(),
                counter: 1,
                department: "ho-tich".into(),
                actor: staff("lan"),
            },
        ),
        (at(26, 9, 0), issued(4, d, "dat-dai", 1, "A001", false)),
        (
            at(26, 9, 1),
            called(4, "A001", 3, "dat-dai", false, keypad.clone()),
        ),
        (
            at(26, 9, 2),
            started(4, "A001", 3, "dat-dai", keypad.clone()),
        ),
        (
            at(26, 9, 3),
            EventKind::Transferred {
                ticket: TicketId(4),
                label: "A001".into(),
                from_department: "dat-dai".into(),
                to_department: "ho-tich".into(),
                from_counter: Some(3),
                to_counter: None,
                actor: keypad,
            },
        ),
        (
            at(26, 9, 10),
            called(4, "A001", 1, "ho-tich", false, staff("lan")),
        ),
        (
            at(26, 9, 10),
            started(4, "A001", 1, "ho-tich", staff("lan")),
        ),
        (at(26, 9, 30), issued(5, d, "dat-dai", 2, "A002", true)),
        (
            at(26, 9, 40),
            finished(4, "A001", 1, "ho-tich", staff("lan")),
        ),
        (at(26, 10, 15), issued(6, d, "ho-tich", 1004, "1004", false)),
        (
            at(26, 10, 20),
            cancelled(6, "1004", "ho-tich", "citizen left", staff("lan")),
        ),
        (
            at(27, 4, 0),
            cancelled(5, "A002", "dat-dai", "service day ended", Actor::System),
        ),
        (
            at(27, 4, 0),
            EventKind::ServiceDayStarted {
                service_day: "2026-11-27".into(),
                previous: Some(d.into()),
            },
        ),
        (
            at(27, 8, 0),
            issued(7, "2026-11-27", "ho-tich", 1001, "1001", false),
        ),
        (
            at(27, 8, 1),
            called(7, "1001", 1, "ho-tich", false, staff("lan")),
        ),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (at_ms, kind))| Event {
            seq: i as u64 + 1,
            at_ms,
            kind,
        })
        .collect()
}

fn report(by: GroupBy, daily: bool) -> Report {
    let config = store_support::center();
    let request = ReportRequest {
        from: date(2026, 11, 26),
        to: date(2026, 11, 26),
        by,
        daily,
    };
    let mut builder = ReportBuilder::new(&config, request);
    for event in day_log() {
        builder.add_event(&event);
    }
    builder.finish(&config, &[])
}

fn durations(count: u32, mean: u64, p50: u64, p90: u64, max: u64) -> Durations {
    Durations {
        count,
        mean_secs: Some(mean),
        p50_secs: Some(p50),
        p90_secs: Some(p90),
        max_secs: Some(max),
    }
}

/// A total row: `[called, served, no_show, transferred, cancelled, priority]`.
#[allow(clippy::too_many_arguments)]
fn row(
    key: &str,
    name: &str,
    issued: Option<u32>,
    [called, served, no_show, transferred, cancelled, priority]: [u32; 6],
    share: f64,
    waiting: Durations,
    service: Durations,
    busiest: (u8, u32),
) -> Row {
    Row {
        service_day: None,
        key: key.into(),
        name: name.into(),
        issued,
        called,
        served,
        no_show,
        transferred,
        cancelled,
        priority: Some(priority),
        priority_share_pct: Some(share),
        waiting,
        service,
        busiest_hour: Some(BusyHour {
            hour: busiest.0,
            tickets: busiest.1,
        }),
        summary_days: 0,
        within_target_pct: None,
        ratings: no_ratings(served),
    }
}

/// The rating figures of a row nobody rated (ratings are checked in
/// `report_ratings.rs`).
fn no_ratings(served: u32) -> RatingFigures {
    RatingFigures {
        total: 0,
        levels: ["very_satisfied", "satisfied", "unsatisfied"]
            .map(|level| LevelCount {
                level: level.into(),
                count: 0,
            })
            .to_vec(),
        satisfied_share_pct: None,
        per_served: (served > 0).then_some(0.0),
    }
}

fn department_rows() -> (Vec<Row>, Row) {
    let ho_tich = row(
        "ho-tich",
        "Phòng ho-tich",
        Some(4),
        [3, 2, 1, 0, 1, 1],
        25.0,
        durations(3, 340, 300, 600, 600),
        durations(2, 540, 600, 600, 600),
        (8, 3),
    );
    let dat_dai = row(
        "dat-dai",
        "Phòng dat-dai",
        Some(2),
        [1, 1, 0, 1, 1, 1],
        50.0,
        durations(1, 60, 60, 60, 60),
        durations(1, 1800, 1800, 1800, 1800),
        (9, 2),
    );
    let total = row(
        "total",
        "Tổng cộng",
        Some(6),
        [4, 3, 1, 1, 2, 2],
        33.3,
        durations(4, 270, 300, 600, 600),
        durations(3, 960, 600, 1800, 1800),
        (8, 3),
    );
    (vec![ho_tich, dat_dai], total)
}

#[test]
fn department_figures() {
    let report = report(GroupBy::Department, false);
    let (rows, total) = department_rows();
    assert_eq!(report.rows, rows);
    assert_eq!(report.total, total);
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("2026-11-26", "2026-11-26")
    );
    assert_eq!(report.timezone, "Asia/Ho_Chi_Minh");
    assert!(report.summary_days.is_empty() && report.notes.is_empty() && report.daily.is_empty());
}

fn counter_rows(by: GroupBy) -> Vec<Row> {
    let staff = by == GroupBy::Staff;
    let c1 = row(
        if staff { "lan" } else { "1" },
        if staff { "lan" } else { "Quầy 1" },
        None,
        [3, 2, 1, 0, 0, 0],
        0.0,
        durations(2, 450, 600, 600, 600),
        durations(2, 1200, 1800, 1800, 1800),
        (8, 2),
    );
    let c2 = row(
        if staff { "minh" } else { "2" },
        if staff { "minh" } else { "Quầy 2" },
        None,
        [1, 1, 0, 0, 0, 1],
        100.0,
        durations(1, 120, 120, 120, 120),
        durations(1, 480, 480, 480, 480),
        (8, 1),
    );
    let c3 = row(
        if staff { "keypad-3" } else { "3" },
        if staff { "keypad-3" } else { "Quầy 3" },
        None,
        [1, 0, 0, 1, 0, 0],
        0.0,
        durations(1, 60, 60, 60, 60),
        Durations::default(),
        (9, 1),
    );
    if staff {
        vec![c3, c1, c2]
    } else {
        vec![c1, c2, c3]
    }
}

#[test]
fn counter_and_staff_figures() {
    for by in [GroupBy::Counter, GroupBy::Staff] {
        let report = report(by, false);
        assert_eq!(report.rows, counter_rows(by), "{by:?}");
        let t = &report.total;
        assert_eq!(t.issued, None);
        assert_eq!(
            [t.called, t.served, t.no_show, t.transferred, t.cancelled],
            [5, 3, 1, 1, 0],
            "{by:?}"
        );
        assert_eq!(t.priority_share_pct, Some(20.0));
        assert_eq!(t.waiting, durations(4, 270, 300, 600, 600));
        assert_eq!(t.service, durations(3, 960, 600, 1800, 1800));
    }
}

#[test]
fn hour_figures() {
    let report = report(GroupBy::Hour, false);
    let keys: Vec<&str> = report.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["08", "09", "10"]);
    let h8 = &report.rows[0];
    assert_eq!(h8.name, "08:00–08:59");
    assert_eq!(
        (
            h8.issued,
            h8.called,
            h8.served,
            h8.no_show,
            h8.cancelled,
            h8.priority_share_pct
        ),
        (Some(3), 3, 2, 1, 0, Some(33.3))
    );
    assert_eq!(h8.waiting, durations(3, 340, 300, 600, 600));
    let h9 = &report.rows[1];
    assert_eq!(
        (
            h9.issued,
            h9.called,
            h9.served,
            h9.transferred,
            h9.cancelled,
            h9.priority
        ),
        (Some(2), 1, 1, 1, 1, Some(1))
    );
    let h10 = &report.rows[2];
    assert_eq!((h10.issued, h10.called, h10.cancelled), (Some(1), 0, 1));
    assert_eq!(h10.waiting, Durations::default());
    assert_eq!(report.total.issued, Some(6));
}

#[test]
fn daily_rows_of_a_one_day_range_equal_the_totals() {
    let report = report(GroupBy::Department, true);
    let (rows, _) = department_rows();
    assert_eq!(report.daily.len(), 2);
    for (daily, total) in report.daily.iter().zip(rows) {
        assert_eq!(daily.service_day.as_deref(), Some("2026-11-26"));
        assert_eq!(
            Row {
                service_day: None,
                ..daily.clone()
            },
            total
        );
    }
}

#[test]
fn the_next_day_is_its_own() {
    let config = store_support::center();
    let request =
        ReportRequest::parse("2026-11-27", "2026-11-27", Some("department"), false).unwrap();
    let mut builder = ReportBuilder::new(&config, request);
    for event in day_log() {
        builder.add_event(&event);
    }
    let report = builder.finish(&config, &[]);
    assert_eq!(report.total.issued, Some(1));
    assert_eq!(report.total.called, 1);
    assert_eq!(report.total.waiting.max_secs, Some(60));
}

fn render(report: &Report, format: Format, bom: bool) -> String {
    let mut out = Vec::new();
    write(report, format, bom, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn json_format_carries_every_figure() {
    let report = report(GroupBy::Department, false);
    let text = render(&report, Format::Json, false);
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["by"], "department");
    assert_eq!(json["rows"][0]["key"], "ho-tich");
    assert_eq!(json["rows"][0]["issued"], 4);
    assert_eq!(json["rows"][0]["waiting"]["p50_secs"], 300);
    assert_eq!(json["rows"][0]["waiting"]["p90_secs"], 600);
    assert_eq!(json["rows"][0]["service"]["mean_secs"], 540);
    assert_eq!(json["rows"][0]["priority_share_pct"], 25.0);
    assert_eq!(json["rows"][0]["busiest_hour"]["hour"], 8);
    assert_eq!(json["total"]["waiting"]["mean_secs"], 270);
}

#[test]
fn csv_format_is_rfc4180_with_every_figure() {
    let report = report(GroupBy::Department, false);
    let text = render(&report, Format::Csv, true);
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let text = text.trim_start_matches('\u{feff}');
    assert!(text.ends_with("\r\n"));
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines.len(),
        3,
        "header and one line per department:\n{text}"
    );
    assert!(lines[0].starts_with(&CSV_HEADER.join(",")));
    assert_eq!(lines[0], csv_header(&report).join(","));
    assert!(lines[0].ends_with(
        ",rated,rated_very_satisfied,rated_satisfied,rated_unsatisfied,satisfied_share_pct,ratings_per_served"
    ));
    assert_eq!(
        lines[1],
        "2026-11-26..2026-11-26,department,ho-tich,Phòng ho-tich,4,3,2,1,0,1,1,25,3,300,600,600,340,2,540,600,8,3,0,0,0,0,,0"
    );
    assert_eq!(
        lines[2],
        "2026-11-26..2026-11-26,department,dat-dai,Phòng dat-dai,2,1,1,0,1,1,1,50,1,60,60,60,60,1,1800,1800,9,2,0,0,0,0,,0"
    );
    let without_bom = render(&report, Format::Csv, false);
    assert!(without_bom.starts_with("service_day,"));
}

#[test]
fn csv_quotes_fields_that_need_it_and_leaves_unknowns_empty() {
    let mut report = report(GroupBy::Counter, true);
    report.daily[0].name = "Quầy 1, \"một cửa\"".into();
    let text = render(&report, Format::Csv, false);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[1],
        "2026-11-26,counter,1,\"Quầy 1, \"\"một cửa\"\"\",,3,2,1,0,0,0,0,2,600,600,600,450,2,1200,1800,8,2,0,0,0,0,,0"
    );
    // Counter 3 served nobody: empty service figures.
    assert!(
        lines[3].ends_with(",1,60,60,60,60,0,,,9,1,0,0,0,0,,"),
        "{}",
        lines[3]
    );
}

fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn table_format_is_aligned_and_readable() {
    let report = report(GroupBy::Department, false);
    let text = render(&report, Format::Table, false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Trung tâm Hành chính công quận Phú Xuân — 2026-11-26 .. 2026-11-26 (by department, hours in Asia/Ho_Chi_Minh)"
    );
    let header = lines[2];
    for column in [
        "department",
        "issued",
        "wait p50",
        "wait p90",
        "wait max",
        "serv. mean",
        "serv. p90",
        "busiest hour",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let ho_tich = lines
        .iter()
        .find(|l| l.starts_with("Phòng ho-tich"))
        .unwrap();
    assert_eq!(
        cells(ho_tich),
        [
            "Phòng ho-tich",
            "4",
            "3",
            "2",
            "1",
            "0",
            "1",
            "25.0%",
            "5m00s",
            "10m00s",
            "10m00s",
            "9m00s",
            "10m00s",
            "08h (3)",
            "0",
            "0",
            "0",
            "0",
            "-",
            "0.00"
        ]
    );
    let total = lines.iter().find(|l| l.starts_with("Tổng cộng")).unwrap();
    assert_eq!(
        cells(total),
        [
            "Tổng cộng",
            "6",
            "4",
            "3",
            "1",
            "1",
            "2",
            "33.3%",
            "5m00s",
            "10m00s",
            "10m00s",
            "16m00s",
            "30m00s",
            "08h (3)",
            "0",
            "0",
            "0",
            "0",
            "-",
            "0.00"
        ]
    );
    // Numbers are right-aligned: every row ends where the header ends.
    let width = |l: &str| l.chars().count();
    assert_eq!(width(ho_tich), width(header));
    assert_eq!(width(total), width(header));
}

#[test]
fn table_shows_unknown_figures_as_dashes() {
    let report = report(GroupBy::Counter, false);
    let text = render(&report, Format::Table, false);
    let c3 = text.lines().find(|l| l.starts_with("Quầy 3")).unwrap();
    assert_eq!(
        cells(c3),
        [
            "Quầy 3", "-", "1", "0", "0", "1", "0", "0.0%", "1m00s", "1m00s", "1m00s", "-", "-",
            "09h (1)", "0", "0", "0", "0", "-", "-"
        ]
    );
}

#[test]
fn bad_requests_say_what_to_write() {
    let err = ReportRequest::parse("26/11/2026", "2026-11-26", None, false).unwrap_err();
    assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    let err = ReportRequest::parse("2026-11-27", "2026-11-26", None, false).unwrap_err();
    assert!(err.to_string().contains("swap"), "{err}");
    let err = ReportRequest::parse("2026-11-26", "2026-11-26", Some("week"), false).unwrap_err();
    assert!(
        err.to_string()
            .contains("department, counter, staff, hour or service"),
        "{err}"
    );
}
