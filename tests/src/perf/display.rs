//! `perf -- display`: twenty display daemons following one kiosk on
//! loopback, and a display daemon's resident memory.
//!
//! Figures printed:
//! - `display_call_to_page_p50/p99`: from sending `POST
//!   /api/v1/counters/1/next` to the kiosk until each daemon's own `/stream`
//!   (what the hall page's `EventSource` reads) delivers a view with that
//!   call, over every daemon and call; `display_next_roundtrip_p50` is the
//!   POST's own round trip, for comparison (the kiosk flushes its store
//!   before answering).
//! - `display_daemon_rss`: VmRSS of a release `display-daemon` process
//!   following the kiosk with one page connected, after the calls (target
//!   under 16 MiB).
//!
//! The daemons and the pages' readers run in a process of their own (this
//! binary started again with `PERF_DISPLAYS_OF` set), as on the LAN where
//! the displays are other Pis; the same measurement then runs inside the
//! kiosk's process, printed with the suffix `_in_process`.
//!
//! The module also holds [`LoopbackKiosk`], the real kiosk (store, API,
//! accounts) on 127.0.0.1 with a manual clock set to the real time and the center open all day, that can
//! be stopped and started again on the same data and port; the end-to-end
//! test `display_e2e` uses it too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use display_daemon::http::{self, BaseUrl};
use display_daemon::sse::SseParser;
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::App;
use kiosk::auth::Role;
use kiosk::printing::Printer;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{Durability, Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::quantile;

/// How many display daemons follow the kiosk.
const DAEMONS: usize = 20;
/// How many calls are measured.
const CALLS: usize = 100;

/// The test center: two departments, three counters, open every day.
const CENTER_TOML: &str = r#"
[center]
name = "Trung tâm Hành chính công thử nghiệm"
short_name = "TTHCC thử"
sessions = [{ name = "Cả ngày", start = "00:00", end = "23:59" }]

[[departments]]
id = "ho-tich"
name = "Hộ tịch"
block = { first = 1001, last = 1999 }
button = { pin = 17 }

[[departments]]
id = "dat-dai"
name = "Đất đai"
block = { first = 2001, last = 2999 }
button = { pin = 27 }

[[counters]]
number = 1
serves = ["ho-tich"]

[[counters]]
number = 2
serves = ["ho-tich", "dat-dai"]

[[counters]]
number = 3
serves = ["dat-dai"]

[kiosk.printer]
transport = "file"
path = "PRINTER_PATH"
"#;

/// Tokens made on the kiosk's first start (kept in its accounts file).
#[derive(Debug, Clone)]
pub struct KioskTokens {
    /// Admin token (counter actions for any counter).
    pub admin: String,
    /// Display token.
    pub display: String,
    /// Keypad token of counter 1 (its rating devices use it too); empty
    /// where no test needs it.
    pub keypad: String,
}

/// The real kiosk on loopback; see the module docs.
pub struct LoopbackKiosk {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// Its tokens.
    pub tokens: KioskTokens,
    /// The kiosk.
    pub app: App,
    /// Its data directory.
    pub dir: PathBuf,
    /// Ends the server.
    stop: oneshot::Sender<()>,
    /// The server task.
    server: JoinHandle<std::io::Result<()>>,
}

/// The kiosk's clock: the real time (so that the displays, which compare
/// event times with the HTTP `Date` header, see calls as live), frozen so
/// that the opening hours (all day) hold for the whole run.
fn clock_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

impl LoopbackKiosk {
    /// Starts a kiosk on `dir` (made on first start), listening on `addr`
    /// (`127.0.0.1:0` the first time, the same address to restart).
    /// `tokens` are those of an earlier start on the same `dir`.
    pub async fn start(
        dir: &Path,
        addr: SocketAddr,
        tokens: Option<KioskTokens>,
    ) -> anyhow::Result<Self> {
        let printer_path = dir.join("printer.bin");
        let toml = CENTER_TOML.replace("PRINTER_PATH", &printer_path.display().to_string());
        let mut config = kiosk_config::parse_center(&toml, "display-perf-center.toml")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .value;
        config.kiosk.data_dir = dir.to_path_buf();
        let config = Arc::new(config);
        let clock = ManualClock::new(clock_now());
        let store_dir = dir.join("store");
        // sled releases its lock when the previous kiosk's last handle is
        // gone; that happens on another thread, so wait for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        let store = loop {
            match Store::open(
                &store_dir,
                Arc::clone(&config),
                Arc::new(clock.clone()),
                &StoreOptions {
                    cache_bytes: 1024 * 1024,
                    durability: Durability::Flush,
                    broadcast_capacity: 4096,
                    ..StoreOptions::default()
                },
            ) {
                Ok(store) => break store,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e).context("cannot reopen the kiosk's store"),
            }
        };
        let printer = Printer::spawn(
            Box::new(ticket_printer::transport::FileTransport::new(&printer_path)),
            Duration::from_secs(3600),
        );
        let app = App::new(store, printer, Arc::new(clock));
        let accounts = Accounts::open(&Accounts::path_in(dir)).context("accounts")?;
        let tokens = match tokens {
            Some(tokens) => tokens,
            None => KioskTokens {
                admin: accounts.add_token("script", Role::Admin, None)?,
                display: accounts.add_token("bang-san", Role::Display, None)?,
                keypad: accounts.add_token("quay-1", Role::Keypad, Some(1))?,
            },
        };
        // Every display daemon connects from 127.0.0.1 here: on a real LAN
        // each has its own address and the per-address defaults hold.
        let options = ApiOptions {
            streams_per_address: 4 * DAEMONS,
            limits: lan_server::Limits {
                max_per_address: 16 * DAEMONS,
                ..lan_server::Limits::default()
            },
            ..ApiOptions::default()
        };
        let state = ApiState::new(app.clone(), accounts, options);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the kiosk on {addr}"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(kiosk::api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            tokens,
            app,
            dir: dir.to_path_buf(),
            stop,
            server,
        })
    }

    /// The kiosk's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Issues `n` tickets for `department` straight in the store (the
    /// buttons' path, without printing).
    pub async fn issue(&self, department: &'static str, n: usize) -> anyhow::Result<()> {
        for _ in 0..n {
            let store = self.app.store().clone();
            kiosk::app::blocking(move || store.issue(&department.into(), None, Actor::Button))
                .await
                .map_err(|e| anyhow::anyhow!("cannot issue a ticket: {e}"))?;
        }
        Ok(())
    }

    /// "Next" at `counter` through the API, as staff would.
    pub async fn next(&self, counter: u16) -> anyhow::Result<()> {
        let base = BaseUrl::parse(&self.url())?;
        let auth = format!("Bearer {}", self.tokens.admin);
        let (status, body) = http::post_empty(
            &base,
            &format!("/api/v1/counters/{counter}/next"),
            &[("Authorization", &auth)],
        )
        .await?;
        if status != 200 {
            bail!(
                "next at counter {counter}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// Stops the server and lets go of the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        drop(self.app);
        Ok(())
    }
}

/// A display config following `kiosk_url` with `token`, pages on port 0.
pub fn display_config(
    kiosk_url: &str,
    token: &str,
    listen: &str,
) -> anyhow::Result<kiosk_config::DisplayConfig> {
    let text = format!(
        "kiosk_url = \"{kiosk_url}\"\ntoken = \"{token}\"\nmode = \"hall-board\"\nlisten = \"{listen}\"\n[voice]\nenabled = false\n"
    );
    Ok(kiosk_config::parse_display(&text, "display-test.toml")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .value)
}

/// A reader of a daemon's own `/stream` (what the hall page reads).
pub struct PageStream {
    /// The response body.
    body: http::Body,
    /// The SSE parser.
    parser: SseParser,
}

impl PageStream {
    /// Connects to the daemon's pages at `addr`.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let base = BaseUrl::parse(&format!("http://{addr}"))?;
        let (head, body) = http::request(&base, "GET", "/stream", &[], &[]).await?;
        if head.status != 200 {
            bail!("daemon /stream answered {}", head.status);
        }
        Ok(Self {
            body,
            parser: SseParser::new(),
        })
    }

    /// Reads views until `wanted` accepts one (returns it), or the deadline.
    pub async fn until(
        &mut self,
        deadline: Instant,
        mut wanted: impl FnMut(&serde_json::Value) -> bool,
    ) -> anyhow::Result<serde_json::Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let piece = tokio::time::timeout(left, self.body.chunk())
                .await
                .context("the page stream did not show the expected state in time")??
                .context("the page stream ended")?;
            for message in self.parser.feed(&piece) {
                let view: serde_json::Value = serde_json::from_str(&message.data)?;
                if wanted(&view) {
                    return Ok(view);
                }
            }
        }
    }
}

