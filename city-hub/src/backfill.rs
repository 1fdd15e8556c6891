//! Backfill: the service days a stream gap lost, fetched from the kiosk's
//! day export (`GET /api/v1/days/{day}/export`, `reader` token).
//!
//! A kiosk keeps events only for its last few service days. When the hub
//! was away longer, the kiosk answers the resume with a snapshot; the
//! follower then asks the export for the kiosk's `oldest_kept_seq`, records
//! the gap (`stream_gaps`: after the last stored sequence, up to the last
//! one the kiosk dropped) and resumes the stream from the oldest kept event.
//! This module fills such a gap once the first event after it is stored:
//! every calendar day from the day of the last event before the gap up to
//! (not including) the day of the first event after it is fetched, and
//!
//! - `"source": "tickets"` (the kiosk still keeps the day's tickets,
//!   packed): the tickets are stored in `day_tickets`; reports read the day
//!   from them, as the kiosk's own report does;
//! - `"source": "summaries"` (the kiosk pruned the tickets too): the
//!   per-department summaries are stored in `day_summaries` and the day is
//!   marked summary-only in `backfilled_days` (reports show it);
//! - `"source": "none"`: nothing happened that day (a closed day).
//!
//! The first day of a gap is often half in PostgreSQL already: when the
//! stored events count the same issued, served and no-show tickets as the
//! export, they are complete and kept (they also carry ratings); otherwise
//! the export replaces them. Every write is one transaction that replaces
//! the day, so a backfill interrupted and run again changes nothing.

use jiff::civil::Date;
use queue_protocol::{DaySummary, Ticket, TicketState};
use serde::Deserialize;

use display_daemon::http::Client;

use crate::config::Center;
use crate::db::{Db, DbError};

/// How far back a gap with no stored event before it (a hub started on a
/// kiosk that already pruned its first days) is filled, in days.
pub const FIRST_GAP_DAYS: i64 = 62;

/// The largest export read (a busy day's tickets are about 1.5 MB of JSON).
const EXPORT_LIMIT: usize = 64 * 1024 * 1024;

/// `GET /api/v1/days/{day}/export`, as the hub reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct DayExport {
    /// The day.
    pub service_day: String,
    /// `tickets`, `summaries` or `none`.
    pub source: String,
    /// The day's tickets (source `tickets`).
    #[serde(default)]
    pub tickets: Vec<Ticket>,
    /// The day's per-department summaries (source `summaries`).
    #[serde(default)]
    pub summaries: Vec<DaySummary>,
    /// The oldest event the kiosk still keeps (absent from older kiosks).
    #[serde(default)]
    pub oldest_kept_seq: Option<u64>,
}

/// Why a backfill stopped (it is tried again on the next connection).
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The kiosk did not give the export.
    #[error("day export of {day} from kiosk {kiosk}: {reason}")]
    Kiosk {
        /// The kiosk.
        kiosk: String,
        /// The day asked for.
        day: String,
        /// What went wrong.
        reason: String,
    },
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Fetches `day`'s export from `center`'s kiosk.
pub async fn fetch_export(
    center: &Center,
    client: &Client,
    day: &str,
) -> Result<DayExport, BackfillError> {
    let failed = |reason: String| BackfillError::Kiosk {
        kiosk: center.url.authority(),
        day: day.to_owned(),
        reason,
    };
    let auth = format!("Bearer {}", center.token);
    let path = format!("/api/v1/days/{day}/export");
    let (head, mut body) = client
        .request(
            "GET",
            &path,
            &[
                ("Authorization", auth.as_str()),
                ("Accept", "application/json"),
            ],
            &[],
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    let bytes = body
        .read_to_end(EXPORT_LIMIT)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if head.status != 200 {
        return Err(failed(format!(
            "HTTP {}: {}; the token needs the reader (or admin) role",
            head.status,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| failed(format!("not a day export: {e}")))
}

/// Fills every open gap of `center` whose end is stored. Returns how many
/// gaps are still open (waiting for their first event after the gap).
pub async fn fill_gaps(center: &Center, client: &Client, db: &Db) -> Result<usize, BackfillError> {
    let mut waiting = 0;
    for (after, resumed) in db.open_gaps(&center.id).await? {
        let Some(end) = db
            .day_after(&center.id, resumed)
            .await?
            .and_then(|d| d.parse::<Date>().ok())
        else {
            waiting += 1;
            continue;
        };
        let start = match db.day_at_or_before(&center.id, after).await? {
            Some(day) => day.parse::<Date>().unwrap_or(end),
            None => end
                .checked_sub(jiff::Span::new().days(FIRST_GAP_DAYS))
                .unwrap_or(end),
        };
        let mut day = start;
        while day < end {
            fill_day(center, client, db, &day.to_string()).await?;
            day = day.tomorrow().unwrap_or(end);
        }
        db.gap_filled(&center.id, after).await?;
        tracing::info!(center = %center.id, "backfilled service days {start} to {end} (exclusive) from the kiosk's day export");
    }
    Ok(waiting)
}

async fn fill_day(
    center: &Center,
    client: &Client,
    db: &Db,
    day: &str,
) -> Result<(), BackfillError> {
    let export = fetch_export(center, client, day).await?;
    let stored = db.event_day_counts(&center.id, day).await?;
    match export.source.as_str() {
        "tickets" => {
            let count = |state: TicketState| {
                export.tickets.iter().filter(|t| t.state == state).count() as u64
            };
            let exported = [
                export.tickets.len() as u64,
                count(TicketState::Done),
                count(TicketState::NoShow),
            ];
            if stored != exported {
                db.store_day_tickets(&center.id, day, &export.tickets)
                    .await?;
            }
        }
        "summaries" => {
            let sum = |f: fn(&DaySummary) -> u32| {
                export
                    .summaries
                    .iter()
                    .map(|s| u64::from(f(s)))
                    .sum::<u64>()
            };
            let exported = [sum(|s| s.issued), sum(|s| s.served), sum(|s| s.no_show)];
            if stored != exported {
                db.store_day_summaries(&center.id, day, &export.summaries)
                    .await?;
            }
        }
        _ => {}
    }
    Ok(())
}
