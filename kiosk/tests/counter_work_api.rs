//! Counter work through the real API on 127.0.0.1:0: pause with a reason
//! and resume (with the officer's display name), call a chosen ticket, park
//! and recall, bring back a no-show — each one event on the stream, each
//! refusal a 4xx with a Vietnamese message — the console's ticket lists with
//! over-target marks, and the new `/metrics` gauges.

mod api_support;

use api_support::{open_stream, within, Setup, SseClient, TestKiosk};
use jiff::SignedDuration;
use prometheus_parse::{Scrape, Value};
use serde_json::json;

struct Staff<'a> {
    kiosk: &'a TestKiosk,
    cookie: String,
    csrf: String,
}

impl Staff<'_> {
    async fn post(&self, path: &str, body: serde_json::Value) -> api_support::Reply {
        let body = body.to_string();
        self.kiosk
            .call(
                "POST",
                path,
                &[
                    ("cookie", self.cookie.as_str()),
                    ("x-csrf-token", self.csrf.as_str()),
                    ("content-type", "application/json"),
                ],
                Some(&body),
            )
            .await
    }

    async fn get(&self, path: &str) -> api_support::Reply {
        self.kiosk
            .call("GET", path, &[("cookie", self.cookie.as_str())], None)
            .await
    }
}

/// The next stream event that is not a printer event.
async fn next_queue_event(stream: &mut SseClient) -> api_support::SseEvent {
    loop {
        let event = within(5, "event", stream.next_event())
            .await
            .expect("stream open");
        if !matches!(
            event.event.as_str(),
            "printed" | "print_failed" | "admin_action" | "service_day_started"
        ) {
            return event;
        }
    }
}

fn gauge(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric} {labels:?}"));
    match sample.value {
        Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric}: {other:?}"),
    }
}

