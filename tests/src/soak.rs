//! The soak suite: the whole system under power cuts, a full disk, printer
//! and network faults, a day of load and hostile input, with one table of
//! figures (`cargo run --release -p system-tests --bin soak -- --quick`).
//!
//! Each scenario is one module with `run(mode) -> Row`: it counts what it
//! tried, says what it checked, and counts everything lost or wrong. A
//! scenario that panics or fails to set up is itself one "wrong" (the table
//! says why), so the binary always prints the whole table and exits non-zero
//! when any row is not clean. Everything talks to 127.0.0.1 only; every child
//! process, emulator and mount is released by a drop guard.
//!
//! This module owns the table and the run order; it does not start the
//! kiosk itself (the scenarios do, through `kiosk::daemon` or the store).

pub mod disk;
pub mod flood;
pub mod hostile;
pub mod http;
pub mod load;
pub mod maintenance;
pub mod network;
pub mod power;
pub mod printer;
pub mod proxy;
pub mod ratings;

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// How long and how hard to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A few minutes in all (CI).
    Quick,
    /// Longer: hundreds more tries per scenario.
    Full,
}

impl Mode {
    /// `quick` in quick mode, else `full`.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The scenario's name.
    pub scenario: String,
    /// How many times it was tried (kills, presses, requests, …).
    pub tries: u64,
    /// What was checked, with figures.
    pub checked: Vec<String>,
    /// What was lost or wrong: each entry is one problem with its evidence.
    pub wrong: Vec<String>,
    /// Figures that are not pass/fail (latencies), printed under the table.
    pub figures: Vec<String>,
    /// Wall-clock seconds the scenario took.
    pub seconds: f64,
}

impl Row {
    /// An empty row for `scenario`.
    pub fn new(scenario: &str) -> Row {
        Row {
            scenario: scenario.to_string(),
            ..Row::default()
        }
    }

    /// Notes something checked.
    pub fn check(&mut self, what: impl Into<String>) {
        self.checked.push(what.into());
    }

    /// Records one problem; `ok` false means lost or wrong.
    pub fn expect(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.wrong.push(problem());
        }
    }

    /// Records one problem.
    pub fn fail(&mut self, problem: impl Into<String>) {
        self.wrong.push(problem.into());
    }

    /// A figure printed under the table (`name: value unit`).
    pub fn figure(&mut self, line: impl Into<String>) {
        self.figures.push(line.into());
    }
}

/// A scenario's entry point.
pub type Scenario = fn(Mode) -> anyhow::Result<Row>;

/// Every scenario, in run order, by the name `--only` takes.
pub const SCENARIOS: &[(&str, Scenario)] = &[
    ("power", power::run),
    ("disk", disk::run),
    ("printer", printer::run),
    ("network", network::run),
    ("load", load::run),
    ("hostile", hostile::run),
    ("ratings", ratings::run),
    ("maintenance", maintenance::run),
];

/// Runs one scenario; a setup error or a panic becomes a wrong row.
pub fn run_one(name: &str, scenario: Scenario, mode: Mode) -> Row {
    let started = Instant::now();
    eprintln!("soak: {name} …");
    let mut row = match catch_unwind(AssertUnwindSafe(|| scenario(mode))) {
        Ok(Ok(row)) => row,
        Ok(Err(err)) => {
            let mut row = Row::new(name);
            row.fail(format!("could not run: {err:#}"));
            row
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| {
                    panic
                        .downcast_ref::<&str>()
                        .map(std::string::ToString::to_string)
                })
                .unwrap_or_else(|| "a panic".into());
            let mut row = Row::new(name);
            row.fail(format!("panicked: {what}"));
            row
        }
    };
    row.seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "soak: {name} done in {:.1} s, {} wrong",
        row.seconds,
        row.wrong.len()
    );
    row
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table in Markdown, then the figures, then every problem found.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| scenario | tries | checked | lost or wrong |\n");
    out.push_str("|---|---:|---|---:|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.scenario,
            thousands(row.tries),
            row.checked.join("; ").replace('|', "/"),
            row.wrong.len()
        );
    }
    let figures: Vec<&Row> = rows.iter().filter(|r| !r.figures.is_empty()).collect();
    if !figures.is_empty() {
        out.push('\n');
        for row in figures {
            for line in &row.figures {
                let _ = writeln!(out, "{}_{line}", row.scenario.replace(' ', "_"));
            }
        }
    }
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    let _ = writeln!(out, "\nsoak_seconds: {total:.0} s");
    for row in rows.iter().filter(|r| !r.wrong.is_empty()) {
        let _ = writeln!(out, "\n{} — lost or wrong:", row.scenario);
        for (i, problem) in row.wrong.iter().enumerate() {
            if i == 20 {
                let _ = writeln!(out, "  … and {} more", row.wrong.len() - 20);
                break;
            }
            let _ = writeln!(out, "  - {problem}");
        }
    }
    out
}

/// The value at quantile `q` of `samples` (sorted here), in milliseconds.
pub fn quantile_ms(samples: &mut [std::time::Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort();
    crate::perf::quantile(samples, q).as_secs_f64() * 1000.0
}

/// The longest any one wait in the suite may take: a scenario that waits
/// longer for something has found a hang, and says what it waited for.
pub const WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Awaits `future` for at most [`WAIT_LIMIT`]; the error names `what`.
pub async fn wait<T>(
    what: &str,
    future: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    wait_for(WAIT_LIMIT, what, future).await
}

/// Awaits `future` for at most `limit`; the error names `what`.
pub async fn wait_for<T>(
    limit: std::time::Duration,
    what: &str,
    future: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| anyhow::anyhow!("waited more than {limit:?} for {what}; something hangs"))
}

/// A child killed (SIGKILL) and reaped when dropped.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's stdout, line by line, from a thread of its own (so a test
/// can wait for a line with a deadline); the thread ends with the pipe.
pub fn stdout_lines(
    child: &mut std::process::Child,
) -> anyhow::Result<(
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<()>,
)> {
    use std::io::BufRead as _;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("the child's stdout is not piped"))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((rx, reader))
}

/// A multi-threaded tokio runtime like the daemon's (two workers).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The soak center: the embedded Phú Xuân config (15 departments, 15
/// counters), open all day, data under `dir/data`, no daily caps (so a long
/// run is not refused for them), printing over TCP to `printer` on loopback.
pub fn center(
    dir: &std::path::Path,
    printer: std::net::SocketAddr,
) -> anyhow::Result<kiosk_config::CenterConfig> {
    let mut config = kiosk::demo::demo_config(dir, "127.0.0.1:0".parse()?)?;
    config.kiosk.printer.transport = kiosk_config::PrinterTransport::Tcp {
        host: printer.ip().to_string(),
        port: printer.port(),
    };
    for department in &mut config.departments {
        department.daily_cap = None;
    }
    Ok(config)
}
