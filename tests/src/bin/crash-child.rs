//! Child process of the crash test (`tests/tests/crash.rs`).
//!
//! `crash-child DIR` opens the queue store in DIR and works it as fast as it
//! can: issues tickets and calls, serves and finishes them. After each issue
//! has returned (so after the store's flush) it prints the acknowledged
//! ticket as `ACK <department> <service day> <number> <ticket id>` and
//! flushes stdout. It runs until killed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use kiosk::clock::SystemClock;
use kiosk::store::{Store, StoreOptions};
use queue_protocol::Actor;
use system_tests::perf::issue::store_center;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: crash-child DIR")?);
    let config = store_center(3, 90);
    let store = Store::open(
        &dir,
        Arc::new(config),
        Arc::new(SystemClock),
        &StoreOptions {
            cache_bytes: 1024 * 1024,
            ..StoreOptions::default()
        },
    )
    .with_context(|| format!("opening the store in {}", dir.display()))?;
    let stdout = std::io::stdout();
    let actor = Actor::Keypad { counter: 1 };
    for i in 0u64.. {
        let department = format!("d{}", i % 3);
        let issued = store
            .issue(&department, None, Actor::Button)
            .with_context(|| format!("issuing for {department}"))?;
        let t = issued.ticket;
        let mut out = stdout.lock();
        writeln!(
            out,
            "ACK {} {} {} {}",
            t.issued_department, t.service_day, t.number, t.id
        )?;
        out.flush()?;
        drop(out);
        let counter = u16::try_from(i % 3 + 1).unwrap_or(1);
        // Exercise every kind of write; refusals (nothing waiting) are fine.
        match i % 4 {
            0 => {
                let _ = store.call_next(counter, actor.clone());
            }
            1 => {
                let _ = store.start_serving(counter, None, actor.clone());
            }
            2 => {
                let _ = store.finish(counter, None, actor.clone());
            }
            _ => {
                let _ = store.mark_printed(t.id);
            }
        }
    }
    Ok(())
}
