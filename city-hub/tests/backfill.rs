//! A center cut off from the hub for longer than its event retention: the
//! hub resumes from the oldest event the kiosk keeps, backfills the lost
//! service days from the kiosk's day export (packed tickets, or summaries
//! once pruned), marks the summary-only days, and its report then reads the
//! same as the kiosk's own — by department, officer and hour.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;
mod traffic;

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_support::store_support::local;
use api_support::{Setup, TestKiosk};
use city_hub::config::{Center, HubConfig};
use city_hub::report::{report, GroupBy, Row};
use city_hub::HubHandle;
use display_daemon::http::BaseUrl;
use pg_support::PgCluster;
use queue_store::report::{from_store, ReportRequest};
use traffic::timed_day;

const CENTER: &str = "phu-hoi";

fn hub_config(pg: &PgCluster, kiosk: &TestKiosk) -> HubConfig {
    HubConfig {
        database: pg.database(),
        batch_events: 100,
        linger: Duration::from_millis(20),
        centers: vec![Center {
            id: CENTER.into(),
            name: "Phú Hội".into(),
            url: BaseUrl::parse(&format!("http://{}", kiosk.addr)).unwrap(),
            token: kiosk.reader_token.clone(),
        }],
        listen: None,
        accounts: None,
    }
}

