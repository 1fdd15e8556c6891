//! `POST /t/{key}/rate` on the public listener: a citizen rates the service
//! from the ticket's phone page, through the store's attach rule.
//!
//! - A ticket not served yet (waiting, called) is refused with its reason.
//! - After the finish: the page says it can be rated, the rating is
//!   accepted, a retry with the same key is answered again and counted
//!   once, a second rating is refused, and the live stream shows the level.
//! - The key of another ticket never rates this one, and an idempotency
//!   key used by one phone answers nothing for another.
//! - An unknown key gets the page's 404; a bad body gets 422, a big one
//!   413; ratings count against the address's request bucket (429).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use display_daemon::http::{BaseUrl, Client};
use kiosk::api::citizen::CitizenOptions;
use queue_protocol::{Actor, EventKind};
use queue_store::store::citizen::TicketKey;
use queue_store::store::EventsSince;
use serde_json::Value;
use system_tests::citizen::{PhoneCenter, PhoneStream};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

struct Answer {
    status: u16,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }
}

async fn post(client: &Client, path: &str, body: &str) -> Answer {
    let (head, mut reply) = client
        .request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
        .unwrap();
    let bytes = reply.read_to_end(1 << 20).await.unwrap();
    Answer {
        status: head.status,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn rate(client: &Client, key: &str, level: &str, idem: &str) -> Answer {
    post(
        client,
        &format!("/t/{key}/rate"),
        &format!(r#"{{"level": "{level}", "key": "{idem}"}}"#),
    )
    .await
}

/// `Rated` events stored, with their source and actor.
fn ratings(center: &PhoneCenter) -> Vec<(String, String, Actor)> {
    let EventsSince::Events(events) = center.app.store().events_since(0, 100_000).unwrap() else {
        panic!("events were pruned");
    };
    events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Rated {
                label,
                source,
                actor,
                ..
            } => Some((label, source, actor)),
            _ => None,
        })
        .collect()
}

async fn first_page(center: &PhoneCenter, key: &str) -> Value {
    let mut stream = PhoneStream::open(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        center.public,
        &format!("/t/{key}/events"),
    )
    .await
    .unwrap();
    assert_eq!(stream.status, 200);
    tokio::time::timeout(Duration::from_secs(10), stream.next_page())
        .await
        .expect("a first page")
        .unwrap()
        .expect("a ticket event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_rates_its_own_ticket_once_after_the_service() {
    let center = PhoneCenter::start(CitizenOptions::default()).await.unwrap();
    let store = center.app.store().clone();
    let first = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let second = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let a = first.key.unwrap().to_string();
    let b = second.key.unwrap().to_string();
    let client = Client::new(BaseUrl::parse(&center.public_url("")).unwrap())
        .with_response_timeout(Duration::from_secs(10));

    // Waiting: nothing to rate yet.
    let page = first_page(&center, &a).await;
    assert_eq!(page["status"], "waiting");
    assert_eq!(page["rateable"], false);
    let refused = rate(&client, &a, "very_satisfied", "w1").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json()["reason"], "not_served");
    assert!(refused.json()["message_vi"]
        .as_str()
        .unwrap()
        .contains("chưa được phục vụ"));

    // Called to counter 1 (not yet served): still refused.
    store.call_next(1, staff()).unwrap();
    let refused = rate(&client, &a, "very_satisfied", "c1").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json()["reason"], "not_served");

    // Served and finished: the page offers the rating.
    store.start_serving(1, None, staff()).unwrap();
    assert_eq!(first_page(&center, &a).await["rateable"], true);
    store.finish(1, None, staff()).unwrap();
    let page = first_page(&center, &a).await;
    assert_eq!(page["status"], "done");
    assert_eq!(page["rateable"], true);
    assert_eq!(page["final"], false, "the stream waits for the rating");
    assert!(page.get("rated").is_none(), "{page}");

    // The other ticket's phone cannot rate this one: it names its own
    // ticket, which waits.
    let other = rate(&client, &b, "unsatisfied", "b1").await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.json()["reason"], "not_served");
    assert!(ratings(&center).is_empty(), "nothing recorded yet");

    // A phone following the page sees the rating arrive, then the end.
    let mut follower = PhoneStream::open(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        center.public,
        &format!("/t/{a}/events"),
    )
    .await
    .unwrap();
    let start = tokio::time::timeout(Duration::from_secs(10), follower.next_page())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(start["rateable"], true);

    let accepted = rate(&client, &a, "very_satisfied", "k1").await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json()["label"], "1001");
    assert_eq!(accepted.json()["level"], "very_satisfied");
    assert_eq!(accepted.json()["repeated"], false);
    // The answer was lost: the phone sends the same tap again.
    let again = rate(&client, &a, "very_satisfied", "k1").await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["repeated"], true);
    assert_eq!(
        ratings(&center),
        vec![("1001".to_owned(), "phone".to_owned(), Actor::Phone)],
        "counted once, from the phone"
    );

    let rated = tokio::time::timeout(Duration::from_secs(10), follower.next_page())
        .await
        .expect("the stream shows the rating")
        .unwrap()
        .unwrap();
    assert_eq!(rated["rated"], "very_satisfied");
    assert_eq!(rated["rateable"], false);
    assert_eq!(rated["final"], true);

    // A second tap is a second rating of the same ticket: refused.
    let second_tap = rate(&client, &a, "unsatisfied", "k2").await;
    assert_eq!(second_tap.status, 409, "{}", second_tap.text);
    assert_eq!(second_tap.json()["reason"], "already_rated");
    assert!(second_tap.json()["message_vi"]
        .as_str()
        .unwrap()
        .contains("đã được đánh giá"));
    assert_eq!(ratings(&center).len(), 1);

    // The next citizen's phone reuses the idempotency key "k1": it is that
    // phone's own tap, never the answer given to the first ticket's phone.
    store.call_next(1, staff()).unwrap();
    store.start_serving(1, None, staff()).unwrap();
    let theirs = rate(&client, &b, "satisfied", "k1").await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json()["label"], "1002");
    assert_eq!(theirs.json()["level"], "satisfied");
    assert_eq!(theirs.json()["repeated"], false);
    let recorded = ratings(&center);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].0, "1002");
    // And the first ticket's page still shows its own level.
    assert_eq!(first_page(&center, &a).await["rated"], "very_satisfied");

    center.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_and_bad_bodies_are_refused() {
    let center = PhoneCenter::start(CitizenOptions::default()).await.unwrap();
    let client = Client::new(BaseUrl::parse(&center.public_url("")).unwrap())
        .with_response_timeout(Duration::from_secs(10));
    let unknown = TicketKey::generate().to_string();
    for key in [unknown.as_str(), "not-a-key"] {
        let reply = rate(&client, key, "very_satisfied", "x").await;
        assert_eq!(reply.status, 404, "{key}: {}", reply.text);
        assert!(
            reply.text.contains("Không tìm thấy số thứ tự"),
            "{}",
            reply.text
        );
    }
    let issued = center
        .app
        .store()
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap();
    let key = issued.key.unwrap().to_string();
    let path = format!("/t/{key}/rate");
    for body in [
        "not json",
        r#"{"level": "very_satisfied", "ticket": 5}"#,
        "{}",
    ] {
        let reply = post(&client, &path, body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert_eq!(reply.json()["reason"], "bad_request");
        assert!(!reply.json()["message_vi"].as_str().unwrap().is_empty());
    }
    let huge = format!(r#"{{"level": "{}"}}"#, "x".repeat(4096));
    let reply = post(&client, &path, &huge).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // Only POST rates; a GET of the rating path is the 404 page.
    let (head, _) = client.request("GET", &path, &[], &[]).await.unwrap();
    assert_eq!(head.status, 404);
    center.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_count_against_the_address_request_limit() {
    let center = PhoneCenter::start(CitizenOptions {
        requests_per_minute: 1,
        request_burst: 3,
        ..CitizenOptions::default()
    })
    .await
    .unwrap();
    let issued = center
        .app
        .store()
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap();
    let key = issued.key.unwrap().to_string();
    let client = Client::new(BaseUrl::parse(&center.public_url("")).unwrap())
        .with_response_timeout(Duration::from_secs(10));
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(
            rate(&client, &key, "satisfied", &format!("t{n}"))
                .await
                .status,
        );
    }
    // Three from the burst (refused: not served), then the bucket is empty.
    assert_eq!(statuses, vec![409, 409, 409, 429, 429]);
    assert!(ratings(&center).is_empty());
    center.stop().await.unwrap();
}
