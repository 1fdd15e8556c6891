//! Perf scenario `year`: a year of a busy center through the kiosk daemon.
//!
//! 365 service days × 3,000 tickets over 15 departments, each ticket through
//! its whole life (issued, called, served, finished; about 3 % no-shows and
//! 2 % transfers), with a [`ManualClock`], retention of 90 days. The days run
//! in **one long-running kiosk process** (see `child`): the kiosk daemon
//! with its LAN API, which at every service-day roll packs and prunes, then
//! re-executes itself as `kiosk run` does (same PID, listening socket handed
//! over). The allocator is set up as the kiosk's `main` sets it
//! (`store::heap`). The year ends on today's date, so a kiosk started on its
//! data directory continues the same service day. To finish in minutes the
//! bulk of the simulation runs with [`Durability::Deferred`] (no fsync per
//! operation — simulation only; the store is flushed before each
//! re-execution, and every `YEAR_SIM_FLUSH_EVERY` tickets, 100 unless set:
//! see below); the first 500 issues of the first and of the last day run
//! with real flushes and give `issue_p99_start` and `issue_p99_end`.
//!
//! **Memory.** The kiosk's peak of each day is `VmHWM`, which the kernel
//! resets at each execve: the child reads its own just before the roll's
//! re-execution and the parent prints `year_hwm_day_N_bytes` (day N's
//! service image from its start, a compaction's child processes started,
//! through the service and the roll; with the peak of the service alone
//! and the resident memory before the execve),
//! `year_hwm_max_after_day_30_bytes` (the goal's figure: < 32 MiB),
//! `year_hwm_range_deferred`; then `year_hwm_maintenance_after_day_N_bytes`
//! and `year_hwm_maintenance_max_after_day_30_bytes`, the maintenance
//! image between two days (pack, prune, compaction scheduled), and
//! `year_compactions` with the largest peaks of the compaction's reader
//! and writer processes. `YEAR_DURABLE_EVERY=N`
//! runs every Nth day with real flushes throughout, as a kiosk does, and
//! prints those days as `flushed`, with `year_hwm_durable_max_after_day_30_bytes`
//! and `year_hwm_range_flushed`. An accelerated day without flushes piles
//! up what sled has not written yet: `YEAR_SIM_FLUSH_EVERY=0` (the old
//! simulation) gave service peaks of 58–83 MB on days after a compaction
//! where the same days flushed took 20–21 MB and the accelerated days
//! flushed every 100 tickets 22–26 MB (`YEAR_DAYS=8
//! YEAR_COMPACT_MIN_BYTES=20000000`, a compaction every other day).
//! `YEAR_CACHE_BYTES` sets sled's cache instead of the kiosk's 8 MiB.
//!
//! This process only watches: it reads the kiosk's `/proc/PID/status` (the
//! same PID through every re-execution) and prints `year_rss_day_N_bytes`
//! every 30 days and at the end (right after the roll's re-execution: what
//! the kiosk starts day N + 1 with), `year_rss_day_N_before_roll_bytes`
//! (resident at the end of day N's service: not the day's peak, which the
//! roll's pack and prune and a compaction may pass; see **Memory** above),
//! `year_rss_max_after_day_30_bytes` (the largest after-roll figure from
//! day 31 on) and `year_rss_peak_before_roll_bytes` (the largest
//! end-of-service figure), `year_reexec_window_ms_p50`/`_max`
//! (from the kiosk saying it stops for the roll to the new image saying it
//! is live: the window in which a button press would not be seen),
//! `year_disk_bytes` (files in the data directory), and from the kiosk
//! `year_sled_bytes` (sled's own count), `events_kept`, `tickets_kept_days`,
//! `issue_p99_start`, `issue_p99_end` (µs), `issue_p99_end_over_start`,
//! then `issue_p99_fresh`, `issue_p99_year` and `issue_p99_year_over_fresh`:
//! flushed issues on an empty store and on the year's store in alternating
//! chunks at the end, the fairer comparison on a machine shared with other
//! work. `reopen_rss_bytes` is a fresh process that opens the year's data
//! directory, takes a snapshot and reads a ticket of a packed day. Last,
//! `year_start_to_ready_ms`: the real `kiosk run` binary (built beside this
//! one: `cargo build --release -p kiosk`) started as systemd would start it
//! on the year's data directory, from spawn until it logs that buttons,
//! printer and API are live *and* `GET /api/v1/summary` answers 200. Three
//! starts, each printed (`year_start_to_ready_ms_run_N`, with the store's
//! own `sled_ms`/`total_ms` of its opening from the kiosk's log); the figure
//! is the first, the start right after the year's kiosk ended (sled replays
//! its log since its last opening: the last roll).
//! `year_disk_db_bytes`, `year_disk_blobs_bytes` and `year_disk_snap_bytes`
//! split sled's files; `year_compaction_before_day_N` is printed for each
//! compaction the kiosk scheduled at a roll and made in child processes
//! before its next image opened the store (the copy's size, the readers
//! and the peaks of a reader and of the writer), `year_compactions` counts
//! them,
//! `YEAR_NO_COMPACT=1` turns them off for comparison and
//! `YEAR_COMPACT_MIN_BYTES` lowers the size they start from.
//! `YEAR_DAYS` shortens the run for a quick look, `YEAR_RSS_EVERY_DAY=1`
//! prints both memory lines for every day, `YEAR_NO_REEXEC=1` runs the whole
//! year in one process image (a kiosk with `daily_reexec = false`, for
//! comparison), `YEAR_NO_TUNE=1` leaves
//! glibc's allocator at its defaults (the kiosk tunes it), `YEAR_KEEP=1`
//! keeps the data directory. The kiosk is this same binary run as
//! `perf year` with `YEAR_KIOSK_DIR` set, the reopen probe with
//! `YEAR_REOPEN_DIR`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{Durability, Store, StoreOptions};

