//! Shared helpers of the API tests: a real kiosk (store, printer worker
//! writing to a file, manual clock inside opening hours) serving the API on
//! 127.0.0.1:0, a tiny HTTP/1.1 client and an SSE reader over tokio sockets.

#![allow(dead_code)]

#[path = "../../../queue-store/tests/store_support/mod.rs"]
pub mod store_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::App;
use kiosk::auth::Role;
use kiosk::printing::Printer;
use kiosk_config::CenterConfig;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{Durability, Store, StoreOptions};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The password of every test account.
pub const PASSWORD: &str = "mật khẩu thử nghiệm";

/// A kiosk serving its API on loopback.
pub struct TestKiosk {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The API's state.
    pub state: ApiState,
    /// The kiosk.
    pub app: App,
    /// Its data.
    pub dir: tempfile::TempDir,
    /// Admin bearer token.
    pub admin_token: String,
    /// Display token.
    pub display_token: String,
    /// Keypad token of counter 1.
    pub keypad_token: String,
    /// The city hub's reader token.
    pub reader_token: String,
    /// The kiosk's clock (starts at store_support's morning).
    pub clock: ManualClock,
    /// Stops the server when dropped.
    _stop: oneshot::Sender<()>,
}

/// How to build a test kiosk.
pub struct Setup {
    /// API options (config path, throttle).
    pub options: ApiOptions,
    /// Broadcast channel capacity of the store.
    pub broadcast_capacity: usize,
    /// Flush or not.
    pub durability: Durability,
    /// Make the staff account `lan` (counter 1): costs an argon2 hash.
    pub with_staff: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            options: ApiOptions::default(),
            broadcast_capacity: 1024,
            durability: Durability::Deferred,
            with_staff: false,
        }
    }
}

/// The test center (store_support's), with its data directory in `dir`.
pub fn center(dir: &std::path::Path) -> CenterConfig {
    let mut config = store_support::center();
    config.kiosk.data_dir = dir.to_path_buf();
    // ho-tich has a service-level target (over-target marks and metrics).
    config.departments[0].target_wait = Some(Duration::from_secs(30 * 60));
    config
}

