//! Operational metrics in the Prometheus text exposition format (0.0.4),
//! served at `GET /metrics`.
//!
//! This module owns a small process-wide registry of counters and latency
//! histograms (atomics and a short mutex per department map; no metrics
//! crate: the format is a few lines of text), the points that feed it —
//! [`observe_issue`] from the press pipeline and [`observe_call`] from the
//! counter routes, which also writes the one log line per call — and
//! [`render`], which adds the gauges read from the running kiosk at scrape
//! time. It does not serve HTTP (`api`'s `metrics_route` does).
//!
//! # What is exported
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `kiosk_tickets_issued_total` | counter | `department` | tickets issued since the kiosk started |
//! | `kiosk_calls_total` | counter | `department`, `recall` | calls ("next" and "recall") since start |
//! | `kiosk_issue_duration_seconds` | histogram | | the durable issue step of a press (store write + fsync) |
//! | `kiosk_call_duration_seconds` | histogram | | a "next"/"recall" in the store, durable |
//! | `kiosk_waiting_tickets` | gauge | `department` | tickets waiting now |
//! | `kiosk_priority_waiting_tickets` | gauge | `department` | of which priority |
//! | `kiosk_issued_today_tickets` | gauge | `department` | tickets issued this service day |
//! | `kiosk_printer_state` | gauge | `state` | 1 for the printer's state now, 0 for the others |
//! | `kiosk_printer_ready` | gauge | | 1 when a ticket can be printed |
//! | `kiosk_printer_paper` | gauge | `state` (`present`, `near_end`, `out`, `unknown`) | 1 for the paper state now |
//! | `kiosk_stream_clients` | gauge | | open event streams (displays, staff pages) |
//! | `kiosk_display_stream_clients` | gauge | `display` | open event streams of each display device token (0 when that display is not following) |
//! | `kiosk_oldest_waiting_seconds` | gauge | `department` | how long the oldest waiting ticket has waited (0 when nobody waits) |
//! | `kiosk_over_target_tickets` | gauge | `department` | tickets waiting longer than `target_wait_minutes` |
//! | `kiosk_target_wait_seconds` | gauge | `department` | the department's target (only departments with one) |
//! | `kiosk_counter_status` | gauge | `counter`, `status` (`open`, `paused`, `closed`) | 1 for the counter's status now |
//! | `kiosk_store_disk_bytes` | gauge | | bytes the queue store uses on disk |
//! | `kiosk_event_last_seq` | gauge | | sequence number of the last event |
//! | `kiosk_ratings_total` | counter | `department`, `level` | citizens' ratings recorded since start (retries of one rating count once) |
//!
//! Counters start at zero for every configured department, so a department
//! with no ticket yet still has a series.
//!
//! # Access
//!
//! `/metrics` is public and read-only, like `/healthz`: the kiosk lives on a
//! LAN without internet, the figures hold no personal data (the same
//! waiting counts are on the public `/api/v1/summary` and the hall board),
//! and a Prometheus scraper or `curl` needs no token to manage.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use kiosk_config::CenterConfig;
use queue_protocol::{DepartmentQueue, Snapshot, Ticket};
use ticket_printer::PaperState;

use crate::printing::PrinterHealth;

/// Upper bounds of the latency histograms' buckets, seconds. The press
/// target is a few milliseconds; an SD card's fsync can take hundreds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A latency histogram with fixed buckets, safe to observe from any thread.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative), the last one is `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of observations, nanoseconds.
    sum_nanos: AtomicU64,
    /// Number of observations.
    count: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let index = LATENCY_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (index, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.buckets[index].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        // The count is the +Inf bucket (read once, so the two agree).
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// The kiosk's counters and histograms since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Tickets issued, by department.
    issued: Mutex<BTreeMap<String, u64>>,
    /// Calls, by department and whether it was a recall.
    calls: Mutex<BTreeMap<(String, bool), u64>>,
    /// Ratings, by department and level.
    ratings: Mutex<BTreeMap<(String, String), u64>>,
    /// The durable issue step of a press.
    pub issue_latency: Histogram,
    /// A "next" or "recall" in the store.
    pub call_latency: Histogram,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *map.entry(key).or_default() += 1;
}

