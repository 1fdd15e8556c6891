//! Scenario `ratings`: citizens' ratings under power cuts and network cuts.
//! No rating confirmed on the device may be lost, none counted twice.
//!
//! - **Power cuts**: a child process (`--ratings-child DIR`) serves tickets
//!   at counter 1 and rates each one through the store, printing `SENDING`
//!   before and `RATED` once the store confirmed it (what the device would
//!   show); it is SIGKILLed at random moments. After each kill the parent
//!   opens the store, checks every confirmed rating is on its ticket with
//!   its level, and re-sends the rating that was in flight with its key (a
//!   device retrying after the kiosk came back): it is recorded at most
//!   once.
//! - **Network cuts**: a counter device sends ratings to the real kiosk on
//!   loopback through a proxy that is cut before some sends (the device
//!   re-sends with the same key until it gets through), and for others the
//!   answer is "lost" and the same press is sent again.
//!
//! Checked at the end of each part: every confirmed rating is in the log
//! exactly once with its level; no ticket has two `Rated` events.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use display_daemon::http::{BaseUrl, Client};
use display_daemon::keypad::{send_rating, send_rating_reliably};
use queue_protocol::{Actor, EventKind, RateRequest, TicketId};
use queue_store::clock::SystemClock;
use queue_store::store::{EventsSince, RatingRequest, Store, StoreOptions};
use rand::Rng as _;

use super::proxy::Proxy;
use super::{thousands, KillOnDrop, Mode, Row};
use crate::perf::display::LoopbackKiosk;

/// The flag that makes the soak binary the ratings child.
pub const CHILD_FLAG: &str = "--ratings-child";

const LEVELS: [&str; 3] = ["very_satisfied", "satisfied", "unsatisfied"];

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("ratings");
    power_cuts(mode, &mut row)?;
    super::runtime()?.block_on(network_cuts(mode, &mut row))?;
    Ok(row)
}

/// `Rated` events of the whole log, per ticket: the levels recorded.
fn rated_in_log(store: &Store) -> anyhow::Result<HashMap<TicketId, Vec<String>>> {
    let mut out: HashMap<TicketId, Vec<String>> = HashMap::new();
    let mut after = 0;
    loop {
        let EventsSince::Events(events) = store.events_since(after, 10_000)? else {
            anyhow::bail!("the log has a gap");
        };
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(out);
        };
        for e in events {
            if let EventKind::Rated { ticket, level, .. } = e.kind {
                out.entry(ticket).or_default().push(level);
            }
        }
        after = last;
    }
}

/// Every confirmed rating once with its level, no ticket rated twice.
fn check_log(
    row: &mut Row,
    part: &str,
    confirmed: &HashMap<TicketId, String>,
    log: &HashMap<TicketId, Vec<String>>,
) {
    for (ticket, level) in confirmed {
        let recorded = log.get(ticket).cloned().unwrap_or_default();
        row.expect(recorded == vec![level.clone()], || {
            format!("{part}: ticket {ticket} confirmed {level}, the log has {recorded:?}")
        });
    }
    for (ticket, levels) in log {
        row.expect(levels.len() == 1, || {
            format!(
                "{part}: ticket {ticket} counted {} times: {levels:?}",
                levels.len()
            )
        });
    }
}

fn config(dir: &Path) -> anyhow::Result<Arc<kiosk_config::CenterConfig>> {
    let mut config = super::center(dir, "127.0.0.1:9".parse()?)?;
    config.kiosk.data_dir = dir.join("data");
    Ok(Arc::new(config))
}

fn open_store(config: &Arc<kiosk_config::CenterConfig>) -> anyhow::Result<Store> {
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
            Err(err) => return Err(err).context("opening the ratings store"),
        }
    }
}

/// The child: serve and rate at counter 1 until killed.
pub fn child_main(dir: PathBuf) -> anyhow::Result<()> {
    let config = config(&dir)?;
    let store = open_store(&config)?;
    let counter = config.counters[0].number;
    let department = config.counters[0].serves[0].clone();
    let actor = Actor::Staff { name: "lan".into() };
    let mut out = std::io::stdout().lock();
    let pid = std::process::id();
    for i in 0u64.. {
        store.issue(&department, None, Actor::Button)?;
        let _ = store.call_next(counter, actor.clone());
        let _ = store.start_serving(counter, None, actor.clone());
        let Ok(ticket) = store.finish(counter, None, actor.clone()) else {
            continue;
        };
        let level = LEVELS[(i % 3) as usize];
        let key = format!("p{pid}-{i}");
        writeln!(out, "SENDING {} {level} {key}", ticket.id)?;
        out.flush()?;
        let request = RatingRequest {
            counter,
            level: level.into(),
            source: "counter_button".into(),
            ticket: None,
            key: Some(key.clone()),
        };
        if store.rate(&request, Actor::Keypad { counter }).is_ok() {
            writeln!(out, "RATED {} {level} {key}", ticket.id)?;
            out.flush()?;
        }
    }
    Ok(())
}

