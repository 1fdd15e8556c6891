//! The kiosk daemon: everything `kiosk run` and `kiosk demo` start, wired
//! together, and stopped in order.
//!
//! [`run`] takes already opened hardware (buttons, LEDs, the printer's
//! transport), the listening socket and a shutdown future, so tests and the
//! demo inject simulated parts and their own shutdown. It owns the tasks that
//! turn presses into tickets, keep the status LEDs and fault events in step
//! with the printer and the opening hours, roll the service day and prune old
//! days. It does not parse arguments or open pins (`main.rs`, `rpi`).
//!
//! # The daily fresh process
//!
//! A process that lives for months grows (sled keeps far more resident than
//! its cache after months of writes: 119 MB after a simulated year), while a
//! freshly started kiosk on the same data is about 17 MB. So [`run_until`]
//! can end with [`Ended::Reexec`]: at the service-day roll, once no
//! department is open (or when asked, e.g. by `SIGUSR2` in `kiosk run`), it
//! stops exactly as for a shutdown — button polling stops, presses already
//! accepted are issued and printed, each HTTP request in progress is
//! answered, event streams are ended (their clients reconnect with
//! `Last-Event-ID`) — but keeps the listening socket open and hands it back.
//! `kiosk run` then re-executes itself with that socket (see
//! `commands::run`): same PID, so systemd keeps tracking it; connections
//! made meanwhile wait in the socket's backlog and are answered by the new
//! process; nothing acknowledged is lost, because every store operation is
//! on disk before it is answered and `execve` closes sled's files (and its
//! lock) with the old process. A button pressed during the window (the
//! time from the poller stopping to the new poller starting, measured by
//! `perf -- year` as `year_reexec_window_ms`) is not seen, as when the kiosk
//! restarts; at the roll the center is closed. A center whose departments
//! have no opening sessions at all counts as always open: it is never
//! re-executed at the roll, only when asked.
//!
//! # The maintenance step
//!
//! sled keeps every page it reads or writes resident (its cache evicts
//! only after many accesses), and a dropped handle does not give that
//! memory back to the system. So the memory-heavy work of the night runs
//! in images and processes that end:
//!
//! 1. **The old image** (the day's service) rolls the service day and
//!    re-executes into the *maintenance image* (`kiosk run` sets
//!    `KIOSK_MAINTENANCE`; `commands::run::Stage`). It does not pack or
//!    prune: in the day's image that added up to 10 MB over the service
//!    and took 44 nights of the year over 32 MiB. A center still open at
//!    the roll (always open) prunes in place, as it is not re-executed.
//! 2. **The maintenance image** ([`run_maintenance`]) opens the store,
//!    packs and prunes the finished days, and when the files have grown
//!    past [`CompactPolicy`] (64 MiB, and twice their size right after the
//!    last copy) schedules a compaction ([`schedule_compaction_if_due`]);
//!    it closes the store and re-executes into the *service image*. No
//!    button, printer or API runs in it; connections wait in the backlog.
//! 3. **The service image**, before it opens the store, makes a scheduled
//!    compaction in short-lived child processes of the same binary
//!    ([`run_scheduled_compaction`]: readers of the old store one after
//!    the other, then one writer of the copy; crash-safe:
//!    `queue_store::store::compact`) and swaps the copy in as it opens.
//!    Made in the old image, the copy had raised that night's peak by
//!    19–40 MB (to 47–76 MB in `perf -- year`). A kiosk started afresh
//!    (by systemd, after a power cut) never copies: it drops the request
//!    and opens at once; the next roll schedules it again. A child stuck
//!    past its limit (120 s) is killed and the store opens as it was;
//!    under systemd (`WatchdogSec=30`, not fed during the night's
//!    re-executions) the watchdog restarts the kiosk sooner, and that
//!    fresh start drops the compaction the same way.
//!
//! The compaction bounds what sled never reclaims (log segments more than
//! half live, blob files whose deletion a process ending forgot: the store
//! module's "Compaction" docs). All of it happens while nothing takes
//! presses or requests, so it only lengthens that night's window.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use embedded_hal::digital::{InputPin, OutputPin};
use kiosk_config::{CenterConfig, DepartmentId};
use queue_protocol::EventKind;
use ticket_printer::Transport;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};

use crate::accounts::Accounts;
use crate::api::{ApiOptions, ApiState};
use crate::app::{blocking, App, PressOutcome};
use crate::buttons::{ButtonPanel, ButtonPoller, ButtonPress};
use crate::leds::{KioskCondition, LightState, StatusLights};
use crate::printing::{Printer, PrinterHealth};
use queue_store::clock::Clock;
use queue_store::store::compact::{self, ChildCompaction};
use queue_store::store::{CompactPolicy, Store, StoreOptions};

