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
    /// Dashboard accounts (the file named by `[http] accounts`).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an account; the password is read from standard input (one line).
    Add {
        /// Login name (a-z, 0-9, '.', '-', '_').
        name: String,
        /// admin (also sees each center's link details) or viewer.
        #[arg(long, default_value = "viewer")]
        role: city_hub::accounts::Role,
    },
    /// List the accounts.
    List,
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
        Command::User(command) => {
            let path = config.accounts.clone().with_context(|| {
                format!(
                    "{} has no [http] accounts = \"FILE\": name the dashboard's accounts file there first",
                    cli.config.display()
                )
            })?;
            let accounts = city_hub::accounts::Accounts::open(&path)?;
            match command {
                UserCommand::List => {
                    for (name, role) in accounts.list() {
                        println!("{name}\t{role:?}");
                    }
                }
                UserCommand::Add { name, role } => {
                    use std::io::{BufRead as _, IsTerminal as _, Write as _};
                    if std::io::stdin().is_terminal() {
                        eprint!(
                            "Password for {name} (shown as typed; at least {} characters): ",
                            city_hub::accounts::MIN_PASSWORD_CHARS
                        );
                        let _ = std::io::stderr().flush();
                    }
                    let mut password = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut password)
                        .context("cannot read the password from standard input")?;
                    let password = password.trim_end_matches(['\r', '\n']);
                    accounts.add(&name, role, password)?;
                    println!("added {name} ({role:?}) to {}", path.display());
                }
            }
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
                    let stopped = async move {
                        let _ = http_stopped.await;
                    };
                    match &config.accounts {
                        Some(path) => {
                            let accounts = city_hub::accounts::Accounts::open(path)?;
                            if accounts.list().is_empty() {
                                tracing::warn!("no dashboard account in {}: add one with `city-hub user add NAME --role admin`", path.display());
                            }
                            tracing::info!("city dashboard on http://{addr}/");
                            let (dashboard, refresher) = city_hub::dashboard::Dashboard::new(
                                hub.db.clone(),
                                config.centers.clone(),
                                hub.status.clone(),
                                accounts,
                            );
                            Some(tokio::spawn(city_hub::http::serve_city(
                                listener,
                                hub.status.clone(),
                                dashboard,
                                refresher,
                                stopped,
                            )))
                        }
                        None => Some(tokio::spawn(city_hub::http::serve(
                            listener,
                            hub.status.clone(),
                            stopped,
                        ))),
                    }
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
