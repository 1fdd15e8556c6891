//! `GET /metrics`: the Prometheus text exposition of [`crate::metrics`],
//! public and read-only like `/healthz` (see that module for why).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::ApiState;
use crate::app::blocking;
use crate::metrics::{global, render, KioskNow};

/// The content type of the text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
pub async fn metrics(State(state): State<ApiState>) -> Response {
    let store = state.app().store().clone();
    let (snapshot, disk_bytes, waiting) = blocking(move || {
        let disk = store.disk_bytes();
        if let Err(err) = &disk {
            tracing::warn!(error = %err, "cannot measure the store's disk use for /metrics");
        }
        let waiting = store
            .open_tickets()
            .into_iter()
            .filter(|t| t.state == queue_protocol::TicketState::Waiting)
            .collect();
        (store.snapshot(), disk.ok(), waiting)
    })
    .await;
    let now = KioskNow {
        snapshot,
        printer: state.app().printer().health(),
        stream_clients: state.stream_clients(),
        disk_bytes,
        waiting,
        display_streams: state.display_streams(),
        now_ms: state.app().store().now().as_millisecond(),
    };
    let text = render(global(), &state.app().config(), &now);
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
