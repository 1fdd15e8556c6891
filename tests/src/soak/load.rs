//! Scenario `load`: a busy day of the Phú Xuân center compressed into
//! minutes — 15 counters, thousands of tickets pressed and printed, every
//! counter action (next, recall, start, finish, no-show, transfer) sent
//! through the LAN API — while 100 clients follow the event stream.
//!
//! Checked: no request failed or answered 5xx; every ticket was printed and
//! ends done or no-show; each of the 100 stream clients received every event
//! once, in order, up to the kiosk's last. Printed: p50/p99 of each action.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use display_daemon::http::{self as dhttp, BaseUrl};
use display_daemon::sse::SseParser;
use kiosk::accounts::Accounts;
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::PressOutcome;
use kiosk::auth::Role;
use kiosk::daemon::open_app;
use queue_protocol::TicketState;
use queue_store::clock::SystemClock;
use rand::Rng;

use super::{center, http, quantile_ms, thousands, Mode, Row};
use crate::loopback_printer::LoopbackPrinter;

/// Stream clients following the kiosk.
const CLIENTS: usize = 100;

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    super::runtime()?.block_on(scenario(mode))
}

/// What one stream client saw: (last id, events, ids out of order).
#[derive(Default)]
struct Seen {
    last: u64,
    events: u64,
    out_of_order: u64,
}

async fn follow(addr: SocketAddr, token: String, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let Ok(base) = BaseUrl::parse(&format!("http://{addr}")) else {
        return;
    };
    let auth = format!("Bearer {token}");
    let Ok((head, mut body)) = dhttp::request(
        &base,
        "GET",
        "/api/v1/events",
        &[("Authorization", &auth)],
        &[],
    )
    .await
    else {
        return;
    };
    if head.status != 200 {
        return;
    }
    let mut parser = SseParser::new();
    while !stop.load(Ordering::SeqCst) {
        let chunk = match tokio::time::timeout(Duration::from_millis(500), body.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(_) => return,
            Err(_) => continue,
        };
        for event in parser.feed(&chunk) {
            let Some(id) = event.id.as_deref().and_then(|i| i.parse::<u64>().ok()) else {
                continue;
            };
            let mut s = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if event.event == "snapshot" {
                s.last = id;
                continue;
            }
            if id != s.last + 1 {
                s.out_of_order += 1;
            }
            s.last = id;
            s.events += 1;
        }
    }
}

/// Tickets still waiting, and counters still holding a ticket.
fn day_left(app: &kiosk::app::App) -> (u32, usize) {
    let snapshot = app.store().snapshot();
    let waiting = snapshot.departments.iter().map(|d| d.waiting).sum();
    let held = snapshot
        .counters
        .iter()
        .filter(|c| c.current.is_some())
        .count();
    (waiting, held)
}

type Latencies = Arc<Mutex<BTreeMap<&'static str, Vec<Duration>>>>;

async fn timed(
    addr: SocketAddr,
    auth: &str,
    name: &'static str,
    path: &str,
    body: Option<String>,
    latencies: &Latencies,
    errors: &Mutex<Vec<String>>,
) -> u16 {
    let started = Instant::now();
    let reply = http::request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        Some(body.as_deref().unwrap_or("{}").as_bytes()),
    )
    .await;
    let took = started.elapsed();
    match reply {
        Ok(reply) => {
            if reply.status >= 500 {
                errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("POST {path}: {} {}", reply.status, reply.body));
            }
            if reply.status == 200 {
                latencies
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(name)
                    .or_default()
                    .push(took);
            }
            reply.status
        }
        Err(err) => {
            errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(format!("POST {path}: {err:#}"));
            0
        }
    }
}

