//! The running daemon: wires the link, the state, the local pages and the
//! outputs together.
//!
//! It owns the tasks and threads started for one config and their
//! shutdown. The handle they share is [`crate::shared`]'s; the rules of the
//! state are [`crate::state`]'s; the wire is [`crate::link`]'s and
//! [`crate::http`]'s; the pages are [`crate::server`]'s.

use std::future::Future;
use std::net::SocketAddr;

use kiosk_config::{DisplayConfig, DisplayMode};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::http::{BaseUrl, Client, HttpError};
use crate::keypad::{self, KeypadAction};
use crate::led_board::LedBoardWriter;
use crate::link::{self, now_ms, LinkSettings};
use crate::shared::Shared;
use crate::state::{Effect, KeypadFeedback};
use crate::view::ViewOptions;
use crate::voice::Announcer;

/// Why the daemon cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configured `kiosk_url` (or, for `https://`, its `ca_file`)
    /// cannot be used.
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
    let client = Client::with_ca_file(
        BaseUrl::parse(&config.kiosk_url)?,
        config.ca_file.as_deref(),
    )?;
    let settings = LinkSettings::new(client.clone(), &config.token);
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

    let mut router = crate::server::router(shared.clone(), stop.subscribe());
    if let Some(counter) = rating_counter(&config) {
        router = router.merge(crate::rating::router(crate::rating::RatingPoint {
            client: client.clone(),
            token: config.token.clone(),
            counter,
            shared: shared.clone(),
            retry_window: crate::rating::PAGE_RETRY_WINDOW,
        }));
    }
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
        tasks.push(start_keypad(
            keypad,
            client,
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

/// The counter this display takes ratings for: its keypad's, or the one
/// counter of a counter display.
fn rating_counter(config: &DisplayConfig) -> Option<u16> {
    match (&config.keypad, config.mode, config.counters.as_slice()) {
        (Some(keypad), _, _) => Some(keypad.counter),
        (None, DisplayMode::Counter, [one]) => Some(*one),
        _ => None,
    }
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
    client: Client,
    token: String,
    counter: u16,
    shared: Shared,
) {
    while let Some(action) = actions.recv().await {
        if let KeypadAction::Rate(level) = action {
            // Its own task: a rating re-sent through a network cut must not
            // hold the clerk's keys.
            tokio::spawn(rate_from_button(
                level,
                confirms.clone(),
                client.clone(),
                token.clone(),
                counter,
                shared.clone(),
            ));
            continue;
        }
        let action = match action {
            KeypadAction::PauseResume if shared.state().counter_info(counter).status.is_open() => {
                KeypadAction::Pause
            }
            KeypadAction::PauseResume => KeypadAction::Resume,
            other => other,
        };
        let result = keypad::send_action(&client, &token, counter, action).await;
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

/// Sends one rating button's press and shows the kiosk's verdict on the
/// LEDs and the counter page.
async fn rate_from_button(
    level: keypad::RatingKey,
    confirms: std::sync::mpsc::Sender<bool>,
    client: Client,
    token: String,
    counter: u16,
    shared: Shared,
) {
    let request = queue_protocol::RateRequest {
        level: level.id().to_owned(),
        source: "counter_button".into(),
        ticket: None,
        key: Some(keypad::rating_key(counter)),
    };
    let result = keypad::send_rating_reliably(
        &client,
        &token,
        counter,
        &request,
        keypad::RATING_RETRY_WINDOW,
    )
    .await;
    let ok = result.is_ok();
    let message = match result {
        Ok(_) => KeypadAction::Rate(level).done_text().to_owned(),
        Err(e) => {
            tracing::info!("rating at counter {counter} not recorded: {e}");
            e.citizen_message()
        }
    };
    let _ = confirms.send(ok);
    shared.keypad_feedback(KeypadFeedback {
        action: "rate".to_owned(),
        ok,
        message,
        at_ms: now_ms(),
    });
}

/// Starts reading a keypad's keys (already opened pins) for `counter`:
/// fired actions go to the kiosk with `token`, answers to the confirmation
/// LED and to the counter display. Used with the Pi's pins ([`crate::rpi`])
/// and with fake pins in tests.
#[allow(clippy::too_many_arguments)]
pub fn start_keypad_pins<P, O>(
    reader: crate::keypad::KeypadReader<P>,
    led: Option<crate::keypad::ConfirmLed<O>>,
    refused_led: Option<crate::keypad::ConfirmLed<O>>,
    client: Client,
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
    if let Err(e) = crate::keypad::spawn_reader_with_refusal(
        reader,
        led,
        refused_led,
        actions_tx,
        confirm_rx,
        stop,
    ) {
        tracing::error!("cannot start the keypad thread, the keypad will not work: {e}");
    }
    tokio::spawn(keypad_actions(
        actions_rx, confirm_tx, client, token, counter, shared,
    ))
}

#[cfg(not(feature = "rpi"))]
fn start_keypad(
    keypad: &kiosk_config::Keypad,
    _client: Client,
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
    client: Client,
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
    // Holding the finish key (or "next" without one) pauses or resumes.
    let long_on = if keypad.finish.is_some() {
        KeypadAction::Finish
    } else {
        KeypadAction::Next
    };
    for (action, pin) in keys {
        if let Some(pin) = pin {
            let role = format!("keypad {} button", action.path_segment());
            let input = gpio.button(pin, &role)?;
            if action == long_on {
                reader.add_key_with_long_press(
                    action,
                    KeypadAction::PauseResume,
                    crate::keypad::LONG_PRESS,
                    input,
                    pin.active,
                );
            } else {
                reader.add_key(action, input, pin.active);
            }
        }
    }
    for (level, pin) in &keypad.ratings {
        if let Some(key) = crate::keypad::RatingKey::from_id(level) {
            let role = format!("rating {level} button");
            reader.add_key(
                KeypadAction::Rate(key),
                gpio.button(*pin, &role)?,
                pin.active,
            );
        }
    }
    let refused_led = match keypad.refused_led {
        Some(pin) => Some(ConfirmLed::new(
            gpio.led(pin, "keypad refusal LED")?,
            pin.active,
        )),
        None => None,
    };
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
        refused_led,
        client,
        token,
        keypad.counter,
        shared,
        stop,
    ))
}
