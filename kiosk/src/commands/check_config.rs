//! `kiosk check-config FILE`.

use std::path::Path;
use std::process::ExitCode;

/// Loads and validates `file`; prints a summary (exit 0) or every error (exit 1).
pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("check-config is not implemented yet for {}", file.display())
}
