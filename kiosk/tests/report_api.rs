//! `GET /api/v1/reports` on the real router, and `kiosk report`'s fallback
//! client that asks a running kiosk for it.

mod api_support;

use api_support::{Setup, TestKiosk};
use kiosk::commands::report::{fetch_report, make_report, ReportArgs};
use queue_store::report::{Report, ReportRequest};

const DAY: &str = "from=2026-11-26&to=2026-11-26";

async fn busy_kiosk() -> TestKiosk {
    let kiosk = TestKiosk::start(Setup::default()).await;
    kiosk.issue("ho-tich").await;
    kiosk.issue("ho-tich").await;
    kiosk.issue("dat-dai").await;
    let bearer = format!("Bearer {}", kiosk.keypad_token);
    let next = kiosk
        .call(
            "POST",
            "/api/v1/counters/1/next",
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.body);
    kiosk
}

#[tokio::test]
async fn admins_get_the_report_as_json_and_csv() {
    let kiosk = busy_kiosk().await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let auth = [("authorization", admin.as_str())];
    let reply = kiosk
        .call(
            "GET",
            &format!("/api/v1/reports?{DAY}&by=department"),
            &auth,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let report: Report = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(report.total.issued, Some(3));
    assert_eq!(report.total.called, 1);
    assert_eq!(report.rows[0].key, "ho-tich");
    assert_eq!(report.rows[0].issued, Some(2));

    let by_staff = kiosk
        .call(
            "GET",
            &format!("/api/v1/reports?{DAY}&by=staff&daily=true"),
            &auth,
            None,
        )
        .await;
    let by_staff: Report = serde_json::from_str(&by_staff.body).unwrap();
    assert_eq!(by_staff.rows[0].key, "keypad-1");
    assert_eq!(by_staff.daily.len(), 1);

    let csv = kiosk
        .call(
            "GET",
            &format!("/api/v1/reports?{DAY}&format=csv"),
            &auth,
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv
        .body
        .starts_with("\u{feff}service_day,group,key,name,issued"));
    assert_eq!(csv.body.lines().count(), 3);
}

#[tokio::test]
async fn only_admins_and_clear_errors() {
    let kiosk = busy_kiosk().await;
    let path = format!("/api/v1/reports?{DAY}");
    assert_eq!(kiosk.call("GET", &path, &[], None).await.status, 401);
    let display = format!("Bearer {}", kiosk.display_token);
    let refused = kiosk
        .call("GET", &path, &[("authorization", &display)], None)
        .await;
    assert_eq!(refused.status, 403);

    let admin = format!("Bearer {}", kiosk.admin_token);
    let auth = [("authorization", admin.as_str())];
    for (query, says) in [
        ("from=26-11-2026&to=2026-11-26", "YYYY-MM-DD"),
        ("from=2026-11-27&to=2026-11-26", "swap"),
        (
            "from=2026-11-26&to=2026-11-26&by=week",
            "department, counter, staff, hour or service",
        ),
        ("from=2026-11-26&to=2026-11-26&format=xlsx", "json or csv"),
        ("to=2026-11-26", "from=YYYY-MM-DD"),
    ] {
        let reply = kiosk
            .call("GET", &format!("/api/v1/reports?{query}"), &auth, None)
            .await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        let message = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[tokio::test]
async fn the_command_asks_a_running_kiosk() {
    let kiosk = busy_kiosk().await;
    let request = ReportRequest::parse("2026-11-26", "2026-11-26", Some("counter"), true).unwrap();
    let (addr, token) = (kiosk.addr.to_string(), kiosk.admin_token.clone());
    let asked = request.clone();
    let report = tokio::task::spawn_blocking(move || fetch_report(&addr, &token, &asked))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(
        (report.rows[0].key.as_str(), report.rows[0].called),
        ("1", 1)
    );
    assert_eq!(report.daily.len(), 1);

    let addr = kiosk.addr.to_string();
    let err = tokio::task::spawn_blocking(move || fetch_report(&addr, "wrong", &request))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("admin token"), "{err:#}");
}

#[tokio::test]
async fn the_command_falls_back_to_the_api_when_the_daemon_holds_the_store() {
    let kiosk = busy_kiosk().await;
    // The kiosk's own config: its data directory is locked by the running store.
    let mut config = api_support::center(kiosk.dir.path());
    config.kiosk.data_dir = kiosk.dir.path().join("store");
    let request = ReportRequest::parse("2026-11-26", "2026-11-26", None, false).unwrap();
    let mut args = ReportArgs {
        config: "center.toml".into(),
        from: "2026-11-26".into(),
        to: "2026-11-26".into(),
        by: "department".into(),
        format: "table".into(),
        daily: false,
        ratings: false,
        no_bom: false,
        token: Some(String::new()),
        kiosk: Some(kiosk.addr.to_string()),
        ca_file: None,
    };
    let (c, r, a) = (config.clone(), request.clone(), args.clone());
    let err = tokio::task::spawn_blocking(move || make_report(&c, &r, &a))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the running kiosk holds the queue store"),
        "{err}"
    );
    assert!(err.contains("kiosk token add report --role admin"), "{err}");
    assert!(err.contains("systemctl stop kiosk"), "{err}");

    args.token = Some(kiosk.admin_token.clone());
    let report = tokio::task::spawn_blocking(move || make_report(&config, &request, &args))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.total.issued, Some(3));
}
