//! Serving an axum router to a local network that cannot be trusted:
//! the kiosk's API and the display daemon's pages both go through
//! [`Server`].
//!
//! `axum::serve` keeps every connection for as long as the client wants: a
//! socket that sends half a request and stops, or opens and says nothing,
//! holds a file descriptor forever, and about a thousand of them stop the
//! service. This crate owns the accept loop and each connection's life:
//!
//! - **Header read timeout** ([`Limits::header_read_timeout`]): a request's
//!   head must arrive whole within it. hyper starts this timer whenever it
//!   waits for a request head, so it also bounds an idle keep-alive
//!   connection between two requests.
//! - **Idle timeout** ([`Limits::idle_timeout`]): a connection on which no
//!   byte moved either way for this long is closed (a body that stops
//!   arriving, a response nobody reads). An event stream sends a keep-alive
//!   comment every 15 s, so a display that reads, however slowly, is never
//!   cut.
//! - **Connection limits**: at most [`Limits::max_connections`] at once and
//!   [`Limits::max_per_address`] from one client address. A connection over
//!   the per-address limit is closed at once, before a byte is read. At the
//!   total limit, the oldest connection that has not yet sent one whole
//!   request makes room (an idle flood from many addresses must not lock
//!   the consoles out until the header timeout); when there is none, the
//!   new connection is closed. Connections that made a request (a display's
//!   event stream) are never the ones pushed out.
//! - **Per-address slots** for long responses ([`AddressSlots`]): the
//!   servers cap event streams per client address with it.
//! - **TLS** when a [`TlsAcceptor`] is given; the handshake must finish
//!   within the header read timeout.
//!
//! Every request carries the client's address as
//! `axum::extract::ConnectInfo<SocketAddr>`, as with
//! `into_make_service_with_connect_info`.
//!
//! It does not know routes, credentials or what a stream sends: those stay
//! with each server. [`login`] holds what every server that checks
//! passwords from the network shares (the kiosk's API, the city hub's
//! dashboard): the per-address login throttle and the bounded
//! password-check threads.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

pub mod login;
pub mod tls;

pub use tls::TlsAcceptor;

/// How long connections may last and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head (and a TLS handshake) must arrive within this; also
    /// how long a keep-alive connection may wait for its next request.
    pub header_read_timeout: Duration,
    /// A connection on which nothing was read or written for this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Connections open at once, from everyone.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_per_address: usize,
}

impl Default for Limits {
    /// 15 s for a request head, 60 s without a byte, 512 connections, 64
    /// per address: a center has a few dozen devices, and a browser opens
    /// at most six connections per site.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_per_address: 64,
        }
    }
}

/// Counts what is held per client address, up to a limit each.
#[derive(Debug)]
pub struct AddressSlots {
    /// Slots one address may hold.
    limit: usize,
    /// Slots held, by address (addresses holding none are removed).
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl AddressSlots {
    /// A table allowing `limit` slots per address.
    pub fn new(limit: usize) -> Arc<AddressSlots> {
        Arc::new(AddressSlots {
            limit,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `addr`, or `None` when it already holds its limit. The
    /// slot is given back when dropped.
    pub fn try_take(self: &Arc<Self>, addr: IpAddr) -> Option<Slot> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = held.entry(addr).or_insert(0);
        if *count >= self.limit {
            if *count == 0 {
                held.remove(&addr);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            table: Arc::clone(self),
            addr,
        })
    }

    /// Slots held by `addr` now.
    pub fn held_by(&self, addr: IpAddr) -> usize {
        let held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(&addr).copied().unwrap_or(0)
    }
}

/// One slot of an [`AddressSlots`] table; given back on drop.
#[derive(Debug)]
pub struct Slot {
    table: Arc<AddressSlots>,
    addr: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .table
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.addr) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.addr);
            }
        }
    }
}

/// What the accept loop has done, for status pages and tests.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections closed at once because a limit was reached.
    pub refused: AtomicU64,
    /// Connections closed for a slow head, a slow handshake or idleness.
    pub timed_out: AtomicU64,
    /// Connections without a request yet, closed to make room at the total
    /// limit.
    pub evicted: AtomicU64,
}

/// A connection as the accept loop sees it.
#[derive(Debug)]
struct Tracked {
    /// When it was accepted.
    accepted: Instant,
    /// Whether it has sent a whole request head.
    served: std::sync::atomic::AtomicBool,
    /// Wakes the connection's task to close it.
    evict: tokio::sync::Notify,
}

/// Every open connection, to find one to push out at the total limit.
#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Tracked>>>,
}

