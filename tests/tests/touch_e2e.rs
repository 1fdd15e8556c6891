//! End to end: the touch page (`/touch`) in headless Chromium with touch
//! emulation, at the 1280×800 and 1024×600 panels a ticket machine has,
//! against a kiosk (store, printer worker, LAN API and pages) on 127.0.0.1:0
//! printing to the `emupos` emulator.
//!
//! - A citizen taps Hộ tịch, then Khai sinh, then "Không ưu tiên"; the page
//!   shows "Số của bạn: 1001 — Còn 0 người trước bạn", and the emulator's
//!   receipt is, pixel for pixel, the ticket drawn with "Khai sinh" under
//!   the department (and differs from the same ticket without it).
//! - Paper out: the page says "Máy in tạm hết giấy, vui lòng báo cán bộ
//!   hướng dẫn" and no number is used.
//! - A scanned citizen ID card (typed like a keyboard, ended by Enter)
//!   gives the elderly class.
//! - Outside opening hours the closed screen shows, departments are not
//!   offered.
//!
//! Screenshots for the README (`docs/touch-*.png`) are written when missing
//! or with `UPDATE_SCREENSHOTS=1`. Skipped with a message when chromedriver
//! is not installed (`.ci/setup` installs Debian's `chromium` and
//! `chromium-driver`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::{ticket_content, App};
use kiosk::daemon::open_app;
use kiosk_config::PrinterTransport;
use queue_store::clock::ManualClock;
use serde_json::json;
use system_tests::emupos::Emulator;
use system_tests::webdriver::{find_chromedriver, Browser, DEADLINE};
use ticket_printer::{render, Bitmap};
use tokio::sync::oneshot;

