//! Scenario load (being written).
use super::{Mode, Row};
/// Runs the scenario.
pub fn run(_mode: Mode) -> anyhow::Result<Row> {
    anyhow::bail!("not written yet")
}
