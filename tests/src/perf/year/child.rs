//! The long-running kiosk of `perf -- year`: the kiosk daemon
//! ([`kiosk::daemon::run_until`], its LAN API on a socket of its own) in a
//! child process that lives through the simulated year and re-executes
//! itself at every service-day roll exactly as `kiosk run` does
//! ([`kiosk::commands::run::reexec_self`]: same PID, listening socket
//! handed over).
//!
//! Each service image of the process simulates one service day through the
//! daemon's store (the clock is a [`ManualClock`], so a day takes seconds),
//! rolls to the next day and asks for the re-execution; the maintenance
//! image that follows packs and prunes (prints `year_hwm_maintenance N`
//! with its peak) and re-executes into the next service image, which
//! makes a scheduled compaction in child processes (`year_compaction …`)
//! and finds which day it is in `sim_day` beside the store. It talks to the
//! parent over stdin/stdout: it prints `year_day_ready N` once live and
//! `year_day_end N` after the day's service, and waits for a line on stdin
//! after each, so the parent reads `/proc/PID/status` at those points;
//! `year_roll N` just before it stops for the re-execution. Every other line
//! it prints is a figure for the parent to pass on.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jiff::civil::Date;
use jiff::Timestamp;
use kiosk::commands::run::{inherited_listener, maintenance_stage, reexec_self, NoPin, Stage};
use kiosk::daemon::{
    api_state, open_app, run_maintenance, run_scheduled_compaction, run_until, Ended, Hardware,
    Reexec,
};
use queue_store::clock::ManualClock;
use queue_store::store::{CompactPolicy, Durability, Store};
use tokio::sync::Notify;

use super::{against_fresh, simulate_day, DEPARTMENTS};
use crate::perf::issue::store_center;

/// Env var naming the data directory: `perf year` is then the child.
pub const DIR_ENV: &str = "YEAR_KIOSK_DIR";

/// The day's opening time: 07:00 local on day `d` of the year.
fn day_start(first: Date, d: i32, tz: &jiff::tz::TimeZone) -> anyhow::Result<Timestamp> {
    let day = first
        .checked_add(jiff::Span::new().days(i64::from(d)))
        .context("date overflow")?;
    Ok(day.at(7, 0, 0, 0).to_zoned(tz.clone())?.timestamp())
}

/// Tell the parent, then wait for its go.
fn report_and_wait(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    let mut go = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut go)
        .context("waiting for the parent")?;
    Ok(())
}