async fn scenario(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("load");
    let tickets = mode.pick(1500u64, 3000);
    let dir = tempfile::tempdir()?;
    let printer = LoopbackPrinter::start()?;
    let config = Arc::new(center(dir.path(), printer.address)?);
    let transport = ticket_printer::open(&config.kiosk.printer)?;
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
    let accounts = Accounts::open(&Accounts::path_in(dir.path()))?;
    let admin = accounts.add_token("script", Role::Admin, None)?;
    let display = accounts.add_token("bang", Role::Display, None)?;
    // A hundred displays and fifteen counters, all from 127.0.0.1 here: on
    // a real LAN each has its own address and the defaults hold.
    let options = ApiOptions {
        streams_per_address: CLIENTS,
        limits: lan_server::Limits {
            max_per_address: 4 * CLIENTS,
            ..lan_server::Limits::default()
        },
        ..ApiOptions::default()
    };
    let state = ApiState::new(app.clone(), accounts, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kiosk::api::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..CLIENTS {
        let seen = Arc::new(Mutex::new(Seen::default()));
        readers.push(tokio::spawn(follow(
            addr,
            display.clone(),
            Arc::clone(&seen),
            Arc::clone(&stop),
        )));
        clients.push(seen);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.stream_clients() < CLIENTS {
        anyhow::ensure!(
            Instant::now() < deadline,
            "waited 30 s for {CLIENTS} stream clients to connect; only {} did",
            state.stream_clients()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let latencies: Latencies = Arc::default();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let pressed_all = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));

    // The ticket machine.
    let presses = {
        let (app, config, latencies, errors, pressed_all) = (
            app.clone(),
            Arc::clone(&config),
            Arc::clone(&latencies),
            Arc::clone(&errors),
            Arc::clone(&pressed_all),
        );
        tokio::spawn(async move {
            for i in 0..tickets as usize {
                let department = &config.departments[(i * 7 + i / 15) % config.departments.len()];
                let priority = department.priority && i % 10 == 0;
                let started = Instant::now();
                let pressed = super::wait(
                    &format!("press {i} to be printed"),
                    app.press(&department.id, priority),
                )
                .await;
                let Ok(pressed) = pressed else {
                    errors
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(format!(
                            "press {i}: no answer within {:?}",
                            super::WAIT_LIMIT
                        ));
                    break;
                };
                match pressed {
                    PressOutcome::Printed(_) => latencies
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry("press")
                        .or_default()
                        .push(started.elapsed()),
                    other => errors
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(format!("press {i}: {other:?}")),
                }
                if i % 4 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            pressed_all.store(true, Ordering::SeqCst);
        })
    };

    // Fifteen counters.
    let departments: Vec<String> = config
        .departments
        .iter()
        .map(|d| d.id.as_str().to_string())
        .collect();
    let mut counters = Vec::new();
    for counter in config.counters.iter().map(|c| c.number) {
        let (app, latencies, errors, pressed_all, requests, departments) = (
            app.clone(),
            Arc::clone(&latencies),
            Arc::clone(&errors),
            Arc::clone(&pressed_all),
            Arc::clone(&requests),
            departments.clone(),
        );
        let auth = http::bearer(&admin);
        counters.push(tokio::spawn(async move {
            let base = format!("/api/v1/counters/{counter}");
            let mut last_call = Instant::now();
            loop {
                requests.fetch_add(1, Ordering::Relaxed);
                let status = timed(
                    addr,
                    &auth,
                    "next",
                    &format!("{base}/next"),
                    None,
                    &latencies,
                    &errors,
                )
                .await;
                if status != 200 {
                    // Nothing this counter can call. The day is over only
                    // when every press is done, nothing waits and no counter
                    // holds a ticket: a counter still holding one may yet
                    // transfer it to a department only this one serves (a
                    // counter that left on "nothing waits" alone missed it,
                    // and the others then waited for it for ten minutes).
                    let (waiting, held) = day_left(&app);
                    if pressed_all.load(Ordering::SeqCst) && waiting == 0 && held == 0 {
                        break;
                    }
                    if last_call.elapsed() > super::WAIT_LIMIT {
                        errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(format!(
                            "counter {counter}: nothing to call for {:?} while {waiting} tickets wait and {held} counters hold one; gave up waiting",
                            super::WAIT_LIMIT
                        ));
                        break;
                    }
                    // A ticket this counter still holds (its last "next"
                    // found nobody) would keep the others waiting.
                    let _ = http::request(
                        addr,
                        "POST",
                        &format!("{base}/finish"),
                        &[("Authorization", &auth), ("Content-Type", "application/json")],
                        Some(b"{}"),
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                last_call = Instant::now();
                let roll = rand::rng().random_range(0..100);
                let steps: Vec<(&'static str, &'static str, Option<String>)> = match roll {
                    0..=49 => vec![("start", "start", None), ("finish", "finish", None)],
                    50..=69 => vec![
                        ("recall", "recall", None),
                        ("start", "start", None),
                        ("finish", "finish", None),
                    ],
                    70..=84 => vec![("no-show", "no-show", None)],
                    85..=89 => {
                        let to = &departments[rand::rng().random_range(0..departments.len())];
                        vec![(
                            "transfer",
                            "transfer",
                            Some(serde_json::json!({ "department": to }).to_string()),
                        )]
                    }
                    _ => vec![("finish", "finish", None)],
                };
                for (name, action, body) in steps {
                    requests.fetch_add(1, Ordering::Relaxed);
                    timed(
                        addr,
                        &auth,
                        name,
                        &format!("{base}/{action}"),
                        body,
                        &latencies,
                        &errors,
                    )
                    .await;
                }
            }
        }));
    }
    // Both are bounded by progress, not by a total: each press gives up
    // after a minute without an answer, and each counter after a minute
    // without a ticket to call.
    presses.await?;
    for c in counters {
        c.await?;
    }

    // Every stream client reaches the kiosk's last event.
    let last = app.store().last_seq();
    let deadline = Instant::now() + super::WAIT_LIMIT;
    while clients.iter().any(|c| {
        c.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last
            < last
    }) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut behind = 0;
    let mut events_delivered = 0;
    for (i, c) in clients.iter().enumerate() {
        let s = c.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        events_delivered += s.events;
        if s.last != last || s.out_of_order > 0 {
            behind += 1;
            row.fail(format!(
                "stream client {i}: ended at {} of {last}, {} out of order",
                s.last, s.out_of_order
            ));
        }
    }
    for problem in errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        row.fail(problem.clone());
    }
    let day_tickets = match app.store().service_day() {
        Some(day) => app.store().day_tickets(day)?,
        None => Vec::new(),
    };
    let open = day_tickets
        .iter()
        .filter(|t| {
            !matches!(
                t.state,
                TicketState::Done | TicketState::NoShow | TicketState::Cancelled
            )
        })
        .count();
    row.expect(day_tickets.len() as u64 == tickets, || {
        format!(
            "{} tickets in the store, {tickets} pressed",
            day_tickets.len()
        )
    });
    row.expect(open == 0, || {
        format!("{open} tickets still open at the end of the day")
    });
    let received = printer.tickets.try_iter().count() as u64;
    row.expect(received == tickets, || {
        format!("the printer received {received} of {tickets} tickets")
    });
    let requests = requests.load(Ordering::Relaxed);
    row.tries = tickets + requests;
    row.check(format!(
        "{} tickets pressed and printed ({received} at the printer), {} API actions on 15 counters, all closed at day end, no 5xx; {CLIENTS} stream clients each got all {} events in order ({behind} behind)",
        thousands(tickets),
        thousands(requests),
        thousands(last)
    ));
    row.figure(format!("events_delivered: {}", thousands(events_delivered)));
    for (name, samples) in latencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter_mut()
    {
        let n = samples.len();
        let p50 = quantile_ms(samples, 0.5);
        let p99 = quantile_ms(samples, 0.99);
        row.figure(format!("{name}_p50: {p50:.2} ms"));
        row.figure(format!("{name}_p99: {p99:.2} ms ({n} samples)"));
    }
    let _ = stop_server.send(());
    if super::wait("the API server to shut down", server)
        .await
        .is_err()
    {
        row.fail(format!(
            "the API server did not shut down within {:?}",
            super::WAIT_LIMIT
        ));
    }
    for r in readers {
        r.abort();
    }
    Ok(row)
}
