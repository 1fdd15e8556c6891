//! Perf scenario `call`: a staff member's "next" → the `called` event read
//! by each of 100 clients of the live stream, on loopback, with the durable
//! store (each "next" is flushed to disk before it is broadcast).
//!
//! The kiosk's API runs as in the daemon (two worker threads); a staff
//! member logged in with a session cookie sends `POST
//! /api/v1/counters/{n}/next` on a kept-alive connection; 100 stream clients
//! parse every event. The latency of one call is measured from just before
//! the request is written to the moment each client has parsed the call's
//! event: 100 samples per call. Calls are sent one after the other, each
//! once the 100 clients have it. Prints `call_to_100_displays_p50/p99` (ms,
//! target p99 < 5 ms) and `next_requests_per_second` (back-to-back "next"
//! on one connection while the 100 clients read).
//!
//! The clients (staff connection and stream readers) run in a process of
//! their own, this binary started again with `PERF_CALL_CLIENTS_OF` set, as
//! on the LAN where the displays are other machines; the same clients then
//! run once more inside the kiosk's process and runtime, printed with the
//! suffix `_in_process`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::auth::Role;
use kiosk::daemon::open_app;
use kiosk::demo::demo_config;
use queue_protocol::Actor;
use queue_store::clock::SystemClock;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::perf::quantile;

const CLIENTS: usize = 100;
const CALLS: usize = 300;
const WARMUP: usize = 20;
const RATE_CALLS: usize = 500;

/// Env var that turns `perf call` into the client process: the kiosk's
/// address, the display token and the counters, `addr;token;1,2,3`.
const CLIENT_ENV: &str = "PERF_CALL_CLIENTS_OF";

/// Runs the scenario.
pub fn run() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if let Ok(target) = std::env::var(CLIENT_ENV) {
        let (addr, rest) = target.split_once(';').context("bad client target")?;
        let (token, counters) = rest.split_once(';').context("bad client target")?;
        let counters = counters
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<u16>, _>>()
            .context("bad counter list")?;
        return runtime.block_on(clients(addr.parse()?, token, &counters, ""));
    }
    runtime.block_on(scenario())
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let config = Arc::new(demo_config(dir.path(), "127.0.0.1:0".parse()?)?);
    let transport = ticket_printer::open(&config.kiosk.printer)?;
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
    let counters: Vec<(u16, String)> = config
        .counters
        .iter()
        .map(|c| (c.number, c.serves[0].as_str().to_string()))
        .collect();
    // Two runs (clients in another process, then in this one) call these.
    let total = 2 * (WARMUP + CALLS + RATE_CALLS);
    {
        let store = app.store().clone();
        let counters = counters.clone();
        kiosk::app::blocking(move || {
            // Each run may call every counter once more than its share.
            for i in 0..total + 4 * counters.len() {
                let (_, department) = &counters[i % counters.len()];
                store.issue(&department.as_str().into(), None, Actor::Button)?;
            }
            Ok::<_, queue_store::store::IssueError>(())
        })
        .await
        .context("issuing the tickets to call")?;
    }
    let accounts = Accounts::open(&Accounts::path_in(dir.path()))?;
    let display_token = accounts.add_token("perf-display", Role::Display, None)?;
    let numbers: Vec<u16> = counters.iter().map(|(n, _)| *n).collect();
    accounts.add_user(STAFF, Role::Staff, STAFF_PASSWORD, &numbers)?;
    // A hundred displays from 127.0.0.1: on a real LAN each has its own
    // address and the per-address defaults hold.
    let options = ApiOptions {
        streams_per_address: CLIENTS,
        limits: lan_server::Limits {
            max_per_address: 4 * CLIENTS,
            ..lan_server::Limits::default()
        },
        ..ApiOptions::default()
    };
    let state = ApiState::new(app.clone(), accounts, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kiosk::api::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));

    // As on the LAN: the clients in a process of their own.
    let list: Vec<String> = numbers.iter().map(u16::to_string).collect();
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("call")
        .env(
            CLIENT_ENV,
            format!("{addr};{display_token};{}", list.join(",")),
        )
        .stderr(std::process::Stdio::inherit());
    let child = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("running the client process")?;
    if !child.status.success() {
        bail!("the client process failed ({})", child.status);
    }
    for line in String::from_utf8_lossy(&child.stdout).lines() {
        if !line.starts_with("load_average") {
            println!("{line}");
        }
    }
    // The same clients in the kiosk's own process and runtime, for comparison.
    clients(addr, &display_token, &numbers, "_in_process").await?;
    let _ = stop.send(());
    state.close_streams();
    let _ = server.await;
    Ok(())
}

/// The staff member's account the clients log in with.
const STAFF: &str = "perf-staff";
const STAFF_PASSWORD: &str = "perf password";

