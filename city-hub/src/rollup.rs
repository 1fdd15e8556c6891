//! Day rollups: each (center, service day)'s report figures merged ahead of
//! time, so a city month's report reads a few rows per center-day instead
//! of every ticket's facts, and still gives exactly the figures of the
//! facts (and so of the kiosk's own report).
//!
//! # What a rollup holds
//!
//! `day_rollups` (migration 0005) has, per center-day, one row for each key
//! of each grouping that needs its own: `day` (key `''`, which reports by
//! center and by day merge), `department`, `officer` and `hour`. A row
//! holds the sums of the facts ([`report`](crate::report) says which facts
//! count where) and the **exact** distributions of waiting and service
//! seconds: every distinct second with how many samples had it. Merging
//! rows adds counts second by second, so a nearest-rank percentile of any
//! set of rows is the one of their samples, as if the facts had been
//! sorted. The grain is per grouping rather than one row per (department,
//! officer, hour): at the city month's traffic that finer grain holds about
//! three tickets a row, hardly fewer rows than the facts themselves.
//!
//! A distribution is packed as varints: for each distinct second in
//! ascending order, the second (zigzag for the first, the step from the
//! previous one after it) then its count. A busy day's department is a few
//! hundred bytes.
//!
//! # Keeping them true
//!
//! A rollup is rebuilt whole from its center-day's facts whenever they may
//! have changed; nothing is patched in place:
//!
//! - **ingest**: the batch's transaction widens its center's row of
//!   `rollup_marks` (first and last sequence written, [`MARK_SQL`], the one
//!   statement this adds to [`Db::insert_raw`](crate::db::Db::insert_raw)).
//!   Resolving marks turns them into the days of the tickets those events
//!   belong to: a late first call, a rating of last week's ticket, a
//!   replay after an outage, each marks its ticket's issuing day.
//! - **backfill**: storing a day's exported tickets or summaries marks that
//!   day in `rollup_stale` in the same transaction ([`STALE_SQL`]).
//! - **migration 0005** marks every day the hub already holds and builds
//!   them in the migration's transaction.
//!
//! A report first brings the days of its range up to date ([`refresh`]),
//! and the hub refreshes every day in the background every few minutes
//! ([`REFRESH_EVERY`]), so a report rarely rebuilds more than the days that
//! changed since (today's, during opening hours). A rebuild reads its
//! center-day's facts back: about 0.1 s for a 3,000-ticket day on the
//! loaded development machine, nearly all of it PostgreSQL sending the
//! facts, so a report covering today at 40 busy centers pays a few
//! seconds once, and the next one only for what changed since. A marking carries a
//! version and a rebuild clears only the version it read, in the same
//! transaction as the rows it wrote: a crash rolls both back, and a
//! marking made while a rebuild ran survives it. Rebuilds take an advisory
//! lock, so two at once do not interleave. Summary-only days (exported
//! summaries, no tickets) have no rollup rows: reports read them from
//! `day_summaries` as before.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::db::{Db, DbError};

/// The statement, in each ingest batch's transaction, that records the
/// sequences it wrote (`$1` center, `$2` first and `$3` last sequence).
pub const MARK_SQL: &str = "INSERT INTO rollup_marks (center, first_seq, last_seq)
     VALUES ($1, $2, $3)
     ON CONFLICT (center) DO UPDATE SET
        first_seq = least(rollup_marks.first_seq, excluded.first_seq),
        last_seq = greatest(rollup_marks.last_seq, excluded.last_seq),
        version = rollup_marks.version + 1";

/// The statement that marks one center-day (`$1`, `$2`) for a rebuild.
pub const STALE_SQL: &str = "INSERT INTO rollup_stale (center, day) VALUES ($1, $2)
     ON CONFLICT (center, day) DO UPDATE SET version = rollup_stale.version + 1";

/// How often the running hub rebuilds every stale day in the background.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);

/// An arbitrary constant key for `pg_advisory_xact_lock` ("roll" in ASCII).
const REFRESH_LOCK: i64 = 0x726f_6c6c;

/// Center-days rebuilt per round trip.
const CHUNK: usize = 24;

