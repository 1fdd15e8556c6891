//! A [`Report`] written out: an aligned table for a terminal, CSV for a
//! spreadsheet, JSON for programs. Writers are generic over `io::Write` and
//! tested against bytes; none of them decides a figure.
//!
//! CSV follows RFC 4180: a header row, comma separated, CRLF line ends,
//! fields quoted when they hold a comma, a quote or a line break (quotes
//! doubled). Numbers are plain (seconds as integers, percentages with a
//! dot); an unknown figure is an empty field. With `bom`, the file starts
//! with a UTF-8 byte order mark: Excel needs it to read Vietnamese names as
//! UTF-8 rather than the Windows code page (LibreOffice and scripts do not
//! mind it, though `csv` readers that do not strip it see it in the first
//! header name).

use std::io::{self, Write};

use super::{Durations, GroupBy, Report, Row};

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// RFC 4180 CSV for spreadsheets.
    Csv,
    /// The [`Report`] as JSON.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?}; use table, csv or json")),
        }
    }
}

/// Writes `report` in `format` (CSV with a byte order mark when `bom`).
pub fn write(report: &Report, format: Format, bom: bool, out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Table => write_table(report, out),
        Format::Csv => write_csv(report, bom, out),
        Format::Json => write_json(report, out),
    }
}

/// Pretty JSON and a final newline.
pub fn write_json(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

fn group_title(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Department => "department",
        GroupBy::Counter => "counter",
        GroupBy::Staff => "staff",
        GroupBy::Hour => "hour",
        GroupBy::Service => "service",
    }
}

/// The CSV columns before the rating columns (see [`csv_header`]).
pub const CSV_HEADER: [&str; 22] = [
    "service_day",
    "group",
    "key",
    "name",
    "issued",
    "called",
    "served",
    "no_show",
    "transferred",
    "cancelled",
    "priority",
    "priority_share_pct",
    "waiting_count",
    "waiting_p50_secs",
    "waiting_p90_secs",
    "waiting_max_secs",
    "waiting_mean_secs",
    "service_count",
    "service_mean_secs",
    "service_p90_secs",
    "busiest_hour",
    "busiest_hour_tickets",
];

/// Every CSV column of `report`: [`CSV_HEADER`], then `rated`, one
/// `rated_<level>` per rating level of the report, `satisfied_share_pct`
/// and `ratings_per_served`.
pub fn csv_header(report: &Report) -> Vec<String> {
    let mut header: Vec<String> = CSV_HEADER.iter().map(|h| (*h).to_owned()).collect();
    header.push("rated".into());
    header.extend(report.levels.iter().map(|l| format!("rated_{}", l.id)));
    header.push("satisfied_share_pct".into());
    header.push("ratings_per_served".into());
    header
}

/// The count of `level` in `row` (0 when absent).
fn level_count(row: &Row, level: &str) -> u32 {
    row.ratings
        .levels
        .iter()
        .find(|l| l.level == level)
        .map_or(0, |l| l.count)
}