use super::issue::store_center;

mod child;

const TICKETS_PER_DAY: usize = 3000;
const DEPARTMENTS: usize = 15;
const MEASURED: usize = 500;

fn dir_bytes(dir: &std::path::Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// What of the data directory is sled's log (`db`), its blobs and its
/// snapshots: `year_disk_db_bytes`, `year_disk_blobs_bytes`,
/// `year_disk_snap_bytes`.
fn print_store_files(store: &std::path::Path) -> anyhow::Result<()> {
    let (mut db, mut blobs, mut snap) = (0, 0, 0);
    for entry in std::fs::read_dir(store).with_context(|| format!("listing {}", store.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        match name.as_str() {
            "db" => db += entry.metadata()?.len(),
            "blobs" => blobs += dir_bytes(&entry.path())?,
            _ if name.starts_with("snap.") => snap += entry.metadata()?.len(),
            _ => {}
        }
    }
    println!("year_disk_db_bytes: {db} bytes");
    println!("year_disk_blobs_bytes: {blobs} bytes");
    println!("year_disk_snap_bytes: {snap} bytes");
    Ok(())
}

fn rss_bytes() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    vm_rss(&status)
}

/// The VmRSS line of a `/proc/PID/status` text, in bytes.
fn vm_rss(status: &str) -> anyhow::Result<u64> {
    status_bytes(status, "VmRSS:")
}

/// The line `key` (e.g. `VmHWM:`) of a `/proc/PID/status` text, in bytes.
fn status_bytes(status: &str, key: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .with_context(|| format!("no {key} line"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("empty {key} line"))?
        .parse()
        .with_context(|| format!("{key} is not a number"))?;
    Ok(kib * 1024)
}

/// Tickets between two flushes of an accelerated day:
/// `YEAR_SIM_FLUSH_EVERY`, 100 unless set, 0 for none (see the module docs).
fn sim_flush_every() -> usize {
    std::env::var("YEAR_SIM_FLUSH_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// One service day; returns the sorted latencies of the measured issues.
fn simulate_day(
    store: &Store,
    clock: &ManualClock,
    start: Timestamp,
    measure: bool,
    durable: bool,
) -> anyhow::Result<Vec<Duration>> {
    let flush_every = sim_flush_every();
    clock.set(start);
    store.roll_service_day()?;
    store.prune()?;
    let mut latencies = Vec::new();
    let actor = Actor::Staff { name: "sim".into() };
    for i in 0..TICKETS_PER_DAY {
        clock.advance(SignedDuration::from_secs(10));
        let department = format!("d{}", i % DEPARTMENTS);
        let flushed = measure && i < MEASURED;
        if measure && !durable && i == MEASURED {
            store.set_durability(Durability::Deferred)?;
        }
        if !(durable || measure && i < MEASURED) && flush_every > 0 && i % flush_every == 0 && i > 0
        {
            // What sled has not written yet, written now (as its own flusher
            // does every 500 ms, an eternity in the accelerated day).
            store.set_durability(Durability::Flush)?;
            store.set_durability(Durability::Deferred)?;
        }
        let started = Instant::now();
        let issued = store.issue(&department.as_str().into(), None, Actor::Button)?;
        if flushed {
            latencies.push(started.elapsed());
        }
        store.mark_printed(issued.ticket.id)?;
        // The department's counter moves on: "next" finishes its previous
        // ticket and calls the oldest waiting one.
        let counter = u16::try_from(i % DEPARTMENTS + 1).unwrap_or(1);
        if store.call_next(counter, actor.clone()).is_err() {
            continue;
        }
        match i % 50 {
            0 => {
                store.recall(counter, None, actor.clone())?;
                store.no_show(counter, None, actor.clone())?;
            }
            1 => {
                let to = format!("d{}", (i + 1) % DEPARTMENTS);
                store.transfer_to_department(counter, None, &to.as_str().into(), actor.clone())?;
            }
            _ => {
                store.start_serving(counter, None, actor.clone())?;
            }
        }
    }
    latencies.sort();
    Ok(latencies)
}

/// Flushed issue p99 of an empty store and of the year's store, measured in
/// alternating chunks at the end of the run, so both see the same disk and
/// the same load from other processes (the start/end pair is months apart
/// in the simulation but minutes apart on a shared machine, and a busy
/// neighbour can swing either one).
fn against_fresh(
    store: &Store,
    config: &kiosk_config::CenterConfig,
    clock: &ManualClock,
) -> anyhow::Result<(Duration, Duration)> {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).context("creating a second directory")?;
    let fresh = Store::open(
        &dir.path().join("fresh"),
        Arc::new(config.clone()),
        Arc::new(clock.clone()),
        &StoreOptions::from_settings(&config.kiosk),
    )
    .context("opening an empty store")?;
    let mut fresh_samples = Vec::new();
    let mut year_samples = Vec::new();
    for chunk in 0..10 {
        for (target, samples) in [(&fresh, &mut fresh_samples), (store, &mut year_samples)] {
            for i in 0..MEASURED / 10 {
                let department = format!("d{}", (chunk + i) % DEPARTMENTS);
                let started = Instant::now();
                target.issue(&department.as_str().into(), None, Actor::Button)?;
                samples.push(started.elapsed());
            }
        }
    }
    fresh_samples.sort();
    year_samples.sort();
    let q = crate::perf::quantile;
    Ok((q(&fresh_samples, 0.99), q(&year_samples, 0.99)))
}

/// Env var that turns `perf year` into the reopen probe.
const REOPEN_ENV: &str = "YEAR_REOPEN_DIR";

/// The reopen probe: open the store in `dir`, use it a little, print RSS.
fn reopen(dir: &std::path::Path) -> anyhow::Result<()> {
    let config = store_center(DEPARTMENTS, 90);
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let began = Instant::now();
    let store = Store::open(
        dir,
        Arc::new(config.clone()),
        Arc::new(clock),
        &StoreOptions::from_settings(&config.kiosk),
    )
    .context("reopening the year's store")?;
    let opened = began.elapsed();
    let snapshot = store.snapshot();
    let days = store.service_days();
    if let Some(first) = days.first() {
        let tickets = store.day_tickets(*first)?;
        if let Some(t) = tickets.get(tickets.len() / 2) {
            store
                .ticket(t.id)?
                .context("a packed ticket is found by id")?;
        }
    }
    println!("reopen_open_ms: {} ms", opened.as_millis());
    println!("reopen_last_seq: {}", snapshot.last_seq);
    println!("reopen_rss_bytes: {} bytes", rss_bytes()?);
    Ok(())
}

/// VmRSS of process `pid`, from `/proc/PID/status`.
fn rss_of(pid: u32) -> anyhow::Result<u64> {
    vm_rss(&status_of(pid)?)
}

/// VmHWM of process `pid`: its peak resident memory since its last execve.
fn hwm_of(pid: u32) -> anyhow::Result<u64> {
    status_bytes(&status_of(pid)?, "VmHWM:")
}

fn status_of(pid: u32) -> anyhow::Result<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))
}