/// The groupings a rollup row serves, as stored in `day_rollups.dimension`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The whole center-day (key `''`).
    Day,
    /// Per department.
    Department,
    /// Per officer.
    Officer,
    /// Per local hour of issue.
    Hour,
}

impl Dimension {
    /// The name stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Department => "department",
            Dimension::Officer => "officer",
            Dimension::Hour => "hour",
        }
    }
}

/// The facts of the center-days `$1` (centers) / `$2` (days), with the
/// report's rule for backfilled days: tickets (`what` 0), closed stays (1)
/// and ratings (2). Lateral, so each center-day is an index range scan
/// (the planner cannot tell how few center-days an array holds, and a join
/// once scanned the whole fact tables per chunk).
const FACTS_OF_DAYS: &str = "
WITH d AS (
    SELECT d.center, d.day, NOT EXISTS (
               SELECT 1 FROM backfilled_days b WHERE b.center = d.center AND b.day = d.day) AS streamed
      FROM unnest($1::text[], $2::text[]) AS d(center, day)
)
SELECT f.* FROM d CROSS JOIN LATERAL (
    SELECT t.center, t.day, t.department, t.officer, t.hour, 0 AS what, t.served, t.no_show,
           (t.first_call - t.issued_at) / 1000 AS waiting, t.service, NULL::text AS level
      FROM ticket_facts t
     WHERE t.day = d.day AND t.center = d.center AND (t.source = 'tickets' OR d.streamed)
    UNION ALL
    SELECT s.center, s.day, s.department, s.officer, s.hour, 1, s.served, s.no_show,
           NULL::bigint, s.service, NULL::text
      FROM stay_facts s
     WHERE s.day = d.day AND s.center = d.center AND d.streamed
    UNION ALL
    SELECT r.center, r.day, r.department, r.officer, r.hour, 2, 0, 0,
           NULL::bigint, NULL::bigint, coalesce(r.level, 'unknown')
      FROM rating_facts r
     WHERE r.day = d.day AND r.center = d.center AND d.streamed) f";

/// Rebuilds the stale days of `from..=to` (every stale day with `None`),
/// after turning the ingest marks into stale days. Returns how many
/// center-days were rebuilt.
pub async fn refresh(db: &Db, range: Option<(&str, &str)>) -> Result<usize, DbError> {
    let mut client = db.pool().get().await?;
    // Marks first, in a short transaction of its own: ingest upserts the
    // same rows and should not wait for the rebuild.
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REFRESH_LOCK])
        .await?;
    resolve_marks(&tx).await?;
    tx.commit().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REFRESH_LOCK])
        .await?;
    let rebuilt = rebuild_stale(&tx, range).await?;
    tx.commit().await?;
    Ok(rebuilt)
}

/// Marks every center-day that has facts stale and rebuilds them all (a
/// hub whose facts were written without the ingest statements, such as
/// the perf harness's seeded month). Returns how many were rebuilt.
pub async fn rebuild_all(db: &Db) -> Result<usize, DbError> {
    {
        let client = db.pool().get().await?;
        client
            .execute(
                "INSERT INTO rollup_stale (center, day)
                 SELECT center, day FROM ticket_facts
                  UNION SELECT center, day FROM stay_facts
                  UNION SELECT center, day FROM rating_facts
                 ON CONFLICT (center, day) DO UPDATE SET version = rollup_stale.version + 1",
                &[],
            )
            .await?;
    }
    refresh(db, None).await
}

