//! The monitoring files shipped in `deploy/monitoring/`: the Grafana
//! dashboard and the Prometheus alert rules name only metrics a real kiosk
//! exports (read from its `/metrics`), and `promtool` accepts the rules and
//! passes their unit tests (recorded series that must and must not fire).

mod api_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use api_support::{Setup, TestKiosk};

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/monitoring")
}

/// Every metric name the kiosk's `/metrics` declares (`# TYPE` lines), with
/// a histogram's `_bucket`, `_sum` and `_count` series.
async fn exported() -> BTreeSet<String> {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let reply = kiosk.call("GET", "/metrics", &[], None).await;
    assert_eq!(reply.status, 200);
    let mut names = BTreeSet::new();
    for line in reply.body.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            panic!("malformed TYPE line {line:?}");
        };
        names.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    assert!(names.len() > 10, "too few metrics: {names:?}");
    names
}

/// The `kiosk_…` identifiers in a PromQL (or YAML) text, outside double
/// quotes (label values, annotation texts).
fn kiosk_metrics(text: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let unquoted: String = text.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    let mut out = BTreeSet::new();
    let mut rest = unquoted.as_str();
    while let Some(at) = rest.find("kiosk_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        if !before.is_some_and(is_ident) {
            out.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    out
}

/// Every query of a dashboard: `expr` of each target and `query` of each
/// template variable, wherever they are nested.
fn queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query", serde_json::Value::String(q)) => out.push(q.clone()),
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn dashboard_and_alert_rules_name_only_exported_metrics() {
    let exported = exported().await;
    let dashboard_text = std::fs::read_to_string(monitoring_dir().join("grafana-dashboard.json"))
        .expect("grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&dashboard_text).expect("the dashboard is JSON");
    let mut found = Vec::new();
    queries(&dashboard, &mut found);
    assert!(found.len() >= 10, "too few queries: {found:?}");
    let used: BTreeSet<String> = found.iter().flat_map(|q| kiosk_metrics(q)).collect();
    let unknown: Vec<&String> = used.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard names metrics the kiosk does not export: {unknown:?}"
    );
    for wanted in [
        "kiosk_oldest_waiting_seconds",
        "kiosk_over_target_tickets",
        "kiosk_printer_ready",
        "kiosk_display_stream_clients",
        "kiosk_counter_status",
    ] {
        assert!(
            used.contains(wanted),
            "the dashboard does not show {wanted}"
        );
    }
    let rules = std::fs::read_to_string(monitoring_dir().join("kiosk-alerts.yml"))
        .expect("kiosk-alerts.yml");
    let in_rules = kiosk_metrics(&rules);
    assert!(in_rules.contains("kiosk_printer_ready"), "{in_rules:?}");
    let unknown: Vec<&String> = in_rules.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "the alert rules name metrics the kiosk does not export: {unknown:?}"
    );
}

#[test]
fn the_metric_scanner_finds_names_and_skips_label_values() {
    let found = kiosk_metrics(
        r#"sum by (le) (rate(kiosk_issue_duration_seconds_bucket{job="queue-kiosk_x"}[5m])) / kiosk_a"#,
    );
    assert_eq!(
        found,
        BTreeSet::from([
            "kiosk_issue_duration_seconds_bucket".to_owned(),
            "kiosk_a".to_owned()
        ])
    );
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(monitoring_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install the Debian package `prometheus` (bash .ci/setup does)")
        });
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn promtool_checks_the_alert_rules_and_runs_their_tests() {
    promtool(&["check", "rules", "kiosk-alerts.yml"]);
    promtool(&["test", "rules", "kiosk-alerts.test.yml"]);
}
