//! End to end: the staff console and the technician pages in headless
//! Chromium, against the whole kiosk daemon (`kiosk::daemon::run`: store,
//! printer worker, simulated buttons, LAN API and pages) on 127.0.0.1:0.
//!
//! - A staff member logs in, calls next (keyboard), recalls, starts,
//!   finishes, sees the waiting count change when a citizen presses a
//!   simulated button, and is told "Không còn ai đang chờ" when the queue
//!   is empty; `docs/console.png` is taken mid-call.
//! - A staff member cannot open another counter's console, cannot act for
//!   it through the API, and gets "Bạn không có quyền truy cập trang này"
//!   on the admin page.
//! - An admin sees the live view (`docs/live-view.png`), creates an account
//!   that can then log in, makes a device token, is shown every problem of
//!   a bad configuration, and opens the reports tab (charts and the
//!   read-only per-officer rating table).
//!
//! The screenshots are written when missing or with `UPDATE_SCREENSHOTS=1`.
//! Skipped with a message when chromedriver is not installed (`.ci/setup`
//! installs Debian's `chromium` and `chromium-driver`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use display_daemon::http::{self, BaseUrl};
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::App;
use kiosk::auth::Role;
use kiosk::buttons::{ButtonInput, ButtonPanel, ButtonWiring, DebounceSettings, SimulatedButton};
use kiosk::commands::run::NoPin;
use kiosk::daemon::{open_app, run, Hardware};
use kiosk::leds::StatusLights;
use kiosk_config::{ActiveLevel, DepartmentId, PrinterTransport};
use queue_protocol::Actor;
use queue_store::clock::SystemClock;
use serde_json::{json, Value};
use system_tests::loopback_printer::LoopbackPrinter;
use system_tests::webdriver::{find_chromedriver, Browser, DEADLINE};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const STAFF: (&str, &str) = ("lan", "mat-khau-cua-lan");
const ADMIN: (&str, &str) = ("kythuat", "mat-khau-ky-thuat");

/// The whole kiosk daemon on loopback with simulated buttons.
struct Center {
    /// Where it listens.
    addr: SocketAddr,
    /// The running kiosk.
    app: App,
    /// Each department's buttons (`true`: priority).
    buttons: BTreeMap<(DepartmentId, bool), SimulatedButton>,
    /// Ends the daemon.
    stop: Option<oneshot::Sender<()>>,
    /// The daemon task.
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// The printer on loopback.
    _printer: LoopbackPrinter,
    /// Data and accounts.
    _dir: tempfile::TempDir,
}

