//! Scenario `maintenance kills`: the kiosk is killed with SIGKILL during
//! its maintenance step — the service-day roll and prune, the scheduling
//! of a compaction, the re-execution, the compaction in the new image's
//! child processes (readers and a writer of the copy, which die with it)
//! and the new image's opening, which swaps the compacted copy in.
//!
//! The kiosk is the soak binary re-run as `soak --maintenance-child DIR
//! PORT` ([`child_main`]). Each image of it opens the store as the daemon
//! does ([`open_app`]: a committed compaction is swapped in here) and
//! prints `OPENED`, presses a few tickets through the real press pipeline
//! (the power-cut scenario's presses, one `PRINTED …` line each), then runs
//! the maintenance step with the daemon's own functions: it prints
//! `MAINT begin`, rolls the service day and re-executes itself exactly as
//! `kiosk run` does ([`reexec_self`]: same PID, listening socket handed
//! over) into the maintenance image, which packs and prunes
//! ([`run_maintenance`], with a policy that always schedules a
//! compaction) and re-executes into the service image. That image runs
//! the scheduled compaction in child processes
//! of the soak binary ([`run_scheduled_compaction_in_pieces`], small
//! pieces so that it takes several readers) and prints `MAINT committed`
//! once the copy is committed, before it opens the store. So one child
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
use kiosk::commands::run::{inherited_listener, maintenance_stage, reexec_self, Stage};
use kiosk::daemon::{open_app, run_maintenance, run_scheduled_compaction_in_pieces};
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

/// Keys and values each compaction child copies: small, so that a
/// compaction takes several children and kills fall between them.
const PIECE_BYTES: u64 = 16 * 1024;

/// Compact at every step (the daemon's default waits for 64 MiB).
const ALWAYS: CompactPolicy = CompactPolicy {
    min_bytes: 0,
    factor: 0,
};

/// Where a kill fell, from the lines the child printed before it.
#[derive(Debug, Default)]
struct Phases {
    /// After `MAINT begin`, before `MAINT committed`: the roll, the
    /// maintenance image (pack, prune), the copy in child processes.
    copy: u64,
    /// After the commit, before the new image said `OPENED`: the opening
    /// that swaps the copy in.
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
        for leftover in [
            compact::NEW_DIR,
            compact::OLD_DIR,
            compact::READY,
            compact::STREAM,
        ] {
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
        "{} kills: {} in the roll, the maintenance image (pack, prune) and the copy by child processes, {} between the commit and the service image's opening (swap), {} after",
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

/// One image of the kiosk child: the maintenance image (pack, prune,
/// compaction scheduled, re-execute), or the service image (compaction,
/// open, press, roll, re-execute into the maintenance image).
pub fn child_main(dir: PathBuf, printer_port: u16) -> anyhow::Result<()> {
    let config = Arc::new(center(
        &dir,
        std::net::SocketAddr::from(([127, 0, 0, 1], printer_port)),
    )?);
    let want = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    if maintenance_stage() {
        let listener = inherited_listener(want).context("the maintenance image's socket")?;
        run_maintenance(&config, Arc::new(SystemClock), &ALWAYS)?;
        anyhow::ensure!(
            config.kiosk.data_dir.join(compact::DUE).exists(),
            "the maintenance step scheduled no compaction"
        );
        return Err(reexec_self(listener, Stage::Service));
    }
    super::runtime()?.block_on(async move {
        // The compaction the last image scheduled, in child processes, as
        // `open_app` would run it (then it finds nothing to do).
        if run_scheduled_compaction_in_pieces(&config, PIECE_BYTES).is_some() {
            say("MAINT committed")?;
        }
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
        say("OPENED")?;
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
        blocking(move || store.roll_service_day()).await?;
        Err(reexec_self(listener, Stage::Maintenance))
    })
}

fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
