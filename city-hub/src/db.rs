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
//!
//! # Ticket facts
//!
//! Reports read `ticket_facts`, `stay_facts` and `rating_facts`
//! (migration 0004), not the events: the same transaction that inserts a
//! batch derives the facts of its events ([`FACT_STATEMENTS`]): an issue
//! adds its ticket (with its first call if already stored), a first call
//! fills it in, a finish or no-show adds its stay, a rating its row. Each
//! statement is keyed by the event that makes it (`ON CONFLICT DO
//! NOTHING`, or an update that only moves the first call earlier), so a
//! replayed batch changes nothing. Events arrive in sequence order, so an
//! issue is stored before the calls and stays of its ticket. Backfilled
//! day tickets become `source = 'tickets'` facts when they are stored, and
//! the migration fills all three tables from what an existing hub holds.
//!
//! A batch's statements read the batch's events from arrays sent with them
//! (each fact statement only the events of its kinds), not back from
//! `events`, and are sent together (pipelined): one round trip for all
//! five, besides BEGIN and COMMIT. What a fact needs from earlier batches (a
//! ticket's calls, its facts) is looked up by key: a lateral subquery with
//! a `LIMIT`, so the plan cannot become a scan while a young table has no
//! statistics (that made the stay and rating statements grow with the
//! table and cost three quarters of PostgreSQL's time).

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use queue_protocol::{DaySummary, Event, Ticket};
use serde_json::Value;
use tokio_postgres::types::ToSql;
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
    /// After the SQL, fill the fact tables from the stored events and day
    /// tickets (in the same transaction).
    pub fill_facts: bool,
    /// After the SQL, build the day rollups of the days it marked stale
    /// (in the same transaction, [`rollup`](crate::rollup)).
    pub build_rollups: bool,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_events.sql",
        sql: include_str!("../migrations/0001_events.sql"),
        fill_facts: false,
        build_rollups: false,
    },
    Migration {
        version: 2,
        name: "0002_ticket_index.sql",
        sql: include_str!("../migrations/0002_ticket_index.sql"),
        fill_facts: false,
        build_rollups: false,
    },
    Migration {
        version: 3,
        name: "0003_backfill.sql",
        sql: include_str!("../migrations/0003_backfill.sql"),
        fill_facts: false,
        build_rollups: false,
    },
    Migration {
        version: 4,
        name: "0004_ticket_facts.sql",
        sql: include_str!("../migrations/0004_ticket_facts.sql"),
        fill_facts: true,
        build_rollups: false,
    },
    Migration {
        version: 5,
        name: "0005_day_rollups.sql",
        sql: include_str!("../migrations/0005_day_rollups.sql"),
        fill_facts: false,
        build_rollups: true,
    },
];

/// The local hour of issue (`08`) of `issued_at` (Unix ms), in the reports'
/// time zone.
const HOUR_SQL: &str =
    "to_char(to_timestamp({at} / 1000.0) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24')";

/// Who made a `called` event `{c}`: the staff account, `keypad-N`, or the
/// actor type.
const CALLER_SQL: &str = "CASE {c}.body -> 'actor' ->> 'type'
    WHEN 'staff' THEN {c}.body -> 'actor' ->> 'name'
    WHEN 'keypad' THEN 'keypad-' || ({c}.body -> 'actor' ->> 'counter')
    ELSE {c}.body -> 'actor' ->> 'type' END";

