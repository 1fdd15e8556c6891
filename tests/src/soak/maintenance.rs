//! Scenario `maintenance kills`: the kiosk is killed with SIGKILL during
//! its maintenance step — the service-day roll and prune, the compaction
//! of the store, the re-execution and the new image's opening, which swaps
//! the compacted copy in.
//!
//! The kiosk is the soak binary re-run as `soak --maintenance-child DIR
//! PORT` ([`child_main`]). Each image of it opens the store as the daemon
//! does ([`open_app`]: a committed compaction is swapped in here) and
//! prints `OPENED`, presses a few tickets through the real press pipeline
//! (the power-cut scenario's presses, one `PRINTED …` line each), then runs
//! the maintenance step with the daemon's own functions — roll, prune,
//! [`compact_if_due`] with a policy that always compacts — printing
//! `MAINT begin` before it and `MAINT committed` after the copy is
//! committed, and re-executes itself exactly as `kiosk run` does
//! ([`reexec_self`]: same PID, listening socket handed over). So one child
//! goes through the step again and again until it is killed.
//!
//! The parent kills each child at a random moment after its first
//! `MAINT begin`, within 1.2 times the longest begin → `OPENED` span seen
//! so far (every tenth round waits for that `OPENED` to measure it), so
//! kills fall in the roll, the copy, the commit, the `execve` and the
//! opening that swaps the copy in; then it
//! opens the store and checks, as the power-cut scenario does: it opens;
//! no compaction file is left; every printed ticket is there under its
//! number; no number was printed twice; the event log has no hole. At the
//! end every stored ticket has its own number.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk::app::blocking;
use kiosk::commands::run::{inherited_listener, reexec_self};
use kiosk::daemon::{compact_if_due, open_app};
use queue_store::clock::SystemClock;
use queue_store::store::{compact, CompactPolicy};
use rand::Rng;

use super::power::{check_reopened, count_unique_numbers, open_store, parse, press};
use super::{center, thousands, KillOnDrop, Mode, Row};
use crate::loopback_printer::LoopbackPrinter;

/// The argument that makes the soak binary run [`child_main`].
pub const CHILD_FLAG: &str = "--maintenance-child";

/// Presses each image makes before its maintenance step.
const PRESSES: usize = 3;

/// Compact at every step (the daemon's default waits for 64 MiB).
const ALWAYS: CompactPolicy = CompactPolicy {
    min_bytes: 0,
    factor: 0,
};

