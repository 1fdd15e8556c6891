//! Walks `tests/fixtures/valid` and `tests/fixtures/invalid`.
//!
//! Each invalid fixture states, in leading `# expect: …` comments, every
//! problem it must produce, as `LINE:COL: path: message` or `path: message`
//! (what follows `FILE:` in the output). The test fails on a missing
//! problem and on any problem not announced, so "every problem at once, and
//! nothing else" is checked. Valid fixtures state their warnings the same way
//! with `# warn: …`. Files whose name starts with `display` are display files.

use std::fs;
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// The `# tag: …` lines of the file's leading comment.
fn stated(text: &str, tag: &str) -> Vec<String> {
    let prefix = format!("# {tag}: ");
    text.lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// Whether a displayed problem (`FILE:L:C: path: message`) is the stated one.
fn matches(shown: &str, file: &str, stated: &str) -> bool {
    let Some(rest) = shown.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let rest = rest.trim_start();
    if rest == stated {
        return true;
    }
    // Without a stated place, compare what follows `LINE:COL: `.
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(c), Some(tail))
            if l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok() =>
        {
            tail.trim_start() == stated
        }
        _ => false,
    }
}

/// Every stated line matched by exactly one shown line, and nothing left over.
fn compare(path: &Path, file: &str, shown: &[String], stated: &[String]) -> Result<(), String> {
    let mut unmatched: Vec<&String> = shown.iter().collect();
    let mut missing = Vec::new();
    for s in stated {
        match unmatched.iter().position(|shown| matches(shown, file, s)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(s),
        }
    }
    if missing.is_empty() && unmatched.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}:\n  stated but not reported: {missing:#?}\n  reported but not stated: {unmatched:#?}",
        path.display()
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn is_display(path: &Path) -> bool {
    file_name(path).starts_with("display")
}

#[test]
fn invalid_fixtures_report_exactly_their_stated_problems() {
    let mut failures = Vec::new();
    for path in fixtures("invalid") {
        let text = fs::read_to_string(&path).unwrap();
        let file = file_name(&path);
        let expected = stated(&text, "expect");
        assert!(
            !expected.is_empty(),
            "{} states no `# expect:` line",
            path.display()
        );
        let result = if is_display(&path) {
            kiosk_config::parse_display(&text, &file).map(|_| ())
        } else {
            kiosk_config::parse_center(&text, &file).map(|_| ())
        };
        let errors = match result {
            Ok(()) => {
                failures.push(format!("{} was accepted", path.display()));
                continue;
            }
            Err(errors) => errors,
        };
        for e in &errors {
            assert!(!e.hint.is_empty(), "{}: no hint for `{e}`", path.display());
        }
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        if let Err(f) = compare(&path, &file, &shown, &expected) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_load_with_exactly_their_stated_warnings() {
    let mut failures = Vec::new();
    for path in fixtures("valid") {
        let text = fs::read_to_string(&path).unwrap();
        let file = file_name(&path);
        let warnings = if is_display(&path) {
            kiosk_config::parse_display(&text, &file).map(|l| l.warnings)
        } else {
            kiosk_config::parse_center(&text, &file).map(|l| l.warnings)
        };
        match warnings {
            Ok(warnings) => {
                let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
                if let Err(f) = compare(&path, &file, &shown, &stated(&text, "warn")) {
                    failures.push(f);
                }
            }
            Err(errors) => failures.push(format!("{} was rejected:\n{errors:#}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn load_reports_errors_under_the_path_given() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/duplicates.toml");
    let errors = kiosk_config::load_center(&path).unwrap_err();
    let shown = path.display().to_string();
    assert!(errors.iter().all(|e| e.file == shown));
    assert!(errors.to_string().starts_with(&format!("{shown}:")));
}
