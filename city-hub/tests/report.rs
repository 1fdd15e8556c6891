//! City reports from PostgreSQL give each center the same figures as that
//! kiosk's own report (`queue_store::report`), by department and by officer.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;
mod traffic;

use std::time::Duration;

use api_support::{Setup, TestKiosk};
use city_hub::config::{Center, HubConfig};
use city_hub::report::{report, GroupBy, Row};
use display_daemon::http::BaseUrl;
use pg_support::PgCluster;
use queue_store::report::{from_store, ReportRequest};
use traffic::{timed_day, wait_ingested};

fn kiosk_rows(kiosk: &TestKiosk, by: &str) -> Vec<queue_store::report::Row> {
    let day = kiosk.app.store().service_day().unwrap().to_string();
    let config = api_support::center(kiosk.dir.path());
    let request = ReportRequest::parse(&day, &day, Some(by), false).unwrap();
    from_store(kiosk.app.store(), &config, request)
        .expect("kiosk report")
        .rows
        .into_iter()
        .filter(|r| r.issued != Some(0) && r.called + r.issued.unwrap_or(0) > 0)
        .collect()
}

fn same_figures(center: &str, kiosk: &queue_store::report::Row, city: &Row) {
    let what = format!("{center} {}", kiosk.key);
    assert_eq!(city.key, kiosk.key, "{what}");
    assert_eq!(city.issued.map(|n| n as u32), kiosk.issued, "{what} issued");
    assert_eq!(city.served as u32, kiosk.served, "{what} served");
    assert_eq!(city.no_show as u32, kiosk.no_show, "{what} no-show");
    for (name, city, kiosk) in [
        ("waiting", &city.waiting, &kiosk.waiting),
        ("service", &city.service, &kiosk.service),
    ] {
        assert_eq!(city.count as u32, kiosk.count, "{what} {name} count");
        assert_eq!(city.p50_secs, kiosk.p50_secs, "{what} {name} p50");
        assert_eq!(city.p90_secs, kiosk.p90_secs, "{what} {name} p90");
        assert_eq!(city.max_secs, kiosk.max_secs, "{what} {name} max");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_at_two_centers_reads_the_same_as_each_kiosks_report() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    timed_day(&a, 45, 1).await;
    timed_day(&b, 30, 2).await;
    let config = HubConfig {
        database: pg.database(),
        batch_events: 100,
        linger: Duration::from_millis(20),
        centers: [("phu-hoi", &a), ("vy-da", &b)]
            .into_iter()
            .map(|(id, k)| Center {
                id: id.into(),
                name: id.into(),
                url: BaseUrl::parse(&format!("http://{}", k.addr)).unwrap(),
                token: k.reader_token.clone(),
            })
            .collect(),
        listen: None,
        accounts: None,
    };
    let hub = city_hub::start(&config).await.expect("hub starts");
    for (id, kiosk) in [("phu-hoi", &a), ("vy-da", &b)] {
        wait_ingested(&hub, id, kiosk).await;
    }
    let day = a.app.store().service_day().unwrap().to_string();
    assert_eq!(day, b.app.store().service_day().unwrap().to_string());

    for (kiosk_by, city_by) in [
        ("department", GroupBy::Department),
        ("staff", GroupBy::Officer),
    ] {
        let city = report(&hub.db, &day, &day, city_by).await.expect("report");
        for (id, kiosk) in [("phu-hoi", &a), ("vy-da", &b)] {
            let expected = kiosk_rows(kiosk, kiosk_by);
            let got: Vec<&Row> = city.rows.iter().filter(|r| r.center == id).collect();
            assert_eq!(got.len(), expected.len(), "{id} by {kiosk_by}: {got:?}");
            assert!(!expected.is_empty());
            for k in &expected {
                let c = got
                    .iter()
                    .find(|c| c.key == k.key)
                    .unwrap_or_else(|| panic!("{id}: no city row for {}", k.key));
                same_figures(id, k, c);
            }
            // Durations are real, not all zero.
            assert!(got.iter().any(|r| r.service.max_secs > Some(60)));
        }
    }

    // By center: the sum of its departments; the CSV and table carry it.
    let by_center = report(&hub.db, &day, &day, GroupBy::Center).await.unwrap();
    let a_total = kiosk_rows(&a, "department")
        .iter()
        .map(|r| r.issued.unwrap())
        .sum::<u32>();
    assert_eq!(by_center.rows.len(), 2);
    assert_eq!(by_center.rows[0].issued, Some(u64::from(a_total)));
    assert_eq!(by_center.rows[0].issued, Some(45));
    let csv = city_hub::report::to_csv(&by_center);
    assert!(
        csv.starts_with("center,key,issued,served,no_show,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(city_hub::report::to_table(&by_center).contains("phu-hoi"));
    let by_day = report(&hub.db, &day, &day, GroupBy::Day).await.unwrap();
    assert_eq!(by_day.rows[1].key, day);
    assert_eq!(by_day.rows[1].issued, Some(30));
    // A range without that day is empty.
    let empty = report(&hub.db, "2001-01-01", "2001-01-31", GroupBy::Center)
        .await
        .unwrap();
    assert!(empty.rows.is_empty());
    hub.stop().await;
}

/// `rated` events (the shape fixed for issue #18 and #21), as a newer
/// kiosk sends them: kept as received and counted per level in the ticket's
/// department and at the officer who served it; the dashboard counts today's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_are_counted_per_level_by_department_and_officer() {
    use city_hub::db::RawEvent;
    use serde_json::json;
    let pg = PgCluster::start();
    let db = city_hub::Db::new(&pg.database()).unwrap();
    db.migrate().await.unwrap();
    let day = "2026-11-26";
    let at = 1_795_000_000_000i64;
    let staff = json!({"type": "staff", "name": "lan"});
    let kinds = vec![
        json!({"type": "service_day_started", "service_day": day, "previous": null}),
        json!({"type": "ticket_issued", "ticket": 1, "service_day": day, "department": "ho-tich", "number": 1001, "label": "1001", "priority": null, "ahead": 0, "actor": {"type": "button"}}),
        json!({"type": "ticket_issued", "ticket": 2, "service_day": day, "department": "ho-tich", "number": 1002, "label": "1002", "priority": null, "ahead": 1, "actor": {"type": "button"}}),
        json!({"type": "ticket_issued", "ticket": 3, "service_day": day, "department": "dat-dai", "number": 2001, "label": "2001", "priority": null, "ahead": 0, "actor": {"type": "button"}}),
        json!({"type": "called", "ticket": 1, "label": "1001", "counter": 1, "department": "ho-tich", "recall": false, "actor": staff}),
        json!({"type": "finished", "ticket": 1, "label": "1001", "counter": 1, "department": "ho-tich", "actor": staff}),
        json!({"type": "rated", "ticket": 1, "label": "1001", "counter": 1, "department": "ho-tich", "staff": "lan", "level": "very_satisfied", "source": "counter_button", "actor": {"type": "system"}}),
        json!({"type": "called", "ticket": 2, "label": "1002", "counter": 1, "department": "ho-tich", "recall": false, "actor": staff}),
        json!({"type": "finished", "ticket": 2, "label": "1002", "counter": 1, "department": "ho-tich", "actor": staff}),
        json!({"type": "rated", "ticket": 2, "label": "1002", "counter": 1, "department": "ho-tich", "staff": "lan", "level": "unsatisfied", "source": "phone", "actor": {"type": "system"}}),
        json!({"type": "called", "ticket": 3, "label": "2001", "counter": 3, "department": "dat-dai", "recall": false, "actor": {"type": "keypad", "counter": 3}}),
        json!({"type": "finished", "ticket": 3, "label": "2001", "counter": 3, "department": "dat-dai", "actor": {"type": "keypad", "counter": 3}}),
        json!({"type": "rated", "ticket": 3, "label": "2001", "counter": 3, "department": "dat-dai", "staff": null, "level": "very_satisfied", "source": "counter_touch", "actor": {"type": "system"}}),
    ];
    let events: Vec<RawEvent> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| RawEvent {
            seq: i as u64 + 1,
            at_ms: at + i as i64 * 60_000,
            kind,
        })
        .collect();
    assert_eq!(db.insert_raw("thuan-an", &events).await.unwrap(), 13);
    assert_eq!(
        db.insert_raw("thuan-an", &events).await.unwrap(),
        0,
        "a replay writes nothing"
    );

    let by_department = report(&db, day, day, GroupBy::Department).await.unwrap();
    let ho_tich = by_department
        .rows
        .iter()
        .find(|r| r.key == "ho-tich")
        .unwrap();
    assert_eq!(ho_tich.ratings_total, 2);
    assert_eq!(ho_tich.ratings["very_satisfied"], 1);
    assert_eq!(ho_tich.ratings["unsatisfied"], 1);
    let dat_dai = by_department
        .rows
        .iter()
        .find(|r| r.key == "dat-dai")
        .unwrap();
    assert_eq!(dat_dai.ratings_total, 1);
    let by_officer = report(&db, day, day, GroupBy::Officer).await.unwrap();
    let lan = by_officer.rows.iter().find(|r| r.key == "lan").unwrap();
    assert_eq!((lan.served, lan.ratings_total), (2, 2));
    // A rating without an officer is not attributed to the keypad.
    let keypad = by_officer
        .rows
        .iter()
        .find(|r| r.key == "keypad-3")
        .unwrap();
    assert_eq!((keypad.served, keypad.ratings_total), (1, 0));
    let by_hour = report(&db, day, day, GroupBy::Hour).await.unwrap();
    assert_eq!(
        by_hour.rows.iter().map(|r| r.issued.unwrap()).sum::<u64>(),
        3
    );
    assert!(
        by_hour.rows.iter().all(|r| r.key.len() == 2),
        "{:?}",
        by_hour.rows
    );
    let csv = city_hub::report::to_csv(&by_department);
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(",ratings,rating_very_satisfied,rating_unsatisfied"),
        "{header}"
    );

    let centers = vec![Center {
        id: "thuan-an".into(),
        name: "Thuận An".into(),
        url: BaseUrl::parse("http://127.0.0.1:9").unwrap(),
        token: "t".into(),
    }];
    let status = city_hub::HubStatus::new(&centers);
    let now = city_hub::live::city_now(&db, &centers, &status, at + 13 * 60_000)
        .await
        .unwrap();
    assert_eq!(now[0].ratings["very_satisfied"], 2);
    assert_eq!((now[0].issued, now[0].served, now[0].waiting), (3, 3, 0));
    assert_eq!(
        now[0].counters_open, 2,
        "counters 1 and 3 called within 30 minutes"
    );
    assert_eq!(now[0].service_day.as_deref(), Some(day));
}

