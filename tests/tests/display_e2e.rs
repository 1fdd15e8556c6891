//! End to end: the real kiosk (store, API, event stream) and display daemons
//! on loopback.
//!
//! - Two daemons follow the kiosk; calls made through the API appear in each
//!   daemon's state; the kiosk is stopped and started again mid-way (same
//!   data, same port) and every call still arrives exactly once, in order,
//!   each announced once (a recall once more).
//! - Headless Chromium (Debian `chromium` + `chromium-driver`, installed by
//!   `.ci/steps/chromium.sh`) opens the hall board page, sees a call made
//!   through the API appear, then the "mất kết nối" notice when the kiosk
//!   stops; it saves a screenshot to `docs/hall-board.png` when that is missing
//!   or with `UPDATE_SCREENSHOTS=1`. Skipped with a
//!   message when chromedriver is not installed.

use std::net::SocketAddr;
use std::path::Path;

use display_daemon::http::{self, BaseUrl};
use display_daemon::{Change, DaemonHandle, Effect, LinkStatus};
use queue_protocol::{EventKind, TicketId};
use serde_json::json;
use system_tests::perf::display::{display_config, LoopbackKiosk};
use system_tests::webdriver::{find_chromedriver, Browser, DEADLINE};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

async fn daemon(kiosk: &LoopbackKiosk) -> DaemonHandle {
    let config = display_config(&kiosk.url(), &kiosk.tokens.display, "127.0.0.1:0").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    display_daemon::start(config, listener).await.unwrap()
}

/// Waits until `ok` holds for the daemon's state, re-checking on every
/// change it publishes.
async fn wait_for(
    daemon: &DaemonHandle,
    what: &str,
    ok: impl Fn(&display_daemon::BoardState) -> bool,
) {
    let mut view = daemon.shared().view();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if ok(&daemon.shared().state()) {
            return;
        }
        match tokio::time::timeout_at(deadline, view.changed()).await {
            Ok(Ok(())) => {}
            _ => panic!(
                "timed out waiting for {what}; state: {:?}",
                daemon.shared().state()
            ),
        }
    }
}

fn has_labels(state: &display_daemon::BoardState, labels: &[&str]) -> bool {
    labels
        .iter()
        .all(|l| state.last_calls.iter().any(|c| c.label == *l))
}

/// Calls seen by one daemon: (seq, ticket, recall) of each applied `Called`,
/// and the announcements it made.
fn drain_calls(rx: &mut broadcast::Receiver<Change>) -> (Vec<(u64, TicketId, bool)>, usize) {
    let mut calls = Vec::new();
    let mut announced = 0;
    while let Ok(change) = rx.try_recv() {
        if let Change::Event { event, effects, .. } = change {
            if let EventKind::Called { ticket, recall, .. } = event.kind {
                calls.push((event.seq, ticket, recall));
            }
            announced += effects
                .iter()
                .filter(|e| matches!(e, Effect::Announce { .. }))
                .count();
        }
    }
    (calls, announced)
}