impl TestKiosk {
    /// Starts a kiosk as `setup` says.
    pub async fn start(setup: Setup) -> TestKiosk {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Arc::new(center(dir.path()));
        let clock = ManualClock::new(store_support::morning());
        let store = Store::open(
            &dir.path().join("store"),
            Arc::clone(&config),
            Arc::new(clock.clone()),
            &StoreOptions {
                cache_bytes: 1024 * 1024,
                durability: setup.durability,
                broadcast_capacity: setup.broadcast_capacity,
                ..StoreOptions::default()
            },
        )
        .expect("store opens");
        let printer = Printer::spawn(
            Box::new(ticket_printer::transport::FileTransport::new(
                &dir.path().join("printer.bin"),
            )),
            Duration::from_secs(3600),
        );
        let app = App::new(store, printer, Arc::new(clock.clone()));
        let accounts = Accounts::open(&Accounts::path_in(dir.path())).expect("accounts");
        let admin_token = accounts.add_token("script", Role::Admin, None).unwrap();
        let display_token = accounts.add_token("bang-san", Role::Display, None).unwrap();
        let keypad_token = accounts.add_token("quay-1", Role::Keypad, Some(1)).unwrap();
        let reader_token = accounts.add_token("city-hub", Role::Reader, None).unwrap();
        if setup.with_staff {
            accounts
                .add_user("lan", Role::Staff, PASSWORD, &[1])
                .unwrap();
        }
        let state = ApiState::new(app.clone(), accounts, setup.options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(kiosk::api::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestKiosk {
            addr,
            state,
            app,
            dir,
            admin_token,
            display_token,
            keypad_token,
            reader_token,
            clock,
            _stop: stop,
        }
    }

    /// Issues a ticket for `department` straight in the store.
    pub async fn issue(&self, department: &'static str) {
        let store = self.app.store().clone();
        kiosk::app::blocking(move || store.issue(&department.into(), None, Actor::Button))
            .await
            .expect("ticket issued");
    }

    /// A request to this kiosk.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        request(self.addr, method, path, headers, body).await
    }

    /// Logs `name` in; returns (cookie header value, csrf token).
    pub async fn login(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({ "name": name, "password": PASSWORD }).to_string();
        let reply = self
            .call(
                "POST",
                "/api/v1/login",
                &[("content-type", "application/json")],
                Some(&body),
            )
            .await;
        assert_eq!(reply.status, 200, "login: {}", reply.body);
        let set_cookie = reply.header("set-cookie").expect("cookie set").to_string();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        (
            cookie,
            reply.json()["csrf_token"].as_str().unwrap().to_string(),
        )
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn request_text(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    close: bool,
) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: kiosk\r\n");
    if close {
        text.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(body) = body {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    if let Some(body) = body {
        text.push_str(body);
    }
    text
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("header line");
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (status, headers)
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
}

/// Reads one chunk of a chunked body; `None` at the end.
async fn read_chunk(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let size = usize::from_str_radix(line.trim(), 16).ok()?;
    if size == 0 {
        return None;
    }
    let mut data = vec![0; size + 2];
    reader.read_exact(&mut data).await.ok()?;
    data.truncate(size);
    Some(data)
}

/// One request on a fresh connection; reads the whole answer.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    request_on(stream, method, path, headers, body).await
}

/// A connection to `addr` from the loopback address `from` (any of
/// 127.0.0.0/8), as another machine of the LAN would be seen.
pub async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("an IPv4 address"))
        .expect("bind a loopback address");
    socket.connect(addr).await.expect("connect")
}

/// One request from the loopback address `from`.
pub async fn request_from(
    from: &str,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let stream = connect_from(from, addr).await;
    request_on(stream, method, path, headers, body).await
}

async fn request_on(
    mut stream: TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    stream
        .write_all(request_text(method, path, headers, body, true).as_bytes())
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await;
    let mut body = Vec::new();
    if is_chunked(&headers) {
        while let Some(chunk) = read_chunk(&mut reader).await {
            body.extend(chunk);
        }
    } else {
        let _ = reader.read_to_end(&mut body).await;
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// `id:`.
    pub id: Option<u64>,
    /// `event:`.
    pub event: String,
    /// `data:` parsed as JSON.
    pub data: Value,
}

/// A connected event stream.
pub struct SseClient {
    reader: BufReader<TcpStream>,
    pending: Vec<u8>,
    /// The `retry:` value seen, ms.
    pub retry: Option<u64>,
}

/// Opens `GET path` as an event stream; returns the status and the client.
pub async fn open_stream(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, SseClient) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    open_stream_on(stream, path, headers).await
}

/// Opens an event stream on a connection made by the caller.
pub async fn open_stream_on(
    mut stream: TcpStream,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, SseClient) {
    stream
        .write_all(request_text("GET", path, headers, None, false).as_bytes())
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await;
    assert!(
        status != 200 || is_chunked(&headers),
        "a stream is sent chunked"
    );
    (
        status,
        SseClient {
            reader,
            pending: Vec::new(),
            retry: None,
        },
    )
}

impl SseClient {
    /// The next event (comments and `retry:` skipped); `None` when the
    /// stream ended.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("UTF-8 stream");
                let (mut id, mut event, mut data) = (None, String::new(), None);
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).expect("data is JSON"));
                    } else if let Some(v) = line.strip_prefix("retry: ") {
                        self.retry = v.parse().ok();
                    }
                }
                if let Some(data) = data {
                    return Some(SseEvent { id, event, data });
                }
                continue;
            }
            let chunk = read_chunk(&mut self.reader).await?;
            self.pending.extend(chunk);
        }
    }
}

/// Runs `f` with a deadline; panics with `what` when it passes.
pub async fn within<T>(secs: u64, what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {secs} s"))
}
