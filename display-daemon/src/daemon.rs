//! The running daemon: wires the link, the state, the local pages and the
//! outputs together.
//!
//! It owns the shared handle ([`Shared`]: the [`BoardState`] behind a mutex,
//! the published [`BoardView`] JSON, and the channels to the outputs), the
//! tasks and threads started for one config, and their shutdown. The rules
//! of the state are [`crate::state`]'s; the wire is [`crate::link`]'s and
//! [`crate::http`]'s; the pages are [`crate::server`]'s.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use kiosk_config::{DisplayConfig, DisplayMode};
use queue_protocol::Event;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::http::{BaseUrl, HttpError};
use crate::keypad::{self, KeypadAction};
use crate::led_board::LedBoardWriter;
use crate::link::{self, now_ms, LinkSettings, LinkSink, LinkUpdate};
use crate::state::{BoardState, Delivery, Effect, KeypadFeedback, LinkStatus};
use crate::view::{BoardView, ViewOptions};
use crate::voice::Announcer;

/// How many changes observers may fall behind before missing some.
const CHANGES_CAPACITY: usize = 4096;

/// Why the daemon cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configured `kiosk_url` cannot be used.
    #[error(transparent)]
    KioskUrl(#[from] HttpError),
    /// The local listener has no address.
    #[error("cannot use the local listener for the pages")]
    Listener(#[source] std::io::Error),
    /// The keypad's GPIO pins cannot be opened.
    #[cfg(feature = "rpi")]
    #[error(transparent)]
    Gpio(#[from] crate::rpi::Error),
}

/// One change, as observers (the terminal view, tests) see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A snapshot replaced the state.
    Snapshot {
        /// Its `last_seq`.
        last_seq: u64,
        /// Every counter's number after it.
        counters: Vec<(u16, Option<String>)>,
    },
    /// A new event was applied (events already applied are not reported).
    Event {
        /// The event.
        event: Event,
        /// Whether it was live.
        delivery: Delivery,
        /// What it caused.
        effects: Vec<Effect>,
    },
    /// The link's status changed.
    Link(LinkStatus),
    /// The kiosk answered a keypad action.
    Keypad(KeypadFeedback),
}

/// The daemon's shared handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Everything behind one `Arc`.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The state and the version of its last published view.
    state: Mutex<(BoardState, u64)>,
    /// The latest view as JSON, for the pages.
    view: watch::Sender<Arc<str>>,
    /// Page options.
    options: ViewOptions,
    /// Effects for the outputs (voice, LED board), in order, never dropped.
    effects: mpsc::UnboundedSender<Effect>,
    /// Every change, for observers.
    changes: broadcast::Sender<Change>,
}

impl Shared {
    fn new(options: ViewOptions, effects: mpsc::UnboundedSender<Effect>) -> Self {
        let state = BoardState::new();
        let json = view_json(&state, &options, 0);
        let (view, _) = watch::channel(json);
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new((state, 0)),
                view,
                options,
                effects,
                changes,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (BoardState, u64)> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way worse than showing it: keep going.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the current state.
    pub fn state(&self) -> BoardState {
        self.lock().0.clone()
    }

    /// The latest view JSON; `changed()` wakes on every change.
    pub fn view(&self) -> watch::Receiver<Arc<str>> {
        self.inner.view.subscribe()
    }

    /// Every change from now on.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// The page options.
    pub fn options(&self) -> &ViewOptions {
        &self.inner.options
    }

    /// Changes the state with `f`, publishes the new view, sends the effects
    /// to the outputs and the change to observers.
    fn change(&self, f: impl FnOnce(&mut BoardState) -> Option<(Change, Vec<Effect>)>) {
        let mut guard = self.lock();
        let Some((change, effects)) = f(&mut guard.0) else {
            return;
        };
        guard.1 += 1;
        let json = view_json(&guard.0, &self.inner.options, guard.1);
        self.inner.view.send_replace(json);
        for effect in effects {
            let _ = self.inner.effects.send(effect);
        }
        let _ = self.inner.changes.send(change);
    }

    /// Records the kiosk's answer to a keypad action.
    pub fn keypad_feedback(&self, feedback: KeypadFeedback) {
        self.change(|state| {
            state.keypad = Some(feedback.clone());
            Some((Change::Keypad(feedback), Vec::new()))
        });
    }
}

fn view_json(state: &BoardState, options: &ViewOptions, version: u64) -> Arc<str> {
    let view = BoardView::new(state, options, version);
    serde_json::to_string(&view)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode the view: {e}\"}}"))
        .into()
}

impl LinkSink for Shared {
    fn last_seq(&self) -> u64 {
        self.lock().0.last_seq
    }