impl Registry {
    fn add(&self) -> (u64, Arc<Tracked>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked {
            accepted: Instant::now(),
            served: std::sync::atomic::AtomicBool::new(false),
            evict: tokio::sync::Notify::new(),
        });
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.insert(id, Arc::clone(&tracked));
        (id, tracked)
    }

    fn remove(&self, id: u64) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.remove(&id);
    }

    /// Tells the oldest connection without a request to close; whether
    /// there was one.
    fn evict_oldest_pending(&self) -> bool {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let oldest = open
            .iter()
            .filter(|(_, t)| !t.served.load(Ordering::Relaxed))
            .min_by_key(|(_, t)| t.accepted)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| open.remove(&id)) {
            Some(tracked) => {
                tracked.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// An axum router served with [`Limits`] (and TLS, when given).
pub struct Server {
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    counters: Arc<Counters>,
}

impl Server {
    /// Serves `router` with the default [`Limits`], in plain HTTP.
    pub fn new(router: Router) -> Server {
        Server {
            router,
            limits: Limits::default(),
            tls: None,
            counters: Arc::default(),
        }
    }

    /// Other limits.
    pub fn limits(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self
    }

    /// Serves HTTPS with `acceptor` (or plain HTTP with `None`).
    pub fn tls(mut self, acceptor: Option<TlsAcceptor>) -> Server {
        self.tls = acceptor;
        self
    }

    /// The server's counters (shared; they keep counting while it runs).
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Accepts connections on `listener` until `shutdown` completes, then
    /// lets each connection finish its request in progress and returns once
    /// all are closed. Long responses (event streams) must be ended by the
    /// caller when `shutdown` completes, as with `axum::serve`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.run(listener, shutdown, false).await.map(drop)
    }

    /// [`Server::serve`], but the listener is handed back open once every
    /// connection is closed: connections that arrive after `shutdown` wait
    /// in its backlog instead of being refused, for whoever accepts next (a
    /// re-executed kiosk that inherits the socket).
    pub async fn serve_then_keep(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<TcpListener> {
        let kept = self.run(listener, shutdown, true).await?;
        kept.ok_or_else(|| io::Error::other("the listener was not kept"))
    }

    /// The accept loop; the listener is closed at `shutdown` unless `keep`.
    async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        keep: bool,
    ) -> io::Result<Option<TcpListener>> {
        let Server {
            router,
            limits,
            tls,
            counters,
        } = self;
        let total = Arc::new(Semaphore::new(limits.max_connections));
        let per_address = AddressSlots::new(limits.max_per_address);
        let registry = Arc::new(Registry::default());
        let (closing_tx, closing) = watch::channel(false);
        // Each connection holds a sender; `recv` ends when all are gone.
        let (alive, mut all_closed) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_failed(&err).await;
                        continue;
                    }
                },
            };
            let Some(slot) = per_address.try_take(peer.ip()) else {
                refuse(&counters, peer, "the limit per client address");
                continue;
            };
            let permit = match Arc::clone(&total).try_acquire_owned() {
                Ok(permit) => Some(permit),
                // Its task waits for the room the evicted one leaves.
                Err(_) if registry.evict_oldest_pending() => {
                    counters.evicted.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(_) => {
                    refuse(&counters, peer, "the server's connection limit");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                router: router.clone(),
                limits,
                peer,
                counters: Arc::clone(&counters),
                closing: closing.clone(),
            };
            let tls = tls.clone();
            let alive = alive.clone();
            let (total, registry) = (Arc::clone(&total), Arc::clone(&registry));
            tokio::spawn(async move {
                let permit = match permit {
                    Some(permit) => permit,
                    None => {
                        match tokio::time::timeout(Duration::from_secs(1), total.acquire_owned())
                            .await
                        {
                            Ok(Ok(permit)) => permit,
                            _ => {
                                refuse(&connection.counters, peer, "the server's connection limit");
                                return;
                            }
                        }
                    }
                };
                let (id, tracked) = registry.add();
                connection.counters.open.fetch_add(1, Ordering::Relaxed);
                tokio::select! {
                    () = connection.run(stream, tls, &tracked) => {}
                    () = tracked.evict.notified() => {
                        tracing::debug!(%peer, "connection without a request closed to make room");
                    }
                }
                registry.remove(id);
                connection.counters.open.fetch_sub(1, Ordering::Relaxed);
                drop((permit, slot, alive));
            });
        }
        let kept = keep.then_some(listener);
        closing_tx.send_replace(true);
        drop(alive);
        let _ = all_closed.recv().await;
        Ok(kept)
    }
}

fn refuse(counters: &Counters, peer: SocketAddr, limit: &str) {
    counters.refused.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%peer, "connection closed at once: {limit} is reached");
}

/// After a failed `accept`: a client that gave up is nothing; running out of
/// file descriptors must not become a busy loop.
async fn accept_failed(err: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %err, "cannot accept connections; if this says 'too many open files', raise LimitNOFILE or lower the connection limit");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// One accepted connection.
struct Connection {
    router: Router,
    limits: Limits,
    peer: SocketAddr,
    counters: Arc<Counters>,
    closing: watch::Receiver<bool>,
}

impl Connection {
    async fn run(&self, stream: TcpStream, tls: Option<TlsAcceptor>, tracked: &Arc<Tracked>) {
        let Some(acceptor) = tls else {
            return self.drive(stream, tracked).await;
        };
        match tokio::time::timeout(self.limits.header_read_timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => self.drive(stream, tracked).await,
            Ok(Err(err)) => {
                tracing::debug!(peer = %self.peer, error = %err, "TLS handshake failed");
            }
            Err(_) => {
                self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = %self.peer, "TLS handshake too slow; connection closed");
            }
        }
    }

    async fn drive<IO>(&self, io: IO, tracked: &Arc<Tracked>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let io = Watched {
            inner: io,
            activity: Arc::clone(&activity),
        };
        let (router, peer) = (self.router.clone(), self.peer);
        let served = Arc::clone(tracked);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            served.served.store(true, Ordering::Relaxed);
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            tower_service::Service::call(&mut router, request)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let idle = self.limits.idle_timeout;
        let mut check = tokio::time::interval((idle / 4).max(Duration::from_millis(10)));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut closing = self.closing.clone();
        let mut shutting_down = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        if err.is_timeout() {
                            self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!(%peer, error = %err, "connection ended");
                    }
                    return;
                }
                _ = closing.wait_for(|closing| *closing), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
                _ = check.tick() => {
                    if activity.quiet_for() >= idle {
                        self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "nothing sent or read for {idle:?}; connection closed");
                        return;
                    }
                }
            }
        }
    }
}

/// When bytes last moved on a connection.
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A socket that notes when bytes move through it.
struct Watched<IO> {
    inner: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