/// Turns every center's ingest mark into the stale days of the tickets its
/// events belong to, and clears the marks read.
async fn resolve_marks(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), DbError> {
    let marks = tx
        .query(
            "SELECT center, first_seq, last_seq, version FROM rollup_marks",
            &[],
        )
        .await?;
    if marks.is_empty() {
        return Ok(());
    }
    let centers: Vec<String> = marks.iter().map(|r| r.get(0)).collect();
    let firsts: Vec<i64> = marks.iter().map(|r| r.get(1)).collect();
    let lasts: Vec<i64> = marks.iter().map(|r| r.get(2)).collect();
    let versions: Vec<i64> = marks.iter().map(|r| r.get(3)).collect();
    tx.execute(
        "INSERT INTO rollup_stale (center, day)
         SELECT DISTINCT m.center, t.day
           FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS m(center, first_seq, last_seq)
          CROSS JOIN LATERAL (
                SELECT DISTINCT (e.body ->> 'ticket')::bigint AS ticket FROM events e
                 WHERE e.center = m.center AND e.seq BETWEEN m.first_seq AND m.last_seq
                   AND jsonb_typeof(e.body -> 'ticket') = 'number') e
          CROSS JOIN LATERAL (
                SELECT t.day FROM ticket_facts t
                 WHERE t.center = m.center AND t.source = 'events' AND t.ticket = e.ticket) t
         ON CONFLICT (center, day) DO UPDATE SET version = rollup_stale.version + 1",
        &[&centers, &firsts, &lasts],
    )
    .await?;
    tx.execute(
        "DELETE FROM rollup_marks m USING unnest($1::text[], $2::bigint[]) AS r(center, version)
          WHERE m.center = r.center AND m.version = r.version",
        &[&centers, &versions],
    )
    .await?;
    Ok(())
}

/// Rebuilds the stale center-days of `range` (all with `None`) in `tx` and
/// clears the markings read. Returns how many were rebuilt.
pub(crate) async fn rebuild_stale(
    tx: &deadpool_postgres::Transaction<'_>,
    range: Option<(&str, &str)>,
) -> Result<usize, DbError> {
    let stale = match range {
        Some((from, to)) => {
            tx.query(
                "SELECT center, day, version FROM rollup_stale
                  WHERE day BETWEEN $1 AND $2 ORDER BY center, day",
                &[&from, &to],
            )
            .await?
        }
        None => {
            tx.query(
                "SELECT center, day, version FROM rollup_stale ORDER BY center, day",
                &[],
            )
            .await?
        }
    };
    for chunk in stale.chunks(CHUNK) {
        let centers: Vec<String> = chunk.iter().map(|r| r.get(0)).collect();
        let days: Vec<String> = chunk.iter().map(|r| r.get(1)).collect();
        let versions: Vec<i64> = chunk.iter().map(|r| r.get(2)).collect();
        let facts = tx.query(FACTS_OF_DAYS, &[&centers, &days]).await?;
        let rows = build(&facts);
        tx.execute(
            "DELETE FROM day_rollups r USING unnest($1::text[], $2::text[]) AS d(center, day)
              WHERE r.center = d.center AND r.day = d.day",
            &[&centers, &days],
        )
        .await?;
        let mut columns = Columns::default();
        for ((dimension, center, day, key), sums) in rows {
            columns.push(dimension, center, day, key, sums);
        }
        tx.execute(
            "INSERT INTO day_rollups (dimension, day, center, key, issued, served, no_show,
                                      waiting, service, ratings)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                  $6::bigint[], $7::bigint[], $8::bytea[], $9::bytea[], $10::jsonb[])",
            &[
                &columns.dimension,
                &columns.day,
                &columns.center,
                &columns.key,
                &columns.issued,
                &columns.served,
                &columns.no_show,
                &columns.waiting,
                &columns.service,
                &columns.ratings,
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM rollup_stale s
              USING unnest($1::text[], $2::text[], $3::bigint[]) AS r(center, day, version)
              WHERE s.center = r.center AND s.day = r.day AND s.version = r.version",
            &[&centers, &days, &versions],
        )
        .await?;
    }
    Ok(stale.len())
}

/// The sums of one rollup row while it is built.
#[derive(Debug, Default)]
struct Sums {
    issued: i64,
    served: i64,
    no_show: i64,
    waiting: Vec<i64>,
    service: Vec<i64>,
    ratings: BTreeMap<String, i64>,
}

/// `(dimension, center, day, key)` → sums.
type Built<'a> = HashMap<(Dimension, &'a str, &'a str, &'a str), Sums>;

