//! End to end: a citizen follows the ticket on a phone.
//!
//! The whole kiosk daemon runs with its public listener on loopback. A
//! press prints a ticket on the loopback printer; the QR code is read back
//! from the printed raster (ESC/POS `GS v 0` bytes → bitmap → `rqrr`), not
//! from the kiosk's memory. Headless Chromium, as a 360×740 phone with
//! touch, opens that URL, sees its position, sees it fall as staff call the
//! tickets ahead, sees the full-screen call, then "served"; a made-up key
//! gets the Vietnamese 404 page. `docs/phone-ticket.png` and
//! `docs/phone-call.png` are written when missing or with
//! `UPDATE_SCREENSHOTS=1`. Skipped with a message without chromedriver.

use std::path::Path;

use kiosk::api::citizen::CitizenOptions;
use queue_protocol::Actor;
use queue_store::store::citizen::TicketKey;
use serde_json::json;
use system_tests::citizen::PhoneCenter;
use system_tests::loopback_printer::ReceivedTicket;
use system_tests::webdriver::{find_chromedriver, Browser};

/// Every QR code found in a printed ticket's raster.
fn qr_codes(ticket: &ReceivedTicket) -> Vec<String> {
    let bitmap = ticket_printer::escpos::decode_raster(&ticket.bytes).expect("a raster ticket");
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(
        usize::from(bitmap.width()),
        bitmap.height() as usize,
        |x, y| {
            if bitmap.get(x as u32, y as u32) {
                0
            } else {
                255
            }
        },
    );
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

fn save_doc(name: &str, png: &[u8]) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let path = docs.join(name);
    if path.exists() && std::env::var("UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    std::fs::write(path, png).unwrap();
}

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

fn text_of(id: &str) -> String {
    format!("var e = document.getElementById('{id}'); return e ? e.textContent : null;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_code_opens_a_live_page_that_calls_the_citizen() {
    let Some(chromedriver) = find_chromedriver() else {
        eprintln!("SKIPPED: chromedriver not installed; run .ci/setup (Debian chromium + chromium-driver)");
        return;
    };
    let center = PhoneCenter::start(CitizenOptions::default()).await.unwrap();
    // Two citizens ahead, then ours.
    center.press("ho-tich").await.unwrap();
    center.press("ho-tich").await.unwrap();
    let ours = center.press("ho-tich").await.unwrap();

    let codes = qr_codes(&ours);
    assert_eq!(codes.len(), 1, "one QR code on the ticket: {codes:?}");
    let url = &codes[0];
    let prefix = center.public_url("/t/");
    let key = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("the QR code {url} is not a page of {prefix}"));
    assert!(TicketKey::parse(key).is_some(), "{key} is not a ticket key");

    let browser = Browser::launch(&chromedriver, 360, 740).await.unwrap();
    browser.emulate_phone(360, 740).await.unwrap();
    browser.goto(url).await.unwrap();
    browser
        .wait_for(&text_of("number"), json!("1003"))
        .await
        .unwrap();
    browser
        .wait_for(&text_of("department"), json!("Hộ tịch"))
        .await
        .unwrap();
    browser
        .wait_for(&text_of("status"), json!("Còn 2 người trước bạn"))
        .await
        .unwrap();
    browser
        .wait_for(
            &text_of("wait"),
            json!("Thời gian chờ dự kiến: chưa đủ dữ liệu"),
        )
        .await
        .unwrap();
    // Touch emulation is on and nothing overflows the phone's width.
    browser
        .wait_true(
            "return navigator.maxTouchPoints > 0 && document.documentElement.scrollWidth <= 360",
        )
        .await
        .unwrap();
    save_doc("phone-ticket.png", &browser.screenshot().await.unwrap());

    // Staff call the tickets ahead: the position falls by push.
    let store = center.app.store().clone();
    store.call_next(1, staff()).unwrap();
    browser
        .wait_for(&text_of("status"), json!("Còn 1 người trước bạn"))
        .await
        .unwrap();
    store.call_next(2, staff()).unwrap();
    browser
        .wait_for(&text_of("status"), json!("Bạn là người tiếp theo"))
        .await
        .unwrap();

    // Ours is called: the full-screen call.
    store.call_next(1, staff()).unwrap();
    browser
        .wait_true(
            "var c = document.getElementById('call'); return !c.hidden && c.offsetHeight >= 700;",
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.getElementById('call-line').innerText.replace(/\\s+/g, ' ').trim()",
            json!("Mời số 1003 đến quầy 1"),
        )
        .await
        .unwrap();
    save_doc("phone-call.png", &browser.screenshot().await.unwrap());

    // Served: the page says so and the stream ends.
    let ours_id = store.finish(1, None, staff()).unwrap().id;
    browser
        .wait_for(&text_of("status"), json!("Đã phục vụ xong. Cảm ơn bạn!"))
        .await
        .unwrap();
    browser
        .wait_true("return document.getElementById('call').hidden")
        .await
        .unwrap();

    // The citizen rates the service: one big button per configured level,
    // in its colour; a tap thanks them and the buttons go.
    browser
        .wait_for(
            "return Array.prototype.map.call(document.querySelectorAll('#rating-levels button'), \
             function (b) { return b.offsetParent !== null ? b.textContent + ' ' + getComputedStyle(b).backgroundColor : 'hidden'; })",
            json!([
                "Rất hài lòng rgb(27, 127, 59)",
                "Hài lòng rgb(31, 95, 168)",
                "Không hài lòng rgb(179, 38, 30)"
            ]),
        )
        .await
        .unwrap();
    browser
        .wait_true(
            "var b = document.querySelector('#rating-levels button'); \
             return b.offsetHeight >= 56 && document.documentElement.scrollWidth <= 360;",
        )
        .await
        .unwrap();
    save_doc("phone-rate.png", &browser.screenshot().await.unwrap());
    browser
        .tap("#rating-levels button[data-level='very_satisfied']")
        .await
        .unwrap();
    browser
        .wait_for(&text_of("rating-answer"), json!("Cảm ơn ông/bà!"))
        .await
        .unwrap();
    browser
        .wait_true("return document.getElementById('rating-levels').offsetParent === null")
        .await
        .unwrap();
    let rated = store.ticket(ours_id).unwrap().expect("our ticket");
    let rating = rated.rating.expect("the tap was recorded");
    assert_eq!(
        (rating.level.as_str(), rating.source.as_str()),
        ("very_satisfied", "phone")
    );
    // Opened again later: the thanks, and no buttons.
    browser.goto(url).await.unwrap();
    browser
        .wait_for(&text_of("rating-answer"), json!("Cảm ơn ông/bà!"))
        .await
        .unwrap();
    browser
        .wait_true("return document.getElementById('rating-levels').offsetParent === null")
        .await
        .unwrap();

    // A made-up key: the Vietnamese 404 page.
    browser
        .goto(&center.public_url(&format!("/t/{}", TicketKey::generate())))
        .await
        .unwrap();
    browser
        .wait_for(
            "return document.querySelector('h1') && document.querySelector('h1').textContent",
            json!("Không tìm thấy số thứ tự"),
        )
        .await
        .unwrap();
    drop(browser);
    center.stop().await.unwrap();
}
