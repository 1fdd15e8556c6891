//! City reports from SQL: issued, served, no-show, waiting and service
//! time, ratings, by center, department, officer, hour of issue or service
//! day, over a range of service days, as an aligned table, CSV or JSON.
//!
//! The figures follow the kiosk's own report (`queue_store::report` in
//! the kiosk's workspace) so a center reads the same in both: tickets count
//! in their issuing department and service day; `waiting` is issue → first
//! call (a recall is not a call), attributed to the officer of that first
//! call; `service` is start of service (or the call, when "start" was never
//! pressed) → finish, for each stay at a counter that ended served,
//! attributed to the officer who called it; whole seconds, truncated;
//! percentiles are nearest-rank, the sample at index round((n−1)·q). The
//! hour is the local hour of issue in [`TIME_ZONE`].
//!
//! # Where a day's figures come from
//!
//! Like the kiosk's report, each (center, day) is read from the richest
//! tier the hub has (see [`backfill`](crate::backfill)):
//!
//! 1. **events** (streamed): everything, ratings included;
//! 2. **exported tickets** (`backfilled_days.source = 'tickets'`): every
//!    figure except ratings; each ticket carries only its last stay, so a
//!    transferred ticket counts at its last officer, as in the kiosk;
//! 3. **exported summaries** (`'summaries'`, *summary-only* days): counts
//!    per department and the day's waiting/service p90 and max. Center, day
//!    and department rows include them (their `summary_days` says how many)
//!    with no p50, and no p90 where they mix with other days; officer and
//!    hour rows cannot, and the report's `summary_only` lists them.
//!
//! Ratings are the `rated` events (`level` per ticket), counted in the
//! ticket's issuing department, day and hour, and at the officer who served
//! it (`staff`).
//!
//! # How
//!
//! [`report`] merges the day rollups of the range ([`rollup`]: per
//! center-day and grouping key, the sums and the exact distribution of
//! waiting and service seconds), rebuilding first those whose facts
//! changed, then adds the summary-only days. [`report_from_facts`] computes
//! the same report with one GROUP BY over the per-ticket facts (sorting
//! every group's samples); it is the reference the rollups are tested
//! against, and seconds slower on a city month.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use queue_protocol::{DaySummary, DurationStats};

use crate::db::{Db, DbError};
use crate::rollup::{self, Dimension, Merged};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per center.
    Center,
    /// One row per center and department.
    Department,
    /// One row per center and officer (who called the ticket).
    Officer,
    /// One row per center and local hour of issue (`08`).
    Hour,
    /// One row per center and service day.
    Day,
}

/// The time zone of hours in reports (every center of the city is in it).
pub const TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

/// Rating levels in the order they are shown; others follow by name.
pub const RATING_LEVELS: [&str; 4] = ["very_satisfied", "satisfied", "neutral", "unsatisfied"];

impl GroupBy {
    /// Every grouping.
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Center,
        GroupBy::Department,
        GroupBy::Officer,
        GroupBy::Hour,
        GroupBy::Day,
    ];
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "center" => Ok(GroupBy::Center),
            "department" => Ok(GroupBy::Department),
            "officer" => Ok(GroupBy::Officer),
            "hour" => Ok(GroupBy::Hour),
            "day" => Ok(GroupBy::Day),
            other => Err(format!(
                "unknown grouping {other:?}: use center, department, officer, hour or day"
            )),
        }
    }
}

/// Statistics of durations, seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Samples.
    pub count: u64,
    /// Median (nearest rank).
    pub p50_secs: Option<u64>,
    /// 90th percentile (nearest rank).
    pub p90_secs: Option<u64>,
    /// Longest.
    pub max_secs: Option<u64>,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The center's id.
    pub center: String,
    /// Department id, officer name or `YYYY-MM-DD`; empty for `center`.
    pub key: String,
    /// Tickets issued (`None` for officers: they do not issue tickets).
    pub issued: Option<u64>,
    /// Served to the end.
    pub served: u64,
    /// Called but never came.
    pub no_show: u64,
    /// Issue → first call.
    pub waiting: Stats,
    /// Start of service → finish.
    pub service: Stats,
    /// Ratings by level id (`very_satisfied`, …).
    pub ratings: BTreeMap<String, u64>,
    /// Ratings, every level.
    pub ratings_total: u64,
    /// Days counted from kept summaries only (no p50 for them).
    pub summary_days: u64,
}

