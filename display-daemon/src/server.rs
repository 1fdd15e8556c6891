//! The local pages: the hall board and the counter display, served to the
//! browser on the same Pi (kiosk mode), and the push stream that feeds them.
//!
//! Routes:
//!
//! | path | what |
//! |---|---|
//! | `/` | the page of the configured mode (hall board, or the counter page for a counter display) |
//! | `/hall`, `/counter` | each page explicitly (`/counter?n=3` for another counter) |
//! | `/board.css`, `/board.js` | their style and script (embedded in the binary) |
//! | `/state` | the current [`BoardView`](crate::view::BoardView) JSON |
//! | `/stream` | server-sent events: `event: state` with the view JSON, at once and after every change |
//! | `/healthz` | `ok` |
//! | `/rate`, `/rate/levels`, `/rate/submit` | the citizen's rating page of a counter display (see [`crate::rating`]; merged in by the daemon when it knows its counter) |
//!
//! It owns only serving: the view is published through [`crate::shared`]. The
//! socket side (header and idle timeouts, connection limits) is
//! `lan_server`'s, shared with the kiosk; one client address may hold
//! [`STREAMS_PER_ADDRESS`] `/stream` connections. Pages
//! keep up by push, not polling; when the daemon restarts, the browser's
//! `EventSource` reconnects by itself and the first message it gets is the
//! whole state again.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseMessage, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::shared::Shared;

/// The hall board page.
pub const HALL_HTML: &str = include_str!("../assets/hall.html");
/// The counter display page.
pub const COUNTER_HTML: &str = include_str!("../assets/counter.html");
/// The pages' style.
pub const BOARD_CSS: &str = include_str!("../assets/board.css");
/// The pages' script.
pub const BOARD_JS: &str = include_str!("../assets/board.js");

/// `/stream` connections one client address may hold (the board's browser
/// needs one; a few more for a technician's tabs).
pub const STREAMS_PER_ADDRESS: usize = 4;

/// Serves `router` on `listener` with the LAN limits until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    lan_server::Server::new(router)
        .serve(listener, shutdown)
        .await
}

/// The router for `shared`; `/stream` connections end when `stop` turns true.
pub fn router(shared: Shared, stop: watch::Receiver<bool>) -> Router {
    let home = if shared.options().mode == "counter" {
        COUNTER_HTML
    } else {
        HALL_HTML
    };
    let state_shared = shared.clone();
    let slots = lan_server::AddressSlots::new(STREAMS_PER_ADDRESS);
    Router::new()
        .route("/", get(move || async move { page(home) }))
        .route("/hall", get(|| async { page(HALL_HTML) }))
        .route("/counter", get(|| async { page(COUNTER_HTML) }))
        .route(
            "/board.css",
            get(|| async { asset("text/css; charset=utf-8", BOARD_CSS) }),
        )
        .route(
            "/board.js",
            get(|| async { asset("text/javascript; charset=utf-8", BOARD_JS) }),
        )
        .route(
            "/state",
            get(move || {
                let json = state_shared.view().borrow().clone();
                async move { json_response(json) }
            }),
        )
        .route(
            "/stream",
            get(move |peer: Option<Extension<ConnectInfo<SocketAddr>>>| {
                let slot = peer.map(|Extension(ConnectInfo(peer))| slots.try_take(peer.ip()));
                let view = shared.view();
                let stop = stop.clone();
                async move {
                    match slot {
                        Some(None) => (
                            StatusCode::TOO_MANY_REQUESTS,
                            "too many open streams from this address; close another page first",
                        )
                            .into_response(),
                        Some(Some(slot)) => stream(view, stop, Some(slot)),
                        None => stream(view, stop, None),
                    }
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
}

fn page(html: &'static str) -> Response {
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn json_response(json: Arc<str>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json.to_string(),
    )
        .into_response()
}

fn stream(
    view: watch::Receiver<Arc<str>>,
    stop: watch::Receiver<bool>,
    slot: Option<lan_server::Slot>,
) -> Response {
    let messages = futures_util::stream::unfold(
        (view, stop, true, slot),
        |(mut view, mut stop, first, slot)| async move {
            if *stop.borrow() {
                return None;
            }
            if !first {
                tokio::select! {
                    changed = view.changed() => changed.ok()?,
                    _ = stop.wait_for(|s| *s) => return None,
                }
            }
            let json = view.borrow_and_update().clone();
            let message = SseMessage::default()
                .event("state")
                .retry(Duration::from_secs(2))
                .data(&*json);
            Some((Ok::<_, Infallible>(message), (view, stop, false, slot)))
        },
    );
    Sse::new(messages)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
