//! The citizen's rating on a counter display: the touch page `/rate` (for
//! a small tablet or touch screen facing the citizen) and its two calls.
//!
//! | path | what |
//! |---|---|
//! | `GET /rate` | the page: one big button per level in the level's colour; "Cảm ơn ông/bà" after a rating, the kiosk's reason after a refusal, then back to the buttons |
//! | `GET /rate/levels` | `{counter, levels}`: the levels from the kiosk's snapshot (the usual three until one came) |
//! | `POST /rate/submit` | `{level, key}` → `{ok, message, label?}`: sent to the kiosk as `counter_touch` with this display's token, re-sent with the same key while the kiosk cannot be reached |
//!
//! The page makes one key per tap, so a tap that the page re-sends (its own
//! request cut) is still counted once by the kiosk. It owns only these
//! routes; how a rating is sent and retried is [`crate::keypad`]'s, the
//! attach rule the kiosk's. The page is served only when the display knows
//! its counter: `[keypad] counter`, or the one counter of a `counter` display.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use queue_protocol::{RateRequest, RatingLevelInfo};
use serde::Deserialize;
use serde_json::json;

use crate::http::Client;
use crate::keypad::{self, RatingError};
use crate::shared::Shared;

/// The touch page (its style and script are inline: it is one file).
pub const RATE_HTML: &str = include_str!("../assets/rate.html");

/// How long a tap on the page keeps being re-sent while the kiosk cannot
/// be reached (the citizen is waiting in front of it).
pub const PAGE_RETRY_WINDOW: Duration = Duration::from_secs(20);

/// Where ratings from this display go.
#[derive(Debug, Clone)]
pub struct RatingPoint {
    /// The kiosk.
    pub client: Client,
    /// This display's token (it needs the keypad role for `counter`).
    pub token: String,
    /// The counter rated.
    pub counter: u16,
    /// The daemon's state (the levels come from its snapshot).
    pub shared: Shared,
    /// How long a tap is re-sent.
    pub retry_window: Duration,
}

/// The levels a center uses when the kiosk did not say yet.
pub fn default_levels() -> Vec<RatingLevelInfo> {
    [
        ("very_satisfied", "Rất hài lòng", "#1b7f3b"),
        ("satisfied", "Hài lòng", "#1f5fa8"),
        ("unsatisfied", "Không hài lòng", "#b3261e"),
    ]
    .into_iter()
    .map(|(id, label, color)| RatingLevelInfo {
        id: id.into(),
        label: label.into(),
        color: color.into(),
    })
    .collect()
}

/// The routes of the page.
pub fn router(point: RatingPoint) -> Router {
    Router::new()
        .route("/rate", get(page))
        .route("/rate/levels", get(levels))
        .route("/rate/submit", post(submit))
        .with_state(point)
}

async fn page() -> Response {
    let mut response = Html(RATE_HTML).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}

async fn levels(State(point): State<RatingPoint>) -> Response {
    let mut levels = point.shared.state().rating_levels;
    if levels.is_empty() {
        levels = default_levels();
    }
    Json(json!({ "counter": point.counter, "levels": levels })).into_response()
}

/// Body of `POST /rate/submit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    /// The level id tapped.
    level: String,
    /// The page's key for this tap.
    #[serde(default)]
    key: Option<String>,
}

async fn submit(State(point): State<RatingPoint>, body: Option<Json<Submit>>) -> Response {
    let Some(Json(body)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "message": "Yêu cầu không hợp lệ."})),
        )
            .into_response();
    };
    let key = body
        .key
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .map(|k| format!("touch-{k}"))
        .unwrap_or_else(|| keypad::rating_key(point.counter));
    let request = RateRequest {
        level: body.level,
        source: "counter_touch".into(),
        ticket: None,
        key: Some(key),
    };
    let result = keypad::send_rating_reliably(
        &point.client,
        &point.token,
        point.counter,
        &request,
        point.retry_window,
    )
    .await;
    let ok = result.is_ok();
    point.shared.keypad_feedback(crate::state::KeypadFeedback {
        action: "rate".into(),
        ok,
        message: match &result {
            Ok(_) => keypad::KeypadAction::Rate(keypad::RatingKey::Satisfied)
                .done_text()
                .to_owned(),
            Err(e) => e.citizen_message(),
        },
        at_ms: crate::link::now_ms(),
    });
    match result {
        Ok(accepted) => Json(json!({
            "ok": true,
            "message": "Cảm ơn ông/bà!",
            "label": accepted.label,
        }))
        .into_response(),
        Err(err) => {
            tracing::info!(
                counter = point.counter,
                "rating from the touch page not recorded: {err}"
            );
            let reason = match &err {
                RatingError::Refused { reason, .. } => reason.clone(),
                RatingError::Http(_) => "unreachable".into(),
            };
            Json(json!({
                "ok": false,
                "reason": reason,
                "message": err.citizen_message(),
            }))
            .into_response()
        }
    }
}
