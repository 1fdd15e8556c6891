//! The staff console and the technician (admin) pages, served by the kiosk
//! from files embedded in its binary.
//!
//! This module owns the pages' routes and their assets (`kiosk/web/`: plain
//! HTML, CSS and hand-written JavaScript, no framework, no build step, no
//! CDN — the center has no internet). It holds no state and checks no
//! credentials: the pages are not secret, every piece of data they show
//! comes from the LAN API ([`crate::api`]), which enforces who may see and
//! do what. A staff member who opens `/admin` gets the page, every admin
//! call answers 403, and the page says "Bạn không có quyền truy cập trang
//! này" without showing anything.
//!
//! # Routes
//!
//! | path | what |
//! |---|---|
//! | `/` | redirects to `/console` |
//! | `/login` | the login form; sends admins to `/admin` and staff to `/console` (or to `?next=`) |
//! | `/console` | the staff console (`?counter=N` picks a counter) |
//! | `/admin` | the technician pages: live view, accounts, device tokens, printer and reprint, configuration, reports |
//! | `/touch` | the touch screen ticket page (department → service → priority → ticket); its data and presses go through `/api/v1/touch/…`, open to the kiosk's own loopback or a `touch` token (`?token=` on the page) |
//! | `/assets/{file}` | the pages' CSS and JavaScript |
//! | `/favicon.ico` | 204 (there is no icon; answered so browsers do not log a 404) |
//!
//! # How the pages talk to the kiosk
//!
//! - `POST /api/v1/login` sets the `kiosk_session` cookie (HttpOnly) and
//!   returns the CSRF token, which the pages keep in the tab's
//!   `sessionStorage` and send as `X-CSRF-Token` on every `POST`/`DELETE`.
//!   A 401 anywhere sends the tab back to `/login`.
//! - Live state comes from `GET /api/v1/events` (`EventSource`, the session
//!   cookie): the snapshot first, then events applied one by one (a call
//!   sets a counter's ticket, finish/no-show/transfer clear it). Waiting
//!   counts are re-read from `GET /api/v1/queue` after each event that can
//!   change them, keeping the answer with the highest `last_seq`. When the
//!   stream drops, the page says "Mất kết nối — đang kết nối lại…" and the
//!   browser reconnects with `Last-Event-ID`, so no event is missed.
//! - Names of departments and counters come from `GET /api/v1/summary`.
//! - The console reads the whole current ticket (priority, issue time) from
//!   `GET /api/v1/counters/{n}/current`.
//! - Reports read `GET /api/v1/reports?from=…&to=…&by=hour` and draw inline
//!   SVG bars; while that endpoint does not exist (404) the tab says "Chưa
//!   có báo cáo". Rows are read leniently: an array under `rows`, `groups`
//!   or `report` (or the body itself), each with a label (`hour`, `key`,
//!   `group`, `label`), a count (`issued`, `tickets`) and a waiting time in
//!   seconds (`waiting.p50_secs`, `waiting.mean_secs`, `waiting_p50_secs`).
//!
//! Every page answer carries a Content-Security-Policy allowing only the
//! kiosk itself (no inline scripts), and `Cache-Control: no-cache` so an
//! upgraded kiosk never serves a stale script next to a newer API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
struct Asset {
    /// Its name under `/assets/`.
    name: &'static str,
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its bytes.
    body: &'static str,
}

/// The pages' CSS and JavaScript, served under `/assets/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "common.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/common.css"),
    },
    Asset {
        name: "common.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/common.js"),
    },
    Asset {
        name: "login.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/login.js"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/console.js"),
    },
    Asset {
        name: "admin.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/admin.js"),
    },
    Asset {
        name: "touch.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/touch.css"),
    },
    Asset {
        name: "touch.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/touch.js"),
    },
];

/// The login page.
const LOGIN_PAGE: &str = include_str!("../web/login.html");
/// The staff console.
const CONSOLE_PAGE: &str = include_str!("../web/console.html");
/// The technician pages.
const ADMIN_PAGE: &str = include_str!("../web/admin.html");
/// The touch screen ticket page.
const TOUCH_PAGE: &str = include_str!("../web/touch.html");

/// Only the kiosk's own scripts, styles and API; images may be inline
/// (`data:`) for nothing else is ever loaded.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The pages as a stateless router, to merge with the API's
/// (`crate::api::router(api).merge(crate::web::router())`). It has no
/// fallback, so the API's JSON 404 answers everything else.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(|| async { page(LOGIN_PAGE) }))
        .route("/console", get(|| async { page(CONSOLE_PAGE) }))
        .route("/admin", get(|| async { page(ADMIN_PAGE) }))
        .route("/touch", get(|| async { page(TOUCH_PAGE) }))
        .route("/assets/{file}", get(asset))
        // Browsers ask for it on every page; there is none.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// An HTML page with its security headers.
fn page(html: &'static str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /assets/{file}`.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": format!("no asset named {file:?}") }).to_string(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_links_only_assets_that_exist() {
        for html in [LOGIN_PAGE, CONSOLE_PAGE, ADMIN_PAGE, TOUCH_PAGE] {
            for part in html.split("/assets/").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| *c != '"' && *c != '\'')
                    .collect();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "a page links /assets/{name}, which is not embedded"
                );
            }
            assert!(!html.contains("<script>"), "inline scripts break the CSP");
            assert!(!html.contains("http://") && !html.contains("https://"));
        }
    }

    #[test]
    fn assets_load_nothing_from_outside() {
        for asset in ASSETS {
            // The SVG namespace is a name, not an address that is loaded.
            let body = asset.body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !body.contains("https://") && !body.contains("http://"),
                "{} refers to an outside address",
                asset.name
            );
        }
    }
}
