//! The city dashboard over a real PostgreSQL and real kiosks: login with
//! the accounts file (wrong password refused, pages and API closed without
//! a session), every center's queue now (waiting, the oldest ticket,
//! counters, printer fault, served), the wrong-token center shown as such
//! while the other goes on, the live push, the center and report pages.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
mod pg_support;

use std::time::{Duration, Instant};

use api_support::{Setup, TestKiosk};
use city_hub::accounts::{Accounts, Role};
use city_hub::config::{Center, HubConfig};
use city_hub::dashboard::Dashboard;
use display_daemon::http::BaseUrl;
use pg_support::PgCluster;
use queue_protocol::Actor;

fn center(id: &str, name: &str, kiosk: &TestKiosk, token: &str) -> Center {
    Center {
        id: id.into(),
        name: name.into(),
        url: BaseUrl::parse(&format!("http://{}", kiosk.addr)).unwrap(),
        token: token.into(),
    }
}

async fn login(addr: std::net::SocketAddr, name: &str, password: &str) -> Option<String> {
    let body = format!("name={name}&password={}", password.replace(' ', "+"));
    let reply = api_support::request(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
    .await;
    let cookie = reply.header("set-cookie")?.split(';').next()?.to_owned();
    assert_eq!(reply.status, 303, "{}", reply.body);
    Some(cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_page_shows_every_center_now_and_the_wrong_token_one_as_such() {
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    // Center A: 6 tickets, two called (one served), a paper-out fault.
    let store = a.app.store().clone();
    let labels = kiosk::app::blocking(move || {
        let labels: Vec<String> = (0..6)
            .map(|_| {
                store
                    .issue(&"ho-tich".into(), None, Actor::Button)
                    .unwrap()
                    .ticket
                    .label
            })
            .collect();
        let lan = Actor::Staff { name: "lan".into() };
        let first = store.call_next(1, lan.clone()).unwrap();
        store.finish(1, Some(first.id), lan.clone()).unwrap();
        store.call_next(2, lan).unwrap();
        store
            .record_fault("printer_paper_out", "the printer reports paper out")
            .unwrap();
        labels
    })
    .await;

    let config = HubConfig {
        database: pg.database(),
        batch_events: 50,
        linger: Duration::from_millis(20),
        centers: vec![
            center("phu-hoi", "Phường Phú Hội", &a, &a.reader_token),
            center("vy-da", "Phường Vỹ Dạ", &b, "not-the-token"),
        ],
        listen: None,
        accounts: None,
    };
    let hub = city_hub::start(&config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(&dir.path().join("accounts.json")).unwrap();
    accounts
        .add("thanhpho", Role::Admin, "mật khẩu quản trị")
        .unwrap();
    accounts
        .add("vanphong", Role::Viewer, "mật khẩu văn phòng")
        .unwrap();
    // The file keeps hashes only, and a reopened file knows the accounts.
    let file = std::fs::read_to_string(dir.path().join("accounts.json")).unwrap();
    assert!(file.contains("$argon2id$") && !file.contains("quản trị"));
    let accounts = Accounts::open(&dir.path().join("accounts.json")).unwrap();
    assert_eq!(accounts.list().len(), 2);

    let (dashboard, refresher) = Dashboard::new(
        hub.db.clone(),
        config.centers.clone(),
        hub.status.clone(),
        accounts,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(city_hub::http::serve_city(
        listener,
        hub.status.clone(),
        dashboard,
        refresher,
        std::future::pending(),
    ));

    // Closed without a session.
    let page = api_support::request(addr, "GET", "/", &[], None).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login"));
    let api = api_support::request(addr, "GET", "/api/v1/city", &[], None).await;
    assert_eq!(api.status, 401);
    let login_page = api_support::request(addr, "GET", "/login", &[], None).await;
    assert!(login_page.body.contains("Đăng nhập"));
    assert_eq!(login(addr, "thanhpho", "sai mật khẩu rồi").await, None);
    assert_eq!(login(addr, "khongco", "mật khẩu quản trị").await, None);
    let admin = login(addr, "thanhpho", "mật khẩu quản trị").await.unwrap();
    let viewer = login(addr, "vanphong", "mật khẩu văn phòng").await.unwrap();

    // Wait until A is ingested and B refused, as the dashboard shows them.
    let last = a.app.store().last_seq();
    let deadline = Instant::now() + Duration::from_secs(60);
    let centers = loop {
        let reply =
            api_support::request(addr, "GET", "/api/v1/city", &[("Cookie", &admin)], None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let json = reply.json();
        let done = hub.status.center("phu-hoi").unwrap().stored_seq >= last
            && json["centers"][0]["waiting"] == 4
            && json["centers"][1]["link"] == "refused";
        if done {
            break json["centers"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "dashboard never caught up: {json}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (pa, vd) = (&centers[0], &centers[1]);
    assert_eq!(pa["id"], "phu-hoi");
    assert_eq!(pa["link"], "following");
    assert_eq!(pa["issued"], 6);
    assert_eq!(pa["waiting"], 4);
    assert_eq!(
        pa["oldest_label"],
        labels[2].as_str(),
        "the first two were called"
    );
    assert!(pa["oldest_wait_secs"].as_u64().is_some());
    assert_eq!(pa["counters_busy"], 1);
    assert_eq!(pa["served"], 1);
    assert_eq!(pa["printer_fault"], "printer_paper_out");
    assert_eq!(vd["link"], "refused");
    assert!(vd["problem"].as_str().unwrap().contains("--role reader"));
    assert_eq!(vd["waiting"], 0);
    // A viewer sees the state, not the technician's message.
    let seen = api_support::request(addr, "GET", "/api/v1/city", &[("Cookie", &viewer)], None)
        .await
        .json();
    assert_eq!(seen["role"], "viewer");
    assert_eq!(seen["centers"][1]["link"], "refused");
    assert!(seen["centers"][1]["problem"].is_null());

    // Live: a new ticket at A reaches an open stream.
    let (status, mut live) =
        api_support::open_stream(addr, "/api/v1/city/live", &[("Cookie", &viewer)]).await;
    assert_eq!(status, 200);
    let first = api_support::within(10, "first city message", live.next_event())
        .await
        .unwrap();
    assert_eq!(first.event, "city");
    assert_eq!(first.data[0]["waiting"], 4);
    a.issue("dat-dai").await;
    api_support::within(20, "the new ticket pushed", async {
        loop {
            let next = live.next_event().await.expect("stream open");
            if next.data[0]["waiting"] == 5 {
                break;
            }
        }
    })
    .await;

    // The pages, in Vietnamese.
    let city = api_support::request(addr, "GET", "/", &[("Cookie", &viewer)], None).await;
    assert_eq!(city.status, 200);
    assert!(city.body.contains("Đang chờ") && city.body.contains("/api/v1/city/live"));
    let one =
        api_support::request(addr, "GET", "/center/phu-hoi", &[("Cookie", &viewer)], None).await;
    assert_eq!(one.status, 200);
    assert!(
        one.body.contains("Phường Phú Hội") && one.body.contains("Hết giấy"),
        "{}",
        one.body
    );
    assert!(
        one.body.contains("ho-tich"),
        "today's report by department: {}",
        one.body
    );
    let wrong =
        api_support::request(addr, "GET", "/center/vy-da", &[("Cookie", &admin)], None).await;
    assert!(wrong.body.contains("Sai mã truy cập"), "{}", wrong.body);
    let day = a.app.store().service_day().unwrap().to_string();
    let report = api_support::request(
        addr,
        "GET",
        &format!("/report?from={day}&to={day}&by=department"),
        &[("Cookie", &viewer)],
        None,
    )
    .await;
    assert!(
        report.body.contains("ho-tich") && report.body.contains("dat-dai"),
        "{}",
        report.body
    );
    let csv = api_support::request(
        addr,
        "GET",
        &format!("/api/v1/report?from={day}&to={day}&by=center&format=csv"),
        &[("Cookie", &viewer)],
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("center,key,issued"), "{}", csv.body);
    assert!(csv.body.contains("phu-hoi,,7,1,0"), "{}", csv.body);
    let bad = api_support::request(
        addr,
        "GET",
        "/api/v1/report?from=hôm-qua&to=x",
        &[("Cookie", &viewer)],
        None,
    )
    .await;
    assert_eq!(bad.status, 400);

    // Logged out: closed again.
    let out = api_support::request(addr, "POST", "/logout", &[("Cookie", &viewer)], None).await;
    assert_eq!(out.status, 303);
    let after =
        api_support::request(addr, "GET", "/api/v1/city", &[("Cookie", &viewer)], None).await;
    assert_eq!(after.status, 401);
    hub.stop().await;
}
