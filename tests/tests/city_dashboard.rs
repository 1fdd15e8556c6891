//! The city dashboard (crate `city-hub`) in headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven by `system_tests::webdriver`): log in through
//! the form, see three centers with their queues, a new ticket arrive
//! without a reload, the wrong-token center marked, and click into a
//! center. Screenshots for the README are written to `docs/` when missing
//! or with `UPDATE_SCREENSHOTS=1`. Skipped (with a message) when
//! chromedriver is not installed.

#[path = "../../kiosk/tests/api_support/mod.rs"]
mod api_support;
#[path = "../../city-hub/tests/pg_support/mod.rs"]
mod pg_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use api_support::{Setup, TestKiosk};
use city_hub::accounts::{Accounts, Role};
use city_hub::config::{Center, HubConfig};
use city_hub::dashboard::Dashboard;
use display_daemon::http::BaseUrl;
use jiff::SignedDuration;
use pg_support::PgCluster;
use queue_protocol::Actor;
use queue_store::clock::Clock as _;
use serde_json::json;
use system_tests::webdriver::{find_chromedriver, Browser};

fn save_doc(name: &str, png: &[u8]) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let path = docs.join(name);
    if path.exists() && std::env::var("UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(path, png).unwrap();
}

/// A morning: `tickets` issued two minutes apart from 08:00, `calls`
/// of them called over `counters` counters, most served.
async fn morning(kiosk: &TestKiosk, tickets: usize, calls: usize, counters: u16) {
    let store = kiosk.app.store().clone();
    let clock = kiosk.clock.clone();
    kiosk::app::blocking(move || {
        let departments = ["ho-tich", "dat-dai", "ho-tich", "chung-thuc"];
        for i in 0..tickets {
            let department = departments[i % departments.len()];
            // A department the test center lacks is skipped.
            let _ = store.issue(&department.into(), None, Actor::Button);
            clock.advance(SignedDuration::from_secs(120));
        }
        for i in 0..calls {
            let counter = 1 + (i as u16 % counters);
            let staff = Actor::Staff {
                name: ["lan", "minh", "hoa", "tuan"][usize::from(counter - 1) % 4].into(),
            };
            if let Ok(t) = store.call_next(counter, staff.clone()) {
                clock.advance(SignedDuration::from_secs(90));
                if i + usize::from(counters) < calls {
                    store.finish(counter, Some(t.id), staff).unwrap();
                }
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser_logs_in_updates_live_and_opens_a_center() {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup (Debian chromium + chromium-driver)");
        return;
    };
    let pg = PgCluster::start();
    let a = TestKiosk::start(Setup::default()).await;
    let b = TestKiosk::start(Setup::default()).await;
    let c = TestKiosk::start(Setup::default()).await;
    morning(&a, 24, 12, 3).await;
    morning(&b, 10, 7, 2).await;
    a.app
        .store()
        .record_fault("printer_paper_out", "the printer reports paper out")
        .unwrap();
    let url = |k: &TestKiosk| BaseUrl::parse(&format!("http://{}", k.addr)).unwrap();
    let centers = vec![
        Center {
            id: "phu-hoi".into(),
            name: "Phường Phú Hội".into(),
            url: url(&a),
            token: a.reader_token.clone(),
        },
        Center {
            id: "vy-da".into(),
            name: "Phường Vỹ Dạ".into(),
            url: url(&b),
            token: b.reader_token.clone(),
        },
        Center {
            id: "thuan-hoa".into(),
            name: "Phường Thuận Hóa".into(),
            url: url(&c),
            token: "a-token-from-another-kiosk".into(),
        },
    ];
    let config = HubConfig {
        database: pg.database(),
        batch_events: 50,
        linger: Duration::from_millis(20),
        centers: centers.clone(),
        listen: None,
        accounts: None,
    };
    let hub = city_hub::start(&config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(&dir.path().join("accounts.json")).unwrap();
    accounts
        .add("vanphong", Role::Viewer, "mật khẩu văn phòng")
        .unwrap();
    let clock = a.clock.clone();
    let (dashboard, refresher) = Dashboard::with_clock(
        hub.db.clone(),
        centers,
        hub.status.clone(),
        accounts,
        Arc::new(move || clock.now().as_millisecond()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(city_hub::http::serve_city(
        listener,
        hub.status.clone(),
        dashboard,
        refresher,
        std::future::pending(),
    ));

    let browser = Browser::launch(&chromedriver, 1366, 768).await.unwrap();
    browser.goto(&format!("{base}/")).await.unwrap();
    browser
        .wait_for("return location.pathname", json!("/login"))
        .await
        .unwrap();
    browser.fill("#name", "vanphong").await.unwrap();
    browser
        .fill("#password", "mật khẩu văn phòng")
        .await
        .unwrap();
    browser.click("#login-button").await.unwrap();
    browser
        .wait_for("return location.pathname", json!("/"))
        .await
        .unwrap();
    let cell = |center: &str, class: &str| {
        format!("var e = document.querySelector('tr[data-center=\"{center}\"] .{class}'); return e ? e.textContent : null;")
    };
    let waiting_a = a
        .app
        .store()
        .snapshot()
        .departments
        .iter()
        .map(|d| d.waiting)
        .sum::<u32>();
    browser
        .wait_for(&cell("phu-hoi", "waiting"), json!(waiting_a.to_string()))
        .await
        .unwrap();
    browser
        .wait_true("var r = document.querySelector('tr[data-center=\"thuan-hoa\"]'); return !!r && r.classList.contains('refused') && r.textContent.indexOf('Sai mã truy cập') >= 0;")
        .await
        .unwrap();
    let row_a = browser.text("tr[data-center=\"phu-hoi\"]").await.unwrap();
    assert!(row_a.as_str().unwrap().contains("Hết giấy"), "{row_a}");

    // Live: a ticket issued at the center shows without a reload.
    browser
        .execute("window.notReloaded = true; return true;")
        .await
        .unwrap();
    a.issue("ho-tich").await;
    browser
        .wait_for(
            &cell("phu-hoi", "waiting"),
            json!((waiting_a + 1).to_string()),
        )
        .await
        .unwrap();
    assert_eq!(
        browser
            .execute("return window.notReloaded === true;")
            .await
            .unwrap(),
        json!(true)
    );
    save_doc("city-dashboard.png", &browser.screenshot().await.unwrap());

    // One click into a center.
    browser
        .click("tr[data-center=\"phu-hoi\"] a")
        .await
        .unwrap();
    browser
        .wait_for("return location.pathname", json!("/center/phu-hoi"))
        .await
        .unwrap();
    let page = browser.text("body").await.unwrap();
    let page = page.as_str().unwrap();
    assert!(
        page.contains("Phường Phú Hội") && page.contains("đang chờ"),
        "{page}"
    );
    assert!(page.contains("ho-tich"), "{page}");
    save_doc("city-center.png", &browser.screenshot().await.unwrap());
    let day = a.app.store().service_day().unwrap();
    browser
        .goto(&format!("{base}/report?from={day}&to={day}&by=officer"))
        .await
        .unwrap();
    browser
        .wait_true("return document.body.textContent.indexOf('lan') >= 0;")
        .await
        .unwrap();
    save_doc("city-report.png", &browser.screenshot().await.unwrap());
    drop(browser);
    hub.stop().await;
}
