//! The citizens' phone pages, served on a listener of their own
//! (`[kiosk.public] listen`, the guest Wi-Fi): the ticket page `/t/{key}`,
//! its ticket-scoped event stream and their two static files. Nothing else
//! answers there — no login, staff, admin, metrics or LAN event stream;
//! every other path gets the same Vietnamese 404 page.
//!
//! # Routes
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/t/{key}` | the ticket's page (number, department, people ahead, estimated wait, its state), or the 404 page for an unknown or expired key |
//! | GET | `/t/{key}/events` | server-sent events `event: ticket` carrying only this ticket's [`TicketPage`] and the texts to show; ends once the ticket is closed and can no longer be rated |
//! | POST | `/t/{key}/rate` | the citizen rates this ticket's service: `{"level": id, "key": idempotency key}` → 200 [`RateAccepted`], or 409/422 [`RateRefused`] (Vietnamese `message_vi`); only ever the ticket of `key` |
//! | GET | `/static/ticket.css`, `/static/ticket.js` | the page's style and script |
//!
//! # What it owns
//!
//! The public router, its limits and the stream fan-out. The keys, the
//! key index and the wait estimate are the store's
//! (`queue_store::store::citizen`, `queue_store::wait`).
//!
//! # Limits that hold in a public hall
//!
//! - lan-server's header and idle timeouts and connection limits
//!   ([`CitizenOptions::limits`]);
//! - requests per client address: a token bucket
//!   ([`CitizenOptions::requests_per_minute`], burst
//!   [`CitizenOptions::request_burst`]); over it → 429 with `Retry-After`;
//! - the rating's body: at most [`RATE_BODY_LIMIT`] bytes (413 past it);
//! - streams per address ([`CitizenOptions::streams_per_address`], 429) and
//!   in all ([`CitizenOptions::max_streams`], 503).
//!
//! Presses and staff calls never wait for phones: the streams do not each
//! follow the store. One task follows the store's events and, after each
//! event that can move a ticket, computes the pages of every watched ticket
//! in one pass under the store lock, then hands each ticket's page to its
//! streams through a `watch` channel (a slow phone only ever misses
//! intermediate states, never holds anything up).
//!
//! # Keys and timing
//!
//! A text that is not a well-formed key (22 base64url characters) gets the
//! 404 page at once. A well-formed key, known or not, takes the same path:
//! off the async threads, the store lock, one hash lookup with a random
//! seed. Nothing compares a guess with a key byte by byte, so the time an
//! answer takes says nothing about how close a guess was
//! (`tests/tests/citizen_hostile.rs` compares the medians).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use queue_protocol::{
    EventKind, RateAccepted, RateRefused, TicketId, TicketPage, TicketPageStatus, WaitEstimate,
};
use queue_store::store::citizen::TicketKey;
use queue_store::store::RatingError;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Notify};

use crate::app::{blocking, App};

/// Limits and tuning of the public listener.
#[derive(Debug, Clone, Copy)]
pub struct CitizenOptions {
    /// Connection limits and timeouts (lan-server's).
    pub limits: lan_server::Limits,
    /// Requests one address may make per minute, after its burst.
    pub requests_per_minute: u32,
    /// Requests one address may make at once before the rate applies.
    pub request_burst: u32,
    /// Ticket streams one address may hold open.
    pub streams_per_address: usize,
    /// Ticket streams open at once, from everyone.
    pub max_streams: usize,
    /// A comment is sent after this long without a change.
    pub keep_alive: Duration,
}

impl Default for CitizenOptions {
    /// A hall of a few hundred phones: 1,000 streams, 4 per phone, 120
    /// requests a minute per phone after a burst of 30; connections as
    /// lan-server's defaults but room for every stream.
    fn default() -> Self {
        CitizenOptions {
            limits: lan_server::Limits {
                max_connections: 1200,
                max_per_address: 16,
                ..lan_server::Limits::default()
            },
            requests_per_minute: 120,
            request_burst: 30,
            streams_per_address: 4,
            max_streams: 1000,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// The public site's state; cheap to clone.
#[derive(Clone)]
pub struct CitizenSite {
    /// Everything behind one pointer.
    shared: Arc<Shared>,
}

struct Shared {
    /// The running kiosk.
    app: App,
    /// Limits.
    options: CitizenOptions,
    /// Streams held per address.
    slots: Arc<lan_server::AddressSlots>,
    /// Streams open now.
    streams: AtomicUsize,
    /// Request buckets per address.
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// Watched tickets and their latest pages.
    watched: Mutex<HashMap<TicketId, Watched>>,
    /// Wakes the fan-out task (a new watched ticket).
    poke: Notify,
    /// Flipped to `true` to end every stream (shutdown).
    closing: watch::Sender<bool>,
}

/// A ticket some phone follows.
struct Watched {
    /// Its latest page.
    page: watch::Sender<TicketPage>,
    /// Streams following it.
    viewers: usize,
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Addresses remembered before idle ones are forgotten.
const BUCKETS_KEPT: usize = 4096;

impl CitizenSite {
    /// The site over a running kiosk; starts the task that follows the
    /// store (call it inside the runtime).
    pub fn new(app: App, options: CitizenOptions) -> CitizenSite {
        let (closing, _) = watch::channel(false);
        let site = CitizenSite {
            shared: Arc::new(Shared {
                app,
                options,
                slots: lan_server::AddressSlots::new(options.streams_per_address),
                streams: AtomicUsize::new(0),
                buckets: Mutex::new(HashMap::new()),
                watched: Mutex::new(HashMap::new()),
                poke: Notify::new(),
                closing,
            }),
        };
        tokio::spawn(fan_out(site.clone()));
        site
    }

    /// Ticket streams open now.
    pub fn streams(&self) -> usize {
        self.shared.streams.load(Ordering::Relaxed)
    }

    /// Ends every stream (shutdown; they never end by themselves while a
    /// ticket is open).
    pub fn close_streams(&self) {
        self.shared.closing.send_replace(true);
    }

    fn watched(&self) -> std::sync::MutexGuard<'_, HashMap<TicketId, Watched>> {
        self.shared
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follow ticket `id`, starting from `page`.
    fn watch(&self, id: TicketId, page: TicketPage) -> (watch::Receiver<TicketPage>, Viewer) {
        let rx = {
            let mut watched = self.watched();
            let entry = watched.entry(id).or_insert_with(|| Watched {
                page: watch::channel(page).0,
                viewers: 0,
            });
            entry.viewers += 1;
            entry.page.subscribe()
        };
        // The page was read before the ticket was watched: read it again.
        self.shared.poke.notify_one();
        (
            rx,
            Viewer {
                site: self.clone(),
                id,
            },
        )
    }

    /// Whether `addr` may make one more request now.
    fn admit(&self, addr: IpAddr) -> bool {
        let options = &self.shared.options;
        let burst = f64::from(options.request_burst.max(1));
        let rate = f64::from(options.requests_per_minute) / 60.0;
        let now = Instant::now();
        let mut buckets = self
            .shared
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= BUCKETS_KEPT && !buckets.contains_key(&addr) {
            // Forget addresses whose bucket is full again.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(addr).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One stream following a ticket; stops following it when dropped.
struct Viewer {
    site: CitizenSite,
    id: TicketId,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let mut watched = self.site.watched();
        if let Some(w) = watched.get_mut(&self.id) {
            w.viewers = w.viewers.saturating_sub(1);
            if w.viewers == 0 {
                watched.remove(&self.id);
            }
        }
    }
}

/// Whether an event can change some ticket's page. A new normal ticket
/// queues behind everyone (so an ordinary press costs the phones nothing);
/// a priority one may pass normal tickets.
fn moves_tickets(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::TicketIssued { priority: None, .. }
            | EventKind::Printed { .. }
            | EventKind::PrintFailed { .. }
            | EventKind::Fault { .. }
            | EventKind::FaultCleared { .. }
            | EventKind::AdminAction { .. }
            | EventKind::Pruned { .. }
            | EventKind::ClockWentBackwards { .. }
    )
}

/// The one task that follows the store for every phone.
async fn fan_out(site: CitizenSite) {
    let store = site.shared.app.store().clone();
    let mut events = store.subscribe();
    let mut closing = site.shared.closing.subscribe();
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) if !moves_tickets(&event.kind) => continue,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = site.shared.poke.notified() => {}
            _ = closing.wait_for(|c| *c) => return,
        }
        // Everything already queued is covered by one recomputation.
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv() {}
        let ids: Vec<TicketId> = site.watched().keys().copied().collect();
        if ids.is_empty() {
            continue;
        }
        let reader = store.clone();
        let wanted = ids.clone();
        let pages = match blocking(move || reader.pages(&wanted)).await {
            Ok(pages) => pages,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the watched tickets' pages");
                continue;
            }
        };
        let watched = site.watched();
        for (id, page) in ids.into_iter().zip(pages) {
            if let (Some(w), Some(page)) = (watched.get(&id), page) {
                w.page.send_if_modified(|old| {
                    let changed = *old != page;
                    *old = page;
                    changed
                });
            }
        }
    }
}

/// The public router (state applied), served by [`serve`].
pub fn router(site: CitizenSite) -> Router {
    Router::new()
        .route("/t/{key}", get(ticket_page))
        .route("/t/{key}/events", get(ticket_events))
        .route(
            "/t/{key}/rate",
            post(rate_ticket).layer(DefaultBodyLimit::max(RATE_BODY_LIMIT)),
        )
        .route("/static/{file}", get(asset))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            site.clone(),
            rate_limit,
        ))
        .with_state(site)
}

/// Serves the public site on `listener` until `shutdown`; its streams are
/// ended first so the graceful shutdown does not wait for them.
pub async fn serve(
    listener: TcpListener,
    site: CitizenSite,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = site.shared.options.limits;
    lan_server::Server::new(router(site.clone()))
        .limits(limits)
        .serve(listener, async move {
            shutdown.await;
            site.close_streams();
        })
        .await
}

async fn rate_limit(
    State(site): State<CitizenSite>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(Extension(ConnectInfo(peer))) = peer {
        if !site.admit(peer.ip()) {
            return refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "Quá nhiều yêu cầu từ máy này. Xin vui lòng chờ một phút rồi mở lại trang.",
            );
        }
    }
    next.run(request).await
}

/// A short Vietnamese refusal with `Retry-After`.
fn refusal(status: StatusCode, message: &str) -> Response {
    let mut response = html(
        status,
        NOT_FOUND_PAGE
            .replace("Không tìm thấy số thứ tự", "Xin thử lại sau")
            .replace(
                "Mã trên phiếu không đúng hoặc đã hết hạn. Mỗi phiếu chỉ theo dõi được trong ngày nó được in.",
                message,
            ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

const TICKET_PAGE: &str = include_str!("../../web/ticket/ticket.html");
const NOT_FOUND_PAGE: &str = include_str!("../../web/ticket/not-found.html");
const TICKET_CSS: &str = include_str!("../../web/ticket/ticket.css");
const TICKET_JS: &str = include_str!("../../web/ticket/ticket.js");

/// Only the page's own files and stream; nothing from anywhere else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// An HTML answer with the public pages' headers (never cached: the URL
/// holds the key).
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Every path but the citizen routes, and unknown or expired keys.
async fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned())
}

/// `GET /static/{file}`.
async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "ticket.css" => ("text/css; charset=utf-8", TICKET_CSS),
        "ticket.js" => ("text/javascript; charset=utf-8", TICKET_JS),
        _ => return not_found().await,
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The ticket of `key` and its page, or `None` for anything that is not a
/// live key (see the module docs on timing).
async fn lookup(site: &CitizenSite, key: &str) -> Option<(TicketId, TicketPage)> {
    let key = TicketKey::parse(key)?;
    let store = site.shared.app.store().clone();
    match blocking(move || store.page_by_key(&key)).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read a ticket for its phone page");
            None
        }
    }
}

/// `GET /t/{key}`.
async fn ticket_page(State(site): State<CitizenSite>, Path(key): Path<String>) -> Response {
    let Some((_, page)) = lookup(&site, &key).await else {
        return not_found().await;
    };
    let text = PageText::of(&page);
    let center = site.shared.app.config().center.name.clone();
    let levels: String = site
        .shared
        .app
        .config()
        .ratings
        .levels
        .iter()
        .map(|l| {
            format!(
                "<button type=\"button\" data-level=\"{}\" data-color=\"{}\">{}</button>",
                escape(&l.id),
                escape(&l.color),
                escape(&l.label)
            )
        })
        .collect();
    let body = TICKET_PAGE
        .replace("{{key}}", &escape(&key))
        .replace("{{rating_levels}}", &levels)
        .replace("{{rateable}}", if page.rateable { "true" } else { "false" })
        .replace(
            "{{rated}}",
            if page.rated.is_some() {
                "true"
            } else {
                "false"
            },
        )
        .replace("{{center}}", &escape(&center))
        .replace("{{label}}", &escape(&page.label))
        .replace("{{department}}", &escape(&page.department))
        .replace("{{status}}", status_name(page.status))
        .replace("{{status_text}}", &escape(&text.status))
        .replace("{{wait_text}}", &escape(&text.wait))
        .replace("{{note_text}}", &escape(&text.note));
    html(StatusCode::OK, body)
}

/// The JSON of one `ticket` event: the page, the texts to show, and whether
/// it is the last.
#[derive(Serialize)]
struct PageEvent<'a> {
    #[serde(flatten)]
    page: &'a TicketPage,
    text: PageText,
    #[serde(rename = "final")]
    last: bool,
}

fn write_page(out: &mut Vec<u8>, page: &TicketPage) {
    let event = PageEvent {
        page,
        text: PageText::of(page),
        last: page_is_last(page),
    };
    out.extend_from_slice(b"event: ticket\ndata: ");
    if serde_json::to_writer(&mut *out, &event).is_err() {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b"\n\n");
}

/// Counts an open stream; uncounts it when dropped.
struct StreamCount(Arc<Shared>);

impl Drop for StreamCount {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One phone's stream.
struct Feed {
    page: watch::Receiver<TicketPage>,
    closing: watch::Receiver<bool>,
    keep_alive: Duration,
    /// The next chunk to send (the first page).
    pending: Option<Vec<u8>>,
    done: bool,
    _viewer: Viewer,
    _count: StreamCount,
    _slot: Option<lan_server::Slot>,
}

impl Feed {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.pending.take() {
            return Some(Bytes::from(first));
        }
        if self.done || *self.closing.borrow() {
            return None;
        }
        tokio::select! {
            changed = self.page.changed() => {
                changed.ok()?;
                let page = self.page.borrow_and_update().clone();
                self.done = page_is_last(&page);
                let mut out = Vec::new();
                write_page(&mut out, &page);
                Some(Bytes::from(out))
            }
            () = tokio::time::sleep(self.keep_alive) => Some(Bytes::from_static(b": keep-alive\n\n")),
            _ = self.closing.wait_for(|c| *c) => None,
        }
    }
}

/// `GET /t/{key}/events`.
async fn ticket_events(
    State(site): State<CitizenSite>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(key): Path<String>,
) -> Response {
    let Some((id, page)) = lookup(&site, &key).await else {
        return not_found().await;
    };
    let slot = match peer {
        Some(Extension(ConnectInfo(peer))) => match site.shared.slots.try_take(peer.ip()) {
            Some(slot) => Some(slot),
            None => {
                return refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Máy này đang theo dõi quá nhiều phiếu. Xin đóng bớt các trang khác.",
                )
            }
        },
        None => None,
    };
    let shared = &site.shared;
    if shared.streams.fetch_add(1, Ordering::Relaxed) >= shared.options.max_streams {
        shared.streams.fetch_sub(1, Ordering::Relaxed);
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "Hệ thống đang bận. Trang sẽ tự cập nhật khi bạn mở lại sau ít phút.",
        );
    }
    let count = StreamCount(Arc::clone(shared));
    let mut first = b"retry: 5000\n\n".to_vec();
    write_page(&mut first, &page);
    let done = page_is_last(&page);
    let (rx, viewer) = site.watch(id, page);
    let feed = Feed {
        page: rx,
        closing: shared.closing.subscribe(),
        keep_alive: shared.options.keep_alive,
        pending: Some(first),
        done,
        _viewer: viewer,
        _count: count,
        _slot: slot,
    };
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        let chunk = feed.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), feed))
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The stream's last page: the ticket is closed and can no longer be
/// rated (a finished ticket's stream stays open while the citizen may
/// still rate it, so a rating from the counter's device shows too).
fn page_is_last(page: &TicketPage) -> bool {
    page.status.is_final() && !page.rateable
}

/// Largest body of `POST /t/{key}/rate`: a level id and a short key.
pub const RATE_BODY_LIMIT: usize = 1024;

/// Body of `POST /t/{key}/rate`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneRating {
    /// The level id tapped.
    level: String,
    /// The page's idempotency key for this tap.
    #[serde(default)]
    key: Option<String>,
}

/// A refused rating, in the shape the counter route uses.
fn rate_refused(status: StatusCode, reason: &str, message_vi: &str, error: String) -> Response {
    let mut response = (
        status,
        axum::Json(RateRefused {
            reason: reason.to_owned(),
            message_vi: message_vi.to_owned(),
            error,
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /t/{key}/rate`: the citizen rates the service of this key's ticket
/// (and no other) through the store's attach rule.
async fn rate_ticket(
    State(site): State<CitizenSite>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let Some(ticket_key) = TicketKey::parse(&key) else {
        return not_found().await;
    };
    let retry = "Chưa ghi nhận được đánh giá. Xin vui lòng thử lại hoặc báo cán bộ.";
    let rating: PhoneRating = match serde_json::from_slice(&body) {
        Ok(rating) => rating,
        Err(err) => {
            return rate_refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                retry,
                format!("the body must be {{\"level\": id, \"key\": text}}: {err}"),
            )
        }
    };
    if rating.key.as_ref().is_some_and(|k| k.len() > 128) {
        return rate_refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            retry,
            "the idempotency key is longer than 128 bytes; send a short unique key per tap".into(),
        );
    }
    let store = site.shared.app.store().clone();
    let outcome =
        blocking(move || store.rate_by_key(&ticket_key, &rating.level, rating.key.as_deref()))
            .await;
    match outcome {
        Ok(None) => not_found().await,
        Ok(Some(outcome)) => {
            if !outcome.repeated {
                crate::metrics::global().rated(&outcome.department, &outcome.level);
                tracing::info!(
                    ticket = %outcome.ticket,
                    number = %outcome.label,
                    level = %outcome.level,
                    "service rated from the phone page"
                );
            }
            let mut response = axum::Json(RateAccepted {
                ticket: outcome.ticket,
                label: outcome.label,
                level: outcome.level,
                repeated: outcome.repeated,
            })
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            let status = match &err {
                RatingError::Store(store) => {
                    tracing::error!(error = %store, "store failed while recording a phone rating");
                    StatusCode::SERVICE_UNAVAILABLE
                }
                RatingError::UnknownLevel { .. } | RatingError::BadSource { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::CONFLICT,
            };
            rate_refused(status, err.reason(), err.citizen_message(), err.to_string())
        }
    }
}

