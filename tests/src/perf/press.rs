//! Perf scenario `press`: an accepted button press → the last byte of its
//! ticket read by a network printer on loopback, with the durable store.
//!
//! Each press goes through the real pipeline ([`kiosk::app::App::press`]):
//! a fresh `DLE EOT` status round trip, the durable issue (sled flush),
//! rendering the Phú Xuân ticket at 80 mm, encoding it as `GS v 0` bands and
//! writing it over TCP. The button debounce (20–25 ms, deliberate) comes
//! before this and is not included. Prints `press_to_last_byte_p50/p99` (ms,
//! target p99 < 5 ms), the issue step alone and the ticket size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk::app::PressOutcome;
use kiosk::daemon::open_app;
use kiosk::demo::demo_config;
use kiosk_config::PrinterTransport;
use queue_store::clock::SystemClock;

use crate::loopback_printer::LoopbackPrinter;
use crate::perf::quantile;

const PRESSES: usize = 500;

/// Runs the scenario.
pub fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let printer = LoopbackPrinter::start().context("starting the loopback printer")?;
    let mut config = demo_config(dir.path(), "127.0.0.1:0".parse()?)?;
    config.kiosk.printer.transport = PrinterTransport::Tcp {
        host: printer.address.ip().to_string(),
        port: printer.address.port(),
    };
    let config = Arc::new(config);
    let departments: Vec<_> = config.departments.iter().map(|d| d.id.clone()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let transport = ticket_printer::open(&config.kiosk.printer)?;
    let app = runtime
        .block_on(async { open_app(Arc::clone(&config), transport, Arc::new(SystemClock)) })?;

    let mut latencies = Vec::with_capacity(PRESSES);
    let mut bytes = 0;
    for i in 0..PRESSES + 20 {
        let department = &departments[i % departments.len()];
        let start = Instant::now();
        let outcome = runtime.block_on(app.press(department, false));
        match outcome {
            PressOutcome::Printed(_) => {}
            other => anyhow::bail!("press {i} did not print: {other:?}"),
        }
        let ticket = printer
            .tickets
            .recv_timeout(Duration::from_secs(5))
            .context("the loopback printer received no ticket within 5 s")?;
        // The first presses warm up the connection, fonts and caches.
        if i >= 20 {
            latencies.push(ticket.completed.duration_since(start));
            bytes = ticket.bytes.len();
        }
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("presses: {PRESSES}");
    println!(
        "press_to_last_byte_p50: {:.2} ms",
        ms(quantile(&latencies, 0.50))
    );
    println!(
        "press_to_last_byte_p99: {:.2} ms",
        ms(quantile(&latencies, 0.99))
    );
    println!(
        "press_to_last_byte_max: {:.2} ms",
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
    println!("ticket_bytes_80mm: {bytes} bytes");
    drop(app);
    Ok(())
}
