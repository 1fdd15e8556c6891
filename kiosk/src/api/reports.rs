//! `GET /api/v1/reports` (admin): the report of [`queue_store::report`] as JSON,
//! or as CSV with `format=csv`, for the technician pages and for
//! `kiosk report` while the daemon holds the store.
//!
//! Query: `from`, `to` (`YYYY-MM-DD`, both included), `by`
//! (`department`, `counter`, `staff`, `hour`; default department),
//! `daily` (`true` adds one row per service day), `format` (`json`, `csv`),
//! `ratings` (`true` with `format=csv`: the per-officer ratings layout of
//! `kiosk report --ratings`; it implies `by=staff`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::app::blocking;
use queue_store::report::format::{write_csv, write_ratings_csv};
use queue_store::report::{from_store, ReportError, ReportRequest};

/// The query string of the route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First service day.
    from: String,
    /// Last service day.
    to: String,
    /// Grouping.
    #[serde(default)]
    by: Option<String>,
    /// One row per day too.
    #[serde(default)]
    daily: bool,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
    /// The ratings layout (per officer).
    #[serde(default)]
    ratings: bool,
}

/// `GET /api/v1/reports`.
pub async fn reports(
    State(state): State<ApiState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; give from=YYYY-MM-DD&to=YYYY-MM-DD, optionally by=department|counter|staff|hour, daily=true, format=json|csv, ratings=true",
            e.body_text()
        ))
    })?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown format {other:?}; use json or csv"
            )))
        }
    };
    let by = if query.ratings {
        Some("staff")
    } else {
        query.by.as_deref()
    };
    let request = ReportRequest::parse(&query.from, &query.to, by, query.daily)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = state.app().store().clone();
    let config = state.app().config();
    let report = blocking(move || from_store(&store, &config, request))
        .await
        .map_err(|err| match err {
            ReportError::Store(store) => ApiError::from(store),
            other => ApiError::bad_request(other.to_string()),
        })?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    let mut body = Vec::new();
    let written = if query.ratings {
        write_ratings_csv(&report, true, &mut body)
    } else {
        write_csv(&report, true, &mut body)
    };
    written.map_err(|e| ApiError::unavailable(format!("cannot write the CSV: {e}")))?;
    let file = format!(
        "attachment; filename=\"report-{}-{}-{}.csv\"",
        if query.ratings {
            "ratings"
        } else {
            report.by.as_str()
        },
        report.from,
        report.to
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
