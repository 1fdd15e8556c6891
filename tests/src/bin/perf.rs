//! The perf harness: `cargo run --release -p system-tests --bin perf -- SCENARIO`.
//!
//! Every scenario prints its figures as `name: value unit` lines, between
//! `load_average_start` and `load_average_end` (the 1, 5 and 15 minute load
//! averages of the machine), so a figure taken on a busy machine can be told
//! apart.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A child of the year's (or the maintenance soak's) compaction.
    queue_store::store::compact::serve_child_if_asked();
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let scenarios = system_tests::perf::SCENARIOS;
    match scenarios.iter().find(|(name, _)| *name == scenario) {
        Some((_, run)) => {
            system_tests::perf::print_load_average("start");
            let result = run();
            system_tests::perf::print_load_average("end");
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            let names: Vec<&str> = scenarios.iter().map(|(name, _)| *name).collect();
            eprintln!("usage: perf SCENARIO   (one of: {})", names.join(", "));
            ExitCode::from(2)
        }
    }
}