/// The statements deriving facts from the events `e` of `{events}` matching
/// `{scope}`, in order: tickets issued (with their first call if stored),
/// first calls, closed stays, ratings. Every one is idempotent. `{events}`
/// is the stored events (the migration) or a batch's events sent with the
/// statement ([`BATCH_EVENTS`]); what they look up besides (a ticket's
/// calls, its facts) is always read from the tables.
pub const FACT_STATEMENTS: [&str; 4] = [
    "INSERT INTO ticket_facts (center, source, ticket, day, department, issued_at, hour,
                               first_call_seq, first_call, officer)
     SELECT e.center, 'events', (e.body ->> 'ticket')::bigint, e.body ->> 'service_day',
            e.body ->> 'department', e.at_ms, {hour_e}, c.seq, c.at_ms, c.officer
       FROM {events} e
       LEFT JOIN LATERAL (
            SELECT c.seq, c.at_ms, {caller_c} AS officer FROM events c
             WHERE c.center = e.center AND c.body -> 'ticket' = e.body -> 'ticket'
               AND c.kind = 'called' AND NOT (c.body ->> 'recall')::boolean
             ORDER BY c.seq LIMIT 1) c ON true
      WHERE {scope} AND e.kind = 'ticket_issued' AND {numbered}
        AND e.body ->> 'service_day' IS NOT NULL AND e.body ->> 'department' IS NOT NULL
     ON CONFLICT DO NOTHING",
    "UPDATE ticket_facts t
        SET first_call_seq = c.seq, first_call = c.at_ms, officer = c.officer
       FROM (SELECT DISTINCT ON (e.center, (e.body ->> 'ticket')::bigint)
                    e.center, (e.body ->> 'ticket')::bigint AS ticket, e.seq, e.at_ms,
                    {caller_e} AS officer
               FROM {events} e
              WHERE {scope} AND e.kind = 'called' AND {numbered}
                AND NOT (e.body ->> 'recall')::boolean
              ORDER BY e.center, (e.body ->> 'ticket')::bigint, e.seq) c
      WHERE t.center = c.center AND t.source = 'events' AND t.ticket = c.ticket
        AND (t.first_call_seq IS NULL OR t.first_call_seq > c.seq)",
    "INSERT INTO stay_facts (center, seq, ticket, day, department, hour, officer,
                             served, no_show, service)
     SELECT e.center, e.seq, i.ticket, i.day, i.department, i.hour, c.officer,
            (e.kind = 'finished')::int, (e.kind = 'no_show')::int,
            CASE WHEN e.kind = 'finished' THEN
                 (e.at_ms - coalesce(
                     (SELECT min(s.at_ms) FROM events s
                       WHERE s.center = e.center AND s.body -> 'ticket' = e.body -> 'ticket'
                         AND s.kind = 'serving_started' AND s.seq > c.seq AND s.seq < e.seq),
                     c.at_ms)) / 1000 END
       FROM {events} e
       JOIN LATERAL ({ticket_of_e}) i ON true
       LEFT JOIN LATERAL (
            SELECT c.seq, c.at_ms, {caller_c} AS officer FROM events c
             WHERE c.center = e.center AND c.body -> 'ticket' = e.body -> 'ticket'
               AND c.kind = 'called' AND NOT (c.body ->> 'recall')::boolean AND c.seq < e.seq
             ORDER BY c.seq DESC LIMIT 1) c ON true
      WHERE {scope} AND e.kind IN ('finished', 'no_show') AND {numbered}
     ON CONFLICT (center, seq) DO NOTHING",
    "INSERT INTO rating_facts (center, seq, ticket, day, department, hour, officer, level)
     SELECT e.center, e.seq, i.ticket, i.day, i.department, i.hour,
            e.body ->> 'staff', e.body ->> 'level'
       FROM {events} e
       JOIN LATERAL ({ticket_of_e}) i ON true
      WHERE {scope} AND e.kind = 'rated' AND {numbered}
     ON CONFLICT (center, seq) DO NOTHING",
];

/// The event kinds each of [`FACT_STATEMENTS`] reads facts from.
const FACT_KINDS: [&[&str]; 4] = [
    &["ticket_issued"],
    &["called"],
    &["finished", "no_show"],
    &["rated"],
];

/// The facts of the ticket of event `e` as kept from the events (at most
/// one row: the key). A lateral subquery with a `LIMIT`, so PostgreSQL
/// always looks each one up by the key: joined, a young table's missing
/// statistics made it scan the center's facts once per event, which grew
/// with every batch.
const TICKET_OF_E: &str = "SELECT i.ticket, i.day, i.department, i.hour FROM ticket_facts i
             WHERE i.center = e.center AND i.source = 'events'
               AND i.ticket = (e.body ->> 'ticket')::bigint LIMIT 1";