impl Row {
    /// A row with nothing counted yet (officers issue nothing: `issued` is
    /// `None` for them).
    fn empty(center: &str, key: &str, by: GroupBy) -> Row {
        Row {
            center: center.to_owned(),
            key: key.to_owned(),
            issued: (by != GroupBy::Officer).then_some(0),
            served: 0,
            no_show: 0,
            waiting: Stats::default(),
            service: Stats::default(),
            ratings: BTreeMap::new(),
            ratings_total: 0,
            summary_days: 0,
        }
    }
}

/// A report.
#[derive(Debug, Clone, Serialize)]
pub struct CityReport {
    /// First service day, included.
    pub from: String,
    /// Last service day, included.
    pub to: String,
    /// Grouping.
    pub by: GroupBy,
    /// Rows, by center then key.
    pub rows: Vec<Row>,
    /// Summary-only days of the range, `(center, day)`.
    pub summary_only: Vec<(String, String)>,
    /// What the reader should know (English).
    pub notes: Vec<String>,
}

/// The per-ticket and per-stay facts the groupings aggregate, read from the
/// fact tables kept at ingest ([`db`](crate::db#ticket-facts)): one row per
/// issued ticket (issued, waiting, first caller; for exported tickets also
/// their outcome and service) and one per closed stay (served or no-show,
/// service time, its caller). Events of a backfilled day are not used.
const FACTS: &str = "
WITH facts AS (
    SELECT center, day, department, officer, hour,
           1 AS issued, served, no_show, (first_call - issued_at) / 1000 AS waiting, service
      FROM ticket_facts t
     WHERE day BETWEEN $1 AND $2
       AND (source = 'tickets' OR NOT EXISTS (
            SELECT 1 FROM backfilled_days b WHERE b.center = t.center AND b.day = t.day))
    UNION ALL
    SELECT center, day, department, officer, hour, 0, served, no_show, NULL, service
      FROM stay_facts s
     WHERE day BETWEEN $1 AND $2
       AND NOT EXISTS (
            SELECT 1 FROM backfilled_days b WHERE b.center = s.center AND b.day = s.day)
), rated AS (
    SELECT center, day, department, officer, hour, level
      FROM rating_facts r
     WHERE day BETWEEN $1 AND $2
       AND NOT EXISTS (
            SELECT 1 FROM backfilled_days b WHERE b.center = r.center AND b.day = r.day)
)
";

fn stats_sql(column: &str) -> String {
    format!(
        "count({column}),
         (array_agg({column} ORDER BY {column}) FILTER (WHERE {column} IS NOT NULL))
            [round((count({column}) - 1) * 0.5)::int + 1],
         (array_agg({column} ORDER BY {column}) FILTER (WHERE {column} IS NOT NULL))
            [round((count({column}) - 1) * 0.9)::int + 1],
         max({column})"
    )
}

fn key_sql(by: GroupBy) -> String {
    match by {
        GroupBy::Center => "''".into(),
        GroupBy::Department => "department".into(),
        GroupBy::Officer => "officer".into(),
        GroupBy::Hour => "hour".into(),
        GroupBy::Day => "day".into(),
    }
}

/// The exported summaries of the summary-only days of `$1..=$2`.
const SUMMARIES: &str = "SELECT s.center, s.day, s.body FROM day_summaries s
   JOIN backfilled_days b ON b.center = s.center AND b.day = s.day AND b.source = 'summaries'
  WHERE s.day BETWEEN $1 AND $2
  ORDER BY s.center, s.day, s.department";

