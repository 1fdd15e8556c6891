//! What each center is doing now, for the dashboard: computed from the
//! events PostgreSQL holds for the center's current service day (since its
//! last `service_day_started`), joined with the follower's link state.
//!
//! A ticket waits while its last queue event is its issue or a transfer;
//! a counter is busy while the ticket it called is not closed; a counter is
//! open when it called someone in the last 30 minutes; the printer is in
//! fault while its last `fault` (kind `printer…`) has no `fault_cleared`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Center;
use crate::db::{Db, DbError};
use crate::follower::HubStatus;

/// A counter that called no one for this long is not counted as open.
pub const OPEN_COUNTER_WINDOW_MS: i64 = 30 * 60 * 1000;

/// One center now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CenterNow {
    /// The center's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The link: `following`, `refused`, `unreachable`, … (see
    /// [`CenterStatus`](crate::follower::CenterStatus)).
    pub link: String,
    /// Why the link is not following (English, for technicians).
    pub problem: Option<String>,
    /// Seconds since the kiosk last sent anything.
    pub last_contact_secs: Option<u64>,
    /// Its current service day.
    pub service_day: Option<String>,
    /// Tickets issued today.
    pub issued: u64,
    /// Tickets waiting now.
    pub waiting: u64,
    /// The oldest waiting ticket's label.
    pub oldest_label: Option<String>,
    /// How long it has waited, seconds.
    pub oldest_wait_secs: Option<u64>,
    /// Counters with a ticket called or in service.
    pub counters_busy: u64,
    /// Counters that called someone in the last 30 minutes.
    pub counters_open: u64,
    /// The printer's open fault (`printer_paper_out`, …), if any.
    pub printer_fault: Option<String>,
    /// Served today.
    pub served: u64,
    /// No-shows today.
    pub no_show: u64,
    /// Today's ratings by level id.
    pub ratings: BTreeMap<String, u64>,
}

const TODAY: &str = "
WITH start AS (
    SELECT DISTINCT ON (center) center, seq, body ->> 'service_day' AS day
      FROM events WHERE kind = 'service_day_started' ORDER BY center, seq DESC
), today AS (
    SELECT e.center, e.seq, e.at_ms, e.kind, e.body
      FROM events e JOIN start s ON s.center = e.center AND e.seq >= s.seq
), tickets AS (
    SELECT center, body -> 'ticket' AS ticket,
           (array_agg(kind ORDER BY seq DESC))[1] AS last_kind,
           (array_agg(body ->> 'counter' ORDER BY seq DESC))[1] AS counter,
           min(at_ms) FILTER (WHERE kind = 'ticket_issued') AS issued_at,
           min(body ->> 'label') FILTER (WHERE kind = 'ticket_issued') AS label
      FROM today
     WHERE kind IN ('ticket_issued', 'called', 'serving_started', 'finished', 'no_show',
                    'cancelled', 'transferred')
     GROUP BY 1, 2
), oldest AS (
    SELECT DISTINCT ON (center) center, label, issued_at FROM tickets
     WHERE last_kind IN ('ticket_issued', 'transferred') AND issued_at IS NOT NULL
     ORDER BY center, issued_at
)
SELECT s.center, s.day,
       (SELECT count(*) FROM today t WHERE t.center = s.center AND t.kind = 'ticket_issued'),
       (SELECT count(*) FROM tickets t WHERE t.center = s.center AND t.last_kind IN ('ticket_issued', 'transferred')),
       o.label, o.issued_at,
       (SELECT count(DISTINCT counter) FROM tickets t
         WHERE t.center = s.center AND t.last_kind IN ('called', 'serving_started')),
       (SELECT count(DISTINCT t.body ->> 'counter') FROM today t
         WHERE t.center = s.center AND t.kind = 'called' AND t.at_ms > $1),
       (SELECT count(*) FROM today t WHERE t.center = s.center AND t.kind = 'finished'),
       (SELECT count(*) FROM today t WHERE t.center = s.center AND t.kind = 'no_show')
  FROM start s LEFT JOIN oldest o ON o.center = s.center
";

const PRINTER: &str = "
SELECT DISTINCT ON (center) center, kind, body ->> 'kind'
  FROM events
 WHERE kind IN ('fault', 'fault_cleared') AND body ->> 'kind' LIKE 'printer%'
 ORDER BY center, seq DESC
";

const RATINGS: &str = "
WITH start AS (
    SELECT DISTINCT ON (center) center, seq
      FROM events WHERE kind = 'service_day_started' ORDER BY center, seq DESC
)
SELECT e.center, coalesce(e.body ->> 'level', 'unknown'), count(*)
  FROM events e JOIN start s ON s.center = e.center AND e.seq >= s.seq
 WHERE e.kind = 'rated'
 GROUP BY 1, 2
";

/// Every configured center now, in config order, at local time `now_ms`
/// (the centers' time: a demo's or a test's clock may run ahead; the last
/// contact is measured on the real clock).
pub async fn city_now(
    db: &Db,
    centers: &[Center],
    status: &HubStatus,
    now_ms: i64,
) -> Result<Vec<CenterNow>, DbError> {
    let client = db.pool().get().await?;
    let since = now_ms - OPEN_COUNTER_WINDOW_MS;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&since];
    let (today, printer, ratings) = tokio::try_join!(
        client.query(TODAY, &params),
        client.query(PRINTER, &[]),
        client.query(RATINGS, &[]),
    )?;
    let n = |r: &tokio_postgres::Row, at: usize| r.get::<_, i64>(at).max(0) as u64;
    let mut out: Vec<CenterNow> = centers
        .iter()
        .map(|c| {
            let link = status.center(&c.id).unwrap_or_default();
            CenterNow {
                id: c.id.clone(),
                name: c.name.clone(),
                link: link.state,
                problem: link.problem,
                last_contact_secs: link
                    .last_contact_ms
                    .map(|at| ((display_daemon::link::now_ms() - at).max(0) / 1000) as u64),
                ..CenterNow::default()
            }
        })
        .collect();
    for r in &today {
        let id: String = r.get(0);
        let Some(c) = out.iter_mut().find(|c| c.id == id) else {
            continue;
        };
        c.service_day = r.get(1);
        c.issued = n(r, 2);
        c.waiting = n(r, 3);
        c.oldest_label = r.get(4);
        c.oldest_wait_secs = r
            .get::<_, Option<i64>>(5)
            .map(|at| ((now_ms - at).max(0) / 1000) as u64);
        c.counters_busy = n(r, 6);
        c.counters_open = n(r, 7);
        c.served = n(r, 8);
        c.no_show = n(r, 9);
    }
    for r in &printer {
        let id: String = r.get(0);
        if let Some(c) = out.iter_mut().find(|c| c.id == id) {
            let kind: String = r.get(1);
            c.printer_fault = (kind == "fault").then(|| r.get(2));
        }
    }
    for r in &ratings {
        let id: String = r.get(0);
        if let Some(c) = out.iter_mut().find(|c| c.id == id) {
            c.ratings.insert(r.get(1), n(r, 2));
        }
    }
    Ok(out)
}
