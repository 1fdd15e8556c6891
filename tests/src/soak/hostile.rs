//! Scenario `hostile input`: property-based and hand-made bad input against
//! every surface a stranger on the LAN or a careless technician can reach.
//!
//! - the center config parser: random TOML-ish text and random mutations of
//!   the Phú Xuân example never panic, and a rejected mutation names a line;
//! - every `POST` route of the API with random JSON bodies (admin token, so
//!   the body really is parsed): never a 5xx, never a hang;
//! - oversized, truncated and malformed HTTP requests: a 4xx or a closed
//!   connection, never a 5xx;
//! - the display daemon's SSE parser with random bytes (its own proptest is
//!   `display-daemon/tests/sse.rs`) and the counter keypad with random pin
//!   levels: no panic, one action per debounced press at most once per
//!   interval;
//! - login brute force: how many guesses the throttle lets through;
//! - a parallel login flood and an idle-connection flood ([`super::flood`]);
//! - staff, display and keypad credentials against every admin route, and
//!   no credentials against every protected route: 403 / 401, always.
//!
//! The generators and checks are public so `tests/tests/hostile_*.rs` run
//! the same properties with more cases under `cargo test`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use embedded_hal::digital::{ErrorType, InputPin};
use kiosk::accounts::Accounts;
use kiosk::api::{Access, ApiOptions, ApiState, Method, ROUTES};
use kiosk::auth::Role;
use kiosk::daemon::open_app;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use queue_store::clock::SystemClock;
use serde_json::Value;

use super::{http, Mode, Row};

/// The password of the soak's staff account.
pub const STAFF_PASSWORD: &str = "mật khẩu của quầy hai";

/// The password of the soak's admin account.
pub const ADMIN_PASSWORD: &str = "mật khẩu của quản trị";

/// Random TOML-ish text: keys, tables, strings, numbers, brackets, quotes,
/// Vietnamese letters and line breaks.
pub fn toml_ish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r#"([a-z_\.\[\]]{0,12}( = )?("[a-zA-Zđơư ]{0,8}"|[0-9\-:]{0,6}|\[|\]|\{|\}|,|true)?\n?){0,24}"#,
    )
    .expect("valid regex")
}

/// A mutation of `text`: (byte offset, bytes removed, text inserted).
pub fn mutation() -> impl Strategy<Value = (usize, usize, String)> {
    (
        any::<usize>(),
        0usize..40,
        proptest::string::string_regex(r#"[a-z0-9="\[\]\{\},\.\n #ơ]{0,6}"#).expect("valid regex"),
    )
}

/// Applies a [`mutation`] to `text` at char boundaries.
pub fn mutate(text: &str, (at, remove, insert): &(usize, usize, String)) -> String {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = (at + remove).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{}{}", &text[..at], insert, &text[end..])
}

/// The config parser on `text`: `Err` describes a broken property. With
/// `located`, a rejection must name a line.
pub fn check_config(text: &str, located: bool) -> Result<(), String> {
    match kiosk_config::parse_center(text, "hostile.toml") {
        Ok(_) => Ok(()),
        Err(errors) if errors.errors.is_empty() => Err("rejected with no error at all".into()),
        Err(errors) if located && errors.errors.iter().all(|e| e.line == 0) => Err(format!(
            "rejected without any line: {}",
            errors
                .errors
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Err(_) => Ok(()),
    }
}

/// A random JSON value, biased towards the field names the API reads.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::string::string_regex(".{0,20}")
            .expect("regex")
            .prop_map(Value::String),
        (0u16..40).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "password",
            "role",
            "counters",
            "counter",
            "department",
            "ticket",
            "token",
            "reason",
            "priority",
        ])
        .prop_map(str::to_string),
        proptest::string::string_regex("[a-z_]{0,8}").expect("regex"),
    ]
}

