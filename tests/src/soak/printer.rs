//! Scenario `printer faults`: the kiosk's real press pipeline against the
//! `emupos` emulator with paper out, cover open and paper near its end,
//! then against a port that refuses connections and a printer that accepts
//! the connection and never reads.
//!
//! Checked: a press while the printer cannot print is refused and uses no
//! number; every issued number is a printed ticket or a ticket marked
//! `print_failed` (none left pending); the emulator received exactly the
//! tickets the kiosk reported printed; the kiosk recovers by itself when the
//! fault clears; and all the while the LAN API answers (`GET
//! /api/v1/summary` every 20 ms) within [`API_BOUND`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::{App, PressOutcome, Refusal};
use kiosk::daemon::open_app;
use queue_protocol::PrintStatus;
use queue_store::clock::SystemClock;

use super::{center, http, Mode, Row};
use crate::emupos::Emulator;

/// The slowest answer of the LAN API tolerated while the printer misbehaves.
pub const API_BOUND: Duration = Duration::from_secs(1);

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    super::runtime()?.block_on(scenario(mode))
}

/// A kiosk with its API served on loopback and a prober measuring it.
struct Probed {
    app: App,
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    prober: tokio::task::JoinHandle<(u64, Duration, u64)>,
    _server: tokio::sync::oneshot::Sender<()>,
}

