//! The hall board and the counter display at real screen sizes, in headless
//! Chromium, against the real kiosk (store, API, event stream) and a real
//! display daemon on loopback.
//!
//! - The Phú Xuân center (15 departments, 15 counters; one call per counter,
//!   tickets waiting in every department) at 1920×1080, 1366×768 and
//!   1080×1920 portrait: every counter tile and every department row lies
//!   inside the viewport on one page, no element's text overflows its box,
//!   every department name is shown whole, counter numbers are at least 6 %
//!   of the screen height and the newest call at least 10 %; the announcement
//!   line scrolls along the bottom.
//! - The clock and date are the center's (`Asia/Ho_Chi_Minh`) while the
//!   browser runs in UTC (DevTools' time-zone override, the same as `TZ=UTC`
//!   for the page, without changing this process's environment).
//! - 40 counters and 40 departments (more than fit at 1366×768; 30 still
//!   do): the board pages through them; every page fits, and every counter
//!   and department is shown on some page.
//! - The counter display at 800×480 (the 7-inch Pi screen) and 1366×768.
//! - A paused counter: its hall board tile and its counter display say
//!   "Quầy 3 tạm dừng" (the counter display with the reason), tiles show the
//!   officer's display name, the board still fits, and resuming shows the
//!   counter open again without reloading.
//!
//! - A call of a ticket for a long service ("Đăng ký kết hôn có yếu tố nước
//!   ngoài"): the newest call, its counter tile and its counter display show
//!   the service under the number, and every screen size above still fits.
//!
//! Screenshots go to `docs/` when missing or with `UPDATE_SCREENSHOTS=1`.
//! Skipped with a message when chromedriver is not installed (`.ci/setup`
//! installs Debian's `chromium` and `chromium-driver`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use display_daemon::DaemonHandle;
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::{blocking, App};
use kiosk::auth::Role;
use kiosk::printing::Printer;
use kiosk_config::CenterConfig;
use queue_protocol::Actor;
use queue_store::clock::SystemClock;
use queue_store::store::{Durability, Store, StoreOptions};
use serde_json::json;
use system_tests::webdriver::{find_chromedriver, Browser, DEADLINE};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const ANNOUNCEMENT: &str = "Giờ làm việc: sáng 7:30–11:30, chiều 13:30–17:00, từ thứ Hai đến thứ Sáu. Xin công dân mang theo căn cước công dân và giấy tờ liên quan.";

