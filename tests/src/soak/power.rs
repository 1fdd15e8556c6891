//! Scenario `power cuts`: the kiosk process is killed with SIGKILL at random
//! moments while it issues, prints and calls, hundreds of times.
//!
//! The kiosk is the soak binary itself re-run as `soak --power-child DIR
//! PORT` ([`child_main`]): the real press pipeline ([`App::press`]: printer
//! check, durable issue, render, print over TCP to a loopback printer held
//! by the parent, mark printed) plus counter actions on the same store, as
//! fast as it can. Every other press is a touch-screen press
//! ([`App::press_for`] with [`Actor::Touch`] and one of the department's
//! services when it has some), numbered from the same counters. After each
//! press it prints one line and flushes stdout:
//! `PRINTED <department> <day> <number> <id> <service> <label>` once the
//! ticket's bytes were written (`-` for no service), `FAILED …` when the
//! number was issued but not printed, `REFUSED <reason>` when no number was
//! used.
//!
//! After every kill the parent reopens the store and checks: it opens; every
//! printed ticket is in it under the same number; no (department, day,
//! number) was printed twice; a touch ticket kept its service; the event
//! log grew without a hole. At the end:
//! every ticket in the store has its own number, and the printer never
//! received more tickets than there are durable numbers.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk::app::{blocking, App, PressOutcome, PressRequest};
use kiosk::daemon::open_app;
use queue_protocol::{Actor, TicketId};
use queue_store::clock::SystemClock;
use queue_store::store::{EventsSince, Store, StoreOptions};
use rand::Rng;

use super::{center, thousands, KillOnDrop, Mode, Row};
use crate::loopback_printer::LoopbackPrinter;

/// The argument that makes the soak binary run [`child_main`].
pub const CHILD_FLAG: &str = "--power-child";

/// (department, service day, number) → ticket id.
type Printed = HashMap<(String, String, u32), u64>;

pub(super) struct Line {
    pub(super) kind: String,
    pub(super) key: (String, String, u32),
    pub(super) id: u64,
    /// The touch press's service, if any.
    pub(super) service: Option<String>,
}

