//! Routes without credentials (health, the public summary, login) and
//! logout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kiosk_config::DepartmentId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::guard::SessionId;
use super::{ApiError, ApiState, SESSION_COOKIE};
use crate::app::blocking;

/// `GET /healthz`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// `GET /api/v1/summary`: what a hall screen or a phone may see; labels and
/// counts only.
pub async fn summary(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let store = state.app().store().clone();
    let snapshot = blocking(move || store.snapshot()).await;
    let config = state.app().config();
    let departments: Vec<Value> = snapshot
        .departments
        .iter()
        .map(|d| {
            let name = config
                .department(&DepartmentId(d.department.clone()))
                .map_or_else(|| d.department.clone(), |c| c.name.clone());
            json!({
                "department": d.department,
                "name": name,
                "waiting": d.waiting,
                "priority_waiting": d.priority_waiting,
                "estimated_wait_secs": d.estimated_wait_secs,
            })
        })
        .collect();
    let counters: Vec<Value> = snapshot
        .counters
        .iter()
        .map(|c| {
            let name = config
                .counter(c.counter)
                .map_or_else(|| format!("Quầy {}", c.counter), |c| c.name.clone());
            json!({
                "counter": c.counter,
                "name": name,
                "current": c.current.as_ref().map(|t| json!({
                    "label": t.label,
                    "department": t.department,
                    "serving": t.serving,
                })),
            })
        })
        .collect();
    let last_calls: Vec<Value> = snapshot
        .last_calls
        .iter()
        .map(|c| {
            json!({
                "label": c.label,
                "counter": c.counter,
                "department": c.department,
                "at_ms": c.at_ms,
                "recall": c.recall,
            })
        })
        .collect();
    Ok(Json(json!({
        "center": config.center.name,
        "service_day": snapshot.service_day,
        "last_seq": snapshot.last_seq,
        "departments": departments,
        "counters": counters,
        "last_calls": last_calls,
    })))
}

/// Body of `POST /api/v1/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Account name.
    name: String,
    /// Password.
    password: String,
}

/// `POST /api/v1/login`: password → session cookie and CSRF token.
pub async fn login(
    State(state): State<ApiState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let addr = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(a))| a.ip(),
    );
    if body.name.len() > 256 || body.password.len() > 1024 {
        return Err(ApiError::bad_request("name or password too long"));
    }
    let throttle = |wait: std::time::Duration| {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("quá nhiều lần đăng nhập sai; hãy thử lại sau {secs} giây"),
        )
        .with_detail("too many failed logins for this account or address; wait and retry");
        err.retry_after = Some(secs.max(1));
        err
    };
    if let Some(wait) = state
        .shared
        .throttle
        .wait_needed(addr, &body.name, Instant::now())
    {
        return Err(throttle(wait));
    }
    let accounts = state.accounts().clone();
    let (name, password) = (body.name.clone(), body.password);
    let found = blocking(move || accounts.authenticate_password(&name, &password)).await;
    let Some(principal) = found else {
        state
            .shared
            .throttle
            .failed(addr, &body.name, Instant::now());
        tracing::warn!(name = %body.name, %addr, "failed login");
        return Err(ApiError::unauthorized("sai tên đăng nhập hoặc mật khẩu")
            .with_detail("wrong name or password, or the account is disabled"));
    };
    state.shared.throttle.succeeded(addr, &body.name);
    let (id, session) = state.sessions().start(principal.clone(), Instant::now());
    let max_age = state.sessions().lifetime().as_secs();
    let cookie =
        format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    tracing::info!(name = %principal.name, role = principal.role.as_str(), %addr, "login");
    let mut response = Json(json!({
        "csrf_token": session.csrf,
        "name": principal.name,
        "role": principal.role,
        "counters": principal.counters,
    }))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /api/v1/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<ApiState>,
    session: Option<Extension<SessionId>>,
) -> Response {
    if let Some(Extension(SessionId(id))) = session {
        state.sessions().end(&id);
    }
    let mut response = Json(json!({ "ok": true })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kiosk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}