impl Metrics {
    /// Counts an issued ticket and how long the issue step took.
    pub fn ticket_issued(&self, department: &str, took: Duration) {
        bump(&self.issued, department.to_owned());
        self.issue_latency.observe(took);
    }

    /// Counts a call and how long it took.
    pub fn called(&self, department: &str, recall: bool, took: Duration) {
        bump(&self.calls, (department.to_owned(), recall));
        self.call_latency.observe(took);
    }

    /// Counts a rating recorded.
    pub fn rated(&self, department: &str, level: &str) {
        bump(&self.ratings, (department.to_owned(), level.to_owned()));
    }

    /// Tickets issued for `department` since start.
    pub fn issued(&self, department: &str) -> u64 {
        let map = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(department).copied().unwrap_or(0)
    }
}

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

/// The press pipeline's issue step ended after `took`; counted when it
/// issued a ticket (refusals are logged by the pipeline, not counted here).
pub fn observe_issue<T, E>(department: &str, result: &Result<T, E>, took: Duration) {
    if result.is_ok() {
        global().ticket_issued(department, took);
    }
}

/// A "next" (`recall == false`) or "recall" at `counter` ended after
/// `took`: counts and times it and writes the call's log line.
pub fn observe_call<E: std::fmt::Display>(
    counter: u16,
    recall: bool,
    result: &Result<Ticket, E>,
    took: Duration,
) {
    match result {
        Ok(ticket) => {
            global().called(&ticket.department, recall, took);
            tracing::info!(
                counter,
                department = %ticket.department,
                number = %ticket.label,
                ticket = %ticket.id,
                recall,
                "ticket called"
            );
        }
        Err(err) => tracing::debug!(counter, recall, error = %err, "call refused"),
    }
}

/// What the kiosk looks like now, read at scrape time.
#[derive(Debug, Clone)]
pub struct KioskNow {
    /// The queue now.
    pub snapshot: Snapshot,
    /// The printer now.
    pub printer: PrinterHealth,
    /// Open event streams.
    pub stream_clients: usize,
    /// Bytes on disk; `None` when measuring failed.
    pub disk_bytes: Option<u64>,
    /// Tickets waiting now (for the oldest wait and the targets).
    pub waiting: Vec<Ticket>,
    /// Open event streams per display device (every display token).
    pub display_streams: BTreeMap<String, usize>,
    /// The scrape time, Unix ms.
    pub now_ms: i64,
}

/// Per department: seconds the oldest of `waiting` has waited at `now_ms`
/// (0 when nobody waits) and how many wait longer than the department's
/// target. Every configured department is present.
pub fn department_waits(
    config: &CenterConfig,
    waiting: &[Ticket],
    now_ms: i64,
) -> BTreeMap<String, (u64, u32)> {
    let mut out: BTreeMap<String, (u64, u32)> = config
        .departments
        .iter()
        .map(|d| (d.id.as_str().to_owned(), (0, 0)))
        .collect();
    for t in waiting {
        let waited_ms = u64::try_from(now_ms - t.issued_at_ms).unwrap_or(0);
        let target = config
            .department(&kiosk_config::DepartmentId(t.department.clone()))
            .and_then(|d| d.target_wait);
        let entry = out.entry(t.department.clone()).or_default();
        entry.0 = entry.0.max(waited_ms / 1000);
        if target.is_some_and(|target| u128::from(waited_ms) > target.as_millis()) {
            entry.1 += 1;
        }
    }
    out
}

