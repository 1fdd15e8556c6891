//! Scenario `network faults`: display daemons follow the kiosk's event
//! stream through a proxy that is cut and restored, the kiosk is restarted
//! under them (same data, same port), and a stream client that never reads
//! stays connected the whole time.
//!
//! Checked at the end: every display shows the kiosk's state (same last
//! sequence number, same ticket at every counter) and applied every `called`
//! event of the kiosk's log exactly once, in order; the kiosk answered every
//! call in spite of the stuck client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use display_daemon::{BoardState, Change, DaemonHandle, LinkStatus};
use queue_protocol::{EventKind, TicketId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::broadcast;

use super::proxy::Proxy;
use super::{Mode, Row};
use crate::perf::display::{display_config, KioskTokens, LoopbackKiosk};

/// Runs the scenario.
pub fn run(mode: Mode) -> anyhow::Result<Row> {
    super::runtime()?.block_on(scenario(mode))
}

async fn display(url: &str, token: &str) -> anyhow::Result<DaemonHandle> {
    let config = display_config(url, token, "127.0.0.1:0")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok(display_daemon::start(config, listener).await?)
}

/// Waits (20 s at most) until the display's state satisfies `ok`.
async fn wait_until(
    d: &DaemonHandle,
    what: &str,
    ok: impl Fn(&BoardState) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok(&d.shared().state()) {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// A stream client that sends its request and never reads a byte.
async fn stuck_client(addr: SocketAddr, tokens: &KioskTokens) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!(
                "GET /api/v1/events HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer {}\r\n\r\n",
                tokens.display
            )
            .as_bytes(),
        )
        .await?;
    Ok(stream)
}

fn calls_applied(
    rx: &mut broadcast::Receiver<Change>,
    out: &mut Vec<(u64, TicketId, bool)>,
) -> u64 {
    let mut lagged = 0;
    loop {
        match rx.try_recv() {
            Ok(Change::Event { event, .. }) => {
                if let EventKind::Called { ticket, recall, .. } = event.kind {
                    out.push((event.seq, ticket, recall));
                }
            }
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Lagged(n)) => lagged += n,
            Err(_) => return lagged,
        }
    }
}

async fn scenario(mode: Mode) -> anyhow::Result<Row> {
    let mut row = Row::new("network faults");
    let rounds = mode.pick(10, 40);
    let dir = tempfile::tempdir()?;
    let mut kiosk = LoopbackKiosk::start(dir.path(), "127.0.0.1:0".parse()?, None).await?;
    kiosk.issue("ho-tich", rounds * 12).await?;
    kiosk.issue("dat-dai", rounds * 12).await?;
    let addr = kiosk.addr;
    let tokens = kiosk.tokens.clone();
    let proxy = Proxy::start(addr).await?;
    let proxied = format!("http://{}", proxy.addr);
    let displays = vec![
        display(&proxied, &tokens.display).await?,
        display(&proxied, &tokens.display).await?,
        display(&kiosk.url(), &tokens.display).await?,
    ];
    let mut changes: Vec<_> = displays.iter().map(|d| d.shared().changes()).collect();
    let mut seen: Vec<Vec<(u64, TicketId, bool)>> = vec![Vec::new(); displays.len()];
    let mut lagged = 0;
    // Start once every display has the kiosk's snapshot, so every later
    // call must arrive as an event.
    let first = kiosk.app.store().last_seq();
    for d in &displays {
        wait_until(d, "the first snapshot", |s| {
            s.link == LinkStatus::Connected && s.last_seq >= first
        })
        .await?;
    }
    let mut stuck = Some(stuck_client(addr, &tokens).await?);
    let mut calls = 0u64;
    let mut slowest = Duration::ZERO;
    let mut restarts = 0;
    for round in 0..rounds {
        for phase in 0..3 {
            for counter in 1..=3u16 {
                let started = Instant::now();
                kiosk
                    .next(counter)
                    .await
                    .with_context(|| format!("round {round}: next at counter {counter}"))?;
                slowest = slowest.max(started.elapsed());
                calls += 1;
            }
            match phase {
                0 => {
                    proxy.cut();
                    for d in &displays[..2] {
                        wait_until(d, "the link lost", |s| {
                            matches!(s.link, LinkStatus::Lost { .. })
                        })
                        .await?;
                    }
                }
                1 => proxy.restore(),
                _ => {}
            }
            for (rx, out) in changes.iter_mut().zip(&mut seen) {
                lagged += calls_applied(rx, out);
            }
        }
        if round % 2 == 1 {
            drop(stuck.take());
            kiosk.stop().await?;
            kiosk = LoopbackKiosk::start(dir.path(), addr, Some(tokens.clone())).await?;
            stuck = Some(stuck_client(addr, &tokens).await?);
            restarts += 1;
        }
    }
    row.tries = calls;

    // Every display catches up with the kiosk.
    let last = kiosk.app.store().last_seq();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, d) in displays.iter().enumerate() {
        while d.shared().state().last_seq < last && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let state = d.shared().state();
        row.expect(state.last_seq == last, || {
            format!("display {i} stopped at seq {} of {last}", state.last_seq)
        });
    }
    for (rx, out) in changes.iter_mut().zip(&mut seen) {
        lagged += calls_applied(rx, out);
    }
    let logged: Vec<(u64, TicketId, bool)> = match kiosk.app.store().events_since(0, usize::MAX)? {
        queue_store::store::EventsSince::Events(events) => events
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::Called { ticket, recall, .. } => Some((e.seq, ticket, recall)),
                _ => None,
            })
            .collect(),
        other => anyhow::bail!("the kiosk's log has a gap: {other:?}"),
    };
    let snapshot = kiosk.app.store().snapshot();
    for (i, (d, calls_seen)) in displays.iter().zip(&seen).enumerate() {
        if calls_seen != &logged {
            let missing = logged.iter().filter(|c| !calls_seen.contains(c)).count();
            let extra = calls_seen.len() as i64 - (logged.len() - missing) as i64;
            row.fail(format!(
                "display {i}: {} calls applied, log has {}: {missing} missing, {extra} repeated or out of order",
                calls_seen.len(),
                logged.len()
            ));
        }
        let state = d.shared().state();
        for counter in &snapshot.counters {
            let want = counter.current.as_ref().map(|c| c.label.as_str());
            row.expect(state.current_label(counter.counter) == want, || {
                format!(
                    "display {i}, counter {}: shows {:?}, kiosk has {want:?}",
                    counter.counter,
                    state.current_label(counter.counter)
                )
            });
        }
    }
    row.expect(lagged == 0, || {
        format!("the test's own change observers lagged by {lagged}")
    });
    row.check(format!(
        "{calls} calls over {rounds} rounds, {rounds} proxy cuts, {restarts} kiosk restarts, a stream client that never reads: {} displays end at seq {last} with the kiosk's counters, {} calls each applied exactly once in order",
        displays.len(),
        logged.len()
    ));
    row.figure(format!(
        "slowest_next: {:.1} ms",
        slowest.as_secs_f64() * 1000.0
    ));
    drop(stuck);
    for d in displays {
        d.shutdown().await;
    }
    kiosk.stop().await?;
    Ok(row)
}