/// The measuring side: 100 stream clients and a staff connection against
/// the kiosk at `addr`; prints the figures with `suffix` after each name.
async fn clients(
    addr: SocketAddr,
    display_token: &str,
    counters: &[u16],
    suffix: &str,
) -> anyhow::Result<()> {
    // 100 stream clients report (ticket id, when parsed) for each call.
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let mut readers = Vec::new();
    for _ in 0..CLIENTS {
        let stream = open_stream(addr, display_token).await?;
        readers.push(tokio::spawn(read_calls(stream, seen_tx.clone())));
    }
    drop(seen_tx);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut started = 0;
    while started < CLIENTS {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, seen_rx.recv()).await {
            Ok(Some((STARTED, _))) => started += 1,
            Ok(Some(_)) => {}
            _ => bail!("only {started} of {CLIENTS} stream clients started"),
        }
    }

    let mut staff = Connection::login(addr, STAFF, STAFF_PASSWORD).await?;
    let mut latencies = Vec::with_capacity(CALLS * CLIENTS);
    for i in 0..WARMUP + CALLS {
        let counter = counters[i % counters.len()];
        let start = Instant::now();
        let ticket = staff.next(counter).await?;
        let mut got = 0;
        let mut early: HashMap<u64, usize> = HashMap::new();
        while got < CLIENTS {
            let (id, at) = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
                .await
                .context("a stream client did not receive the call within 10 s")?
                .context("stream clients ended")?;
            if id != ticket {
                *early.entry(id).or_default() += 1;
                continue;
            }
            got += 1;
            if i >= WARMUP {
                latencies.push(at.duration_since(start));
            }
        }
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "call_to_100_displays_p50{suffix}: {:.3} ms",
        ms(quantile(&latencies, 0.5))
    );
    println!(
        "call_to_100_displays_p99{suffix}: {:.3} ms",
        ms(quantile(&latencies, 0.99))
    );
    println!(
        "call_to_100_displays_max{suffix}: {:.3} ms",
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );

    let start = Instant::now();
    for i in 0..RATE_CALLS {
        let counter = counters[i % counters.len()];
        staff.next(counter).await?;
    }
    let elapsed = start.elapsed();
    println!(
        "next_requests_per_second{suffix}: {:.0}",
        RATE_CALLS as f64 / elapsed.as_secs_f64()
    );
    // Every client must still get every call of the burst.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut received = 0;
    while received < RATE_CALLS * CLIENTS {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, seen_rx.recv()).await {
            Ok(Some(_)) => received += 1,
            _ => bail!(
                "stream clients got {received} of {} burst calls",
                RATE_CALLS * CLIENTS
            ),
        }
    }
    for reader in readers {
        reader.abort();
    }
    Ok(())
}

/// A kept-alive HTTP/1.1 connection of a logged-in staff member.
struct Connection {
    reader: BufReader<TcpStream>,
    cookie: String,
    csrf: String,
}

impl Connection {
    async fn login(addr: SocketAddr, name: &str, password: &str) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut conn = Connection {
            reader: BufReader::new(stream),
            cookie: String::new(),
            csrf: String::new(),
        };
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        let (status, headers, body) = conn
            .send(
                "POST",
                "/api/v1/login",
                "content-type: application/json\r\n",
                &body,
            )
            .await?;
        if status != 200 {
            bail!("login failed ({status}): {body}");
        }
        conn.cookie = headers
            .iter()
            .find(|(k, _)| k == "set-cookie")
            .and_then(|(_, v)| v.split(';').next())
            .context("no session cookie")?
            .to_string();
        let json: serde_json::Value = serde_json::from_str(&body)?;
        conn.csrf = json["csrf_token"]
            .as_str()
            .context("no csrf token")?
            .to_string();
        Ok(conn)
    }

    /// "Next" at `counter`; the called ticket's id.
    async fn next(&mut self, counter: u16) -> anyhow::Result<u64> {
        let headers = format!("cookie: {}\r\nx-csrf-token: {}\r\n", self.cookie, self.csrf);
        let path = format!("/api/v1/counters/{counter}/next");
        let (status, _, body) = self.send("POST", &path, &headers, "").await?;
        if status != 200 {
            bail!("next at counter {counter} failed ({status}): {body}");
        }
        let json: serde_json::Value = serde_json::from_str(&body)?;
        json["ticket"]["id"]
            .as_u64()
            .context("no ticket id in the answer")
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> anyhow::Result<(u16, Vec<(String, String)>, String)> {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: kiosk\r\n{headers}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).await?;
        let (status, headers) = read_head(&mut self.reader).await?;
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .context("answer without content-length")?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
    }
}

async fn read_head(
    reader: &mut BufReader<TcpStream>,
) -> anyhow::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Ok((status, headers));
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
}

async fn open_stream(addr: SocketAddr, token: &str) -> anyhow::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /api/v1/events HTTP/1.1\r\nhost: kiosk\r\nauthorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reader = BufReader::new(stream);
    let (status, _) = read_head(&mut reader).await?;
    if status != 200 {
        bail!("the event stream answered {status}");
    }
    Ok(reader)
}

/// What [`read_calls`] reports once its stream has started.
const STARTED: u64 = u64::MAX;

/// Reads chunks, splits events, reports [`STARTED`] after the first block,
/// then each `called` event's ticket.
async fn read_calls(mut reader: BufReader<TcpStream>, seen: mpsc::UnboundedSender<(u64, Instant)>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut line = String::new();
    let mut started = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
            return;
        };
        if size == 0 {
            return;
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).await.is_err() {
            return;
        }
        chunk.truncate(size);
        pending.extend(chunk);
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = pending.drain(..end + 2).collect();
            if !started {
                // The first block is the snapshot: from here on every
                // event reaches this client.
                started = true;
                if seen.send((STARTED, Instant::now())).is_err() {
                    return;
                }
            }
            let text = String::from_utf8_lossy(&block);
            if !text.contains("\nevent: called\n") {
                continue;
            }
            let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let at = Instant::now();
            let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
                continue;
            };
            if let Some(ticket) = event["kind"]["ticket"].as_u64() {
                if seen.send((ticket, at)).is_err() {
                    return;
                }
            }
        }
    }
}