/// Builds the report over service days `from..=to` (`YYYY-MM-DD`) from the
/// day rollups ([`rollup`]), first rebuilding those of the
/// range whose facts changed.
pub async fn report(db: &Db, from: &str, to: &str, by: GroupBy) -> Result<CityReport, DbError> {
    rollup::refresh(db, Some((from, to))).await?;
    let dimension = match by {
        GroupBy::Center | GroupBy::Day => Dimension::Day,
        GroupBy::Department => Dimension::Department,
        GroupBy::Officer => Dimension::Officer,
        GroupBy::Hour => Dimension::Hour,
    };
    let client = db.pool().get().await?;
    let dimension = dimension.as_str();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];
    let rollup_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&from, &to, &dimension];
    let (rows, summaries) = tokio::try_join!(
        client.query(
            "SELECT center, day, key, issued, served, no_show, waiting, service, ratings
               FROM day_rollups WHERE dimension = $3 AND day BETWEEN $1 AND $2",
            &rollup_params,
        ),
        client.query(SUMMARIES, &params),
    )?;
    /// A row while its days are merged.
    #[derive(Default)]
    struct Merging {
        issued: i64,
        served: i64,
        no_show: i64,
        waiting: Merged,
        service: Merged,
        ratings: BTreeMap<String, u64>,
    }
    let mut merging: BTreeMap<(String, String), Merging> = BTreeMap::new();
    for r in &rows {
        let (center, day): (String, String) = (r.get(0), r.get(1));
        let key = match by {
            GroupBy::Center => String::new(),
            GroupBy::Day => day.clone(),
            _ => r.get(2),
        };
        let unreadable = || DbError::Rollup {
            center: center.clone(),
            day: day.clone(),
        };
        let m = merging.entry((center.clone(), key)).or_default();
        m.issued += r.get::<_, i64>(3);
        m.served += r.get::<_, i64>(4);
        m.no_show += r.get::<_, i64>(5);
        m.waiting.add_packed(r.get(6)).ok_or_else(unreadable)?;
        m.service.add_packed(r.get(7)).ok_or_else(unreadable)?;
        let ratings: Value = r.get(8);
        for (level, n) in ratings.as_object().ok_or_else(unreadable)? {
            *m.ratings.entry(level.clone()).or_default() += n.as_u64().ok_or_else(unreadable)?;
        }
    }
    let count = |v: i64| v.max(0) as u64;
    let stats = |m: Merged| {
        let (count, p50, p90, max) = m.stats();
        let secs = |v: Option<i64>| v.map(|s| s.max(0) as u64);
        Stats {
            count,
            p50_secs: secs(p50),
            p90_secs: secs(p90),
            max_secs: secs(max),
        }
    };
    let by_key = merging
        .into_iter()
        .map(|((center, key), m)| {
            let row = Row {
                center: center.clone(),
                key: key.clone(),
                issued: (by != GroupBy::Officer).then(|| count(m.issued)),
                served: count(m.served),
                no_show: count(m.no_show),
                waiting: stats(m.waiting),
                service: stats(m.service),
                ratings_total: m.ratings.values().sum(),
                ratings: m.ratings,
                summary_days: 0,
            };
            ((center, key), row)
        })
        .collect();
    Ok(with_summaries(from, to, by, by_key, &summaries))
}

