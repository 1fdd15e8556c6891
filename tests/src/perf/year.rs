//! Perf scenario `year`: a year of a busy center through the store.
//!
//! 365 service days × 3,000 tickets over 15 departments, each ticket through
//! its whole life (issued, called, served, finished; about 3 % no-shows and
//! 2 % transfers), with a [`ManualClock`], retention of 90 days and a prune
//! after each day starts. To finish in minutes the bulk of the simulation
//! runs with [`Durability::Deferred`] (no fsync per operation — simulation
//! only); the first 500 issues of the first and of the last day run with
//! real flushes and give `issue_p99_start` and `issue_p99_end`.
//!
//! Prints `year_disk_bytes` (files in the data directory), `year_sled_bytes`
//! (sled's own count), `year_rss_bytes` (VmRSS of this process at the end),
//! `reopen_rss_bytes` (VmRSS of a fresh process that opens the year's data
//! directory, takes a snapshot and reads a ticket of a packed day — what a
//! restarted kiosk starts from), `events_kept`, `tickets_kept_days`,
//! `issue_p99_start`, `issue_p99_end` (µs) and `issue_p99_end_over_start`.
//! Then `issue_p99_fresh`, `issue_p99_year` and `issue_p99_year_over_fresh`:
//! flushed issues on an empty store and on the year's store in alternating
//! chunks at the end, the fairer comparison on a machine shared with other
//! work. The store packs each finished day and keeps events for two days
//! (see the kiosk store's Retention docs).
//! `YEAR_DAYS` shortens the run for a quick look, `YEAR_CACHE_BYTES` sets
//! sled's cache, `YEAR_KEEP=1` keeps the data directory. The fresh process is this
//! same binary run as `perf year` with `YEAR_REOPEN_DIR` set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{civil::date, SignedDuration, Timestamp};
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{Durability, Store, StoreOptions};

use super::issue::store_center;

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

fn rss_bytes() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("empty VmRSS line")?
        .parse()
        .context("VmRSS is not a number")?;
    Ok(kib * 1024)
}

/// One service day; returns the sorted latencies of the measured issues.
fn simulate_day(
    store: &Store,
    clock: &ManualClock,
    start: Timestamp,
    measure: bool,
) -> anyhow::Result<Vec<Duration>> {
    clock.set(start);
    store.roll_service_day()?;
    store.prune()?;
    let mut latencies = Vec::new();
    let actor = Actor::Staff { name: "sim".into() };
    for i in 0..TICKETS_PER_DAY {
        clock.advance(SignedDuration::from_secs(10));
        let department = format!("d{}", i % DEPARTMENTS);
        let flushed = measure && i < MEASURED;
        if measure && i == MEASURED {
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

/// Run the scenario.
pub fn run() -> anyhow::Result<()> {
    if let Some(dir) = std::env::var_os(REOPEN_ENV) {
        return reopen(std::path::Path::new(&dir));
    }
    let days: i32 = std::env::var("YEAR_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(365);
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
    let mut config = store_center(DEPARTMENTS, 90);
    if let Some(bytes) = std::env::var("YEAR_CACHE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.kiosk.store_cache_bytes = bytes;
    }
    let tz = config.center.timezone.clone();
    let first_day = date(2026, 1, 1);
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let store = Store::open(
        &dir_path.join("store"),
        Arc::new(config.clone()),
        Arc::new(clock.clone()),
        &StoreOptions::from_settings(&config.kiosk),
    )
    .context("opening the store")?;
    let began = Instant::now();
    let q = crate::perf::quantile;
    let mut p99_start = Duration::ZERO;
    let mut p99_end = Duration::ZERO;
    for d in 0..days {
        let day = first_day
            .checked_add(SignedDuration::from_hours(24 * i64::from(d)))
            .context("date overflow")?;
        let start = day.at(7, 0, 0, 0).to_zoned(tz.clone())?.timestamp();
        let measure = d == 0 || d == days - 1;
        if measure {
            store.set_durability(Durability::Flush)?;
        }
        let latencies = simulate_day(&store, &clock, start, measure)?;
        if d == 0 {
            p99_start = q(&latencies, 0.99);
        }
        if d == days - 1 {
            p99_end = q(&latencies, 0.99);
        }
    }
    store.set_durability(Durability::Flush)?;
    let sim_seconds = began.elapsed().as_secs();
    let (p99_fresh, p99_year) = against_fresh(&store, &config, &clock)?;
    let rss = rss_bytes()?;
    let events_kept = store.last_seq() + 1 - store.oldest_kept_seq();
    let kept_days = store.service_days().len();
    let sled_bytes = store.disk_bytes()?;
    drop(store);
    let disk_bytes = dir_bytes(&dir_path)?;
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
    println!("year_days: {days} days");
    println!("year_tickets: {} tickets", days as usize * TICKETS_PER_DAY);
    println!("year_sim_seconds: {sim_seconds} s");
    println!("year_disk_bytes: {disk_bytes} bytes");
    println!("year_sled_bytes: {sled_bytes} bytes");
    println!("year_rss_bytes: {rss} bytes");
    print!("{}", String::from_utf8_lossy(&probe.stdout));
    println!("events_kept: {events_kept} events");
    println!("tickets_kept_days: {kept_days} days");
    println!("issue_p99_start: {} us", p99_start.as_micros());
    println!("issue_p99_end: {} us", p99_end.as_micros());
    println!(
        "issue_p99_end_over_start: {:.2}",
        p99_end.as_secs_f64() / p99_start.as_secs_f64().max(1e-9)
    );
    println!("issue_p99_fresh: {} us", p99_fresh.as_micros());
    println!("issue_p99_year: {} us", p99_year.as_micros());
    println!(
        "issue_p99_year_over_fresh: {:.2}",
        p99_year.as_secs_f64() / p99_fresh.as_secs_f64().max(1e-9)
    );
    Ok(())
}
