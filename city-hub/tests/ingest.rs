//! The hub against a real PostgreSQL (a throw-away cluster, see
//! `pg_support`) and real kiosks on loopback: every event exactly once,
//! through a hub restart and a PostgreSQL crash, and a refused token shows
//! in the status without touching the other centers.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;

use std::time::{Duration, Instant};

use api_support::{Setup, TestKiosk};
use city_hub::config::{Center, HubConfig};
use city_hub::{Db, HubHandle};
use display_daemon::http::BaseUrl;
use pg_support::PgCluster;
use queue_protocol::Actor;

fn center(id: &str, kiosk: &TestKiosk, token: &str) -> Center {
    Center {
        id: id.into(),
        name: format!("Trung tâm {id}"),
        url: BaseUrl::parse(&format!("http://{}", kiosk.addr)).unwrap(),
        token: token.into(),
    }
}

fn hub_config(pg: &PgCluster, centers: Vec<Center>) -> HubConfig {
    HubConfig {
        database: pg.database(),
        batch_events: 50,
        linger: Duration::from_millis(20),
        centers,
        listen: None,
        accounts: None,
    }
}

/// A short service day: `tickets` issued over both departments, then the
/// counters work through them (served, a no-show every fifth, a recall).
async fn scripted_day(kiosk: &TestKiosk, tickets: usize) {
    let store = kiosk.app.store().clone();
    kiosk::app::blocking(move || {
        for i in 0..tickets {
            let department = if i % 3 == 0 { "dat-dai" } else { "ho-tich" };
            store
                .issue(&department.into(), None, Actor::Button)
                .expect("issued");
        }
        let staff = Actor::Staff { name: "lan".into() };
        let mut round = 0;
        while store.snapshot().departments.iter().any(|d| d.waiting > 0) {
            for counter in 1..=3u16 {
                let Ok(ticket) = store.call_next(counter, staff.clone()) else {
                    continue;
                };
                round += 1;
                if round % 5 == 0 {
                    store
                        .no_show(counter, Some(ticket.id), staff.clone())
                        .expect("no-show");
                } else {
                    if round % 7 == 0 {
                        store
                            .recall(counter, Some(ticket.id), staff.clone())
                            .expect("recall");
                    }
                    store
                        .start_serving(counter, Some(ticket.id), staff.clone())
                        .expect("start");
                    store
                        .finish(counter, Some(ticket.id), staff.clone())
                        .expect("finish");
                }
            }
        }
    })
    .await;
}