/// Groups fact rows (as [`FACTS_OF_DAYS`] gives them) into rollup rows.
fn build(facts: &[tokio_postgres::Row]) -> Built<'_> {
    let mut rows: Built<'_> = HashMap::new();
    for fact in facts {
        let center: &str = fact.get(0);
        let day: &str = fact.get(1);
        let department: &str = fact.get(2);
        let officer: Option<&str> = fact.get(3);
        let hour: &str = fact.get(4);
        let what: i32 = fact.get(5);
        let served: i32 = fact.get(6);
        let no_show: i32 = fact.get(7);
        let waiting: Option<i64> = fact.get(8);
        let service: Option<i64> = fact.get(9);
        let level: Option<&str> = fact.get(10);
        let keys = [
            Some((Dimension::Day, "")),
            Some((Dimension::Department, department)),
            officer.map(|o| (Dimension::Officer, o)),
            Some((Dimension::Hour, hour)),
        ];
        for (dimension, key) in keys.into_iter().flatten() {
            let sums = rows.entry((dimension, center, day, key)).or_default();
            if what == 2 {
                *sums
                    .ratings
                    .entry(level.unwrap_or("unknown").to_owned())
                    .or_default() += 1;
            } else {
                sums.issued += i64::from(what == 0);
                sums.served += i64::from(served);
                sums.no_show += i64::from(no_show);
                sums.waiting.extend(waiting);
                sums.service.extend(service);
            }
        }
    }
    rows
}

/// Rollup rows as the columns of one `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct Columns {
    dimension: Vec<&'static str>,
    day: Vec<String>,
    center: Vec<String>,
    key: Vec<String>,
    issued: Vec<i64>,
    served: Vec<i64>,
    no_show: Vec<i64>,
    waiting: Vec<Vec<u8>>,
    service: Vec<Vec<u8>>,
    ratings: Vec<Value>,
}

impl Columns {
    fn push(&mut self, dimension: Dimension, center: &str, day: &str, key: &str, sums: Sums) {
        self.dimension.push(dimension.as_str());
        self.day.push(day.to_owned());
        self.center.push(center.to_owned());
        self.key.push(key.to_owned());
        self.issued.push(sums.issued);
        self.served.push(sums.served);
        self.no_show.push(sums.no_show);
        self.waiting.push(pack(sums.waiting));
        self.service.push(pack(sums.service));
        self.ratings.push(Value::Object(
            sums.ratings
                .into_iter()
                .map(|(level, n)| (level, Value::from(n)))
                .collect(),
        ));
    }
}

/// Packs samples as their distinct values, ascending, with counts.
pub fn pack(mut samples: Vec<i64>) -> Vec<u8> {
    samples.sort_unstable();
    let mut out = Vec::with_capacity(samples.len() * 2);
    let mut previous: Option<i64> = None;
    let mut at = 0;
    while at < samples.len() {
        let value = samples[at];
        let run = samples[at..].iter().take_while(|&&v| v == value).count();
        match previous {
            None => put_varint(&mut out, zigzag(value)),
            Some(p) => put_varint(&mut out, value.wrapping_sub(p) as u64),
        }
        put_varint(&mut out, run as u64);
        previous = Some(value);
        at += run;
    }
    out
}

