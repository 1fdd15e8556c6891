//! `GET /api/v1/events`: the live call stream as server-sent events.
//!
//! Each client's response body is a [`Feed`] that hyper polls only when the
//! client's socket can take more bytes. It never has its own task or its own
//! queue: events reach it through the store's bounded broadcast channel, so
//! a client that stops reading costs nothing but its share of that channel,
//! and neither the store nor other clients ever wait for it. When a client
//! falls so far behind that the channel dropped events for it
//! (`RecvError::Lagged`), its feed reads the missed events back from the
//! durable log, in batches, from the last sequence number it sent; if
//! retention removed them meanwhile, it sends a fresh snapshot.
//!
//! A stream lasts as long as the credential it was opened with: it ends
//! when its token is revoked, its session ends (logout, expiry, new
//! password) or its account is disabled — at once for changes made through
//! the API, within [`StreamSettings::recheck`] for changes made by `kiosk`
//! commands in another process. One client address may hold a few streams
//! at most (`ApiOptions::streams_per_address`); more are answered 429.
//!
//! Exactly once and in order: a feed remembers the last sequence number it
//! sent and only ever sends the one after it. The store takes a log read
//! and a subscription under one lock, so any event not in the log read
//! arrives on the receiver; duplicates (in both) are skipped by sequence
//! number, and a hole (the receiver skipped ahead) is filled from the log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use queue_protocol::{Event, EventKind, Snapshot};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};

use super::guard::Holder;
use super::{ApiError, ApiState};
use crate::app::blocking;
use queue_store::store::{EventsSince, Store};

/// Tuning of the event stream.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// A comment line is sent after this long without events, so proxies
    /// and clients know the connection is alive.
    pub keep_alive: Duration,
    /// The reconnection delay suggested to clients (`retry:`).
    pub retry: Duration,
    /// Events read from the log at a time when replaying.
    pub replay_batch: usize,
    /// How often an open stream checks that its credential still holds
    /// (a token revoked by `kiosk token revoke` in another process, a
    /// session that expired). Changes made through the API are seen at once.
    pub recheck: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            keep_alive: Duration::from_secs(15),
            retry: Duration::from_secs(3),
            replay_batch: 256,
            recheck: Duration::from_secs(5),
        }
    }
}

/// Events taken from the receiver at once before a chunk is handed over.
const LIVE_BATCH: usize = 64;

/// The SSE `event:` name of an event kind (the kind's JSON `type`).
pub fn event_type(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::ServiceDayStarted { .. } => "service_day_started",
        EventKind::TicketIssued { .. } => "ticket_issued",
        EventKind::Called { .. } => "called",
        EventKind::NoShow { .. } => "no_show",
        EventKind::ServingStarted { .. } => "serving_started",
        EventKind::Finished { .. } => "finished",
        EventKind::Transferred { .. } => "transferred",
        EventKind::Cancelled { .. } => "cancelled",
        EventKind::Printed { .. } => "printed",
        EventKind::PrintFailed { .. } => "print_failed",
        EventKind::ClockWentBackwards { .. } => "clock_went_backwards",
        EventKind::Fault { .. } => "fault",
        EventKind::FaultCleared { .. } => "fault_cleared",
        EventKind::AdminAction { .. } => "admin_action",
        EventKind::Pruned { .. } => "pruned",
        EventKind::Rated { .. } => "rated",
        EventKind::CounterStatusChanged { .. } => "counter_status_changed",
        EventKind::CalledChosen { .. } => "called_chosen",
        EventKind::Parked { .. } => "parked",
        EventKind::BroughtBack { .. } => "brought_back",
    }
}

/// A `Rated` event for a client that may not see ratings (staff, displays):
/// only its `id:`, so the client's `Last-Event-ID` moves past it and no
/// event is dispatched (an SSE message without data is not an event).
fn write_hidden(out: &mut Vec<u8>, event: &Event) {
    use std::io::Write;
    let _ = write!(out, "id: {}\n\n", event.seq);
}

fn write_event(out: &mut Vec<u8>, event: &Event) {
    use std::io::Write;
    let _ = write!(
        out,
        "id: {}\nevent: {}\ndata: ",
        event.seq,
        event_type(&event.kind)
    );
    // Compact JSON has no newline, so it is one `data:` line.
    if serde_json::to_writer(&mut *out, event).is_err() {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b"\n\n");
}

