//! One follower per center: reads the kiosk's event stream with the
//! center's `reader` token and writes what it receives into PostgreSQL in
//! batches.
//!
//! It reuses the display daemon's HTTP client ([`display_daemon::http`]),
//! its bounded SSE parser ([`display_daemon::sse`]) and its reconnection
//! backoff ([`display_daemon::link::backoff`]); what differs from a display
//! is where it resumes from and what it does with an event. It resumes with
//! `Last-Event-ID` = the last sequence **PostgreSQL holds** for the center
//! (0 at first, which replays the kiosk's whole kept log), so after any
//! failure — the kiosk, the link, the hub or PostgreSQL — it asks again for
//! exactly what is missing. A write that fails drops the connection to the
//! kiosk and starts over from what PostgreSQL holds: nothing is buffered
//! across a failure, so nothing can be lost or written twice.
//!
//! When the kiosk answers a resume with a snapshot (retention removed the
//! events asked for), the follower asks the day export for the oldest event
//! the kiosk keeps, records the gap in `stream_gaps` and resumes from that
//! event; once the first event after the gap is stored, [`backfill`] fetches
//! the lost service days. (A kiosk whose export does not say its oldest
//! kept event: the follower goes on from the snapshot.)
//!
//! Events are stored as received ([`RawEvent`]): a kind this hub does not
//! know (a newer kiosk's) is kept, not dropped.
//!
//! [`backfill`]: crate::backfill

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use display_daemon::http::Client;
use display_daemon::link::{backoff, now_ms};
use display_daemon::sse::SseParser;
use queue_protocol::Snapshot;
use serde::Serialize;

use crate::backfill::{self, BackfillError};
use crate::config::Center;
use crate::db::{Db, RawEvent};

/// How a center looks from the hub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CenterStatus {
    /// The center's id.
    pub id: String,
    /// `starting`, `following`, `unreachable`, `refused` (the kiosk refused
    /// the token), `database` (PostgreSQL failed; retrying) or `diverged`
    /// (the kiosk's log is behind what PostgreSQL holds for this center: its
    /// store was replaced; nothing is written until the center gets a new id).
    pub state: String,
    /// Why, when not following (English, says what to do).
    pub problem: Option<String>,
    /// The last sequence written to PostgreSQL.
    pub stored_seq: u64,
    /// The last sequence received from the kiosk.
    pub received_seq: u64,
    /// Events written by this process.
    pub written: u64,
    /// When the kiosk last sent something, local Unix ms.
    pub last_contact_ms: Option<i64>,
    /// PostgreSQL errors seen by this follower.
    pub db_errors: u64,
    /// For the last batch written: from the kiosk's time of its oldest
    /// event to when PostgreSQL had it, ms (kiosk and hub clocks both count:
    /// keep them synchronised). Catching up after an outage reads high.
    pub lag_ms: Option<i64>,
}

/// Every center's status, shared between the followers and whoever asks.
#[derive(Debug, Clone, Default)]
pub struct HubStatus(Arc<Mutex<Vec<CenterStatus>>>);

impl HubStatus {
    /// A status with every center `starting`.
    pub fn new(centers: &[Center]) -> HubStatus {
        HubStatus(Arc::new(Mutex::new(
            centers
                .iter()
                .map(|c| CenterStatus {
                    id: c.id.clone(),
                    state: "starting".into(),
                    ..CenterStatus::default()
                })
                .collect(),
        )))
    }

    /// Every center, in config order.
    pub fn centers(&self) -> Vec<CenterStatus> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// One center.
    pub fn center(&self, id: &str) -> Option<CenterStatus> {
        self.centers().into_iter().find(|c| c.id == id)
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut CenterStatus)) {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(status) = all.iter_mut().find(|c| c.id == id) {
            change(status);
        }
    }
}

/// How a follower batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Most events per transaction.
    pub max_events: usize,
    /// How long a partial batch waits for more.
    pub linger: Duration,
    /// Silence after which the kiosk connection is considered dead (the
    /// kiosk sends a keep-alive every 15 s).
    pub idle_timeout: Duration,
}

/// Why one connection ended.
enum Ended {
    /// Worked, then ended (reconnect at once).
    AfterWorking(String),
    /// The kiosk could not be used.
    Kiosk { refused: bool, reason: String },
    /// The kiosk's log is behind what PostgreSQL holds for the center.
    Diverged(String),
    /// PostgreSQL failed.
    Database(String),
}