/// A kiosk with the Phú Xuân config (its real opening hours) on a manual
/// clock, printing to the emulator, serving the API and the pages.
struct Kiosk {
    addr: SocketAddr,
    app: App,
    clock: ManualClock,
    printer: Emulator,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// Wednesday 25 November 2026 at `h:m` in Huế.
fn at(h: i8, m: i8) -> jiff::Timestamp {
    jiff::civil::date(2026, 11, 25)
        .at(h, m, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .unwrap()
        .timestamp()
}

impl Kiosk {
    async fn start() -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            kiosk_config::parse_center(kiosk_config::examples::PHU_XUAN, "phu-xuan.toml")
                .unwrap()
                .value;
        config.kiosk.data_dir = dir.path().join("data");
        let printer = Emulator::start();
        config.kiosk.printer.transport = PrinterTransport::Tcp {
            host: "127.0.0.1".into(),
            port: printer.printer_port,
        };
        config.kiosk.printer.status_interval = Duration::from_millis(50);
        // Long enough that the page never resets in the middle of a test step.
        config.kiosk.touch.idle_return = Duration::from_secs(60);
        let config = Arc::new(config);
        let clock = ManualClock::new(at(9, 0));
        let transport = ticket_printer::open(&config.kiosk.printer).unwrap();
        let app = open_app(Arc::clone(&config), transport, Arc::new(clock.clone())).unwrap();
        let accounts = Accounts::open(&Accounts::path_in(&config.kiosk.data_dir)).unwrap();
        let api = ApiState::new(app.clone(), accounts, ApiOptions::default());
        let router = kiosk::api::router(api.clone()).merge(kiosk::web::router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            kiosk::api::server(router, &api)
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
        });
        Kiosk {
            addr,
            app,
            clock,
            printer,
            _stop: stop,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn issued_today(&self, department: &str) -> u32 {
        self.app
            .store()
            .snapshot()
            .departments
            .iter()
            .find(|d| d.department == department)
            .map_or(0, |d| d.issued_today)
    }

    async fn wait_printer(&self, ready: bool) {
        let deadline = Instant::now() + DEADLINE;
        while self.app.printer().check().await.ready() != ready {
            assert!(
                Instant::now() < deadline,
                "printer never became ready={ready}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn browser(width: u32, height: u32) -> Option<Browser> {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup (Debian chromium + chromium-driver)");
        return None;
    };
    let browser = Browser::launch(&chromedriver, width, height).await.unwrap();
    browser.set_viewport(width, height).await.unwrap();
    browser.emulate_touch().await.unwrap();
    Some(browser)
}

fn screen_is(name: &str) -> String {
    format!("return document.body.dataset.screen === '{name}' && !document.getElementById('screen-{name}').hidden;")
}

/// Saves a screenshot for the README when it is missing or when
/// `UPDATE_SCREENSHOTS=1` (so an ordinary test run leaves `docs/` alone).
fn save_doc(name: &str, png: &[u8]) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let path = docs.join(name);
    if path.exists() && std::env::var("UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(path, png).unwrap();
}

/// Dots that differ between two bitmaps laid over each other.
fn differing_dots(expected: &Bitmap, actual: &Bitmap) -> u64 {
    let mut differ = 0;
    for y in 0..expected.height().max(actual.height()) {
        for x in 0..u32::from(expected.width().max(actual.width())) {
            if expected.get(x, y) != actual.get(x, y) {
                differ += 1;
            }
        }
    }
    differ
}

async fn a_citizen_takes_a_ticket_for_a_service(width: u32, height: u32, shots: bool) {
    let Some(browser) = browser(width, height).await else {
        return;
    };
    let kiosk = Kiosk::start().await;
    kiosk.wait_printer(true).await;
    browser.goto(&kiosk.url("/touch")).await.unwrap();
    browser.wait_true(&screen_is("start")).await.unwrap();
    browser
        .wait_true(
            "return matchMedia('(pointer: coarse)').matches && navigator.maxTouchPoints > 0;",
        )
        .await
        .unwrap();
    // Every department is offered, the first ones in full view.
    browser
        .wait_for(
            "return document.querySelectorAll('#departments .tile:not(.closed)').length",
            json!(15),
        )
        .await
        .unwrap();
    let tile = browser
        .execute(
            "var r = document.querySelector('[data-department=\"ho-tich\"]').getBoundingClientRect(); \
             return [r.height, r.bottom <= innerHeight, document.documentElement.scrollWidth <= innerWidth];",
        )
        .await
        .unwrap();
    assert!(
        tile[0].as_f64().unwrap() >= 60.0,
        "targets are large: {tile}"
    );
    assert_eq!(tile[1], true, "the first department is in view: {tile}");
    assert_eq!(tile[2], true, "nothing sticks out sideways: {tile}");
    if shots {
        save_doc("touch-start.png", &browser.screenshot().await.unwrap());
    } else {
        save_doc(
            &format!("touch-start-{width}x{height}.png"),
            &browser.screenshot().await.unwrap(),
        );
    }

    browser.tap("[data-department=\"ho-tich\"]").await.unwrap();
    browser.wait_true(&screen_is("services")).await.unwrap();
    assert_eq!(
        browser.text("#services-title").await.unwrap(),
        json!("Hộ tịch")
    );
    if shots {
        save_doc("touch-services.png", &browser.screenshot().await.unwrap());
    } else {
        save_doc(
            &format!("touch-services-{width}x{height}.png"),
            &browser.screenshot().await.unwrap(),
        );
    }
    browser.tap("[data-service=\"khai-sinh\"]").await.unwrap();
    browser.wait_true(&screen_is("priority")).await.unwrap();
    browser.tap("[data-priority=\"\"]").await.unwrap();
    browser.wait_true(&screen_is("ticket")).await.unwrap();
    assert_eq!(
        browser.text("#ticket-message").await.unwrap(),
        json!("Số của bạn: 1001 — Còn 0 người trước bạn")
    );
    assert_eq!(
        browser.text("#ticket-service").await.unwrap(),
        json!("Khai sinh")
    );
    if shots {
        save_doc("touch-ticket.png", &browser.screenshot().await.unwrap());
    }

    // The receipt the printer got is the ticket with its service line.
    let (receipt, _) = kiosk.printer.receipt(1);
    let day = kiosk.app.store().service_day().unwrap();
    let ticket = kiosk.app.store().day_tickets(day).unwrap().remove(0);
    assert_eq!(ticket.service.as_deref(), Some("khai-sinh"));
    let config = kiosk.app.config();
    let issued = ticket_content(&config, &ticket, None, 0, Some(Duration::ZERO));
    assert_eq!(issued.service.as_deref(), Some("Khai sinh"));
    let width_dots = config.kiosk.printer.dots_per_line;
    let mut without = issued.clone();
    without.service = None;
    let no_service = render(&without, width_dots);
    assert!(
        differing_dots(&no_service, &receipt) > 0,
        "the service line is on the receipt"
    );
    // The estimated-wait line depends on the queue's history: compare
    // with the ticket drawn as it was printed (no one waited before it).
    let mut best = u64::MAX;
    for wait in [None, Some(Duration::ZERO)] {
        let mut content = issued.clone();
        content.estimated_wait = wait;
        best = best.min(differing_dots(&render(&content, width_dots), &receipt));
    }
    assert_eq!(best, 0, "the receipt is the ticket drawn with its service");

    // Paper out: the message, and no number used.
    kiosk.printer.set_fault("paper-out", true);
    kiosk.wait_printer(false).await;
    browser.tap("#ticket-done").await.unwrap();
    browser.wait_true(&screen_is("start")).await.unwrap();
    browser
        .wait_true("return !document.getElementById('printer-bar').hidden;")
        .await
        .unwrap();
    browser
        .tap("[data-department=\"chung-thuc\"]")
        .await
        .unwrap();
    browser.wait_true(&screen_is("priority")).await.unwrap();
    browser.tap("[data-priority=\"\"]").await.unwrap();
    browser.wait_true(&screen_is("message")).await.unwrap();
    assert_eq!(
        browser.text("#message-text").await.unwrap(),
        json!("Máy in tạm hết giấy, vui lòng báo cán bộ hướng dẫn.")
    );
    assert_eq!(kiosk.issued_today("chung-thuc"), 0, "no number was used");
    if shots {
        save_doc("touch-paper-out.png", &browser.screenshot().await.unwrap());
    }

    // Paper back; a citizen of 76 scans the ID card: elderly priority.
    kiosk.printer.set_fault("paper-out", false);
    kiosk.wait_printer(true).await;
    browser.tap("#message-back").await.unwrap();
    browser.wait_true(&screen_is("start")).await.unwrap();
    browser
        .keys("046150009876|191234567|Hoàng Thị Giả Định|02011950|Nữ|Huế|10052022\u{E007}")
        .await
        .unwrap();
    browser
        .wait_true("var n = document.getElementById('card-notice'); return !n.hidden && n.textContent.indexOf('ưu tiên') >= 0;")
        .await
        .unwrap();
    browser
        .tap("[data-department=\"chung-thuc\"]")
        .await
        .unwrap();
    browser.wait_true(&screen_is("ticket")).await.unwrap();
    assert_eq!(
        browser.text("#ticket-priority").await.unwrap(),
        json!("Ưu tiên: Người cao tuổi")
    );
    assert_eq!(kiosk.issued_today("chung-thuc"), 1);

    // A foreign QR: a short message, nothing else changes.
    browser.tap("#ticket-done").await.unwrap();
    browser.wait_true(&screen_is("start")).await.unwrap();
    browser
        .keys("https://example.invalid/x\u{E007}")
        .await
        .unwrap();
    browser
        .wait_true("var n = document.getElementById('card-notice'); return !n.hidden && n.textContent.indexOf('Không đọc được thẻ') >= 0;")
        .await
        .unwrap();

    // Evening: the closed screen.
    kiosk.clock.set(at(18, 30));
    browser.wait_true(&screen_is("closed")).await.unwrap();
    assert_eq!(
        browser.text("#screen-closed h1").await.unwrap(),
        json!("Ngoài giờ làm việc")
    );
    assert_eq!(
        browser.text("#closed-hours").await.unwrap(),
        json!("Giờ làm việc: 07:30–11:30, 13:30–17:00")
    );
    // Closed departments are shown, not hidden, and none can be tapped.
    browser
        .wait_for(
            "return document.querySelectorAll('#closed-departments .tile.closed:disabled').length",
            json!(15),
        )
        .await
        .unwrap();
    assert_eq!(
        browser.text("#clock").await.unwrap(),
        json!("18:30 · 25/11/2026"),
        "the clock is the center's"
    );
    browser
        .wait_true("return document.getElementById('card-notice').hidden;")
        .await
        .unwrap();
    if shots {
        save_doc("touch-closed.png", &browser.screenshot().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_for_a_service_on_a_1280x800_touch_screen() {
    a_citizen_takes_a_ticket_for_a_service(1280, 800, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_for_a_service_on_a_1024x600_touch_screen() {
    a_citizen_takes_a_ticket_for_a_service(1024, 600, false).await;
}