fn status_name(status: TicketPageStatus) -> &'static str {
    match status {
        TicketPageStatus::Waiting => "waiting",
        TicketPageStatus::Called => "called",
        TicketPageStatus::Serving => "serving",
        TicketPageStatus::Parked => "parked",
        TicketPageStatus::Done => "done",
        TicketPageStatus::NoShow => "no_show",
        TicketPageStatus::Cancelled => "cancelled",
        TicketPageStatus::DayEnded => "day_ended",
    }
}

/// What the page says, in Vietnamese: one place for the server-drawn page
/// and the live updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageText {
    /// The main line ("Còn 3 người trước bạn", "Mời số 1005 đến quầy 3").
    pub status: String,
    /// The estimated wait, when waiting.
    pub wait: String,
    /// A note (a transfer).
    pub note: String,
}

impl PageText {
    /// The texts of `page`.
    pub fn of(page: &TicketPage) -> PageText {
        let counter = page.counter.map_or_else(String::new, |c| c.to_string());
        let status = match page.status {
            TicketPageStatus::Waiting => match page.ahead.unwrap_or(0) {
                0 => "Bạn là người tiếp theo".to_owned(),
                n => format!("Còn {n} người trước bạn"),
            },
            TicketPageStatus::Called => format!("Mời số {} đến quầy {counter}", page.label),
            TicketPageStatus::Serving => format!("Bạn đang được phục vụ tại quầy {counter}"),
            TicketPageStatus::Parked => format!(
                "Quầy {counter} đang giữ số của bạn. Khi bạn sẵn sàng, xin quay lại quầy {counter}."
            ),
            TicketPageStatus::Done => "Đã phục vụ xong. Cảm ơn bạn!".to_owned(),
            TicketPageStatus::NoShow => {
                "Số của bạn đã được gọi nhưng bạn không có mặt. Xin lấy số mới hoặc hỏi cán bộ hướng dẫn."
                    .to_owned()
            }
            TicketPageStatus::Cancelled => {
                "Số của bạn đã bị hủy. Xin hỏi cán bộ hướng dẫn.".to_owned()
            }
            TicketPageStatus::DayEnded => {
                "Ngày làm việc đã kết thúc. Số này không còn hiệu lực.".to_owned()
            }
        };
        let wait = match (page.status, page.wait) {
            // "Bạn là người tiếp theo" says it all.
            (TicketPageStatus::Waiting, _) if page.ahead == Some(0) => String::new(),
            (TicketPageStatus::Waiting, Some(WaitEstimate::About { secs })) if secs < 60 => {
                "Sắp đến lượt bạn".to_owned()
            }
            (TicketPageStatus::Waiting, Some(WaitEstimate::About { secs })) => {
                format!("Thời gian chờ dự kiến: khoảng {} phút", secs.div_ceil(60))
            }
            (TicketPageStatus::Waiting, Some(WaitEstimate::NotEnoughData)) => {
                "Thời gian chờ dự kiến: chưa đủ dữ liệu".to_owned()
            }
            (TicketPageStatus::Waiting, Some(WaitEstimate::NoCounterOpen)) => {
                "Hiện chưa có quầy nào mở cho lĩnh vực này".to_owned()
            }
            _ => String::new(),
        };
        let note = if page.transferred && !page.status.is_final() {
            format!("Số của bạn đã được chuyển sang: {}", page.department)
        } else {
            String::new()
        };
        PageText { status, wait, note }
    }
}

