//! Child process of the crash test (`tests/tests/crash.rs`).
//!
//! `crash-child DIR` opens the queue store in DIR and works it as fast as it
//! can: issues tickets and calls, serves and finishes them. After each issue
//! has returned (so after the store's flush) it prints the acknowledged
//! ticket as `ACK <department> <service day> <number> <ticket id>` and
//! flushes stdout. Right after opening it prints `OPENED <n>`: the journal
//! records its opening applied (what the last kill left unwritten by sled). It runs until killed.
//!
//! The store's journal is kept small (8 KiB) so that it fills and starts
//! over every few operations.
//!
//! Days pass fast: a [`ManualClock`] moves to the next service day every
//! [`ISSUES_PER_DAY`] issues, and each new day is followed by
//! [`Store::prune`], so kills also land while finished days are packed,
//! days beyond the 90-day retention are removed and old events are pruned.
//! After a restart the clock resumes on the store's latest service day.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use jiff::civil::date;
use jiff::SignedDuration;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{Store, StoreOptions};
use system_tests::perf::issue::store_center;

/// Issues per simulated service day.
const ISSUES_PER_DAY: u64 = 3;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: crash-child DIR")?);
    let config = store_center(3, 90);
    let tz = config.center.timezone.clone();
    let clock = ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    let store = Store::open(
        &dir,
        Arc::new(config),
        Arc::new(clock.clone()),
        &StoreOptions {
            cache_bytes: 1024 * 1024,
            // About eight operations per journal: kills also land on the
            // checkpoints of a full journal.
            journal_bytes: 8 * 1024,
            ..StoreOptions::default()
        },
    )
    .with_context(|| format!("opening the store in {}", dir.display()))?;
    println!("OPENED {}", store.journal_replayed());
    let mut day = store.service_day().unwrap_or(date(2026, 1, 1));
    clock.set(day.at(8, 0, 0, 0).to_zoned(tz.clone())?.timestamp());
    let stdout = std::io::stdout();
    let actor = Actor::Keypad { counter: 1 };
    for i in 0u64.. {
        if i > 0 && i % ISSUES_PER_DAY == 0 {
            day = day.tomorrow()?;
            clock.set(day.at(8, 0, 0, 0).to_zoned(tz.clone())?.timestamp());
            store.roll_service_day()?;
            store.prune().context("packing and pruning")?;
        }
        clock.advance(SignedDuration::from_secs(1));
        let department = format!("d{}", i % 3);
        let issued = store
            .issue(&department.as_str().into(), None, Actor::Button)
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