/// A fact statement with its placeholders filled; `scope` selects the
/// stored events `e` it reads.
pub fn fact_sql(statement: &str, scope: &str) -> String {
    fact_sql_over(statement, "events", scope)
}

/// The events of a batch as a table shaped like `events`: center `$1`,
/// then the arrays `$2` seq, `$3` at_ms, `$4` kind, `$5` body.
const BATCH_EVENTS: &str = "(SELECT $1::text AS center, s AS seq, a AS at_ms, k AS kind, b AS body
    FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::jsonb[]) AS t(s, a, k, b))";

/// The fact statements over a batch's events ([`BATCH_EVENTS`]), made once.
fn batch_fact_sql() -> &'static [String; 4] {
    static SQL: std::sync::OnceLock<[String; 4]> = std::sync::OnceLock::new();
    SQL.get_or_init(|| FACT_STATEMENTS.map(|s| fact_sql_over(s, BATCH_EVENTS, "true")))
}

fn fact_sql_over(statement: &str, events: &str, scope: &str) -> String {
    statement
        .replace("{events}", events)
        .replace("{ticket_of_e}", TICKET_OF_E)
        .replace("{hour_e}", &HOUR_SQL.replace("{at}", "e.at_ms"))
        .replace("{caller_c}", &CALLER_SQL.replace("{c}", "c"))
        .replace("{caller_e}", &CALLER_SQL.replace("{c}", "e"))
        .replace("{numbered}", NUMBERED_SQL)
        .replace("{scope}", scope)
}

/// An event `e` that names its ticket by number (a newer kiosk's event of
/// another shape is stored but makes no facts, rather than failing its
/// batch).
const NUMBERED_SQL: &str = "jsonb_typeof(e.body -> 'ticket') = 'number'";

/// The facts of the exported tickets `t` matching `{scope}` (replacing
/// earlier ones of the same ticket).
const KEPT_FACTS: &str = "
INSERT INTO ticket_facts (center, source, ticket, day, department, issued_at, hour,
                          first_call, officer, served, no_show, service)
SELECT center, 'tickets', id, day, department, issued_at, {hour}, called_at, officer,
       (state = 'done')::int, (state = 'no_show')::int,
       CASE WHEN state = 'done' AND officer IS NOT NULL AND closed_at IS NOT NULL
            THEN (closed_at - coalesce(serving_at, called_at)) / 1000 END
  FROM (SELECT t.center, t.day, t.id, t.body ->> 'issued_department' AS department,
               (t.body ->> 'issued_at_ms')::bigint AS issued_at,
               (t.body ->> 'called_at_ms')::bigint AS called_at,
               (t.body ->> 'serving_at_ms')::bigint AS serving_at,
               (t.body ->> 'closed_at_ms')::bigint AS closed_at,
               t.body -> 'state' ->> 'type' AS state,
               CASE WHEN t.body ->> 'called_at_ms' IS NOT NULL AND t.body ->> 'counter' IS NOT NULL
                    THEN coalesce(t.body ->> 'served_by', 'unknown') END AS officer
          FROM day_tickets t
          JOIN backfilled_days b ON b.center = t.center AND b.day = t.day AND b.source = 'tickets'
         WHERE {scope}) k
ON CONFLICT (center, source, ticket) DO UPDATE SET
    day = excluded.day, department = excluded.department, issued_at = excluded.issued_at,
    hour = excluded.hour, first_call = excluded.first_call, officer = excluded.officer,
    served = excluded.served, no_show = excluded.no_show, service = excluded.service";

fn kept_facts_sql(scope: &str) -> String {
    KEPT_FACTS
        .replace("{hour}", &HOUR_SQL.replace("{at}", "issued_at"))
        .replace("{scope}", scope)
}

