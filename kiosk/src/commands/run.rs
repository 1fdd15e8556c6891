//! `kiosk run --config FILE`: load, open, run until a signal.
//!
//! It also owns the process side of the daily fresh process (see
//! [`crate::daemon`]): when the daemon ends with [`Ended::Reexec`], the
//! listening socket loses its close-on-exec flag, its number and this PID go
//! in `KIOSK_LISTEN_FD` / `KIOSK_LISTEN_PID`, and the kiosk `execve`s
//! `/proc/self/exe` with the same arguments. The new image finds the socket
//! (only when `KIOSK_LISTEN_PID` is its own PID, so a child that inherited
//! the variables ignores them), marks it close-on-exec again and serves it
//! instead of binding. The re-execution goes through the maintenance image
//! first ([`Stage`], `KIOSK_MAINTENANCE` set: it packs and prunes the old
//! days and re-executes again into the service; see [`crate::daemon`]).
//! `SIGUSR2` asks for the same re-execution at any time
//! (`systemctl kill -s USR2 kiosk`). `/proc/self/exe` is the binary this
//! process runs, even after a package upgrade replaced the file: an upgrade
//! still needs `systemctl restart kiosk`. A second `SIGUSR2` during the window,
//! before the new process has installed its handler, ends the kiosk, as
//! its default action does (systemd then restarts it).

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use kiosk_config::CenterConfig;

use crate::buttons::DebounceSettings;
use crate::daemon::{api_state, open_app, run_until, Ended, Hardware, Reexec};
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
    if maintenance_stage() {
        // The maintenance image between two service days (see
        // `crate::daemon`): no buttons, no API; connections wait in the
        // socket's backlog.
        let listener = inherited_listener(config.kiosk.listen)
            .context("the maintenance image has no listening socket; systemd restarts the kiosk")?;
        crate::daemon::run_maintenance(
            &config,
            Arc::new(SystemClock),
            &queue_store::store::CompactPolicy::default(),
        )?;
        return Err(reexec_self(listener, Stage::Service));
    }
    let transport = ticket_printer::open(&config.kiosk.printer).with_context(|| {
        format!(
            "opening the printer configured in {}",
            config_path.display()
        )
    })?;
    let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
    let listener = match inherited_listener(config.kiosk.listen) {
        Some(listener) => listener,
        None => std::net::TcpListener::bind(config.kiosk.listen).with_context(|| {
            format!(
                "listening on {} (kiosk.listen); is another kiosk running?",
                config.kiosk.listen
            )
        })?,
    };
    listener
        .set_nonblocking(true)
        .context("setting up the listening socket")?;
    let listener =
        tokio::net::TcpListener::from_std(listener).context("setting up the listening socket")?;
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
    let reexec = Reexec {
        at_roll: config.kiosk.daily_reexec,
        requested: reexec_signal(),
    };
    let ended = run_until(
        app,
        hardware,
        listener,
        public,
        api,
        axum::Router::new(),
        shutdown,
        reexec,
    )
    .await?;
    match ended {
        Ended::Stopped => Ok(ExitCode::SUCCESS),
        Ended::Reexec(listener) => Err(reexec_self(listener, Stage::Maintenance)),
    }
}

/// Environment variable holding the inherited listening socket's number.
pub const LISTEN_FD: &str = "KIOSK_LISTEN_FD";
/// Environment variable holding the PID the socket is meant for.
pub const LISTEN_PID: &str = "KIOSK_LISTEN_PID";

/// Environment variable set for the maintenance image.
pub const MAINTENANCE: &str = "KIOSK_MAINTENANCE";

/// Which image [`reexec_self`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The maintenance image: opens the store, packs and prunes, schedules
    /// a compaction, closes it and re-executes into the service
    /// (`crate::daemon::run_maintenance`). Its memory ends with it.
    Maintenance,
    /// The service image: buttons, printer, API.
    Service,
}

/// Whether this image is the maintenance image ([`Stage::Maintenance`]).
pub fn maintenance_stage() -> bool {
    reexecuted() && std::env::var_os(MAINTENANCE).is_some()
}