/// Where a kill fell, from the lines the child printed before it.
#[derive(Debug, Default)]
struct Phases {
    /// After `MAINT begin`, before `MAINT committed`: roll, prune, copy.
    copy: u64,
    /// After the commit, before the new image said `OPENED`: the
    /// `execve` and the opening that swaps the copy in.
    swap: u64,
    /// After the new image opened.
    after: u64,
}

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    let rounds = mode.pick(40, 300);
    let mut row = Row::new("maintenance kills");
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let printer = LoopbackPrinter::start().context("loopback printer")?;
    let exe = std::env::current_exe().context("finding the soak binary")?;
    let config = Arc::new(center(dir.path(), printer.address)?);
    let mut rng = rand::rng();
    let mut printed: HashMap<(String, String, u32), u64> = HashMap::new();
    let mut phases = Phases::default();
    let mut committed = 0u64;
    let mut checked_seq = 0u64;
    let mut opened = 0u64;
    // The longest MAINT begin → OPENED seen: where kills are spread.
    let mut span = Duration::from_millis(100);
    for round in 0..rounds {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .arg(CHILD_FLAG)
                .arg(dir.path())
                .arg(printer.address.port().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting the kiosk child")?,
        );
        let (rx, reader) = super::stdout_lines(&mut child.0)?;
        let mut lines = Vec::new();
        let mut begun = None;
        let started = Instant::now();
        while begun.is_none() && started.elapsed() < super::WAIT_LIMIT {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) else {
                if let Ok(Some(status)) = child.0.try_wait() {
                    row.fail(format!(
                        "round {round}: the kiosk exited by itself ({status})"
                    ));
                    break;
                }
                continue;
            };
            if line == "MAINT begin" {
                begun = Some(Instant::now());
            }
            lines.push(line);
        }
        let Some(begun) = begun else {
            row.fail(format!(
                "round {round}: the kiosk never began its maintenance step"
            ));
            continue;
        };
        // Every tenth round measures the span (the kill then falls right
        // after the new image opened); the others kill within it.
        let measure = round % 10 == 0;
        let kill_at = if measure {
            begun + super::WAIT_LIMIT
        } else {
            begun + span.mul_f64(rng.random_range(0.0..1.2))
        };
        let mut seen_committed = false;
        while let Some(left) = kill_at.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if line == "MAINT committed" {
                        seen_committed = true;
                    }
                    let reopened = line == "OPENED" && seen_committed;
                    lines.push(line);
                    if reopened {
                        span = span.max(begun.elapsed());
                        if measure {
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            row.fail(format!(
                "round {round}: the kiosk exited by itself ({status})"
            ));
        }
        drop(child); // SIGKILL, reaped
        let _ = reader.join();
        lines.extend(rx.try_iter());
        row.tries += 1;

        // Where the kill fell: after the last `MAINT begin`.
        let last_begin = lines.iter().rposition(|l| l == "MAINT begin").unwrap_or(0);
        let tail = &lines[last_begin..];
        if tail.iter().any(|l| l == "OPENED") {
            phases.after += 1;
        } else if tail.iter().any(|l| l == "MAINT committed") {
            phases.swap += 1;
        } else {
            phases.copy += 1;
        }
        committed += lines.iter().filter(|l| *l == "MAINT committed").count() as u64;

        let mut acked = Vec::new();
        for line in &lines {
            let Some(line) = parse(line) else { continue };
            if line.kind == "PRINTED" {
                if let Some(previous) = printed.insert(line.key.clone(), line.id) {
                    row.fail(format!(
                        "round {round}: number {:?} printed twice (tickets {previous} and {})",
                        line.key, line.id
                    ));
                }
            }
            acked.push(line);
        }
        let store = match open_store(dir.path(), &config) {
            Ok(store) => store,
            Err(err) => {
                row.fail(format!("round {round}: the store did not open: {err:#}"));
                continue;
            }
        };
        opened += 1;
        for leftover in [compact::NEW_DIR, compact::OLD_DIR, compact::READY] {
            row.expect(!config.kiosk.data_dir.join(leftover).exists(), || {
                format!("round {round}: {leftover} left after the store opened")
            });
        }
        checked_seq = check_reopened(&mut row, &store, round, &acked, checked_seq);
    }

    let store = open_store(dir.path(), &config)?;
    let stored = count_unique_numbers(&mut row, &store)?;
    row.expect(committed > 0, || {
        "no compaction was ever committed: the maintenance step was not exercised".to_string()
    });
    row.expect(phases.copy > 0 && phases.swap > 0, || {
        format!("kills missed the maintenance step: {phases:?}")
    });
    row.check(format!(
        "{} kills: {} in roll/prune/copy, {} between the commit and the new image's opening (execve, swap), {} after",
        rounds, phases.copy, phases.swap, phases.after
    ));
    row.check(format!(
        "{} compactions committed; store opened {opened}/{rounds} with no compaction file left",
        thousands(committed)
    ));
    row.check(format!(
        "{} printed numbers kept and none printed twice ({} stored, each number once); event seq gap-free",
        thousands(printed.len() as u64),
        thousands(stored)
    ));
    row.figure(format!("span_ms: {} ms", span.as_millis()));
    row.figure(format!("store_file_bytes: {} bytes", store.file_bytes()?));
    Ok(row)
}

/// One image of the kiosk child: open, press, maintenance step, re-execute.
pub fn child_main(dir: PathBuf, printer_port: u16) -> anyhow::Result<()> {
    let config = Arc::new(center(
        &dir,
        std::net::SocketAddr::from(([127, 0, 0, 1], printer_port)),
    )?);
    super::runtime()?.block_on(async move {
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
        say("OPENED")?;
        let want = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = match inherited_listener(want) {
            Some(listener) => listener,
            None => std::net::TcpListener::bind(want)?,
        };
        let first = rand::rng().random_range(0..1000);
        for i in first..first + PRESSES {
            say(&press(&app, &config, i).await)?;
        }
        say("MAINT begin")?;
        let store = app.store().clone();
        let compacted = blocking(move || -> anyhow::Result<bool> {
            store.roll_service_day()?;
            store.prune()?;
            Ok(compact_if_due(&store, &ALWAYS).is_some())
        })
        .await?;
        if compacted {
            say("MAINT committed")?;
        }
        Err(reexec_self(listener))
    })
}

fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
