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
    /// The city view with one command: a throw-away PostgreSQL cluster,
    /// three simulated centers with traffic (and one with a wrong token),
    /// the dashboard. Ctrl-C stops it and removes the cluster. Needs no
    /// config file.
    Demo {
        /// Where the dashboard listens.
        #[arg(long, default_value = "127.0.0.1:8092")]
        listen: std::net::SocketAddr,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 20)]
        speed: i64,
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
    if let Some(Command::Demo { listen, speed }) = cli.command {
        return demo(listen, speed).await;
    }
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
        Command::Demo { .. } => unreachable!("handled before the config is read"),
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

async fn demo(listen: std::net::SocketAddr, speed: i64) -> anyhow::Result<()> {
    use city_hub::config::{Center, HubConfig};
    use city_hub::demo::{traffic, SimCenter, TempCluster};
    use display_daemon::http::BaseUrl;
    use std::sync::Arc;

    let dashboard_listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}: is another program using it? (--listen ADDR)")
        })?;
    println!("Starting a throw-away PostgreSQL cluster…");
    let cluster = tokio::task::spawn_blocking(TempCluster::start)
        .await?
        .context("cannot start the demo's PostgreSQL")?;
    let token = "demo-reader-token";
    let start_ms = display_daemon::link::now_ms();
    let names = [
        ("phu-hoi", "Phường Phú Hội", token),
        ("vy-da", "Phường Vỹ Dạ", token),
        ("an-cuu", "Phường An Cựu", token),
        (
            "thuan-hoa",
            "Phường Thuận Hóa (sai mã truy cập)",
            "another-kiosks-token",
        ),
    ];
    let mut centers = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (id, name, accepts)) in names.iter().enumerate() {
        let sim = SimCenter::new(accepts);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = BaseUrl::parse(&format!("http://{}", listener.local_addr()?))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let router = sim.clone().router();
        tasks.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        if *accepts == token {
            tasks.spawn(traffic(sim, 7 + i as u64 * 1_000_003, speed, start_ms));
        }
        centers.push(Center {
            id: (*id).into(),
            name: (*name).into(),
            url,
            token: token.into(),
        });
    }
    let accounts_path = cluster.dir().with_extension("accounts.json");
    let accounts = city_hub::accounts::Accounts::open(&accounts_path)?;
    let password: String = {
        use rand::Rng as _;
        let mut rng = rand::rng();
        (0..14)
            .map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rng.random_range(0..32)]))
            .collect()
    };
    {
        let (accounts, password) = (accounts.clone(), password.clone());
        tokio::task::spawn_blocking(move || {
            accounts.add("demo", city_hub::accounts::Role::Admin, &password)
        })
        .await??;
    }
    let config = HubConfig {
        database: cluster.database(),
        batch_events: 500,
        linger: std::time::Duration::from_millis(50),
        centers: centers.clone(),
        listen: Some(listen),
        accounts: Some(accounts_path.clone()),
    };
    let hub = city_hub::start(&config)
        .await
        .context("cannot start the hub")?;
    let clock: city_hub::dashboard::Clock = Arc::new(move || {
        let real = display_daemon::link::now_ms();
        start_ms + (real - start_ms) * speed
    });
    let (dashboard, refresher) = city_hub::dashboard::Dashboard::with_clock(
        hub.db.clone(),
        centers,
        hub.status.clone(),
        accounts,
        clock,
    );
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(city_hub::http::serve_city(
        dashboard_listener,
        hub.status.clone(),
        dashboard,
        refresher,
        async move {
            let _ = http_stopped.await;
        },
    ));
    println!();
    println!("  City dashboard:  http://{listen}/");
    println!("  Log in as:       demo / {password}");
    println!("  Report:          http://{listen}/report");
    println!(
        "  PostgreSQL:      psql -h {} -U hub postgres",
        cluster.dir().display()
    );
    println!();
    println!("Three simulated centers make traffic ({speed}× real time); Phường Thuận Hóa refuses the hub's token.");
    println!("Ctrl-C stops the demo and removes the cluster.");
    shutdown_signal().await;
    println!("Stopping…");
    let _ = stop_http.send(());
    let _ = http.await;
    hub.stop().await;
    tasks.shutdown().await;
    let _ = std::fs::remove_file(&accounts_path);
    tokio::task::spawn_blocking(move || drop(cluster)).await?;
    println!("Removed the demo's PostgreSQL cluster.");
    Ok(())
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