/// How many accepted presses may wait while one is being printed. A press
/// beyond this is dropped by the button thread rather than queued behind a
/// stuck printer.
const PRESS_QUEUE: usize = 16;

/// How often opening hours, the service day and the LEDs are re-checked
/// when nothing else happens.
const TICK: Duration = Duration::from_secs(20);

/// The hardware the daemon drives, already opened.
pub struct Hardware<B, L> {
    /// The department buttons.
    pub buttons: ButtonPanel<B>,
    /// The status LEDs.
    pub lights: StatusLights<L>,
}

/// Opens the store and the printer worker for `config` and puts them in an
/// [`App`] (used by `run` and by tests that need an app without buttons).
pub fn open_app(
    config: Arc<CenterConfig>,
    printer: Box<dyn Transport>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<App> {
    let data_dir = &config.kiosk.data_dir;
    ensure_dir(data_dir)?;
    run_scheduled_compaction(&config);
    let store = Store::open(
        data_dir,
        Arc::clone(&config),
        Arc::clone(&clock),
        &StoreOptions::from_settings(&config.kiosk),
    )
    .with_context(|| format!("opening the queue store in {}", data_dir.display()))?;
    let printer = Printer::spawn(printer, config.kiosk.printer.status_interval);
    Ok(App::new(store, printer, clock))
}

fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the data directory {}; create it and give the kiosk's user write access",
            dir.display()
        )
    })
}

