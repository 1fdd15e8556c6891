//! Perf scenarios, one module each. Each prints `name: value unit` lines.

/// A scenario's entry point.
pub type Scenario = fn() -> anyhow::Result<()>;

/// Every scenario by the name given on the command line.
pub const SCENARIOS: &[(&str, Scenario)] = &[];

/// The value at quantile `q` (0.0–1.0) of sorted samples.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}
