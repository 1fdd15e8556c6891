//! Perf scenario `city`: the city hub (`city-hub`, run as its own process
//! from the release build) against 40 simulated centers on loopback and a
//! throw-away PostgreSQL cluster with `fsync` on.
//!
//! 1. **Ingest**: each center already holds a busy day's events
//!    (`CITY_TICKETS` tickets, default 1,500, ≈ 4.7 events each: issue,
//!    call, start, finish, two ratings in three), so the hub starts 40
//!    replays at once: `city_ingest_events_per_second` is every event
//!    stored / the time from the first stored to the last (goal ≥ 20,000).
//!    As the machine is shared, the CPU time spent per 1,000 events is
//!    printed too, a figure other loads change little:
//!    `city_ingest_hub_cpu_ms_per_1000_events` (the hub process since its
//!    start) and `city_ingest_postgres_cpu_ms_per_1000_events` (the
//!    postmaster and every backend and worker of the cluster, during the
//!    ingest).
//! 2. **Lag at the real rate**: then the 40 centers make events at a busy
//!    day's real rate (3,000 tickets in 8 hours each: 20 events/s for the
//!    city) for `CITY_LAG_SECS` (default 30); each event's lag is from its
//!    making to the hub's status saying it is stored (polled every 5 ms):
//!    `city_lag_p50/p99/max_ms` (goal p99 < 1 s).
//! 3. **A city month**: PostgreSQL is seeded directly (server-side
//!    `generate_series`, no hub) with 40 centers × `CITY_MONTH_DAYS`
//!    (default 22) days × 3,000 tickets: the first day as events, turned
//!    into ticket facts by the hub's own ingest statements
//!    (`city_month_day_one_facts_from_events_seconds`), the other days as
//!    ticket facts directly (reports read only facts and rollups). Then `city-hub
//!    report` by center, department, officer, hour and day over the month
//!    is timed: `city_month_report_*_ms` (goal < 1 s). Reports merge the
//!    day rollups (`city_hub::rollup`), built once for the seeded month
//!    (`city_month_rollups_seconds`); each grouping is checked equal to the
//!    same report sorted from the facts (`…_from_facts_ms`, the figure
//!    before rollups), and a report with the last day stale at every
//!    center is timed (`city_month_report_by_center_one_day_stale_ms`).
//!
//! 0. **The kiosk's press while the hub follows it**: the `press` scenario's
//!    pipeline (durable issue, render, print to a loopback printer) with the
//!    kiosk's API served, `CITY_PRESSES` presses (default 300) with no
//!    reader, then as many with the hub following the kiosk's stream:
//!    `city_press_alone_p50/p99_ms` and `city_press_followed_p50/p99_ms`.
//!    The hub is a batch behind at the last press
//!    (`city_press_followed_hub_stored_at_last_press`); the phase then waits
//!    (30 s at most) until it has stored every event
//!    (`city_press_followed_hub_caught_up_ms`, from the last press) and
//!    fails unless PostgreSQL holds one row per kiosk event
//!    (`city_press_followed_hub_rows`).
//!
//! The hub's resident memory is read from `/proc/PID/status` after each of
//! the first two phases. Build the hub first:
//! `cargo build --release -p city-hub`. `CITY_PHASES=press,ingest,month`
//! (any of them; the lag phase goes with `ingest`) runs only some phases;
//! `CITY_PHASES=month` needs no hub process and no simulated centers.

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use city_hub::demo::{SimCenter, TempCluster};
use display_daemon::http::{BaseUrl, Client};
use serde_json::json;

use crate::perf::quantile;

