//! `city-hub demo`: the city view with one command, on a throw-away
//! PostgreSQL cluster and simulated centers.
//!
//! - [`TempCluster`]: `initdb` + `pg_ctl` from Debian's `postgresql`
//!   (`/usr/lib/postgresql/*/bin`) in a temporary directory, listening only
//!   on a Unix socket there. PostgreSQL refuses to run as root, so when the
//!   demo runs as root the cluster belongs to the `postgres` system user and
//!   its tools run through `runuser` (as the hub's tests do). Stopped and
//!   deleted when dropped.
//! - [`SimCenter`]: a stand-in for a center's kiosk that speaks the part of
//!   its API the hub reads — `GET /api/v1/events` (server-sent events with
//!   `Last-Event-ID` resume, bearer `reader` token) — and makes traffic:
//!   tickets issued, called, served, the odd no-show, ratings, a printer
//!   running out of paper now and then. It keeps its events in memory; it
//!   is not a kiosk (the real one is `kiosk demo`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::config::RawDatabase;

/// A throw-away PostgreSQL cluster.
#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's `bin` directory.
pub fn find_postgres() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").exists().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "PostgreSQL's server programs are not installed (no /usr/lib/postgresql/*/bin/initdb): \
             run `sudo apt-get install postgresql` (or `bash .ci/setup`) and try again"
        )
    })
}

#[allow(unsafe_code)] // geteuid, with its SAFETY comment.
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl TempCluster {
    /// Makes and starts a cluster in a new temporary directory, without
    /// fsync (a demo's data is thrown away).
    pub fn start() -> anyhow::Result<TempCluster> {
        TempCluster::start_with(false)
    }

    /// [`TempCluster::start`], with PostgreSQL's `fsync` as given (on for
    /// measurements that should count the disk).
    pub fn start_with(fsync: bool) -> anyhow::Result<TempCluster> {
        let bin = find_postgres()?;
        let dir = std::env::temp_dir().join(format!("city-hub-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let as_postgres = running_as_root();
        let cluster = TempCluster {
            dir,
            bin,
            as_postgres,
        };
        if as_postgres {
            let handed = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            anyhow::ensure!(
                handed,
                "running as root, but the directory cannot be handed to the `postgres` user \
                 (PostgreSQL refuses to run as root): install Debian's postgresql package, which \
                 creates that user, or run the demo as an ordinary user"
            );
        }
        let data = cluster.dir.join("data").display().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "--auth=trust",
                "--username=hub",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync={} -c max_connections=100",
            cluster.dir.display(),
            if fsync { "on" } else { "off" }
        );
        let log = cluster.dir.join("log").display().to_string();
        cluster.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
            ],
        )?;
        Ok(cluster)
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let output = command.args(args).output()?;
        anyhow::ensure!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// The directory of data, socket and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Settings for the hub.
    pub fn database(&self) -> RawDatabase {
        RawDatabase {
            host: self.dir.display().to_string(),
            port: 5432,
            user: "hub".into(),
            dbname: "postgres".into(),
            password: None,
            pool_size: 4,
        }
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A simulated center: its event log and who listens to it.
#[derive(Clone)]
pub struct SimCenter {
    token: Arc<str>,
    /// Each event as its JSON text (a day of 15,000 events is ~4 MB).
    log: Arc<Mutex<Vec<Arc<str>>>>,
    live: broadcast::Sender<(u64, Arc<str>)>,
}

impl std::fmt::Debug for SimCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCenter").finish_non_exhaustive()
    }
}

impl SimCenter {
    /// A center whose stream accepts `token`.
    pub fn new(token: &str) -> SimCenter {
        SimCenter {
            token: token.into(),
            log: Arc::default(),
            live: broadcast::channel(1024).0,
        }
    }

    /// Appends an event of `kind` (JSON with its `type`) at `at_ms`.
    pub fn push(&self, at_ms: i64, kind: Value) -> u64 {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seq = log.len() as u64 + 1;
        let event: Arc<str> = json!({ "seq": seq, "at_ms": at_ms, "kind": kind })
            .to_string()
            .into();
        log.push(event.clone());
        let _ = self.live.send((seq, event));
        seq
    }

    /// How many events it has made.
    pub fn last_seq(&self) -> u64 {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len() as u64
    }

    /// The center's API: `GET /api/v1/events`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/api/v1/events", get(events))
            .with_state(self)
    }
}