/// Text made safe for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(status: TicketPageStatus) -> TicketPage {
        TicketPage {
            label: "1005".into(),
            department: "Hộ tịch".into(),
            status,
            counter: Some(3),
            ahead: Some(4),
            wait: Some(WaitEstimate::About { secs: 610 }),
            transferred: false,
            recalls: 0,
            rateable: false,
            rated: None,
        }
    }

    #[test]
    fn texts_say_where_the_ticket_is() {
        let waiting = PageText::of(&page(TicketPageStatus::Waiting));
        assert_eq!(waiting.status, "Còn 4 người trước bạn");
        assert_eq!(waiting.wait, "Thời gian chờ dự kiến: khoảng 11 phút");
        let mut early = page(TicketPageStatus::Waiting);
        early.wait = Some(WaitEstimate::NotEnoughData);
        assert_eq!(
            PageText::of(&early).wait,
            "Thời gian chờ dự kiến: chưa đủ dữ liệu"
        );
        assert_eq!(
            PageText::of(&page(TicketPageStatus::Called)).status,
            "Mời số 1005 đến quầy 3"
        );
        assert!(PageText::of(&page(TicketPageStatus::DayEnded))
            .status
            .contains("Ngày làm việc đã kết thúc"));
    }

    #[test]
    fn pages_link_only_the_static_files_served() {
        for html in [TICKET_PAGE, NOT_FOUND_PAGE] {
            for part in html.split("/static/").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '"').collect();
                assert!(
                    ["ticket.css", "ticket.js"].contains(&name.as_str()),
                    "{name}"
                );
            }
            assert!(!html.contains("http://") && !html.contains("https://"));
            assert!(!html.contains("<script>"), "inline scripts break the CSP");
        }
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
