//! The kiosk's LAN HTTP API (`/api/v1`) and its live event stream.
//!
//! This module owns the route table, who may call each route, and the
//! translation between HTTP and the kiosk: JSON bodies in, typed errors out
//! as `{"error": …}` with a 4xx status a person can act on. It does not hold
//! queue rules (the store's), what a press does (the app's) or how secrets
//! are hashed (`auth`'s). Accounts live in [`crate::accounts`].
//!
//! # Who may call what
//!
//! Every route is one row of [`ROUTES`], and the router is built from that
//! table only: the access rule of a row is enforced by one guard in front of
//! its handler ([`guard`]), so a new route cannot forget it, and the tests
//! walk the table. Credentials, in order:
//!
//! - `Authorization: Bearer TOKEN`: device tokens (displays, keypads, the
//!   city hub's `reader`) and
//!   admin tokens for scripts; no CSRF token needed.
//! - the `kiosk_session` cookie set by `POST /api/v1/login` (HttpOnly,
//!   SameSite=Strict, Max-Age, and `Secure` when served over TLS); every `POST`/`DELETE` with it must carry the
//!   session's `X-CSRF-Token`.
//! - `?token=TOKEN`, on `/api/v1/events` only (a browser `EventSource`
//!   cannot set headers).
//!
//! Staff and display streams never carry ratings (their `rated` events are
//! sent as a bare `id:`), and staff answers never include a ticket's
//! `rating`.
//!
//! "loopback" means a caller on the kiosk's own loopback with no
//! credentials at all, while `[kiosk.touch] loopback = true`: the Pi's own
//! touch screen (see [`touch`]).
//!
//! No credentials → 401; a role the row does not list, another staff
//! member's counter or a missing CSRF token → 403.
//!
//! # Routes
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/healthz` | anyone | `{"ok": true}` |
//! | GET | `/metrics` | anyone | Prometheus text format, read-only (see [`crate::metrics`]) |
//! | GET | `/api/v1/summary` | anyone | waiting per department, what each counter calls, last calls; no personal data |
//! | POST | `/api/v1/login` | anyone | `{name, password}` → session cookie and `{csrf_token, name, role, counters}`; failures slowed down (429 + `Retry-After`) |
//! | POST | `/api/v1/logout` | any session | ends the session |
//! | GET | `/api/v1/events` | display, keypad, staff, admin, reader | server-sent events (below) |
//! | GET | `/api/v1/me/counters` | staff, admin, keypad | the caller's counters with their current ticket |
//! | GET | `/api/v1/queue` | staff, admin, keypad | waiting counts per department |
//! | GET | `/api/v1/counters/{n}/current` | staff (own), admin, keypad (own) | the counter's ticket (`current`, and the whole `ticket`) |
//! | POST | `/api/v1/counters/{n}/next` | staff (own), admin, keypad (own) | finish the current ticket, call the next |
//! | POST | `/api/v1/counters/{n}/recall` | staff (own), admin, keypad (own) | call the current ticket again |
//! | POST | `/api/v1/counters/{n}/no-show` | staff (own), admin, keypad (own) | the citizen did not come |
//! | POST | `/api/v1/counters/{n}/start` | staff (own), admin | service begins |
//! | POST | `/api/v1/counters/{n}/finish` | staff (own), admin, keypad (own) | service ends |
//! | POST | `/api/v1/counters/{n}/transfer` | staff (own), admin | `{department}` or `{counter}` |
//! | POST | `/api/v1/counters/{n}/rate` | keypad (own) | a citizen's rating `{level, source, ticket?, key?}` (see [`rating`]) |
//! | GET | `/api/v1/counters/{n}/tickets` | staff (own), admin | waiting tickets it may call (with `over_target`), its parked tickets, the reason lists; `?no_shows=true` adds today's no-shows it may bring back |
//! | POST | `/api/v1/counters/{n}/pause` | staff (own), admin, keypad (own) | `{reason}` from `[counter_work] pause_reasons` (a keypad: the first); refused while a ticket is called or served |
//! | POST | `/api/v1/counters/{n}/open` | staff (own), admin, keypad (own) | open or resume; an officer with a display name takes the counter over |
//! | POST | `/api/v1/counters/{n}/close` | staff (own), admin | closed until opened again |
//! | POST | `/api/v1/counters/{n}/call` | staff (own), admin | `{ticket, reason}`: a chosen waiting ticket out of order, reason from `call_reasons` |
//! | POST | `/api/v1/counters/{n}/park` | staff (own), admin | parks the ticket being served |
//! | POST | `/api/v1/counters/{n}/unpark` | staff (own), admin | `{ticket}`: calls a parked ticket back |
//! | POST | `/api/v1/counters/{n}/bring-back` | staff (own), admin | `{ticket}`: a no-show of today waits again (front or issue order, `[counter_work] bring_back`) |
//! | GET/POST | `/api/v1/admin/users` | admin | list; `{name, role, password, counters}` adds |
//! | POST | `/api/v1/admin/users/{name}/disable` | admin | disables (the last admin cannot be) |
//! | POST | `/api/v1/admin/users/{name}/enable` | admin | enables again |
//! | POST | `/api/v1/admin/users/{name}/password` | admin | `{password}` |
//! | POST | `/api/v1/admin/users/{name}/counters` | admin | `{counters: [..]}` |
//! | POST | `/api/v1/admin/users/{name}/display-name` | admin | `{display_name}` shown on counter displays (`null` clears) |
//! | GET/POST | `/api/v1/admin/tokens` | admin | list; `{name, role, counter}` → `{token}` shown once |
//! | DELETE | `/api/v1/admin/tokens/{name}` | admin | revokes |
//! | GET | `/api/v1/admin/status` | admin | printer, store, stream clients, logged-in staff |
//! | GET | `/api/v1/reports` | admin | `?from=&to=&by=&daily=&format=json\|csv` (see [`queue_store::report`]) |
//! | GET | `/api/v1/days/{day}/export` | reader, admin | one service day (`YYYY-MM-DD`): its kept tickets, or its summaries once pruned, with `source` saying which |
//! | POST | `/api/v1/admin/tickets/{id}/reprint` | admin | prints a ticket again |
//! | POST | `/api/v1/admin/config/validate` | admin | body = TOML; 422 with every problem |
//! | POST | `/api/v1/admin/config/reload` | admin | body = TOML (empty: re-read the file); a bad config → 422 and the old one keeps running |
//! | GET | `/api/v1/touch/state` | loopback, touch, admin | what the touch page shows: departments, services, open or closed, printer |
//! | POST | `/api/v1/touch/press` | loopback, touch, admin | `{department, service, priority, cccd}` → the ticket, through the buttons' press pipeline |
//! | POST | `/api/v1/touch/cccd` | loopback, touch, admin | `{qr}` → the priority a citizen ID card grants; nothing of it is kept |
//!
//! The counter actions `recall`, `no-show`, `start`, `finish` and
//! `transfer` take an optional `"ticket": ID` in their body: when given it
//! must be the counter's current ticket (guards against a stale screen).
//!
//! # The event stream
//!
//! `GET /api/v1/events` answers `text/event-stream`: first a `retry:` hint,
//! then for a new client `event: snapshot` (data: the [`Snapshot`], `id:` its
//! `last_seq`), then every event as `id: SEQ`, `event: TYPE` (`called`,
//! `ticket_issued`, …), `data: EVENT-JSON`, with a `: keep-alive` comment
//! every 15 s. A client reconnecting with `Last-Event-ID` (or `?after=SEQ`)
//! gets every later event from the durable log, then live ones, each exactly
//! once and in order; if retention removed some of them it gets a fresh
//! snapshot instead. See [`stream`] for why a slow client never slows anyone.
//!
//! # The citizens' phone pages
//!
//! The ticket page `/t/{key}` is not on this router: it has a listener of
//! its own (`[kiosk.public]`) that serves nothing else ([`citizen`]).
//!
//! [`Snapshot`]: queue_protocol::Snapshot

mod admin;
pub mod citizen;
mod error;
mod export;
mod guard;
mod metrics_route;
mod public;
mod rating;
mod reports;
mod staff;
pub mod stream;
pub mod touch;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::accounts::Accounts;
use crate::app::App;
use crate::auth::{LoginThrottle, PasswordChecks, Role, Sessions, ThrottleLimits};

pub use error::ApiError;

/// The largest request body accepted (a center's config is a few KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kiosk_session";

/// The header a browser session echoes its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Reads.
    Get,
    /// Changes.
    Post,
    /// Removes.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }

    /// Whether calls change something (and so need CSRF with a cookie).
    pub fn is_mutating(self) -> bool {
        !matches!(self, Method::Get)
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Delete => MethodFilter::DELETE,
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Any principal with one of these roles.
    Roles(&'static [Role]),
    /// One of these roles, and (admins aside) only for a counter the caller
    /// is assigned to: the path's `{n}`.
    Counter(&'static [Role]),
    /// The event stream: these roles, and the token may come as `?token=`.
    Stream(&'static [Role]),
    /// The touch page's API: these roles, or no credentials at all from the
    /// kiosk's own loopback while `[kiosk.touch] loopback = true`.
    Touch(&'static [Role]),
}

impl Access {
    /// The roles allowed, if credentials are needed.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Access::Public => &[],
            Access::Roles(r) | Access::Counter(r) | Access::Stream(r) | Access::Touch(r) => r,
        }
    }
}

/// One row of the route table.
#[derive(Clone, Copy)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path, with `{n}` (counter), `{name}` or `{id}` (ticket) parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The handler for this method and path.
    handler: fn(MethodFilter) -> MethodRouter<ApiState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

const ADMIN: &[Role] = &[Role::Admin];
const PEOPLE: &[Role] = &[Role::Admin, Role::Staff];
const AT_COUNTER: &[Role] = &[Role::Admin, Role::Staff, Role::Keypad];
const EVERYONE: &[Role] = &[
    Role::Admin,
    Role::Staff,
    Role::Display,
    Role::Keypad,
    Role::Reader,
];
const CITY_HUB: &[Role] = &[Role::Admin, Role::Reader];
/// Ratings come from the counter's own devices only: never from staff, who
/// would be rating themselves, nor from admins, who read but never edit.
const COUNTER_DEVICE: &[Role] = &[Role::Keypad];
const TOUCH: &[Role] = &[Role::Admin, Role::Touch];

macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:path) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            handler: |filter| on(filter, $handler),
        }
    };
}

/// Every route of the API. The router is built from this table alone.
pub const ROUTES: &[Route] = &[
    route!(Get "/healthz", Access::Public, public::healthz),
    route!(Get "/metrics", Access::Public, metrics_route::metrics),
    route!(Get "/api/v1/summary", Access::Public, public::summary),
    route!(Post "/api/v1/login", Access::Public, public::login),
    route!(Post "/api/v1/logout", Access::Roles(PEOPLE), public::logout),
    route!(Get "/api/v1/events", Access::Stream(EVERYONE), stream::events),
    route!(Get "/api/v1/me/counters", Access::Roles(AT_COUNTER), staff::my_counters),
    route!(Get "/api/v1/queue", Access::Roles(AT_COUNTER), staff::queue),
    route!(Get "/api/v1/counters/{n}/current", Access::Counter(AT_COUNTER), staff::current),
    route!(Post "/api/v1/counters/{n}/next", Access::Counter(AT_COUNTER), staff::next),
    route!(Post "/api/v1/counters/{n}/recall", Access::Counter(AT_COUNTER), staff::recall),
    route!(Post "/api/v1/counters/{n}/no-show", Access::Counter(AT_COUNTER), staff::no_show),
    route!(Post "/api/v1/counters/{n}/start", Access::Counter(PEOPLE), staff::start),
    route!(Post "/api/v1/counters/{n}/finish", Access::Counter(AT_COUNTER), staff::finish),
    route!(Post "/api/v1/counters/{n}/transfer", Access::Counter(PEOPLE), staff::transfer),
    route!(Post "/api/v1/counters/{n}/rate", Access::Counter(COUNTER_DEVICE), rating::rate),
    route!(Get "/api/v1/counters/{n}/tickets", Access::Counter(PEOPLE), staff::tickets),
    route!(Post "/api/v1/counters/{n}/pause", Access::Counter(AT_COUNTER), staff::pause),
    route!(Post "/api/v1/counters/{n}/open", Access::Counter(AT_COUNTER), staff::open),
    route!(Post "/api/v1/counters/{n}/close", Access::Counter(PEOPLE), staff::close),
    route!(Post "/api/v1/counters/{n}/call", Access::Counter(PEOPLE), staff::call_chosen),
    route!(Post "/api/v1/counters/{n}/park", Access::Counter(PEOPLE), staff::park),
    route!(Post "/api/v1/counters/{n}/unpark", Access::Counter(PEOPLE), staff::unpark),
    route!(Post "/api/v1/counters/{n}/bring-back", Access::Counter(PEOPLE), staff::bring_back),
    route!(Get "/api/v1/admin/users", Access::Roles(ADMIN), admin::users),
    route!(Post "/api/v1/admin/users", Access::Roles(ADMIN), admin::add_user),
    route!(Post "/api/v1/admin/users/{name}/disable", Access::Roles(ADMIN), admin::disable_user),
    route!(Post "/api/v1/admin/users/{name}/enable", Access::Roles(ADMIN), admin::enable_user),
    route!(Post "/api/v1/admin/users/{name}/password", Access::Roles(ADMIN), admin::set_password),
    route!(Post "/api/v1/admin/users/{name}/counters", Access::Roles(ADMIN), admin::set_counters),
    route!(Post "/api/v1/admin/users/{name}/display-name", Access::Roles(ADMIN), admin::set_display_name),
    route!(Get "/api/v1/admin/tokens", Access::Roles(ADMIN), admin::tokens),
    route!(Post "/api/v1/admin/tokens", Access::Roles(ADMIN), admin::add_token),
    route!(Delete "/api/v1/admin/tokens/{name}", Access::Roles(ADMIN), admin::revoke_token),
    route!(Get "/api/v1/admin/status", Access::Roles(ADMIN), admin::status),
    route!(Get "/api/v1/reports", Access::Roles(ADMIN), reports::reports),
    route!(Get "/api/v1/days/{day}/export", Access::Roles(CITY_HUB), export::day_export),
    route!(Post "/api/v1/admin/tickets/{id}/reprint", Access::Roles(ADMIN), admin::reprint),
    route!(Post "/api/v1/admin/config/validate", Access::Roles(ADMIN), admin::validate_config),
    route!(Post "/api/v1/admin/config/reload", Access::Roles(ADMIN), admin::reload_config),
    route!(Get "/api/v1/touch/state", Access::Touch(TOUCH), touch::state),
    route!(Post "/api/v1/touch/press", Access::Touch(TOUCH), touch::press),
    route!(Post "/api/v1/touch/cccd", Access::Touch(TOUCH), touch::cccd),
];

/// What the API's handlers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// Everything behind one pointer.
    shared: Arc<Shared>,
}

struct Shared {
    /// The running kiosk.
    app: App,
    /// Accounts and device tokens.
    accounts: Accounts,
    /// Browser sessions.
    sessions: Sessions,
    /// Slows down password guessing.
    throttle: LoginThrottle,
    /// Where passwords are checked (its own threads, a few at once).
    checks: PasswordChecks,
    /// Event streams held per client address.
    stream_slots: Arc<lan_server::AddressSlots>,
    /// Connection limits and timeouts of the server.
    limits: lan_server::Limits,
    /// HTTPS, when configured; cookies are then `Secure`.
    tls: Option<lan_server::TlsAcceptor>,
    /// Bumped whenever a credential ends (logout, revoked token, disabled
    /// account, new password), so open event streams check theirs at once.
    credentials_changed: watch::Sender<u64>,
    /// The center file, where a reload reads from and saves to.
    config_path: Option<PathBuf>,
    /// Open event streams (for the status page).
    stream_clients: Arc<AtomicUsize>,
    /// Open event streams of display devices, by token name (for the
    /// "display lost its stream" alert).
    display_streams: stream::DisplayStreams,
    /// Flipped to `true` to end every event stream (shutdown).
    closing: watch::Sender<bool>,
    /// Stream tuning.
    stream: stream::StreamSettings,
}

/// How to build an [`ApiState`] beyond its required parts.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// The center file (reload re-reads it and saves an uploaded config to
    /// it); `None` keeps uploaded configs in memory only.
    pub config_path: Option<PathBuf>,
    /// How long a browser session lasts.
    pub session_lifetime: Duration,
    /// Failed logins allowed before delays start.
    pub free_login_attempts: u32,
    /// First delay after those.
    pub login_base_delay: Duration,
    /// Longest delay.
    pub login_max_delay: Duration,
    /// Failed logins one address may make, at any accounts, before delays
    /// start.
    pub login_free_per_address: u32,
    /// Password checks everyone together may make in a burst, and per
    /// minute after it (the global ceiling).
    pub login_ceiling: (u32, u32),
    /// Password checks run at once (each holds 19 MiB for tens of
    /// milliseconds); more attempts meanwhile are answered 429 at once.
    pub password_check_threads: usize,
    /// Event streams one client address may hold open.
    pub streams_per_address: usize,
    /// Connection limits and timeouts of the HTTP server.
    pub limits: lan_server::Limits,
    /// Serve HTTPS with this (`[kiosk.tls]`); session cookies are then
    /// marked `Secure`.
    pub tls: Option<lan_server::TlsAcceptor>,
    /// The event stream's tuning.
    pub stream: stream::StreamSettings,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            config_path: None,
            session_lifetime: Duration::from_secs(12 * 3600),
            free_login_attempts: 5,
            login_base_delay: Duration::from_secs(1),
            login_max_delay: Duration::from_secs(60),
            login_free_per_address: 20,
            login_ceiling: (60, 120),
            password_check_threads: 2,
            streams_per_address: 8,
            limits: lan_server::Limits::default(),
            tls: None,
            stream: stream::StreamSettings::default(),
        }
    }
}

impl ApiState {
    /// The API's state over a running kiosk and its accounts.
    pub fn new(app: App, accounts: Accounts, options: ApiOptions) -> ApiState {
        let (closing, _) = watch::channel(false);
        ApiState {
            shared: Arc::new(Shared {
                app,
                accounts,
                sessions: Sessions::new(options.session_lifetime),
                throttle: LoginThrottle::new(ThrottleLimits {
                    free_attempts: options.free_login_attempts,
                    free_attempts_per_address: options.login_free_per_address,
                    base_delay: options.login_base_delay,
                    max_delay: options.login_max_delay,
                    global_burst: options.login_ceiling.0,
                    global_per_minute: options.login_ceiling.1,
                }),
                checks: PasswordChecks::start(options.password_check_threads).expect(
                    "cannot start the password-check threads; the system is out of threads",
                ),
                stream_slots: lan_server::AddressSlots::new(options.streams_per_address),
                limits: options.limits,
                tls: options.tls,
                credentials_changed: watch::channel(0).0,
                config_path: options.config_path,
                stream_clients: Arc::new(AtomicUsize::new(0)),
                display_streams: stream::DisplayStreams::default(),
                closing,
                stream: options.stream,
            }),
        }
    }

    /// The running kiosk.
    pub fn app(&self) -> &App {
        &self.shared.app
    }

    /// Accounts and device tokens.
    pub fn accounts(&self) -> &Accounts {
        &self.shared.accounts
    }

    /// Browser sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.shared.sessions
    }

    /// Whether the API is served over TLS (cookies are then `Secure`).
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// Password checks run so far (each one argon2id evaluation).
    pub fn password_checks(&self) -> u64 {
        self.shared.checks.evaluated()
    }

    /// The most password checks that ran at once so far.
    pub fn password_checks_peak(&self) -> usize {
        self.shared.checks.peak()
    }

    /// Tells open event streams that a credential ended (they check theirs
    /// and close if it was theirs).
    pub fn credentials_changed(&self) {
        self.shared
            .credentials_changed
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many event streams are open now.
    pub fn stream_clients(&self) -> usize {
        self.shared.stream_clients.load(Ordering::Relaxed)
    }

    /// Open event streams per display device: every display token, with 0
    /// for one that holds no stream now.
    pub fn display_streams(&self) -> std::collections::BTreeMap<String, usize> {
        let mut all = self.shared.display_streams.counts();
        for token in self.accounts().tokens() {
            if token.role == Role::Display {
                all.entry(token.name).or_insert(0);
            }
        }
        all
    }

    /// Ends every event stream (call it when shutting down: a graceful HTTP
    /// shutdown waits for open responses, and a stream never ends by itself).
    pub fn close_streams(&self) {
        self.shared.closing.send_replace(true);
    }
}

/// The API as an axum router (state applied). Serve it with [`server`] (or
/// with `ConnectInfo<SocketAddr>` in the requests some other way) so failed
/// logins and streams are counted per client address.
pub fn router(state: ApiState) -> Router {
    let mut router: Router<ApiState> = Router::new();
    for route in ROUTES {
        let guarded = (route.handler)(route.method.filter()).route_layer(
            axum::middleware::from_fn_with_state((state.clone(), route), guard::guard),
        );
        router = router.route(route.path, guarded);
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// A [`lan_server::Server`] for `router` with the API's limits and TLS.
pub fn server(router: Router, state: &ApiState) -> lan_server::Server {
    lan_server::Server::new(router)
        .limits(state.shared.limits)
        .tls(state.shared.tls.clone())
}

/// Serves the API on `listener` until `shutdown` completes; open event
/// streams are ended first so the graceful shutdown does not wait for them.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server(router(state.clone()), &state)
        .serve(listener, async move {
            shutdown.await;
            state.close_streams();
        })
        .await
}
