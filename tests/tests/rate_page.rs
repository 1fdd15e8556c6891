//! The citizen's rating page of a counter display, end to end: the real
//! kiosk (store, API) and a display daemon on loopback, the page in headless
//! Chromium (Debian `chromium` + `chromium-driver`, installed by
//! `.ci/steps/chromium.sh`). After a finished service the citizen taps a
//! level and sees "Cảm ơn ông/bà!"; the page goes back to its buttons; a
//! second tap is refused with the kiosk's reason, and the kiosk kept one
//! rating. Skipped with a message when chromedriver is not installed.

use display_daemon::http::{self, BaseUrl};
use display_daemon::{DaemonHandle, LinkStatus};
use queue_protocol::TicketId;
use serde_json::json;
use system_tests::perf::display::LoopbackKiosk;
use system_tests::webdriver::{find_chromedriver, Browser, DEADLINE};
use tokio::net::TcpListener;

async fn counter_display(kiosk: &LoopbackKiosk) -> DaemonHandle {
    let text = format!(
        "kiosk_url = \"{}\"\ntoken = \"{}\"\nmode = \"counter\"\ncounters = [1]\nlisten = \"127.0.0.1:0\"\n[voice]\nenabled = false\n",
        kiosk.url(),
        kiosk.tokens.keypad
    );
    let config = kiosk_config::parse_display(&text, "display-rate.toml")
        .unwrap()
        .value;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    display_daemon::start(config, listener).await.unwrap()
}

async fn act(kiosk: &LoopbackKiosk, action: &str) {
    let base = BaseUrl::parse(&kiosk.url()).unwrap();
    let auth = format!("Bearer {}", kiosk.tokens.admin);
    let (status, body) = http::post_empty(
        &base,
        &format!("/api/v1/counters/1/{action}"),
        &[("Authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{action}: {}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_rates_on_the_touch_page_and_a_second_tap_is_refused() {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/steps/chromium.sh");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    kiosk.issue("ho-tich", 2).await.unwrap();
    let display = counter_display(&kiosk).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut view = display.shared().view();
    while display.shared().state().link != LinkStatus::Connected {
        tokio::time::timeout_at(deadline, view.changed())
            .await
            .expect("the display connects")
            .unwrap();
    }
    act(&kiosk, "next").await;
    act(&kiosk, "start").await;
    act(&kiosk, "finish").await;

    let browser = Browser::launch(&chromedriver, 800, 1280).await.unwrap();
    browser
        .goto(&format!("http://{}/rate", display.local_addr()))
        .await
        .unwrap();
    browser
        .wait_for("return document.body.dataset.ready || ''", json!("true"))
        .await
        .unwrap();
    let labels = browser
        .execute("return Array.from(document.querySelectorAll('#levels button')).map(b => b.textContent + '|' + getComputedStyle(b).backgroundColor)")
        .await
        .unwrap();
    assert_eq!(
        labels,
        json!([
            "Rất hài lòng|rgb(27, 127, 59)",
            "Hài lòng|rgb(31, 95, 168)",
            "Không hài lòng|rgb(179, 38, 30)"
        ])
    );

    browser
        .click("#levels button[data-level=\"very_satisfied\"]")
        .await
        .unwrap();
    browser
        .wait_for(
            "var a = document.getElementById('answer'); return a.hidden ? '' : a.className + ' ' + a.textContent",
            json!("ok Cảm ơn ông/bà!"),
        )
        .await
        .unwrap();
    // Back to the buttons by itself.
    browser
        .wait_for(
            "return document.getElementById('levels').hidden",
            json!(false),
        )
        .await
        .unwrap();

    // A second tap for the same service: refused, with the reason.
    browser
        .click("#levels button[data-level=\"unsatisfied\"]")
        .await
        .unwrap();
    browser
        .wait_for(
            "var a = document.getElementById('answer'); return !a.hidden && a.className === 'refused' && a.textContent.indexOf('đã được đánh giá') >= 0",
            json!(true),
        )
        .await
        .unwrap();

    let store = kiosk.app.store().clone();
    let ticket = store.ticket(TicketId(1)).unwrap().unwrap();
    assert_eq!(ticket.rating.unwrap().source, "counter_touch");
    let rated = match store.events_since(0, 1000).unwrap() {
        queue_store::store::EventsSince::Events(events) => events
            .iter()
            .filter(|e| matches!(e.kind, queue_protocol::EventKind::Rated { .. }))
            .count(),
        other => panic!("{other:?}"),
    };
    assert_eq!(rated, 1, "one rating counted");

    drop(browser);
    display.shutdown().await;
    kiosk.stop().await.unwrap();
}
