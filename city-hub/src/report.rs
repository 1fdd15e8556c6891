//! City reports from SQL: issued, served, no-show, waiting and service
//! time by center, department, officer or service day, over a range of
//! service days, as an aligned table, CSV or JSON.
//!
//! The figures follow the kiosk's own report (`queue_store::report` in
//! the kiosk's workspace) so a center reads the same in both: tickets count
//! in their issuing department and service day; `waiting` is issue → first
//! call (a recall is not a call), attributed to the officer of that first
//! call; `service` is start of service (or the call, when "start" was never
//! pressed) → finish, for each stay at a counter that ended served,
//! attributed to the officer who called it; whole seconds, truncated;
//! percentiles are nearest-rank, the sample at index round((n−1)·q).
//!
//! What is not here yet: days known only from a kiosk's day export
//! (backfill), ratings, the hour grouping, and the denormalised tables a
//! city-month report over 40 centers will need to stay under a second.

use serde::Serialize;

use crate::db::{Db, DbError};

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
    /// One row per center and service day.
    Day,
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "center" => Ok(GroupBy::Center),
            "department" => Ok(GroupBy::Department),
            "officer" => Ok(GroupBy::Officer),
            "day" => Ok(GroupBy::Day),
            other => Err(format!(
                "unknown grouping {other:?}: use center, department, officer or day"
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
}

/// The per-ticket and per-stay facts the groupings aggregate: one row per
/// issued ticket (issued, waiting, first caller) and one per closed stay
/// (served or no-show, service time, its caller).
const FACTS: &str = "
WITH issued AS (
    SELECT center, body -> 'ticket' AS ticket, body ->> 'service_day' AS day,
           body ->> 'department' AS department, at_ms AS issued_at
      FROM events
     WHERE kind = 'ticket_issued' AND body ->> 'service_day' BETWEEN $1 AND $2
), calls AS (
    SELECT e.center, e.body -> 'ticket' AS ticket, e.seq, e.at_ms,
           CASE e.body -> 'actor' ->> 'type'
                WHEN 'staff' THEN e.body -> 'actor' ->> 'name'
                WHEN 'keypad' THEN 'keypad-' || (e.body -> 'actor' ->> 'counter')
                ELSE e.body -> 'actor' ->> 'type' END AS officer
      FROM events e
     WHERE e.kind = 'called' AND NOT (e.body ->> 'recall')::boolean
), firsts AS (
    SELECT DISTINCT ON (center, ticket) center, ticket, at_ms AS first_call, officer
      FROM calls ORDER BY center, ticket, seq
), ends AS (
    SELECT f.center, f.body -> 'ticket' AS ticket, f.kind, f.seq, f.at_ms,
           c.seq AS call_seq, c.at_ms AS call_at, c.officer
      FROM events f
      LEFT JOIN LATERAL (
            SELECT seq, at_ms, officer FROM calls c
             WHERE c.center = f.center AND c.ticket = f.body -> 'ticket' AND c.seq < f.seq
             ORDER BY c.seq DESC LIMIT 1) c ON true
     WHERE f.kind IN ('finished', 'no_show')
), facts AS (
    SELECT i.center, i.day, i.department, fc.officer,
           1 AS issued, 0 AS served, 0 AS no_show,
           (fc.first_call - i.issued_at) / 1000 AS waiting, NULL::bigint AS service
      FROM issued i LEFT JOIN firsts fc ON fc.center = i.center AND fc.ticket = i.ticket
    UNION ALL
    SELECT i.center, i.day, i.department, e.officer,
           0, (e.kind = 'finished')::int, (e.kind = 'no_show')::int, NULL,
           CASE WHEN e.kind = 'finished' THEN
                (e.at_ms - coalesce(
                    (SELECT min(s.at_ms) FROM events s
                      WHERE s.center = e.center AND s.body -> 'ticket' = e.ticket
                        AND s.kind = 'serving_started' AND s.seq > e.call_seq AND s.seq < e.seq),
                    e.call_at)) / 1000 END
      FROM ends e JOIN issued i ON i.center = e.center AND i.ticket = e.ticket
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

/// Builds the report over service days `from..=to` (`YYYY-MM-DD`).
pub async fn report(db: &Db, from: &str, to: &str, by: GroupBy) -> Result<CityReport, DbError> {
    let key = match by {
        GroupBy::Center => "''",
        GroupBy::Department => "department",
        GroupBy::Officer => "officer",
        GroupBy::Day => "day",
    };
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
    let client = db.pool().get().await?;
    let rows = client.query(&sql, &[&from, &to]).await?;
    let secs = |v: Option<i64>| v.map(|s| s.max(0) as u64);
    let rows = rows
        .iter()
        .map(|r| {
            let stats = |at: usize| Stats {
                count: r.get::<_, i64>(at).max(0) as u64,
                p50_secs: secs(r.get(at + 1)),
                p90_secs: secs(r.get(at + 2)),
                max_secs: secs(r.get(at + 3)),
            };
            Row {
                center: r.get(0),
                key: r.get(1),
                issued: (by != GroupBy::Officer).then(|| r.get::<_, i64>(2).max(0) as u64),
                served: r.get::<_, i64>(3).max(0) as u64,
                no_show: r.get::<_, i64>(4).max(0) as u64,
                waiting: stats(5),
                service: stats(9),
            }
        })
        .collect();
    Ok(CityReport {
        from: from.to_owned(),
        to: to.to_owned(),
        by,
        rows,
    })
}

const HEADERS: [&str; 11] = [
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
];

fn cells(row: &Row) -> [String; 11] {
    let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    [
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
    ]
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
    let mut out = HEADERS.join(",") + "\n";
    for row in &report.rows {
        let line: Vec<String> = cells(row).iter().map(|c| quote(c)).collect();
        out += &line.join(",");
        out.push('\n');
    }
    out
}

/// An aligned text table.
pub fn to_table(report: &CityReport) -> String {
    let rows: Vec<[String; 11]> = report.rows.iter().map(cells).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = format!(
        "City report {} – {}, by {:?}\n",
        report.from, report.to, report.by
    );
    out += &line(HEADERS.to_vec());
    for row in &rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}