/// Whether any row of `report` has a share within target: only then do
/// the table and the CSV get that column (a center without targets keeps
/// the columns it always had).
fn has_targets(report: &Report) -> bool {
    report
        .rows
        .iter()
        .chain(&report.daily)
        .chain(std::iter::once(&report.total))
        .any(|r| r.within_target_pct.is_some())
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The CSV: with `--daily` one line per service day and group, otherwise
/// one per group over the whole range (`service_day` is then `FROM..TO`).
/// No total line, so that a spreadsheet's SUM gives the total.
pub fn write_csv(report: &Report, bom: bool, out: &mut impl Write) -> io::Result<()> {
    if bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let targets = has_targets(report);
    out.write_all(csv_header(report).join(",").as_bytes())?;
    if targets {
        out.write_all(b",within_target_pct")?;
    }
    out.write_all(b"\r\n")?;
    let range = format!("{}..{}", report.from, report.to);
    let rows = if report.daily.is_empty() {
        &report.rows
    } else {
        &report.daily
    };
    for row in rows {
        let fields = [
            row.service_day.clone().unwrap_or_else(|| range.clone()),
            group_title(report.by).to_owned(),
            row.key.clone(),
            row.name.clone(),
            opt(row.issued),
            row.called.to_string(),
            row.served.to_string(),
            row.no_show.to_string(),
            row.transferred.to_string(),
            row.cancelled.to_string(),
            opt(row.priority),
            opt(row.priority_share_pct),
            row.waiting.count.to_string(),
            opt(row.waiting.p50_secs),
            opt(row.waiting.p90_secs),
            opt(row.waiting.max_secs),
            opt(row.waiting.mean_secs),
            row.service.count.to_string(),
            opt(row.service.mean_secs),
            opt(row.service.p90_secs),
            opt(row.busiest_hour.as_ref().map(|b| b.hour)),
            opt(row.busiest_hour.as_ref().map(|b| b.tickets)),
        ];
        let mut fields = fields.to_vec();
        fields.push(row.ratings.total.to_string());
        fields.extend(
            report
                .levels
                .iter()
                .map(|l| level_count(row, &l.id).to_string()),
        );
        fields.push(opt(row.ratings.satisfied_share_pct));
        fields.push(opt(row.ratings.per_served));
        let mut line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        if targets {
            line.push(opt(row.within_target_pct));
        }
        out.write_all(line.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

/// A duration for people: `45s`, `12m05s`, `1h02m`; `-` when unknown.
pub fn human_secs(secs: Option<u64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        Some(s) => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn table_cells(report: &Report, row: &Row, daily: bool, targets: bool) -> Vec<String> {
    let Durations {
        p50_secs,
        p90_secs,
        max_secs,
        ..
    } = row.waiting;
    let mut cells = Vec::new();
    if daily {
        cells.push(row.service_day.clone().unwrap_or_default());
    }
    cells.extend([
        row.name.clone(),
        row.issued.map_or_else(|| "-".into(), |n| n.to_string()),
        row.called.to_string(),
        row.served.to_string(),
        row.no_show.to_string(),
        row.transferred.to_string(),
        row.cancelled.to_string(),
        row.priority_share_pct
            .map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
        human_secs(p50_secs),
        human_secs(p90_secs),
        human_secs(max_secs),
        human_secs(row.service.mean_secs),
        human_secs(row.service.p90_secs),
        row.busiest_hour
            .as_ref()
            .map_or_else(|| "-".into(), |b| format!("{:02}h ({})", b.hour, b.tickets)),
        row.ratings.total.to_string(),
    ]);
    cells.extend(
        report
            .levels
            .iter()
            .map(|l| level_count(row, &l.id).to_string()),
    );
    cells.push(
        row.ratings
            .satisfied_share_pct
            .map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
    );
    cells.push(
        row.ratings
            .per_served
            .map_or_else(|| "-".into(), |p| format!("{p:.2}")),
    );
    if targets {
        cells.push(
            row.within_target_pct
                .map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
        );
    }
    cells
}

/// The aligned table: a title, one line per group, a total line, and with
/// `--daily` one more table per service day; notes at the end.
pub fn write_table(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{} — {} .. {} (by {}, hours in {})",
        report.center,
        report.from,
        report.to,
        group_title(report.by),
        report.timezone
    )?;
    writeln!(out)?;
    let targets = has_targets(report);
    let header = vec![
        group_title(report.by),
        "issued",
        "called",
        "served",
        "no-show",
        "transf.",
        "cancel.",
        "priority",
        "wait p50",
        "wait p90",
        "wait max",
        "serv. mean",
        "serv. p90",
        "busiest hour",
        "rated",
    ];
    let mut header: Vec<String> = header
        .iter()
        .map(|h| (*h).to_owned())
        .chain(report.levels.iter().map(|l| l.label.clone()))
        .chain(["satisfied".to_owned(), "rated/served".to_owned()])
        .collect();
    if targets {
        header.push("in target".to_owned());
    }
    let mut lines: Vec<Vec<String>> = vec![header.clone()];
    lines.extend(
        report
            .rows
            .iter()
            .map(|r| table_cells(report, r, false, targets)),
    );
    let total_at = lines.len();
    lines.push(table_cells(report, &report.total, false, targets));
    write_aligned(&lines, &[1, total_at], out)?;
    if !report.daily.is_empty() {
        writeln!(out)?;
        let mut daily: Vec<Vec<String>> = vec![std::iter::once("day".to_owned())
            .chain(header.iter().cloned())
            .collect()];
        daily.extend(
            report
                .daily
                .iter()
                .map(|r| table_cells(report, r, true, targets)),
        );
        write_aligned(&daily, &[1], out)?;
    }
    if !report.status_time.is_empty() {
        writeln!(out)?;
        let mut status: Vec<Vec<String>> = vec![["time in status", "open", "paused", "closed"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect()];
        status.extend(report.status_time.iter().map(|t| {
            vec![
                t.name.clone(),
                human_secs(Some(t.open_secs)),
                human_secs(Some(t.paused_secs)),
                human_secs(Some(t.closed_secs)),
            ]
        }));
        write_aligned(&status, &[1], out)?;
    }
    if !report.summary_days.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "days known from summaries only: {}",
            report.summary_days.join(", ")
        )?;
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// The per-officer ratings table of a report grouped by staff (`kiosk
/// report --ratings`): officer, ratings, each level's count, share
/// satisfied; a total line; the levels counted as satisfied under it.
pub fn write_ratings_table(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{} — ratings {} .. {} (by {})",
        report.center,
        report.from,
        report.to,
        group_title(report.by)
    )?;
    writeln!(out)?;
    let mut header = vec![
        ratings_group_title(report.by).to_owned(),
        "ratings".to_owned(),
    ];
    header.extend(report.levels.iter().map(|l| l.label.clone()));
    header.push("satisfied".into());
    let cells = |row: &Row| {
        let mut cells = vec![row.name.clone(), row.ratings.total.to_string()];
        cells.extend(
            report
                .levels
                .iter()
                .map(|l| level_count(row, &l.id).to_string()),
        );
        cells.push(
            row.ratings
                .satisfied_share_pct
                .map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
        );
        cells
    };
    let mut lines = vec![header];
    lines.extend(report.rows.iter().map(cells));
    let total_at = lines.len();
    lines.push(cells(&report.total));
    write_aligned(&lines, &[1, total_at], out)?;
    let satisfied: Vec<&str> = report
        .levels
        .iter()
        .filter(|l| l.satisfied)
        .map(|l| l.label.as_str())
        .collect();
    writeln!(out)?;
    writeln!(out, "satisfied = {}", satisfied.join(" + "))?;
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

fn ratings_group_title(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Staff => "officer",
        other => group_title(other),
    }
}

/// The per-officer ratings table as CSV (RFC 4180, a BOM when `bom`):
/// `officer,ratings,<level id>…,satisfied_share_pct`, one line per row, no
/// total line.
pub fn write_ratings_csv(report: &Report, bom: bool, out: &mut impl Write) -> io::Result<()> {
    if bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut header = vec![
        ratings_group_title(report.by).to_owned(),
        "ratings".to_owned(),
    ];
    header.extend(report.levels.iter().map(|l| l.id.clone()));
    header.push("satisfied_share_pct".into());
    out.write_all(header.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    for row in &report.rows {
        let mut fields = vec![row.key.clone(), row.ratings.total.to_string()];
        fields.extend(
            report
                .levels
                .iter()
                .map(|l| level_count(row, &l.id).to_string()),
        );
        fields.push(opt(row.ratings.satisfied_share_pct));
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.write_all(line.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

/// Columns padded to their widest cell (counted in characters, so that
/// Vietnamese names in NFC line up); text left, numbers right; a rule line
/// before each index in `rules`.
fn write_aligned(lines: &[Vec<String>], rules: &[usize], out: &mut impl Write) -> io::Result<()> {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .filter_map(|l| l.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let text_columns = if lines
        .first()
        .and_then(|l| l.first())
        .is_some_and(|h| h == "day")
    {
        2
    } else {
        1
    };
    for (index, line) in lines.iter().enumerate() {
        if rules.contains(&index) {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            writeln!(out, "{}", rule.join("  "))?;
        }
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c].saturating_sub(cell.chars().count());
                if c < text_columns {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