/// A kiosk with its API on loopback and credentials of every kind.
pub struct HostileKiosk {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// Admin token.
    pub admin: String,
    /// Display token.
    pub display: String,
    /// Keypad token of counter 1.
    pub keypad: String,
    /// The staff account `quay2` (counter 2) and its password.
    pub staff: (&'static str, &'static str),
    /// The API's state (password-check and stream counters).
    pub state: ApiState,
    /// The kiosk behind it (presses during floods).
    pub app: kiosk::app::App,
    /// The admin account `quantri` and its password.
    pub admin_login: (&'static str, &'static str),
    /// Its data.
    _dir: tempfile::TempDir,
    /// Stops the server when dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl HostileKiosk {
    /// Starts one (inside a tokio runtime).
    pub async fn start() -> anyhow::Result<HostileKiosk> {
        let dir = tempfile::tempdir()?;
        let mut config = kiosk::demo::demo_config(dir.path(), "127.0.0.1:0".parse()?)?;
        config.kiosk.printer.transport = kiosk_config::PrinterTransport::File {
            path: dir.path().join("printer.bin"),
        };
        let config = Arc::new(config);
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
        let accounts = Accounts::open(&Accounts::path_in(dir.path()))?;
        let admin = accounts.add_token("script", Role::Admin, None)?;
        let display = accounts.add_token("bang", Role::Display, None)?;
        let keypad = accounts.add_token("phim-1", Role::Keypad, Some(1))?;
        accounts.add_user("quay2", Role::Staff, STAFF_PASSWORD, &[2])?;
        accounts.add_user("quantri", Role::Admin, ADMIN_PASSWORD, &[])?;
        let state = ApiState::new(app.clone(), accounts, ApiOptions::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kiosk::api::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(HostileKiosk {
            addr,
            admin,
            display,
            keypad,
            staff: ("quay2", STAFF_PASSWORD),
            state,
            app,
            admin_login: ("quantri", ADMIN_PASSWORD),
            _dir: dir,
            _stop: stop,
        })
    }
}

/// A route's path with its parameters filled in (`{n}` = `counter`).
pub fn concrete(path: &str, counter: u16) -> String {
    path.replace("{n}", &counter.to_string())
        .replace("{name}", "quay2")
        .replace("{id}", "1")
}

/// Posts `body` to every POST route as admin: `Err` names a 5xx or a hang.
pub async fn post_everywhere(kiosk: &HostileKiosk, body: &[u8]) -> Result<u64, String> {
    let auth = http::bearer(&kiosk.admin);
    let mut sent = 0;
    for route in ROUTES.iter().filter(|r| r.method == Method::Post) {
        // Reloading a random config is the config parser's property; logging
        // out the admin token is meaningless.
        // Not quay2: a random body could change its password or disable it.
        let path = concrete(route.path, 1).replace("quay2", "fuzz-target");
        let reply = http::request(
            kiosk.addr,
            "POST",
            &path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
        .await
        .map_err(|e| format!("POST {path}: {e:#}"))?;
        sent += 1;
        if reply.status >= 500 {
            return Err(format!(
                "POST {path} with {} answered {}: {}",
                String::from_utf8_lossy(body),
                reply.status,
                reply.body
            ));
        }
    }
    Ok(sent)
}

/// Malformed and oversized requests: (what, answer status or 0 when the
/// connection was closed without one). None may be a 5xx.
pub async fn malformed(kiosk: &HostileKiosk) -> Vec<(String, u16)> {
    let auth = http::bearer(&kiosk.admin);
    let big = vec![b'a'; kiosk::api::BODY_LIMIT + 1];
    let mut out = Vec::new();
    let mut record = |what: &str, result: anyhow::Result<http::Reply>| {
        out.push((what.to_string(), result.map(|r| r.status).unwrap_or(0)));
    };
    record(
        "body over the limit",
        http::request(
            kiosk.addr,
            "POST",
            "/api/v1/admin/config/validate",
            &[("Authorization", &auth)],
            Some(&big),
        )
        .await,
    );
    let huge_header = format!(
        "GET /api/v1/summary HTTP/1.1\r\nHost: k\r\nX-Big: {}\r\n\r\n",
        "x".repeat(200 * 1024)
    );
    record(
        "200 KiB header",
        http::raw(kiosk.addr, huge_header.as_bytes()).await,
    );
    record(
        "garbage request line",
        http::raw(kiosk.addr, b"\x00\x01\xffGET\r\n\r\n").await,
    );
    record(
        "truncated body",
        http::raw(
            kiosk.addr,
            b"POST /api/v1/login HTTP/1.1\r\nHost: k\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"name\":"
        )
        .await,
    );
    for (what, body) in [
        ("invalid JSON", &b"{\"name\": \"a\", "[..]),
        ("JSON of the wrong shape", &b"[1,2,3]"[..]),
        ("invalid UTF-8", &b"{\"name\": \"\xff\xfe\"}"[..]),
        ("deep nesting", "[".repeat(10_000).as_bytes()),
    ] {
        record(
            what,
            http::request(
                kiosk.addr,
                "POST",
                "/api/v1/admin/users",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                Some(body),
            )
            .await,
        );
    }
    record(
        "unknown method",
        http::request(kiosk.addr, "BREW", "/api/v1/summary", &[], None).await,
    );
    record(
        "path traversal",
        http::request(kiosk.addr, "GET", "/../../etc/passwd", &[], None).await,
    );
    out
}

/// Logs in; returns (cookie, CSRF token).
pub async fn login(
    addr: SocketAddr,
    name: &str,
    password: &str,
) -> anyhow::Result<(String, String)> {
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: k\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer).to_string();
    anyhow::ensure!(text.starts_with("HTTP/1.1 200"), "login failed: {text}");
    let cookie = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().starts_with("set-cookie:").then(|| {
                l["set-cookie:".len()..]
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
        })
        .context("no session cookie")?;
    let json: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or(""))?;
    let csrf = json["csrf_token"]
        .as_str()
        .context("no csrf_token")?
        .to_string();
    Ok((cookie, csrf))
}

