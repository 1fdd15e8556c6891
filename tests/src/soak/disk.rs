//! Scenario `disk full`: the kiosk's data directory is a small tmpfs
//! (`mount -t tmpfs -o size=8m`), filled up with a file while the kiosk
//! runs, then given room again.
//!
//! What the kiosk must do, and what is checked:
//! - with the disk full, a press is refused with a clear fault (the store's
//!   error names the disk; the citizen is told to ask staff) and uses no
//!   number; nothing is printed for it;
//! - counter calls go on where the store can still write; a call the store
//!   cannot write is refused as a whole (the counter's screen says so) and
//!   leaves nothing half-done — "keeps serving" means calls already made
//!   stay, and no call is half-applied;
//! - when space returns, presses and calls work again (without a restart,
//!   or after one if the store cannot recover in place — the table says
//!   which);
//! - after a final reopen, every printed number and every call that
//!   returned success is there, no number twice, the event log without a
//!   hole.
//!
//! When the tmpfs cannot be mounted (not root, no mount namespace), the row
//! says so and checks nothing.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kiosk::app::{blocking, App, PressOutcome, Refusal};
use kiosk::daemon::open_app;
use queue_protocol::{Actor, EventKind, TicketId};
use queue_store::clock::SystemClock;
use queue_store::store::{EventsSince, IssueError};

use super::{center, Mode, Row};
use crate::loopback_printer::LoopbackPrinter;

/// A tmpfs mounted on a directory; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> anyhow::Result<Tmpfs> {
        std::fs::create_dir_all(dir)?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .context("running mount")?;
        anyhow::ensure!(
            out.status.success(),
            "mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    super::runtime()?.block_on(scenario(mode))
}

struct Kiosk {
    app: App,
    printed: Vec<(String, u32, u64)>,
    calls: Vec<u64>,
}

impl Kiosk {
    /// One press; `Ok(true)` printed, `Ok(false)` refused by the store.
    async fn press(&mut self, i: usize, row: &mut Row, phase: &str) -> bool {
        let config = self.app.config();
        let department = &config.departments[i % config.departments.len()];
        row.tries += 1;
        match self.app.press(&department.id, false).await {
            PressOutcome::Printed(issued) => {
                let t = issued.ticket;
                self.printed.push((t.issued_department, t.number, t.id.0));
                true
            }
            PressOutcome::Refused(Refusal::Issue(IssueError::Store(err))) => {
                let text = err.to_string();
                row.expect(text.contains("space") || text.contains("disk"), || {
                    format!("{phase}: the refusal does not say what is wrong: {text}")
                });
                false
            }
            other => {
                row.fail(format!("{phase}: unexpected press outcome {other:?}"));
                false
            }
        }
    }

    /// One call at the next counter; true when it returned success.
    async fn call(&mut self, i: usize, row: &mut Row) -> bool {
        let config = self.app.config();
        let counter = config.counters[i % config.counters.len()].number;
        let store = self.app.store().clone();
        row.tries += 1;
        match blocking(move || store.call_next(counter, Actor::Keypad { counter })).await {
            Ok(ticket) => {
                self.calls.push(ticket.id.0);
                true
            }
            Err(_) => false,
        }
    }
}

fn fill(dir: &Path) -> anyhow::Result<(PathBuf, u64)> {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path)?;
    let chunk = vec![0u8; 16 * 1024];
    let mut written = 0u64;
    // Bounded: the tmpfs is 8 MiB.
    while written < 64 * 1024 * 1024 {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    let _ = file.sync_all();
    Ok((path, written))
}

