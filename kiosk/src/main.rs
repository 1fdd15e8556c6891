//! The `kiosk` binary: parses arguments, sets up logging and signals, and
//! hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use kiosk::cli::{Cli, Command};

fn main() -> ExitCode {
    // Before any thread exists: a kiosk runs for months (see the store's
    // `heap` module).
    queue_store::store::heap::tune();
    // A child of the maintenance step's compaction does only that.
    queue_store::store::compact::serve_child_if_asked();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => daemon_runtime()
            .and_then(|rt| rt.block_on(kiosk::commands::run::run(&config, shutdown_signal()))),
        Command::Demo { dir, listen } => daemon_runtime().and_then(|rt| {
            rt.block_on(kiosk::commands::demo::demo(dir, listen, shutdown_signal()))
        }),
        Command::CheckConfig { file } => kiosk::commands::check_config::run(&file),
        Command::User(command) => kiosk::commands::user::run(command),
        Command::Token(command) => kiosk::commands::token::run(command),
        Command::Report(args) => kiosk::commands::report::run(&args),
        Command::PrintTest {
            config,
            preview,
            output,
        } => kiosk::commands::print_test::run(&config, preview.as_deref(), output.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime of the daemon: two worker threads are plenty on a Pi.
fn daemon_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    kiosk::commands::run::init_logging();
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Completes on SIGTERM (systemd stopping the service) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the kiosk");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