/// A request path, its headers, the status expected and the counter.
type Attempt<'a> = (String, Vec<(&'a str, &'a str)>, u16, u16);

/// Every admin route with staff, display and keypad credentials, every
/// counter route for someone else's counter, and every protected route with
/// no credentials: (requests, the ones that were not refused).
pub async fn walk_forbidden(kiosk: &HostileKiosk) -> anyhow::Result<(u64, Vec<String>)> {
    let (cookie, csrf) = login(kiosk.addr, kiosk.staff.0, kiosk.staff.1).await?;
    let display = http::bearer(&kiosk.display);
    let keypad = http::bearer(&kiosk.keypad);
    let staff: Vec<(&str, &str)> = vec![("Cookie", &cookie), ("X-CSRF-Token", &csrf)];
    let mut tried = 0;
    let mut allowed = Vec::new();
    for route in ROUTES {
        let method = route.method.as_str();
        let body = route.method.is_mutating().then_some(&b"{}"[..]);
        let json = ("Content-Type", "application/json");
        let mut attempts: Vec<Attempt> = Vec::new();
        match route.access {
            Access::Public => continue,
            Access::Roles(roles) if roles == [Role::Admin] => {
                let p = concrete(route.path, 2);
                let mut s = staff.clone();
                s.push(json);
                attempts.push((p.clone(), s, 403, 2));
                attempts.push((p.clone(), vec![("Authorization", &display), json], 403, 2));
                attempts.push((p, vec![("Authorization", &keypad), json], 403, 2));
            }
            Access::Counter(_) => {
                // Staff of counter 2 and the keypad of counter 1 at counter 3.
                let p = concrete(route.path, 3);
                let mut s = staff.clone();
                s.push(json);
                attempts.push((p.clone(), s, 403, 3));
                attempts.push((p, vec![("Authorization", &keypad), json], 403, 3));
            }
            Access::Touch(_) => {
                // Other devices' credentials never reach the touch page's
                // API. Without credentials the kiosk's own loopback does
                // (this walk runs on loopback), by design: kiosk's
                // api_routes test covers `loopback = false`.
                let p = concrete(route.path, 2);
                let mut s = staff.clone();
                s.push(json);
                attempts.push((p.clone(), s, 403, 2));
                attempts.push((p.clone(), vec![("Authorization", &display), json], 403, 2));
                attempts.push((p, vec![("Authorization", &keypad), json], 403, 2));
            }
            _ => {}
        }
        // No credentials at all.
        if !matches!(route.access, Access::Touch(_)) {
            attempts.push((concrete(route.path, 2), vec![json], 401, 2));
        }
        for (path, headers, want, _) in attempts {
            tried += 1;
            let reply = http::request(kiosk.addr, method, &path, &headers, body).await?;
            if reply.status != want {
                allowed.push(format!(
                    "{method} {path} with {:?} answered {} (expected {want}): {}",
                    headers.first().map(|h| h.0),
                    reply.status,
                    reply.body.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    Ok((tried, allowed))
}

/// Wrong passwords for `seconds`, as fast as the throttle answers: (guesses
/// the server actually checked, requests refused with 429).
pub async fn brute_force(kiosk: &HostileKiosk, seconds: u64) -> anyhow::Result<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut checked, mut throttled) = (0, 0);
    let mut i = 0u64;
    while Instant::now() < deadline {
        i += 1;
        let body = serde_json::json!({ "name": kiosk.staff.0, "password": format!("guess {i}") })
            .to_string();
        let reply = http::request(
            kiosk.addr,
            "POST",
            "/api/v1/login",
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
        .await?;
        match reply.status {
            429 => throttled += 1,
            401 | 403 => checked += 1,
            other => anyhow::bail!("a wrong password answered {other}: {}", reply.body),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((checked, throttled))
}

/// Most guesses the default throttle (5 free, then 1 s doubling to 60 s)
/// may let through in `seconds`.
pub fn throttle_bound(seconds: u64) -> u64 {
    let (mut allowed, mut at, mut delay) = (5u64, 0u64, 1u64);
    loop {
        at += delay;
        if at > seconds {
            return allowed;
        }
        allowed += 1;
        delay = (delay * 2).min(60);
    }
}

/// A pin whose levels are a script, one per poll.
pub struct ScriptedPin {
    /// Levels, one per poll; the last one repeats.
    pub levels: Vec<bool>,
    /// Polls so far.
    pub at: usize,
}

impl ErrorType for ScriptedPin {
    type Error = Infallible;
}

impl InputPin for ScriptedPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        let level = self
            .levels
            .get(self.at)
            .or(self.levels.last())
            .copied()
            .unwrap_or(false);
        self.at += 1;
        Ok(level)
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        self.is_high().map(|h| !h)
    }
}

/// A keypad key fed `levels` (one poll every 5 ms): `Err` when it fired
/// twice within the minimum interval or more often than it was pressed.
pub fn check_keypad(levels: &[bool]) -> Result<usize, String> {
    use display_daemon::keypad::{KeyRule, KeypadAction, KeypadReader};
    let rule = KeyRule::default();
    let mut reader = KeypadReader::new(rule);
    reader.add_key(
        KeypadAction::Next,
        ScriptedPin {
            levels: levels.to_vec(),
            at: 0,
        },
        kiosk_config::ActiveLevel::High,
    );
    let start = Instant::now();
    let mut fired = Vec::new();
    for step in 0..levels.len() + 10 {
        let now = start + Duration::from_millis(5 * step as u64);
        let actions = reader.poll(now).map_err(|e| e.to_string())?;
        fired.extend(actions.into_iter().map(|_| now));
    }
    let rises = levels.windows(2).filter(|w| !w[0] && w[1]).count()
        + usize::from(levels.first() == Some(&true));
    if fired.len() > rises {
        return Err(format!("{} actions from {rises} presses", fired.len()));
    }
    for pair in fired.windows(2) {
        if pair[1] - pair[0] < rule.min_interval {
            return Err(format!("two actions {:?} apart", pair[1] - pair[0]));
        }
    }
    Ok(fired.len())
}

/// Random bytes into the display daemon's SSE parser, in random chunks.
pub fn check_sse(bytes: &[u8], split: usize) -> Result<usize, String> {
    let mut parser = display_daemon::sse::SseParser::with_max_line(4096);
    let cut = split % (bytes.len() + 1);
    let mut events = parser.feed(&bytes[..cut]).len();
    events += parser.feed(&bytes[cut..]).len();
    Ok(events)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `cases` of a property; `Err` is the minimal failing input's story.
pub fn property<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), String>,
) -> Result<(), String>
where
    S::Value: std::fmt::Debug,
{
    runner(cases)
        .run(&strategy, |value| test(value).map_err(TestCaseError::fail))
        .map_err(|e| e.to_string())
}

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("hostile input");
    let cases = mode.pick(300, 3000);
    let example = kiosk_config::examples::PHU_XUAN;

    // Config parser.
    let r = property(cases, toml_ish(), |text| check_config(&text, false));
    row.expect(r.is_ok(), || {
        format!("config parser, random text: {}", r.clone().unwrap_err())
    });
    let r = property(cases, mutation(), |m| {
        check_config(&mutate(example, &m), true)
    });
    row.expect(r.is_ok(), || {
        format!("config parser, mutations: {}", r.clone().unwrap_err())
    });
    row.tries += 2 * u64::from(cases);

    // SSE parser and keypad.
    let r = property(
        cases,
        (
            proptest::collection::vec(any::<u8>(), 0..2048),
            any::<usize>(),
        ),
        |(bytes, split)| check_sse(&bytes, split).map(|_| ()),
    );
    row.expect(r.is_ok(), || {
        format!("SSE parser: {}", r.clone().unwrap_err())
    });
    let r = property(
        cases,
        proptest::collection::vec(any::<bool>(), 0..600),
        |levels| check_keypad(&levels).map(|_| ()),
    );
    row.expect(r.is_ok(), || format!("keypad: {}", r.clone().unwrap_err()));
    row.tries += 2 * u64::from(cases);
    row.check(format!(
        "config parser {} random + {} mutated inputs: no panic, rejections located; SSE parser {cases} random streams (and display-daemon/tests/sse.rs); keypad {cases} random pin scripts: ≤1 action per press and interval",
        cases, cases
    ));

    let runtime = super::runtime()?;
    let kiosk = runtime.block_on(HostileKiosk::start())?;

    // Random JSON to every POST route.
    let json_cases = mode.pick(40, 400);
    let handle = runtime.handle().clone();
    let sent = std::sync::atomic::AtomicU64::new(0);
    let r = property(json_cases, json_value(), |value| {
        let body = value.to_string();
        let n = handle.block_on(post_everywhere(&kiosk, body.as_bytes()))?;
        sent.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    row.expect(r.is_ok(), || {
        format!("API JSON bodies: {}", r.clone().unwrap_err())
    });
    let sent = sent.into_inner();
    row.tries += sent;

    let answers = runtime.block_on(malformed(&kiosk));
    for (what, status) in &answers {
        row.expect(*status == 0 || (400..500).contains(status), || {
            format!("{what}: answered {status}")
        });
    }
    row.tries += answers.len() as u64;
    row.check(format!(
        "{sent} random JSON bodies to every POST route: no 5xx; {} malformed/oversized requests: {}",
        answers.len(),
        answers
            .iter()
            .map(|(w, s)| format!("{w} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let (tried, allowed) = runtime.block_on(walk_forbidden(&kiosk))?;
    row.tries += tried;
    for problem in &allowed {
        row.fail(format!("unauthorized: {problem}"));
    }
    row.check(format!(
        "{tried} requests with staff/display/keypad credentials to admin routes, other counters' routes, or none: all 403/401"
    ));

    let seconds = mode.pick(10, 60);
    let (checked, throttled) = runtime.block_on(brute_force(&kiosk, seconds))?;
    row.tries += checked + throttled;
    let bound = throttle_bound(seconds);
    row.expect(checked <= bound, || {
        format!("login throttle let {checked} guesses through in {seconds} s (bound {bound})")
    });
    row.check(format!(
        "login brute force {seconds} s: {checked} guesses checked, {throttled} refused with 429 (≤ {} per minute at most)",
        throttle_bound(60)
    ));
    row.figure(format!("login_guesses_per_{seconds}s: {checked}"));

    let flood = runtime.block_on(super::flood::login_flood(&kiosk, mode.pick(300, 1000)))?;
    flood.judge(&mut row);
    let idle = runtime.block_on(super::flood::idle_flood(&kiosk, mode.pick(1100, 3000)))?;
    idle.judge(&mut row);
    Ok(row)
}