/// Runs the kiosk until `shutdown` completes: presses become tickets, the LAN
/// API (`api`, plus the `extra` routes of the demo) answers on `listener`,
/// the LEDs follow the printer and the hours.
///
/// On shutdown, button polling stops first, a press already being handled is
/// finished (its ticket is fully issued and handed to the printer, or not
/// issued at all), the LEDs go dark, then the API stops.
pub async fn run<B, L>(
    app: App,
    hardware: Hardware<B, L>,
    listener: TcpListener,
    api: ApiState,
    extra: axum::Router,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    B: InputPin + Send + 'static,
    L: OutputPin + Send + 'static,
{
    run_with_public(app, hardware, listener, None, api, extra, shutdown).await
}

/// The citizens' phone pages: their own listener and site
/// (`[kiosk.public]`, see [`crate::api::citizen`]).
pub struct PublicListener {
    /// The public listener (the guest Wi-Fi's address).
    pub listener: TcpListener,
    /// The site served on it.
    pub site: crate::api::citizen::CitizenSite,
}

/// [`run`], also serving the citizens' phone pages on `public` when given;
/// they stop with the API.
pub async fn run_with_public<B, L>(
    app: App,
    hardware: Hardware<B, L>,
    listener: TcpListener,
    public: Option<PublicListener>,
    api: ApiState,
    extra: axum::Router,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    B: InputPin + Send + 'static,
    L: OutputPin + Send + 'static,
{
    let never = Reexec {
        at_roll: false,
        requested: std::future::pending(),
    };
    run_until(app, hardware, listener, public, api, extra, shutdown, never)
        .await
        .map(drop)
}

/// When [`run_until`] stops to be re-executed (see the module docs).
pub struct Reexec<F> {
    /// At the service-day roll, once no department is open.
    pub at_roll: bool,
    /// Whenever this completes (`SIGUSR2` in `kiosk run`).
    pub requested: F,
}

/// How [`run_until`] ended.
#[derive(Debug)]
pub enum Ended {
    /// `shutdown` completed: the kiosk stopped for good.
    Stopped,
    /// Stopped to be re-executed: the listening socket, still open, whose
    /// backlog holds the connections made since.
    Reexec(std::net::TcpListener),
}

/// [`run_with_public`], which also stops to be re-executed when `reexec`
/// says so. The phone pages' listener is not handed over: it is bound
/// again by the new image, and phones reconnect by themselves.
#[allow(clippy::too_many_arguments)]
pub async fn run_until<B, L>(
    app: App,
    hardware: Hardware<B, L>,
    listener: TcpListener,
    public: Option<PublicListener>,
    api: ApiState,
    extra: axum::Router,
    shutdown: impl Future<Output = ()>,
    reexec: Reexec<impl Future<Output = ()>>,
) -> anyhow::Result<Ended>
where
    B: InputPin + Send + 'static,
    L: OutputPin + Send + 'static,
{
    let Hardware { buttons, lights } = hardware;
    let roll = reexec.at_roll.then(|| Arc::new(Notify::new()));
    let address = listener.local_addr().ok();
    let stop_buttons = Arc::new(AtomicBool::new(false));
    let (press_tx, press_rx) = mpsc::channel(PRESS_QUEUE);
    let poller = ButtonPoller::spawn(buttons, press_tx, Arc::clone(&stop_buttons))
        .context("starting the button polling thread")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let presses = tokio::spawn(handle_presses(app.clone(), press_rx));
    let housekeeping = tokio::spawn(keep_status(
        app.clone(),
        lights,
        stop_rx.clone(),
        roll.clone(),
    ));
    let http = {
        let mut stop = stop_rx.clone();
        let router = crate::api::router(api.clone())
            .merge(crate::web::router())
            .merge(extra);
        let server = crate::api::server(router, &api);
        tokio::spawn(async move {
            server
                .serve_then_keep(listener, async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                    // Event streams never end by themselves.
                    api.close_streams();
                })
                .await
        })
    };
    let public_http = public.map(|PublicListener { listener, site }| {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "citizens' phone pages are served");
        }
        let mut stop = stop_rx.clone();
        tokio::spawn(crate::api::citizen::serve(listener, site, async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }))
    });
    if let Some(address) = address {
        tracing::info!(%address, "kiosk ready: buttons, printer and LAN API are live");
    }
    crate::systemd::notify_ready();
    let watchdog = crate::systemd::spawn_watchdog();

    let rolled = async {
        match &roll {
            Some(roll) => roll.notified().await,
            None => std::future::pending().await,
        }
    };
    let again = tokio::select! {
        () = shutdown => false,
        () = rolled => {
            tracing::info!("service day rolled while the center is closed: starting the new day as a fresh process");
            true
        }
        () = reexec.requested => {
            tracing::info!("re-execution asked for: handing over to a fresh process");
            true
        }
    };
    if again {
        crate::systemd::notify_reloading();
    } else {
        crate::systemd::notify_stopping();
    }
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    let stopping_at = std::time::Instant::now();
    tracing::info!("shutting down: finishing the press in progress, if any");
    stop_buttons.store(true, Ordering::SeqCst);
    // The poller owns the press sender: once it has stopped, the press task
    // drains what was already accepted and ends.
    blocking(move || poller.join()).await;
    if let Err(err) = presses.await {
        tracing::error!(error = %err, "press handling task failed");
    }
    let _ = stop_tx.send(true);
    if let Err(err) = housekeeping.await {
        tracing::error!(error = %err, "status task failed");
    }
    let listener = match http.await {
        Ok(Ok(listener)) => Some(listener),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "LAN API stopped with an error");
            None
        }
        Err(err) => {
            tracing::error!(error = %err, "LAN API task failed");
            None
        }
    };
    if let Some(public_http) = public_http {
        match public_http.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "phone pages stopped with an error"),
            Err(err) => tracing::error!(error = %err, "phone pages task failed"),
        }
    }
    if !again {
        tracing::info!("kiosk stopped");
        return Ok(Ended::Stopped);
    }
    let listener = listener
        .context("the LAN API ended without its socket; stopping instead of re-executing")?
        .into_std()
        .context("taking the listening socket out of the runtime")?;
    tracing::info!(
        stopping_ms = stopping_at.elapsed().as_millis() as u64,
        "kiosk stopped for re-execution; the listening socket stays open"
    );
    Ok(Ended::Reexec(listener))
}

/// The maintenance step's compaction, between the stop for a
/// re-execution and the `execve` (see the module docs): when `policy` says
/// sled's files grew enough, the store is made durable in sled's own files
/// and the compaction is scheduled for the new image
/// ([`run_scheduled_compaction`]). A failure is logged and the store is
/// used as it is; the files' size when scheduled.
pub fn schedule_compaction_if_due(store: &Store, policy: &CompactPolicy) -> Option<u64> {
    match store.schedule_compaction(policy) {
        Ok(Some(bytes)) => {
            tracing::info!(
                bytes,
                "the queue store's files grew: the new process compacts them before it opens the store"
            );
            Some(bytes)
        }
        Ok(None) => None,
        Err(err) => {
            tracing::warn!(error = %err, "cannot schedule a compaction of the queue store; the next roll tries again");
            None
        }
    }
}