/// Waits until the hub has stored `center`'s events up to `seq`.
async fn wait_stored(hub: &HubHandle, center: &str, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status = hub.status.center(center).expect("center known");
        if status.stored_seq >= seq {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{center} stored only up to {} of {seq}: {status:?}",
            status.stored_seq
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every sequence 1..=last exactly once.
async fn assert_exactly_once(db: &Db, center: &str, last: u64) {
    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
               FROM events WHERE center = $1",
            &[&center],
        )
        .await
        .unwrap();
    let (count, distinct, min, max): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (count, distinct, min, max),
        (last as i64, last as i64, 1, last as i64),
        "{center}: every event 1..={last} exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_centers_every_event_once_across_a_hub_restart() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    scripted_day(&a, 40).await;
    scripted_day(&b, 25).await;
    let config = hub_config(
        &pg,
        vec![
            center("phu-hoi", &a, &a.reader_token),
            center("vy-da", &b, &b.reader_token),
        ],
    );

    let hub = city_hub::start(&config).await.expect("hub starts");
    let (last_a, last_b) = (a.app.store().last_seq(), b.app.store().last_seq());
    assert!(last_a > 100 && last_b > 60, "{last_a} {last_b}");
    wait_stored(&hub, "phu-hoi", last_a).await;
    wait_stored(&hub, "vy-da", last_b).await;
    assert_exactly_once(&hub.db, "phu-hoi", last_a).await;
    assert_exactly_once(&hub.db, "vy-da", last_b).await;

    // Live events while following.
    scripted_day(&a, 10).await;
    let last_a = a.app.store().last_seq();
    wait_stored(&hub, "phu-hoi", last_a).await;
    assert_eq!(hub.status.center("phu-hoi").unwrap().state, "following");
    hub.stop().await;

    // Events while the hub is down, then a new hub: resumes from what
    // PostgreSQL holds, migrations are not applied twice.
    scripted_day(&b, 10).await;
    let last_b = b.app.store().last_seq();
    let hub = city_hub::start(&config).await.expect("hub starts again");
    assert_eq!(
        hub.db.applied_versions().await.unwrap(),
        city_hub::db::MIGRATIONS
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>()
    );
    wait_stored(&hub, "vy-da", last_b).await;
    assert_exactly_once(&hub.db, "phu-hoi", last_a).await;
    assert_exactly_once(&hub.db, "vy-da", last_b).await;
    assert_eq!(
        hub.status.center("phu-hoi").unwrap().written,
        0,
        "nothing rewritten for a center already complete"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_crashing_mid_ingest_loses_and_doubles_nothing() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    let config = hub_config(
        &pg,
        vec![
            center("phu-hoi", &a, &a.reader_token),
            center("vy-da", &b, &b.reader_token),
        ],
    );
    let hub = city_hub::start(&config).await.expect("hub starts");
    scripted_day(&a, 30).await;
    wait_stored(&hub, "phu-hoi", a.app.store().last_seq()).await;

    // Traffic flows at both centers while PostgreSQL dies and comes back.
    let traffic = {
        let (a_store, b_store) = (a.app.store().clone(), b.app.store().clone());
        tokio::spawn(async move {
            for i in 0..400 {
                let (a_store, b_store) = (a_store.clone(), b_store.clone());
                kiosk::app::blocking(move || {
                    a_store
                        .issue(&"ho-tich".into(), None, Actor::Button)
                        .unwrap();
                    if i % 2 == 0 {
                        b_store
                            .issue(&"dat-dai".into(), None, Actor::Button)
                            .unwrap();
                    }
                })
                .await;
                tokio::task::yield_now().await;
            }
        })
    };
    // Crash once some of the traffic is in.
    let started = a.app.store().last_seq();
    wait_stored(&hub, "phu-hoi", started + 50).await;
    pg.crash();
    let deadline = Instant::now() + Duration::from_secs(60);
    while hub.status.center("phu-hoi").unwrap().state != "database" {
        assert!(
            Instant::now() < deadline,
            "the hub never noticed PostgreSQL was down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = hub.status.center("phu-hoi").unwrap();
    assert!(status.db_errors >= 1, "{status:?}");
    pg.start_again();
    traffic.await.unwrap();

    let (last_a, last_b) = (a.app.store().last_seq(), b.app.store().last_seq());
    wait_stored(&hub, "phu-hoi", last_a).await;
    wait_stored(&hub, "vy-da", last_b).await;
    assert_exactly_once(&hub.db, "phu-hoi", last_a).await;
    assert_exactly_once(&hub.db, "vy-da", last_b).await;
    assert_eq!(hub.status.center("phu-hoi").unwrap().state, "following");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_reported_and_other_centers_go_on() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    scripted_day(&a, 12).await;
    scripted_day(&b, 12).await;
    let config = hub_config(
        &pg,
        vec![
            center("phu-hoi", &a, &a.reader_token),
            // Mistyped (or revoked): the kiosk answers 401.
            center("vy-da", &b, "not-the-reader-token"),
        ],
    );
    let hub = city_hub::start(&config).await.expect("hub starts");
    let last_a = a.app.store().last_seq();
    wait_stored(&hub, "phu-hoi", last_a).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let status = hub.status.center("vy-da").unwrap();
        if status.state == "refused" {
            break status;
        }
        assert!(Instant::now() < deadline, "never reported: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // What an operator sees: the status page and the metrics.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    tokio::spawn(city_hub::http::serve(
        listener,
        hub.status.clone(),
        std::future::pending(),
    ));
    let reply = api_support::request(http, "GET", "/api/v1/status", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let centers = reply.json()["centers"].clone();
    assert_eq!(centers[0]["id"], "phu-hoi");
    assert_eq!(centers[0]["state"], "following", "{centers}");
    assert_eq!(centers[1]["id"], "vy-da");
    assert_eq!(centers[1]["state"], "refused", "{centers}");
    assert!(centers[1]["problem"]
        .as_str()
        .unwrap()
        .contains("--role reader"));
    let metrics = api_support::request(http, "GET", "/metrics", &[], None).await;
    assert_eq!(metrics.status, 200);
    for line in [
        "city_hub_center_up{center=\"phu-hoi\"} 1",
        "city_hub_center_up{center=\"vy-da\"} 0",
        "city_hub_center_token_refused{center=\"vy-da\"} 1",
        "city_hub_center_lag_events{center=\"vy-da\"} 0",
    ] {
        assert!(
            metrics.body.lines().any(|l| l == line),
            "{line} missing:\n{}",
            metrics.body
        );
    }
    assert!(metrics.body.contains(&format!(
        "city_hub_center_stored_seq{{center=\"phu-hoi\"}} {last_a}"
    )));
    // Lag in seconds for the center that wrote, none for the refused one.
    assert!(metrics
        .body
        .lines()
        .any(|l| l.starts_with("city_hub_center_lag_seconds{center=\"phu-hoi\"} ")));
    assert!(!metrics
        .body
        .contains("city_hub_center_lag_seconds{center=\"vy-da\"}"));
    assert!(metrics
        .body
        .contains("city_hub_db_errors_total{center=\"phu-hoi\"} 0"));

    let problem = refused.problem.expect("a reason");
    assert!(problem.contains("401"), "{problem}");
    assert!(problem.contains("--role reader"), "{problem}");
    assert_eq!(refused.stored_seq, 0);
    assert_eq!(hub.db.event_count("vy-da").await.unwrap(), 0);

    // The good center keeps following live.
    scripted_day(&a, 5).await;
    let last_a = a.app.store().last_seq();
    wait_stored(&hub, "phu-hoi", last_a).await;
    assert_exactly_once(&hub.db, "phu-hoi", last_a).await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_whose_log_is_behind_the_stored_one_is_reported_not_mixed_in() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    scripted_day(&a, 10).await;
    let first = hub_config(&pg, vec![center("phu-hoi", &a, &a.reader_token)]);
    let hub = city_hub::start(&first).await.expect("hub starts");
    let last_a = a.app.store().last_seq();
    wait_stored(&hub, "phu-hoi", last_a).await;
    hub.stop().await;

    // The center's kiosk comes back with a new, emptier store.
    let b = TestKiosk::start(Setup::default()).await;
    scripted_day(&b, 2).await;
    assert!(b.app.store().last_seq() < last_a);
    let second = hub_config(&pg, vec![center("phu-hoi", &b, &b.reader_token)]);
    let hub = city_hub::start(&second).await.expect("hub starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = hub.status.center("phu-hoi").unwrap();
        if status.state == "diverged" {
            break status;
        }
        assert!(Instant::now() < deadline, "never reported: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.problem.unwrap().contains("new center id"));
    assert_exactly_once(&hub.db, "phu-hoi", last_a).await;
    hub.stop().await;
}