async fn events(State(center): State<SimCenter>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(&*center.token) {
        return (StatusCode::UNAUTHORIZED, "unknown token").into_response();
    }
    let after: usize = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (backlog, live) = {
        let log = center
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            log.get(after..)
                .map(<[Arc<str>]>::to_vec)
                .unwrap_or_default(),
            center.live.subscribe(),
        )
    };
    let last = (after + backlog.len()) as u64;
    // The backlog in pieces of 500 events, as a kiosk's replay does.
    let pieces: Vec<String> = backlog
        .chunks(500)
        .enumerate()
        .map(|(i, chunk)| {
            let mut text = String::new();
            for (j, event) in chunk.iter().enumerate() {
                let seq = after + i * 500 + j + 1;
                text += &format!("id: {seq}\nevent: queue\ndata: {event}\n\n");
            }
            text
        })
        .collect();
    let first =
        futures_util::stream::iter(pieces.into_iter().map(Ok::<_, std::convert::Infallible>));
    let rest = futures_util::stream::unfold((live, last), |(mut live, last)| async move {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), live.recv()).await {
                Err(_) => return Some((Ok(": keep-alive\n\n".to_owned()), (live, last))),
                Ok(Ok((seq, event))) => {
                    if seq > last {
                        let chunk = format!("id: {seq}\nevent: queue\ndata: {event}\n\n");
                        return Some((Ok(chunk), (live, seq)));
                    }
                }
                // Lagged or closed: end; the hub resumes from what it stored.
                Ok(Err(_)) => return None,
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(futures_util::StreamExt::chain(first, rest)),
    )
        .into_response()
}

/// One simulated center's day, compressed: `speed` simulated seconds per
/// real second. Runs until dropped.
pub async fn traffic(center: SimCenter, seed: u64, speed: i64, start_ms: i64) {
    let departments = [
        ("ho-tich", 1000),
        ("dat-dai", 2000),
        ("chung-thuc", 3000),
        ("tu-phap", 4000),
    ];
    let mut rng = seed.max(1);
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n.max(1)
    };
    let day = jiff::Timestamp::from_millisecond(start_ms)
        .ok()
        .and_then(|t| {
            jiff::tz::TimeZone::get(crate::report::TIME_ZONE)
                .ok()
                .map(|z| t.to_zoned(z).date())
        })
        .map_or_else(|| "2026-01-01".to_owned(), |d| d.to_string());
    let mut at = start_ms;
    center.push(
        at,
        json!({"type": "service_day_started", "service_day": day, "previous": null}),
    );
    let staff = ["lan", "minh", "hoa", "tuan"];
    let mut numbers = [0u32; 4];
    let mut waiting: Vec<(u64, usize, String)> = Vec::new();
    let mut at_counter: [Option<(u64, usize, String, u8)>; 4] = Default::default();
    let mut ticket = 0u64;
    let mut paper_out = false;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        at += speed * 500;
        if next(4) < 3 {
            let d = next(4) as usize;
            numbers[d] += 1;
            ticket += 1;
            let label = format!("{}", departments[d].1 + numbers[d]);
            center.push(at, json!({"type": "ticket_issued", "ticket": ticket, "service_day": day,
                "department": departments[d].0, "number": departments[d].1 + numbers[d], "label": label,
                "priority": null, "ahead": waiting.len(), "actor": {"type": "button"}}));
            waiting.push((ticket, d, label));
        }
        for (i, slot) in at_counter.iter_mut().enumerate() {
            let counter = i + 1;
            let actor = json!({"type": "staff", "name": staff[i]});
            match slot.take() {
                None if !waiting.is_empty() && next(3) == 0 => {
                    let (t, d, label) = waiting.remove(0);
                    center.push(
                        at,
                        json!({"type": "called", "ticket": t, "label": label, "counter": counter,
                        "department": departments[d].0, "recall": false, "actor": actor}),
                    );
                    *slot = Some((t, d, label, 0));
                }
                None => {}
                Some((t, d, label, steps)) => {
                    let dep = departments[d].0;
                    if steps == 1 && next(12) == 0 {
                        center.push(at, json!({"type": "no_show", "ticket": t, "label": label, "counter": counter, "department": dep, "actor": actor}));
                    } else if steps == 1 {
                        center.push(at, json!({"type": "serving_started", "ticket": t, "label": label, "counter": counter, "department": dep, "actor": actor}));
                        *slot = Some((t, d, label, 2));
                    } else if steps >= 2 && next(8) == 0 {
                        center.push(at, json!({"type": "finished", "ticket": t, "label": label, "counter": counter, "department": dep, "actor": actor}));
                        if next(3) > 0 {
                            let level = [
                                "very_satisfied",
                                "very_satisfied",
                                "satisfied",
                                "unsatisfied",
                            ][next(4) as usize];
                            center.push(at, json!({"type": "rated", "ticket": t, "label": label, "counter": counter,
                                "department": dep, "staff": staff[i], "level": level, "source": "counter_button",
                                "actor": {"type": "system"}}));
                        }
                    } else {
                        *slot = Some((t, d, label, steps + 1));
                    }
                }
            }
        }
        if next(240) == 0 {
            paper_out = !paper_out;
            if paper_out {
                center.push(at, json!({"type": "fault", "kind": "printer_paper_out", "detail": "the printer reports paper out"}));
            } else {
                center.push(
                    at,
                    json!({"type": "fault_cleared", "kind": "printer_paper_out"}),
                );
            }
        }
    }
}
