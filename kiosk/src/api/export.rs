//! `GET /api/v1/days/{day}/export` (reader, admin): one service day as the
//! store keeps it, for the city hub's backfill after an outage longer than
//! the event retention.
//!
//! The answer says which tier it comes from: `"source": "tickets"` with
//! every kept ticket of the day (live or packed), or `"source": "summaries"`
//! with the day's per-department [`DaySummary`]s once retention removed its
//! tickets, or `"source": "none"` when the kiosk keeps nothing of that day.
//! It does not stream events: the event stream is `GET /api/v1/events`.
//! `oldest_kept_seq` is the oldest event the kiosk's log still holds: the
//! hub resumes its stream there after an outage longer than the event
//! retention, and backfills the days before it from this export.
//!
//! [`DaySummary`]: queue_protocol::DaySummary

use axum::extract::State;
use axum::Json;
use jiff::civil::Date;
use serde_json::{json, Value};

use super::error::ApiPath;
use super::{ApiError, ApiState};
use crate::app::blocking;

/// `GET /api/v1/days/{day}/export`.
pub async fn day_export(
    State(state): State<ApiState>,
    ApiPath(day): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let date: Date = day.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{day:?} is not a service day; write it as YYYY-MM-DD"
        ))
    })?;
    let store = state.app().store().clone();
    let oldest_kept_seq = state.app().store().oldest_kept_seq();
    let (tickets, summaries) = blocking(move || -> Result<_, queue_store::store::StoreError> {
        let tickets = store.day_tickets(date)?;
        let summaries = if tickets.is_empty() {
            let wanted = date.to_string();
            store
                .summaries()?
                .into_iter()
                .filter(|s| s.service_day == wanted)
                .collect()
        } else {
            Vec::new()
        };
        Ok((tickets, summaries))
    })
    .await?;
    let source = if !tickets.is_empty() {
        "tickets"
    } else if !summaries.is_empty() {
        "summaries"
    } else {
        "none"
    };
    Ok(Json(json!({
        "service_day": date.to_string(),
        "source": source,
        "tickets": tickets,
        "summaries": summaries,
        "oldest_kept_seq": oldest_kept_seq,
    })))
}
