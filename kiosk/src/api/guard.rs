//! The one guard in front of every route: finds who is calling (bearer
//! token, session cookie, or `?token=` on the stream) and checks the row's
//! [`Access`](super::Access) rule and CSRF before the handler runs.

use std::time::Instant;

use axum::extract::{RawPathParams, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Access, ApiError, ApiState, Route, CSRF_HEADER, SESSION_COOKIE};
use crate::auth::{secrets_equal, Principal};

/// The session a request came with (for logout).
#[derive(Debug, Clone)]
pub struct SessionId(pub String);

/// The credential a request came with, kept by an event stream to end
/// when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A device or admin token (the secret itself).
    Token(String),
    /// A browser session id.
    Session(String),
}

impl Holder {
    /// Whether the credential still lets its holder in: the token is not
    /// revoked; the session is not over (logout, expiry), its account not
    /// disabled and its password not changed since it started.
    pub fn still_valid(&self, state: &ApiState) -> bool {
        match self {
            Holder::Token(token) => state.accounts().authenticate_token(token).is_some(),
            Holder::Session(id) => state
                .sessions()
                .get(id, Instant::now())
                .and_then(|s| {
                    state
                        .accounts()
                        .session_principal(&s.principal.name, s.started_ms)
                })
                .is_some(),
        }
    }
}

/// The value of `name` in the request's cookies (parsed by the `cookie`
/// crate: quoting, spaces and malformed pairs as browsers send them).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(::cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value_trimmed().to_string())
}

fn bearer(headers: &HeaderMap) -> Option<Result<String, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or("");
    Some(match text.strip_prefix("Bearer ") {
        Some(token) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer TOKEN`",
        )),
    })
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_string())
}

/// How the caller proved who it is.
enum Credential {
    /// A device or admin token: no CSRF needed.
    Token(Principal, String),
    /// A browser session: CSRF needed on changes.
    Session {
        principal: Principal,
        id: String,
        csrf: String,
    },
}

fn identify(state: &ApiState, request: &Request, access: Access) -> Result<Credential, ApiError> {
    let headers = request.headers();
    let bad_token = || {
        ApiError::unauthorized(
            "this token is not valid (revoked or mistyped); ask the technician for a new one (`kiosk token add`)",
        )
    };
    if let Some(token) = bearer(headers) {
        let token = token?;
        return state
            .accounts()
            .authenticate_token(&token)
            .map(|p| Credential::Token(p, token))
            .ok_or_else(bad_token);
    }
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        let session = state.sessions().get(&id, Instant::now());
        if let Some(session) = session {
            // Role and counters as the account is now; a disabled account's
            // sessions stop at once.
            return match state
                .accounts()
                .session_principal(&session.principal.name, session.started_ms)
            {
                Some(principal) => Ok(Credential::Session {
                    principal,
                    id,
                    csrf: session.csrf,
                }),
                None => {
                    state.sessions().end(&id);
                    Err(ApiError::unauthorized(
                        "this session is over (the account was disabled or removed, or its password changed); log in again",
                    ))
                }
            };
        }
        // An expired cookie falls through: a stream token may still be given.
    }
    if matches!(access, Access::Stream(_)) {
        if let Some(token) = query_token(request.uri().query()) {
            return state
                .accounts()
                .authenticate_token(&token)
                .map(|p| Credential::Token(p, token))
                .ok_or_else(bad_token);
        }
    }
    Err(ApiError::unauthorized(
        "log in first (POST /api/v1/login) or send `Authorization: Bearer TOKEN`",
    ))
}

/// Checks `route`'s access rule for this request, then runs the handler
/// with the [`Principal`] (and [`SessionId`]) in the request's extensions.
pub async fn guard(
    State((state, route)): State<(ApiState, &'static Route)>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut request: Request,
    next: Next,
) -> Response {
    match check(&state, route, params.ok().as_ref(), &request) {
        Ok(None) => next.run(request).await,
        Ok(Some((principal, holder))) => {
            request.extensions_mut().insert(principal);
            if let Holder::Session(id) = &holder {
                request.extensions_mut().insert(SessionId(id.clone()));
            }
            request.extensions_mut().insert(holder);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

type Allowed = Option<(Principal, Holder)>;

/// The kiosk's own touch screen: a caller on loopback that sends no
/// credentials at all, while the config allows it. A caller that does send
/// a token or a cookie is checked like anyone else.
fn own_screen(state: &ApiState, request: &Request) -> bool {
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) || cookie(headers, SESSION_COOKIE).is_some() {
        return false;
    }
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let loopback = peer.is_some_and(|ip| match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    });
    loopback && state.app().config().kiosk.touch.loopback
}

fn check(
    state: &ApiState,
    route: &Route,
    params: Option<&RawPathParams>,
    request: &Request,
) -> Result<Allowed, ApiError> {
    if route.access == Access::Public {
        return Ok(None);
    }
    if matches!(route.access, Access::Touch(_)) && own_screen(state, request) {
        return Ok(None);
    }
    let credential = identify(state, request, route.access)?;
    let (principal, holder) = match credential {
        Credential::Token(principal, token) => (principal, Holder::Token(token)),
        Credential::Session {
            principal,
            id,
            csrf,
        } => {
            if route.method.is_mutating() {
                let sent = request
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !secrets_equal(sent, &csrf) {
                    return Err(ApiError::forbidden(
                        "missing or wrong X-CSRF-Token header; reload the page and try again",
                    ));
                }
            }
            (principal, Holder::Session(id))
        }
    };
    if !route.access.roles().contains(&principal.role) {
        return Err(ApiError::forbidden(format!(
            "a {} account may not do this",
            principal.role.as_str()
        )));
    }
    if let Access::Counter(_) = route.access {
        let raw = params
            .and_then(|p| {
                p.iter()
                    .find(|(k, _)| *k == "n")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default();
        let counter: u16 = raw
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{raw:?} is not a counter number")))?;
        if !principal.may_act_at(counter) {
            return Err(
                ApiError::forbidden(format!("bạn không được giao quầy {counter}")).with_detail(
                    format!(
                        "{} is not assigned to counter {counter}; an admin can assign it",
                        principal.name
                    ),
                ),
            );
        }
    }
    Ok(Some((principal, holder)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&["theme=dark; kiosk_session=abc123; lang=vi"]);
        assert_eq!(cookie(&h, "kiosk_session").as_deref(), Some("abc123"));
        let h = headers(&["theme=dark", "kiosk_session=\"abc\""]);
        assert_eq!(cookie(&h, "kiosk_session").as_deref(), Some("abc"));
        let h = headers(&["kiosk_sessionx=1; =2; junk; kiosk_session"]);
        assert_eq!(cookie(&h, "kiosk_session"), None);
    }
}
