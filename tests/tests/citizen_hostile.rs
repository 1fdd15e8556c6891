//! The public listener against a hostile hall: the kiosk daemon with its
//! phone pages on loopback.
//!
//! - No route of the staff listener (every row of the API's route table,
//!   the staff and admin pages, metrics, the LAN event stream) answers on
//!   the public listener: each gets the Vietnamese 404 page.
//! - 10,000 random well-formed keys all get 404; the median time of a
//!   lookup of an unknown key and of a valid one are printed and compared
//!   (only a generous bound is asserted: timing goals are for benchmarks).
//! - Requests beyond an address's bucket get 429.
//! - The public stream cap holds (per address and in all) while presses
//!   print and calls reach the phones that stay.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use display_daemon::http::{BaseUrl, Client};
use kiosk::api::citizen::CitizenOptions;
use queue_protocol::Actor;
use queue_store::store::citizen::TicketKey;
use system_tests::citizen::{PhoneCenter, PhoneStream};

const NOT_FOUND_TITLE: &str = "Không tìm thấy số thứ tự";

fn client(center: &PhoneCenter) -> Client {
    Client::new(BaseUrl::parse(&center.public_url("")).unwrap())
        .with_response_timeout(Duration::from_secs(10))
}

async fn get(client: &Client, path: &str) -> (u16, String) {
    let (head, mut body) = client.request("GET", path, &[], &[]).await.unwrap();
    let bytes = body.read_to_end(1 << 20).await.unwrap();
    (head.status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Options for tests that make many requests from one address.
fn unthrottled() -> CitizenOptions {
    CitizenOptions {
        requests_per_minute: 1_000_000,
        request_burst: 1_000_000,
        ..CitizenOptions::default()
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_staff_or_admin_route_answers_on_the_public_listener() {
    let center = PhoneCenter::start(unthrottled()).await.unwrap();
    let client = client(&center);
    let mut paths: Vec<(&str, String)> = kiosk::api::ROUTES
        .iter()
        .map(|route| {
            let path = route
                .path
                .replace("{n}", "1")
                .replace("{name}", "lan")
                .replace("{id}", "1")
                .replace("{day}", "2026-12-01");
            (route.method.as_str(), path)
        })
        .collect();
    for page in [
        "/",
        "/login",
        "/console",
        "/admin",
        "/demo",
        "/assets/common.js",
        "/assets/console.js",
        "/favicon.ico",
        "/metrics",
        "/healthz",
        "/api/v1/events?token=x",
        "/t",
        "/t/",
        "/static/../api/v1/summary",
        "/static/common.js",
    ] {
        paths.push(("GET", page.to_owned()));
    }
    assert!(paths.len() > 35, "{paths:?}");
    for (method, path) in &paths {
        let (head, mut body) = client
            .request(method, path, &[("Content-Type", "application/json")], b"{}")
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body.read_to_end(1 << 20).await.unwrap()).into_owned();
        assert_eq!(
            head.status, 404,
            "{method} {path} answered {}: {text}",
            head.status
        );
        assert!(text.contains(NOT_FOUND_TITLE), "{method} {path}: {text}");
    }
    // The staff listener does answer them, so the check above is not empty.
    let staff = Client::new(BaseUrl::parse(&format!("http://{}", center.staff)).unwrap());
    let (status, _) = get(&staff, "/healthz").await;
    assert_eq!(status, 200);
    center.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_keys_all_404_and_take_as_long_as_valid_ones() {
    let center = PhoneCenter::start(unthrottled()).await.unwrap();
    let mut valid = Vec::new();
    for _ in 0..5 {
        let issued = center
            .app
            .store()
            .issue(&"ho-tich".into(), None, Actor::Button)
            .unwrap();
        valid.push(issued.key.unwrap().to_string());
    }
    let client = client(&center);
    // Warm the connection and the code paths.
    for key in &valid {
        assert_eq!(get(&client, &format!("/t/{key}")).await.0, 200);
    }
    let mut unknown = Vec::with_capacity(10_000);
    let mut known = Vec::with_capacity(2_000);
    for i in 0..10_000 {
        let key = TicketKey::generate().to_string();
        let started = Instant::now();
        let (status, body) = get(&client, &format!("/t/{key}")).await;
        unknown.push(started.elapsed());
        assert_eq!(status, 404, "a random key opened a page: {key}");
        assert!(body.contains(NOT_FOUND_TITLE));
        if i % 5 == 0 {
            let key = &valid[(i / 5) % valid.len()];
            let started = Instant::now();
            let (status, _) = get(&client, &format!("/t/{key}")).await;
            known.push(started.elapsed());
            assert_eq!(status, 200);
        }
    }
    let (unknown, known) = (median(unknown), median(known));
    println!(
        "citizen_lookup_median_unknown: {} us\ncitizen_lookup_median_valid: {} us",
        unknown.as_micros(),
        known.as_micros()
    );
    // Generous: the same path up to the hash lookup; a page is a few
    // hundred bytes more than the 404. A shared machine's noise is far
    // above what would separate them.
    let gap = unknown.abs_diff(known);
    assert!(
        gap < Duration::from_millis(5) || gap < unknown.max(known) / 2,
        "medians differ too much: unknown {unknown:?}, valid {known:?}"
    );
    center.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_slowed_down_past_its_bucket() {
    let center = PhoneCenter::start(CitizenOptions {
        requests_per_minute: 60,
        request_burst: 10,
        ..CitizenOptions::default()
    })
    .await
    .unwrap();
    let client = client(&center);
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(get(&client, "/t/nothing-here").await.0);
    }
    assert_eq!(&statuses[..10], &[404; 10]);
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    center.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_cap_holds_while_presses_and_calls_go_on() {
    let options = CitizenOptions {
        streams_per_address: 3,
        max_streams: 12,
        ..unthrottled()
    };
    let center = PhoneCenter::start(options).await.unwrap();
    let store = center.app.store().clone();
    for _ in 0..12 {
        center.press("ho-tich").await.unwrap();
    }
    let keys: Vec<String> = (1..=12u64)
        .map(|id| {
            store
                .ticket_key(queue_protocol::TicketId(id))
                .unwrap()
                .to_string()
        })
        .collect();
    let phone = |n: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 3, n));
    // Four addresses, three streams each: the cap of 12.
    let mut streams = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let from = phone(1 + (i / 3) as u8);
        let mut stream = PhoneStream::open(from, center.public, &format!("/t/{key}/events"))
            .await
            .unwrap();
        assert_eq!(stream.status, 200);
        let first = stream.next_page().await.unwrap().unwrap();
        assert_eq!(first["ahead"], i);
        streams.push(stream);
    }
    // A fourth stream from the first address: per-address limit.
    let refused = PhoneStream::open(phone(1), center.public, &format!("/t/{}/events", keys[0]))
        .await
        .unwrap();
    assert_eq!(refused.status, 429);
    assert!(refused.body().await.contains("quá nhiều"));
    // A fresh address over the global cap.
    let refused = PhoneStream::open(phone(9), center.public, &format!("/t/{}/events", keys[0]))
        .await
        .unwrap();
    assert_eq!(refused.status, 503);
    // The page itself still opens, and presses still print.
    let (status, _) = get(&client(&center), &format!("/t/{}", keys[0])).await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        center.press("chung-thuc").await.unwrap();
    }
    assert_eq!(center.site.streams(), 12);
    // A call reaches the phones that stay: the first ticket is called, every
    // other one moves up.
    store
        .call_next(1, Actor::Staff { name: "lan".into() })
        .unwrap();
    let page = streams[0].next_page().await.unwrap().unwrap();
    assert_eq!(page["status"], "called");
    assert_eq!(page["text"]["status"], "Mời số 1001 đến quầy 1");
    let page = streams[11].next_page().await.unwrap().unwrap();
    assert_eq!(page["ahead"], 10);
    // A phone leaving frees its place for another.
    drop(streams.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stream = PhoneStream::open(phone(9), center.public, &format!("/t/{}/events", keys[1]))
            .await
            .unwrap();
        if stream.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed stream was never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(streams);
    center.stop().await.unwrap();
}
