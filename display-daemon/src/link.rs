//! The link to the kiosk: follows `GET /api/v1/events` for as long as the
//! daemon runs.
//!
//! It owns connecting (with the display token as a bearer token), resuming
//! with `Last-Event-ID` = the last sequence number the state applied,
//! reconnecting with exponential backoff and jitter ([`backoff`], capped at
//! [`MAX_BACKOFF`]), noticing a silent connection ([`IDLE_TIMEOUT`]), and
//! estimating the kiosk's clock from each response's `Date` header so that
//! the state can tell live calls from replayed ones
//! ([`classify`](crate::state::classify)). It hands snapshots, events and
//! link status to a [`LinkSink`] and keeps no queue state of its own: the
//! sink (the daemon's state) decides what is new, so that after any outage
//! the display converges and every event is applied exactly once.
//!
//! Reconnection policy: after a connection that worked, the next attempt is
//! immediate (a kiosk restart costs nothing); only when an attempt fails is
//! the link reported lost ("mất kết nối") and retried after
//! 0.25 s, 0.5 s, 1 s, … up to 10 s, each delay drawn between half and all
//! of that value so that twenty displays do not reconnect in step.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use queue_protocol::{Event, Snapshot};

use crate::http::{self, Client};
use crate::sse::SseParser;
use crate::state::{classify, Delivery};

/// The longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The first wait after a failed attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// A connection that brings nothing, not even a keep-alive comment, for this
/// long is considered dead (the kiosk's Pi lost power without closing it).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// What the link reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkUpdate {
    /// The kiosk accepted the connection and the stream is flowing.
    Connected,
    /// The kiosk is unreachable since `since_ms` (local Unix ms).
    Lost {
        /// When the last working connection ended, local Unix ms.
        since_ms: i64,
        /// Why, for the log (English).
        reason: String,
    },
    /// A full snapshot (first connection, or after a gap in the log).
    Snapshot(Snapshot),
    /// One event and whether it is live.
    Event(Event, Delivery),
}

/// Where the link delivers what it receives.
pub trait LinkSink: Send {
    /// The sequence number of the last event applied (0: none), sent as
    /// `Last-Event-ID` when (re)connecting.
    fn last_seq(&self) -> u64;
    /// Takes one update.
    fn update(&mut self, update: LinkUpdate);
}

/// What the link needs to know.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The client to the kiosk (its base URL and timeouts).
    pub client: Client,
    /// The display token.
    pub token: String,
    /// Silence after which a connection is dropped.
    pub idle_timeout: Duration,
}

