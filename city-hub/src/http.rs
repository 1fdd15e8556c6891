//! The hub's own small HTTP side, for operators and monitoring: `GET
//! /healthz`, `GET /api/v1/status` (every center's [`CenterStatus`] as
//! JSON: following, unreachable, refused token, PostgreSQL errors) and `GET
//! /metrics` (Prometheus text). Read-only and without personal data; bind it
//! to loopback or the management LAN (`[http] listen`). With `[http]
//! accounts` set, the same listener serves the city dashboard
//! ([`crate::dashboard`]) too: [`serve_city`]. Both serve through
//! [`lan_server::Server`], as the kiosk does: a request head must arrive
//! within 15 s, a silent connection is closed after 60 s, and connections
//! are bounded in all (512) and per address (64), so idle or half-sent
//! requests cannot hold the hub's sockets.
//!
//! [`CenterStatus`]: crate::follower::CenterStatus

use std::fmt::Write as _;
use std::future::Future;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

use crate::follower::HubStatus;
use display_daemon::link::now_ms;

/// The router over the hub's status.
pub fn router(status: HubStatus) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "ok": true })) }),
        )
        .route("/api/v1/status", get(status_json))
        .route("/metrics", get(metrics))
        .with_state(status)
}

async fn status_json(State(status): State<HubStatus>) -> impl IntoResponse {
    Json(serde_json::json!({ "centers": status.centers() }))
}

async fn metrics(State(status): State<HubStatus>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&status, now_ms()),
    )
}

/// The Prometheus text for `status` at local time `now_ms`.
pub fn render(status: &HubStatus, now_ms: i64) -> String {
    let centers = status.centers();
    let mut out = String::new();
    let mut family = |name: &str,
                      kind: &str,
                      help: &str,
                      value: &dyn Fn(&crate::CenterStatus) -> Option<f64>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for c in &centers {
            if let Some(v) = value(c) {
                let _ = writeln!(out, "{name}{{center=\"{}\"}} {v}", c.id);
            }
        }
    };
    family(
        "city_hub_center_up",
        "gauge",
        "1 while the hub follows the center's event stream",
        &|c| Some(f64::from(u8::from(c.state == "following"))),
    );
    family(
        "city_hub_center_token_refused",
        "gauge",
        "1 when the kiosk refuses the hub's reader token",
        &|c| Some(f64::from(u8::from(c.state == "refused"))),
    );
    family(
        "city_hub_center_stored_seq",
        "gauge",
        "Last event sequence stored in PostgreSQL",
        &|c| Some(c.stored_seq as f64),
    );
    family(
        "city_hub_center_lag_events",
        "gauge",
        "Events received from the kiosk and not yet stored",
        &|c| Some(c.received_seq.saturating_sub(c.stored_seq) as f64),
    );
    family(
        "city_hub_center_lag_seconds",
        "gauge",
        "For the last batch stored: kiosk time of its oldest event to stored in PostgreSQL",
        &|c| c.lag_ms.map(|ms| ms as f64 / 1000.0),
    );
    family(
        "city_hub_center_last_contact_age_seconds",
        "gauge",
        "Seconds since the kiosk last sent anything",
        &|c| {
            c.last_contact_ms
                .map(|at| (now_ms - at).max(0) as f64 / 1000.0)
        },
    );
    family(
        "city_hub_center_events_written_total",
        "counter",
        "Events this process wrote for the center",
        &|c| Some(c.written as f64),
    );
    family(
        "city_hub_db_errors_total",
        "counter",
        "PostgreSQL failures seen while writing the center's events",
        &|c| Some(c.db_errors as f64),
    );
    out
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    status: HubStatus,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    lan_server::Server::new(router(status))
        .serve(listener, shutdown)
        .await
}

/// Serves the status routes and the city `dashboard` on `listener` until
/// `shutdown` completes (the dashboard's live view is refreshed meanwhile).
pub async fn serve_city(
    listener: TcpListener,
    status: HubStatus,
    dashboard: crate::dashboard::Dashboard,
    refresher: impl Future<Output = ()> + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = tokio::spawn(refresher);
    let served = lan_server::Server::new(router(status).merge(dashboard.router()))
        .serve(listener, shutdown)
        .await;
    refresher.abort();
    served
}