/// Waits until the hub stored the kiosk's whole log and filled every gap.
async fn caught_up(hub: &HubHandle, kiosk: &TestKiosk) {
    let last = kiosk.app.store().last_seq();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status = hub.status.center(CENTER).unwrap();
        let gaps = hub.db.open_gaps(CENTER).await.unwrap();
        if status.stored_seq >= last && gaps.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not caught up with {last}: {status:?}, open gaps {gaps:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kiosk_rows(kiosk: &TestKiosk, from: &str, to: &str, by: &str) -> Vec<queue_store::report::Row> {
    let config = api_support::center(kiosk.dir.path());
    let request = ReportRequest::parse(from, to, Some(by), false).unwrap();
    from_store(kiosk.app.store(), &config, request)
        .expect("kiosk report")
        .rows
        .into_iter()
        .filter(|r| r.issued != Some(0) && r.called + r.issued.unwrap_or(0) > 0)
        .collect()
}

fn same_figures(what: &str, kiosk: &queue_store::report::Row, city: &Row) {
    let what = format!("{what} {}", kiosk.key);
    assert_eq!(city.issued.map(|n| n as u32), kiosk.issued, "{what} issued");
    assert_eq!(city.served as u32, kiosk.served, "{what} served");
    assert_eq!(city.no_show as u32, kiosk.no_show, "{what} no-show");
    assert_eq!(
        u64::from(kiosk.summary_days),
        city.summary_days,
        "{what} summary days"
    );
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

async fn compare(hub: &HubHandle, kiosk: &TestKiosk, from: &str, to: &str) {
    for (kiosk_by, city_by) in [
        ("department", GroupBy::Department),
        ("staff", GroupBy::Officer),
        ("hour", GroupBy::Hour),
    ] {
        let expected = kiosk_rows(kiosk, from, to, kiosk_by);
        assert!(!expected.is_empty(), "{from}–{to} by {kiosk_by}");
        let city = report(&hub.db, from, to, city_by).await.expect("report");
        assert_eq!(
            city.rows.len(),
            expected.len(),
            "{from}–{to} by {kiosk_by}: {:?}",
            city.rows
        );
        for k in &expected {
            let c = city
                .rows
                .iter()
                .find(|c| c.key == k.key)
                .unwrap_or_else(|| panic!("{from}–{to}: no city row for {}", k.key));
            same_figures(&format!("{from}–{to} by {kiosk_by}"), k, c);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_days_cut_off_are_backfilled_from_the_day_export() {
    let pg = PgCluster::start();
    let kiosk = TestKiosk::start(Setup::default()).await;
    let store = kiosk.app.store().clone();
    // Keep three days of tickets; open every day of the week.
    let mut config = (*store.config().load()).clone();
    config.kiosk.retention_days = 3;
    config.center.closed_weekdays.clear();
    store.config().replace(Arc::new(config));

    // Thursday 26: the hub follows the morning, then loses the center.
    timed_day(&kiosk, 12, 1).await;
    let hub = city_hub::start(&hub_config(&pg, &kiosk)).await.unwrap();
    caught_up(&hub, &kiosk).await;
    let before_outage = hub.status.center(CENTER).unwrap().stored_seq;
    hub.stop().await;
    timed_day(&kiosk, 9, 2).await;

    // Friday 27 to Monday 30 without the hub; the kiosk's daily
    // housekeeping runs each morning (events kept for two days, tickets
    // for three).
    for (day, seed) in [(27, 3), (28, 4), (29, 5), (30, 6)] {
        kiosk.clock.set(local(2026, 11, day, 8, 0));
        timed_day(&kiosk, 10 + day as usize % 5, seed).await;
        let s = store.clone();
        kiosk::app::blocking(move || s.prune().expect("prune")).await;
    }
    let oldest = store.oldest_kept_seq();
    assert!(
        oldest > before_outage + 1,
        "the kiosk dropped what the hub missed"
    );
    let days: Vec<String> = store
        .service_days()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        !days.contains(&"2026-11-26".to_owned()),
        "26 is summary-only: {days:?}"
    );
    assert!(days.contains(&"2026-11-27".to_owned()), "{days:?}");

    let hub = city_hub::start(&hub_config(&pg, &kiosk)).await.unwrap();
    caught_up(&hub, &kiosk).await;

    // The gap and what filled it.
    let client = hub.db.pool().get().await.unwrap();
    let gap = client
        .query_one(
            "SELECT after_seq, resumed_at, filled IS NOT NULL FROM stream_gaps WHERE center = $1",
            &[&CENTER],
        )
        .await
        .unwrap();
    assert_eq!(gap.get::<_, i64>(0) as u64, before_outage);
    assert_eq!(gap.get::<_, i64>(1) as u64, oldest - 1);
    assert!(gap.get::<_, bool>(2));
    let filled = hub.db.backfilled_days().await.unwrap();
    let expected: Vec<(String, String, String)> = [
        ("2026-11-26", "summaries"),
        ("2026-11-27", "tickets"),
        ("2026-11-28", "tickets"),
    ]
    .iter()
    .map(|(d, s)| (CENTER.to_owned(), (*d).to_owned(), (*s).to_owned()))
    .collect();
    assert_eq!(filled, expected);
    // Events after the gap came from the stream, every one once.
    let (count, distinct): (i64, i64) = {
        let r = client
            .query_one(
                "SELECT count(*), count(DISTINCT seq) FROM events WHERE center = $1 AND seq >= $2",
                &[&CENTER, &(oldest as i64)],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(count, distinct);
    assert_eq!(count as u64, store.last_seq() - oldest + 1);

    // Figures: the backfilled days, the streamed days and a range mixing
    // the summary-only day read as the kiosk's own report.
    compare(&hub, &kiosk, "2026-11-27", "2026-11-30").await;
    compare(&hub, &kiosk, "2026-11-26", "2026-11-30").await;
    let summary_day = report(&hub.db, "2026-11-26", "2026-11-26", GroupBy::Department)
        .await
        .unwrap();
    assert_eq!(
        summary_day.summary_only,
        vec![(CENTER.to_owned(), "2026-11-26".to_owned())]
    );
    assert!(summary_day.rows.iter().all(|r| r.summary_days == 1));
    assert_eq!(
        summary_day
            .rows
            .iter()
            .map(|r| r.issued.unwrap())
            .sum::<u64>(),
        21,
        "the whole of the 26th, not only what the hub saw"
    );
    for k in kiosk_rows(&kiosk, "2026-11-26", "2026-11-26", "department") {
        let c = summary_day.rows.iter().find(|c| c.key == k.key).unwrap();
        same_figures("26 by department", &k, c);
        assert!(
            c.waiting.p90_secs.is_some(),
            "one summary day keeps its p90"
        );
    }
    assert!(city_hub::report::to_table(&summary_day).contains("summary-only: phu-hoi 2026-11-26"));
    let by_officer = report(&hub.db, "2026-11-26", "2026-11-26", GroupBy::Officer)
        .await
        .unwrap();
    assert!(by_officer.rows.is_empty());
    assert_eq!(by_officer.notes.len(), 1, "{:?}", by_officer.notes);

    // Filling again (an interrupted backfill, run twice) changes nothing.
    let tickets_before: i64 = client
        .query_one("SELECT count(*) FROM day_tickets", &[])
        .await
        .unwrap()
        .get(0);
    drop(client);
    hub.stop().await;
    {
        let db = city_hub::Db::new(&pg.database()).unwrap();
        let client = db.pool().get().await.unwrap();
        client
            .execute("UPDATE stream_gaps SET filled = NULL", &[])
            .await
            .unwrap();
    }
    let hub = city_hub::start(&hub_config(&pg, &kiosk)).await.unwrap();
    // A new event makes the follower write, and then fill the reopened gap.
    kiosk.issue("ho-tich").await;
    caught_up(&hub, &kiosk).await;
    let client = hub.db.pool().get().await.unwrap();
    let tickets_after: i64 = client
        .query_one("SELECT count(*) FROM day_tickets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tickets_after, tickets_before);
    assert_eq!(hub.db.backfilled_days().await.unwrap(), expected);
    drop(client);
    compare(&hub, &kiosk, "2026-11-27", "2026-11-29").await;
    hub.stop().await;
}