/// Every report row of `db` for `day`, each grouping, with `center`
/// renamed to `as_center` (to compare two centers fed the same events).
async fn all_rows(db: &city_hub::Db, day: &str, center: &str, as_center: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for by in GroupBy::ALL {
        let report = report(db, day, day, by).await.expect("report");
        rows.extend(
            report
                .rows
                .into_iter()
                .filter(|r| r.center == center)
                .map(|r| Row {
                    center: as_center.into(),
                    ..r
                }),
        );
    }
    rows
}

/// The ticket facts the reports read are the same whether the events came
/// in the follower's batches, replayed, one event per batch, or were
/// derived by the migration from events already stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_are_the_same_from_batches_a_replay_single_events_and_the_migration() {
    use city_hub::db::RawEvent;
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    timed_day(&a, 40, 3).await;
    let config = HubConfig {
        database: pg.database(),
        batch_events: 50,
        linger: Duration::from_millis(20),
        centers: vec![Center {
            id: "phu-hoi".into(),
            name: "phu-hoi".into(),
            url: BaseUrl::parse(&format!("http://{}", a.addr)).unwrap(),
            token: a.reader_token.clone(),
        }],
        listen: None,
        accounts: None,
    };
    let hub = city_hub::start(&config).await.expect("hub starts");
    wait_ingested(&hub, "phu-hoi", &a).await;
    hub.stop().await;
    let day = a.app.store().service_day().unwrap().to_string();
    let db = city_hub::Db::new(&pg.database()).unwrap();
    let followed = all_rows(&db, &day, "phu-hoi", "x").await;
    let by_department = report(&db, &day, &day, GroupBy::Department)
        .await
        .unwrap()
        .rows;
    let expected = kiosk_rows(&a, "department");
    assert_eq!(by_department.len(), expected.len(), "{by_department:?}");
    for k in &expected {
        let c = by_department.iter().find(|c| c.key == k.key).unwrap();
        same_figures("phu-hoi", k, c);
    }

    let client = db.pool().get().await.unwrap();
    let events: Vec<RawEvent> = client
        .query(
            "SELECT seq, at_ms, body FROM events WHERE center = 'phu-hoi' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| RawEvent {
            seq: r.get::<_, i64>(0) as u64,
            at_ms: r.get(1),
            kind: r.get(2),
        })
        .collect();
    // A replay in other batches changes nothing.
    for batch in events.chunks(7) {
        assert_eq!(db.insert_raw("phu-hoi", batch).await.unwrap(), 0);
    }
    assert_eq!(all_rows(&db, &day, "phu-hoi", "x").await, followed);
    // One event per batch: each fact is derived from earlier batches.
    for event in &events {
        db.insert_raw("copy", std::slice::from_ref(event))
            .await
            .unwrap();
    }
    assert_eq!(all_rows(&db, &day, "copy", "x").await, followed);

    // An existing hub's history: the migration derives the same facts.
    client
        .batch_execute(
            "DROP TABLE ticket_facts, stay_facts, rating_facts;
             DELETE FROM schema_migrations WHERE version = 4",
        )
        .await
        .unwrap();
    assert_eq!(db.migrate().await.unwrap(), vec![4]);
    assert_eq!(all_rows(&db, &day, "phu-hoi", "x").await, followed);
    assert_eq!(all_rows(&db, &day, "copy", "x").await, followed);
}