    fn update(&mut self, update: LinkUpdate) {
        self.change(|state| match update {
            LinkUpdate::Connected => {
                if state.link == LinkStatus::Connected {
                    return None;
                }
                state.set_connected();
                Some((Change::Link(state.link), Vec::new()))
            }
            LinkUpdate::Lost { since_ms, .. } => {
                if matches!(state.link, LinkStatus::Lost { .. }) {
                    return None;
                }
                state.set_lost(since_ms);
                Some((Change::Link(state.link), Vec::new()))
            }
            LinkUpdate::Snapshot(snapshot) => {
                let last_seq = snapshot.last_seq;
                let effects = state.apply_snapshot(snapshot);
                let counters = state
                    .counters
                    .iter()
                    .map(|(n, c)| (*n, c.as_ref().map(|c| c.label.clone())))
                    .collect();
                Some((Change::Snapshot { last_seq, counters }, effects))
            }
            LinkUpdate::Event(event, delivery) => {
                if event.seq <= state.last_seq {
                    return None;
                }
                let effects = state.apply(&event, delivery);
                Some((
                    Change::Event {
                        event,
                        delivery,
                        effects: effects.clone(),
                    },
                    effects,
                ))
            }
        });
    }
}

/// A started daemon.
#[derive(Debug)]
pub struct DaemonHandle {
    /// The shared state.
    shared: Shared,
    /// Where the pages are served.
    addr: SocketAddr,
    /// Set to `true` to stop everything.
    stop: watch::Sender<bool>,
    /// The link, server, outputs and keypad tasks.
    tasks: Vec<JoinHandle<()>>,
}