/// The label of the newest call in a view JSON.
pub fn latest_label(view: &serde_json::Value) -> Option<&str> {
    view["latest"]["label"].as_str()
}

/// Env var that turns `perf display` into the process of the displays:
/// `kiosk url;display token;admin token;first label`.
const DISPLAYS_ENV: &str = "PERF_DISPLAYS_OF";

/// The scenario; see the module docs.
pub fn run() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Ok(target) = std::env::var(DISPLAYS_ENV) {
        let parts: Vec<&str> = target.split(';').collect();
        let [url, display, admin, first] = parts[..] else {
            bail!("bad {DISPLAYS_ENV}: {target}");
        };
        let tokens = KioskTokens {
            admin: admin.to_owned(),
            display: display.to_owned(),
            keypad: String::new(),
        };
        return runtime.block_on(displays(url, &tokens, first.parse()?, ""));
    }
    runtime.block_on(scenario())
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse()?, None).await?;
    // Two runs (displays in another process, then in this one) call these.
    kiosk.issue("ho-tich", 2 * CALLS + 10).await?;

    // As on the LAN, where the displays are other Pis: a process of their own.
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("display")
        .env(
            DISPLAYS_ENV,
            format!(
                "{};{};{};{}",
                kiosk.url(),
                kiosk.tokens.display,
                kiosk.tokens.admin,
                1001
            ),
        )
        .stderr(std::process::Stdio::inherit());
    let child = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("running the displays' process")?;
    if !child.status.success() {
        bail!("the displays' process failed ({})", child.status);
    }
    for line in String::from_utf8_lossy(&child.stdout).lines() {
        if !line.starts_with("load_average") {
            println!("{line}");
        }
    }
    // The same displays in the kiosk's own process, for comparison.
    displays(&kiosk.url(), &kiosk.tokens, 1001 + CALLS, "_in_process").await?;

    let rss = daemon_rss(&kiosk).await?;
    println!("display_daemon_rss: {:.1} MiB", rss as f64 / 1024.0);
    kiosk.stop().await?;
    Ok(())
}