async fn recall(kiosk: &LoopbackKiosk, counter: u16) {
    let base = BaseUrl::parse(&kiosk.url()).unwrap();
    let auth = format!("Bearer {}", kiosk.tokens.admin);
    let (status, body) = http::post_empty(
        &base,
        &format!("/api/v1/counters/{counter}/recall"),
        &[("Authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_displays_get_every_call_exactly_once_across_a_kiosk_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    kiosk.issue("ho-tich", 6).await.unwrap();
    kiosk.issue("dat-dai", 6).await.unwrap();

    let displays = [daemon(&kiosk).await, daemon(&kiosk).await];
    let mut changes: Vec<_> = displays.iter().map(|d| d.shared().changes()).collect();
    for d in &displays {
        wait_for(d, "the first snapshot", |s| {
            s.link == LinkStatus::Connected
                && s.departments.iter().map(|d| d.waiting).sum::<u32>() == 12
        })
        .await;
    }

    // Before the restart: three calls through the API.
    kiosk.next(1).await.unwrap();
    kiosk.next(2).await.unwrap();
    kiosk.next(3).await.unwrap();
    for d in &displays {
        wait_for(d, "the first three calls", |s| {
            has_labels(s, &["1001", "1002", "2001"])
        })
        .await;
        assert_eq!(d.shared().state().current_label(3), Some("2001"));
    }

    // The kiosk stops: the displays keep their calls and show the notice.
    let addr: SocketAddr = kiosk.addr;
    let tokens = kiosk.tokens.clone();
    kiosk.stop().await.unwrap();
    for d in &displays {
        wait_for(d, "the link lost", |s| {
            matches!(s.link, LinkStatus::Lost { .. })
        })
        .await;
        assert_eq!(d.shared().state().current_label(1), Some("1001"));
    }

    // It starts again on the same data and port; calls are made at once,
    // before the displays' backoff brings them back: they catch up from the
    // kiosk's log with Last-Event-ID.
    let kiosk = LoopbackKiosk::start(dir.path(), addr, Some(tokens))
        .await
        .unwrap();
    kiosk.next(1).await.unwrap();
    kiosk.next(2).await.unwrap();
    recall(&kiosk, 2).await;
    kiosk.next(3).await.unwrap();
    for d in &displays {
        wait_for(d, "every call after the restart", |s| {
            s.link == LinkStatus::Connected
                && has_labels(s, &["1001", "1002", "2001", "1003", "1004", "2002"])
                && s.current_label(2) == Some("1004")
        })
        .await;
    }

    // Exactly once: the kiosk's log has seven Called events; each display
    // applied each of them once, in order, and announced each once.
    let logged: Vec<(u64, TicketId, bool)> = match kiosk.app.store().events_since(0, 1000).unwrap()
    {
        queue_store::store::EventsSince::Events(events) => events
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::Called { ticket, recall, .. } => Some((e.seq, ticket, recall)),
                _ => None,
            })
            .collect(),
        other => panic!("unexpected gap in the kiosk's log: {other:?}"),
    };
    assert_eq!(logged.len(), 7);
    for (i, rx) in changes.iter_mut().enumerate() {
        let (calls, announced) = drain_calls(rx);
        assert_eq!(calls, logged, "display {i} saw the calls differently");
        assert_eq!(announced, 7, "display {i}: one announcement per call");
        let state = displays[i].shared().state();
        assert_eq!(state.last_seq, kiosk.app.store().last_seq());
        assert_eq!(state.last_calls[0].label, "2002");
    }

    for d in displays {
        d.shutdown().await;
    }
    kiosk.stop().await.unwrap();
}

// ---- headless Chromium -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hall_board_in_headless_chromium_shows_calls_and_the_lost_link() {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/steps/chromium.sh");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    kiosk.issue("ho-tich", 5).await.unwrap();
    kiosk.issue("dat-dai", 3).await.unwrap();
    kiosk.next(2).await.unwrap();
    let display = daemon(&kiosk).await;
    let page_url = format!("http://{}/", display.local_addr());

    let browser = Browser::launch(&chromedriver, 1920, 1080).await.unwrap();
    browser.goto(&page_url).await.unwrap();

    // The call made before the page opened is on its tile and highlighted.
    browser
        .wait_for(
            "return document.getElementById('latest-number').textContent",
            json!("1001"),
        )
        .await
        .unwrap();
    // A call made now appears by push.
    kiosk.next(3).await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('latest-number').textContent + ' ' + document.getElementById('latest-counter').textContent",
            json!("2001 3"),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.querySelector('.tile[data-counter=\"3\"] .number').textContent",
            json!("2001"),
        )
        .await
        .unwrap();
    kiosk.next(1).await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('latest-number').textContent",
            json!("1002"),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('link-notice').hidden",
            json!(true),
        )
        .await
        .unwrap();

    // Screenshot for the docs, once the flash animation is over.
    browser
        .wait_for("return document.getAnimations().length", json!(0))
        .await
        .unwrap();
    let png = browser.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Saved for the README when missing or with UPDATE_SCREENSHOTS=1, so an
    // ordinary run leaves docs/ alone.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let path = docs.join("hall-board.png");
    if !path.exists() || std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(&path, &png).unwrap();
    }

    // The kiosk stops: the board keeps its numbers and shows the notice.
    kiosk.stop().await.unwrap();
    browser
        .wait_for(
            "var n = document.getElementById('link-notice'); return !n.hidden && n.textContent.indexOf('Mất kết nối') >= 0",
            json!(true),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('latest-number').textContent",
            json!("1002"),
        )
        .await
        .unwrap();

    // Ends the session (Chromium exits) and stops chromedriver.
    drop(browser);
    display.shutdown().await;
}