/// Fills the fact tables from every stored event and exported ticket (the
/// migration that creates them).
async fn fill_facts(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), DbError> {
    for statement in FACT_STATEMENTS {
        tx.batch_execute(&fact_sql(statement, "true")).await?;
    }
    tx.batch_execute(&kept_facts_sql("true")).await?;
    Ok(())
}

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
    /// A day rollup's packed distribution cannot be read.
    #[error("the report rollup of {center} {day} is unreadable; rebuild it: INSERT INTO rollup_stale (center, day) VALUES ('{center}', '{day}') ON CONFLICT DO NOTHING, then run the report again")]
    Rollup {
        /// The center.
        center: String,
        /// The service day.
        day: String,
    },
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
                if migration.fill_facts {
                    fill_facts(&tx).await?;
                }
                if migration.build_rollups {
                    crate::rollup::rebuild_stale(&tx, None).await?;
                }
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

    /// Where `center`'s stream resumes: the last sequence stored, or the
    /// end of a recorded gap (events the kiosk no longer keeps) if later
    /// (0: none).
    pub async fn last_seq(&self, center: &str) -> Result<u64, DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT greatest(
                    (SELECT coalesce(max(seq), 0) FROM events WHERE center = $1),
                    (SELECT coalesce(max(resumed_at), 0) FROM stream_gaps WHERE center = $1))",
                &[&center],
            )
            .await?;
        let seq: i64 = row.get(0);
        Ok(seq.max(0) as u64)
    }

    /// Writes `events` of `center` in one transaction; events already
    /// stored are skipped. Returns how many rows were new.
    pub async fn insert_events(&self, center: &str, events: &[Event]) -> Result<u64, DbError> {
        let raw: Vec<RawEvent> = events.iter().map(RawEvent::from_event).collect();
        self.insert_raw(center, &raw).await
    }

    /// Writes `events` of `center` as received (kinds this hub's protocol
    /// version does not know, such as a newer kiosk's, are kept as they
    /// came); events already stored are skipped. Returns how many rows were
    /// new.
    pub async fn insert_raw(&self, center: &str, events: &[RawEvent]) -> Result<u64, DbError> {
        if events.is_empty() {
            return Ok(0);
        }
        // Each statement gets the events it reads (the insert all of them,
        // a fact statement those of its kinds), as arrays unnested
        // server-side: a batch of 500 events is five statements, however
        // many rows, and its bodies are not read back from the table.
        let mut groups: [Columns<'_>; 5] = Default::default();
        for event in events {
            let kind = event.kind_name();
            let fact = FACT_KINDS
                .iter()
                .position(|makers| makers.contains(&kind.as_str()));
            if let Some(fact) = fact {
                groups[1 + fact].push(event, kind.clone());
            }
            groups[0].push(event, kind);
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut statements = Vec::with_capacity(groups.len());
        for (at, columns) in groups.iter().enumerate() {
            if columns.seqs.is_empty() {
                // A fact statement whose kinds are not in the batch.
                continue;
            }
            let sql = match at {
                0 => INSERT_EVENTS,
                fact => &batch_fact_sql()[fact - 1],
            };
            // Prepared once per connection.
            statements.push((tx.prepare_cached(sql).await?, columns));
        }
        // Sent together (pipelined), run in order: the insert first, so a
        // fact statement sees the batch's events among the stored ones.
        let params: Vec<[&(dyn ToSql + Sync); 5]> = statements
            .iter()
            .map(|(_, c)| -> [&(dyn ToSql + Sync); 5] {
                [&center, &c.seqs, &c.ats, &c.kinds, &c.bodies]
            })
            .collect();
        let counts = futures_util::future::try_join_all(
            statements
                .iter()
                .zip(&params)
                .map(|((statement, _), params)| tx.execute(statement, params)),
        )
        .await?;
        let written = counts.first().copied().unwrap_or(0);
        // The report rollups of the days these events touch are stale.
        let seqs = &groups[0].seqs;
        let (first, last) = (seqs.iter().min(), seqs.iter().max());
        let mark = tx.prepare_cached(crate::rollup::MARK_SQL).await?;
        tx.execute(&mark, &[&center, &first, &last]).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Records that the kiosk could not replay `center`'s log after
    /// `after_seq` (retention removed it) up to `resumed_at` (the last
    /// sequence it no longer keeps); the stream resumes after `resumed_at`.
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

    /// The gaps of `center` not backfilled yet: `(after_seq, resumed_at)`.
    pub async fn open_gaps(&self, center: &str) -> Result<Vec<(u64, u64)>, DbError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT after_seq, resumed_at FROM stream_gaps
                  WHERE center = $1 AND filled IS NULL ORDER BY after_seq",
                &[&center],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, i64>(0).max(0) as u64,
                    r.get::<_, i64>(1).max(0) as u64,
                )
            })
            .collect())
    }

    /// The service day of the last stored event of `center` at or before
    /// `seq` that names one (a day start or an issue).
    pub async fn day_at_or_before(
        &self,
        center: &str,
        seq: u64,
    ) -> Result<Option<String>, DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT body ->> 'service_day' FROM events
                  WHERE center = $1 AND seq <= $2 AND kind IN ('service_day_started', 'ticket_issued')
                  ORDER BY seq DESC LIMIT 1",
                &[&center, &(seq as i64)],
            )
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// The service day of the first stored event of `center` after `seq`
    /// that names one (`None` while nothing after it is stored).
    pub async fn day_after(&self, center: &str, seq: u64) -> Result<Option<String>, DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT body ->> 'service_day' FROM events
                  WHERE center = $1 AND seq > $2 AND kind IN ('service_day_started', 'ticket_issued')
                  ORDER BY seq LIMIT 1",
                &[&center, &(seq as i64)],
            )
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// Tickets issued, served and no-show on `day` at `center` according to
    /// the stored events.
    pub async fn event_day_counts(&self, center: &str, day: &str) -> Result<[u64; 3], DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "WITH issued AS (
                    SELECT body -> 'ticket' AS ticket FROM events
                     WHERE center = $1 AND kind = 'ticket_issued' AND body ->> 'service_day' = $2)
                 SELECT (SELECT count(*) FROM issued),
                        count(*) FILTER (WHERE e.kind = 'finished'),
                        count(*) FILTER (WHERE e.kind = 'no_show')
                   FROM events e JOIN issued i ON e.body -> 'ticket' = i.ticket
                  WHERE e.center = $1 AND e.kind IN ('finished', 'no_show')",
                &[&center, &day],
            )
            .await?;
        Ok([0, 1, 2].map(|i| r_u64(&row, i)))
    }

    /// Keeps `day`'s exported tickets as the source of its figures (replaces
    /// what an earlier backfill of that day wrote).
    pub async fn store_day_tickets(
        &self,
        center: &str,
        day: &str,
        tickets: &[Ticket],
    ) -> Result<(), DbError> {
        let ids: Vec<i64> = tickets.iter().map(|t| t.id.0 as i64).collect();
        let bodies: Vec<Value> = tickets
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .collect();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        forget_exported_day(&tx, center, day).await?;
        tx.execute(
            "INSERT INTO day_tickets (center, day, id, body)
             SELECT $1, $2, i, b FROM unnest($3::bigint[], $4::jsonb[]) AS t(i, b)",
            &[&center, &day, &ids, &bodies],
        )
        .await?;
        mark_day(&tx, center, day, "tickets").await?;
        tx.execute(
            &kept_facts_sql("t.center = $1 AND t.day = $2"),
            &[&center, &day],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps `day`'s exported summaries as the source of its figures.
    pub async fn store_day_summaries(
        &self,
        center: &str,
        day: &str,
        summaries: &[DaySummary],
    ) -> Result<(), DbError> {
        let departments: Vec<&str> = summaries.iter().map(|s| s.department.as_str()).collect();
        let bodies: Vec<Value> = summaries
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        forget_exported_day(&tx, center, day).await?;
        tx.execute(
            "INSERT INTO day_summaries (center, day, department, body)
             SELECT $1, $2, d, b FROM unnest($3::text[], $4::jsonb[]) AS t(d, b)
             ON CONFLICT DO NOTHING",
            &[&center, &day, &departments, &bodies],
        )
        .await?;
        mark_day(&tx, center, day, "summaries").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the gap of `center` after `after_seq` as backfilled.
    pub async fn gap_filled(&self, center: &str, after_seq: u64) -> Result<(), DbError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE stream_gaps SET filled = now() WHERE center = $1 AND after_seq = $2",
                &[&center, &(after_seq as i64)],
            )
            .await?;
        Ok(())
    }

    /// The backfilled days of every center: `(center, day, source)`.
    pub async fn backfilled_days(&self) -> Result<Vec<(String, String, String)>, DbError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT center, day, source FROM backfilled_days ORDER BY center, day",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
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

fn r_u64(row: &tokio_postgres::Row, at: usize) -> u64 {
    row.get::<_, i64>(at).max(0) as u64
}

/// Inserts a batch's events (the arrays of [`BATCH_EVENTS`]); those already
/// stored are skipped.
const INSERT_EVENTS: &str = "INSERT INTO events (center, seq, at_ms, kind, body)
     SELECT $1, s, a, k, b
       FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::jsonb[]) AS t(s, a, k, b)
     ON CONFLICT (center, seq) DO NOTHING";