/// The maintenance image's work (see the module docs): open the store,
/// start the service day if it is due, pack and prune finished days,
/// schedule a compaction when `policy` says the files grew, and close the
/// store (everything in sled's own files). The caller then re-executes
/// into the service image ([`crate::commands::run::Stage::Service`]). A
/// store that does not open is an error (the service image would not open
/// it either); a failed prune or schedule is logged and the service goes
/// on.
pub fn run_maintenance(
    config: &Arc<CenterConfig>,
    clock: Arc<dyn Clock>,
    policy: &CompactPolicy,
) -> anyhow::Result<()> {
    let data_dir = &config.kiosk.data_dir;
    let began = std::time::Instant::now();
    let store = Store::open(
        data_dir,
        Arc::clone(config),
        clock,
        &StoreOptions::from_settings(&config.kiosk),
    )
    .with_context(|| format!("opening the queue store in {}", data_dir.display()))?;
    if let Err(err) = store.roll_service_day() {
        tracing::error!(error = %err, "cannot start the new service day; the service image tries again");
    }
    prune_logged(&store);
    schedule_compaction_if_due(&store, policy);
    drop(store);
    tracing::info!(
        ms = began.elapsed().as_millis() as u64,
        "maintenance done: old days packed and pruned; starting the service"
    );
    Ok(())
}

/// Packs and prunes the finished days (the day's image, or the
/// maintenance image); a failure is logged and old days are kept.
fn prune_logged(store: &Store) {
    match store.prune() {
        Ok(report) => tracing::debug!(?report, "retention checked"),
        Err(err) => tracing::error!(error = %err, "retention failed; old days are kept"),
    }
}

/// Runs the compaction the previous image scheduled
/// ([`schedule_compaction_if_due`]), in short-lived child processes of this
/// binary (`queue_store::store::compact::compact_in_children`: the copy's
/// memory goes with them), before the store is opened; [`open_app`] calls
/// it first. Only in a re-executed image, at the roll: a kiosk started
/// afresh (after a power cut) opens at once and leaves the compaction to
/// the next roll. A failure is logged and the store is used as it is.
pub fn run_scheduled_compaction(config: &CenterConfig) -> Option<ChildCompaction> {
    run_scheduled_compaction_in_pieces(config, compact::PIECE_BYTES)
}

/// [`run_scheduled_compaction`], each child copying about `piece_bytes`
/// (the maintenance soak makes them small, so that its kills fall between
/// children).
pub fn run_scheduled_compaction_in_pieces(
    config: &CenterConfig,
    piece_bytes: u64,
) -> Option<ChildCompaction> {
    let dir = &config.kiosk.data_dir;
    if !compact::take_due(dir) {
        return None;
    }
    if !crate::commands::run::reexecuted() {
        tracing::info!("a compaction of the queue store was scheduled, but this is a fresh start: it waits for the next roll");
        return None;
    }
    crate::commands::run::keep_listener_from_children();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            tracing::error!(error = %err, "cannot find this binary to run the compaction; the store is used as it is");
            return None;
        }
    };
    match compact::compact_in_children(
        dir,
        config.kiosk.store_cache_bytes,
        &exe,
        piece_bytes,
        compact::CHILD_LIMIT,
    ) {
        Ok(done) => {
            tracing::info!(
                records = done.records,
                bytes_before = done.bytes_before,
                bytes_after = done.bytes_after,
                pieces = done.pieces,
                reader_peak_bytes = done.reader_peak_bytes,
                writer_peak_bytes = done.writer_peak_bytes,
                ms = done.took.as_millis() as u64,
                "queue store compacted in child processes; the copy is swapped in now"
            );
            Some(done)
        }
        Err(err) => {
            tracing::error!(error = %err, "compacting the queue store failed; it is used as it is and the next roll tries again");
            None
        }
    }
}

/// Turns each accepted press into a ticket, one at a time, in press order.
async fn handle_presses(app: App, mut presses: mpsc::Receiver<ButtonPress>) {
    while let Some(press) = presses.recv().await {
        log_outcome(&press, &app.press(&press.department, press.priority).await);
    }
}

/// One log line per press, with the number, department and outcome.
pub fn log_outcome(press: &ButtonPress, outcome: &PressOutcome) {
    let department = press.department.as_str();
    match outcome {
        PressOutcome::Printed(issued) => tracing::info!(
            department,
            number = %issued.ticket.label,
            ticket = %issued.ticket.id,
            waiting_ahead = issued.waiting_ahead,
            priority = issued.ticket.priority.as_deref().unwrap_or("-"),
            "ticket printed"
        ),
        PressOutcome::Refused(refusal) => tracing::warn!(
            department,
            reason = %refusal,
            "press refused; no number was used"
        ),
        PressOutcome::PrintFailed(issued, err) => tracing::error!(
            department,
            number = %issued.ticket.label,
            ticket = %issued.ticket.id,
            error = %err,
            "ticket issued but not printed; reprint it from the admin page once the printer is fixed"
        ),
    }
}

