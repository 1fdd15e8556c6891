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
use crate::accounts::Accounts;
use crate::app::blocking;
use crate::auth::Refusal;

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
            let configured = config.department(&DepartmentId(d.department.clone()));
            let name = configured.map_or_else(|| d.department.clone(), |c| c.name.clone());
            let services: Vec<Value> = configured
                .map(|c| c.services.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|s| json!({ "id": s.id, "name": s.name }))
                .collect();
            json!({
                "department": d.department,
                "name": name,
                "services": services,
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
    let too_many = |wait: std::time::Duration, detail: &'static str| {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "quá nhiều lần đăng nhập; hãy thử lại sau {} giây",
                secs.max(1)
            ),
        )
        .with_detail(detail);
        err.retry_after = Some(secs.max(1));
        err
    };
    // A thread must be free before anything is counted: a refusal here
    // costs nothing and is not held against the account.
    let Some(permit) = state.shared.checks.try_permit() else {
        return Err(too_many(
            std::time::Duration::from_secs(1),
            "every password-check thread is busy (many logins at once); retry in a second",
        ));
    };
    // Counted before the check, so parallel guesses cannot all get past.
    if let Err(refusal) = state
        .shared
        .throttle
        .begin(addr, &body.name, Instant::now())
    {
        let detail = match refusal {
            Refusal::Throttled(_) => "too many failed logins from this address; wait and retry",
            Refusal::Ceiling(_) => {
                "too many logins from everyone together lately (a guessing attack?); wait and retry"
            }
        };
        return Err(too_many(refusal.wait(), detail));
    }
    let accounts = state.accounts().clone();
    let (name, password) = (body.name.clone(), body.password);
    let found = permit
        .run(move || accounts.authenticate_password(&name, &password))
        .await
        .flatten();
    let Some(principal) = found else {
        tracing::warn!(name = %loggable_name(state.accounts(), &body.name), %addr, "failed login");
        return Err(ApiError::unauthorized("sai tên đăng nhập hoặc mật khẩu")
            .with_detail("wrong name or password, or the account is disabled"));
    };
    state.shared.throttle.succeeded(addr, &body.name);
    let (id, session) = state.sessions().start(principal.clone(), Instant::now());
    let max_age = state.sessions().lifetime().as_secs();
    let cookie = session_cookie(id, max_age, state.is_tls());
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

/// The `Set-Cookie` value of the session cookie (`max_age` 0 clears it):
/// HttpOnly, SameSite=Strict, the whole site, and `Secure` over TLS.
fn session_cookie(id: String, max_age: u64, secure: bool) -> String {
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    cookie::Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(secure)
        .build()
        .to_string()
}

/// The attempted login name as it may be logged: only the name of an
/// existing account. Anything else may be a password typed in the wrong
/// field, or carry newlines that forge journal lines.
pub fn loggable_name<'a>(accounts: &Accounts, name: &'a str) -> &'a str {
    if accounts.has_user(name) {
        name
    } else {
        "(no such account)"
    }
}

/// `POST /api/v1/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<ApiState>,
    session: Option<Extension<SessionId>>,
) -> Response {
    if let Some(Extension(SessionId(id))) = session {
        state.sessions().end(&id);
        state.credentials_changed();
    }
    let mut response = Json(json!({ "ok": true })).into_response();
    let clear = session_cookie(String::new(), 0, state.is_tls());
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_says_how_it_may_travel() {
        let plain = session_cookie("abc".into(), 60, false);
        for attr in [
            "kiosk_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(plain.contains(attr), "{plain}");
        }
        assert!(!plain.contains("Secure"), "{plain}");
        assert!(session_cookie("abc".into(), 60, true).contains("; Secure"));
        assert!(session_cookie(String::new(), 0, true).contains("Max-Age=0"));
    }

    #[test]
    fn only_existing_account_names_are_logged() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        accounts
            .add_user("quantri", crate::auth::Role::Admin, "mật khẩu dài", &[])
            .unwrap();
        assert_eq!(loggable_name(&accounts, "quantri"), "quantri");
        // A forged journal line, and a password typed in the name field.
        for typed in ["quantri\nkiosk[1]: login name=quantri", "mật khẩu dài"] {
            assert_eq!(loggable_name(&accounts, typed), "(no such account)");
        }
    }
}
