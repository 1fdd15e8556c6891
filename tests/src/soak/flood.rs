//! Two floods a stranger on the LAN can send, part of the hostile row:
//!
//! - **login flood**: hundreds of parallel wrong logins from one address.
//!   Checked: few passwords are actually evaluated (argon2id, 19 MiB each),
//!   never more than the check threads at once, and the admin's right
//!   password from another address is accepted during the flood. Figures:
//!   guesses evaluated, resident memory (sampled peak over the baseline),
//!   press p99 before and during the flood.
//! - **idle-connection flood**: a thousand connections that send half a
//!   request or nothing, spread over 20 addresses. Checked: all are closed
//!   by the server within its header-read timeout, while a display's event
//!   stream and `/healthz` keep answering. Figure: seconds until the last
//!   idle socket was closed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk::app::PressOutcome;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::hostile::HostileKiosk;
use super::{http, quantile_ms, wait, Row, WAIT_LIMIT};

/// Resident memory of this process now, KiB (the kiosk runs in it).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().map_err(std::io::Error::other)?)?;
    socket.connect(to).await
}

/// A login from `from`: the status, or 0 when the connection was closed
/// without an answer (a connection limit).
async fn login_status(from: &str, to: SocketAddr, name: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let attempt = async {
        let mut stream = connect_from(from, to).await.ok()?;
        let request = format!(
            "POST /api/v1/login HTTP/1.1\r\nHost: k\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
    };
    tokio::time::timeout(http::REQUEST_TIMEOUT, attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// What the login flood saw.
#[derive(Debug, Default)]
pub struct LoginFlood {
    /// Parallel attempts sent.
    pub attempts: usize,
    /// Passwords evaluated for them.
    pub evaluated: u64,
    /// Most checks at once.
    pub peak_checks: usize,
    /// Answers: 401, 429, closed at the connection limit.
    pub answers: (usize, usize, usize),
    /// The admin's login from another address during the flood.
    pub admin_status: u16,
    /// RSS before, and the highest sampled during, MiB.
    pub rss_mib: (u64, u64),
    /// Press p99 before and during, ms.
    pub press_p99_ms: (f64, f64),
}

impl LoginFlood {
    /// Adds its checks and figures to `row`.
    pub fn judge(&self, row: &mut Row) {
        row.tries += self.attempts as u64;
        // The flooding address's free attempts (5) and the admin's one.
        row.expect(self.evaluated <= 6, || {
            format!(
                "login flood: {} passwords evaluated for {} parallel attempts (at most 6 expected)",
                self.evaluated, self.attempts
            )
        });
        row.expect(self.peak_checks <= 2, || {
            format!(
                "login flood: {} password checks ran at once",
                self.peak_checks
            )
        });
        row.expect(self.admin_status == 200, || {
            format!(
                "login flood: the admin's right password from another address answered {}",
                self.admin_status
            )
        });
        let (wrong, refused, cut) = self.answers;
        row.check(format!(
            "login flood of {} parallel wrong passwords from one address: {} evaluated ({wrong} × 401, {refused} × 429, {cut} closed at the per-address connection limit), ≤ {} at once; the admin logged in from another address meanwhile",
            self.attempts, self.evaluated, self.peak_checks
        ));
        row.figure(format!("login_flood_guesses_evaluated: {}", self.evaluated));
        row.figure(format!(
            "login_flood_peak_rss: {} MiB (baseline {} MiB)",
            self.rss_mib.1, self.rss_mib.0
        ));
        row.figure(format!(
            "login_flood_press_p99: {:.1} ms (before the flood {:.1} ms)",
            self.press_p99_ms.1, self.press_p99_ms.0
        ));
    }
}

async fn presses(kiosk: &HostileKiosk, n: usize) -> anyhow::Result<Vec<Duration>> {
    let department = kiosk.app.config().departments[0].id.clone();
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let outcome = wait(
            &format!("press {i} during the login flood"),
            kiosk.app.press(&department, false),
        )
        .await?;
        anyhow::ensure!(
            matches!(outcome, PressOutcome::Printed(_)),
            "a press during the login flood: {outcome:?}"
        );
        took.push(started.elapsed());
    }
    Ok(took)
}

/// `attempts` parallel wrong logins for the admin from 127.0.0.3, with
/// presses and the admin's own login (from 127.0.0.2) meanwhile.
pub async fn login_flood(kiosk: &HostileKiosk, attempts: usize) -> anyhow::Result<LoginFlood> {
    let mut before = presses(kiosk, 40).await?;
    let rss_before = rss_kib();
    let peak_rss = Arc::new(AtomicU64::new(rss_before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak_rss, sampling) = (Arc::clone(&peak_rss), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak_rss.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let evaluated_before = kiosk.state.password_checks();
    let (name, password) = kiosk.admin_login;
    let flood: Vec<_> = (0..attempts)
        .map(|i| {
            let addr = kiosk.addr;
            let guess = format!("đoán {i}");
            tokio::spawn(async move { login_status("127.0.0.3", addr, name, &guess).await })
        })
        .collect();
    let mut during = presses(kiosk, 40).await?;
    // The admin retries while both check threads are busy, as a person would.
    let mut admin_status = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        admin_status = login_status("127.0.0.2", kiosk.addr, name, password).await;
        if admin_status != 429 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::with_capacity(attempts);
    for attempt in flood {
        statuses.push(wait("a flooding login to be answered", attempt).await??);
    }
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    Ok(LoginFlood {
        attempts,
        evaluated: kiosk.state.password_checks() - evaluated_before - 1,
        peak_checks: kiosk.state.password_checks_peak(),
        answers: (count(401), count(429), count(0)),
        admin_status,
        rss_mib: (rss_before / 1024, peak_rss.load(Ordering::Relaxed) / 1024),
        press_p99_ms: (
            quantile_ms(&mut before, 0.99),
            quantile_ms(&mut during, 0.99),
        ),
    })
}

/// What the idle-connection flood saw.
#[derive(Debug, Default)]
pub struct IdleFlood {
    /// Sockets opened.
    pub sockets: usize,
    /// Of those, closed by the server.
    pub closed: usize,
    /// When the last one was closed.
    pub last_closed: Duration,
    /// Whether the display's stream kept sending throughout.
    pub stream_alive: bool,
    /// `/healthz` answers during the flood (answered, probes).
    pub health: (usize, usize),
    /// What each failed `/healthz` attempt got.
    pub health_errors: Vec<String>,
}

impl IdleFlood {
    /// Adds its checks and figures to `row`.
    pub fn judge(&self, row: &mut Row) {
        row.tries += self.sockets as u64;
        row.expect(self.closed == self.sockets, || {
            format!(
                "idle flood: {} of {} idle sockets still open after {:?}",
                self.sockets - self.closed,
                self.sockets,
                WAIT_LIMIT
            )
        });
        row.expect(self.stream_alive, || {
            "idle flood: the display's event stream stopped".to_string()
        });
        row.expect(self.health.0 == self.health.1, || {
            format!(
                "idle flood: /healthz answered {} of {} times ({})",
                self.health.0,
                self.health.1,
                self.health_errors.join("; ")
            )
        });
        row.check(format!(
            "idle-connection flood of {} half-sent or silent sockets from 20 addresses: all closed by the server within {:.1} s; a display's stream and /healthz kept answering",
            self.sockets,
            self.last_closed.as_secs_f64()
        ));
        row.figure(format!(
            "idle_flood_healthz_failed_attempts: {} {:?}",
            self.health_errors.len(),
            self.health_errors
        ));
        row.figure(format!(
            "idle_flood_all_closed_after: {:.1} s ({} sockets)",
            self.last_closed.as_secs_f64(),
            self.sockets
        ));
    }
}

/// `sockets` connections from 20 addresses, half with half a request,
/// half silent; a display follows the stream meanwhile.
pub async fn idle_flood(kiosk: &HostileKiosk, sockets: usize) -> anyhow::Result<IdleFlood> {
    let mut display = connect_from("127.0.0.4", kiosk.addr).await?;
    let request = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer {}\r\n\r\n",
        kiosk.display
    );
    display.write_all(request.as_bytes()).await?;
    let stream_alive = Arc::new(AtomicBool::new(true));
    let stop_reading = Arc::new(AtomicBool::new(false));
    let reader = {
        let (alive, stop) = (Arc::clone(&stream_alive), Arc::clone(&stop_reading));
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                // Keep-alive comments come every 15 s at the latest.
                match tokio::time::timeout(Duration::from_secs(20), display.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => {
                        alive.store(false, Ordering::Relaxed);
                        return;
                    }
                }
            }
        })
    };

    let started = Instant::now();
    let mut waiting = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let from = format!("127.0.6.{}", 1 + i % 20);
        let mut socket = connect_from(&from, kiosk.addr).await?;
        if i % 2 == 0 {
            socket
                .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: k\r\nContent-Le")
                .await?;
        }
        waiting.push(tokio::spawn(async move {
            let mut buf = [0u8; 256];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return started.elapsed(),
                    Ok(_) => {}
                }
            }
        }));
    }
    // The kiosk keeps answering others while they hang: five probes from an
    // address of their own, each allowed three attempts within 5 s (a
    // connection accepted while the server is still working through the
    // flood's backlog may be refused once; a kiosk that stopped answering
    // fails all three). What a failed attempt got is kept for the row.
    let mut health = (0, 0);
    let mut health_errors = Vec::new();
    for _ in 0..5 {
        health.1 += 1;
        let probe_started = Instant::now();
        for attempt in 1..=3 {
            match healthz_from("127.0.0.5", kiosk.addr).await {
                Ok(()) => {
                    health.0 += 1;
                    break;
                }
                Err(err) => health_errors.push(format!("attempt {attempt}: {err:#}")),
            }
            if probe_started.elapsed() > Duration::from_secs(5) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut closed = 0;
    let mut last_closed = Duration::ZERO;
    let deadline = started + WAIT_LIMIT;
    for mut socket in waiting {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, &mut socket).await {
            Ok(Ok(at)) => {
                closed += 1;
                last_closed = last_closed.max(at);
            }
            _ => socket.abort(),
        }
    }
    stop_reading.store(true, Ordering::Relaxed);
    reader.abort();
    Ok(IdleFlood {
        sockets,
        closed,
        last_closed,
        stream_alive: stream_alive.load(Ordering::Relaxed),
        health,
        health_errors,
    })
}

/// `GET /healthz` from `from`; an error says what came back instead of 200.
async fn healthz_from(from: &str, to: SocketAddr) -> anyhow::Result<()> {
    use anyhow::Context;
    let answer = tokio::time::timeout(http::REQUEST_TIMEOUT, async {
        let mut stream = connect_from(from, to).await.context("connecting")?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n")
            .await
            .context("sending the request")?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .context("reading the answer")?;
        anyhow::Ok(answer)
    })
    .await
    .context("no answer in time")??;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "got {head:?}");
    Ok(())
}