/// One image of the child: one service day (or, after the last, the final
/// figures).
pub fn run(dir: &Path, days: i32) -> anyhow::Result<()> {
    let day: i32 = std::fs::read_to_string(dir.join("sim_day"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    let first: Date = std::fs::read_to_string(dir.join("first_day"))
        .context("reading first_day")?
        .trim()
        .parse()
        .context("first_day is not a date")?;
    let mut config = store_center(DEPARTMENTS, 90);
    config.kiosk.data_dir = dir.join("store");
    // `YEAR_CACHE_BYTES`: sled's cache instead of the kiosk's default.
    if let Some(bytes) = std::env::var("YEAR_CACHE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.kiosk.store_cache_bytes = bytes;
    }
    let tz = config.center.timezone.clone();
    let config = Arc::new(config);
    let clock = ManualClock::new(day_start(first, day, &tz)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let want = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    if maintenance_stage() {
        // The maintenance image between two days, as in `kiosk run`.
        let listener = inherited_listener(want).context("the maintenance image's socket")?;
        run_maintenance(&config, Arc::new(clock.clone()), &compact_policy())?;
        println!("year_hwm_maintenance {day} {}", peak_of_image()?);
        std::io::stdout().flush()?;
        return Err(reexec_self(listener, Stage::Service));
    }
    runtime.block_on(async move {
        // A compaction the last image scheduled, as `open_app` would run
        // it, but reported to the parent.
        if let Some(done) = run_scheduled_compaction(&config) {
            println!(
                "year_compaction {day} {} {} {} {} {} {} {}",
                done.records,
                done.bytes_before,
                done.bytes_after,
                done.pieces,
                done.reader_peak_bytes,
                done.writer_peak_bytes,
                done.took.as_millis()
            );
        }
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(clock.clone()))?;
        let listener = match inherited_listener(want) {
            Some(listener) => listener,
            None => std::net::TcpListener::bind(want)?,
        };
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let api = api_state(&app, &config, None)?;
        let settings =
            kiosk::buttons::DebounceSettings::with_press_interval(Duration::from_secs(1));
        let hardware = Hardware {
            buttons: kiosk::buttons::ButtonPanel::<NoPin>::new(Vec::new(), settings),
            lights: kiosk::leds::StatusLights::<NoPin>::new(None, None, None, None),
        };
        let again = Arc::new(Notify::new());
        let done = Arc::new(Notify::new());
        let driver = {
            let (store, again, done) = (app.store().clone(), again.clone(), done.clone());
            let config = Arc::clone(&config);
            tokio::task::spawn_blocking(move || {
                // `YEAR_NO_REEXEC=1`: every day in this one image, for
                // comparison with a kiosk that never re-executes.
                let once = std::env::var_os("YEAR_NO_REEXEC").is_none();
                let mut day = day;
                let result = loop {
                    match drive(&store, &config, &clock, first, day, days) {
                        Ok(true) if !once => day += 1,
                        other => break other,
                    }
                };
                match &result {
                    Ok(true) => again.notify_one(),
                    _ => done.notify_one(),
                }
                result
            })
        };
        let ended = run_until(
            app,
            hardware,
            listener,
            None,
            api,
            axum::Router::new(),
            async move { done.notified().await },
            Reexec {
                at_roll: false,
                requested: async move { again.notified().await },
            },
        )
        .await?;
        driver.await??;
        match ended {
            Ended::Reexec(listener) => {
                // The image's peak, compaction included: read now, as the
                // kernel resets it at the execve.
                println!("year_hwm {day} {}", peak_of_image()?);
                std::io::stdout().flush()?;
                Err(reexec_self(listener, Stage::Maintenance))
            }
            Ended::Stopped => Ok(()),
        }
    })
}

/// `VmHWM` (the peak resident memory since this image's execve) and
/// `VmRSS` of this process, in bytes, as "HWM RSS".
fn peak_of_image() -> anyhow::Result<String> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    Ok(format!(
        "{} {}",
        super::status_bytes(&status, "VmHWM:")?,
        super::status_bytes(&status, "VmRSS:")?
    ))
}

/// Whether day `day` (0-based) runs with real flushes throughout:
/// every `YEAR_DURABLE_EVERY`th day (1-based), to compare a real day's
/// memory with the accelerated ones.
pub fn durable_day(day: i32) -> bool {
    std::env::var("YEAR_DURABLE_EVERY")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .is_some_and(|n| n > 0 && (day + 1) % n == 0)
}

/// The daemon's compaction policy, or never with `YEAR_NO_COMPACT=1`
/// (for comparison with a kiosk that only re-executes), or from
/// `YEAR_COMPACT_MIN_BYTES` bytes on (to see compactions in a short run).
fn compact_policy() -> CompactPolicy {
    if std::env::var_os("YEAR_NO_COMPACT").is_some() {
        return CompactPolicy {
            min_bytes: u64::MAX,
            factor: 1,
        };
    }
    let mut policy = CompactPolicy::default();
    if let Some(min) = std::env::var("YEAR_COMPACT_MIN_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        policy.min_bytes = min;
    }
    policy
}

/// This image's work; true when the next day follows (re-execute).
fn drive(
    store: &Store,
    config: &kiosk_config::CenterConfig,
    clock: &ManualClock,
    first: Date,
    day: i32,
    days: i32,
) -> anyhow::Result<bool> {
    let tz = config.center.timezone.clone();
    report_and_wait(&format!("year_day_ready {day}"))?;
    if day == days {
        // The morning after the year: the final figures.
        store.set_durability(Durability::Flush)?;
        let (p99_fresh, p99_year) = against_fresh(store, config, clock)?;
        println!(
            "events_kept: {} events",
            store.last_seq() + 1 - store.oldest_kept_seq()
        );
        println!("tickets_kept_days: {} days", store.service_days().len());
        println!("year_sled_bytes: {} bytes", store.disk_bytes()?);
        println!("issue_p99_fresh: {} us", p99_fresh.as_micros());
        println!("issue_p99_year: {} us", p99_year.as_micros());
        println!(
            "issue_p99_year_over_fresh: {:.2}",
            p99_year.as_secs_f64() / p99_fresh.as_secs_f64().max(1e-9)
        );
        return Ok(false);
    }
    let measure = day == 0 || day == days - 1;
    let durable = durable_day(day);
    store.set_durability(if measure || durable {
        Durability::Flush
    } else {
        Durability::Deferred
    })?;
    let latencies = simulate_day(store, clock, day_start(first, day, &tz)?, measure, durable)?;
    if measure {
        let which = if day == 0 { "start" } else { "end" };
        println!(
            "issue_p99_{which}: {} us",
            crate::perf::quantile(&latencies, 0.99).as_micros()
        );
    }
    report_and_wait(&format!("year_day_end {day}"))?;
    // The roll, as the daemon does it: the new day starts; everything is
    // flushed and the process re-executes itself into the maintenance
    // image, which packs and prunes the old days.
    clock.set(day_start(first, day + 1, &tz)?);
    store.roll_service_day()?;
    store.set_durability(Durability::Flush)?;
    let next = dir_of(config).join("sim_day");
    std::fs::write(next.with_extension("new"), (day + 1).to_string())?;
    std::fs::rename(next.with_extension("new"), &next)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "year_roll {}", day + 1)?;
    out.flush()?;
    Ok(true)
}

fn dir_of(config: &kiosk_config::CenterConfig) -> &Path {
    config.kiosk.data_dir.parent().unwrap_or(Path::new("."))
}
