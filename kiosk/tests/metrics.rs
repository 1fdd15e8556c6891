//! `/metrics` scraped from the real API router on 127.0.0.1:0 after real
//! presses, calls and a display stream, and read with a Prometheus
//! text-format parser. One test per binary: the registry is process-wide.

mod api_support;

use std::time::{Duration, Instant};

use api_support::{open_stream, Setup, TestKiosk};
use kiosk::app::PressOutcome;
use kiosk_config::DepartmentId;
use prometheus_parse::{Sample, Scrape, Value};

async fn scrape(kiosk: &TestKiosk) -> Scrape {
    let reply = kiosk.call("GET", "/metrics", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Scrape::parse(reply.body.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric} {labels:?} in {:#?}", scrape.samples))
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match &find(scrape, metric, labels).value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{metric} is not a single value: {other:?}"),
    }
}

fn histogram_count(scrape: &Scrape, metric: &str) -> f64 {
    match &find(scrape, metric, &[]).value {
        Value::Histogram(buckets) => {
            let inf = buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .expect("+Inf bucket");
            // Buckets are cumulative.
            assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
            assert_eq!(value(scrape, &format!("{metric}_count"), &[]), inf.count);
            inf.count
        }
        other => panic!("{metric} is not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn metrics_report_tickets_calls_queue_printer_streams_and_disk() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let before = scrape(&kiosk).await;
    assert_eq!(
        value(
            &before,
            "kiosk_tickets_issued_total",
            &[("department", "dat-dai")]
        ),
        0.0,
        "every department has a series from the start"
    );

    for _ in 0..2 {
        let outcome = kiosk
            .app
            .press(&DepartmentId("ho-tich".into()), false)
            .await;
        assert!(matches!(outcome, PressOutcome::Printed(_)), "{outcome:?}");
    }
    let bearer = format!("Bearer {}", kiosk.keypad_token);
    let auth = [("authorization", bearer.as_str())];
    let next = kiosk
        .call("POST", "/api/v1/counters/1/next", &auth, None)
        .await;
    assert_eq!(next.status, 200, "{}", next.body);
    let recall = kiosk
        .call("POST", "/api/v1/counters/1/recall", &auth, None)
        .await;
    assert_eq!(recall.status, 200, "{}", recall.body);

    let display = format!("Bearer {}", kiosk.display_token);
    let (status, mut stream) = open_stream(
        kiosk.addr,
        "/api/v1/events",
        &[("authorization", display.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    api_support::within(5, "the snapshot", stream.next_event()).await;

    // The stream counts itself as it starts; wait for it with a deadline.
    let deadline = Instant::now() + Duration::from_secs(5);
    let now = loop {
        let now = scrape(&kiosk).await;
        if value(&now, "kiosk_stream_clients", &[]) == 1.0 || Instant::now() > deadline {
            break now;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(value(&now, "kiosk_stream_clients", &[]), 1.0);

    let ho_tich = [("department", "ho-tich")];
    assert_eq!(value(&now, "kiosk_tickets_issued_total", &ho_tich), 2.0);
    assert_eq!(
        value(
            &now,
            "kiosk_tickets_issued_total",
            &[("department", "dat-dai")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &now,
            "kiosk_calls_total",
            &[("department", "ho-tich"), ("recall", "false")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &now,
            "kiosk_calls_total",
            &[("department", "ho-tich"), ("recall", "true")]
        ),
        1.0
    );
    assert_eq!(value(&now, "kiosk_waiting_tickets", &ho_tich), 1.0);
    assert_eq!(value(&now, "kiosk_priority_waiting_tickets", &ho_tich), 0.0);
    assert_eq!(value(&now, "kiosk_issued_today_tickets", &ho_tich), 2.0);
    assert_eq!(histogram_count(&now, "kiosk_issue_duration_seconds"), 2.0);
    assert_eq!(histogram_count(&now, "kiosk_call_duration_seconds"), 2.0);
    assert!(value(&now, "kiosk_issue_duration_seconds_sum", &[]) > 0.0);

    // Exactly one printer state and one paper state are set.
    let states: Vec<&Sample> = now
        .samples
        .iter()
        .filter(|s| s.metric == "kiosk_printer_state")
        .collect();
    assert_eq!(states.len(), 8);
    let set: Vec<&str> = states
        .iter()
        .filter(|s| s.value == Value::Gauge(1.0))
        .filter_map(|s| s.labels.get("state"))
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
    let ready = value(&now, "kiosk_printer_ready", &[]);
    assert_eq!(
        ready,
        if kiosk.app.printer().health().ready() {
            1.0
        } else {
            0.0
        }
    );
    let paper: f64 = now
        .samples
        .iter()
        .filter(|s| s.metric == "kiosk_printer_paper")
        .map(|s| match s.value {
            Value::Gauge(v) => v,
            _ => panic!("paper is a gauge"),
        })
        .sum();
    assert_eq!(paper, 1.0);

    assert!(value(&now, "kiosk_store_disk_bytes", &[]) > 0.0);
    assert!(value(&now, "kiosk_event_last_seq", &[]) >= 6.0);
    assert!(now.docs.contains_key("kiosk_waiting_tickets"), "HELP lines");
}