fn write_snapshot(out: &mut Vec<u8>, snapshot: &Snapshot) {
    use std::io::Write;
    let _ = write!(out, "id: {}\nevent: snapshot\ndata: ", snapshot.last_seq);
    if serde_json::to_writer(&mut *out, snapshot).is_err() {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b"\n\n");
}

/// Counts a client while its feed exists.
struct ClientGuard(Arc<AtomicUsize>);

impl ClientGuard {
    fn new(count: &Arc<AtomicUsize>) -> ClientGuard {
        count.fetch_add(1, Ordering::Relaxed);
        ClientGuard(Arc::clone(count))
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Open streams per display device name, shared by every stream.
#[derive(Debug, Clone, Default)]
pub struct DisplayStreams(Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>);

impl DisplayStreams {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, usize>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Streams open now, by device name (devices with none are absent).
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        self.lock().clone()
    }
}

/// Counts one display's stream while it is open.
struct DisplayGuard(DisplayStreams, String);

impl DisplayGuard {
    fn new(streams: &DisplayStreams, name: &str) -> DisplayGuard {
        *streams.lock().entry(name.to_owned()).or_default() += 1;
        DisplayGuard(streams.clone(), name.to_owned())
    }
}

impl Drop for DisplayGuard {
    fn drop(&mut self) {
        let mut map = self.0.lock();
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// One client's position in the stream.
struct Feed {
    /// Where missed events are read back from.
    store: Store,
    /// New events.
    live: broadcast::Receiver<Event>,
    /// The last sequence number sent (or covered by the snapshot sent).
    last: u64,
    /// Whether the log may hold events after `last` not yet sent.
    catching_up: bool,
    /// Bytes ready for the client.
    out: Vec<u8>,
    /// Tuning.
    settings: StreamSettings,
    /// Shutdown.
    closing: watch::Receiver<bool>,
    /// The credential the stream was opened with; the stream ends with it.
    holder: Holder,
    /// The API, to check the credential.
    state: ApiState,
    /// Ticks when some credential ended.
    credentials: watch::Receiver<u64>,
    /// When the credential was last checked.
    checked: Instant,
    /// Keeps the client counted.
    _client: ClientGuard,
    /// Keeps a display device's stream counted under its name.
    _display: Option<DisplayGuard>,
    /// Keeps the client's address holding one of its stream slots.
    _slot: Option<lan_server::Slot>,
    /// Staff and displays never see ratings: their `Rated` events are sent
    /// as a bare `id:`.
    hide_ratings: bool,
}

impl Feed {
    /// The next chunk for the client; `None` ends the response.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if !self.out.is_empty() {
                return Some(Bytes::from(std::mem::take(&mut self.out)));
            }
            if *self.closing.borrow() {
                return None;
            }
            if self.checked.elapsed() >= self.settings.recheck && !self.credential_holds() {
                return None;
            }
            if self.catching_up {
                if !self.catch_up().await {
                    return None;
                }
                continue;
            }
            tokio::select! {
                biased;
                changed = self.closing.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                changed = self.credentials.changed() => {
                    if changed.is_err() || !self.credential_holds() {
                        return None;
                    }
                }
                () = tokio::time::sleep(self.settings.recheck) => {
                    if !self.credential_holds() {
                        return None;
                    }
                }
                received = self.live.recv() => match received {
                    Ok(event) => {
                        self.take_live(event);
                        for _ in 1..LIVE_BATCH {
                            match self.live.try_recv() {
                                Ok(event) => self.take_live(event),
                                Err(TryRecvError::Lagged(_)) => {
                                    self.catching_up = true;
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, last = self.last, "stream client lagged; replaying from the log");
                        self.catching_up = true;
                    }
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(self.settings.keep_alive) => {
                    self.out.extend_from_slice(b": keep-alive\n\n");
                }
            }
        }
    }

    fn credential_holds(&mut self) -> bool {
        self.checked = Instant::now();
        let holds = self.holder.still_valid(&self.state);
        if !holds {
            tracing::info!("closing an event stream: its token was revoked or its session ended");
        }
        holds
    }

    fn take_live(&mut self, event: Event) {
        if event.seq <= self.last || self.catching_up {
            return;
        }
        if event.seq == self.last + 1 {
            self.last = event.seq;
            self.write(&event);
        } else {
            // The receiver skipped something: the log has it.
            self.catching_up = true;
        }
    }

    /// Sends the next batch from the log; `false` when the store failed.
    async fn catch_up(&mut self) -> bool {
        let store = self.store.clone();
        let (after, limit) = (self.last, self.settings.replay_batch.max(1));
        match blocking(move || store.events_since(after, limit)).await {
            Ok(EventsSince::Events(events)) => {
                self.catching_up = events.len() >= limit;
                self.push_all(events);
                true
            }
            Ok(EventsSince::Gap { .. }) => {
                self.restart_with_snapshot().await;
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot read the event log for a stream client; closing its stream");
                false
            }
        }
    }

    fn push_all(&mut self, events: Vec<Event>) {
        for event in events {
            if event.seq == self.last + 1 {
                self.last = event.seq;
                self.write(&event);
            }
        }
    }

    fn write(&mut self, event: &Event) {
        if self.hide_ratings && matches!(event.kind, EventKind::Rated { .. }) {
            write_hidden(&mut self.out, event);
        } else {
            write_event(&mut self.out, event);
        }
    }

    async fn restart_with_snapshot(&mut self) {
        let store = self.store.clone();
        let (snapshot, live) = blocking(move || store.subscribe_with_snapshot()).await;
        self.live = live;
        self.last = snapshot.last_seq;
        self.catching_up = false;
        write_snapshot(&mut self.out, &snapshot);
    }
}

fn settings_retry(state: &ApiState) -> u64 {
    state.shared.stream.retry.as_secs().max(1)
}

fn resume_point(headers: &HeaderMap, query: Option<&str>) -> Result<Option<u64>, ApiError> {
    if let Some(value) = headers.get("last-event-id") {
        let text = value.to_str().unwrap_or("").trim();
        if text.is_empty() {
            return Ok(None);
        }
        return text.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "Last-Event-ID {text:?} is not an event sequence number"
            ))
        });
    }
    let after = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "after")
        .map(|(_, v)| v);
    match after {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!("after={text:?} is not an event sequence number"))
        }),
    }
}

