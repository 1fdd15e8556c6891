//! The day rollups give exactly the report the per-ticket facts give, by
//! every grouping, through what changes a day after it was rolled up: late
//! first calls and ratings (in a batch that also starts the next day), a
//! replay, a backfill of an already streamed day, a summary-only day,
//! ingest while reports run, and the migration that builds the rollups of
//! the days a hub already holds.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;
mod traffic;

use std::time::Duration;

use api_support::{Setup, TestKiosk};
use city_hub::config::{Center, HubConfig};
use city_hub::db::RawEvent;
use city_hub::report::{report, report_from_facts, GroupBy, Row};
use city_hub::Db;
use display_daemon::http::{BaseUrl, Client};
use pg_support::PgCluster;
use queue_protocol::{DaySummary, DurationStats};
use serde_json::{json, Value};
use traffic::{timed_day, wait_ingested};

/// Asserts the rollup report equals the facts report by every grouping
/// over `from..=to`; returns the rows, every grouping in turn.
async fn same_as_facts(db: &Db, from: &str, to: &str, when: &str) -> Vec<Row> {
    let mut all = Vec::new();
    for by in GroupBy::ALL {
        let rolled = report(db, from, to, by).await.expect("rollup report");
        let facts = report_from_facts(db, from, to, by)
            .await
            .expect("facts report");
        assert_eq!(rolled.rows, facts.rows, "{when}: by {by:?}");
        assert_eq!(rolled.summary_only, facts.summary_only, "{when}: by {by:?}");
        assert_eq!(rolled.notes, facts.notes, "{when}: by {by:?}");
        all.extend(rolled.rows);
    }
    all
}

fn row<'a>(rows: &'a [Row], center: &str, key: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.center == center && r.key == key)
        .unwrap_or_else(|| panic!("no row {center} {key:?} in {rows:?}"))
}

const D1: &str = "2026-11-24";
const D2: &str = "2026-11-25";
/// 2026-11-24 08:00 in Huế (UTC+7), Unix ms.
const D1_AT: i64 = 1_795_482_000_000;
const D2_AT: i64 = D1_AT + 86_400_000;

fn events(first_seq: u64, kinds: Vec<(i64, Value)>) -> Vec<RawEvent> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (at_ms, kind))| RawEvent {
            seq: first_seq + i as u64,
            at_ms,
            kind,
        })
        .collect()
}

fn issued(ticket: u64, day: &str, department: &str) -> Value {
    json!({"type": "ticket_issued", "ticket": ticket, "service_day": day, "department": department,
           "number": 1000 + ticket, "label": format!("{}", 1000 + ticket), "priority": null,
           "ahead": 0, "actor": {"type": "button"}})
}

fn at_counter(kind: &str, ticket: u64, counter: u16, staff: &str) -> Value {
    let mut v = json!({"type": kind, "ticket": ticket, "label": format!("{}", 1000 + ticket),
                       "counter": counter, "department": "ho-tich",
                       "actor": {"type": "staff", "name": staff}});
    if kind == "called" {
        v["recall"] = json!(false);
    }
    v
}

fn rated(ticket: u64, staff: Option<&str>, level: &str) -> Value {
    json!({"type": "rated", "ticket": ticket, "label": format!("{}", 1000 + ticket), "counter": 1,
           "department": "ho-tich", "staff": staff, "level": level, "source": "counter_button",
           "actor": {"type": "system"}})
}

