//! `city-hub`: the city's copy of every center's queue, in PostgreSQL.
//!
//! Each center's kiosk keeps working alone; the hub follows each one's
//! event stream like a display does (with a read-only `reader` token) and
//! catches up after any outage. Nothing on a kiosk waits for the hub.
//!
//! ```text
//!  kiosk A ── GET /api/v1/events (SSE, Last-Event-ID = last seq in PostgreSQL) ──▶ follower A ─┐
//!  kiosk B ── …                                                                 ──▶ follower B ─┼─▶ batched INSERT … ON CONFLICT DO NOTHING ──▶ PostgreSQL
//!  …                                                                                            ┘
//! ```
//!
//! Modules, one concept each:
//! - [`config`]: the config file (`[database]`, `[ingest]`, `[[centers]]`),
//!   parsed then validated with every problem listed;
//! - [`db`]: the pool (tokio-postgres + deadpool-postgres), the numbered
//!   migrations of `migrations/` and the idempotent batched writes;
//! - [`backfill`]: the service days a stream gap lost, from the kiosk's day
//!   export (tickets, or summaries once pruned: those days are marked
//!   summary-only);
//! - [`follower`]: one task per center, resume and backoff, and the
//!   [`HubStatus`] that says how each center is doing (a refused token, an
//!   unreachable kiosk, PostgreSQL errors);
//! - [`report`]: city reports with the kiosk report's rules (by center,
//!   department, officer, hour or day; ratings; backfilled and
//!   summary-only days);
//! - [`rollup`]: the day rollups reports merge (per center-day and
//!   grouping, exact waiting and service distributions), kept true as
//!   facts change;
//! - [`http`]: `/healthz`, `/api/v1/status` and `/metrics` of the hub;
//! - [`live`]: what each center is doing now, from today's events;
//! - [`dashboard`] and [`accounts`]: the city dashboard (login, live view,
//!   center and report pages) and who may log in;
//! - [`demo`]: `city-hub demo`'s throw-away PostgreSQL cluster and simulated
//!   centers (also used by `perf -- city`).
//!
//! # Running PostgreSQL for it
//!
//! Any PostgreSQL ≥ 13 (Debian's `postgresql` package). The hub needs a
//! database it owns (`createdb --owner city_hub city`); over the local Unix
//! socket with peer authentication no password is configured. It creates
//! its tables itself (migrations, at every start or `city-hub migrate`).
//! Back it up with `pg_dump`; a lost database refills from the kiosks for
//! the days they still keep.
//!
//! # Reports
//!
//! Reports merge day rollups ([`rollup`], migration 0005) built from the
//! per-ticket facts the hub keeps at ingest (migration 0004,
//! [`db`](crate::db#ticket-facts)): a city month (40 centers × 22 days ×
//! 3,000 tickets) takes 46–348 ms by any grouping, against 9.7–19 s for
//! the same report sorted from the facts, with identical rows (`perf --
//! city`, load 7–12). A report first rebuilds the days of its range whose
//! facts changed: about 0.1 s per center-day at that load (today at 40
//! centers: 2.6–3.7 s).
//!
//! # Ingest
//!
//! Each batch is one transaction of five pipelined statements over arrays
//! (the events, then the facts of the batch's own events, see
//! [`db`](crate::db#ticket-facts)): 26,000–30,000 events/s from 40 centers
//! at once, PostgreSQL spending about 24 ms of CPU per 1,000 events and
//! the hub 5 (`perf -- city`, load 7–11).
//!
//! # Not built yet (issue #21)
//!
//! The Debian package has no manual page.

pub mod accounts;
pub mod backfill;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod follower;
pub mod http;
pub mod live;
pub mod report;
pub mod rollup;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{Center, ConfigError, HubConfig};
pub use db::{Db, DbError};
pub use follower::{Batching, CenterStatus, HubStatus};

/// A running hub: its status, and how to stop it.
#[derive(Debug)]
pub struct HubHandle {
    /// Every center's status.
    pub status: HubStatus,
    /// The database.
    pub db: Db,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl HubHandle {
    /// Stops every follower and waits for them (a batch being written is
    /// abandoned: PostgreSQL rolls it back and the next start asks the kiosk
    /// again).
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Rebuilds the stale day rollups every [`rollup::REFRESH_EVERY`], so a
/// report finds little left to rebuild.
async fn rollup_refresher(db: Db, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(rollup::REFRESH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = every.tick() => {}
        }
        // Stopping abandons a rebuild: PostgreSQL rolls it back.
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            done = rollup::refresh(&db, None) => if let Err(e) = done {
                tracing::warn!(
                    "rebuilding report rollups failed (retried in {:?}): {e}",
                    rollup::REFRESH_EVERY
                );
            }
        }
    }
}

/// Connects, applies the migrations and starts one follower per center.
pub async fn start(config: &HubConfig) -> Result<HubHandle, DbError> {
    let db = Db::new(&config.database)?;
    let applied = db.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied schema migrations");
    }
    let status = HubStatus::new(&config.centers);
    let (stop, stopped) = watch::channel(false);
    let batching = Batching {
        max_events: config.batch_events,
        linger: config.linger,
        idle_timeout: Duration::from_secs(45),
    };
    let mut tasks = JoinSet::new();
    tasks.spawn(rollup_refresher(db.clone(), stopped.clone()));
    for center in &config.centers {
        let mut stopped = stopped.clone();
        tasks.spawn(follower::follow(
            center.clone(),
            db.clone(),
            status.clone(),
            batching,
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
    }
    Ok(HubHandle {
        status,
        db,
        stop,
        tasks,
    })
}