/// `GET /api/v1/events`.
pub async fn events(
    State(state): State<ApiState>,
    Extension(holder): Extension<Holder>,
    Extension(principal): Extension<crate::auth::Principal>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let resume = resume_point(&headers, query.as_deref())?;
    let slot = match peer {
        Some(Extension(ConnectInfo(peer))) => {
            let slot = state.shared.stream_slots.try_take(peer.ip());
            if slot.is_none() {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "quá nhiều kết nối theo dõi từ máy này",
                )
                .with_detail("this address already holds its limit of open event streams; close another page or display first");
                err.retry_after = Some(settings_retry(&state));
                return Err(err);
            }
            slot
        }
        None => None,
    };
    let settings = state.shared.stream;
    let store = state.app().store().clone();
    let mut out = format!("retry: {}\n\n", settings.retry.as_millis()).into_bytes();
    let batch = settings.replay_batch.max(1);
    let opened = {
        let store = store.clone();
        blocking(move || {
            let start = match resume {
                Some(after) if after <= store.last_seq() => Some(
                    store
                        .subscribe_since(after, batch)
                        .map(|(e, rx)| (after, e, rx)),
                ),
                _ => None,
            };
            match start.transpose()? {
                Some((after, EventsSince::Events(events), live)) => {
                    Ok::<_, queue_store::store::StoreError>((after, None, events, live))
                }
                // A client from before retention or from another store: start afresh.
                Some((_, EventsSince::Gap { .. }, _)) | None => {
                    let (snapshot, live) = store.subscribe_with_snapshot();
                    Ok((snapshot.last_seq, Some(snapshot), Vec::new(), live))
                }
            }
        })
        .await?
    };
    let (last, snapshot, events, live) = opened;
    if let Some(snapshot) = &snapshot {
        write_snapshot(&mut out, snapshot);
    }
    let mut feed = Feed {
        store,
        live,
        last,
        catching_up: events.len() >= batch,
        out: Vec::new(),
        settings,
        closing: state.shared.closing.subscribe(),
        holder,
        credentials: state.shared.credentials_changed.subscribe(),
        checked: Instant::now(),
        state: state.clone(),
        _client: ClientGuard::new(&state.shared.stream_clients),
        _display: (principal.role == crate::auth::Role::Display)
            .then(|| DisplayGuard::new(&state.shared.display_streams, &principal.name)),
        _slot: slot,
        hide_ratings: matches!(
            principal.role,
            crate::auth::Role::Staff | crate::auth::Role::Display
        ),
    };
    feed.push_all(events);
    out.append(&mut feed.out);
    feed.out = out;
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        let chunk = feed.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), feed))
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