/// Some events of a batch, by column.
#[derive(Default)]
struct Columns<'a> {
    seqs: Vec<i64>,
    ats: Vec<i64>,
    kinds: Vec<String>,
    bodies: Vec<&'a Value>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, event: &'a RawEvent, kind: String) {
        self.seqs.push(i64::try_from(event.seq).unwrap_or(i64::MAX));
        self.ats.push(event.at_ms);
        self.kinds.push(kind);
        self.bodies.push(&event.kind);
    }
}

/// Removes what an earlier export of `day` left (its tickets or summaries
/// and the facts drawn from them), so the new export replaces it whole.
async fn forget_exported_day(
    tx: &deadpool_postgres::Transaction<'_>,
    center: &str,
    day: &str,
) -> Result<(), DbError> {
    for sql in [
        "DELETE FROM day_tickets WHERE center = $1 AND day = $2",
        "DELETE FROM day_summaries WHERE center = $1 AND day = $2",
        "DELETE FROM ticket_facts WHERE center = $1 AND day = $2 AND source = 'tickets'",
    ] {
        tx.execute(sql, &[&center, &day]).await?;
    }
    Ok(())
}

async fn mark_day(
    tx: &deadpool_postgres::Transaction<'_>,
    center: &str,
    day: &str,
    source: &str,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO backfilled_days (center, day, source) VALUES ($1, $2, $3)
         ON CONFLICT (center, day) DO UPDATE SET source = excluded.source, fetched = now()",
        &[&center, &day, &source],
    )
    .await?;
    // Its figures changed source: its report rollup is stale.
    tx.execute(crate::rollup::STALE_SQL, &[&center, &day])
        .await?;
    Ok(())
}

/// An event as the kiosk sent it: its kind kept as JSON, so a kind this
/// hub does not know yet (a newer kiosk's) is stored, not dropped.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RawEvent {
    /// The kiosk's sequence number.
    pub seq: u64,
    /// When, Unix ms.
    pub at_ms: i64,
    /// `{"type": "…", …}`.
    pub kind: Value,
}

impl RawEvent {
    /// The JSON of a typed event.
    pub fn from_event(event: &Event) -> RawEvent {
        RawEvent {
            seq: event.seq,
            at_ms: event.at_ms,
            kind: serde_json::to_value(&event.kind).unwrap_or(Value::Null),
        }
    }

    /// The `type` of its kind (`unknown` when it has none).
    pub fn kind_name(&self) -> String {
        self.kind
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned()
    }
}