/// Peaks (VmHWM) of the kiosk's images, one per service day.
#[derive(Default)]
struct Peaks {
    /// Largest image peak of a day after day 30, accelerated days.
    after_day_30: u64,
    /// The same over the days run with real flushes (`YEAR_DURABLE_EVERY`).
    durable_after_day_30: u64,
    /// Every image peak, accelerated and durable, for the range line.
    all: Vec<u64>,
    durable: Vec<u64>,
    /// Peak at the end of the current day's service (before the roll).
    service: u64,
    /// Each maintenance image's peak (pack, prune, scheduling), and the
    /// largest after day 30.
    maintenance: Vec<u64>,
    maintenance_after_day_30: u64,
}

/// Run the scenario.
pub fn run() -> anyhow::Result<()> {
    // As the kiosk's `main` does, before any thread exists.
    if std::env::var_os("YEAR_NO_TUNE").is_none() {
        queue_store::store::heap::tune();
    }
    if let Some(dir) = std::env::var_os(REOPEN_ENV) {
        return reopen(std::path::Path::new(&dir));
    }
    let days: i32 = std::env::var("YEAR_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(365);
    if let Some(dir) = std::env::var_os(child::DIR_ENV) {
        return child::run(std::path::Path::new(&dir), days);
    }
    let dir =
        tempfile::tempdir_in(std::env::temp_dir()).context("creating a temporary directory")?;
    // `YEAR_KEEP=1` leaves the data directory behind for inspection.
    let dir_path = dir.path().to_owned();
    let _dir = if std::env::var_os("YEAR_KEEP").is_some() {
        println!("year_dir: {}", dir.keep().display());
        None
    } else {
        Some(dir)
    };
    let config = store_center(DEPARTMENTS, 90);
    let tz = config.center.timezone.clone();
    // The year ends on today's date, so a kiosk started on its data
    // directory continues the same service day.
    let first_day = Timestamp::now()
        .to_zoned(tz.clone())
        .date()
        .checked_sub(SignedDuration::from_hours(24 * i64::from(days - 1)))
        .context("date overflow")?;
    std::fs::write(dir_path.join("first_day"), first_day.to_string())?;
    let began = Instant::now();
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("year")
        .env(child::DIR_ENV, &dir_path)
        .env("YEAR_DAYS", days.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting the year's kiosk")?;
    let pid = child.id();
    let mut go = child.stdin.take().context("no stdin")?;
    let out = std::io::BufReader::new(child.stdout.take().context("no stdout")?);
    let mut rolled_at = None;
    let mut windows = Vec::new();
    let mut peak = 0;
    let mut after_day_30 = 0;
    let mut figures = Vec::new();
    let mut peaks = Peaks::default();
    let mut compactions = Vec::new();
    let every_day = std::env::var_os("YEAR_RSS_EVERY_DAY").is_some();
    use std::io::{BufRead as _, Write as _};
    for line in out.lines() {
        let line = line?;
        if let Some(d) = line.strip_prefix("year_day_ready ") {
            let d: i32 = d.parse()?;
            if let Some(at) = rolled_at.take() {
                windows.push(Instant::now().duration_since(at));
            }
            // What the kiosk starts day `d + 1` with, right after the
            // roll's re-execution (same PID).
            let rss = rss_of(pid)?;
            if d > 30 {
                after_day_30 = after_day_30.max(rss);
            }
            if d > 0 && (d % 30 == 0 || d == days || every_day) {
                println!("year_rss_day_{d}_bytes: {rss} bytes");
            }
            writeln!(go)?;
        } else if let Some(d) = line.strip_prefix("year_day_end ") {
            let d: i32 = d.parse()?;
            // The day's peak, at the end of its (accelerated) service.
            let rss = rss_of(pid)?;
            peaks.service = hwm_of(pid)?;
            peak = peak.max(rss);
            if (d + 1) % 30 == 0 || d + 1 == days || every_day {
                println!("year_rss_day_{}_before_roll_bytes: {rss} bytes", d + 1);
            }
            writeln!(go)?;
        } else if let Some(rest) = line.strip_prefix("year_hwm ") {
            // The image's peak just before its execve: day `d + 1`'s, from
            // its start through the service, the roll and any compaction.
            let mut words = rest.split_whitespace().map(str::parse::<u64>);
            let (Some(Ok(d)), Some(Ok(hwm)), Some(Ok(rss))) =
                (words.next(), words.next(), words.next())
            else {
                anyhow::bail!("bad line from the kiosk: {line}");
            };
            let d = i32::try_from(d)? + 1;
            let durable = child::durable_day(d - 1);
            if durable {
                peaks.durable.push(hwm);
            } else {
                peaks.all.push(hwm);
            }
            if d > 30 {
                let max = if durable {
                    &mut peaks.durable_after_day_30
                } else {
                    &mut peaks.after_day_30
                };
                *max = (*max).max(hwm);
            }
            if d % 30 == 0 || d == days || every_day || durable {
                let kind = if durable { "flushed" } else { "deferred" };
                println!(
                    "year_hwm_day_{d}_bytes: {hwm} bytes ({kind}; peak of the service {}, resident before the execve {rss})",
                    peaks.service
                );
            }
        } else if let Some(rest) = line.strip_prefix("year_hwm_maintenance ") {
            // The maintenance image after day `d` (1-based): its peak.
            let mut words = rest.split_whitespace().map(str::parse::<u64>);
            let (Some(Ok(d)), Some(Ok(hwm))) = (words.next(), words.next()) else {
                anyhow::bail!("bad line from the kiosk: {line}");
            };
            peaks.maintenance.push(hwm);
            if d > 30 {
                peaks.maintenance_after_day_30 = peaks.maintenance_after_day_30.max(hwm);
            }
            if d % 30 == 0 || every_day {
                println!("year_hwm_maintenance_after_day_{d}_bytes: {hwm} bytes");
            }
        } else if let Some(rest) = line.strip_prefix("year_compaction ") {
            // A compaction in the children of day `d`'s image, before it
            // opened the store.
            let words = rest
                .split_whitespace()
                .map(str::parse::<u64>)
                .collect::<Result<Vec<u64>, _>>()?;
            let [d, records, before, after, pieces, reader, writer, ms] = words.as_slice() else {
                anyhow::bail!("bad line from the kiosk: {line}");
            };
            compactions.push((*reader, *writer));
            println!(
                "year_compaction_before_day_{}: copy {after} bytes (files {before} bytes before), {records} records, {pieces} readers, peak of a reader {reader} bytes, of the writer {writer} bytes, {ms} ms",
                d + 1
            );
        } else if line.starts_with("year_roll ") {
            rolled_at = Some(Instant::now());
        } else if !line.starts_with("load_average") {
            figures.push(line);
        }
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "the year's kiosk failed: {status}");
    let sim_seconds = began.elapsed().as_secs();
    windows.sort();
    let disk_bytes = dir_bytes(&dir_path)?;
    let ready = start_to_ready(&dir_path, &config)?;
    let probe = std::process::Command::new(std::env::current_exe()?)
        .arg("year")
        .env(REOPEN_ENV, dir_path.join("store"))
        .output()
        .context("running the reopen probe")?;
    anyhow::ensure!(
        probe.status.success(),
        "the reopen probe failed: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let q = crate::perf::quantile;
    println!("year_days: {days} days");
    println!("year_tickets: {} tickets", days as usize * TICKETS_PER_DAY);
    println!("year_sim_seconds: {sim_seconds} s");
    println!(
        "year_kiosk_pid: {pid} (one process, {} re-executions)",
        windows.len()
    );
    println!("year_disk_bytes: {disk_bytes} bytes");
    print_store_files(&dir_path.join("store"))?;
    println!("year_rss_max_after_day_30_bytes: {after_day_30} bytes");
    println!("year_rss_peak_before_roll_bytes: {peak} bytes");
    println!(
        "year_hwm_max_after_day_30_bytes: {} bytes (VmHWM of each day's image, days 31 on, deferred flushes)",
        peaks.after_day_30
    );
    peaks.maintenance.sort_unstable();
    println!(
        "year_hwm_maintenance_max_after_day_30_bytes: {} bytes (the maintenance images: pack, prune, compaction scheduled; {} of them, median {} bytes)",
        peaks.maintenance_after_day_30,
        peaks.maintenance.len(),
        peaks.maintenance.get(peaks.maintenance.len() / 2).copied().unwrap_or(0)
    );
    println!(
        "year_compactions: {} (largest peak of a reader {} bytes, of the writer {} bytes; one process at a time)",
        compactions.len(),
        compactions.iter().map(|c| c.0).max().unwrap_or(0),
        compactions.iter().map(|c| c.1).max().unwrap_or(0)
    );
    if !peaks.durable.is_empty() {
        println!(
            "year_hwm_durable_max_after_day_30_bytes: {} bytes (days run with real flushes: {})",
            peaks.durable_after_day_30,
            peaks.durable.len()
        );
    }
    for (name, list) in [
        ("deferred", &mut peaks.all),
        ("flushed", &mut peaks.durable),
    ] {
        list.sort_unstable();
        if let (Some(lo), Some(hi)) = (list.first(), list.last()) {
            println!(
                "year_hwm_range_{name}: {lo}–{hi} bytes, median {} ({} days)",
                list[list.len() / 2],
                list.len()
            );
        }
    }
    if !windows.is_empty() {
        println!(
            "year_reexec_window_ms_p50: {} ms",
            q(&windows, 0.5).as_millis()
        );
        println!(
            "year_reexec_window_ms_max: {} ms",
            windows[windows.len() - 1].as_millis()
        );
    }
    let mut p99 = (None, None);
    for line in &figures {
        println!("{line}");
        let micros = |l: &str| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        };
        if line.starts_with("issue_p99_start:") {
            p99.0 = micros(line);
        } else if line.starts_with("issue_p99_end:") {
            p99.1 = micros(line);
        }
    }
    if let (Some(start), Some(end)) = p99 {
        println!("issue_p99_end_over_start: {:.2}", end / start.max(1e-3));
    }
    for line in String::from_utf8_lossy(&probe.stdout).lines() {
        if line.starts_with("reopen_") {
            println!("{line}");
        }
    }
    for (i, (took, opened)) in ready.iter().enumerate() {
        println!(
            "year_start_to_ready_ms_run_{}: {} ms (store: {opened})",
            i + 1,
            took.as_millis()
        );
    }
    // The first start is the one after a power cut: sled replays its log
    // from the snapshot of its last opening (the last roll's re-execution).
    if let Some((first, _)) = ready.first() {
        println!("year_start_to_ready_ms: {} ms", first.as_millis());
    }
    Ok(())
}

/// Starts of the real kiosk on the year's data directory, timed from spawn
/// to ready (see the module docs).
fn start_to_ready(
    dir: &std::path::Path,
    config: &kiosk_config::CenterConfig,
) -> anyhow::Result<Vec<(Duration, String)>> {
    let exe = std::env::current_exe()?;
    let kiosk = exe.with_file_name("kiosk");
    anyhow::ensure!(
        kiosk.exists(),
        "{} is missing; build it first with `cargo build --release -p kiosk`",
        kiosk.display()
    );
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(one_start(&kiosk, dir, config)?);
    }
    Ok(runs)
}

/// A center file for `kiosk run` with the departments of `config`.
fn center_file(
    config: &kiosk_config::CenterConfig,
    data_dir: &std::path::Path,
    listen: std::net::SocketAddr,
    printer: &std::path::Path,
) -> String {
    use std::fmt::Write as _;
    let mut text =
        String::from("[center]\nname = \"Trung tâm thử nghiệm\"\nshort_name = \"TT thử\"\n");
    for (i, d) in config.departments.iter().enumerate() {
        // A letter each: blocks of one center must not overlap.
        let prefix = char::from(b'A' + u8::try_from(i % 26).unwrap_or(0));
        let _ = write!(
            text,
            "\n[[departments]]\nid = \"{}\"\nname = \"{}\"\nblock = {{ first = 1, last = 999999, prefix = \"{prefix}\" }}\n",
            d.id.0, d.name
        );
    }
    for c in &config.counters {
        let _ = write!(
            text,
            "\n[[counters]]\nnumber = {}\nserves = [\"{}\"]\n",
            c.number,
            c.serves.first().map_or("", |d| d.0.as_str())
        );
    }
    let _ = write!(
        text,
        "\n[kiosk]\ndata_dir = {:?}\nlisten = \"{listen}\"\nretention_days = 90\n\n[kiosk.printer]\ntransport = \"file\"\npath = {:?}\n",
        data_dir.display().to_string(),
        printer.display().to_string()
    );
    text
}

/// One start of `kiosk run`, stopped with SIGTERM once ready.
#[allow(unsafe_code)] // kill, with its SAFETY comment.
fn one_start(
    kiosk: &std::path::Path,
    dir: &std::path::Path,
    config: &kiosk_config::CenterConfig,
) -> anyhow::Result<(Duration, String)> {
    use std::io::{BufRead, Read, Write};
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let file = dir.join("center.toml");
    std::fs::write(
        &file,
        center_file(config, &dir.join("store"), listen, &dir.join("tickets.bin")),
    )?;
    let began = Instant::now();
    let mut child = std::process::Command::new(kiosk)
        .arg("run")
        .arg("--config")
        .arg(&file)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", kiosk.display()))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let (logged_tx, logged_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("kiosk ready") {
                let _ = logged_tx.send(());
            }
            log.push(line);
        }
        log
    });
    let deadline = began + Duration::from_secs(30);
    let mut logged = false;
    let mut answered = false;
    while !(logged && answered) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the kiosk was not ready within 30 s"
        );
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the kiosk exited before it was ready: {status}");
        }
        logged = logged || logged_rx.try_recv().is_ok();
        if !answered {
            answered = std::net::TcpStream::connect(listen)
                .and_then(|mut stream| {
                    stream.write_all(
                        b"GET /api/v1/summary HTTP/1.1\r\nHost: kiosk\r\nConnection: close\r\n\r\n",
                    )?;
                    let mut head = [0u8; 12];
                    stream.read_exact(&mut head)?;
                    Ok(head.ends_with(b"200"))
                })
                .unwrap_or(false);
        }
        if !(logged && answered) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let took = began.elapsed();
    // Stopped as systemd stops it: SIGTERM, then wait.
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    // SAFETY: kill takes no pointer; `pid` is our own child, not yet reaped,
    // so the number cannot name another process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let stopped = child.wait()?;
    let log = reader.join().unwrap_or_default();
    // A SIGTERM right after the ready line may come before the kiosk has
    // installed its handler (it does so once running): ended by the signal
    // then, which is not what this measures.
    use std::os::unix::process::ExitStatusExt as _;
    anyhow::ensure!(
        stopped.success() || stopped.signal() == Some(libc::SIGTERM),
        "the kiosk did not stop cleanly ({stopped}):\n{}",
        log.join("\n")
    );
    // The store's own account of its opening: sled's part and the total.
    let opened = log
        .iter()
        .find(|l| l.contains("queue store opened"))
        .map(|l| {
            l.split_whitespace()
                .filter(|w| w.starts_with("sled_ms=") || w.starts_with("total_ms="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Ok((took, opened))
}