impl LinkSettings {
    /// Settings for following the kiosk through `client` with `token` and
    /// the default idle timeout.
    pub fn new(client: Client, token: &str) -> Self {
        Self {
            client,
            token: token.to_owned(),
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// The current time, local Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The wait before attempt `failures + 1` (`failures` ≥ 1 consecutive failed
/// attempts), with `jitter` in 0.0–1.0 choosing within the upper half.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exp = FIRST_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let full = exp.min(MAX_BACKOFF);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A cheap random number in 0.0–1.0 (std's per-process random hash keys; no
/// cryptographic quality needed to spread reconnections).
fn jitter() -> f64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// How one connection ended.
enum Ended {
    /// It worked for a while (the kiosk answered 200) and then ended.
    AfterWorking(String),
    /// It never worked.
    Failed(String),
}

/// Follows the kiosk until `shutdown` completes.
pub async fn follow<S: LinkSink>(
    settings: LinkSettings,
    sink: &mut S,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut failures: u32 = 0;
    let mut lost_since: Option<i64> = None;
    loop {
        let attempt = connect_once(&settings, sink, &mut lost_since);
        let ended = tokio::select! {
            () = &mut shutdown => return,
            ended = attempt => ended,
        };
        let reason = match ended {
            Ended::AfterWorking(reason) => {
                tracing::info!("event stream from the kiosk ended ({reason}); reconnecting");
                failures = 0;
                lost_since = Some(now_ms());
                // Try again at once; only a failed attempt reports the loss.
                continue;
            }
            Ended::Failed(reason) => reason,
        };
        failures = failures.saturating_add(1);
        let since_ms = *lost_since.get_or_insert_with(now_ms);
        sink.update(LinkUpdate::Lost {
            since_ms,
            reason: reason.clone(),
        });
        let wait = backoff(failures, jitter());
        if failures == 1 || failures % 10 == 0 {
            tracing::warn!(
                "kiosk unreachable: {reason}; retrying in {:.1} s (attempt {failures}); showing the last known calls meanwhile",
                wait.as_secs_f64()
            );
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One connection: request, then feed the stream to the sink until it ends.
async fn connect_once<S: LinkSink>(
    settings: &LinkSettings,
    sink: &mut S,
    lost_since: &mut Option<i64>,
) -> Ended {
    let last_seq = sink.last_seq();
    let auth = format!("Bearer {}", settings.token);
    let resume = last_seq.to_string();
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Accept", "text/event-stream"),
        ("Cache-Control", "no-cache"),
    ];
    if last_seq > 0 {
        headers.push(("Last-Event-ID", resume.as_str()));
    }
    let started = now_ms();
    let (head, mut body) = match settings
        .client
        .request("GET", "/api/v1/events", &headers, &[])
        .await
    {
        Ok(response) => response,
        Err(e) => return Ended::Failed(format!("{:#}", anyhow::Error::new(e))),
    };
    if head.status != 200 {
        let hint = match head.status {
            401 | 403 => "; the display token was refused: create one with the display role on the kiosk and put it in `token`",
            404 => "; is kiosk_url the kiosk's address (not a prefix)?",
            _ => "",
        };
        return Ended::Failed(format!(
            "kiosk answered HTTP {} to the event stream request{hint}",
            head.status
        ));
    }
    // The kiosk's clock now, as the Date header says (whole seconds: add
    // half a second), relative to ours.
    let offset_ms = head
        .header("date")
        .and_then(http::parse_http_date)
        .map(|kiosk| kiosk + 500 - started)
        .unwrap_or(0);
    *lost_since = None;
    sink.update(LinkUpdate::Connected);
    tracing::info!(
        resume_after = last_seq,
        clock_offset_ms = offset_ms,
        "following the kiosk's event stream at {}",
        settings.client.base().authority()
    );

    let mut parser = SseParser::new();
    loop {
        let piece = match tokio::time::timeout(settings.idle_timeout, body.chunk()).await {
            Err(_) => {
                return Ended::AfterWorking(format!(
                    "nothing received for {} s",
                    settings.idle_timeout.as_secs()
                ))
            }
            Ok(Err(e)) => return Ended::AfterWorking(format!("{:#}", anyhow::Error::new(e))),
            Ok(Ok(None)) => return Ended::AfterWorking("the kiosk closed the stream".into()),
            Ok(Ok(Some(piece))) => piece,
        };
        for message in parser.feed(&piece) {
            if message.event == "snapshot" {
                match serde_json::from_str::<Snapshot>(&message.data) {
                    Ok(snapshot) => sink.update(LinkUpdate::Snapshot(snapshot)),
                    Err(e) => tracing::warn!(
                        "ignoring a snapshot the display cannot read ({e}); are the kiosk and display-daemon the same version?"
                    ),
                }
                continue;
            }
            match serde_json::from_str::<Event>(&message.data) {
                Ok(event) => {
                    let delivery = classify(event.at_ms, now_ms() + offset_ms);
                    sink.update(LinkUpdate::Event(event, delivery));
                }
                Err(e) => tracing::debug!(
                    event = %message.event,
                    "ignoring a message that is not a queue event: {e}"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_in_upper_half() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(125));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(8, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(1000, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(1000, 0.0), MAX_BACKOFF / 2);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