/// Builds the report over service days `from..=to` straight from the
/// per-ticket facts: the reference the rollups must equal (tests and
/// `perf -- city` compare the two), seconds slower on a city month.
pub async fn report_from_facts(
    db: &Db,
    from: &str,
    to: &str,
    by: GroupBy,
) -> Result<CityReport, DbError> {
    let key = key_sql(by);
    let filter = if by == GroupBy::Officer {
        "WHERE officer IS NOT NULL"
    } else {
        ""
    };
    let sql = format!(
        "{FACTS}
         SELECT center, {key} AS key, sum(issued)::bigint, sum(served)::bigint, sum(no_show)::bigint,
                {}, {}
           FROM facts {filter}
          GROUP BY 1, 2
          ORDER BY 1, 2",
        stats_sql("waiting"),
        stats_sql("service"),
    );
    let ratings_sql = format!(
        "{FACTS}
         SELECT center, {key} AS key, coalesce(level, 'unknown'), count(*)
           FROM rated {filter}
          GROUP BY 1, 2, 3"
    );
    let client = db.pool().get().await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];
    let (rows, ratings, summaries) = tokio::try_join!(
        client.query(&sql, &params),
        client.query(&ratings_sql, &params),
        client.query(SUMMARIES, &params),
    )?;
    let secs = |v: Option<i64>| v.map(|s| s.max(0) as u64);
    let mut by_key: BTreeMap<(String, String), Row> = BTreeMap::new();
    for r in &rows {
        let stats = |at: usize| Stats {
            count: r.get::<_, i64>(at).max(0) as u64,
            p50_secs: secs(r.get(at + 1)),
            p90_secs: secs(r.get(at + 2)),
            max_secs: secs(r.get(at + 3)),
        };
        let row = Row {
            center: r.get(0),
            key: r.get(1),
            issued: (by != GroupBy::Officer).then(|| r.get::<_, i64>(2).max(0) as u64),
            served: r.get::<_, i64>(3).max(0) as u64,
            no_show: r.get::<_, i64>(4).max(0) as u64,
            waiting: stats(5),
            service: stats(9),
            ratings: BTreeMap::new(),
            ratings_total: 0,
            summary_days: 0,
        };
        by_key.insert((row.center.clone(), row.key.clone()), row);
    }
    for r in &ratings {
        let (center, key, level): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let n = r.get::<_, i64>(3).max(0) as u64;
        let row = by_key
            .entry((center.clone(), key.clone()))
            .or_insert_with(|| Row::empty(&center, &key, by));
        *row.ratings.entry(level).or_default() += n;
        row.ratings_total += n;
    }
    Ok(with_summaries(from, to, by, by_key, &summaries))
}

/// Adds the summary-only days (`summaries`, rows of [`SUMMARIES`]) to the
/// rows of the other days, and says what the reader should know.
fn with_summaries(
    from: &str,
    to: &str,
    by: GroupBy,
    mut by_key: BTreeMap<(String, String), Row>,
    summaries: &[tokio_postgres::Row],
) -> CityReport {
    let mut summary_only = Vec::new();
    let mut kept: BTreeMap<(String, String), Vec<(String, DaySummary)>> = BTreeMap::new();
    for r in summaries {
        let (center, day): (String, String) = (r.get(0), r.get(1));
        if summary_only.last() != Some(&(center.clone(), day.clone())) {
            summary_only.push((center.clone(), day.clone()));
        }
        let Ok(summary) = serde_json::from_value::<DaySummary>(r.get(2)) else {
            continue;
        };
        let key = match by {
            GroupBy::Center => String::new(),
            GroupBy::Department => summary.department.clone(),
            GroupBy::Day => day.clone(),
            GroupBy::Officer | GroupBy::Hour => continue,
        };
        kept.entry((center, key)).or_default().push((day, summary));
    }
    for ((center, key), days) in kept {
        let row = by_key
            .entry((center.clone(), key.clone()))
            .or_insert_with(|| Row::empty(&center, &key, by));
        let mut distinct: Vec<&str> = days.iter().map(|(d, _)| d.as_str()).collect();
        distinct.dedup();
        row.summary_days += distinct.len() as u64;
        let summaries: Vec<&DaySummary> = days.iter().map(|(_, s)| s).collect();
        row.issued = row
            .issued
            .map(|n| n + summaries.iter().map(|s| u64::from(s.issued)).sum::<u64>());
        row.served += summaries.iter().map(|s| u64::from(s.served)).sum::<u64>();
        row.no_show += summaries.iter().map(|s| u64::from(s.no_show)).sum::<u64>();
        merge_summaries(&mut row.waiting, summaries.iter().map(|s| &s.waiting));
        merge_summaries(&mut row.service, summaries.iter().map(|s| &s.service));
    }
    let mut notes = Vec::new();
    if !summary_only.is_empty() {
        notes.push(match by {
            GroupBy::Officer | GroupBy::Hour => format!(
                "{} center-day(s) of this range are known only from the kiosks' kept summaries (their tickets were pruned before the hub fetched them) and are not in this report; use --by center, department or day for them",
                summary_only.len()
            ),
            _ => format!(
                "{} center-day(s) of this range are known only from the kiosks' kept summaries: no median for them, and no percentiles in rows that mix them with other days",
                summary_only.len()
            ),
        });
    }
    CityReport {
        from: from.to_owned(),
        to: to.to_owned(),
        by,
        rows: by_key.into_values().collect(),
        summary_only,
        notes,
    }
}

