//! `kiosk run --config FILE`: load, open, run until a signal.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use kiosk_config::CenterConfig;

use crate::buttons::DebounceSettings;
use crate::daemon::{api_state, open_app, Hardware};
use queue_store::clock::SystemClock;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Under systemd
/// (`JOURNAL_STREAM` set) lines carry no colours and no timestamps, since
/// journald adds its own.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!under_journald && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if under_journald {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Loads a center's config, printing every error the way `check-config` does.
pub fn load_config(path: &Path) -> anyhow::Result<CenterConfig> {
    match kiosk_config::load_center(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            Ok(loaded.value)
        }
        Err(errors) => anyhow::bail!(
            "{} is not a valid center configuration; fix these and start again (kiosk check-config {} shows the same):\n{errors}",
            path.display(),
            path.display()
        ),
    }
}

/// `kiosk run`: the ticket machine on real (or, without the `rpi` feature,
/// no) hardware.
pub async fn run(
    config_path: &Path,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let config = Arc::new(load_config(config_path)?);
    let transport = ticket_printer::open(&config.kiosk.printer).with_context(|| {
        format!(
            "opening the printer configured in {}",
            config_path.display()
        )
    })?;
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
    let listener = tokio::net::TcpListener::bind(config.kiosk.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {} (kiosk.listen); is another kiosk running?",
                config.kiosk.listen
            )
        })?;
    let api = api_state(&app, &config, Some(config_path))?;
    let public = match &config.kiosk.public {
        Some(site) => {
            let listener = tokio::net::TcpListener::bind(site.listen)
                .await
                .with_context(|| {
                    format!(
                        "listening on {} (kiosk.public.listen) for the phone pages; is the address on this machine and free?",
                        site.listen
                    )
                })?;
            Some(crate::daemon::PublicListener {
                listener,
                site: crate::api::citizen::CitizenSite::new(
                    app.clone(),
                    crate::api::citizen::CitizenOptions::default(),
                ),
            })
        }
        None => None,
    };
    let settings = DebounceSettings::with_press_interval(config.kiosk.press_interval);
    #[cfg(feature = "rpi")]
    let hardware = {
        let gpio = crate::rpi::Gpio::open().context("opening the Raspberry Pi GPIO")?;
        Hardware {
            buttons: gpio.button_panel(&config.departments, settings)?,
            lights: gpio.status_lights(&config.kiosk.leds)?,
        }
    };
    #[cfg(not(feature = "rpi"))]
    let hardware = {
        if !config.used_pins().is_empty() {
            tracing::warn!("this kiosk was built without the `rpi` feature: buttons and LEDs are not read; build with --features rpi on the Pi");
        }
        Hardware {
            buttons: crate::buttons::ButtonPanel::<NoPin>::new(Vec::new(), settings),
            lights: crate::leds::StatusLights::<NoPin>::new(None, None, None, None),
        }
    };
    crate::daemon::run_with_public(
        app,
        hardware,
        listener,
        public,
        api,
        axum::Router::new(),
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// A pin that does not exist (builds without GPIO support).
#[derive(Debug)]
pub struct NoPin;

impl ErrorType for NoPin {
    type Error = Infallible;
}

impl InputPin for NoPin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

impl OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