async fn scrape(kiosk: &TestKiosk) -> Scrape {
    let reply = kiosk.call("GET", "/metrics", &[], None).await;
    assert_eq!(reply.status, 200);
    Scrape::parse(reply.body.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_work_over_http_is_one_event_per_action() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        ..Setup::default()
    })
    .await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/users/lan/display-name",
            &[
                ("authorization", admin.as_str()),
                ("content-type", "application/json"),
            ],
            Some(r#"{"display_name": "Nguyễn Thị Lan"}"#),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (cookie, csrf) = kiosk.login("lan").await;
    let lan = Staff {
        kiosk: &kiosk,
        cookie,
        csrf,
    };
    let display = format!("Bearer {}", kiosk.display_token);
    let (status, mut stream) = open_stream(
        kiosk.addr,
        "/api/v1/events",
        &[("authorization", display.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    let snapshot = within(5, "snapshot", stream.next_event()).await.unwrap();
    assert_eq!(snapshot.event, "snapshot");

    // Pause needs a listed reason; the refusal says which ones.
    let reply = lan
        .post("/api/v1/counters/1/pause", json!({"reason": "Đi chợ"}))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("Nghỉ giải lao"));
    let reply = lan
        .post("/api/v1/counters/1/pause", json!({"reason": "Họp"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let event = next_queue_event(&mut stream).await;
    assert_eq!(event.event, "counter_status_changed");
    assert_eq!(event.data["kind"]["status"]["type"], "paused");
    assert_eq!(event.data["kind"]["status"]["reason"], "Họp");
    assert_eq!(event.data["kind"]["officer"], "Nguyễn Thị Lan");
    // Paused: "next" is refused with a Vietnamese message.
    kiosk.issue("ho-tich").await;
    kiosk.issue("ho-tich").await;
    let reply = lan.post("/api/v1/counters/1/next", json!({})).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.json()["error"].as_str().unwrap().contains("tạm dừng"));
    let mine = lan.get("/api/v1/me/counters").await.json();
    assert_eq!(mine["counters"][0]["status"]["type"], "paused");
    assert_eq!(mine["counters"][0]["officer"], "Nguyễn Thị Lan");
    assert_eq!(mine["display_name"], "Nguyễn Thị Lan");
    let reply = lan.post("/api/v1/counters/1/open", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // The console's lists: both waiting, oldest first; 40 minutes later
    // both are over ho-tich's 30-minute target.
    kiosk.clock.advance(SignedDuration::from_mins(40));
    let lists = lan.get("/api/v1/counters/1/tickets").await.json();
    let waiting = lists["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|t| t["over_target"] == true));
    assert_eq!(lists["call_reasons"][0], "Ưu tiên theo quy định");
    let second = waiting[1]["id"].as_u64().unwrap();
    let scraped = scrape(&kiosk).await;
    assert_eq!(
        gauge(
            &scraped,
            "kiosk_over_target_tickets",
            &[("department", "ho-tich")]
        ),
        2.0
    );
    assert!(
        gauge(
            &scraped,
            "kiosk_oldest_waiting_seconds",
            &[("department", "ho-tich")]
        ) >= 2400.0
    );
    assert_eq!(
        gauge(
            &scraped,
            "kiosk_target_wait_seconds",
            &[("department", "ho-tich")]
        ),
        1800.0
    );
    assert_eq!(
        gauge(
            &scraped,
            "kiosk_display_stream_clients",
            &[("display", "bang-san")]
        ),
        1.0
    );
    assert_eq!(
        gauge(
            &scraped,
            "kiosk_counter_status",
            &[("counter", "1"), ("status", "open")]
        ),
        1.0
    );

    // Call the second ticket out of order.
    let reply = lan
        .post("/api/v1/counters/1/call", json!({"ticket": second}))
        .await;
    assert_eq!(reply.status, 422, "no reason: {}", reply.body);
    let reply = lan
        .post(
            "/api/v1/counters/1/call",
            json!({"ticket": second, "reason": "Hẹn trước"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(next_queue_event(&mut stream).await.event, "ticket_issued");
    assert_eq!(next_queue_event(&mut stream).await.event, "ticket_issued");
    let event = next_queue_event(&mut stream).await;
    assert_eq!(event.event, "counter_status_changed");
    assert_eq!(event.data["kind"]["status"]["type"], "open");
    let event = next_queue_event(&mut stream).await;
    assert_eq!(event.event, "called_chosen");
    assert_eq!(event.data["kind"]["reason"], "Hẹn trước");
    assert_eq!(event.data["kind"]["ticket"], second);

    // Park it while serving, then recall it with one action.
    let reply = lan.post("/api/v1/counters/1/park", json!({})).await;
    assert_eq!(
        reply.status, 409,
        "only a ticket being served: {}",
        reply.body
    );
    assert_eq!(
        lan.post("/api/v1/counters/1/start", json!({})).await.status,
        200
    );
    let reply = lan.post("/api/v1/counters/1/park", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = lan
        .post("/api/v1/counters/1/park", json!({"ticket": second}))
        .await;
    assert_eq!(reply.status, 409, "park twice: {}", reply.body);
    assert!(reply.json()["error"].as_str().unwrap().contains("tạm gác"));
    let lists = lan.get("/api/v1/counters/1/tickets").await.json();
    assert_eq!(lists["parked"][0]["id"], second);
    assert_eq!(next_queue_event(&mut stream).await.event, "serving_started");
    assert_eq!(next_queue_event(&mut stream).await.event, "parked");
    let reply = lan
        .post("/api/v1/counters/1/unpark", json!({"ticket": second}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let event = next_queue_event(&mut stream).await;
    assert_eq!(event.event, "called");
    assert_eq!(event.data["kind"]["recall"], true);
    assert_eq!(
        lan.post("/api/v1/counters/1/finish", json!({}))
            .await
            .status,
        200
    );
    assert_eq!(next_queue_event(&mut stream).await.event, "finished");

    // A no-show comes back; a served ticket cannot.
    assert_eq!(
        lan.post("/api/v1/counters/1/next", json!({})).await.status,
        200
    );
    let gone = lan
        .post("/api/v1/counters/1/no-show", json!({}))
        .await
        .json()["ticket"]["id"]
        .as_u64()
        .unwrap();
    let lists = lan.get("/api/v1/counters/1/tickets").await.json();
    assert!(
        lists.get("no_shows").is_none(),
        "read from disk only on request"
    );
    let lists = lan
        .get("/api/v1/counters/1/tickets?no_shows=true")
        .await
        .json();
    assert_eq!(lists["no_shows"][0]["id"], gone);
    let reply = lan
        .post("/api/v1/counters/1/bring-back", json!({"ticket": second}))
        .await;
    assert_eq!(reply.status, 409, "served: {}", reply.body);
    let reply = lan
        .post("/api/v1/counters/1/bring-back", json!({"ticket": gone}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(next_queue_event(&mut stream).await.event, "called");
    assert_eq!(next_queue_event(&mut stream).await.event, "no_show");
    let event = next_queue_event(&mut stream).await;
    assert_eq!(event.event, "brought_back");
    assert_eq!(event.data["kind"]["front"], true);
    let lists = lan.get("/api/v1/counters/1/tickets").await.json();
    assert_eq!(lists["waiting"][0]["id"], gone);

    // Another staff member's counter stays out of reach.
    let reply = lan
        .post("/api/v1/counters/2/pause", json!({"reason": "Họp"}))
        .await;
    assert_eq!(reply.status, 403);
}