fn power_cuts(mode: Mode, row: &mut Row) -> anyhow::Result<()> {
    let rounds = mode.pick(30, 200);
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let config = config(dir.path())?;
    let exe = std::env::current_exe().context("finding the soak binary")?;
    let mut rng = rand::rng();
    let mut confirmed: HashMap<TicketId, String> = HashMap::new();
    let mut resent = 0u64;
    for round in 0..rounds {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .arg(CHILD_FLAG)
                .arg(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting the ratings child")?,
        );
        let (rx, reader) = super::stdout_lines(&mut child.0)?;
        let mut lines = Vec::new();
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            lines.push(line);
        }
        let deadline = Instant::now() + Duration::from_millis(rng.random_range(1..=120));
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        drop(child); // SIGKILL, reaped
        let _ = reader.join();
        lines.extend(rx.try_iter());
        row.tries += 1;
        let mut in_flight: Option<(TicketId, String, String)> = None;
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            let [what, ticket, level, key] = parts[..] else {
                continue;
            };
            let ticket = TicketId(ticket.parse()?);
            match what {
                "SENDING" => in_flight = Some((ticket, level.into(), key.into())),
                "RATED" => {
                    confirmed.insert(ticket, level.into());
                    in_flight = None;
                }
                _ => {}
            }
        }
        let store = open_store(&config)?;
        for (ticket, level) in &confirmed {
            let kept = store
                .ticket(*ticket)?
                .and_then(|t| t.rating)
                .map(|r| r.level);
            row.expect(kept.as_deref() == Some(level.as_str()), || {
                format!("round {round}: ticket {ticket} confirmed {level}, stored {kept:?}")
            });
        }
        // The device did not see an answer: it sends the press again.
        if let Some((ticket, level, key)) = in_flight {
            resent += 1;
            let request = RatingRequest {
                counter: config.counters[0].number,
                level: level.clone(),
                source: "counter_button".into(),
                ticket: None,
                key: Some(key),
            };
            match store.rate(
                &request,
                Actor::Keypad {
                    counter: request.counter,
                },
            ) {
                Ok(outcome) => {
                    row.expect(outcome.ticket == ticket, || {
                        format!(
                            "round {round}: the re-sent rating of {ticket} went to {}",
                            outcome.ticket
                        )
                    });
                    confirmed.insert(outcome.ticket, level);
                }
                Err(err) => row.fail(format!(
                    "round {round}: the re-sent rating of {ticket} was refused: {err}"
                )),
            }
        }
    }
    let store = open_store(&config)?;
    let log = rated_in_log(&store)?;
    check_log(row, "power cuts", &confirmed, &log);
    row.expect(confirmed.len() as u64 >= rounds as u64 / 2, || {
        format!(
            "only {} ratings confirmed in {rounds} rounds",
            confirmed.len()
        )
    });
    row.check(format!(
        "{rounds} SIGKILLs of a kiosk serving and rating: {} confirmed ratings kept with their level, {resent} in-flight presses re-sent after restart, each counted once",
        thousands(confirmed.len() as u64)
    ));
    Ok(())
}

async fn network_cuts(mode: Mode, row: &mut Row) -> anyhow::Result<()> {
    let services = mode.pick(30, 300);
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse()?, None).await?;
    let proxy = Proxy::start(kiosk.addr).await?;
    let device = Client::new(BaseUrl::parse(&format!("http://{}", proxy.addr))?)
        .with_response_timeout(Duration::from_secs(2));
    let store = kiosk.app.store().clone();
    let mut confirmed: HashMap<TicketId, String> = HashMap::new();
    let (mut cuts, mut lost_answers) = (0u64, 0u64);
    for i in 0..services {
        let s = store.clone();
        let served = kiosk::app::blocking(move || {
            s.issue(&"ho-tich".into(), None, Actor::Button)
                .map_err(|e| e.to_string())?;
            let admin = Actor::Staff { name: "lan".into() };
            let served = s
                .call_next(1, admin.clone())
                .and_then(|_| s.start_serving(1, None, admin.clone()))
                .and_then(|_| s.finish(1, None, admin));
            served.map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| anyhow::anyhow!("serving ticket {i}: {e}"))?;
        let level = LEVELS[i % 3];
        let request = RateRequest {
            level: level.into(),
            source: "counter_button".into(),
            ticket: None,
            key: Some(format!("net-{i}")),
        };
        let token = kiosk.tokens.keypad.clone();
        let result = match i % 3 {
            1 => {
                cuts += 1;
                proxy.cut();
                let restore_after = Duration::from_millis(300);
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    tokio::time::sleep(restore_after).await;
                    let _ = done_tx.send(());
                });
                let send =
                    send_rating_reliably(&device, &token, 1, &request, Duration::from_secs(20));
                tokio::pin!(send);
                tokio::select! {
                    result = &mut send => result,
                    _ = done_rx => {
                        proxy.restore();
                        send.await
                    }
                }
            }
            2 => {
                lost_answers += 1;
                // The answer never reached the device: it presses again.
                let _ = send_rating(&device, &token, 1, &request).await;
                send_rating_reliably(&device, &token, 1, &request, Duration::from_secs(20)).await
            }
            _ => send_rating_reliably(&device, &token, 1, &request, Duration::from_secs(20)).await,
        };
        row.tries += 1;
        match result {
            Ok(accepted) => {
                row.expect(accepted.ticket == served.id, || {
                    format!(
                        "service {i}: rating went to {} not {}",
                        accepted.ticket, served.id
                    )
                });
                confirmed.insert(accepted.ticket, level.into());
            }
            Err(err) => row.fail(format!("service {i}: rating not recorded: {err}")),
        }
    }
    proxy.restore();
    let log = rated_in_log(&store)?;
    check_log(row, "network cuts", &confirmed, &log);
    row.check(format!(
        "{services} ratings through a proxy cut {cuts} times and {lost_answers} lost answers re-sent: each confirmed rating once in the log"
    ));
    drop(proxy);
    kiosk.stop().await?;
    Ok(())
}