/// The measuring side: twenty display daemons following the kiosk at `url`,
/// `CALLS` "next" at counter 1 (whose tickets are labelled from
/// `first_label` on); prints the figures with `suffix` after each name.
async fn displays(
    url: &str,
    tokens: &KioskTokens,
    first_label: usize,
    suffix: &str,
) -> anyhow::Result<()> {
    let mut daemons = Vec::new();
    let mut pages = Vec::new();
    for _ in 0..DAEMONS {
        let config = display_config(url, &tokens.display, "127.0.0.1:0")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let daemon = display_daemon::start(config, listener).await?;
        pages.push(PageStream::connect(daemon.local_addr()).await?);
        daemons.push(daemon);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for page in &mut pages {
        page.until(deadline, |v| v["link"]["type"] == "connected")
            .await?;
    }

    let base = BaseUrl::parse(url)?;
    let auth = format!("Bearer {}", tokens.admin);
    let mut latencies = Vec::with_capacity(CALLS * DAEMONS);
    let mut roundtrips = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let label = format!("{}", first_label + i);
        let sent = Instant::now();
        let (status, body) = http::post_empty(
            &base,
            "/api/v1/counters/1/next",
            &[("Authorization", &auth)],
        )
        .await?;
        if status != 200 {
            bail!(
                "next at counter 1: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        roundtrips.push(sent.elapsed());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut waits = Vec::new();
        for page in &mut pages {
            let label = label.clone();
            waits.push(async move {
                page.until(deadline, |v| latest_label(v) == Some(label.as_str()))
                    .await
                    .map(|_| sent.elapsed())
            });
        }
        for result in futures_join_all(waits).await {
            latencies.push(result?);
        }
    }
    latencies.sort();
    roundtrips.sort();
    println!("display_daemons{suffix}: {DAEMONS} count\ndisplay_calls{suffix}: {CALLS} count");
    println!(
        "display_call_to_page_p50{suffix}: {:.3} ms",
        ms(quantile(&latencies, 0.5))
    );
    println!(
        "display_call_to_page_p99{suffix}: {:.3} ms",
        ms(quantile(&latencies, 0.99))
    );
    println!(
        "display_next_roundtrip_p50{suffix}: {:.3} ms",
        ms(quantile(&roundtrips, 0.5))
    );
    for daemon in daemons {
        daemon.shutdown().await;
    }
    Ok(())
}

/// Waits for every future, in order (they run concurrently).
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    // The page streams are already buffered by the kernel: polling them one
    // after another measures each arrival time correctly only if each is
    // read as soon as possible, so drive them all at once.
    let mut pending: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Builds the release binary, runs it against `kiosk` with one page
/// connected, makes calls, and reads its VmRSS in KiB.
async fn daemon_rss(kiosk: &LoopbackKiosk) -> anyhow::Result<u64> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "display-daemon", "--quiet"])
        .current_dir(workspace)
        .status()
        .context("cannot run cargo build for display-daemon")?;
    if !status.success() {
        bail!("cargo build --release -p display-daemon failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let binary = target.join("release/display-daemon");

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("display.toml");
    std::fs::write(
        &config_path,
        format!(
            "kiosk_url = \"{}\"\ntoken = \"{}\"\nmode = \"hall-board\"\nlisten = \"127.0.0.1:{port}\"\n[voice]\nenabled = false\n",
            kiosk.url(),
            kiosk.tokens.display
        ),
    )?;
    let mut child = std::process::Command::new(&binary)
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let result = async {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut page = loop {
            match PageStream::connect(addr).await {
                Ok(page) => break page,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        page.until(deadline, |v| v["link"]["type"] == "connected")
            .await?;
        for _ in 0..5 {
            kiosk.next(2).await?;
        }
        page.until(deadline, |v| {
            v["last_calls"].as_array().is_some_and(|c| c.len() >= 5)
        })
        .await?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("no VmRSS in /proc/PID/status")?;
        Ok(rss)
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}
