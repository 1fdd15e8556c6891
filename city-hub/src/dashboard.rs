//! The city dashboard: login (accounts of [`crate::accounts`], admin and
//! viewer), a Vietnamese page with every center's queue now, pushed live
//! from the hub (server-sent events), one page per center, and the city
//! report page over the same SQL as `city-hub report`.
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/login` | anyone | login form |
//! | POST | `/login` | anyone | form `name`, `password` → session cookie |
//! | POST | `/logout` | session | ends it |
//! | GET | `/` | session | the city page |
//! | GET | `/center/{id}` | session | one center: figures now and today's report by department |
//! | GET | `/report` | session | report form and table (`from`, `to`, `by`) |
//! | GET | `/api/v1/city` | session | every center now (JSON) |
//! | GET | `/api/v1/city/live` | session | the same as SSE, one `city` message per change |
//! | GET | `/api/v1/report` | session | `from`, `to`, `by`, `format=json\|csv\|table` |
//!
//! Sessions live in memory (a hub restart logs everyone out) for 12 hours;
//! the cookie is HttpOnly and SameSite=Strict.
//!
//! Logins go through the kiosk's guards ([`lan_server::login`]): at most
//! two password checks run at once, on two threads of their own (argon2id
//! takes 19 MiB each), and a login arriving while both are busy is answered
//! 429 at once, so a flood cannot eat the server's memory or queue up; each
//! attempt is counted per address (and per address and name) before its
//! check, and after five failures (twenty from one address at any names)
//! the address must wait, doubling per failure up to a minute (429 with
//! `Retry-After` and the wait on the page); a global ceiling bounds the
//! checks of everyone together. A login body over 4 KiB is refused with
//! 413, one that is not the form with 400. Admins also see each center's link details
//! (sequences, the technician's message); viewers see what the office needs.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, Form, FromRequest, Path, Query, Request, State,
};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use lan_server::login::{LoginThrottle, PasswordChecks, Refusal, ThrottleLimits};
use serde::Deserialize;
use tokio::sync::watch;

use crate::accounts::{Accounts, Role};
use crate::config::Center;
use crate::db::Db;
use crate::follower::HubStatus;
use crate::live::{city_now, CenterNow};
use crate::report::{self, GroupBy};
use display_daemon::link::now_ms;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "city_hub_session";

/// How long a session lasts.
const SESSION_MS: i64 = 12 * 3600 * 1000;

/// Password checks at once (argon2id: 19 MiB each).
const PASSWORD_CHECKS: usize = 2;

/// The largest login body read (the form's fields are far smaller).
const LOGIN_BODY_MAX: usize = 4096;

/// How often the live view is recomputed.
const LIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Session {
    name: String,
    role: Role,
    expires_ms: i64,
}

/// The dashboard's shared state; cheap to clone.
#[derive(Clone)]
pub struct Dashboard {
    /// The database.
    db: Db,
    /// The configured centers.
    centers: Arc<Vec<Center>>,
    /// The followers' link states.
    status: HubStatus,
    /// Who may log in.
    accounts: Accounts,
    /// Open sessions by secret.
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// The threads that check passwords (and how many ran).
    checks: Arc<PasswordChecks>,
    /// Failed logins per address.
    throttle: Arc<LoginThrottle>,
    /// The latest city view (`None` until first computed).
    live: watch::Receiver<Option<Arc<Vec<CenterNow>>>>,
    /// Local time, Unix ms (a test's clock can replace it).
    now: Clock,
}

/// Where the dashboard reads the time (Unix ms).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard").finish_non_exhaustive()
    }
}

impl Dashboard {
    /// The dashboard over `db`, and the task that keeps its live view
    /// fresh (run it until shutdown).
    pub fn new(
        db: Db,
        centers: Vec<Center>,
        status: HubStatus,
        accounts: Accounts,
    ) -> (
        Dashboard,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        Dashboard::with_clock(db, centers, status, accounts, Arc::new(now_ms))
    }

    /// [`Dashboard::new`] with the ages of waiting tickets and the open
    /// counters measured against `now` (a demo's or a test's clock).
    pub fn with_clock(
        db: Db,
        centers: Vec<Center>,
        status: HubStatus,
        accounts: Accounts,
        now: Clock,
    ) -> (
        Dashboard,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (tx, live) = watch::channel(None);
        let centers = Arc::new(centers);
        let refresher = {
            let (db, centers, status, now) =
                (db.clone(), centers.clone(), status.clone(), now.clone());
            async move {
                let mut failing = false;
                loop {
                    match city_now(&db, &centers, &status, now()).await {
                        Ok(now) => {
                            failing = false;
                            tx.send_if_modified(|old| {
                                if old.as_deref() == Some(&now) {
                                    false
                                } else {
                                    *old = Some(Arc::new(now));
                                    true
                                }
                            });
                        }
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!("the dashboard cannot read PostgreSQL: {e}");
                        }
                        Err(_) => {}
                    }
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(LIVE_EVERY).await;
                }
            }
        };
        (
            Dashboard {
                db,
                centers,
                status,
                accounts,
                sessions: Arc::default(),
                checks: Arc::new(
                    PasswordChecks::start(PASSWORD_CHECKS)
                        .expect("cannot start the password-check threads (out of threads?)"),
                ),
                throttle: Arc::new(LoginThrottle::new(ThrottleLimits::default())),
                live,
                now,
            },
            refresher,
        )
    }

    /// Password checks run so far, and the most that ran at once.
    pub fn password_checks(&self) -> (u64, usize) {
        (self.checks.evaluated(), self.checks.peak())
    }

    /// The dashboard's routes.
    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/login",
                get(login_page)
                    .post(login)
                    .layer(DefaultBodyLimit::max(LOGIN_BODY_MAX)),
            )
            .route("/logout", post(logout))
            .route("/", get(city_page))
            .route("/center/{id}", get(center_page))
            .route("/report", get(report_page))
            .route("/api/v1/city", get(city_json))
            .route("/api/v1/city/live", get(city_live))
            .route("/api/v1/report", get(report_api))
            .with_state(self)
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let secret = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == SESSION_COOKIE)?
            .value()
            .to_owned();
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now_ms();
        sessions.retain(|_, s| s.expires_ms > now);
        sessions.get(&secret).cloned()
    }

    async fn current(&self) -> Vec<CenterNow> {
        if let Some(now) = self.live.borrow().clone() {
            return (*now).clone();
        }
        city_now(&self.db, &self.centers, &self.status, (self.now)())
            .await
            .unwrap_or_default()
    }
}

/// What a viewer may not see of a center's link.
fn for_role(mut centers: Vec<CenterNow>, role: Role) -> Vec<CenterNow> {
    if role == Role::Viewer {
        for c in &mut centers {
            c.problem = None;
        }
    }
    centers
}

fn unauthorized(api: bool) -> Response {
    if api {
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "log in first: POST /login" })),
        )
            .into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

async fn login_page() -> Html<String> {
    Html(page(
        "Đăng nhập",
        r#"<form method="post" action="/login" class="login">
<h1>Toàn thành phố – Đăng nhập</h1>
<label>Tên đăng nhập <input id="name" name="name" autocomplete="username" required autofocus></label>
<label>Mật khẩu <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button id="login-button" type="submit">Đăng nhập</button>
</form>"#,
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

/// A login refused before its check: 429, `Retry-After` and the wait on
/// the page.
fn too_many(wait: Duration, why: &str) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, secs.to_string())],
        Html(page(
            "Đăng nhập",
            &format!(
                r#"<div class="login"><h1>Tạm thời chưa đăng nhập được</h1><p>{why} Hãy thử lại sau {secs} giây.</p><p><a href="/login">Thử lại</a></p></div>"#
            ),
        )),
    )
        .into_response()
}

async fn login(
    State(d): State<Dashboard>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: Request,
) -> Response {
    let addr = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(a))| a.ip(),
    );
    // An announced length over the limit is refused before reading a byte
    // (a body without a length is cut at the limit while read).
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let form = if announced.is_some_and(|n| n > LOGIN_BODY_MAX as u64) {
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    } else {
        Form::<LoginForm>::from_request(request, &d)
            .await
            .map_err(|rejection: FormRejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            })
    };
    let form = match form {
        Ok(Form(form)) if form.name.len() <= 64 && form.password.len() <= 256 => form,
        refused => {
            let status = refused.err().unwrap_or(StatusCode::BAD_REQUEST);
            tracing::info!(%addr, "dashboard login with a malformed body ({status})");
            return (
                status,
                Html(page(
                    "Đăng nhập",
                    r#"<div class="login"><h1>Yêu cầu đăng nhập không hợp lệ</h1><p>Hãy nhập tên đăng nhập và mật khẩu vào biểu mẫu.</p><p><a href="/login">Thử lại</a></p></div>"#,
                )),
            )
                .into_response();
        }
    };
    // A thread must be free before anything is counted: a refusal here
    // costs nothing and is not held against the address.
    let Some(permit) = d.checks.try_permit() else {
        return too_many(
            Duration::from_secs(1),
            "Đang có nhiều lượt đăng nhập cùng lúc.",
        );
    };
    // Counted before the check, so parallel guesses cannot all get past.
    if let Err(refusal) = d.throttle.begin(addr, &form.name, Instant::now()) {
        tracing::info!(%addr, ?refusal, "dashboard login throttled");
        let why = match refusal {
            Refusal::Throttled(_) => "Máy này đã đăng nhập sai quá nhiều lần.",
            Refusal::Ceiling(_) => "Có quá nhiều lượt đăng nhập trong thời gian ngắn.",
        };
        return too_many(refusal.wait(), why);
    }
    let accounts = d.accounts.clone();
    let (name, password) = (form.name.clone(), form.password);
    let role = permit
        .run(move || accounts.check(&name, &password))
        .await
        .flatten();
    let Some(role) = role else {
        // The name only if it is an account's (it may be a password typed
        // in the wrong field).
        let name = if d.accounts.list().iter().any(|(n, _)| *n == form.name) {
            form.name.as_str()
        } else {
            "(no such account)"
        };
        tracing::info!(%name, %addr, "dashboard login refused");
        return (
            StatusCode::UNAUTHORIZED,
            Html(page(
                "Đăng nhập",
                r#"<div class="login"><h1>Sai tên đăng nhập hoặc mật khẩu</h1><p><a href="/login">Thử lại</a></p></div>"#,
            )),
        )
            .into_response();
    };
    d.throttle.succeeded(addr, &form.name);
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    d.sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            secret.clone(),
            Session {
                name: form.name.clone(),
                role,
                expires_ms: now_ms() + SESSION_MS,
            },
        );
    let cookie = cookie::Cookie::build((SESSION_COOKIE, secret))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .build();
    (
        [(header::SET_COOKIE, cookie.to_string())],
        Redirect::to("/"),
    )
        .into_response()
}

async fn logout(State(d): State<Dashboard>, headers: HeaderMap) -> Response {
    if let Some(session) = d.session(&headers) {
        d.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, s| s.name != session.name || s.expires_ms != session.expires_ms);
    }
    let cookie = format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

async fn city_json(State(d): State<Dashboard>, headers: HeaderMap) -> Response {
    let Some(session) = d.session(&headers) else {
        return unauthorized(true);
    };
    Json(serde_json::json!({
        "user": session.name,
        "role": session.role,
        "centers": for_role(d.current().await, session.role),
    }))
    .into_response()
}

async fn city_live(State(d): State<Dashboard>, headers: HeaderMap) -> Response {
    let Some(session) = d.session(&headers) else {
        return unauthorized(true);
    };
    let mut live = d.live.clone();
    live.mark_changed();
    let role = session.role;
    let stream = futures_util::stream::unfold(live, move |mut live| async move {
        // A comment line every 15 s keeps proxies from closing the stream.
        let changed =
            tokio::time::timeout(std::time::Duration::from_secs(15), live.changed()).await;
        let chunk = match changed {
            Ok(Err(_)) => return None,
            Err(_) => ": keep-alive\n\n".to_owned(),
            Ok(Ok(())) => {
                let now = live.borrow_and_update().clone();
                match now {
                    Some(now) => format!(
                        "event: city\ndata: {}\n\n",
                        serde_json::to_string(&for_role((*now).clone(), role)).unwrap_or_default()
                    ),
                    None => ": waiting\n\n".to_owned(),
                }
            }
        };
        Some((Ok::<_, std::convert::Infallible>(chunk), live))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    format: Option<String>,
}

fn valid_day(day: &str) -> bool {
    day.parse::<jiff::civil::Date>().is_ok() && day.len() == 10
}

async fn report_api(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    if d.session(&headers).is_none() {
        return unauthorized(true);
    }
    let bad = |m: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": m })),
        )
    };
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return bad("give from and to as YYYY-MM-DD".into()).into_response();
    };
    if !valid_day(&from) || !valid_day(&to) {
        return bad(format!("{from:?} or {to:?} is not a day: write YYYY-MM-DD")).into_response();
    }
    let by: GroupBy = match q.by.as_deref().unwrap_or("center").parse() {
        Ok(by) => by,
        Err(e) => return bad(e).into_response(),
    };
    let report = match report::report(&d.db, &from, &to, by).await {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    };
    match q.format.as_deref().unwrap_or("json") {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"city-{from}-{to}-{}.csv\"",
                        q.by.as_deref().unwrap_or("center")
                    ),
                ),
            ],
            report::to_csv(&report),
        )
            .into_response(),
        "table" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            report::to_table(&report),
        )
            .into_response(),
        "json" => Json(report).into_response(),
        other => bad(format!("unknown format {other:?}: use json, csv or table")).into_response(),
    }
}

async fn city_page(State(d): State<Dashboard>, headers: HeaderMap) -> Response {
    let Some(session) = d.session(&headers) else {
        return unauthorized(false);
    };
    let body = format!(
        r#"<header><h1>Trung tâm hành chính công – toàn thành phố</h1>
<nav><a href="/report">Báo cáo</a> · {} ({}) <form method="post" action="/logout"><button>Đăng xuất</button></form></nav></header>
<p id="updated" class="muted">Đang tải…</p>
<table id="city"><thead><tr><th>Trung tâm</th><th>Kết nối</th><th>Đang chờ</th><th>Số chờ lâu nhất</th><th>Quầy đang mở</th><th>Máy in</th><th>Đã phục vụ hôm nay</th><th>Đánh giá hôm nay</th></tr></thead><tbody></tbody></table>
<script>{CITY_JS}</script>"#,
        escape(&session.name),
        role_vi(session.role),
    );
    Html(page("Toàn thành phố", &body)).into_response()
}

async fn center_page(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = d.session(&headers) else {
        return unauthorized(false);
    };
    let Some(center) = d.current().await.into_iter().find(|c| c.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Không có",
                "<h1>Không có trung tâm này</h1><p><a href=\"/\">Về trang chính</a></p>",
            )),
        )
            .into_response();
    };
    let center = for_role(vec![center], session.role).remove(0);
    let today = center.service_day.clone().unwrap_or_default();
    let rows = if today.is_empty() {
        Vec::new()
    } else {
        report::report(&d.db, &today, &today, GroupBy::Department)
            .await
            .map(|r| r.rows.into_iter().filter(|r| r.center == id).collect())
            .unwrap_or_default()
    };
    let mut table = String::from("<table><thead><tr><th>Lĩnh vực</th><th>Đã cấp số</th><th>Đã phục vụ</th><th>Vắng mặt</th><th>Chờ trung vị</th><th>Chờ p90</th><th>Chờ lâu nhất</th><th>Phục vụ trung vị</th><th>Đánh giá</th></tr></thead><tbody>");
    for r in &rows {
        table += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.key),
            r.issued.unwrap_or(0),
            r.served,
            r.no_show,
            mins(r.waiting.p50_secs),
            mins(r.waiting.p90_secs),
            mins(r.waiting.max_secs),
            mins(r.service.p50_secs),
            r.ratings_total
        );
    }
    table += "</tbody></table>";
    let link = link_vi(&center.link);
    let problem = center
        .problem
        .as_deref()
        .map(|p| format!("<p class=\"problem\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        r#"<header><h1>{name}</h1><nav><a href="/">← Toàn thành phố</a> · <a href="/report">Báo cáo</a></nav></header>
<p class="link {state}">{link}</p>{problem}
<div class="cards">
<div class="card"><b>{waiting}</b>đang chờ</div>
<div class="card"><b>{oldest}</b>số chờ lâu nhất</div>
<div class="card"><b>{open}</b>quầy đang mở ({busy} đang phục vụ)</div>
<div class="card"><b>{printer}</b>máy in</div>
<div class="card"><b>{served}</b>đã phục vụ hôm nay ({issued} số đã cấp)</div>
<div class="card"><b>{ratings}</b>đánh giá hôm nay</div>
</div>
<h2>Hôm nay ({today}) theo lĩnh vực</h2>{table}"#,
        name = escape(&center.name),
        state = escape(&center.link),
        waiting = center.waiting,
        oldest = match (&center.oldest_label, center.oldest_wait_secs) {
            (Some(l), Some(s)) => format!("{} · {}", escape(l), mins(Some(s))),
            _ => "—".into(),
        },
        open = center.counters_open,
        busy = center.counters_busy,
        printer = printer_vi(center.printer_fault.as_deref()),
        served = center.served,
        issued = center.issued,
        ratings = ratings_vi(&center.ratings),
        today = escape(&today),
    );
    Html(page(&center.name, &body)).into_response()
}

async fn report_page(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    if d.session(&headers).is_none() {
        return unauthorized(false);
    }
    let today = jiff::Zoned::now()
        .with_time_zone(
            jiff::tz::TimeZone::get(report::TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .date()
        .to_string();
    let from = q
        .from
        .filter(|d| valid_day(d))
        .unwrap_or_else(|| today.clone());
    let to =
        q.to.filter(|d| valid_day(d))
            .unwrap_or_else(|| today.clone());
    let by_text = q.by.unwrap_or_else(|| "center".into());
    let by: GroupBy = by_text.parse().unwrap_or(GroupBy::Center);
    let options: String = [
        ("center", "Trung tâm"),
        ("department", "Lĩnh vực"),
        ("officer", "Cán bộ"),
        ("hour", "Giờ"),
        ("day", "Ngày"),
    ]
    .iter()
    .map(|(v, l)| {
        let sel = if *v == by_text { " selected" } else { "" };
        format!("<option value=\"{v}\"{sel}>{l}</option>")
    })
    .collect();
    let mut table = String::new();
    match report::report(&d.db, &from, &to, by).await {
        Ok(r) => {
            table += "<div class=\"wide\"><table class=\"report\"><thead><tr>";
            for h in report::headers(&r) {
                table += &format!("<th title=\"{}\">{}</th>", escape(&h), header_vi(&h));
            }
            table += "</tr></thead><tbody>";
            for row in &r.rows {
                table += "<tr>";
                for c in report::cells(&r, row) {
                    table += &format!("<td>{}</td>", escape(&c));
                }
                table += "</tr>";
            }
            table += "</tbody></table></div>";
            for (center, day) in &r.summary_only {
                table += &format!(
                    "<p class=\"muted\">{} {}: chỉ có số liệu tổng hợp (summary-only)</p>",
                    escape(center),
                    escape(day)
                );
            }
            for note in &r.notes {
                table += &format!("<p class=\"muted\">{}</p>", escape(note));
            }
        }
        Err(e) => table += &format!("<p class=\"problem\">{}</p>", escape(&e.to_string())),
    }
    let body = format!(
        r#"<header><h1>Báo cáo toàn thành phố</h1><nav><a href="/">← Toàn thành phố</a></nav></header>
<form method="get" action="/report" class="filters">
<label>Từ ngày <input type="date" name="from" value="{from}"></label>
<label>Đến ngày <input type="date" name="to" value="{to}"></label>
<label>Theo <select name="by">{options}</select></label>
<button type="submit">Xem</button>
<a href="/api/v1/report?from={from}&amp;to={to}&amp;by={by_text}&amp;format=csv">Tải CSV</a>
</form>{table}"#,
        by_text = escape(&by_text),
    );
    Html(page("Báo cáo", &body)).into_response()
}

/// A report column's Vietnamese heading (the CSV keeps the English names).
fn header_vi(name: &str) -> String {
    let known = match name {
        "center" => "Trung tâm",
        "key" => "Nhóm",
        "issued" => "Đã cấp số",
        "served" => "Đã phục vụ",
        "no_show" => "Vắng mặt",
        "waiting_p50_s" => "Chờ trung vị (giây)",
        "waiting_p90_s" => "Chờ p90 (giây)",
        "waiting_max_s" => "Chờ lâu nhất (giây)",
        "service_p50_s" => "Phục vụ trung vị (giây)",
        "service_p90_s" => "Phục vụ p90 (giây)",
        "service_max_s" => "Phục vụ lâu nhất (giây)",
        "summary_days" => "Ngày chỉ có tổng hợp",
        "ratings" => "Đánh giá",
        "rating_very_satisfied" => "Rất hài lòng",
        "rating_satisfied" => "Hài lòng",
        "rating_neutral" => "Bình thường",
        "rating_unsatisfied" => "Không hài lòng",
        other => return escape(other),
    };
    known.to_owned()
}

fn role_vi(role: Role) -> &'static str {
    match role {
        Role::Admin => "quản trị",
        Role::Viewer => "xem",
    }
}

fn link_vi(state: &str) -> &'static str {
    match state {
        "following" => "Đang kết nối",
        "refused" => "Sai mã truy cập (token) – trung tâm từ chối",
        "unreachable" => "Mất kết nối",
        "database" => "Lỗi cơ sở dữ liệu",
        "diverged" => "Dữ liệu không khớp",
        _ => "Đang khởi động",
    }
}

fn printer_vi(fault: Option<&str>) -> String {
    match fault {
        None => "Bình thường".into(),
        Some("printer_paper_out") => "Hết giấy".into(),
        Some("printer_cover_open") => "Mở nắp".into(),
        Some("printer_unreachable") => "Không kết nối".into(),
        Some(other) => format!("Lỗi ({})", escape(other)),
    }
}

fn ratings_vi(ratings: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = ratings.values().sum();
    if total == 0 {
        return "—".into();
    }
    let good = ratings.get("very_satisfied").copied().unwrap_or(0)
        + ratings.get("satisfied").copied().unwrap_or(0);
    format!("{total} ({}% hài lòng)", good * 100 / total)
}

fn mins(secs: Option<u64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} giây"),
        Some(s) => format!("{} phút", s / 60),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} – City hub</title><style>{CSS}</style></head><body>{body}</body></html>"#,
        escape(title)
    )
}

const CSS: &str = "
body{font-family:'DejaVu Sans','Noto Sans',sans-serif;margin:0 1.5rem;color:#1d2733;background:#f4f6f8}
header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap}
h1{font-size:1.5rem;color:#0b4f8a} nav form{display:inline}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0}
th,td{padding:.45rem .6rem;border-bottom:1px solid #dde3ea;text-align:left}
th{background:#0b4f8a;color:#fff;font-weight:600}
tr.refused td,tr.unreachable td,tr.diverged td{background:#fdecea}
.bad{color:#b3261e;font-weight:600}.ok{color:#1b7f3b}.muted{color:#6b7785}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{background:#fff;padding:.8rem 1rem;min-width:11rem;border-radius:.4rem;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:1.6rem;color:#0b4f8a}
.login{max-width:22rem;margin:4rem auto;display:flex;flex-direction:column;gap:.8rem;background:#fff;padding:1.5rem;border-radius:.5rem}
.login input{width:100%;padding:.4rem;font-size:1rem}.problem{color:#b3261e}
button{padding:.4rem .9rem} .wide{overflow-x:auto} table.report{font-size:.85rem} .filters{display:flex;gap:1rem;align-items:end;flex-wrap:wrap}
";

const CITY_JS: &str = r##"
const LINK={following:"Đang kết nối",refused:"Sai mã truy cập (token)",unreachable:"Mất kết nối",database:"Lỗi cơ sở dữ liệu",diverged:"Dữ liệu không khớp",starting:"Đang khởi động"};
const PRINTER={printer_paper_out:"Hết giấy",printer_cover_open:"Mở nắp",printer_unreachable:"Không kết nối"};
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]))}
function mins(s){if(s==null)return"—";return s<60?s+" giây":Math.floor(s/60)+" phút"}
function ratings(r){const t=Object.values(r).reduce((a,b)=>a+b,0);if(!t)return"—";const g=(r.very_satisfied||0)+(r.satisfied||0);return t+" ("+Math.floor(g*100/t)+"% hài lòng)"}
function draw(centers){
  const rows=centers.map(c=>{
    const ok=c.link==="following";
    const printer=c.printer_fault?'<span class="bad">'+esc(PRINTER[c.printer_fault]||c.printer_fault)+'</span>':'<span class="ok">Bình thường</span>';
    const oldest=c.oldest_label?esc(c.oldest_label)+" · "+mins(c.oldest_wait_secs):"—";
    return '<tr class="'+esc(c.link)+'" data-center="'+esc(c.id)+'"><td><a href="/center/'+encodeURIComponent(c.id)+'">'+esc(c.name)+'</a></td>'+
      '<td class="'+(ok?"ok":"bad")+'">'+esc(LINK[c.link]||c.link)+(c.problem?'<br><small>'+esc(c.problem)+'</small>':'')+'</td>'+
      '<td class="waiting">'+c.waiting+'</td><td>'+oldest+'</td><td>'+c.counters_open+'</td><td>'+printer+'</td>'+
      '<td class="served">'+c.served+'</td><td>'+ratings(c.ratings)+'</td></tr>'}).join("");
  document.querySelector("#city tbody").innerHTML=rows;
  document.getElementById("updated").textContent="Cập nhật lúc "+new Date().toLocaleTimeString("vi-VN");
}
fetch("/api/v1/city").then(r=>r.json()).then(j=>draw(j.centers));
const live=new EventSource("/api/v1/city/live");
live.addEventListener("city",e=>draw(JSON.parse(e.data)));
"##;