impl Center {
    /// The Phú Xuân center, open all day, with a staff member at counter 1
    /// and an admin.
    async fn start() -> Center {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            kiosk::demo::demo_config(dir.path(), "127.0.0.1:0".parse().unwrap()).unwrap();
        // Tests press the same button several times in a row.
        config.kiosk.press_interval = Duration::from_millis(1);
        // A printer that answers status queries, so presses are not refused.
        let printer = LoopbackPrinter::start().unwrap();
        config.kiosk.printer.transport = PrinterTransport::Tcp {
            host: "127.0.0.1".into(),
            port: printer.address.port(),
        };
        config.kiosk.printer.status_interval = Duration::from_millis(50);
        let config = Arc::new(config);
        let transport = ticket_printer::open(&config.kiosk.printer).unwrap();
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock)).unwrap();

        let accounts = Accounts::open(&Accounts::path_in(&config.kiosk.data_dir)).unwrap();
        accounts
            .add_user(STAFF.0, Role::Staff, STAFF.1, &[1])
            .unwrap();
        accounts
            .add_user(ADMIN.0, Role::Admin, ADMIN.1, &[])
            .unwrap();
        let api = ApiState::new(app.clone(), accounts, ApiOptions::default());

        let mut buttons = BTreeMap::new();
        let inputs = ButtonWiring::from_departments(&config.departments)
            .into_iter()
            .map(|mut wiring| {
                // Simulated buttons are active-high; the example wires
                // active-low buttons with pull-ups.
                wiring.pin.active = ActiveLevel::High;
                let button = SimulatedButton::new();
                buttons.insert((wiring.department.clone(), wiring.priority), button.clone());
                ButtonInput {
                    pin: button,
                    wiring,
                }
            })
            .collect();
        let panel = ButtonPanel::new(
            inputs,
            DebounceSettings::with_press_interval(config.kiosk.press_interval),
        );
        let lights = StatusLights::<NoPin>::new(None, None, None, None);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(
            app.clone(),
            Hardware {
                buttons: panel,
                lights,
            },
            listener,
            api,
            axum::Router::new(),
            async move {
                let _ = stopped.await;
            },
        ));
        Center {
            addr,
            app,
            buttons,
            stop: Some(stop),
            task: Some(task),
            _printer: printer,
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

    /// A citizen presses a department's button: held until the ticket is
    /// issued, then released.
    async fn press(&self, department: &str, priority: bool) {
        let button = &self.buttons[&(DepartmentId(department.into()), priority)];
        let deadline = Instant::now() + DEADLINE;
        // A press while the printer is not known ready uses no number.
        while !self.app.printer().health().ready() {
            assert!(Instant::now() < deadline, "the printer never became ready");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The debounce accepts a press only after a stable release (a button
        // held at boot is not a press): let the button thread sample it.
        let reads = button.reads();
        while button.reads() < reads + 12 {
            assert!(
                Instant::now() < deadline,
                "the button thread is not sampling"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let before = self.issued_today(department);
        button.press();
        while self.issued_today(department) == before {
            assert!(
                Instant::now() < deadline,
                "the press of {department} issued nothing"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        button.release();
    }

    /// The label of the ticket at `counter`, if any.
    fn current_label(&self, counter: u16) -> Option<String> {
        self.app
            .store()
            .snapshot()
            .counters
            .into_iter()
            .find(|c| c.counter == counter)
            .and_then(|c| c.current)
            .map(|c| c.label)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

async fn browser(width: u32, height: u32) -> Option<Browser> {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup (Debian chromium + chromium-driver)");
        return None;
    };
    Some(Browser::launch(&chromedriver, width, height).await.unwrap())
}

/// Logs in through the login page and waits for the page it leads to.
async fn login(browser: &Browser, center: &Center, who: (&str, &str), lands_on: &str) {
    browser.goto(&center.url("/login")).await.unwrap();
    browser.fill("#name", who.0).await.unwrap();
    browser.fill("#password", who.1).await.unwrap();
    browser.click("#login-button").await.unwrap();
    browser
        .wait_for("return location.pathname", json!(lands_on))
        .await
        .unwrap();
}

fn visible(id: &str) -> String {
    format!("var e = document.getElementById('{id}'); return !!e && !e.hidden && e.offsetParent !== null;")
}

fn waiting_count(department: &str) -> String {
    format!(
        "var e = document.querySelector('#waiting-list li[data-department=\"{department}\"] .count'); return e ? e.textContent : null;"
    )
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_calls_recalls_finishes_and_sees_the_queue_live() {
    // A small laptop screen.
    let Some(browser) = browser(1280, 800).await else {
        return;
    };
    let center = Center::start().await;
    center.press("ho-tich", true).await;
    center.press("ho-tich", false).await;
    center.press("chung-thuc", false).await;

    // Not logged in: the console sends the tab to the login page.
    browser.goto(&center.url("/console")).await.unwrap();
    browser
        .wait_for("return location.pathname", json!("/login"))
        .await
        .unwrap();
    // A wrong password is refused with the API's message.
    browser.fill("#name", STAFF.0).await.unwrap();
    browser.fill("#password", "sai").await.unwrap();
    browser.click("#login-button").await.unwrap();
    browser
        .wait_true("var e = document.getElementById('login-error'); return !e.hidden && e.textContent.indexOf('Sai tên đăng nhập') >= 0;")
        .await
        .unwrap();

    login(&browser, &center, STAFF, "/console").await;
    browser.wait_true(&visible("console-view")).await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('title').textContent",
            json!("Quầy 1 – Hộ tịch"),
        )
        .await
        .unwrap();
    browser
        .wait_for(&waiting_count("ho-tich"), json!("2"))
        .await
        .unwrap();
    browser
        .wait_for(&waiting_count("chung-thuc"), json!("1"))
        .await
        .unwrap();
    browser
        .wait_for("return document.body.dataset.link", json!("up"))
        .await
        .unwrap();

    // N calls the next number: the priority ticket first.
    browser.keys("n").await.unwrap();
    browser
        .wait_true("return document.getElementById('current-number').textContent !== '—'")
        .await
        .unwrap();
    let called = center.current_label(1).expect("counter 1 called a ticket");
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!(called),
        )
        .await
        .unwrap();
    browser
        .wait_for(&waiting_count("ho-tich"), json!("1"))
        .await
        .unwrap();
    browser
        .wait_true(&visible("current-priority"))
        .await
        .unwrap();
    browser
        .wait_true(
            "return document.getElementById('current-waited').textContent.indexOf('Đã chờ') === 0",
        )
        .await
        .unwrap();

    // Gọi lại.
    browser.click("#btn-recall").await.unwrap();
    browser
        .wait_true(&format!(
            "return document.getElementById('feedback-notice').textContent === 'Đã gọi lại số {called}.'"
        ))
        .await
        .unwrap();
    let id = center.app.store().snapshot().counters[0]
        .current
        .as_ref()
        .unwrap()
        .ticket;
    assert_eq!(center.app.store().ticket(id).unwrap().unwrap().recalls, 1);
    browser
        .wait_for(
            "return document.getElementById('current-state').dataset.state",
            json!("called"),
        )
        .await
        .unwrap();
    save_doc("console.png", &browser.screenshot().await.unwrap());

    // B starts, H finishes.
    browser.keys("b").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-state').dataset.state",
            json!("serving"),
        )
        .await
        .unwrap();
    browser.keys("h").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("—"),
        )
        .await
        .unwrap();
    assert_eq!(center.current_label(1), None);

    // A citizen presses the Hộ tịch button: the count goes up by push.
    center.press("ho-tich", false).await;
    browser
        .wait_for(&waiting_count("ho-tich"), json!("2"))
        .await
        .unwrap();

    // Space calls, V marks a no-show, Space twice more drains the queue.
    let text = "document.getElementById('current-number').textContent";
    let number = &format!("return {text}");
    browser.keys(" ").await.unwrap();
    browser
        .wait_true(&format!("return {text} !== '—'"))
        .await
        .unwrap();
    browser.keys("v").await.unwrap();
    browser.wait_for(number, json!("—")).await.unwrap();
    browser
        .wait_true("return document.getElementById('feedback-notice').textContent.indexOf('Đã ghi vắng mặt số') === 0")
        .await
        .unwrap();
    for _ in 0..2 {
        let before = browser.text("#current-number").await.unwrap();
        browser.keys(" ").await.unwrap();
        browser
            .wait_true(&format!("return {text} !== '—' && {text} !== {before}"))
            .await
            .unwrap();
    }
    browser
        .wait_for(&waiting_count("ho-tich"), json!("0"))
        .await
        .unwrap();
    browser
        .wait_for(&waiting_count("chung-thuc"), json!("0"))
        .await
        .unwrap();

    // T transfers the ticket to counter 3, which calls it first.
    let label = center.current_label(1).unwrap();
    browser.keys("t").await.unwrap();
    browser
        .wait_true("return document.getElementById('transfer-dialog').open")
        .await
        .unwrap();
    browser
        .execute("document.querySelector('input[name=\"transfer-kind\"][value=\"counter\"]').checked = true; return true;")
        .await
        .unwrap();
    browser.fill("#transfer-counter", "3").await.unwrap();
    browser.click("#transfer-confirm").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('feedback-notice').textContent",
            json!(format!("Đã chuyển số {label} sang quầy 3.")),
        )
        .await
        .unwrap();
    browser.wait_for(number, json!("—")).await.unwrap();
    let store = center.app.store().clone();
    let moved =
        kiosk::app::blocking(move || store.call_next(3, Actor::Staff { name: "an".into() }))
            .await
            .unwrap();
    assert_eq!(
        moved.label, label,
        "counter 3 calls the transferred ticket first"
    );

    // Nobody left for counter 1: the refusal, in words.
    browser.click("#btn-next").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('feedback-notice').textContent",
            json!("Không còn ai đang chờ"),
        )
        .await
        .unwrap();

    // The kiosk stops: the console says the link is lost.
    center.stop().await;
    browser
        .wait_true("var n = document.getElementById('link-notice'); return !n.hidden && n.textContent === 'Mất kết nối — đang kết nối lại…';")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_cannot_open_another_counter_or_the_admin_pages() {
    // A tablet, upright.
    let Some(browser) = browser(800, 1280).await else {
        return;
    };
    let center = Center::start().await;
    center.press("chung-thuc", false).await;
    login(&browser, &center, STAFF, "/console").await;
    browser.wait_true(&visible("console-view")).await.unwrap();

    // Counter 2 is not hers: no console, a message.
    browser
        .goto(&center.url("/console?counter=2"))
        .await
        .unwrap();
    browser
        .wait_true("var e = document.getElementById('page-error'); return !e.hidden && e.textContent.indexOf('Bạn không được phân công quầy số 2') === 0;")
        .await
        .unwrap();
    assert_eq!(
        browser
            .execute("return document.getElementById('console-view').hidden")
            .await
            .unwrap(),
        json!(true)
    );
    // Nor through the API with her session and CSRF token.
    let status = browser
        .execute(
            "var s = JSON.parse(sessionStorage.getItem('kiosk.session')); \
             return fetch('/api/v1/counters/2/next', {method: 'POST', headers: {'X-CSRF-Token': s.csrf}}).then(function (r) { return r.status; });",
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    assert_eq!(
        center.current_label(2),
        None,
        "nothing was called at counter 2"
    );

    // The admin page shows nothing but the refusal.
    browser.goto(&center.url("/admin")).await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('page-error').textContent",
            json!("Bạn không có quyền truy cập trang này"),
        )
        .await
        .unwrap();
    assert_eq!(
        browser
            .execute("return document.getElementById('admin-view').hidden")
            .await
            .unwrap(),
        json!(true)
    );
    center.stop().await;
}

/// Logs `who` in over plain HTTP (another person's browser).
async fn login_elsewhere(center: &Center, who: (&str, &str)) {
    let base = BaseUrl::parse(&center.url("")).unwrap();
    let body = json!({ "name": who.0, "password": who.1 }).to_string();
    let (head, _) = http::request(
        &base,
        "POST",
        "/api/v1/login",
        &[
            ("Content-Type", "application/json"),
            ("Connection", "close"),
        ],
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(head.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_the_center_and_creates_an_account_that_can_log_in() {
    // Tall enough for the whole live view in the screenshot.
    let Some(browser) = browser(1280, 1500).await else {
        return;
    };
    let center = Center::start().await;
    for (department, n) in [
        ("ho-tich", 4),
        ("chung-thuc", 2),
        ("dat-dai", 3),
        ("xay-dung", 1),
    ] {
        for _ in 0..n {
            center.press(department, false).await;
        }
    }
    center.press("dat-dai", true).await;
    for counter in [1, 3, 4] {
        let store = center.app.store().clone();
        kiosk::app::blocking(move || store.call_next(counter, Actor::Staff { name: "lan".into() }))
            .await
            .unwrap();
    }
    login_elsewhere(&center, STAFF).await;

    login(&browser, &center, ADMIN, "/admin").await;
    browser.wait_true(&visible("admin-view")).await.unwrap();
    // Live view: each counter's ticket and who is logged in, the queue,
    // the printer.
    let label1 = center.current_label(1).unwrap();
    browser
        .wait_for(
            "return document.querySelector('.tile[data-counter=\"1\"] .number').textContent",
            json!(label1),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.querySelector('.tile[data-counter=\"1\"] .staff').textContent",
            json!("Nhân viên: lan"),
        )
        .await
        .unwrap();
    browser
        .wait_for("return document.querySelector('#department-rows tr[data-department=\"ho-tich\"] .waiting').textContent", json!("3"))
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('printer-state').dataset.state",
            json!("ready"),
        )
        .await
        .unwrap();
    // A call made elsewhere appears by push.
    let store = center.app.store().clone();
    kiosk::app::blocking(move || store.call_next(2, Actor::Staff { name: "lan".into() }))
        .await
        .unwrap();
    let label2 = center.current_label(2).unwrap();
    browser
        .wait_for(
            "return document.querySelector('.tile[data-counter=\"2\"] .number').textContent",
            json!(label2),
        )
        .await
        .unwrap();
    save_doc("live-view.png", &browser.screenshot().await.unwrap());

    // Accounts: a new staff member for counter 2.
    browser
        .click("nav.tabs button[data-tab=\"users\"]")
        .await
        .unwrap();
    browser.wait_true(&visible("user-form")).await.unwrap();
    browser.fill("#new-user-name", "minh").await.unwrap();
    browser.fill("#new-user-role", "staff").await.unwrap();
    browser
        .fill("#new-user-password", "mat-khau-cua-minh")
        .await
        .unwrap();
    browser.fill("#new-user-counters", "2").await.unwrap();
    browser.click("#new-user-submit").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('user-notice').textContent",
            json!("Đã thêm tài khoản minh."),
        )
        .await
        .unwrap();
    browser
        .wait_true("return !!document.querySelector('#user-rows tr[data-user=\"minh\"]')")
        .await
        .unwrap();

    // Device token: shown once.
    browser
        .click("nav.tabs button[data-tab=\"tokens\"]")
        .await
        .unwrap();
    browser.fill("#new-token-name", "bang-san").await.unwrap();
    browser
        .click("#token-form button[type=submit]")
        .await
        .unwrap();
    browser
        .wait_true("return document.getElementById('token-value').textContent.length >= 32")
        .await
        .unwrap();
    browser
        .wait_true("return !!document.querySelector('#token-rows tr[data-token=\"bang-san\"]')")
        .await
        .unwrap();

    // A bad configuration: every problem shown, nothing applied.
    browser
        .click("nav.tabs button[data-tab=\"config\"]")
        .await
        .unwrap();
    browser
        .fill(
            "#config-text",
            "[center]\nname = \"X\"\n\n[[departments]]\nid = \"a\"\n",
        )
        .await
        .unwrap();
    browser.click("#config-apply").await.unwrap();
    browser
        .wait_true("var p = document.getElementById('config-problems'); return !p.hidden && p.textContent.length > 0;")
        .await
        .unwrap();
    assert_eq!(
        center.app.config().departments.len(),
        15,
        "the old config keeps running"
    );

    // Reports of the service day: tickets per hour and waiting times.
    browser
        .click("nav.tabs button[data-tab=\"reports\"]")
        .await
        .unwrap();
    browser
        .click("#report-form button[type=submit]")
        .await
        .unwrap();
    browser
        .wait_true("return document.querySelectorAll('#report-charts svg').length === 2 && document.querySelectorAll('#report-charts rect.bar').length >= 2;")
        .await
        .unwrap();
    // The per-officer rating table, read only (no inputs, no buttons).
    browser
        .wait_for(
            "var t = document.getElementById('ratings-table'); return t ? Array.from(t.querySelectorAll('thead th')).map(h => h.textContent).join('|') + ' ' + t.querySelectorAll('input, button').length : ''",
            json!("Cán bộ|Lượt đánh giá|Rất hài lòng|Hài lòng|Không hài lòng|Tỷ lệ hài lòng 0"),
        )
        .await
        .unwrap();

    // The new account logs in and gets counter 2.
    browser.click("#logout").await.unwrap();
    browser
        .wait_for("return location.pathname", json!("/login"))
        .await
        .unwrap();
    login(&browser, &center, ("minh", "mat-khau-cua-minh"), "/console").await;
    browser
        .wait_for(
            "return document.getElementById('title').textContent",
            json!("Quầy 2 – Chứng thực"),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!(label2),
        )
        .await
        .unwrap();
    let _: Value = browser.execute("return 1").await.unwrap();
    center.stop().await;
}

/// The JS that tells the labels of a console ticket list, in order.
fn list_labels(list: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('#{list} li .label')).map(function (e) {{ return e.textContent; }});"
    )
}

/// Picks `value` in a `<select>` of the choice dialog.
async fn choose(browser: &Browser, select: &str, value: &str) {
    browser
        .wait_true(&format!(
            "var s = document.getElementById('{select}'); return !!s && Array.from(s.options).some(function (o) {{ return o.value === {v}; }});",
            v = json!(value)
        ))
        .await
        .unwrap();
    browser.fill(&format!("#{select}"), value).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pause_call_a_chosen_ticket_park_and_bring_back_a_no_show() {
    let Some(browser) = browser(1280, 900).await else {
        return;
    };
    let center = Center::start().await;
    for _ in 0..3 {
        center.press("ho-tich", false).await;
    }
    login(&browser, &center, STAFF, "/console").await;
    browser.wait_true(&visible("console-view")).await.unwrap();
    browser
        .wait_for("return document.body.dataset.link", json!("up"))
        .await
        .unwrap();
    browser
        .wait_for(
            &list_labels("waiting-tickets"),
            json!(["1001", "1002", "1003"]),
        )
        .await
        .unwrap();
    let status = |counter: u16| {
        center
            .app
            .store()
            .snapshot()
            .counters
            .into_iter()
            .find(|c| c.counter == counter)
            .map(|c| c.status)
            .unwrap()
    };

    // P: pause for a reason chosen from the list; "next" is then off.
    browser.keys("p").await.unwrap();
    browser
        .wait_true("return document.getElementById('choose-dialog').open")
        .await
        .unwrap();
    choose(&browser, "choose-reason", "Họp").await;
    browser.click("#choose-confirm").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('counter-status').textContent",
            json!("Tạm dừng — Họp"),
        )
        .await
        .unwrap();
    assert_eq!(
        status(1),
        queue_protocol::CounterStatus::Paused {
            reason: "Họp".into()
        }
    );
    browser
        .wait_true("return document.getElementById('btn-next').disabled")
        .await
        .unwrap();
    browser.keys("n").await.unwrap();
    assert_eq!(
        center.current_label(1),
        None,
        "a paused counter calls nobody"
    );
    // M: open again.
    browser.keys("m").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('counter-status').dataset.status",
            json!("open"),
        )
        .await
        .unwrap();
    assert_eq!(status(1), queue_protocol::CounterStatus::Open);

    // Call 1003 out of order from its row, with a reason.
    browser
        .click("#waiting-tickets li:nth-child(3) button")
        .await
        .unwrap();
    browser
        .wait_true("return document.getElementById('choose-dialog').open")
        .await
        .unwrap();
    browser
        .wait_for(
            "var s = document.getElementById('choose-ticket'); return s.options[s.selectedIndex].textContent",
            json!("1003"),
        )
        .await
        .unwrap();
    choose(&browser, "choose-reason", "Hẹn trước").await;
    browser.click("#choose-confirm").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("1003"),
        )
        .await
        .unwrap();
    let store = center.app.store().clone();
    let chosen = blocking_events(&store)
        .into_iter()
        .find_map(|e| match e.kind {
            queue_protocol::EventKind::CalledChosen { label, reason, .. } => Some((label, reason)),
            _ => None,
        });
    assert_eq!(chosen, Some(("1003".into(), "Hẹn trước".into())));

    // B starts, G parks: the counter is free and the parked list shows it;
    // L calls it back with one key.
    browser.keys("b").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-state').dataset.state",
            json!("serving"),
        )
        .await
        .unwrap();
    browser.keys("g").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("—"),
        )
        .await
        .unwrap();
    browser
        .wait_for(&list_labels("parked-list"), json!(["1003"]))
        .await
        .unwrap();
    assert_eq!(center.current_label(1), None);
    browser.keys("l").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("1003"),
        )
        .await
        .unwrap();
    browser
        .wait_for(&list_labels("parked-list"), json!([]))
        .await
        .unwrap();
    assert_eq!(center.current_label(1).as_deref(), Some("1003"));

    // H finishes, N calls 1001, V marks it a no-show; Q brings it back to
    // the front of the queue.
    browser.keys("h").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("—"),
        )
        .await
        .unwrap();
    browser.keys("n").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("1001"),
        )
        .await
        .unwrap();
    browser.keys("v").await.unwrap();
    browser
        .wait_for(&list_labels("no-show-list"), json!(["1001"]))
        .await
        .unwrap();
    browser
        .wait_for(&list_labels("waiting-tickets"), json!(["1002"]))
        .await
        .unwrap();
    browser.keys("q").await.unwrap();
    browser
        .wait_true("return document.getElementById('choose-dialog').open")
        .await
        .unwrap();
    browser.click("#choose-confirm").await.unwrap();
    browser
        .wait_for(&list_labels("waiting-tickets"), json!(["1001", "1002"]))
        .await
        .unwrap();
    browser
        .wait_for(&list_labels("no-show-list"), json!([]))
        .await
        .unwrap();
    browser
        .wait_true(
            "return document.getElementById('feedback-notice').textContent.indexOf('1001') >= 0",
        )
        .await
        .unwrap();
    // "Next" takes the brought-back ticket first.
    browser.keys("n").await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('current-number').textContent",
            json!("1001"),
        )
        .await
        .unwrap();

    drop(browser);
    center.stop().await;
}

/// Every event of the store's log (a short test day).
fn blocking_events(store: &queue_store::store::Store) -> Vec<queue_protocol::Event> {
    match store.events_since(0, 10_000).unwrap() {
        queue_store::store::EventsSince::Events(events) => events,
        other => panic!("unexpected {other:?}"),
    }
}
