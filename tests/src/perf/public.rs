//! Perf scenario `public`: 1,000 phones following their tickets on the
//! public listener, and what they cost the kiosk.
//!
//! The whole kiosk daemon runs with its public listener on loopback (the
//! kiosk's runtime: two worker threads). 1,000 tickets are issued, then:
//!
//! 1. 300 presses through the real pipeline (printer status, durable issue,
//!    render, print to a loopback printer) with no phone connected;
//! 2. 1,000 ticket streams are opened from 250 loopback addresses (four
//!    each, the per-address limit), in a runtime of their own (one thread);
//! 3. 300 presses again, with the 1,000 streams open (each press moves
//!    tickets, so each one makes the fan-out recompute 1,000 pages);
//! 4. 200 staff "next" calls: call → the called ticket's phone receives
//!    its `called` page.
//!
//! Prints `press_p50/p99_without_phones`, `press_p50/p99_with_phones`,
//! `call_to_phone_p50/p99` (ms), the time to compute 1,000 pages in one
//! pass, and the streams open.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk::api::citizen::CitizenOptions;
use kiosk::app::PressOutcome;
use kiosk_config::DepartmentId;
use queue_protocol::{Actor, TicketId};

use crate::citizen::{PhoneCenter, PhoneStream};
use crate::perf::quantile;

const PHONES: usize = 1000;
const PER_ADDRESS: usize = 4;
const PRESSES: usize = 300;
const CALLS: usize = 200;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_quantiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!("{name}_p50: {:.2} ms", ms(quantile(&samples, 0.50)));
    println!("{name}_p99: {:.2} ms", ms(quantile(&samples, 0.99)));
    println!(
        "{name}_max: {:.2} ms",
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    );
}

/// `PRESSES` presses over every department, each until its last byte
/// reached the printer.
fn presses(
    runtime: &tokio::runtime::Runtime,
    center: &PhoneCenter,
    departments: &[DepartmentId],
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(PRESSES);
    for i in 0..PRESSES + 10 {
        let department = &departments[i % departments.len()];
        let start = Instant::now();
        match runtime.block_on(center.app.press(department, false)) {
            PressOutcome::Printed(_) => {}
            other => anyhow::bail!("press {i} did not print: {other:?}"),
        }
        let ticket = center
            .printer
            .tickets
            .recv_timeout(Duration::from_secs(5))
            .context("the loopback printer received no ticket within 5 s")?;
        if i >= 10 {
            latencies.push(ticket.completed.duration_since(start));
        }
    }
    Ok(latencies)
}

/// Raises this process's open-file limit to its hard limit: 1,000 phones
/// and their 1,000 server ends need more than the usual soft 1,024 (the
/// kiosk's systemd unit sets `LimitNOFILE=4096` for the same reason).
#[allow(unsafe_code)]
fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given,
    // which lives on this stack frame for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Runs the scenario.
pub fn run() -> anyhow::Result<()> {
    raise_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let phones = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let center = runtime.block_on(PhoneCenter::start(CitizenOptions {
        streams_per_address: PER_ADDRESS,
        max_streams: PHONES,
        ..CitizenOptions::default()
    }))?;
    let config = center.app.config();
    let departments: Vec<DepartmentId> = config.departments.iter().map(|d| d.id.clone()).collect();
    let store = center.app.store().clone();

    // The tickets the phones follow, oldest first, so calls reach them.
    let mut followed = Vec::with_capacity(PHONES);
    for i in 0..PHONES {
        let issued = store.issue(&departments[i % departments.len()], None, Actor::Button)?;
        let key = issued.key.context("an issued ticket has a key")?;
        followed.push((issued.ticket.id, key.to_string()));
    }
    let ids: Vec<TicketId> = followed.iter().map(|(id, _)| *id).collect();
    let mut pages = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        store.pages(&ids)?;
        pages.push(started.elapsed());
    }
    pages.sort();
    println!(
        "pages_1000_in_one_pass_p50: {:.2} ms",
        ms(quantile(&pages, 0.5))
    );

    let without = presses(&runtime, &center, &departments)?;

    // The phones: four per loopback address, each reporting when its ticket
    // is called.
    let (called_tx, called_rx) = mpsc::channel::<(TicketId, Instant)>();
    let (opened_tx, opened_rx) = mpsc::channel::<Result<(), String>>();
    for (n, (id, key)) in followed.iter().enumerate() {
        let from = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            5 + (n / PER_ADDRESS / 250) as u8,
            1 + ((n / PER_ADDRESS) % 250) as u8,
        ));
        let (id, path, to) = (*id, format!("/t/{key}/events"), center.public);
        let (called_tx, opened_tx) = (called_tx.clone(), opened_tx.clone());
        phones.spawn(async move {
            let mut stream = match PhoneStream::open(from, to, &path).await {
                Ok(s) if s.status == 200 => s,
                Ok(s) => {
                    let _ = opened_tx.send(Err(format!("status {}", s.status)));
                    return;
                }
                Err(err) => {
                    let _ = opened_tx.send(Err(err.to_string()));
                    return;
                }
            };
            let first = stream.next_page().await;
            let _ = opened_tx.send(match first {
                Ok(Some(_)) => Ok(()),
                other => Err(format!("no first page: {other:?}")),
            });
            while let Ok(Some(page)) = stream.next_page().await {
                if page["status"] == "called" {
                    let _ = called_tx.send((id, Instant::now()));
                }
            }
        });
    }
    for _ in 0..PHONES {
        opened_rx
            .recv_timeout(Duration::from_secs(60))
            .context("a phone's stream did not open within 60 s")?
            .map_err(|e| anyhow::anyhow!("a phone's stream failed: {e}"))?;
    }
    println!("phone_streams_open: {}", center.site.streams());

    let with = presses(&runtime, &center, &departments)?;

    // Calls: each to the counter after the last, so every department moves.
    let mut calls = Vec::with_capacity(CALLS);
    let mut early: HashMap<TicketId, Instant> = HashMap::new();
    let counters: Vec<u16> = config.counters.iter().map(|c| c.number).collect();
    let staff = Actor::Staff {
        name: "perf".into(),
    };
    for i in 0..CALLS {
        let counter = counters[i % counters.len()];
        let start = Instant::now();
        let ticket = store.call_next(counter, staff.clone())?;
        let reached = loop {
            if let Some(at) = early.remove(&ticket.id) {
                break at;
            }
            let (id, at) = called_rx
                .recv_timeout(Duration::from_secs(10))
                .with_context(|| format!("ticket {} was never shown called", ticket.label))?;
            if id == ticket.id {
                break at;
            }
            early.insert(id, at);
        };
        calls.push(reached.saturating_duration_since(start));
    }

    println!("phones: {PHONES} (from {} addresses)", PHONES / PER_ADDRESS);
    print_quantiles("press_without_phones", without);
    print_quantiles("press_with_phones", with);
    print_quantiles("call_to_phone", calls);
    phones.shutdown_background();
    runtime.block_on(center.stop())?;
    Ok(())
}