async fn scenario(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("disk full");
    let dir = tempfile::tempdir()?;
    let printer = LoopbackPrinter::start()?;
    let config = Arc::new(center(dir.path(), printer.address)?);
    let data = config.kiosk.data_dir.clone();
    let _tmpfs = match Tmpfs::mount(&data, "8m") {
        Ok(mount) => mount,
        Err(err) => {
            row.check(format!("NOT RUN: {err:#} (needs root and mount)"));
            return Ok(row);
        }
    };
    let open = || -> anyhow::Result<App> {
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        open_app(Arc::clone(&config), transport, Arc::new(SystemClock))
    };
    let mut kiosk = Kiosk {
        app: open()?,
        printed: Vec::new(),
        calls: Vec::new(),
    };
    let warmup = mode.pick(30, 150);
    let mut i = 0;
    for _ in 0..warmup {
        i += 1;
        let printed = kiosk.press(i, &mut row, "before").await;
        row.expect(printed, || {
            "before: a press failed with room on the disk".into()
        });
        if i % 3 == 0 {
            kiosk.call(i, &mut row).await;
        }
    }

    // Fill the disk; sled may still have room in its own segments, so
    // press until the store refuses (bounded).
    let (filler, filled) = fill(&data)?;
    let (mut printed_full, mut refused_full, mut calls_ok, mut calls_refused) = (0, 0, 0, 0);
    let issued_before = issued(&kiosk.app);
    let mut first_refusal = None;
    for _ in 0..2000 {
        i += 1;
        if kiosk.press(i, &mut row, "disk full").await {
            printed_full += 1;
        } else {
            refused_full += 1;
            first_refusal.get_or_insert(i);
            if refused_full >= 10 {
                break;
            }
        }
        if kiosk.call(i, &mut row).await {
            calls_ok += 1;
        } else {
            calls_refused += 1;
        }
    }
    row.expect(refused_full > 0, || {
        format!("the store never refused after the disk filled ({printed_full} printed)")
    });
    let received = printer.tickets.try_iter().count();

    // Room again.
    std::fs::remove_file(&filler)?;
    let mut recovered_in_place = false;
    for _ in 0..20 {
        i += 1;
        if kiosk.press(i, &mut row, "room again").await {
            recovered_in_place = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !recovered_in_place {
        // A restart, as systemd would do after the watchdog fires.
        let Kiosk {
            app,
            printed,
            calls,
        } = kiosk;
        drop(app);
        tokio::time::sleep(Duration::from_millis(200)).await;
        kiosk = Kiosk {
            app: open().context("reopening the kiosk after the disk was freed")?,
            printed,
            calls,
        };
    }
    // Once the store writes again, it counts exactly the tickets printed: a
    // press refused while the disk was full used no number.
    // (The press that found the store writing again printed one more.)
    let printed_since = printed_full + u32::from(recovered_in_place);
    let issued_full = issued(&kiosk.app);
    row.expect(issued_full == issued_before + printed_since, || {
        format!(
            "refused presses consumed numbers: {issued_before} issued before the disk filled, {printed_since} printed since, but the store counts {issued_full}"
        )
    });
    let mut after_ok = 0;
    for _ in 0..10 {
        i += 1;
        if kiosk.press(i, &mut row, "after").await {
            after_ok += 1;
        }
        kiosk.call(i, &mut row).await;
    }
    row.expect(after_ok == 10, || {
        format!("after space returned only {after_ok}/10 presses printed")
    });

    // Final reopen: everything acknowledged is there, once.
    let Kiosk {
        app,
        printed,
        calls,
    } = kiosk;
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let app = open().context("the final reopen")?;
    let store = app.store();
    let mut seen = HashSet::new();
    for (department, number, id) in &printed {
        row.expect(seen.insert((department.clone(), *number)), || {
            format!("number {number} of {department} printed twice")
        });
        match store.ticket(TicketId(*id)) {
            Ok(Some(t)) if t.number == *number => {}
            other => row.fail(format!("printed ticket {id} lost or changed: {other:?}")),
        }
    }
    let printed_ids: HashSet<u64> = printed.iter().map(|p| p.2).collect();
    if let Some(day) = store.service_day() {
        for t in store.day_tickets(day)? {
            row.expect(printed_ids.contains(&t.id.0), || {
                format!(
                    "ghost ticket after reopen: {} (id {}, {:?}, print {:?}) is in the store but its press was refused",
                    t.label, t.id, t.state, t.print
                )
            });
        }
    }
    let events = match store.events_since(0, usize::MAX)? {
        EventsSince::Events(events) => events,
        EventsSince::Gap { .. } => Vec::new(),
    };
    for pair in events.windows(2) {
        row.expect(pair[1].seq == pair[0].seq + 1, || {
            format!("event log hole after {}", pair[0].seq)
        });
    }
    let called: HashSet<u64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Called { ticket, .. } => Some(ticket.0),
            _ => None,
        })
        .collect();
    for id in &calls {
        row.expect(called.contains(id), || {
            format!("call of ticket {id} returned success but is not in the log")
        });
    }
    row.check(format!(
        "tmpfs 8 MiB filled ({} KiB filler): {printed_full} more tickets fitted, then {refused_full} presses refused with a disk error and no number used; calls while full: {calls_ok} ok, {calls_refused} refused whole",
        filled / 1024
    ));
    row.check(format!(
        "space back: {} ; {} printed numbers and {} successful calls all kept after reopen, numbers unique, {} events gap-free; printer got {received} tickets while full",
        if recovered_in_place { "recovered without restart" } else { "recovered after a restart (store stayed failed in place)" },
        printed.len(),
        calls.len(),
        events.len()
    ));
    if let Some(at) = first_refusal {
        row.figure(format!(
            "first_refusal_after_fill: {} presses",
            at.saturating_sub(warmup + 1)
        ));
    }
    Ok(row)
}

fn issued(app: &App) -> u32 {
    app.store()
        .snapshot()
        .departments
        .iter()
        .map(|d| d.issued_today)
        .sum()
}