pub(super) fn parse(line: &str) -> Option<Line> {
    let mut parts = line.split(' ');
    let kind = parts.next()?.to_owned();
    if kind != "PRINTED" && kind != "FAILED" {
        return None;
    }
    let department = parts.next()?.to_owned();
    let day = parts.next()?.to_owned();
    let number = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let service = parts.next()?;
    // A line cut by the kill has no label: never acknowledged, ignored.
    parts.next()?;
    Some(Line {
        kind,
        key: (department, day, number),
        id,
        service: (service != "-").then(|| service.to_owned()),
    })
}

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    let rounds = mode.pick(100, 600);
    let mut row = Row::new("power cuts");
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let printer = LoopbackPrinter::start().context("loopback printer")?;
    let exe = std::env::current_exe().context("finding the soak binary")?;
    let config = Arc::new(center(dir.path(), printer.address)?);
    let mut rng = rand::rng();
    let mut printed: Printed = HashMap::new();
    let (mut failed, mut refused, mut opened, mut checked_seq) = (0u64, 0u64, 0u64, 0u64);
    let mut touch_printed = 0u64;
    let mut received = 0u64;
    for round in 0..rounds {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .arg(CHILD_FLAG)
                .arg(dir.path())
                .arg(printer.address.port().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .context("starting the kiosk child")?,
        );
        let (rx, reader) = super::stdout_lines(&mut child.0)?;
        let mut lines = Vec::new();
        // Most rounds wait for the first ticket so kills land in the middle
        // of the work, not only during start-up.
        if round % 4 != 0 {
            if let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
                lines.push(line);
            }
        }
        let deadline = Instant::now() + Duration::from_millis(rng.random_range(1..=80));
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = child.0.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            row.fail(format!(
                "round {round}: the kiosk exited by itself ({status}): {}",
                err.trim()
            ));
        }
        drop(child); // SIGKILL, reaped
        let _ = reader.join();
        lines.extend(rx.try_iter());
        row.tries += 1;

        let mut acked = Vec::new();
        for line in &lines {
            if line.starts_with("REFUSED") {
                refused += 1;
            }
            let Some(line) = parse(line) else { continue };
            if line.kind == "FAILED" {
                failed += 1;
            }
            if line.kind == "PRINTED" {
                touch_printed += u64::from(line.service.is_some());
                if let Some(previous) = printed.insert(line.key.clone(), line.id) {
                    row.fail(format!(
                        "round {round}: number {:?} printed twice (tickets {previous} and {})",
                        line.key, line.id
                    ));
                }
            }
            acked.push(line);
        }
        received += printer.tickets.try_iter().count() as u64;

        // The store opens after every kill and kept what was acknowledged.
        let store = match open_store(dir.path(), &config) {
            Ok(store) => store,
            Err(err) => {
                row.fail(format!("round {round}: the store did not open: {err:#}"));
                continue;
            }
        };
        opened += 1;
        checked_seq = check_reopened(&mut row, &store, round, &acked, checked_seq);
    }

    // Every ticket in the store has its own number; the printer never got
    // more tickets than there are durable numbers.
    let store = open_store(dir.path(), &config)?;
    let stored = count_unique_numbers(&mut row, &store)?;
    received += printer.tickets.try_iter().count() as u64;
    row.expect(received <= stored, || {
        format!("the printer received {received} tickets but only {stored} numbers are durable")
    });
    let events = match store.events_since(0, usize::MAX)? {
        EventsSince::Events(events) => events.len() as u64,
        EventsSince::Gap { .. } => 0,
    };
    row.expect(printed.len() as u64 >= rounds as u64 / 2, || {
        format!(
            "only {} tickets printed in {rounds} rounds: the kiosk barely ran",
            printed.len()
        )
    });
    row.check(format!(
        "{} printed numbers unique and kept ({} print failures, {} refusals); printer got {} tickets ≤ {} durable numbers",
        thousands(printed.len() as u64),
        failed,
        refused,
        thousands(received),
        thousands(stored)
    ));
    row.expect(touch_printed > 0, || {
        "no touch press with a service printed: the touch path was not exercised".to_string()
    });
    row.check(format!(
        "{} of them touch presses with a service, same counters as the buttons",
        thousands(touch_printed)
    ));
    row.check(format!(
        "event seq gap-free ({} events); store opened {opened}/{rounds}",
        thousands(events)
    ));
    Ok(row)
}
/// After the `round`th kill: every acknowledged ticket is in the reopened
/// store with its number (and service), and the event log after
/// `checked_seq` has no hole; returns the last seq now checked.
pub(super) fn check_reopened(
    row: &mut Row,
    store: &Store,
    round: impl std::fmt::Display,
    acked: &[Line],
    checked_seq: u64,
) -> u64 {
    for line in acked {
        match store.ticket(TicketId(line.id)) {
            Ok(Some(t)) => row.expect(
                (&t.issued_department, &t.service_day, t.number, &t.service)
                    == (&line.key.0, &line.key.1, line.key.2, &line.service),
                || {
                    format!(
                        "round {round}: ticket {} has another number or service: {t:?}",
                        line.id
                    )
                },
            ),
            other => row.fail(format!(
                "round {round}: acknowledged ticket {} {:?} lost: {other:?}",
                line.id, line.key
            )),
        }
    }
    match store.events_since(checked_seq, usize::MAX) {
        Ok(EventsSince::Events(events)) => {
            let mut expected = checked_seq + 1;
            for event in &events {
                if event.seq != expected {
                    row.fail(format!(
                        "round {round}: event log hole: expected seq {expected}, found {}",
                        event.seq
                    ));
                }
                expected = event.seq + 1;
            }
            let last = store.last_seq();
            row.expect(expected == last + 1, || {
                format!(
                    "round {round}: log ends at {} but last_seq is {last}",
                    expected - 1
                )
            });
            last
        }
        other => {
            row.fail(format!("round {round}: events unreadable: {other:?}"));
            checked_seq
        }
    }
}

