//! The hub's PostgreSQL: the connection pool, the schema migrations and the
//! few statements the followers need (last stored sequence, batched insert,
//! gap record).
//!
//! # Migrations
//!
//! The files in `city-hub/migrations/` are numbered (`0001_events.sql`, …),
//! compiled into the binary, and applied in order, each in its own
//! transaction together with its row in `schema_migrations (version, name,
//! applied)`. An advisory lock makes two hubs starting at once apply them
//! once. A file is never edited once released; a change is a new file. A
//! database with a version this binary does not know (a newer hub ran on it)
//! is refused rather than written to.
//!
//! # Exactly once
//!
//! Events are keyed by (center, seq). A batch is one transaction of
//! `INSERT … ON CONFLICT DO NOTHING`, so a batch written twice (the hub
//! crashed after the commit, PostgreSQL restarted before the reply reached
//! the hub) changes nothing the second time, and a batch that failed is not
//! half there. The follower resumes from [`Db::last_seq`], what PostgreSQL
//! actually holds, never from memory.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use queue_protocol::Event;
use tokio_postgres::NoTls;

use crate::config::RawDatabase;

/// A migration: its number, name and SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number (the file's prefix).
    pub version: i32,
    /// The file name.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_events.sql",
        sql: include_str!("../migrations/0001_events.sql"),
    },
    Migration {
        version: 2,
        name: "0002_ticket_index.sql",
        sql: include_str!("../migrations/0002_ticket_index.sql"),
    },
];

/// An arbitrary constant key for `pg_advisory_xact_lock` ("city" in ASCII).
const MIGRATION_LOCK: i64 = 0x6369_7479;

/// What went wrong with PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection from the pool (server down, wrong settings).
    #[error("cannot reach PostgreSQL: {0}; check [database] in the hub config and that the server runs (pg_isready)")]
    Pool(String),
    /// A statement failed.
    #[error("PostgreSQL refused a statement: {0}")]
    Sql(#[from] tokio_postgres::Error),
    /// The database was migrated by a newer hub.
    #[error("the database is at schema version {found}, newer than this hub knows ({known}); run the newer city-hub or restore a backup")]
    TooNew {
        /// Version in the database.
        found: i32,
        /// Newest version known here.
        known: i32,
    },
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => DbError::Sql(e),
            other => DbError::Pool(other.to_string()),
        }
    }
}

/// The pool and the hub's statements.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// A pool for `settings` (connections are made when first needed).
    pub fn new(settings: &RawDatabase) -> Result<Db, DbError> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&settings.host)
            .port(settings.port)
            .user(&settings.user)
            .dbname(&settings.dbname)
            .application_name("city-hub")
            .connect_timeout(std::time::Duration::from_secs(5));
        if let Some(password) = &settings.password {
            pg.password(password);
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // A connection that died with a server restart is noticed
                // before it is handed out again.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Db { pool })
    }

    /// Applies the migrations not applied yet; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i32>, DbError> {
        let mut client = self.pool.get().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name    text NOT NULL,
                    applied timestamptz NOT NULL DEFAULT now())",
            )
            .await?;
        let mut applied_now = Vec::new();
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        for migration in MIGRATIONS {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            let newest: Option<i32> = tx
                .query_one("SELECT max(version) FROM schema_migrations", &[])
                .await?
                .get(0);
            if let Some(found) = newest.filter(|v| *v > known) {
                return Err(DbError::TooNew { found, known });
            }
            let done = tx
                .query_opt(
                    "SELECT 1 FROM schema_migrations WHERE version = $1",
                    &[&migration.version],
                )
                .await?
                .is_some();
            if !done {
                tx.batch_execute(migration.sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[&migration.version, &migration.name],
                )
                .await?;
                applied_now.push(migration.version);
            }
            tx.commit().await?;
        }
        Ok(applied_now)
    }

    /// The versions recorded as applied, in order.
    pub async fn applied_versions(&self) -> Result<Vec<i32>, DbError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The last sequence stored for `center` (0: none).
    pub async fn last_seq(&self, center: &str) -> Result<u64, DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT coalesce(max(seq), 0) FROM events WHERE center = $1",
                &[&center],
            )
            .await?;
        let seq: i64 = row.get(0);
        Ok(seq.max(0) as u64)
    }

    /// Writes `events` of `center` in one transaction; events already
    /// stored are skipped. Returns how many rows were new.
    pub async fn insert_events(&self, center: &str, events: &[Event]) -> Result<u64, DbError> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut seqs = Vec::with_capacity(events.len());
        let mut ats = Vec::with_capacity(events.len());
        let mut kinds = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_value(&event.kind).unwrap_or(serde_json::Value::Null);
            let kind = body
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("unknown")
                .to_owned();
            seqs.push(i64::try_from(event.seq).unwrap_or(i64::MAX));
            ats.push(event.at_ms);
            kinds.push(kind);
            bodies.push(body);
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One statement per batch: arrays unnested server-side, so a batch of
        // 500 events is one round trip.
        let written = tx
            .execute(
                "INSERT INTO events (center, seq, at_ms, kind, body)
                 SELECT $1, s, a, k, b
                   FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::jsonb[]) AS t(s, a, k, b)
                 ON CONFLICT (center, seq) DO NOTHING",
                &[&center, &seqs, &ats, &kinds, &bodies],
            )
            .await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Records that the kiosk could not replay `center`'s log after
    /// `after_seq` (retention removed it) and the stream resumed at
    /// `resumed_at`.
    pub async fn record_gap(
        &self,
        center: &str,
        after_seq: u64,
        resumed_at: u64,
    ) -> Result<(), DbError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO stream_gaps (center, after_seq, resumed_at) VALUES ($1, $2, $3)
                 ON CONFLICT (center, after_seq) DO UPDATE SET resumed_at = excluded.resumed_at",
                &[&center, &(after_seq as i64), &(resumed_at as i64)],
            )
            .await?;
        Ok(())
    }

    /// How many events are stored for `center`.
    pub async fn event_count(&self, center: &str) -> Result<u64, DbError> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM events WHERE center = $1", &[&center])
            .await?
            .get(0);
        Ok(n as u64)
    }

    /// The pool, for reports.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}
