//! The `city-hub` binary SIGKILLed again and again while two centers issue
//! tickets: whatever batch it was writing, the next start resumes from what
//! PostgreSQL holds, and in the end every event is there exactly once, and
//! the report rollups (built between kills from what was there then) read
//! the same as the facts.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_support::{Setup, TestKiosk};
use city_hub::report::{report, report_from_facts, GroupBy};
use city_hub::Db;
use pg_support::PgCluster;
use queue_protocol::Actor;

fn config_file(
    pg: &PgCluster,
    dir: &std::path::Path,
    kiosks: &[(&str, &TestKiosk)],
) -> std::path::PathBuf {
    let db = pg.database();
    let mut text = format!(
        "[database]\nhost = {:?}\nport = {}\nuser = {:?}\ndbname = {:?}\n\n[ingest]\nbatch_events = 20\nlinger_ms = 5\n",
        db.host, db.port, db.user, db.dbname
    );
    for (id, kiosk) in kiosks {
        text += &format!(
            "\n[[centers]]\nid = {id:?}\nname = \"Trung tâm {id}\"\nurl = \"http://{}\"\ntoken = {:?}\n",
            kiosk.addr, kiosk.reader_token
        );
    }
    let path = dir.join("hub.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn_hub(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_city-hub"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("city-hub starts")
}

async fn stored(db: &Db) -> u64 {
    // Right after a kill the pool may hand out a dead connection once.
    for _ in 0..3 {
        if let (Ok(a), Ok(b)) = (
            db.event_count("phu-hoi").await,
            db.event_count("vy-da").await,
        ) {
            return a + b;
        }
    }
    panic!("cannot count the stored events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_killed_twenty_times_while_ingesting_loses_and_doubles_nothing() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&pg, dir.path(), &[("phu-hoi", &a), ("vy-da", &b)]);
    let db = Db::new(&pg.database()).unwrap();
    db.migrate().await.unwrap();

    let traffic = {
        let (a_store, b_store) = (a.app.store().clone(), b.app.store().clone());
        tokio::spawn(async move {
            for i in 0..600 {
                let (a_store, b_store) = (a_store.clone(), b_store.clone());
                kiosk::app::blocking(move || {
                    a_store
                        .issue(&"ho-tich".into(), None, Actor::Button)
                        .unwrap();
                    if i % 3 != 0 {
                        b_store
                            .issue(&"dat-dai".into(), None, Actor::Button)
                            .unwrap();
                    }
                })
                .await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    for kill in 0..20 {
        let before = stored(&db).await;
        let mut hub = spawn_hub(&config);
        // Kill it once it has written something (a batch may be in flight).
        let deadline = Instant::now() + Duration::from_secs(30);
        while stored(&db).await <= before {
            if traffic.is_finished() && stored(&db).await == expected(&a, &b) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "kill {kill}: the hub wrote nothing"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        hub.kill().expect("SIGKILL");
        hub.wait().unwrap();
        // Roll up what is there now; later events make it stale.
        let day = a.app.store().service_day().unwrap().to_string();
        report(&db, &day, &day, GroupBy::Department).await.unwrap();
    }
    traffic.await.unwrap();

    let mut hub = spawn_hub(&config);
    let want = expected(&a, &b);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&db).await < want {
        assert!(Instant::now() < deadline, "the last hub never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.kill().unwrap();
    hub.wait().unwrap();
    let client = db.pool().get().await.unwrap();
    for (id, kiosk) in [("phu-hoi", &a), ("vy-da", &b)] {
        let last = kiosk.app.store().last_seq() as i64;
        let row = client
            .query_one(
                "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE center = $1",
                &[&id],
            )
            .await
            .unwrap();
        let got: (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(got, (last, last, 1, last), "{id}: every event exactly once");
    }
    let day = a.app.store().service_day().unwrap().to_string();
    for by in GroupBy::ALL {
        let rolled = report(&db, &day, &day, by).await.unwrap();
        let facts = report_from_facts(&db, &day, &day, by).await.unwrap();
        assert_eq!(rolled.rows, facts.rows, "by {by:?}");
        // Tickets are issued, never called: no officer rows.
        assert_eq!(rolled.rows.is_empty(), by == GroupBy::Officer, "by {by:?}");
    }
}

fn expected(a: &TestKiosk, b: &TestKiosk) -> u64 {
    a.app.store().last_seq() + b.app.store().last_seq()
}