/// Keeps the LEDs and the fault events in step with the printer and the
/// opening hours; rolls the service day and prunes old days on the way.
/// With `roll`, a roll this process lived through (not its start) is
/// announced there once no department is open: the daily re-execution.
async fn keep_status<L: OutputPin + Send + 'static>(
    app: App,
    mut lights: StatusLights<L>,
    mut stop: watch::Receiver<bool>,
    roll: Option<Arc<Notify>>,
) {
    let mut health = app.printer().watch();
    let mut reported_fault: Option<&'static str> = None;
    let mut pruned_day = None;
    let mut reexec_due = false;
    loop {
        let now_health = health.borrow_and_update().clone();
        reported_fault = record_fault_change(&app, reported_fault, &now_health).await;
        let condition = kiosk_condition(&app, &now_health);
        lights.show(LightState::for_kiosk(&condition));

        let store = app.store().clone();
        let today = blocking(move || {
            if let Err(err) = store.roll_service_day() {
                tracing::error!(error = %err, "cannot start the new service day");
            }
            store.service_day()
        })
        .await;
        if today.is_some() && today != pruned_day {
            reexec_due = roll.is_some() && pruned_day.is_some();
            // A roll this process lived through, with the re-execution
            // following now: the maintenance image packs and prunes, so
            // that its memory is not this image's.
            if !reexec_due || any_department_open(&app) {
                let store = app.store().clone();
                blocking(move || prune_logged(&store)).await;
            }
            pruned_day = today;
        }
        if reexec_due && !any_department_open(&app) {
            if let Some(roll) = &roll {
                roll.notify_one();
            }
            reexec_due = false;
        }

        tokio::select! {
            changed = health.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    lights.show(LightState::OFF);
}

/// Records a `Fault` event when the printer's fault changes and a
/// `FaultCleared` when it goes away; returns the fault now reported.
async fn record_fault_change(
    app: &App,
    reported: Option<&'static str>,
    health: &PrinterHealth,
) -> Option<&'static str> {
    let fault = health.fault();
    let now = fault.as_ref().map(|(kind, _)| *kind);
    if now == reported {
        return reported;
    }
    let store = app.store().clone();
    let result = blocking(move || {
        if let Some(kind) = reported {
            store.record(EventKind::FaultCleared {
                kind: kind.to_string(),
            })?;
        }
        if let Some((kind, detail)) = fault {
            tracing::warn!(kind, detail = %detail, "printer fault");
            store.record_fault(kind, &detail)?;
        }
        Ok::<(), queue_store::store::StoreError>(())
    })
    .await;
    if let Err(err) = result {
        tracing::error!(error = %err, "cannot record the printer fault event");
    }
    now
}

/// Whether any department issues tickets now (by its opening hours).
fn any_department_open(app: &App) -> bool {
    let config = app.config();
    let now = app.clock().now();
    config
        .departments
        .iter()
        .any(|d| config.center.is_open_at(d, now))
}

/// What the LEDs need to know, from the printer's health, the clock and the
/// queue.
fn kiosk_condition(app: &App, health: &PrinterHealth) -> KioskCondition {
    let config = app.config();
    let open_now = any_department_open(app);
    let snapshot = app.store().snapshot();
    let any_department_exhausted = snapshot.departments.iter().any(|queue| {
        config
            .department(&DepartmentId(queue.department.clone()))
            .is_some_and(|d| queue.issued_today >= d.daily_limit())
    });
    KioskCondition {
        // A store that cannot write issues nothing either: the fault light.
        printer_ready: health.ready() && app.store().writable(),
        paper_near_end: health.paper_low(),
        open_now,
        any_department_exhausted,
    }
}

/// The LAN API's state: accounts from the data directory, the center file
/// for reloads.
pub fn api_state(
    app: &App,
    config: &CenterConfig,
    config_path: Option<&Path>,
) -> anyhow::Result<ApiState> {
    let accounts_file = Accounts::path_in(&config.kiosk.data_dir);
    let accounts = Accounts::open(&accounts_file)
        .with_context(|| format!("opening the accounts file {}", accounts_file.display()))?;
    let tls = match &config.kiosk.tls {
        Some(files) => Some(
            lan_server::tls::acceptor(&files.cert, &files.key)
                .context("setting up HTTPS from [kiosk.tls]; see docs/security.md")?,
        ),
        None => None,
    };
    Ok(ApiState::new(
        app.clone(),
        accounts,
        ApiOptions {
            config_path: config_path.map(Path::to_path_buf),
            tls,
            ..ApiOptions::default()
        },
    ))
}
