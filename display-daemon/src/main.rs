//! `display-daemon`: command-line entry point.
//!
//! Parses arguments, sets up logging and signals, and hands over to the
//! library. `display-daemon --config FILE` (or `display-daemon run --config
//! FILE`) runs the daemon until SIGTERM or SIGINT; the other subcommands are
//! technician tools.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use display_daemon::cli::{Cli, Tool};
use display_daemon::voice;
use kiosk_config::{VoiceBackend, VoiceSettings};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Tool::Say {
            number,
            counter,
            wav,
        }) => say(cli.config.as_deref(), &number, counter, wav.as_deref()),
        Some(Tool::VoiceClips { missing }) => voice_clips(cli.config.as_deref(), missing),
        Some(Tool::Run) | None => run_daemon(cli.config.as_deref()),
    }
}

fn run_daemon(config: Option<&Path>) -> Result<()> {
    let Some(path) = config else {
        bail!("give the display's config file: display-daemon --config /etc/queue/display.toml");
    };
    let loaded = kiosk_config::load_display(path)
        .with_context(|| format!("invalid display config {}", path.display()))?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let config = loaded.value;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} for the local pages; is another display-daemon running, or change `listen`",
                    config.listen
                )
            })?;
        display_daemon::run(config, listener, shutdown_signal())
            .await
            .context("the display daemon cannot start")
    })
}

/// Resolves on SIGTERM (systemd) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Voice settings from the config file, or the defaults without one.
fn voice_settings(config: Option<&Path>) -> Result<VoiceSettings> {
    match config {
        None => Ok(voice::default_settings()),
        Some(path) => {
            let loaded = kiosk_config::load_display(path)
                .with_context(|| format!("invalid display config {}", path.display()))?;
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            Ok(loaded.value.voice)
        }
    }
}

fn say(config: Option<&Path>, number: &str, counter: u16, wav: Option<&Path>) -> Result<()> {
    let settings = voice_settings(config)?;
    if voice::read_label(number, false).is_empty() {
        bail!("ticket number {number:?} has no digits or letters to read; give e.g. 1005 or A005");
    }
    let text = voice::phrase(&settings, number, counter);
    println!("{text}");
    if let Some(path) = wav {
        let audio = voice::render(&settings, &text).context("cannot produce the announcement")?;
        let bytes = audio
            .to_bytes()
            .context("cannot encode the announcement as WAV")?;
        std::fs::write(path, bytes)
            .with_context(|| format!("cannot write the announcement to {}", path.display()))?;
        eprintln!(
            "wrote {} ({:.1} s, {})",
            path.display(),
            audio.duration_secs(),
            audio.format
        );
    }
    Ok(())
}

fn voice_clips(config: Option<&Path>, missing: bool) -> Result<()> {
    let settings = voice_settings(config)?;
    let words = voice::clip_words(&settings.phrase);
    let words = if missing {
        let VoiceBackend::Clips(dir) = &settings.backend else {
            bail!("--missing needs a config whose voice uses a clip folder; this one uses a text-to-speech command");
        };
        let index = voice::audio::clip_index(dir)?;
        words
            .into_iter()
            .filter(|w| !index.contains_key(w))
            .collect()
    } else {
        words
    };
    for word in words {
        println!("{word}");
    }
    Ok(())
}
