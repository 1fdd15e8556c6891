//! Perf scenario `issue`: the store's issue latency against the disk's own
//! fsync latency, measured in the same run on the same directory.
//!
//! An issue writes sled's log buffer (`pwrite` + `sync_file_range`, inside
//! sled's `flush()`) and then `fdatasync`s the log file; the baseline is a
//! small `write` + `sync_all` of a plain file beside the store.
//! Runs the comparison five times (each in alternating chunks) and prints
//! each round's ratio, `issue_p50`, `issue_p99`, `fsync_p50`, `fsync_p99`
//! (µs, all rounds) and `issue_p99_over_fsync_p99_median` and `_worst`
//! (target ≤ 3; #16 asks for < 2.5 reliably). Also home of [`store_center`],
//! the small center the crash test and the `year` scenario use.
//!
//! What the ratio compares: one durable ticket (two sled log writes, each
//! `pwrite` + `sync_file_range` on a sled pool thread, then our
//! `fdatasync`) against the cheapest durable append a program can do
//! (append + `fsync` on one thread). It depends on the machine's load more
//! than on the store: on a busy 2-core machine both p99s are the
//! scheduler's 4 ms ticks and the ratio is about 1; when CPU waits are
//! short (fsync p50 ~0.12 ms) it is 2.5–3. The store module's docs
//! (`queue_store::store`, "Durability") say where the time goes.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::civil::time;
use jiff::tz::TimeZone;
use kiosk_config::*;
use queue_protocol::Actor;
use queue_store::clock::SystemClock;
use queue_store::store::{Store, StoreOptions};

const SAMPLES: usize = 2000;
/// Rounds of the comparison; the median and the worst ratio are printed.
const ROUNDS: usize = 5;

/// A center with `departments` departments (`d0`, `d1`, …; numbers
/// 1–999999, no cap), one counter per department (counter `n+1` serves `dn`)
/// and no opening sessions or closed days, so it issues at any time.
pub fn store_center(departments: usize, retention_days: u32) -> CenterConfig {
    let department = |i: usize| Department {
        id: DepartmentId(format!("d{i}")),
        name: format!("Phòng {i}"),
        block: NumberBlock {
            first: 1,
            last: 999_999,
            prefix: None,
            digits: 4,
            on_exhausted: Exhaustion::Refuse,
        },
        daily_cap: None,
        sessions: None,
        priority: true,
        button: None,
        priority_button: None,
        target_wait: None,
        services: Vec::new(),
    };
    CenterConfig {
        center: Center {
            name: "Trung tâm thử nghiệm".into(),
            short_name: "TT thử".into(),
            address: "Huế".into(),
            timezone_name: "Asia/Ho_Chi_Minh".into(),
            timezone: TimeZone::get("Asia/Ho_Chi_Minh").unwrap_or(TimeZone::UTC),
            day_starts_at: time(0, 0, 0, 0),
            sessions: vec![],
            closed_weekdays: vec![],
            closed_dates: vec![],
            ticket_header: vec![],
            ticket_footer: vec![],
            status_url: None,
        },
        departments: (0..departments).map(department).collect(),
        counters: (0..departments)
            .map(|i| Counter {
                number: u16::try_from(i + 1).unwrap_or(u16::MAX),
                name: format!("Quầy {}", i + 1),
                serves: vec![DepartmentId(format!("d{i}"))],
            })
            .collect(),
        kiosk: KioskSettings {
            data_dir: "/var/lib/kiosk".into(),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            printer: PrinterSettings {
                transport: PrinterTransport::File {
                    path: "/dev/null".into(),
                },
                paper_width_mm: 80,
                dots_per_line: 576,
                cut: true,
                band_height: 24,
                mode: PrintMode::Raster,
                connect_timeout: Duration::from_secs(1),
                io_timeout: Duration::from_secs(1),
                status_interval: Duration::from_secs(5),
            },
            leds: StatusLeds::default(),
            press_interval: Duration::from_millis(800),
            priority: PriorityPolicy {
                classes: vec![PriorityClass {
                    id: "nguoi-cao-tuoi".into(),
                    name: "Người cao tuổi".into(),
                }],
                max_in_a_row: 2,
            },
            store_cache_bytes: 4 * 1024 * 1024,
            retention_days,
            daily_reexec: false,
            tls: None,
            public: None,
            touch: TouchSettings::default(),
        },
        ratings: RatingSettings::default(),
        counter_work: CounterWork::default(),
    }
}

/// Latency of one 256-byte append + `sync_all` to a plain file in `dir`.
pub fn fsync_samples(dir: &std::path::Path, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let path = dir.join("fsync-probe");
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let block = [0x5au8; 256];
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        file.write_all(&block).context("writing the fsync probe")?;
        file.sync_all().context("fsync of the probe file")?;
        out.push(start.elapsed());
    }
    out.sort();
    Ok(out)
}

/// Latency of `samples` issues (alternating departments) on `store`.
pub fn issue_samples(store: &Store, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let department = if i % 2 == 0 { "d0" } else { "d1" };
        let start = Instant::now();
        store
            .issue(&department.into(), None, Actor::Button)
            .with_context(|| format!("issuing ticket {i}"))?;
        out.push(start.elapsed());
    }
    out.sort();
    Ok(out)
}

fn us(d: Duration) -> u128 {
    d.as_micros()
}

/// Run the scenario.
pub fn run() -> anyhow::Result<()> {
    let dir =
        tempfile::tempdir_in(std::env::temp_dir()).context("creating a temporary directory")?;
    let config = store_center(2, 90);
    let store = Store::open(
        &dir.path().join("store"),
        Arc::new(config.clone()),
        Arc::new(SystemClock),
        &StoreOptions::from_settings(&config.kiosk),
    )
    .context("opening the store")?;
    // Warm up both paths, then interleave the two measurements in chunks so
    // both see the same disk conditions; five rounds, because one ratio on a
    // shared machine passes or fails by chance.
    issue_samples(&store, 100)?;
    fsync_samples(dir.path(), 100)?;
    let q = crate::perf::quantile;
    let mut all_issues = Vec::new();
    let mut all_fsyncs = Vec::new();
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let mut issues = Vec::new();
        let mut fsyncs = Vec::new();
        for _ in 0..10 {
            issues.extend(issue_samples(&store, SAMPLES / 10)?);
            fsyncs.extend(fsync_samples(dir.path(), SAMPLES / 10)?);
        }
        issues.sort();
        fsyncs.sort();
        let ratio = q(&issues, 0.99).as_secs_f64() / q(&fsyncs, 0.99).as_secs_f64().max(1e-9);
        println!(
            "issue_round_{round}: issue_p99 {} us, fsync_p99 {} us, ratio {ratio:.2}",
            us(q(&issues, 0.99)),
            us(q(&fsyncs, 0.99))
        );
        ratios.push(ratio);
        all_issues.extend(issues);
        all_fsyncs.extend(fsyncs);
    }
    all_issues.sort();
    all_fsyncs.sort();
    ratios.sort_by(f64::total_cmp);
    println!("issue_p50: {} us", us(q(&all_issues, 0.5)));
    println!("issue_p99: {} us", us(q(&all_issues, 0.99)));
    println!("fsync_p50: {} us", us(q(&all_fsyncs, 0.5)));
    println!("fsync_p99: {} us", us(q(&all_fsyncs, 0.99)));
    println!(
        "issue_p99_over_fsync_p99_median: {:.2}",
        crate::perf::quantile(&ratios, 0.5)
    );
    println!(
        "issue_p99_over_fsync_p99_worst: {:.2}",
        ratios[ratios.len() - 1]
    );
    Ok(())
}