/// The real kiosk on loopback (no buttons, a file printer), and its display
/// token.
struct Kiosk {
    addr: SocketAddr,
    app: App,
    display_token: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Kiosk {
    /// Starts the kiosk on `config`, with the center open all day.
    async fn start(mut config: CenterConfig) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        config.kiosk.data_dir = dir.path().to_path_buf();
        config.center.sessions = vec![kiosk_config::Session {
            name: "Cả ngày".into(),
            start: jiff::civil::Time::MIN,
            end: jiff::civil::Time::MAX,
        }];
        config.center.closed_weekdays.clear();
        config.center.closed_dates.clear();
        for department in &mut config.departments {
            department.sessions = None;
        }
        let config = Arc::new(config);
        let store = Store::open(
            &dir.path().join("store"),
            Arc::clone(&config),
            Arc::new(SystemClock),
            &StoreOptions {
                cache_bytes: 1024 * 1024,
                durability: Durability::Flush,
                broadcast_capacity: 4096,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let printer = Printer::spawn(
            Box::new(ticket_printer::transport::FileTransport::new(
                &dir.path().join("printer.bin"),
            )),
            Duration::from_secs(3600),
        );
        let app = App::new(store, printer, Arc::new(SystemClock));
        let accounts = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        let display_token = accounts.add_token("bang-san", Role::Display, None).unwrap();
        let state = ApiState::new(app.clone(), accounts, ApiOptions::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(kiosk::api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Kiosk {
            addr,
            app,
            display_token,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    /// `per_department` tickets in every department, then one call at
    /// every counter, in counter order (the last counter's is the newest).
    async fn busy_morning(&self, per_department: usize) {
        let config = self.app.config();
        for department in &config.departments {
            for _ in 0..per_department {
                let store = self.app.store().clone();
                let id = department.id.clone();
                blocking(move || store.issue(&id, None, Actor::Button))
                    .await
                    .unwrap();
            }
        }
        for counter in &config.counters {
            let store = self.app.store().clone();
            let number = counter.number;
            blocking(move || {
                store.call_next(
                    number,
                    Actor::Staff {
                        name: "test".into(),
                    },
                )
            })
            .await
            .unwrap();
        }
    }

    /// A display daemon following this kiosk: `mode` and `extra` lines of
    /// its config file.
    async fn display(&self, mode: &str, extra: &str) -> DaemonHandle {
        let text = format!(
            "kiosk_url = \"http://{}\"\ntoken = \"{}\"\nmode = \"{mode}\"\nlisten = \"127.0.0.1:0\"\n{extra}\n[voice]\nenabled = false\n",
            self.addr, self.display_token
        );
        let config = kiosk_config::parse_display(&text, "display-test.toml")
            .unwrap()
            .value;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        display_daemon::start(config, listener).await.unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// A center of `n` departments and `n` counters, each counter serving its
/// own department, with long real-looking names.
fn center_of(n: usize) -> CenterConfig {
    const NAMES: [&str; 10] = [
        "Lao động – Thương binh và Xã hội",
        "Tài nguyên và Môi trường",
        "Đăng ký kinh doanh hộ cá thể",
        "Giáo dục và Đào tạo",
        "Văn hóa, Thể thao và Du lịch",
        "Quản lý đô thị và Xây dựng",
        "Hộ tịch – Chứng thực",
        "Nông nghiệp và Phát triển nông thôn",
        "Khoa học và Công nghệ",
        "Trả kết quả",
    ];
    let mut toml = String::from(
        "[center]\nname = \"Trung tâm Phục vụ hành chính công thành phố Huế\"\nshort_name = \"TTPVHCC Huế\"\n",
    );
    for i in 1..=n {
        toml.push_str(&format!(
            "[[departments]]\nid = \"d{i}\"\nname = \"{} {i}\"\nblock = {{ first = {}, last = {} }}\n",
            NAMES[(i - 1) % NAMES.len()],
            i * 100 + 1,
            i * 100 + 99
        ));
    }
    for i in 1..=n {
        toml.push_str(&format!(
            "[[counters]]\nnumber = {i}\nserves = [\"d{i}\"]\n"
        ));
    }
    toml.push_str("[kiosk.printer]\ntransport = \"file\"\npath = \"/dev/null\"\n");
    kiosk_config::parse_center(&toml, "thirty.toml")
        .unwrap()
        .value
}

fn phu_xuan() -> CenterConfig {
    kiosk_config::parse_center(kiosk_config::examples::PHU_XUAN, "phu-xuan.toml")
        .unwrap()
        .value
}

async fn browser(width: u32, height: u32) -> Option<Browser> {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup (Debian chromium + chromium-driver)");
        return None;
    };
    let browser = Browser::launch(&chromedriver, width, height).await.unwrap();
    browser.set_viewport(width, height).await.unwrap();
    // The board must show the center's time whatever the machine's zone:
    // the page runs as on a machine set to UTC (as Raspberry Pi OS is out
    // of the box), seven hours behind Huế.
    browser.set_time_zone("UTC").await.unwrap();
    Some(browser)
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

/// Every problem of the page's geometry, as text (empty: none): counter
/// tiles and department rows outside the viewport, text overflowing its
/// box (the scrolling announcement line excepted: it overflows on purpose),
/// and the font-size rules.
const GEOMETRY: &str = r#"
var W = window.innerWidth, H = window.innerHeight, problems = [];
function inside(e, what) {
  var r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) problems.push(what + ' has no size');
  if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5)
    problems.push(what + ' outside the screen: ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
}
function visible(e) {
  for (var x = e; x; x = x.parentElement) {
    if (x.hidden || getComputedStyle(x).display === 'none') return false;
  }
  return true;
}
document.querySelectorAll('.tile').forEach(function (t) { inside(t, 'tile of counter ' + t.dataset.counter); });
document.querySelectorAll('#waiting li').forEach(function (li) { inside(li, 'row of ' + li.dataset.department); });
['latest', 'latest-number', 'latest-counter', 'clock-time', 'clock-date', 'ticker',
 'counter-number', 'counter-department', 'counter-title'].forEach(function (id) {
  var e = document.getElementById(id);
  if (e && visible(e)) inside(e, '#' + id);
});
document.querySelectorAll('body *').forEach(function (e) {
  if (e.tagName === 'SCRIPT' || !visible(e) || e.closest('#ticker')) return;
  if (e.clientWidth === 0 && e.clientHeight === 0) return; // inline: its box is its text
  if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
    problems.push((e.id || e.className || e.tagName) + ' "' + e.textContent.slice(0, 40) + '" overflows: ' +
      e.scrollWidth + 'x' + e.scrollHeight + ' in ' + e.clientWidth + 'x' + e.clientHeight);
});
// Text is never cut by a box that hides what overflows it.
document.querySelectorAll('body *').forEach(function (e) {
  if (e.tagName === 'SCRIPT' || !visible(e) || e.closest('#ticker')) return;
  var own = Array.from(e.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!own) return;
  var r = e.getBoundingClientRect();
  for (var a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    var s = getComputedStyle(a);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    var q = a.getBoundingClientRect();
    if (r.left < q.left - 1 || r.top < q.top - 1 || r.right > q.right + 1 || r.bottom > q.bottom + 1)
      problems.push((e.id || e.className) + ' "' + e.textContent.slice(0, 40) + '" is cut by ' + (a.id || a.className) +
        ': ' + [r.left, r.top, r.right, r.bottom].map(Math.round) + ' in ' + [q.left, q.top, q.right, q.bottom].map(Math.round));
  }
});
if (document.body.scrollHeight > H + 1 || document.body.scrollWidth > W + 1) problems.push('the page scrolls');
function px(e) { return parseFloat(getComputedStyle(e).fontSize); }
document.querySelectorAll('.tile .number').forEach(function (e) {
  if (px(e) < 0.06 * H) problems.push('counter ' + e.parentElement.dataset.counter + ' number at ' + px(e) + ' px, under 6 % of ' + H);
});
['latest-number', 'latest-counter'].forEach(function (id) {
  var e = document.getElementById(id);
  if (e && visible(e) && px(e) < 0.10 * H) problems.push('#' + id + ' at ' + px(e) + ' px, under 10 % of ' + H);
});
return problems;
"#;

/// What the page shows now: the counters on tiles, the department rows
/// (id and name as shown), the page counts.
const SHOWN: &str = r#"
return {
  counters: Array.from(document.querySelectorAll('.tile')).map(function (t) { return Number(t.dataset.counter); }),
  departments: Array.from(document.querySelectorAll('#waiting li')).map(function (li) {
    return [li.dataset.department, li.querySelector('.dept').textContent];
  }),
  tile_pages: Number(document.body.dataset.tilePages),
  dept_pages: Number(document.body.dataset.deptPages),
  size: [window.innerWidth, window.innerHeight]
};
"#;

async fn assert_geometry(browser: &Browser, what: &str) {
    let problems = browser.execute(GEOMETRY).await.unwrap();
    assert_eq!(problems, json!([]), "{what}: the page does not fit");
}

/// The clock shows the center's time (`Asia/Ho_Chi_Minh`) though the
/// browser's own zone is UTC.
async fn assert_center_clock(browser: &Browser) {
    let zone = browser
        .execute("return Intl.DateTimeFormat().resolvedOptions().timeZone")
        .await
        .unwrap();
    assert!(
        zone == json!("UTC") || zone == json!("Etc/UTC"),
        "the browser should run in UTC for this check, not {zone}"
    );
    let expected = |at: jiff::Timestamp| {
        let local = at.in_tz("Asia/Ho_Chi_Minh").unwrap();
        (
            local.strftime("%H:%M").to_string(),
            local.strftime("%d/%m/%Y").to_string(),
        )
    };
    // The page redraws its clock once a second, so what it shows may be
    // from up to a tick (more on a loaded machine) before the read.
    let stale = expected(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5));
    let before = expected(jiff::Timestamp::now());
    let shown = browser
        .execute("return [document.getElementById('clock-time').textContent, document.getElementById('clock-date').textContent]")
        .await
        .unwrap();
    let after = expected(jiff::Timestamp::now());
    let time = shown[0].as_str().unwrap();
    let date = shown[1].as_str().unwrap();
    let ok =
        |(hm, d): &(String, String)| time.starts_with(hm.as_str()) && date.ends_with(d.as_str());
    assert!(
        ok(&stale) || ok(&before) || ok(&after),
        "the clock shows {time} {date}; the center's time is {before:?}"
    );
    assert!(
        [
            "Chủ Nhật",
            "Thứ Hai",
            "Thứ Ba",
            "Thứ Tư",
            "Thứ Năm",
            "Thứ Sáu",
            "Thứ Bảy"
        ]
        .iter()
        .any(|d| date.starts_with(d)),
        "the date names the day in Vietnamese: {date}"
    );
}

/// Waits until the flash of a new call is over (the ticker's endless
/// scrolling is not waited for).
async fn wait_still(browser: &Browser) {
    browser
        .wait_for(
            "return document.getAnimations().filter(function (a) { return !(a.effect && a.effect.target && a.effect.target.closest('#ticker')); }).length",
            json!(0),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phu_xuan_fits_landscape_and_portrait_screens_with_the_centers_clock() {
    if find_chromedriver().is_none() {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup");
        return;
    }
    let config = phu_xuan();
    let names: Vec<(String, String)> = config
        .departments
        .iter()
        .map(|d| (d.id.as_str().to_owned(), d.name.clone()))
        .collect();
    let kiosk = Kiosk::start(config).await;
    kiosk.busy_morning(3).await;
    let display = kiosk
        .display("hall-board", &format!("announcement = \"{ANNOUNCEMENT}\""))
        .await;
    let url = format!("http://{}/", display.local_addr());

    for (width, height) in [(1920, 1080), (1366, 768), (1080, 1920)] {
        let what = format!("{width}×{height}");
        let browser = browser(width, height).await.unwrap();
        browser.goto(&url).await.unwrap();
        // The newest call is counter 15's; every counter has its number.
        browser
            .wait_for(
                "return document.getElementById('latest-counter').textContent + '/' + document.querySelectorAll('.tile:not(.idle)').length",
                json!("15/15"),
            )
            .await
            .unwrap();
        browser
            .wait_true("return document.getElementById('clock-time').textContent.length === 8")
            .await
            .unwrap();
        wait_still(&browser).await;

        let shown = browser.execute(SHOWN).await.unwrap();
        assert_eq!(shown["size"], json!([width, height]), "{what}: viewport");
        assert_eq!(shown["tile_pages"], 1, "{what}: 15 counters on one page");
        assert_eq!(shown["dept_pages"], 1, "{what}: 15 departments on one page");
        let counters: Vec<u64> = serde_json::from_value(shown["counters"].clone()).unwrap();
        assert_eq!(counters, (1..=15).collect::<Vec<u64>>(), "{what}");
        let rows: Vec<(String, String)> =
            serde_json::from_value(shown["departments"].clone()).unwrap();
        assert_eq!(rows, names, "{what}: every department by its whole name");
        assert_geometry(&browser, &what).await;
        assert_center_clock(&browser).await;
        // The announcement line is there and moving.
        let track = browser
            .execute("var t = document.getElementById('ticker-track'); return [t.textContent, getComputedStyle(t).animationName, document.getElementById('ticker').hidden];")
            .await
            .unwrap();
        assert_eq!(track, json!([ANNOUNCEMENT, "ticker", false]), "{what}");

        let png = browser.screenshot().await.unwrap();
        save_doc(&format!("hall-board-{width}x{height}.png"), &png);
    }

    display.shutdown().await;
    kiosk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_counters_and_departments_page_through_and_every_page_fits() {
    let Some(browser) = browser(1366, 768).await else {
        return;
    };
    let config = center_of(40);
    let all_departments: BTreeSet<String> = config
        .departments
        .iter()
        .map(|d| d.id.as_str().to_owned())
        .collect();
    let kiosk = Kiosk::start(config).await;
    kiosk.busy_morning(2).await;
    let display = kiosk.display("hall-board", "").await;
    browser
        .goto(&format!("http://{}/?page_ms=1200", display.local_addr()))
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('latest-counter').textContent",
            json!("40"),
        )
        .await
        .unwrap();
    wait_still(&browser).await;

    let mut counters = BTreeSet::new();
    let mut departments = BTreeSet::new();
    let mut screenshot = false;
    let deadline = Instant::now() + DEADLINE;
    while counters.len() < 40 || departments != all_departments {
        assert!(
            Instant::now() < deadline,
            "paging never showed every counter and department: {counters:?} {departments:?}"
        );
        let shown = browser.execute(SHOWN).await.unwrap();
        assert!(
            shown["tile_pages"].as_u64().unwrap() > 1,
            "40 counters page"
        );
        assert!(
            shown["dept_pages"].as_u64().unwrap() > 1,
            "40 departments page"
        );
        assert_geometry(&browser, "40 counters at 1366×768").await;
        for c in shown["counters"].as_array().unwrap() {
            counters.insert(c.as_u64().unwrap());
        }
        for d in shown["departments"].as_array().unwrap() {
            departments.insert(d[0].as_str().unwrap().to_owned());
        }
        if !screenshot {
            save_doc(
                "hall-board-40-counters-1366x768.png",
                &browser.screenshot().await.unwrap(),
            );
            screenshot = true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(counters, (1..=40).collect::<BTreeSet<u64>>());

    drop(browser);
    display.shutdown().await;
    kiosk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_display_fits_the_pi_screen_and_a_laptop() {
    if find_chromedriver().is_none() {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup");
        return;
    }
    let kiosk = Kiosk::start(phu_xuan()).await;
    kiosk.busy_morning(2).await;
    // Counter 6 serves the longest name: Lao động – Thương binh và Xã hội.
    let display = kiosk.display("counter", "counters = [6]").await;
    let url = format!("http://{}/", display.local_addr());
    let expected = kiosk
        .app
        .store()
        .snapshot()
        .counters
        .into_iter()
        .find(|c| c.counter == 6)
        .and_then(|c| c.current)
        .unwrap()
        .label;

    for (width, height) in [(800, 480), (1366, 768)] {
        let what = format!("counter display at {width}×{height}");
        let browser = browser(width, height).await.unwrap();
        browser.goto(&url).await.unwrap();
        browser
            .wait_for(
                "return document.getElementById('counter-number').textContent",
                json!(expected),
            )
            .await
            .unwrap();
        browser
            .wait_true("return document.getElementById('clock-time').textContent.length === 8")
            .await
            .unwrap();
        wait_still(&browser).await;
        assert_geometry(&browser, &what).await;
        assert_center_clock(&browser).await;
        let shown = browser
            .execute("return [document.getElementById('counter-title').textContent, document.getElementById('counter-department').textContent, parseFloat(getComputedStyle(document.getElementById('counter-number')).fontSize) / window.innerHeight]")
            .await
            .unwrap();
        assert_eq!(shown[0], "QUẦY 6", "{what}");
        assert_eq!(shown[1], "Lao động – Thương binh và Xã hội", "{what}");
        let share = shown[2].as_f64().unwrap();
        assert!(
            share >= 0.3,
            "{what}: the number is {share:.2} of the height"
        );
        save_doc(
            &format!("counter-display-{width}x{height}.png"),
            &browser.screenshot().await.unwrap(),
        );
    }

    display.shutdown().await;
    kiosk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_counter_shows_on_the_hall_board_and_its_counter_display() {
    if find_chromedriver().is_none() {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup");
        return;
    }
    let kiosk = Kiosk::start(phu_xuan()).await;
    kiosk.busy_morning(2).await;
    let lan = Actor::Staff { name: "lan".into() };
    let store = kiosk.app.store().clone();
    let by = lan.clone();
    blocking(move || {
        // Counter 3 finishes its citizen and pauses for a meeting; counter 2
        // is taken over by an officer with a display name.
        store.finish(3, None, by.clone()).unwrap();
        store
            .set_counter_status(
                3,
                queue_protocol::CounterStatus::Paused {
                    reason: "Họp".into(),
                },
                Some("Nguyễn Thị Lan".into()),
                by.clone(),
            )
            .unwrap();
        store
            .set_counter_status(
                2,
                queue_protocol::CounterStatus::Open,
                Some("Lê Văn Hùng".into()),
                by,
            )
            .unwrap();
    })
    .await;

    let board = kiosk.display("hall-board", "").await;
    let browser = browser(1920, 1080).await.unwrap();
    browser
        .goto(&format!("http://{}/", board.local_addr()))
        .await
        .unwrap();
    let tile = |n: u16, part: &str| {
        format!(
            "var t = document.querySelector('#tiles .tile[data-counter=\"{n}\"] .{part}'); return t ? t.textContent : null;"
        )
    };
    browser
        .wait_for(&tile(3, "dept"), json!("Quầy 3 tạm dừng"))
        .await
        .unwrap();
    browser
        .wait_for(&tile(3, "name"), json!("QUẦY 3 · Nguyễn Thị Lan"))
        .await
        .unwrap();
    browser
        .wait_for(&tile(2, "name"), json!("QUẦY 2 · Lê Văn Hùng"))
        .await
        .unwrap();
    browser
        .wait_for(
            "var t = document.querySelector('#tiles .tile[data-counter=\"3\"]'); return t ? t.dataset.status : null;",
            json!("paused"),
        )
        .await
        .unwrap();
    wait_still(&browser).await;
    assert_geometry(&browser, "hall board with a paused counter").await;

    let counter = kiosk.display("counter", "counters = [3]").await;
    let desk = self::browser(800, 480).await.unwrap();
    desk.goto(&format!("http://{}/", counter.local_addr()))
        .await
        .unwrap();
    desk.wait_for(
        "return document.getElementById('counter-caption').textContent",
        json!("Quầy 3 tạm dừng"),
    )
    .await
    .unwrap();
    let shown = desk
        .execute("return [document.getElementById('counter-title').textContent, document.getElementById('counter-department').textContent, document.getElementById('counter-number').textContent]")
        .await
        .unwrap();
    assert_eq!(shown, json!(["QUẦY 3 — Nguyễn Thị Lan", "Họp", "—"]));
    wait_still(&desk).await;
    assert_geometry(&desk, "counter display of a paused counter").await;

    // Resumed: both screens follow the event, no reload.
    let store = kiosk.app.store().clone();
    blocking(move || {
        store
            .set_counter_status(3, queue_protocol::CounterStatus::Open, None, lan)
            .unwrap();
    })
    .await;
    browser
        .wait_for(
            "var t = document.querySelector('#tiles .tile[data-counter=\"3\"]'); return t ? t.dataset.status : null;",
            json!("open"),
        )
        .await
        .unwrap();
    desk.wait_for(
        "return document.getElementById('counter-caption').textContent",
        json!("Chưa có số"),
    )
    .await
    .unwrap();

    drop(desk);
    drop(browser);
    counter.shutdown().await;
    board.shutdown().await;
    kiosk.stop().await;
}

const LONG_SERVICE: &str = "Đăng ký kết hôn có yếu tố nước ngoài";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_service_name_fits_under_the_newest_call_on_every_screen() {
    if find_chromedriver().is_none() {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup");
        return;
    }
    let mut config = phu_xuan();
    let ho_tich = config
        .departments
        .iter_mut()
        .find(|d| d.id.as_str() == "ho-tich")
        .unwrap();
    ho_tich.services.push(kiosk_config::Service {
        id: "ket-hon-nuoc-ngoai".into(),
        name: LONG_SERVICE.into(),
        priority: None,
        note: None,
    });
    let kiosk = Kiosk::start(config).await;
    kiosk.busy_morning(1).await;
    // Counter 1 took Hộ tịch's only ticket; it finishes and calls the
    // touch screen's ticket for the long procedure, the newest call.
    let store = kiosk.app.store().clone();
    let config = kiosk.app.config();
    let called = blocking(move || {
        let issued = store
            .issue_service_under(
                &config,
                &"ho-tich".into(),
                Some("ket-hon-nuoc-ngoai"),
                None,
                Actor::Touch,
            )
            .unwrap();
        let lan = Actor::Staff { name: "lan".into() };
        store.finish(1, None, lan.clone()).unwrap();
        let called = store.call_next(1, lan).unwrap();
        assert_eq!(called.id, issued.ticket.id);
        called.label
    })
    .await;
    let expected_dept = format!("Hộ tịch – {LONG_SERVICE}");

    let board = kiosk.display("hall-board", "").await;
    let url = format!("http://{}/", board.local_addr());
    for (width, height) in [(1920, 1080), (1366, 768), (1080, 1920)] {
        let what = format!("hall board with a long service at {width}×{height}");
        let browser = browser(width, height).await.unwrap();
        browser.goto(&url).await.unwrap();
        browser
            .wait_for(
                "return document.getElementById('latest-number').textContent + '/' + document.getElementById('latest-counter').textContent",
                json!(format!("{called}/1")),
            )
            .await
            .unwrap();
        wait_still(&browser).await;
        let shown = browser
            .execute("var t = document.querySelector('#tiles .tile[data-counter=\"1\"]'); return [document.getElementById('latest-dept').textContent, t.querySelector('.number').textContent, t.querySelector('.dept .service').textContent, t.querySelector('.dept').textContent];")
            .await
            .unwrap();
        assert_eq!(
            shown,
            json!([
                expected_dept,
                called,
                LONG_SERVICE,
                format!("Hộ tịch{LONG_SERVICE}")
            ]),
            "{what}"
        );
        assert_geometry(&browser, &what).await;
        if (width, height) == (1920, 1080) {
            save_doc(
                "hall-board-service-1920x1080.png",
                &browser.screenshot().await.unwrap(),
            );
        }
    }

    let counter = kiosk.display("counter", "counters = [1]").await;
    let url = format!("http://{}/", counter.local_addr());
    for (width, height) in [(800, 480), (1366, 768)] {
        let what = format!("counter display with a long service at {width}×{height}");
        let desk = browser(width, height).await.unwrap();
        desk.goto(&url).await.unwrap();
        desk.wait_for(
            "return document.getElementById('counter-number').textContent",
            json!(called),
        )
        .await
        .unwrap();
        wait_still(&desk).await;
        let shown = desk
            .execute("var s = document.getElementById('counter-service'); return [document.getElementById('counter-department').textContent, s.textContent, s.hidden, parseFloat(getComputedStyle(s).fontSize) < parseFloat(getComputedStyle(document.getElementById('counter-number')).fontSize)];")
            .await
            .unwrap();
        assert_eq!(
            shown,
            json!(["Hộ tịch", LONG_SERVICE, false, true]),
            "{what}"
        );
        assert_geometry(&desk, &what).await;
        if (width, height) == (800, 480) {
            save_doc(
                "counter-display-service-800x480.png",
                &desk.screenshot().await.unwrap(),
            );
        }
    }

    counter.shutdown().await;
    board.shutdown().await;
    kiosk.stop().await;
}
