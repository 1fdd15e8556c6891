//! `kiosk check-config FILE`: the technician's check of a center file.
//!
//! Loads the file with `kiosk_config::load_center`. When it is valid, prints
//! the summary and any warnings to stdout and exits 0; otherwise prints every
//! problem to stderr as `FILE:LINE:COL: path: message` with its hint on the
//! next line, and exits 1. It only reads the file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

/// Loads and validates `file`; prints a summary (exit 0) or every error (exit 1).
pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    report(file, &mut stdout, &mut stderr).context("writing the report")
}

/// The command with its output streams injected, for tests.
pub fn report(
    file: &Path,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<ExitCode> {
    match kiosk_config::load_center(file) {
        Ok(loaded) => {
            write!(out, "{}", kiosk_config::summary(&loaded.value))?;
            if !loaded.warnings.is_empty() {
                writeln!(out)?;
                for warning in &loaded.warnings {
                    writeln!(out, "warning: {warning:#}")?;
                }
            }
            writeln!(out)?;
            writeln!(
                out,
                "{}: configuration is valid ({} warning{})",
                file.display(),
                loaded.warnings.len(),
                if loaded.warnings.len() == 1 { "" } else { "s" }
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            writeln!(err, "{errors:#}")?;
            writeln!(
                err,
                "{}: {} problem{} found; the kiosk will not start with this file",
                file.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            )?;
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(text: &str) -> (ExitCode, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("center.toml");
        std::fs::write(&file, text).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = report(&file, &mut out, &mut err).unwrap();
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn valid_file_prints_summary_and_exits_zero() {
        let (code, out, err) = run_on(kiosk_config::examples::PHU_XUAN);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            out.contains("Trung tâm Hành chính công quận Phú Xuân"),
            "{out}"
        );
        assert!(out.contains("Departments (15)"), "{out}");
        assert!(out.contains("configuration is valid"), "{out}");
        assert!(err.is_empty());
    }

    #[test]
    fn invalid_file_prints_every_error_to_stderr_and_fails() {
        let text = kiosk_config::examples::MINIMAL
            .replace("pin = 17", "pin = 1")
            .replace("serves = [\"mot-cua\"]", "serves = [\"mot-cau\"]");
        let (code, out, err) = run_on(&text);
        assert_eq!(code, ExitCode::FAILURE);
        assert!(out.is_empty());
        let located: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("center.toml:") && !l.contains("problems found"))
            .collect();
        assert_eq!(located.len(), 2, "{err}");
        assert!(err.contains("2 problems found"), "{err}");
        assert!(
            located[0].contains(": departments[0].button.pin: pin 1 is reserved"),
            "{err}"
        );
        assert!(
            located[1].contains(": counters[0].serves[0]: unknown department `mot-cau`"),
            "{err}"
        );
        assert!(err.contains("hint: did you mean \"mot-cua\"?"), "{err}");
    }

    #[test]
    fn missing_file_is_reported_not_a_panic() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = report(Path::new("/nonexistent/center.toml"), &mut out, &mut err).unwrap();
        assert_eq!(code, ExitCode::FAILURE);
        assert!(String::from_utf8(err)
            .unwrap()
            .contains("cannot read the file"));
    }
}