const CENTERS: usize = 40;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The events of ticket `t` (1-based) of a simulated busy day starting at
/// `start_ms`.
fn ticket_events(center: &SimCenter, day: &str, t: u64, start_ms: i64) {
    let department = format!("dep-{}", t % 8);
    let label = format!("{}", 1000 + t);
    let counter = 1 + t % 15;
    let issued = start_ms + t as i64 * 9_000;
    let called = issued + (t as i64 * 37 % 1800) * 1000;
    let staff = json!({"type": "staff", "name": format!("staff-{counter}")});
    center.push(issued, json!({"type": "ticket_issued", "ticket": t, "service_day": day, "department": department,
        "number": 1000 + t, "label": label, "priority": null, "ahead": 0, "actor": {"type": "button"}}));
    center.push(
        called,
        json!({"type": "called", "ticket": t, "label": label, "counter": counter,
        "department": department, "recall": false, "actor": staff}),
    );
    center.push(
        called + 30_000,
        json!({"type": "serving_started", "ticket": t, "label": label,
        "counter": counter, "department": department, "actor": staff}),
    );
    let finished = called + 30_000 + (60 + t as i64 * 53 % 900) * 1000;
    center.push(
        finished,
        json!({"type": "finished", "ticket": t, "label": label, "counter": counter,
        "department": department, "actor": staff}),
    );
    if t % 3 != 0 {
        let level = ["very_satisfied", "satisfied", "unsatisfied"][(t % 3) as usize];
        center.push(
            finished + 5_000,
            json!({"type": "rated", "ticket": t, "label": label, "counter": counter,
            "department": department, "staff": format!("staff-{counter}"),
            "level": level,
            "source": "counter_button", "actor": {"type": "system"}}),
        );
    }
}

/// CPU time (user + system) of process `pid`, and of its reaped children
/// when `children`, in ms (`/proc/PID/stat`).
fn cpu_ms(pid: u32, children: bool) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces: state is 3.
    let fields: Vec<u64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11)? + fields.get(12)?;
    let reaped = if children {
        fields.get(13)? + fields.get(14)?
    } else {
        0
    };
    // SAFETY: sysconf has no memory-safety preconditions.
    #[allow(unsafe_code)]
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((ticks + reaped) * 1000 / hz)
}

/// CPU time of the whole PostgreSQL cluster (the postmaster, its live
/// backends and those that ended), ms.
fn postgres_cpu_ms(cluster: &TempCluster) -> Option<u64> {
    let pid_file = std::fs::read_to_string(cluster.dir().join("data/postmaster.pid")).ok()?;
    let postmaster: u32 = pid_file.lines().next()?.trim().parse().ok()?;
    let mut total = cpu_ms(postmaster, true)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if parent == Some(postmaster) {
            total += cpu_ms(pid, false).unwrap_or(0);
        }
    }
    Some(total)
}

