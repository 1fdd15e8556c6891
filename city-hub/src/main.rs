//! `city-hub`: follows every center listed in its config and keeps their
//! events in PostgreSQL. `city-hub migrate` only applies the schema
//! migrations. See the crate docs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The city's view of every center's queue, in PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "city-hub", version)]
struct Cli {
    /// The hub's config file.
    #[arg(long, value_name = "FILE", default_value = "/etc/city-hub/hub.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Follow every center (the default).
    Run,
    /// Apply the schema migrations and exit.
    Migrate,
    /// Check the config file and exit.
    Check,
    /// Print a city report from PostgreSQL.
    Report {
        /// First service day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last service day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// center, department, officer, hour or day.
        #[arg(long, default_value = "center")]
        by: city_hub::report::GroupBy,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = city_hub::HubConfig::load(&cli.config)?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!(
                "{}: ok, {} centers",
                cli.config.display(),
                config.centers.len()
            );
            Ok(())
        }
        Command::Migrate => {
            let db = city_hub::Db::new(&config.database)?;
            let applied = db.migrate().await?;
            let all = db.applied_versions().await?;
            println!("applied now: {applied:?}; schema versions in the database: {all:?}");
            Ok(())
        }
        Command::Report {
            from,
            to,
            by,
            format,
        } => {
            for (name, day) in [("--from", &from), ("--to", &to)] {
                let valid = day.len() == 10
                    && day.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                anyhow::ensure!(valid, "{name} {day:?} is not a day: write it as YYYY-MM-DD");
            }
            let db = city_hub::Db::new(&config.database)?;
            db.migrate().await?;
            let report = city_hub::report::report(&db, &from, &to, by).await?;
            let text = match format {
                Format::Table => city_hub::report::to_table(&report),
                Format::Csv => city_hub::report::to_csv(&report),
                Format::Json => serde_json::to_string_pretty(&report)? + "\n",
            };
            print!("{text}");
            Ok(())
        }
        Command::Run => {
            let hub = city_hub::start(&config)
                .await
                .context("cannot start the hub")?;
            let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
            let http = match config.listen {
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr} ([http] listen): is another program using it?"))?;
                    tracing::info!(
                        "status and metrics on http://{addr}/api/v1/status and /metrics"
                    );
                    Some(tokio::spawn(city_hub::http::serve(
                        listener,
                        hub.status.clone(),
                        async move {
                            let _ = http_stopped.await;
                        },
                    )))
                }
                None => None,
            };
            shutdown_signal().await;
            tracing::info!("stopping");
            let _ = stop_http.send(());
            if let Some(http) = http {
                let _ = http.await;
            }
            hub.stop().await;
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
