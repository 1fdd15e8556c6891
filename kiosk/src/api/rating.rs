//! `POST /api/v1/counters/{n}/rate`: a citizen's rating from a counter
//! device (the display daemon's rating buttons or its `/rate` touch page),
//! sent with the counter's keypad token. Only keypad tokens may call it:
//! staff and admins never create or change ratings (admins read them in
//! reports). The attach rule is the store's ([`Store::rate`]).
//!
//! Answers: 200 with a [`RateAccepted`] (`repeated: true` for a retry of a
//! rating already recorded under the same `key`); 409 (no ticket to rate,
//! already rated, another counter, too late, next called) or 422 (unknown
//! level or source) with `{"error": English, "reason": code, "message_vi":
//! what the device shows}`.
//!
//! [`Store::rate`]: queue_store::store::Store::rate

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use queue_protocol::{RateAccepted, RateRequest};
use queue_store::store::{RatingError, RatingRequest};
use serde_json::json;

use super::error::{ApiJson, ApiPath};
use super::staff::actor;
use super::{ApiError, ApiState};
use crate::app::blocking;
use crate::auth::Principal;

impl From<RatingError> for ApiError {
    fn from(err: RatingError) -> ApiError {
        let status = match &err {
            RatingError::Store(store) => {
                tracing::error!(error = %store, "store failed while recording a rating");
                StatusCode::SERVICE_UNAVAILABLE
            }
            RatingError::UnknownCounter { .. } => StatusCode::NOT_FOUND,
            RatingError::UnknownLevel { .. } | RatingError::BadSource { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::CONFLICT,
        };
        let mut api = ApiError::new(status, err.to_string());
        api.extra = Some(json!({
            "reason": err.reason(),
            "message_vi": err.citizen_message(),
        }));
        api
    }
}

/// `POST /api/v1/counters/{n}/rate`.
pub async fn rate(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    ApiJson(body): ApiJson<RateRequest>,
) -> Result<Json<RateAccepted>, ApiError> {
    if body.key.as_ref().is_some_and(|k| k.len() > 128) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the idempotency key is longer than 128 bytes; send a short unique key per press",
        ));
    }
    let request = RatingRequest {
        counter,
        level: body.level,
        source: body.source,
        ticket: body.ticket,
        key: body.key,
    };
    let actor = actor(&principal);
    let store = state.app().store().clone();
    let outcome = blocking(move || store.rate(&request, actor)).await?;
    if !outcome.repeated {
        crate::metrics::global().rated(&outcome.department, &outcome.level);
        tracing::info!(
            counter,
            ticket = %outcome.ticket,
            number = %outcome.label,
            level = %outcome.level,
            "service rated"
        );
    }
    Ok(Json(RateAccepted {
        ticket: outcome.ticket,
        label: outcome.label,
        level: outcome.level,
        repeated: outcome.repeated,
    }))
}