/// The `(value, count)` pairs of a packed distribution, ascending; `None`
/// when the bytes are not one.
pub fn unpack(bytes: &[u8], mut each: impl FnMut(i64, u64)) -> Option<()> {
    let mut at = 0;
    let mut previous: Option<i64> = None;
    while at < bytes.len() {
        let raw = get_varint(bytes, &mut at)?;
        let value = match previous {
            None => unzigzag(raw),
            Some(p) => p.wrapping_add(raw as i64),
        };
        let count = get_varint(bytes, &mut at)?;
        each(value, count);
        previous = Some(value);
    }
    Some(())
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A distribution being merged from rollup rows: `(value, count)` pairs in
/// any order, repeats allowed.
#[derive(Debug, Default)]
pub struct Merged {
    pairs: Vec<(i64, u64)>,
}

impl Merged {
    /// Adds a packed distribution; `None` when the bytes are not one.
    pub fn add_packed(&mut self, bytes: &[u8]) -> Option<()> {
        unpack(bytes, |v, n| self.pairs.push((v, n)))
    }

    /// How many samples, the nearest-rank p50 and p90 (the sample at index
    /// round((n−1)·q) of the sorted samples, halves rounded up as
    /// PostgreSQL's `round` does) and the largest.
    pub fn stats(mut self) -> (u64, Option<i64>, Option<i64>, Option<i64>) {
        let n: u64 = self.pairs.iter().map(|p| p.1).sum();
        if n == 0 {
            return (0, None, None, None);
        }
        let ranks = [((n - 1) * 5 + 5) / 10, ((n - 1) * 9 + 5) / 10];
        let mut found = [None, None];
        let mut below = 0u64;
        let mut visit = |value: i64, count: u64| {
            for (rank, slot) in ranks.iter().zip(found.iter_mut()) {
                if slot.is_none() && *rank < below + count {
                    *slot = Some(value);
                }
            }
            below += count;
        };
        let min = self.pairs.iter().map(|p| p.0).min().unwrap_or(0);
        let max = self.pairs.iter().map(|p| p.0).max().unwrap_or(0);
        let span = max.abs_diff(min);
        if span <= 4 * self.pairs.len() as u64 + 4096 {
            // Dense: one counter per second between the extremes.
            let mut counts = vec![0u64; span as usize + 1];
            for (v, c) in &self.pairs {
                counts[v.abs_diff(min) as usize] += c;
            }
            for (offset, count) in counts.into_iter().enumerate() {
                if count > 0 {
                    visit(min.wrapping_add(offset as i64), count);
                }
            }
        } else {
            self.pairs.sort_unstable_by_key(|p| p.0);
            for (v, c) in self.pairs {
                visit(v, c);
            }
        }
        (n, found[0], found[1], Some(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's SQL rule on sorted samples: the sample at index
    /// round((n−1)·tenths/10), halves up.
    fn nearest_rank(sorted: &[i64], tenths: usize) -> i64 {
        sorted[((sorted.len() - 1) * tenths + 5) / 10]
    }

    #[test]
    fn packing_keeps_every_sample_and_merging_gives_the_sorted_samples_figures() {
        let mut step = 7u64;
        let mut all = Vec::new();
        let mut merged = Merged::default();
        for day in 0..9 {
            let samples: Vec<i64> = (0..(day * 37 % 50))
                .map(|_| {
                    step = step.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (step >> 40) as i64 % 2000 - if day == 3 { 5 } else { 0 }
                })
                .collect();
            let packed = pack(samples.clone());
            let mut back = Vec::new();
            unpack(&packed, |v, n| {
                back.extend(std::iter::repeat_n(v, n as usize));
            })
            .unwrap();
            let mut sorted = samples.clone();
            sorted.sort_unstable();
            assert_eq!(back, sorted);
            merged.add_packed(&packed).unwrap();
            all.extend(samples);
        }
        all.sort_unstable();
        let (n, p50, p90, max) = merged.stats();
        assert_eq!(n as usize, all.len());
        assert_eq!(p50, Some(nearest_rank(&all, 5)));
        assert_eq!(p90, Some(nearest_rank(&all, 9)));
        assert_eq!(max, all.last().copied());
    }

    #[test]
    fn ranks_round_halves_up_and_sparse_values_sort() {
        // n = 6: p90 index round(4.5) = 5, p50 index round(2.5) = 3.
        let mut m = Merged::default();
        m.add_packed(&pack(vec![10, 20, 30, 40, 50, 60])).unwrap();
        assert_eq!(m.stats(), (6, Some(40), Some(60), Some(60)));
        // Far apart values take the sorting path.
        let mut m = Merged::default();
        m.add_packed(&pack(vec![i64::MIN / 4, 0, 1 << 40])).unwrap();
        m.add_packed(&pack(vec![3])).unwrap();
        assert_eq!(m.stats(), (4, Some(3), Some(1 << 40), Some(1 << 40)));
        assert_eq!(Merged::default().stats(), (0, None, None, None));
        assert!(unpack(&[0x80], |_, _| {}).is_none(), "a cut varint");
    }
}
