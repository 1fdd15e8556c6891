//! `soak [--quick] [--only NAME,…]`: the reliability and security suite.
//!
//! Runs every scenario of [`system_tests::soak`] (power cuts, disk full,
//! printer faults, network faults, load, hostile input, ratings, kills in
//! the maintenance step), prints one table
//! (scenario, tries, what was checked, lost or wrong) and the figures, and
//! exits 1 when anything was lost or wrong. `--quick` takes a few minutes
//! (CI); without it each scenario runs several times longer.

use std::process::ExitCode;

use anyhow::Context;
use system_tests::soak::{maintenance, power, ratings, run_one, table, Mode, SCENARIOS};

fn main() -> anyhow::Result<ExitCode> {
    // A child of the year's (or the maintenance soak's) compaction.
    queue_store::store::compact::serve_child_if_asked();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(power::CHILD_FLAG) {
        let dir = args.get(1).context("--power-child DIR PORT")?;
        let port = args
            .get(2)
            .context("--power-child DIR PORT")?
            .parse()
            .context("PORT is a port number")?;
        power::child_main(dir.into(), port)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.first().map(String::as_str) == Some(maintenance::CHILD_FLAG) {
        let dir = args.get(1).context("--maintenance-child DIR PORT")?;
        let port = args
            .get(2)
            .context("--maintenance-child DIR PORT")?
            .parse()
            .context("PORT is a port number")?;
        maintenance::child_main(dir.into(), port)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.first().map(String::as_str) == Some(ratings::CHILD_FLAG) {
        let dir = args.get(1).context("--ratings-child DIR")?;
        ratings::child_main(dir.into())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut mode = Mode::Full;
    let mut only: Option<Vec<String>> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--only" => {
                let names = rest.next().context("--only takes NAME[,NAME…]")?;
                only = Some(names.split(',').map(str::to_string).collect());
            }
            "-h" | "--help" => {
                let names: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
                println!(
                    "usage: soak [--quick] [--only {}]\n\
                     Runs the reliability scenarios and prints the table; exits 1 if anything was lost or wrong.",
                    names.join(",")
                );
                return Ok(ExitCode::SUCCESS);
            }
            other => anyhow::bail!("unknown argument {other:?}; try --help"),
        }
    }
    if let Some(names) = &only {
        for name in names {
            anyhow::ensure!(
                SCENARIOS.iter().any(|(n, _)| n == name),
                "no scenario {name:?}; try --help"
            );
        }
    }
    // Scenario panics are caught and reported in the table; keep their
    // default message off the terminal only when they are expected.
    let rows: Vec<_> = SCENARIOS
        .iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name)))
        .map(|(name, scenario)| run_one(name, *scenario, mode))
        .collect();
    print!("{}", table(&rows));
    Ok(if rows.iter().any(|r| !r.wrong.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