/// The store's tickets, counted; a number issued twice in a department's
/// service day is a failure of the row.
pub(super) fn count_unique_numbers(row: &mut Row, store: &Store) -> anyhow::Result<u64> {
    let mut numbers: HashMap<(String, String, u32), u64> = HashMap::new();
    let mut stored = 0u64;
    for day in store.service_days() {
        for t in store.day_tickets(day)? {
            stored += 1;
            if let Some(other) = numbers.insert(
                (t.issued_department.clone(), t.service_day.clone(), t.number),
                t.id.0,
            ) {
                row.fail(format!(
                    "number {} of {} issued twice (tickets {other} and {})",
                    t.label, t.issued_department, t.id
                ));
            }
        }
    }
    Ok(stored)
}

pub(super) fn open_store(
    dir: &Path,
    config: &Arc<kiosk_config::CenterConfig>,
) -> anyhow::Result<Store> {
    // The killed child's sled lock goes with its process; the kernel may
    // take a moment to release it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(
            &config.kiosk.data_dir,
            Arc::clone(config),
            Arc::new(SystemClock),
            &StoreOptions {
                cache_bytes: 1024 * 1024,
                ..StoreOptions::default()
            },
        ) {
            Ok(store) => return Ok(store),
            Err(err) if Instant::now() < deadline && err.to_string().contains("lock") => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(err) => {
                return Err(err).with_context(|| format!("opening the store in {}", dir.display()))
            }
        }
    }
}

/// The kiosk child: presses and counter actions until killed.
pub fn child_main(dir: PathBuf, printer_port: u16) -> anyhow::Result<()> {
    let config = Arc::new(center(
        &dir,
        std::net::SocketAddr::from(([127, 0, 0, 1], printer_port)),
    )?);
    super::runtime()?.block_on(async move {
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
        let stdout = std::io::stdout();
        for i in 0usize.. {
            let line = press(&app, &config, i).await;
            let mut out = stdout.lock();
            writeln!(out, "{line}")?;
            out.flush()?;
            drop(out);
            counter_action(&app, &config, i).await;
        }
        Ok(())
    })
}

pub(super) async fn press(app: &App, config: &kiosk_config::CenterConfig, i: usize) -> String {
    let mut department = &config.departments[(i * 7) % config.departments.len()];
    // Every other press comes from the touch screen, half of those for a
    // department with services (Hộ tịch in the Phú Xuân config): a child
    // lives for a few presses only, so they must come early.
    let touch = i % 2 == 1;
    if i % 4 == 1 {
        if let Some(with_services) = config.departments.iter().find(|d| !d.services.is_empty()) {
            department = with_services;
        }
    }
    let priority = department.priority && i % 5 == 0;
    let outcome = if touch {
        let service = (!department.services.is_empty()).then(|| {
            department.services[i % department.services.len()]
                .id
                .clone()
        });
        let class = (priority
            && department.offers_priority(service.as_deref().and_then(|s| department.service(s))))
        .then(|| config.kiosk.priority.classes.first().map(|c| c.id.clone()))
        .flatten();
        app.press_for(PressRequest {
            department: department.id.clone(),
            service,
            priority: class,
            actor: Actor::Touch,
        })
        .await
    } else {
        app.press(&department.id, priority).await
    };
    match outcome {
        PressOutcome::Printed(issued) => describe("PRINTED", &issued.ticket),
        PressOutcome::PrintFailed(issued, _) => describe("FAILED", &issued.ticket),
        PressOutcome::Refused(refusal) => format!("REFUSED {refusal}"),
    }
}

/// Every kind of counter write; refusals (nothing waiting) are fine.
async fn counter_action(app: &App, config: &kiosk_config::CenterConfig, i: usize) {
    let store = app.store().clone();
    let counter = config.counters[i % config.counters.len()].number;
    let actor = Actor::Keypad { counter };
    blocking(move || match i % 5 {
        0 | 3 => drop(store.call_next(counter, actor)),
        1 => drop(store.start_serving(counter, None, actor)),
        2 => drop(store.finish(counter, None, actor)),
        _ => drop(store.no_show(counter, None, actor)),
    })
    .await;
}

fn describe(what: &str, t: &queue_protocol::Ticket) -> String {
    format!(
        "{what} {} {} {} {} {} {}",
        t.issued_department,
        t.service_day,
        t.number,
        t.id,
        t.service.as_deref().unwrap_or("-"),
        t.label
    )
}
