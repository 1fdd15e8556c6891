//! Perf scenarios, one module each. Each prints `name: value unit` lines.

pub mod call;
pub mod city;
pub mod display;
pub mod issue;
pub mod press;
pub mod public;
pub mod render;
pub mod year;

/// A scenario's entry point.
pub type Scenario = fn() -> anyhow::Result<()>;

/// Every scenario by the name given on the command line.
pub const SCENARIOS: &[(&str, Scenario)] = &[
    ("call", call::run),
    ("city", city::run),
    ("display", display::run),
    ("issue", issue::run),
    ("press", press::run),
    ("public", public::run),
    ("render", render::run),
    ("year", year::run),
];

/// The value at quantile `q` (0.0–1.0) of sorted samples.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// Print the machine's load averages (1, 5 and 15 minutes) as
/// `load_average_<when>`; "unknown" where `/proc/loadavg` cannot be read.
pub fn print_load_average(when: &str) {
    let loads = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("load_average_{when}: {loads}");
}
