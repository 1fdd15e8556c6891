//! The touch page's API on a real kiosk: a touch press and a button press
//! share the department's numbers, the service is kept and printed, a
//! citizen ID card grants the elderly class by age and leaves no trace of
//! its ID number or name in any log line or stored byte, a foreign QR uses
//! no number, and closed departments are shown as closed.

mod api_support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use api_support::{Setup, TestKiosk};
use kiosk::app::PressOutcome;
use serde_json::json;

/// A made-up card, born 2 January 1950 (76 on the test's day).
const ID_NUMBER: &str = "046150009876";
const NAME: &str = "Hoàng Thị Giả Định";

fn card(birth: &str) -> String {
    format!("{ID_NUMBER}|191234567|{NAME}|{birth}|Nữ|7 Đinh Tiên Hoàng, Thuận Hòa, Huế|10052022")
}

/// Every log line of this test binary, from every thread.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn press(kiosk: &TestKiosk, body: serde_json::Value) -> api_support::Reply {
    kiosk
        .call(
            "POST",
            "/api/v1/touch/press",
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touch_and_button_presses_share_the_numbers_and_the_service_is_kept() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let reply = press(
        &kiosk,
        json!({ "department": "ho-tich", "service": "khai-sinh" }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["label"], "1001");
    assert_eq!(body["service"], "Khai sinh");
    assert_eq!(body["printed"], true);
    assert_eq!(body["message"], "Số của bạn: 1001 — Còn 0 người trước bạn");

    let PressOutcome::Printed(button) = kiosk.app.press(&"ho-tich".into(), false).await else {
        panic!("the button press printed");
    };
    assert_eq!(button.ticket.label, "1002");
    assert_eq!(button.ticket.service, None);

    let reply = press(
        &kiosk,
        json!({ "department": "ho-tich", "service": "ket-hon" }),
    )
    .await;
    assert_eq!(reply.json()["label"], "1003");
    assert_eq!(
        reply.json()["message"],
        "Số của bạn: 1003 — Còn 2 người trước bạn"
    );
    let day = kiosk.app.store().service_day().expect("a day started");
    let tickets = kiosk.app.store().day_tickets(day).unwrap();
    let services: Vec<Option<String>> = tickets.iter().map(|t| t.service.clone()).collect();
    assert_eq!(
        services,
        [Some("khai-sinh".into()), None, Some("ket-hon".into())]
    );
    let printed = std::fs::read(kiosk.dir.path().join("printer.bin")).unwrap();
    assert!(printed.len() > 1000, "three tickets reached the printer");

    // An unknown service uses no number.
    let reply = press(
        &kiosk,
        json!({ "department": "ho-tich", "service": "ly-hon" }),
    )
    .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["number_used"], false);
    let reply = press(&kiosk, json!({ "department": "ho-tich" })).await;
    assert_eq!(reply.json()["label"], "1004");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_card_grants_the_elderly_class_and_leaves_no_trace() {
    let logs = logs();
    // Flushed like the daemon, so every record is on disk to be searched.
    let kiosk = TestKiosk::start(Setup {
        durability: queue_store::store::Durability::Flush,
        ..Setup::default()
    })
    .await;
    let json_header = [("content-type", "application/json")];

    let reply = kiosk
        .call(
            "POST",
            "/api/v1/touch/cccd",
            &json_header,
            Some(&json!({ "qr": card("02011950") }).to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["granted"], true);
    assert_eq!(reply.json()["priority"], "nguoi-cao-tuoi");

    let reply = press(
        &kiosk,
        json!({ "department": "ho-tich", "service": "khai-sinh", "cccd": card("02011950") }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["priority"], "Người cao tuổi");

    // 74 years old on 26 November 2026: a ticket without priority.
    let reply = press(
        &kiosk,
        json!({ "department": "ho-tich", "cccd": card("27111951") }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["priority"], serde_json::Value::Null);

    // A foreign QR or a bad date: a short message, no number used.
    for bad in [
        "https://example.invalid/pay?amount=5000".to_string(),
        card("31021950"),
        format!("{ID_NUMBER}|{NAME}|02011950"),
    ] {
        let reply = press(&kiosk, json!({ "department": "ho-tich", "cccd": bad })).await;
        assert_eq!(reply.status, 422, "{}", reply.body);
        assert!(reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("thẻ căn cước"));
        let reply = kiosk
            .call(
                "POST",
                "/api/v1/touch/cccd",
                &json_header,
                Some(&json!({ "qr": bad }).to_string()),
            )
            .await;
        assert_eq!(reply.status, 422, "{}", reply.body);
        assert!(!reply.body.contains(ID_NUMBER) && !reply.body.contains("Giả Định"));
    }
    let reply = press(&kiosk, json!({ "department": "ho-tich" })).await;
    assert_eq!(
        reply.json()["label"],
        "1003",
        "refused scans used no number"
    );

    // Nothing of the card anywhere: log lines, events, tickets, the disk.
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logged.contains("touch ticket printed"),
        "logs were captured"
    );
    for secret in [ID_NUMBER, NAME, "Giả Định", "02011950", "Đinh Tiên Hoàng"] {
        assert!(!logged.contains(secret), "a log line holds {secret:?}");
        let events = format!("{:?}", kiosk.app.store().events_since(0, 10_000).unwrap());
        assert!(!events.contains(secret), "an event holds {secret:?}");
        for file in walk(kiosk.dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{} holds {secret:?}",
                file.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_departments_are_shown_and_refused_without_using_a_number() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let state = kiosk.call("GET", "/api/v1/touch/state", &[], None).await;
    assert_eq!(state.status, 200, "{}", state.body);
    let body = state.json();
    assert_eq!(body["open"], true);
    assert_eq!(body["cccd"], true);
    assert_eq!(body["departments"][0]["services"][0]["name"], "Khai sinh");
    assert_eq!(body["departments"][0]["services"][1]["priority"], false);

    // 18:30: outside every session.
    kiosk
        .clock
        .set(api_support::store_support::local(2026, 11, 26, 18, 30));
    let body = kiosk
        .call("GET", "/api/v1/touch/state", &[], None)
        .await
        .json();
    assert_eq!(body["open"], false);
    let departments = body["departments"].as_array().unwrap();
    assert_eq!(departments.len(), 2, "closed departments are listed");
    for d in departments {
        assert_eq!(d["open"], false);
        assert_eq!(d["closed_message"], "Ngoài giờ làm việc");
        assert_eq!(d["hours"], "07:30–11:30, 13:30–17:00");
    }
    let reply = press(&kiosk, json!({ "department": "ho-tich" })).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["error"], "Ngoài giờ làm việc.");

    // Sunday: the whole day is closed.
    kiosk
        .clock
        .set(api_support::store_support::local(2026, 11, 29, 9, 0));
    let body = kiosk
        .call("GET", "/api/v1/touch/state", &[], None)
        .await
        .json();
    assert_eq!(
        body["departments"][0]["closed_message"],
        "Hôm nay không làm việc"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