/// Whether phase `name` runs: `CITY_PHASES` (comma-separated: `press`,
/// `ingest`, `month`; the lag phase runs with `ingest`) or all.
fn phase(name: &str) -> bool {
    std::env::var("CITY_PHASES").map_or(true, |v| v.split(',').any(|p| p.trim() == name))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Every center's stored sequence, from the hub's `/api/v1/status`.
async fn stored(client: &Client) -> anyhow::Result<Vec<u64>> {
    let (head, mut body) = client
        .request("GET", "/api/v1/status", &[], &[])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = body
        .read_to_end(1 << 20)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if head.status != 200 {
        bail!("hub status answered {}", head.status);
    }
    let json: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(json["centers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["stored_seq"].as_u64().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default())
}

struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        // SIGTERM: the hub stops its followers and exits.
        // SAFETY: kill has no memory-safety preconditions.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the scenario.
pub fn run() -> anyhow::Result<()> {
    let hub_exe = std::env::current_exe()?
        .parent()
        .map(|d| d.join("city-hub"))
        .filter(|p| p.is_file())
        .context("no city-hub binary next to this one: build it first with `cargo build --release -p city-hub`")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cluster = TempCluster::start_with(true)?;
    if phase("press") {
        press_followed(&runtime, &hub_exe, &cluster)?;
    }
    if phase("ingest") {
        runtime.block_on(scenario(&hub_exe, &cluster))?;
    }
    if phase("month") {
        runtime.block_on(month(&cluster))?;
    }
    drop(runtime);
    drop(cluster);
    Ok(())
}

/// Phase 0: press latency without and with the hub following the kiosk.
fn press_followed(
    runtime: &tokio::runtime::Runtime,
    hub_exe: &std::path::Path,
    cluster: &TempCluster,
) -> anyhow::Result<()> {
    use kiosk::accounts::Accounts;
    use kiosk::app::PressOutcome;
    use kiosk::auth::Role;
    use std::sync::Arc;

    let presses = env_usize("CITY_PRESSES", 300);
    let dir = tempfile::tempdir()?;
    let printer = crate::loopback_printer::LoopbackPrinter::start()?;
    let mut config = kiosk::demo::demo_config(dir.path(), "127.0.0.1:0".parse()?)?;
    config.kiosk.printer.transport = kiosk_config::PrinterTransport::Tcp {
        host: printer.address.ip().to_string(),
        port: printer.address.port(),
    };
    let config = Arc::new(config);
    let departments: Vec<_> = config.departments.iter().map(|d| d.id.clone()).collect();
    let transport = ticket_printer::open(&config.kiosk.printer)?;
    let clock = Arc::new(queue_store::clock::SystemClock);
    let app = runtime
        .block_on(async { kiosk::daemon::open_app(Arc::clone(&config), transport, clock) })?;
    let accounts = Accounts::open(&Accounts::path_in(dir.path()))?;
    let token = accounts.add_token("city-hub", Role::Reader, None)?;
    let state = kiosk::api::ApiState::new(app.clone(), accounts, kiosk::api::ApiOptions::default());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let kiosk_addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    runtime.spawn(kiosk::api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let round = |label: &str, offset: usize| -> anyhow::Result<()> {
        let mut latencies = Vec::with_capacity(presses);
        for i in 0..presses + 20 {
            let department = &departments[(i + offset) % departments.len()];
            let start = Instant::now();
            match runtime.block_on(app.press(department, false)) {
                PressOutcome::Printed(_) => {}
                other => bail!("press {i} did not print: {other:?}"),
            }
            let ticket = printer
                .tickets
                .recv_timeout(Duration::from_secs(5))
                .context("the loopback printer received no ticket within 5 s")?;
            if i >= 20 {
                latencies.push(ticket.completed.duration_since(start).as_secs_f64() * 1000.0);
            }
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "city_press_{label}_p50_ms: {:.2}",
            quantile(&latencies, 0.5)
        );
        println!(
            "city_press_{label}_p99_ms: {:.2}",
            quantile(&latencies, 0.99)
        );
        Ok(())
    };
    round("alone", 0)?;
    let http_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let toml = format!(
        "[database]\nhost = \"{}\"\nuser = \"hub\"\ndbname = \"postgres\"\n\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n\
         [[centers]]\nid = \"press\"\nname = \"Phú Xuân\"\nurl = \"http://{kiosk_addr}\"\ntoken = \"{token}\"\n",
        cluster.dir().display()
    );
    let config_path = cluster.dir().with_extension("press-hub.toml");
    std::fs::write(&config_path, toml)?;
    let hub = Hub(Command::new(hub_exe)
        .arg("--config")
        .arg(&config_path)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?);
    let client = Client::new(
        BaseUrl::parse(&format!("http://127.0.0.1:{http_port}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let last = app.store().last_seq();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Following: it has stored the first round's events.
    while runtime
        .block_on(stored(&client))
        .map(|s| s.first().copied().unwrap_or(0))
        .unwrap_or(0)
        < last
    {
        if Instant::now() > deadline {
            bail!("the hub did not catch up with the kiosk in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    round("followed", 1)?;
    let last = app.store().last_seq();
    let pressed = Instant::now();
    let stored_then = runtime
        .block_on(stored(&client))?
        .first()
        .copied()
        .unwrap_or(0);
    println!("city_press_followed_hub_stored_at_last_press: {stored_then} of {last}");
    // The hub follows behind (a batch waits up to 50 ms for more, then one
    // commit): wait until it has stored every event, then count the rows,
    // so a lost event would show rather than a phase that ended early.
    let deadline = pressed + Duration::from_secs(30);
    loop {
        let now = runtime
            .block_on(stored(&client))?
            .first()
            .copied()
            .unwrap_or(0);
        if now >= last {
            break;
        }
        if Instant::now() > deadline {
            bail!("the hub stored {now} of the kiosk's {last} events 30 s after the last press");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "city_press_followed_hub_caught_up_ms: {:.0}",
        pressed.elapsed().as_secs_f64() * 1000.0
    );
    let rows = runtime.block_on(async {
        city_hub::Db::new(&cluster.database())?
            .event_count("press")
            .await
            .map_err(anyhow::Error::from)
    })?;
    println!("city_press_followed_hub_rows: {rows} of {last}");
    if rows != last {
        bail!("PostgreSQL holds {rows} rows for the kiosk's {last} events");
    }
    drop(hub);
    let _ = stop.send(());
    let _ = std::fs::remove_file(&config_path);
    Ok(())
}

async fn scenario(hub_exe: &std::path::Path, cluster: &TempCluster) -> anyhow::Result<()> {
    let tickets = env_usize("CITY_TICKETS", 1_500) as u64;
    let lag_secs = env_usize("CITY_LAG_SECS", 30) as u64;
    let day = "2026-12-01";
    let start_ms = display_daemon::link::now_ms() - 8 * 3600 * 1000;
    let token = "perf-reader-token";
    let mut centers = Vec::new();
    let mut toml = format!(
        "[database]\nhost = \"{}\"\nuser = \"hub\"\ndbname = \"postgres\"\npool_size = 8\n\n",
        cluster.dir().display()
    );
    let http_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    toml += &format!("[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n");
    for i in 0..CENTERS {
        let sim = SimCenter::new(token);
        sim.push(
            start_ms,
            json!({"type": "service_day_started", "service_day": day, "previous": null}),
        );
        for t in 1..=tickets {
            ticket_events(&sim, day, t, start_ms);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = sim.clone().router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        toml += &format!(
            "[[centers]]\nid = \"c{i:02}\"\nname = \"Trung tâm {i}\"\nurl = \"http://{addr}\"\ntoken = \"{token}\"\n\n"
        );
        centers.push(sim);
    }
    let total: u64 = centers.iter().map(SimCenter::last_seq).sum();
    println!("city_centers: {CENTERS}");
    println!("city_ingest_events: {total}");
    let config = cluster.dir().with_extension("hub.toml");
    std::fs::write(&config, toml)?;
    let child = Command::new(hub_exe)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting city-hub")?;
    let hub = Hub(child);
    let pid = hub.0.id();
    let client = Client::new(
        BaseUrl::parse(&format!("http://127.0.0.1:{http_port}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );

    // 1. Ingest: 40 replays at once.
    let started = Instant::now();
    let postgres_before = postgres_cpu_ms(cluster);
    let mut first_stored = None;
    let deadline = started + Duration::from_secs(600);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Ok(seqs) = stored(&client).await else {
            if Instant::now() > deadline {
                bail!("the hub never answered on 127.0.0.1:{http_port}");
            }
            continue;
        };
        let sum: u64 = seqs.iter().sum();
        if sum > 0 && first_stored.is_none() {
            first_stored = Some(Instant::now());
        }
        if sum >= total {
            break;
        }
        if Instant::now() > deadline {
            bail!("ingest not done in 10 minutes: {sum} of {total}");
        }
    }
    let done = Instant::now();
    let span = done - first_stored.unwrap_or(started);
    println!("city_ingest_seconds: {:.2}", span.as_secs_f64());
    println!(
        "city_ingest_events_per_second: {:.0}",
        total as f64 / span.as_secs_f64()
    );
    println!(
        "city_ingest_from_hub_start_seconds: {:.2}",
        (done - started).as_secs_f64()
    );
    if let Some(kib) = rss_kib(pid) {
        println!("city_hub_rss_after_ingest_mib: {:.1}", kib as f64 / 1024.0);
    }
    // CPU per 1,000 events: independent of what else the machine runs.
    let per_1000 = |ms: u64| ms as f64 * 1000.0 / total.max(1) as f64;
    if let Some(hub_ms) = cpu_ms(pid, false) {
        println!(
            "city_ingest_hub_cpu_ms_per_1000_events: {:.1}",
            per_1000(hub_ms)
        );
    }
    if let (Some(before), Some(after)) = (postgres_before, postgres_cpu_ms(cluster)) {
        println!(
            "city_ingest_postgres_cpu_ms_per_1000_events: {:.1}",
            per_1000(after.saturating_sub(before))
        );
    }

    // 2. Lag at the real rate: 20 events/s for the city, one every 50 ms
    //    at the center whose turn it is.
    let mut pending: VecDeque<(usize, u64, Instant)> = VecDeque::new();
    let mut lags: Vec<f64> = Vec::new();
    let until = Instant::now() + Duration::from_secs(lag_secs);
    let mut next_push = Instant::now();
    let mut turn = 0usize;
    let mut ticket = tickets + 1;
    loop {
        let now = Instant::now();
        if now < until && now >= next_push {
            let center = &centers[turn % CENTERS];
            let at = display_daemon::link::now_ms();
            let seq = center.push(at, json!({"type": "ticket_issued", "ticket": ticket, "service_day": day,
                "department": "dep-0", "number": ticket, "label": ticket.to_string(), "priority": null,
                "ahead": 0, "actor": {"type": "button"}}));
            pending.push_back((turn % CENTERS, seq, Instant::now()));
            turn += 1;
            if turn % CENTERS == 0 {
                ticket += 1;
            }
            next_push += Duration::from_millis(50);
        }
        if now >= until && pending.is_empty() {
            break;
        }
        if now > until + Duration::from_secs(60) {
            bail!("{} events never stored", pending.len());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        if pending.is_empty() {
            continue;
        }
        let seqs = stored(&client).await?;
        let seen = Instant::now();
        pending.retain(|(c, seq, made)| {
            if seqs.get(*c).copied().unwrap_or(0) >= *seq {
                lags.push((seen - *made).as_secs_f64() * 1000.0);
                false
            } else {
                true
            }
        });
    }
    lags.sort_by(f64::total_cmp);
    println!("city_lag_events: {}", lags.len());
    println!("city_lag_p50_ms: {:.1}", quantile(&lags, 0.5));
    println!("city_lag_p99_ms: {:.1}", quantile(&lags, 0.99));
    println!(
        "city_lag_max_ms: {:.1}",
        lags.last().copied().unwrap_or(0.0)
    );
    if let Some(kib) = rss_kib(pid) {
        println!("city_hub_rss_after_lag_mib: {:.1}", kib as f64 / 1024.0);
    }
    drop(hub);
    drop(centers);
    let _ = std::fs::remove_file(&config);
    Ok(())
}

/// Phase 3: a city month, seeded straight into PostgreSQL.
async fn month(cluster: &TempCluster) -> anyhow::Result<()> {
    let days = env_usize("CITY_MONTH_DAYS", 22) as i64;
    let db = city_hub::Db::new(&cluster.database())?;
    db.migrate().await?;
    let client = db.pool().get().await?;
    client.batch_execute("SET synchronous_commit = off").await?;
    let seeded = Instant::now();
    let base =
        "(extract(epoch FROM timestamptz '2026-10-01 08:00+07') * 1000)::bigint + d * 86400000";
    // Day one is seeded as events and turned into facts by the hub's own
    // statements (the ingest path, over a whole day at once); the other
    // days' facts are seeded directly, the same tickets as facts.
    let from = |days: &str| {
        format!(
            "FROM generate_series(1, {CENTERS}) c, generate_series({days}) d, generate_series(1, 3000) t,
             LATERAL (SELECT {base} + t * 9000 AS issued,
                             {base} + t * 9000 + (t * 37 % 1800) * 1000 AS called,
                             'm' || lpad(c::text, 2, '0') AS center, d * 3000 + t AS ticket,
                             to_char(date '2026-10-01' + d, 'YYYY-MM-DD') AS day,
                             'dep-' || (t % 8) AS dep, 1 + t % 15 AS counter,
                             jsonb_build_object('type', 'staff', 'name', 'staff-' || (1 + t % 15)) AS staff) x"
        )
    };
    let kinds = [
        ("1", "issued", "ticket_issued", "jsonb_build_object('type', 'ticket_issued', 'ticket', ticket, 'service_day', day, 'department', dep, 'number', t, 'label', t::text, 'priority', null, 'ahead', 0, 'actor', jsonb_build_object('type', 'button'))", ""),
        ("2", "called", "called", "jsonb_build_object('type', 'called', 'ticket', ticket, 'label', t::text, 'counter', counter, 'department', dep, 'recall', false, 'actor', staff)", ""),
        ("3", "called + 30000", "serving_started", "jsonb_build_object('type', 'serving_started', 'ticket', ticket, 'label', t::text, 'counter', counter, 'department', dep, 'actor', staff)", ""),
        ("4", "called + 30000 + (60 + t * 53 % 900) * 1000", "finished", "jsonb_build_object('type', 'finished', 'ticket', ticket, 'label', t::text, 'counter', counter, 'department', dep, 'actor', staff)", ""),
        ("5", "called + 40000 + (60 + t * 53 % 900) * 1000", "rated", "jsonb_build_object('type', 'rated', 'ticket', ticket, 'label', t::text, 'counter', counter, 'department', dep, 'staff', 'staff-' || counter, 'level', (ARRAY['very_satisfied', 'satisfied', 'unsatisfied'])[1 + t % 3], 'source', 'counter_button', 'actor', jsonb_build_object('type', 'system'))", "WHERE t % 3 <> 0"),
    ];
    let day_one = from("0, 0");
    for (slot, at, kind, body, filter) in kinds {
        client
            .batch_execute(&format!(
                "INSERT INTO events (center, seq, at_ms, kind, body)
                 SELECT center, (ticket - 1) * 5 + {slot}, {at}, '{kind}', {body} {day_one} {filter}"
            ))
            .await?;
    }
    client.batch_execute("ANALYZE events").await?;
    let rows: i64 = client
        .query_one("SELECT count(*) FROM events WHERE center LIKE 'm%'", &[])
        .await?
        .get(0);
    println!("city_month_event_rows: {rows}");
    let derived = Instant::now();
    for statement in city_hub::db::FACT_STATEMENTS {
        client
            .batch_execute(&city_hub::db::fact_sql(statement, "e.center LIKE 'm%'"))
            .await?;
    }
    println!(
        "city_month_day_one_facts_from_events_seconds: {:.1}",
        derived.elapsed().as_secs_f64()
    );
    let rest = from(&format!("1, {}", days - 1));
    let hour = "to_char(to_timestamp(issued / 1000.0) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24')";
    client
        .batch_execute(&format!(
            "INSERT INTO ticket_facts (center, source, ticket, day, department, issued_at, hour,
                                       first_call_seq, first_call, officer)
             SELECT center, 'events', ticket, day, dep, issued, {hour}, (ticket - 1) * 5 + 2,
                    called, 'staff-' || counter {rest};
             INSERT INTO stay_facts (center, seq, ticket, day, department, hour, officer,
                                     served, no_show, service)
             SELECT center, (ticket - 1) * 5 + 4, ticket, day, dep, {hour}, 'staff-' || counter,
                    1, 0, 60 + t * 53 % 900 {rest};
             INSERT INTO rating_facts (center, seq, ticket, day, department, hour, officer, level)
             SELECT center, (ticket - 1) * 5 + 5, ticket, day, dep, {hour}, 'staff-' || counter,
                    (ARRAY['very_satisfied', 'satisfied', 'unsatisfied'])[1 + t % 3]
                    {rest} WHERE t % 3 <> 0;
             ANALYZE ticket_facts; ANALYZE stay_facts; ANALYZE rating_facts"
        ))
        .await?;
    let tickets: i64 = client
        .query_one(
            "SELECT count(*) FROM ticket_facts WHERE center LIKE 'm%'",
            &[],
        )
        .await?
        .get(0);
    println!("city_month_ticket_facts: {tickets}");
    let bytes: i64 = client
        .query_one(
            "SELECT pg_total_relation_size('ticket_facts') + pg_total_relation_size('stay_facts')
                    + pg_total_relation_size('rating_facts')",
            &[],
        )
        .await?
        .get(0);
    println!(
        "city_month_facts_mib: {:.0} (with indexes)",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "city_month_seed_seconds: {:.1}",
        seeded.elapsed().as_secs_f64()
    );
    let rolled = Instant::now();
    let days_rolled = city_hub::rollup::rebuild_all(&db).await?;
    println!(
        "city_month_rollups_seconds: {:.1} ({days_rolled} center-days)",
        rolled.elapsed().as_secs_f64()
    );
    client.batch_execute("ANALYZE day_rollups").await?;
    let row = client
        .query_one(
            "SELECT count(*), pg_total_relation_size('day_rollups') FROM day_rollups",
            &[],
        )
        .await?;
    println!(
        "city_month_rollup_rows: {} ({:.0} MiB with indexes)",
        row.get::<_, i64>(0),
        row.get::<_, i64>(1) as f64 / (1024.0 * 1024.0)
    );
    let (from, to) = ("2026-10-01", "2026-10-31");
    for by in city_hub::report::GroupBy::ALL {
        let name = format!("{by:?}").to_lowercase();
        let mut rows = Vec::new();
        for run in ["cold", "warm"] {
            let start = Instant::now();
            let report = city_hub::report::report(&db, from, to, by).await?;
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let issued: u64 = report.rows.iter().filter_map(|r| r.issued).sum();
            println!(
                "city_month_report_by_{name}_{run}_ms: {ms:.0} ({} rows, {issued} tickets)",
                report.rows.len()
            );
            rows = report.rows;
        }
        // The reference: the same report sorted from the facts.
        let start = Instant::now();
        let facts = city_hub::report::report_from_facts(&db, from, to, by).await?;
        println!(
            "city_month_report_by_{name}_from_facts_ms: {:.0}",
            start.elapsed().as_secs_f64() * 1000.0
        );
        if facts.rows != rows {
            bail!("the month by {name} from rollups differs from the facts' report");
        }
        println!("city_month_report_by_{name}_same_as_facts: true");
    }
    // Late events for the month's last day at every center: its 40
    // center-days are rebuilt by the next report.
    client
        .batch_execute(&format!(
            "INSERT INTO rollup_stale (center, day)
             SELECT DISTINCT center, day FROM ticket_facts
              WHERE day = to_char(date '2026-10-01' + {}, 'YYYY-MM-DD')
             ON CONFLICT (center, day) DO UPDATE SET version = rollup_stale.version + 1",
            days - 1
        ))
        .await?;
    let start = Instant::now();
    let report = city_hub::report::report(&db, from, to, city_hub::report::GroupBy::Center).await?;
    println!(
        "city_month_report_by_center_one_day_stale_ms: {:.0} ({} rows)",
        start.elapsed().as_secs_f64() * 1000.0,
        report.rows.len()
    );
    Ok(())
}