fn minutes(day_at: i64, m: i64) -> i64 {
    day_at + m * 60_000 + 7_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_equal_the_facts_through_late_events_backfill_and_the_migration() {
    let pg = PgCluster::start();
    let db = Db::new(&pg.database()).unwrap();
    db.migrate().await.unwrap();

    // Day one at a center fed raw events: ticket 2 waits uncalled, 3 is a
    // no-show at a keypad.
    let day_one = events(
        1,
        vec![
            (
                D1_AT,
                json!({"type": "service_day_started", "service_day": D1, "previous": null}),
            ),
            (minutes(D1_AT, 1), issued(1, D1, "ho-tich")),
            (minutes(D1_AT, 2), issued(2, D1, "ho-tich")),
            (minutes(D1_AT, 65), issued(3, D1, "dat-dai")),
            (minutes(D1_AT, 9), at_counter("called", 1, 1, "lan")),
            (
                minutes(D1_AT, 10),
                at_counter("serving_started", 1, 1, "lan"),
            ),
            (minutes(D1_AT, 17), at_counter("finished", 1, 1, "lan")),
            (
                minutes(D1_AT, 70),
                json!({"type": "called", "ticket": 3, "label": "1003", "counter": 3,
                       "department": "dat-dai", "recall": false,
                       "actor": {"type": "keypad", "counter": 3}}),
            ),
            (
                minutes(D1_AT, 72),
                json!({"type": "no_show", "ticket": 3, "label": "1003", "counter": 3,
                       "department": "dat-dai", "actor": {"type": "keypad", "counter": 3}}),
            ),
        ],
    );
    db.insert_raw("late", &day_one).await.unwrap();
    let before = same_as_facts(&db, D1, D2, "day one rolled up").await;
    let ho_tich = row(&before, "late", "ho-tich");
    assert_eq!((ho_tich.issued, ho_tich.waiting.count), (Some(2), 1));

    // Late, in one batch with the next day's start: ticket 2's first call
    // and finish, and a rating of ticket 1.
    let late = events(
        10,
        vec![
            (
                D2_AT,
                json!({"type": "service_day_started", "service_day": D2, "previous": D1}),
            ),
            (minutes(D2_AT, 1), issued(4, D2, "ho-tich")),
            (minutes(D2_AT, 2), at_counter("called", 2, 2, "minh")),
            (minutes(D2_AT, 9), at_counter("finished", 2, 2, "minh")),
            (minutes(D2_AT, 10), rated(1, Some("lan"), "very_satisfied")),
            (minutes(D2_AT, 12), at_counter("called", 4, 1, "lan")),
            (minutes(D2_AT, 20), at_counter("finished", 4, 1, "lan")),
        ],
    );
    db.insert_raw("late", &late).await.unwrap();
    let after = same_as_facts(&db, D1, D2, "late events").await;
    let day_one_rows = report(&db, D1, D1, GroupBy::Day).await.unwrap().rows;
    let d1 = row(&day_one_rows, "late", D1);
    assert_eq!(
        d1.waiting.count, 3,
        "ticket 2's late first call counts on day one"
    );
    assert_eq!(d1.served, 2);
    assert_eq!(d1.ratings_total, 1, "the late rating counts on day one");
    assert_eq!(row(&after, "late", "minh").served, 1);
    // A replay of the late batch changes nothing.
    assert_eq!(db.insert_raw("late", &late).await.unwrap(), 0);
    assert_eq!(same_as_facts(&db, D1, D2, "replay").await, after);

    // A kiosk's streamed day, then a rating the hub stores later.
    let kiosk = TestKiosk::start(Setup::default()).await;
    timed_day(&kiosk, 30, 4).await;
    let center = Center {
        id: "phu-hoi".into(),
        name: "Phú Hội".into(),
        url: BaseUrl::parse(&format!("http://{}", kiosk.addr)).unwrap(),
        token: kiosk.reader_token.clone(),
    };
    let hub = city_hub::start(&HubConfig {
        database: pg.database(),
        batch_events: 40,
        linger: Duration::from_millis(20),
        centers: vec![center.clone()],
        listen: None,
        accounts: None,
    })
    .await
    .unwrap();
    let last = kiosk.app.store().last_seq();
    wait_ingested(&hub, "phu-hoi", &kiosk).await;
    hub.stop().await;
    let day = kiosk.app.store().service_day().unwrap().to_string();
    let streamed = same_as_facts(&db, &day, &day, "streamed day").await;
    let late_rating = events(
        last + 1,
        vec![(minutes(D2_AT, 600), rated(1, Some("lan"), "neutral"))],
    );
    db.insert_raw("phu-hoi", &late_rating).await.unwrap();
    let rated_rows = same_as_facts(&db, &day, &day, "late rating of a streamed day").await;
    assert_eq!(row(&streamed, "phu-hoi", "").ratings_total, 0);
    assert_eq!(row(&rated_rows, "phu-hoi", "").ratings_total, 1);

    // The same day backfilled from the kiosk's exported tickets: the
    // figures come from them now (they carry no ratings).
    let client = Client::new(center.url.clone());
    let export = city_hub::backfill::fetch_export(&center, &client, &day)
        .await
        .unwrap();
    assert_eq!(export.source, "tickets");
    db.store_day_tickets("phu-hoi", &day, &export.tickets)
        .await
        .unwrap();
    let backfilled = same_as_facts(&db, &day, &day, "backfilled day").await;
    let whole = row(&backfilled, "phu-hoi", "");
    assert_eq!((whole.issued, whole.ratings_total), (Some(30), 0));

    // Day two of the raw center becomes summary-only.
    let stats = |count, p90, max| DurationStats {
        count,
        mean_secs: p90 / 2,
        p90_secs: p90,
        max_secs: max,
    };
    db.store_day_summaries(
        "late",
        D2,
        &[DaySummary {
            service_day: D2.into(),
            department: "ho-tich".into(),
            issued: 12,
            served: 9,
            no_show: 2,
            transferred: 0,
            cancelled: 1,
            waiting: stats(11, 600, 900),
            service: stats(9, 300, 420),
        }],
    )
    .await
    .unwrap();
    let summarized = same_as_facts(&db, D1, D2, "summary-only day").await;
    let d2 = report(&db, D2, D2, GroupBy::Department).await.unwrap();
    assert_eq!(d2.summary_only, vec![("late".to_owned(), D2.to_owned())]);
    assert_eq!(row(&d2.rows, "late", "ho-tich").issued, Some(12));
    assert_ne!(summarized, after);

    // Late events stored while reports run: the last report still equals
    // the facts (a marking made during a rebuild survives it).
    let writer = async {
        for i in 0..20u64 {
            let event = events(
                20 + i,
                vec![(
                    minutes(D2_AT, 30 + i as i64),
                    rated(1 + i % 3, Some("lan"), "satisfied"),
                )],
            );
            db.insert_raw("late", &event).await.unwrap();
        }
    };
    let reader = async {
        for _ in 0..8 {
            report(&db, D1, D2, GroupBy::Officer).await.unwrap();
        }
    };
    tokio::join!(writer, reader);
    let concurrent = same_as_facts(&db, D1, D2, "after concurrent ingest").await;
    let d1 = row(
        &report(&db, D1, D1, GroupBy::Day).await.unwrap().rows,
        "late",
        D1,
    )
    .clone();
    assert_eq!(d1.ratings_total, 21);

    // An existing hub's history: the migration rolls up every day it holds.
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute(
            "DROP TABLE day_rollups, rollup_stale, rollup_marks;
             DELETE FROM schema_migrations WHERE version = 5",
        )
        .await
        .unwrap();
    assert_eq!(db.migrate().await.unwrap(), vec![5]);
    let stale: i64 = client
        .query_one("SELECT count(*) FROM rollup_stale", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0, "built in the migration");
    let rollups: i64 = client
        .query_one("SELECT count(DISTINCT (center, day)) FROM day_rollups", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        rollups, 2,
        "late's day one and phu-hoi's day; day two is summary-only"
    );
    assert_eq!(same_as_facts(&db, D1, D2, "migrated").await, concurrent);
    same_as_facts(&db, &day, &day, "migrated kiosk day").await;
}