/// Follows `center` until `shutdown` completes.
pub async fn follow(
    center: Center,
    db: Db,
    status: HubStatus,
    batching: Batching,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let client = Client::new(center.url.clone());
    let mut failures: u32 = 0;
    loop {
        let ended = tokio::select! {
            () = &mut shutdown => return,
            ended = connect_once(&center, &client, &db, &status, batching) => ended,
        };
        let (state, reason) = match ended {
            Ended::AfterWorking(reason) => {
                tracing::info!(center = %center.id, "event stream ended ({reason}); resuming");
                failures = 0;
                continue;
            }
            Ended::Kiosk { refused, reason } => {
                (if refused { "refused" } else { "unreachable" }, reason)
            }
            Ended::Database(reason) => ("database", reason),
            Ended::Diverged(reason) => ("diverged", reason),
        };
        failures = failures.saturating_add(1);
        let wait = backoff(failures, jitter(&center.id));
        if failures == 1 || failures % 10 == 0 {
            tracing::warn!(center = %center.id, "{reason}; retrying in {:.1} s", wait.as_secs_f64());
        }
        status.update(&center.id, |s| {
            s.state = state.into();
            s.problem = Some(reason);
            if state == "database" {
                s.db_errors += 1;
            }
        });
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

fn jitter(id: &str) -> f64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(id.as_bytes());
    h.write_i64(now_ms());
    (h.finish() % 10_000) as f64 / 10_000.0
}

async fn connect_once(
    center: &Center,
    client: &Client,
    db: &Db,
    status: &HubStatus,
    batching: Batching,
) -> Ended {
    let stored = match db.last_seq(&center.id).await {
        Ok(seq) => seq,
        Err(e) => return Ended::Database(e.to_string()),
    };
    status.update(&center.id, |s| {
        s.stored_seq = stored;
        s.received_seq = s.received_seq.max(stored);
    });
    let auth = format!("Bearer {}", center.token);
    let resume = stored.to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "text/event-stream"),
        ("Cache-Control", "no-cache"),
        // 0 too: the kiosk then replays its whole kept log.
        ("Last-Event-ID", resume.as_str()),
    ];
    let (head, mut body) = match client.request("GET", "/api/v1/events", &headers, &[]).await {
        Ok(response) => response,
        Err(e) => {
            return Ended::Kiosk {
                refused: false,
                reason: format!("kiosk {} unreachable: {e}", center.url.authority()),
            }
        }
    };
    if head.status != 200 {
        let refused = matches!(head.status, 401 | 403);
        let hint = if refused {
            "; the reader token was refused: make one on that kiosk with `kiosk token add city-hub --role reader` and put it in this center's `token`"
        } else {
            ""
        };
        return Ended::Kiosk {
            refused,
            reason: format!(
                "kiosk {} answered HTTP {} to the event stream request{hint}",
                center.url.authority(),
                head.status
            ),
        };
    }
    status.update(&center.id, |s| {
        s.state = "following".into();
        s.problem = None;
        s.last_contact_ms = Some(now_ms());
    });

    let mut gaps_open = match db.open_gaps(&center.id).await {
        Ok(gaps) => !gaps.is_empty(),
        Err(e) => return Ended::Database(e.to_string()),
    };
    let mut next_backfill = std::time::Instant::now();
    let mut parser = SseParser::new();
    let mut pending: Vec<RawEvent> = Vec::new();
    let mut last = stored;
    loop {
        // Wait long for the first event of a batch, briefly for the rest.
        let wait = if pending.is_empty() {
            batching.idle_timeout
        } else {
            batching.linger
        };
        let piece = match tokio::time::timeout(wait, body.chunk()).await {
            Err(_) if !pending.is_empty() => None,
            Err(_) => {
                return Ended::AfterWorking(format!(
                    "nothing received for {} s",
                    batching.idle_timeout.as_secs()
                ))
            }
            Ok(Err(e)) => {
                flush_or_end(center, db, status, &mut pending, batching.max_events).await;
                return Ended::AfterWorking(e.to_string());
            }
            Ok(Ok(None)) => {
                if let Some(ended) =
                    flush_or_end(center, db, status, &mut pending, batching.max_events).await
                {
                    return ended;
                }
                return Ended::AfterWorking("the kiosk closed the stream".into());
            }
            Ok(Ok(Some(piece))) => Some(piece),
        };
        if let Some(piece) = piece {
            status.update(&center.id, |s| s.last_contact_ms = Some(now_ms()));
            for message in parser.feed(&piece) {
                if message.event == "snapshot" {
                    let Ok(snapshot) = serde_json::from_str::<Snapshot>(&message.data) else {
                        continue;
                    };
                    if snapshot.last_seq < last {
                        // A kiosk whose store was replaced (or another kiosk
                        // at this URL) restarts its numbering: its events
                        // would collide with the stored ones and be lost.
                        return Ended::Diverged(format!(
                            "kiosk {} has events up to {} but PostgreSQL holds up to {last} for center {:?}: its data was replaced or the url points at another center; give it a new center id (its old rows stay under the old one)",
                            center.url.authority(),
                            snapshot.last_seq,
                            center.id
                        ));
                    }
                    if snapshot.last_seq > last {
                        // Events last+1..=snapshot.last_seq are gone from the
                        // kiosk's log: write what we have, note the gap.
                        if let Some(ended) =
                            flush_or_end(center, db, status, &mut pending, batching.max_events)
                                .await
                        {
                            return ended;
                        }
                        let day = snapshot.service_day.as_deref().unwrap_or("1970-01-01");
                        let oldest = match backfill::fetch_export(center, client, day).await {
                            Ok(export) => export.oldest_kept_seq,
                            Err(e) => {
                                tracing::warn!(center = %center.id, "{e}; going on from the snapshot");
                                None
                            }
                        };
                        let resume = match oldest {
                            Some(oldest)
                                if oldest > last + 1 && oldest <= snapshot.last_seq + 1 =>
                            {
                                oldest - 1
                            }
                            _ => snapshot.last_seq,
                        };
                        tracing::warn!(
                            center = %center.id,
                            "the kiosk no longer keeps events {} to {resume} (retention); recorded for backfill from the day export",
                            last + 1
                        );
                        if let Err(e) = db.record_gap(&center.id, last, resume).await {
                            return Ended::Database(e.to_string());
                        }
                        status.update(&center.id, |s| s.stored_seq = s.stored_seq.max(resume));
                        if resume < snapshot.last_seq {
                            // The kiosk still has the events after `resume`:
                            // ask for them on a new connection.
                            return Ended::AfterWorking(format!(
                                "resuming from the oldest event the kiosk keeps ({})",
                                resume + 1
                            ));
                        }
                        last = snapshot.last_seq;
                        gaps_open = true;
                    }
                    continue;
                }
                match serde_json::from_str::<RawEvent>(&message.data) {
                    Ok(event) if event.seq > last => {
                        last = event.seq;
                        pending.push(event);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(center = %center.id, "ignoring a message that is not a queue event: {e}");
                    }
                }
            }
            status.update(&center.id, |s| s.received_seq = s.received_seq.max(last));
            if pending.len() < batching.max_events {
                continue;
            }
        }
        if let Some(ended) =
            flush_or_end(center, db, status, &mut pending, batching.max_events).await
        {
            return ended;
        }
        if gaps_open && std::time::Instant::now() >= next_backfill {
            match backfill::fill_gaps(center, client, db).await {
                Ok(waiting) => gaps_open = waiting > 0,
                Err(BackfillError::Db(e)) => return Ended::Database(e.to_string()),
                Err(e) => {
                    tracing::warn!(center = %center.id, "{e}; the backfill is tried again in 30 s");
                    next_backfill = std::time::Instant::now() + Duration::from_secs(30);
                }
            }
        }
    }
}

/// Writes `pending`; `Some` ends the connection when PostgreSQL failed.
async fn flush_or_end(
    center: &Center,
    db: &Db,
    status: &HubStatus,
    pending: &mut Vec<RawEvent>,
    max_events: usize,
) -> Option<Ended> {
    for chunk in pending.chunks(max_events.max(1)) {
        match db.insert_raw(&center.id, chunk).await {
            Ok(written) => {
                let top = chunk.last().map_or(0, |e| e.seq);
                let lag = chunk.first().map(|e| (now_ms() - e.at_ms).max(0));
                status.update(&center.id, |s| {
                    s.stored_seq = s.stored_seq.max(top);
                    s.written += written;
                    s.lag_ms = lag;
                });
            }
            Err(e) => {
                pending.clear();
                return Some(Ended::Database(e.to_string()));
            }
        }
    }
    pending.clear();
    None
}