/// Whether this image was started by [`reexec_self`] of this very process
/// (not by systemd, nor as a child that inherited the variables).
pub fn reexecuted() -> bool {
    std::env::var(LISTEN_PID)
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id())
}

/// Mark the listening socket the previous image handed over close-on-exec
/// before [`inherited_listener`] takes it, so that the child processes the
/// image starts first (the compaction's) do not hold it.
#[allow(unsafe_code)] // fcntl, with its SAFETY comment.
pub fn keep_listener_from_children() {
    if !reexecuted() {
        return;
    }
    if let Some(fd) = std::env::var(LISTEN_FD)
        .ok()
        .and_then(|fd| fd.parse::<i32>().ok())
        .filter(|fd| *fd >= 3)
    {
        // SAFETY: F_SETFD takes no pointer; on a number that is not open it
        // only fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Completes on `SIGUSR2`; never when its handler cannot be installed.
async fn reexec_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::user_defined2()) {
        Ok(mut usr2) => {
            usr2.recv().await;
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGUSR2; the kiosk re-executes only at the day roll");
            std::future::pending::<()>().await;
        }
    }
}

/// The listening socket the previous image of this process handed over,
/// if any and if it still listens on `want` (a reload may have changed
/// `kiosk.listen`: then it is closed and the new address bound).
#[allow(unsafe_code)] // fcntl and from_raw_fd, with their SAFETY comments.
pub fn inherited_listener(want: std::net::SocketAddr) -> Option<std::net::TcpListener> {
    use std::os::fd::FromRawFd;
    if !reexecuted() {
        return None;
    }
    let fd: i32 = std::env::var(LISTEN_FD).ok()?.parse().ok()?;
    // SAFETY: F_GETFD takes no pointer; on a number that is not open it
    // only fails with EBADF.
    if fd < 3 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        tracing::warn!(
            fd,
            "the handed-over listening socket is not open; binding anew"
        );
        return None;
    }
    // SAFETY: the previous image of this very process (same PID, checked
    // above) put the number of its listening socket in the environment and
    // cleared only that descriptor's close-on-exec flag; it is open (checked
    // above) and nothing else in this process owns it yet.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    // SAFETY: F_SETFD on a descriptor we own, no pointer: children of this
    // process must not inherit the socket.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    match listener.local_addr() {
        Ok(address) if address == want || (want.port() == 0 && address.ip() == want.ip()) => {
            tracing::info!(%address, "listening socket handed over by the previous process");
            Some(listener)
        }
        Ok(address) => {
            tracing::info!(%address, %want, "kiosk.listen changed; the handed-over socket is closed");
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, fd, "the handed-over descriptor is not a listening socket; binding anew");
            None
        }
    }
}

/// Re-executes this kiosk (same PID, same arguments) with `listener` open
/// in the new image, as the `stage` image; returns only if that failed.
#[allow(unsafe_code)] // fcntl, with its SAFETY comment.
pub fn reexec_self(listener: std::net::TcpListener, stage: Stage) -> anyhow::Error {
    use std::os::fd::IntoRawFd;
    use std::os::unix::process::CommandExt;
    let fd = listener.into_raw_fd();
    // SAFETY: F_SETFD on the socket we own, no pointer: only this one
    // descriptor survives the exec (every other one is close-on-exec, so
    // sled's files and its directory lock go with the old image).
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
        return anyhow::anyhow!(
            "cannot keep the listening socket across re-execution ({}); systemd restarts the kiosk",
            std::io::Error::last_os_error()
        );
    }
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new("/proc/self/exe");
    if let Some(argv0) = args.next() {
        command.arg0(argv0);
    }
    command
        .args(args)
        .env(LISTEN_FD, fd.to_string())
        .env(LISTEN_PID, std::process::id().to_string());
    match stage {
        Stage::Maintenance => command.env(MAINTENANCE, "1"),
        Stage::Service => command.env_remove(MAINTENANCE),
    };
    tracing::info!(?stage, "re-executing the kiosk");
    let err = command.exec();
    anyhow::anyhow!(
        "re-executing /proc/self/exe failed ({err}); systemd restarts the kiosk (Restart=on-failure)"
    )
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