async fn start(printer: SocketAddr, io_timeout: Duration) -> anyhow::Result<Probed> {
    let dir = tempfile::tempdir()?;
    let mut config = center(dir.path(), printer)?;
    config.kiosk.printer.status_interval = Duration::from_millis(50);
    config.kiosk.printer.connect_timeout = Duration::from_secs(1);
    config.kiosk.printer.io_timeout = io_timeout;
    let config = Arc::new(config);
    let transport = ticket_printer::open(&config.kiosk.printer)?;
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
    let accounts = Accounts::open(&Accounts::path_in(dir.path()))?;
    let state = ApiState::new(app.clone(), accounts, ApiOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (server, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kiosk::api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(addr, Arc::clone(&stop)));
    Ok(Probed {
        app,
        dir,
        stop,
        prober,
        _server: server,
    })
}

/// Asks the API every 20 ms: (answers, slowest, failures or 5xx).
async fn probe(addr: SocketAddr, stop: Arc<AtomicBool>) -> (u64, Duration, u64) {
    let (mut answers, mut slowest, mut bad) = (0, Duration::ZERO, 0);
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        match http::request(addr, "GET", "/api/v1/summary", &[], None).await {
            Ok(reply) if reply.status == 200 => answers += 1,
            _ => bad += 1,
        }
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (answers, slowest, bad)
}

/// What one kiosk's presses came to.
#[derive(Default)]
struct Tally {
    printed: u64,
    failed: u64,
    refused: u64,
}

impl Probed {
    async fn press(&self, tally: &mut Tally, row: &mut Row, expect_printed: bool, phase: &str) {
        let config = self.app.config();
        let department = &config.departments[(row.tries as usize * 5) % config.departments.len()];
        let before = issued(&self.app);
        row.tries += 1;
        match self.app.press(&department.id, false).await {
            PressOutcome::Printed(issued) => {
                tally.printed += 1;
                row.expect(expect_printed, || {
                    format!(
                        "{phase}: ticket {} printed while it should not have been",
                        issued.ticket.label
                    )
                });
            }
            PressOutcome::PrintFailed(issued, err) => {
                // A printer that answers no status and silently stops taking
                // data can only be found out by a print: the first such
                // ticket is marked for reprint (checked in `finish`); every
                // later press must be refused without using a number.
                let first_silent_failure = phase == SILENT_PHASE && tally.failed == 0;
                tally.failed += 1;
                if !first_silent_failure {
                    row.fail(format!(
                        "{phase}: number {} consumed but not printed ({err})",
                        issued.ticket.label
                    ));
                }
            }
            PressOutcome::Refused(refusal) => {
                tally.refused += 1;
                row.expect(!expect_printed, || {
                    format!("{phase}: press refused: {refusal}")
                });
                row.expect(
                    matches!(refusal, Refusal::PrinterNotReady { .. }) || expect_printed,
                    || format!("{phase}: refused for another reason: {refusal}"),
                );
                row.expect(issued(&self.app) == before, || {
                    format!("{phase}: a refused press consumed a number")
                });
            }
        }
    }

    /// Stops probing; checks that every issued number is printed or marked.
    async fn finish(self, tally: &Tally, row: &mut Row, name: &str) -> anyhow::Result<u64> {
        // Let the prober ask a few times even when the presses were quick.
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.stop.store(true, Ordering::SeqCst);
        let (answers, slowest, bad) = self.prober.await?;
        row.expect(bad == 0, || format!("{name}: {bad} API requests failed"));
        row.expect(slowest <= API_BOUND, || {
            format!("{name}: the API took {slowest:?} to answer (bound {API_BOUND:?})")
        });
        row.figure(format!(
            "{}_api_slowest: {:.1} ms ({answers} requests)",
            name.replace(' ', "_"),
            slowest.as_secs_f64() * 1000.0
        ));
        let store = self.app.store();
        let day = store.service_day();
        let tickets = match day {
            Some(day) => store.day_tickets(day)?,
            None => Vec::new(),
        };
        let printed = tickets
            .iter()
            .filter(|t| t.print == PrintStatus::Printed)
            .count() as u64;
        let failed = tickets
            .iter()
            .filter(|t| t.print == PrintStatus::Failed)
            .count() as u64;
        row.expect(tickets.len() as u64 == printed + failed, || {
            format!(
                "{name}: {} numbers issued but {printed} printed + {failed} marked failed",
                tickets.len()
            )
        });
        row.expect(printed == tally.printed && failed == tally.failed, || {
            format!(
                "{name}: store says {printed} printed/{failed} failed, presses said {}/{}",
                tally.printed, tally.failed
            )
        });
        drop(self.dir);
        Ok(tickets.len() as u64)
    }
}

/// The phase with a printer that accepts the connection and never reads.
const SILENT_PHASE: &str = "never reads";

fn issued(app: &App) -> u32 {
    app.store()
        .snapshot()
        .departments
        .iter()
        .map(|d| d.issued_today)
        .sum()
}

/// Waits until the printer's fresh health is (or is not) ready.
async fn wait_ready(app: &App, ready: bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.printer().check().await.ready() != ready {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the printer did not become {} within 15 s",
            if ready { "ready" } else { "not ready" }
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn scenario(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("printer faults");
    let per_phase = mode.pick(4, 20);

    // emupos: paper out, cover open, paper near end.
    let emulator = Arc::new(tokio::task::spawn_blocking(Emulator::start).await?);
    let kiosk = start(
        SocketAddr::from(([127, 0, 0, 1], emulator.printer_port)),
        Duration::from_secs(5),
    )
    .await?;
    let mut tally = Tally::default();
    for _ in 0..per_phase {
        kiosk.press(&mut tally, &mut row, true, "ready").await;
    }
    for fault in ["paper-out", "cover-open"] {
        let e = Arc::clone(&emulator);
        let f = fault.to_string();
        tokio::task::spawn_blocking(move || e.set_fault(&f, true)).await?;
        wait_ready(&kiosk.app, false)
            .await
            .with_context(|| fault.to_string())?;
        for _ in 0..per_phase {
            kiosk.press(&mut tally, &mut row, false, fault).await;
        }
        let e = Arc::clone(&emulator);
        let f = fault.to_string();
        tokio::task::spawn_blocking(move || e.set_fault(&f, false)).await?;
        wait_ready(&kiosk.app, true)
            .await
            .with_context(|| format!("{fault} cleared"))?;
        kiosk
            .press(&mut tally, &mut row, true, &format!("{fault} cleared"))
            .await;
    }
    {
        let e = Arc::clone(&emulator);
        tokio::task::spawn_blocking(move || e.set_fault("paper-near-end", true)).await?;
        for _ in 0..per_phase {
            kiosk
                .press(&mut tally, &mut row, true, "paper near end")
                .await;
        }
    }
    // Every printed ticket came out of the emulator, and nothing else.
    let expected = tally.printed as usize;
    let e = Arc::clone(&emulator);
    let receipts = tokio::task::spawn_blocking(move || {
        if expected > 0 {
            e.receipt(expected); // waits for it
        }
        std::thread::sleep(Duration::from_millis(300));
        e.receipt_count()
    })
    .await?;
    row.expect(receipts == expected, || {
        format!("the emulator printed {receipts} receipts, the kiosk reported {expected}")
    });
    let emupos_issued = kiosk.finish(&tally, &mut row, "emupos").await?;
    row.check(format!(
        "emupos paper out, cover open, near end: {} printed = {receipts} receipts, {} refused, no number consumed unprinted ({emupos_issued} issued)",
        tally.printed, tally.refused
    ));

    // Connection refused: a port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };
    let kiosk = start(closed, Duration::from_secs(2)).await?;
    let mut tally = Tally::default();
    for _ in 0..per_phase {
        kiosk
            .press(&mut tally, &mut row, false, "connection refused")
            .await;
    }
    let refused_issued = kiosk.finish(&tally, &mut row, "connection refused").await?;

    // A printer that accepts and never reads: a listener whose connections
    // are kept open and never read, with the small receive buffer of a real
    // printer (loopback's default would swallow a whole ticket).
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    small_receive_buffer(&silent)?;
    let silent_addr = silent.local_addr()?;
    let held = Arc::new(Mutex::new(Vec::new()));
    let stop_silent = Arc::new(AtomicBool::new(false));
    silent.set_nonblocking(true)?;
    let silent_thread = {
        let (held, stop) = (Arc::clone(&held), Arc::clone(&stop_silent));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match silent.accept() {
                    Ok((stream, _)) => held.lock().unwrap_or_else(|e| e.into_inner()).push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };
    let kiosk = start(silent_addr, Duration::from_secs(1)).await?;
    let mut tally = Tally::default();
    let silent_presses = mode.pick(3, 10);
    for _ in 0..silent_presses {
        kiosk.press(&mut tally, &mut row, false, SILENT_PHASE).await;
    }
    let silent_issued = kiosk.finish(&tally, &mut row, SILENT_PHASE).await?;
    stop_silent.store(true, Ordering::SeqCst);
    let _ = silent_thread.join();
    row.check(format!(
        "connection refused and a printer that never reads: {} presses refused, {} numbers used; API answered within {API_BOUND:?} throughout",
        per_phase + silent_presses,
        refused_issued + silent_issued
    ));
    Ok(row)
}

/// Shrinks a listener's receive buffer to a cheap printer's few kilobytes.
fn small_receive_buffer(listener: &std::net::TcpListener) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4096;
    // SAFETY: SO_RCVBUF takes one int; the fd is the live listener's.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
