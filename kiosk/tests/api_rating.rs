//! `POST /api/v1/counters/{n}/rate` from the counter's keypad token: the
//! rating is recorded once (a retry with the same key is answered again),
//! a second rating is refused with its reason and a Vietnamese line, staff
//! and admins cannot rate, staff never see ratings in answers or in their
//! event stream, admins do, and `/metrics` counts them.

mod api_support;

use api_support::{open_stream, within, Setup, TestKiosk};

const JSON: (&str, &str) = ("content-type", "application/json");

async fn serve_one_at_counter_1(kiosk: &TestKiosk, staff: &[(&str, &str)]) {
    kiosk.issue("ho-tich").await;
    kiosk.issue("ho-tich").await;
    for action in ["next", "start", "finish"] {
        let reply = kiosk
            .call("POST", &format!("/api/v1/counters/1/{action}"), staff, None)
            .await;
        assert_eq!(reply.status, 200, "{action}: {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keypad_rates_the_finished_ticket_once() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        ..Setup::default()
    })
    .await;
    let (cookie, csrf) = kiosk.login("lan").await;
    let staff = [
        ("cookie", cookie.as_str()),
        ("x-csrf-token", csrf.as_str()),
        JSON,
    ];
    let admin = format!("Bearer {}", kiosk.admin_token);
    let admin = [("authorization", admin.as_str()), JSON];
    let keypad = format!("Bearer {}", kiosk.keypad_token);
    let keypad = [("authorization", keypad.as_str()), JSON];
    let (status, mut staff_stream) = open_stream(kiosk.addr, "/api/v1/events", &staff).await;
    assert_eq!(status, 200);
    let (status, mut admin_stream) = open_stream(kiosk.addr, "/api/v1/events", &admin).await;
    assert_eq!(status, 200);
    serve_one_at_counter_1(&kiosk, &staff).await;

    let body = r#"{"level": "very_satisfied", "source": "counter_button", "key": "k1"}"#;
    for (who, headers) in [("staff", &staff[..]), ("admin", &admin[..])] {
        let reply = kiosk
            .call("POST", "/api/v1/counters/1/rate", headers, Some(body))
            .await;
        assert_eq!(reply.status, 403, "{who} may not rate: {}", reply.body);
    }
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/rate", &keypad, Some(body))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["label"], "1001");
    assert_eq!(reply.json()["repeated"], false);
    // The answer was lost: the device sends the same press again.
    let again = kiosk
        .call("POST", "/api/v1/counters/1/rate", &keypad, Some(body))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["repeated"], true);
    // A second press is a second rating of the same ticket: refused.
    let second = r#"{"level": "unsatisfied", "source": "counter_button", "key": "k2"}"#;
    let refused = kiosk
        .call("POST", "/api/v1/counters/1/rate", &keypad, Some(second))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["reason"], "already_rated");
    assert!(refused.json()["message_vi"]
        .as_str()
        .unwrap()
        .contains("đã được đánh giá"));
    let bad = r#"{"level": "neutral", "source": "counter_button"}"#;
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/rate", &keypad, Some(bad))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "unknown_level");

    // The admin's stream carries the rating; the staff stream goes from
    // "finished" straight to the next call.
    let next = kiosk
        .call("POST", "/api/v1/counters/1/next", &staff, None)
        .await;
    assert_eq!(next.status, 200);
    assert!(next.body.find("rating").is_none(), "{}", next.body);
    let mut admin_saw = Vec::new();
    within(5, "admin stream", async {
        while let Some(e) = admin_stream.next_event().await {
            admin_saw.push(e.event.clone());
            if e.event == "called" && admin_saw.iter().filter(|e| *e == "called").count() == 2 {
                break;
            }
        }
    })
    .await;
    assert_eq!(
        admin_saw.iter().filter(|e| *e == "rated").count(),
        1,
        "{admin_saw:?}"
    );
    let mut staff_saw = Vec::new();
    within(5, "staff stream", async {
        while let Some(e) = staff_stream.next_event().await {
            staff_saw.push(e.event.clone());
            if e.event == "called" && staff_saw.iter().filter(|e| *e == "called").count() == 2 {
                break;
            }
        }
    })
    .await;
    assert!(!staff_saw.contains(&"rated".to_string()), "{staff_saw:?}");
    assert!(staff_saw.contains(&"finished".to_string()), "{staff_saw:?}");

    // The ticket keeps its rating for admins.
    let store = kiosk.app.store().clone();
    let ticket = kiosk::app::blocking(move || store.ticket(queue_protocol::TicketId(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.rating.unwrap().level, "very_satisfied");

    let metrics = kiosk.call("GET", "/metrics", &[], None).await;
    assert!(
        metrics
            .body
            .contains("kiosk_ratings_total{department=\"ho-tich\",level=\"very_satisfied\"} "),
        "{}",
        metrics.body
    );
    assert!(metrics
        .body
        .contains("kiosk_ratings_total{department=\"dat-dai\",level=\"unsatisfied\"} 0"));

    // Admins read the per-officer table; nobody can change it.
    let csv = kiosk
        .call(
            "GET",
            "/api/v1/reports?from=2026-11-26&to=2026-11-26&ratings=true&format=csv",
            &admin,
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}officer,ratings,very_satisfied,satisfied,unsatisfied,satisfied_share_pct"
    );
    assert_eq!(lines[1], "lan,1,1,0,0,100");
}