impl DaemonHandle {
    /// The address of the local pages.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared handle (state, view, changes).
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Stops the link, the pages and the outputs, and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Resolves when `stop` becomes true (or its sender is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Starts the daemon for `config`, serving the pages on `listener`.
pub async fn start(
    config: DisplayConfig,
    listener: TcpListener,
) -> Result<DaemonHandle, DaemonError> {
    let settings = LinkSettings::new(&config.kiosk_url, &config.token)?;
    let addr = listener.local_addr().map_err(DaemonError::Listener)?;
    let options = ViewOptions::from_config(&config);
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let shared = Shared::new(options, effects_tx);
    let (stop, _) = watch::channel(false);
    let mut tasks = Vec::new();

    // Subscribed before the link starts, so the terminal sees its first words.
    let terminal_changes = (config.mode == DisplayMode::Terminal).then(|| shared.changes());

    let mut sink = shared.clone();
    let link_stop = stopped(stop.subscribe());
    tasks.push(tokio::spawn(async move {
        link::follow(settings.clone(), &mut sink, link_stop).await;
    }));

    let router = crate::server::router(shared.clone(), stop.subscribe());
    let server_stop = stopped(stop.subscribe());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = crate::server::serve(listener, router, server_stop).await {
            tracing::error!("the local page server stopped: {e}; restart the display daemon");
        }
    }));

    let announcer = Announcer::spawn(config.voice.clone());
    let led = config
        .led_board
        .as_ref()
        .map(|b| LedBoardWriter::spawn(b.path.clone(), b.baud));
    let options = shared.options().clone();
    tasks.push(tokio::spawn(outputs(
        effects_rx,
        announcer,
        led,
        options,
        stopped(stop.subscribe()),
    )));

    if let Some(mut changes) = terminal_changes {
        let options = shared.options().clone();
        let terminal_stop = stopped(stop.subscribe());
        tasks.push(tokio::spawn(async move {
            tokio::pin!(terminal_stop);
            loop {
                let change = tokio::select! {
                    () = &mut terminal_stop => return,
                    change = changes.recv() => change,
                };
                match change {
                    Ok(change) => {
                        let _ = crate::terminal::print(&mut std::io::stdout(), &change, |n| {
                            options.shows(n)
                        });
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }));
    }

    if let Some(keypad) = &config.keypad {
        let base = BaseUrl::parse(&config.kiosk_url)?;
        tasks.push(start_keypad(
            keypad,
            base,
            config.token.clone(),
            shared.clone(),
            stop.subscribe(),
        )?);
    }

    tracing::info!(
        "display daemon serving its pages on http://{addr}/ and following {}",
        config.kiosk_url
    );
    Ok(DaemonHandle {
        shared,
        addr,
        stop,
        tasks,
    })
}

/// Runs the daemon until `shutdown` completes.
pub async fn run(
    config: DisplayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let handle = start(config, listener).await?;
    shutdown.await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

/// Applies effects to the voice and the LED board, in order.
async fn outputs(
    mut effects: mpsc::UnboundedReceiver<Effect>,
    announcer: Announcer,
    led: Option<LedBoardWriter>,
    options: ViewOptions,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let effect = tokio::select! {
            () = &mut stop => return,
            effect = effects.recv() => match effect {
                Some(effect) => effect,
                None => return,
            },
        };
        match effect {
            Effect::Announce { label, counter } if options.shows(counter) => {
                if let Err(e) = announcer.announce(&label, counter) {
                    tracing::warn!("call {label} at counter {counter} not announced: {e}");
                }
            }
            Effect::CounterChanged { counter, label } if options.shows(counter) => {
                if let Some(led) = &led {
                    led.show(counter, label.as_deref());
                }
            }
            _ => {}
        }
    }
}

/// Sends keypad actions and records the kiosk's answers.
async fn keypad_actions(
    mut actions: mpsc::Receiver<KeypadAction>,
    confirms: std::sync::mpsc::Sender<bool>,
    base: BaseUrl,
    token: String,
    counter: u16,
    shared: Shared,
) {
    while let Some(action) = actions.recv().await {
        let result = keypad::send_action(&base, &token, counter, action).await;
        let ok = result.is_ok();
        let message = match result {
            Ok(()) => action.done_text().to_owned(),
            Err(e) => {
                tracing::warn!(
                    "keypad {} at counter {counter} failed: {:#}",
                    action.path_segment(),
                    anyhow::Error::new(e)
                );
                "Không thực hiện được — xin thử lại".to_owned()
            }
        };
        let _ = confirms.send(ok);
        shared.keypad_feedback(KeypadFeedback {
            action: action.path_segment().to_owned(),
            ok,
            message,
            at_ms: now_ms(),
        });
    }
}

/// Starts reading a keypad's keys (already opened pins) for `counter`:
/// fired actions go to the kiosk with `token`, answers to the confirmation
/// LED and to the counter display. Used with the Pi's pins ([`crate::rpi`])
/// and with fake pins in tests.
#[allow(clippy::too_many_arguments)]
pub fn start_keypad_pins<P, O>(
    reader: crate::keypad::KeypadReader<P>,
    led: Option<crate::keypad::ConfirmLed<O>>,
    base: BaseUrl,
    token: String,
    counter: u16,
    shared: Shared,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()>
where
    P: embedded_hal::digital::InputPin + Send + 'static,
    O: embedded_hal::digital::OutputPin + Send + 'static,
{
    let (actions_tx, actions_rx) = mpsc::channel(8);
    let (confirm_tx, confirm_rx) = std::sync::mpsc::channel();
    if let Err(e) = crate::keypad::spawn_reader(reader, led, actions_tx, confirm_rx, stop) {
        tracing::error!("cannot start the keypad thread, the keypad will not work: {e}");
    }
    tokio::spawn(keypad_actions(
        actions_rx, confirm_tx, base, token, counter, shared,
    ))
}

#[cfg(not(feature = "rpi"))]
fn start_keypad(
    keypad: &kiosk_config::Keypad,
    _base: BaseUrl,
    _token: String,
    _shared: Shared,
    _stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, DaemonError> {
    tracing::error!(
        "a keypad is configured for counter {} but this build has no GPIO support; \
         build display-daemon with `--features rpi` on the Raspberry Pi",
        keypad.counter
    );
    Ok(tokio::spawn(async {}))
}

#[cfg(feature = "rpi")]
fn start_keypad(
    keypad: &kiosk_config::Keypad,
    base: BaseUrl,
    token: String,
    shared: Shared,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, DaemonError> {
    use crate::keypad::{ConfirmLed, KeyRule, KeypadReader};
    let gpio = crate::rpi::Gpio::open()?;
    let mut reader = KeypadReader::new(KeyRule::default());
    let keys = [
        (KeypadAction::Next, Some(keypad.next)),
        (KeypadAction::Recall, keypad.recall),
        (KeypadAction::NoShow, keypad.no_show),
        (KeypadAction::Finish, keypad.finish),
    ];
    for (action, pin) in keys {
        if let Some(pin) = pin {
            let role = format!("keypad {} button", action.path_segment());
            reader.add_key(action, gpio.button(pin, &role)?, pin.active);
        }
    }
    let led = match keypad.confirm_led {
        Some(pin) => Some(ConfirmLed::new(
            gpio.led(pin, "keypad confirmation LED")?,
            pin.active,
        )),
        None => None,
    };
    Ok(start_keypad_pins(
        reader,
        led,
        base,
        token,
        keypad.counter,
        shared,
        stop,
    ))
}
