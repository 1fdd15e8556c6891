//! The citizen's rating buttons on embedded-hal mock pins: a press of a
//! level button sends that rating to the kiosk (a fake one on loopback) and
//! lights the confirmation LED; a refused rating lights the refusal LED; a
//! kiosk that cannot record a rating for a moment gets the same press again
//! with the same idempotency key.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use display_daemon::http::{BaseUrl, Client};
use display_daemon::keypad::{
    rating_key, send_rating_reliably, show_verdict, ConfirmLed, KeyRule, KeypadAction,
    KeypadReader, RatingError, RatingKey,
};
use embedded_hal_mock::eh1::digital::{Mock, State as Level, Transaction};
use kiosk_config::ActiveLevel;
use queue_protocol::RateRequest;
use serde_json::{json, Value};

/// What the fake kiosk saw, and how many requests it fails first (503).
#[derive(Default)]
struct Seen {
    requests: Vec<(u16, String, Value)>,
    fail_first: usize,
    rated: bool,
}

type Kiosk = Arc<Mutex<Seen>>;

async fn rate(
    State(seen): State<Kiosk>,
    Path(counter): Path<u16>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut seen = seen.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.requests.push((counter, auth, body.clone()));
    if seen.fail_first > 0 {
        seen.fail_first -= 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "store unavailable", "reason": "unavailable"})),
        );
    }
    if seen.rated {
        return (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "ticket 1 (1001) was already rated",
                "reason": "already_rated",
                "message_vi": "Lượt phục vụ này đã được đánh giá. Xin cảm ơn ông/bà.",
            })),
        );
    }
    seen.rated = true;
    (
        StatusCode::OK,
        Json(json!({"ticket": 1, "label": "1001", "level": body["level"], "repeated": false})),
    )
}

async fn fake_kiosk(seen: Kiosk) -> Client {
    let app = Router::new()
        .route("/api/v1/counters/{n}/rate", post(rate))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Client::new(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .with_response_timeout(Duration::from_secs(5))
}

/// One clean press of an active-low key: released, then held for 30 ms.
fn one_press() -> Vec<Transaction> {
    let mut levels = vec![Level::High; 2];
    levels.extend([Level::Low; 7]);
    levels.into_iter().map(Transaction::get).collect()
}

fn request(key: RatingKey) -> RateRequest {
    RateRequest {
        level: key.id().into(),
        source: "counter_button".into(),
        ticket: None,
        key: Some(rating_key(3)),
    }
}

#[tokio::test]
async fn a_level_button_sends_the_rating_and_the_leds_show_the_verdict() {
    let seen = Kiosk::default();
    let client = fake_kiosk(seen.clone()).await;
    // Two presses of the "Rất hài lòng" button, a "Hài lòng" button never pressed.
    let mut presses = one_press();
    presses.extend([Level::High; 3].map(Transaction::get));
    presses.extend(one_press());
    let very = Mock::new(&presses);
    let satisfied = Mock::new(&vec![Transaction::get(Level::High); presses.len()]);
    let mut reader = KeypadReader::new(KeyRule {
        debounce: Duration::from_millis(20),
        min_interval: Duration::from_millis(50),
    });
    reader.add_key(
        KeypadAction::Rate(RatingKey::VerySatisfied),
        very,
        ActiveLevel::Low,
    );
    reader.add_key(
        KeypadAction::Rate(RatingKey::Satisfied),
        satisfied,
        ActiveLevel::Low,
    );
    // Accepted: confirmation lit (active high), refusal dark (active low).
    // Refused: confirmation dark, refusal lit.
    let mut confirm = ConfirmLed::new(
        Mock::new(&[Transaction::set(Level::High), Transaction::set(Level::Low)]),
        ActiveLevel::High,
    );
    let mut refused = ConfirmLed::new(
        Mock::new(&[Transaction::set(Level::High), Transaction::set(Level::Low)]),
        ActiveLevel::Low,
    );

    let start = Instant::now();
    let mut verdicts = Vec::new();
    for i in 0..presses.len() {
        let fired = reader
            .poll(start + Duration::from_millis(5) * i as u32)
            .unwrap();
        for action in fired {
            let KeypadAction::Rate(level) = action else {
                panic!("{action:?}")
            };
            let result = send_rating_reliably(
                &client,
                "quay-3",
                3,
                &request(level),
                Duration::from_secs(5),
            )
            .await;
            show_verdict(Some(&mut confirm), Some(&mut refused), result.is_ok()).unwrap();
            verdicts.push(result);
        }
    }
    assert_eq!(verdicts.len(), 2, "one rating per press");
    assert_eq!(verdicts[0].as_ref().unwrap().label, "1001");
    match &verdicts[1] {
        Err(RatingError::Refused { status, reason, .. }) => {
            assert_eq!((*status, reason.as_str()), (409, "already_rated"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(verdicts[1]
        .as_ref()
        .unwrap_err()
        .citizen_message()
        .contains("đã được đánh giá"));
    let requests = seen.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 2);
    for (counter, auth, body) in &requests {
        assert_eq!(*counter, 3);
        assert_eq!(auth, "Bearer quay-3");
        assert_eq!(body["level"], "very_satisfied");
        assert_eq!(body["source"], "counter_button");
    }
    assert_ne!(
        requests[0].2["key"], requests[1].2["key"],
        "a key per press"
    );
    for mut pin in reader.into_pins() {
        pin.done();
    }
    confirm.into_pin().done();
    refused.into_pin().done();
}

#[tokio::test]
async fn a_rating_the_kiosk_could_not_record_yet_is_resent_with_the_same_key() {
    let seen = Kiosk::default();
    seen.lock().unwrap().fail_first = 2;
    let client = fake_kiosk(seen.clone()).await;
    let request = request(RatingKey::Unsatisfied);
    let accepted = send_rating_reliably(&client, "quay-3", 3, &request, Duration::from_secs(10))
        .await
        .expect("accepted on the third try");
    assert_eq!(accepted.level, "unsatisfied");
    let requests = seen.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|(_, _, b)| b["key"] == request.key.clone().unwrap().as_str()));
}

#[tokio::test]
async fn an_unreachable_kiosk_is_given_up_after_the_window_and_not_confirmed() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(BaseUrl::parse(&format!("http://{addr}")).unwrap());
    let result = send_rating_reliably(
        &client,
        "quay-3",
        3,
        &request(RatingKey::Satisfied),
        Duration::from_millis(500),
    )
    .await;
    let err = result.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.citizen_message().contains("chưa ghi nhận"),
        "{}",
        err.citizen_message()
    );
}