/// Adds per-day summary statistics to `stats` by the kiosk's rule: a
/// percentile survives only when one day's summary is all there is.
fn merge_summaries<'a>(stats: &mut Stats, days: impl Iterator<Item = &'a DurationStats>) {
    let kept: Vec<&DurationStats> = days.filter(|s| s.count > 0).collect();
    if kept.is_empty() {
        return;
    }
    let had_samples = stats.count > 0;
    stats.count += kept.iter().map(|s| u64::from(s.count)).sum::<u64>();
    stats.max_secs = kept.iter().map(|s| s.max_secs).chain(stats.max_secs).max();
    stats.p50_secs = None;
    stats.p90_secs = match (had_samples, kept.as_slice()) {
        (false, [one]) => Some(one.p90_secs),
        _ => None,
    };
}

/// The rating levels present in `report`, in [`RATING_LEVELS`] order.
fn levels(report: &CityReport) -> Vec<String> {
    let mut found: Vec<String> = report
        .rows
        .iter()
        .flat_map(|r| r.ratings.keys().cloned())
        .collect();
    found.sort_by_key(|l| {
        (
            RATING_LEVELS
                .iter()
                .position(|k| k == l)
                .unwrap_or(RATING_LEVELS.len()),
            l.clone(),
        )
    });
    found.dedup();
    found
}

const HEADERS: [&str; 13] = [
    "center",
    "key",
    "issued",
    "served",
    "no_show",
    "waiting_p50_s",
    "waiting_p90_s",
    "waiting_max_s",
    "service_p50_s",
    "service_p90_s",
    "service_max_s",
    "summary_days",
    "ratings",
];

/// The column names: the fixed ones, then one `rating_<level>` per level
/// present.
pub fn headers(report: &CityReport) -> Vec<String> {
    HEADERS
        .iter()
        .map(|h| (*h).to_owned())
        .chain(levels(report).into_iter().map(|l| format!("rating_{l}")))
        .collect()
}

/// One row's cells, in [`headers`] order.
pub fn cells(report: &CityReport, row: &Row) -> Vec<String> {
    let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    let mut out = vec![
        row.center.clone(),
        row.key.clone(),
        opt(row.issued),
        row.served.to_string(),
        row.no_show.to_string(),
        opt(row.waiting.p50_secs),
        opt(row.waiting.p90_secs),
        opt(row.waiting.max_secs),
        opt(row.service.p50_secs),
        opt(row.service.p90_secs),
        opt(row.service.max_secs),
        row.summary_days.to_string(),
        row.ratings_total.to_string(),
    ];
    for level in levels(report) {
        out.push(row.ratings.get(&level).copied().unwrap_or(0).to_string());
    }
    out
}

/// CSV with a header line; fields quoted when they need it.
pub fn to_csv(report: &CityReport) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = headers(report).join(",") + "\n";
    for row in &report.rows {
        let line: Vec<String> = cells(report, row).iter().map(|c| quote(c)).collect();
        out += &line.join(",");
        out.push('\n');
    }
    out
}

/// An aligned text table.
pub fn to_table(report: &CityReport) -> String {
    let headers = headers(report);
    let rows: Vec<Vec<String>> = report.rows.iter().map(|r| cells(report, r)).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = format!(
        "City report {} – {}, by {:?}\n",
        report.from, report.to, report.by
    );
    out += &line(headers.iter().map(String::as_str).collect());
    for row in &rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    for (center, day) in &report.summary_only {
        out += &format!("summary-only: {center} {day}\n");
    }
    for note in &report.notes {
        out += &format!("note: {note}\n");
    }
    out
}