/// Every state `kiosk_printer_state` can have (`PrinterHealth::label`).
const PRINTER_STATES: [&str; 8] = [
    "starting",
    "ready",
    "paper_low",
    "paper_out",
    "cover_open",
    "offline",
    "unreachable",
    "status_unknown",
];

/// A label value with `\`, `"` and line breaks escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn per_department(
    out: &mut String,
    name: &str,
    help: &str,
    queues: &[DepartmentQueue],
    value: impl Fn(&DepartmentQueue) -> u32,
) {
    header(out, name, "gauge", help);
    for q in queues {
        let _ = writeln!(
            out,
            "{name}{{department=\"{}\"}} {}",
            label(&q.department),
            value(q)
        );
    }
}

/// The whole exposition: `metrics`' counters and histograms, then gauges
/// from `now`, with every department of `config` present.
pub fn render(metrics: &Metrics, config: &CenterConfig, now: &KioskNow) -> String {
    let mut out = String::with_capacity(4096);
    let mut departments: Vec<String> = config
        .departments
        .iter()
        .map(|d| d.id.as_str().to_owned())
        .collect();

    let issued = metrics
        .issued
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let calls = metrics
        .calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    // Departments removed by a reload keep their series until restart.
    for d in issued.keys().chain(calls.keys().map(|(d, _)| d)) {
        if !departments.contains(d) {
            departments.push(d.clone());
        }
    }

    header(
        &mut out,
        "kiosk_tickets_issued_total",
        "counter",
        "Tickets issued since the kiosk started.",
    );
    for d in &departments {
        let n = issued.get(d).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "kiosk_tickets_issued_total{{department=\"{}\"}} {n}",
            label(d)
        );
    }
    header(
        &mut out,
        "kiosk_calls_total",
        "counter",
        "Tickets called (next) or called again (recall) since the kiosk started.",
    );
    for d in &departments {
        for recall in [false, true] {
            let n = calls.get(&(d.clone(), recall)).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "kiosk_calls_total{{department=\"{}\",recall=\"{recall}\"}} {n}",
                label(d)
            );
        }
    }
    let ratings = metrics
        .ratings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    header(
        &mut out,
        "kiosk_ratings_total",
        "counter",
        "Citizens' ratings of a service recorded since the kiosk started.",
    );
    let mut levels: Vec<String> = config.ratings.levels.iter().map(|l| l.id.clone()).collect();
    for (_, level) in ratings.keys() {
        if !levels.contains(level) {
            levels.push(level.clone());
        }
    }
    for d in &departments {
        for level in &levels {
            let n = ratings
                .get(&(d.clone(), level.clone()))
                .copied()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "kiosk_ratings_total{{department=\"{}\",level=\"{}\"}} {n}",
                label(d),
                label(level)
            );
        }
    }
    metrics.issue_latency.render(
        "kiosk_issue_duration_seconds",
        "Durable issue step of a press (store write and fsync), seconds.",
        &mut out,
    );
    metrics.call_latency.render(
        "kiosk_call_duration_seconds",
        "Durable next or recall in the store, seconds.",
        &mut out,
    );

    let queues = &now.snapshot.departments;
    per_department(
        &mut out,
        "kiosk_waiting_tickets",
        "Tickets waiting now.",
        queues,
        |q| q.waiting,
    );
    per_department(
        &mut out,
        "kiosk_priority_waiting_tickets",
        "Priority tickets waiting now.",
        queues,
        |q| q.priority_waiting,
    );
    per_department(
        &mut out,
        "kiosk_issued_today_tickets",
        "Tickets issued this service day.",
        queues,
        |q| q.issued_today,
    );

    let waits = department_waits(config, &now.waiting, now.now_ms);
    header(
        &mut out,
        "kiosk_oldest_waiting_seconds",
        "gauge",
        "Seconds the oldest waiting ticket has waited (0 when nobody waits).",
    );
    for (d, (oldest, _)) in &waits {
        let _ = writeln!(
            out,
            "kiosk_oldest_waiting_seconds{{department=\"{}\"}} {oldest}",
            label(d)
        );
    }
    header(
        &mut out,
        "kiosk_over_target_tickets",
        "gauge",
        "Tickets waiting longer than their department's target_wait_minutes.",
    );
    for (d, (_, over)) in &waits {
        let _ = writeln!(
            out,
            "kiosk_over_target_tickets{{department=\"{}\"}} {over}",
            label(d)
        );
    }
    header(
        &mut out,
        "kiosk_target_wait_seconds",
        "gauge",
        "The department's target_wait_minutes, seconds (departments with a target only).",
    );
    for d in &config.departments {
        if let Some(target) = d.target_wait {
            let _ = writeln!(
                out,
                "kiosk_target_wait_seconds{{department=\"{}\"}} {}",
                label(d.id.as_str()),
                target.as_secs()
            );
        }
    }
    header(
        &mut out,
        "kiosk_counter_status",
        "gauge",
        "1 for the counter's status now (open, paused, closed), 0 for the others.",
    );
    for c in &now.snapshot.counters {
        for status in ["open", "paused", "closed"] {
            let _ = writeln!(
                out,
                "kiosk_counter_status{{counter=\"{}\",status=\"{status}\"}} {}",
                c.counter,
                u8::from(c.status.name() == status)
            );
        }
    }

    header(
        &mut out,
        "kiosk_printer_state",
        "gauge",
        "1 for the printer's state now, 0 for the others.",
    );
    let state = now.printer.label();
    for s in PRINTER_STATES {
        let _ = writeln!(
            out,
            "kiosk_printer_state{{state=\"{s}\"}} {}",
            u8::from(s == state)
        );
    }
    header(
        &mut out,
        "kiosk_printer_ready",
        "gauge",
        "1 when a ticket can be printed now.",
    );
    let _ = writeln!(out, "kiosk_printer_ready {}", u8::from(now.printer.ready()));
    header(
        &mut out,
        "kiosk_printer_paper",
        "gauge",
        "1 for the paper state now, 0 for the others.",
    );
    let paper = match &now.printer {
        PrinterHealth::Reachable(status) => status.paper,
        _ => PaperState::Unknown,
    };
    for (name, value) in [
        ("present", PaperState::Present),
        ("near_end", PaperState::NearEnd),
        ("out", PaperState::Out),
        ("unknown", PaperState::Unknown),
    ] {
        let _ = writeln!(
            out,
            "kiosk_printer_paper{{state=\"{name}\"}} {}",
            u8::from(paper == value)
        );
    }
    header(
        &mut out,
        "kiosk_stream_clients",
        "gauge",
        "Open event streams (displays, staff pages).",
    );
    let _ = writeln!(out, "kiosk_stream_clients {}", now.stream_clients);
    header(
        &mut out,
        "kiosk_display_stream_clients",
        "gauge",
        "Open event streams per display device token (0: that display is not following).",
    );
    for (name, n) in &now.display_streams {
        let _ = writeln!(
            out,
            "kiosk_display_stream_clients{{display=\"{}\"}} {n}",
            label(name)
        );
    }
    if let Some(bytes) = now.disk_bytes {
        header(
            &mut out,
            "kiosk_store_disk_bytes",
            "gauge",
            "Bytes the queue store uses on disk.",
        );
        let _ = writeln!(out, "kiosk_store_disk_bytes {bytes}");
    }
    header(
        &mut out,
        "kiosk_event_last_seq",
        "gauge",
        "Sequence number of the last event.",
    );
    let _ = writeln!(out, "kiosk_event_last_seq {}", now.snapshot.last_seq);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_matches() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(10));
        let mut out = String::new();
        h.render("x_seconds", "test", &mut out);
        assert!(out.contains("x_seconds_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"2.5\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count 3\n"), "{out}");
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
