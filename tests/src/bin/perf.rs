//! The perf harness: `cargo run --release -p system-tests --bin perf -- SCENARIO`.
//!
//! Every scenario prints its figures as `name: value unit` lines.

use std::process::ExitCode;

fn main() -> ExitCode {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let scenarios = system_tests::perf::SCENARIOS;
    match scenarios.iter().find(|(name, _)| *name == scenario) {
        Some((_, run)) => match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
        None => {
            let names: Vec<&str> = scenarios.iter().map(|(name, _)| *name).collect();
            eprintln!("usage: perf SCENARIO   (one of: {})", names.join(", "));
            ExitCode::from(2)
        }
    }
}
