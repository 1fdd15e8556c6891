//! Department buttons: from GPIO levels to [`ButtonPress`] messages.
//!
//! This module owns reading the buttons — sampling, debounce, one press per
//! press, the per-button `press_interval` — and handing each accepted press to
//! the kiosk on a channel. It does not decide whether a press becomes a ticket
//! (opening hours, caps, the printer's state): the daemon does, on receipt.
//! It does not name `rppal` either: pins are any
//! [`embedded_hal::digital::InputPin`]; the Pi's come from `crate::rpi`, the
//! demo's from [`SimulatedButton`], the tests' from `embedded-hal-mock`.
//!
//! # Why polling
//!
//! A dedicated thread reads every pin every [`DebounceSettings::poll_every`]
//! (5 ms). Fifteen buttons read through `/dev/gpiomem` cost microseconds per
//! round, so polling is cheap; it works with any `InputPin` (the same code
//! runs with mocks, the demo and the Pi); and the debounce and interval rules
//! live in one pure state machine ([`ButtonDebouncer`]) that tests drive with
//! a fake clock.
//!
//! The alternative — `rppal`'s interrupts (`set_async_interrupt` with a
//! debounce period, which becomes the kernel GPIO character device's
//! `debounce_period_us`) — is only reachable through `rppal`'s own callback
//! API, not through embedded-hal 1.0's `InputPin`, so it would put Pi-only
//! logic outside `crate::rpi` and leave it untested on machines without a
//! GPIO chip. The kernel's debounce does not apply to polled reads, hence the
//! software debounce here. Latency stays far below what a citizen notices
//! (20–30 ms from contact to press).
//!
//! # Debounce parameters
//!
//! - sampling every 5 ms;
//! - a level counts once it has read the same for 20 ms
//!   ([`DebounceSettings::DEFAULT_STABLE`]), on press and on release, so
//!   chatter of either edge is ignored and a press is accepted 20–25 ms after
//!   the contact closes;
//! - a press is the released → pressed edge of the debounced level: holding
//!   the button gives one press;
//! - after an accepted press, presses of the same button are ignored for the
//!   config's `press_interval`;
//! - the first stable level after start never counts, so a stuck button does
//!   not print a ticket at every restart; a button held for more than
//!   [`STUCK_WARNING`] is logged as probably stuck or mis-wired.
//!
//! A pin that fails to read is logged once (and again when it recovers) and
//! reads as "not pressed" meanwhile.

mod debounce;
mod simulated;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use embedded_hal::digital::InputPin;
use kiosk_config::{ActiveLevel, ButtonPin, Department, DepartmentId};
use tokio::sync::mpsc;

pub use debounce::{ButtonDebouncer, DebounceSettings, Press, SampleOutcome};
pub use simulated::SimulatedButton;

/// A button held longer than this is reported as stuck or wired with the
/// wrong `active` level.
pub const STUCK_WARNING: Duration = Duration::from_secs(30);

/// An accepted press of a department's button, sent to the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonPress {
    /// The department whose button was pressed.
    pub department: DepartmentId,
    /// Whether it was the department's priority button.
    pub priority: bool,
}

/// Which button of which department sits on which pin, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonWiring {
    /// The department the button issues tickets for.
    pub department: DepartmentId,
    /// Whether it is the department's priority button.
    pub priority: bool,
    /// The BCM pin and the level it reads while pressed.
    pub pin: ButtonPin,
}

impl ButtonWiring {
    /// Every configured button of the center, ordinary then priority, in
    /// department order.
    pub fn from_departments(departments: &[Department]) -> Vec<ButtonWiring> {
        let mut wiring = Vec::new();
        for department in departments {
            let buttons = [
                (department.button, false),
                (department.priority_button, true),
            ];
            for (pin, priority) in buttons {
                if let Some(pin) = pin {
                    wiring.push(ButtonWiring {
                        department: department.id.clone(),
                        priority,
                        pin,
                    });
                }
            }
        }
        wiring
    }
}

/// One opened button: its pin and what a press of it means.
#[derive(Debug)]
pub struct ButtonInput<P> {
    /// The pin the button is read from.
    pub pin: P,
    /// What the button is for and the level it reads while pressed.
    pub wiring: ButtonWiring,
}

/// The state kept per button by a [`ButtonPanel`].
#[derive(Debug)]
struct Button<P> {
    /// The pin and its meaning.
    input: ButtonInput<P>,
    /// Debounce, edge and interval state.
    debouncer: ButtonDebouncer,
    /// The last read failed (logged once until it reads again).
    read_failing: bool,
    /// The current hold was already reported as stuck.
    stuck_reported: bool,
}

/// All the kiosk's buttons: read each pin, debounce it, report presses.
///
/// [`poll`](Self::poll) is synchronous and takes the time from the caller,
/// so tests drive it with a fake clock; [`ButtonPoller`] runs it on a thread.
#[derive(Debug)]
pub struct ButtonPanel<P> {
    /// The buttons, in the order given.
    buttons: Vec<Button<P>>,
    /// Sampling, debounce and interval.
    settings: DebounceSettings,
}

impl<P: InputPin> ButtonPanel<P> {
    /// A panel over already opened pins.
    pub fn new(inputs: Vec<ButtonInput<P>>, settings: DebounceSettings) -> Self {
        let buttons = inputs
            .into_iter()
            .map(|input| Button {
                input,
                debouncer: ButtonDebouncer::new(&settings),
                read_failing: false,
                stuck_reported: false,
            })
            .collect();
        Self { buttons, settings }
    }

    /// A panel with every button of `departments`, each pin opened by `open`
    /// (`crate::rpi::Gpio::button` on the Pi, a simulated or mock pin
    /// elsewhere). Stops at the first pin that fails to open.
    pub fn from_config<E>(
        departments: &[Department],
        settings: DebounceSettings,
        mut open: impl FnMut(&ButtonWiring) -> Result<P, E>,
    ) -> Result<Self, E> {
        let inputs = ButtonWiring::from_departments(departments)
            .into_iter()
            .map(|wiring| {
                Ok(ButtonInput {
                    pin: open(&wiring)?,
                    wiring,
                })
            })
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Self::new(inputs, settings))
    }

    /// The sampling, debounce and interval settings.
    pub fn settings(&self) -> &DebounceSettings {
        &self.settings
    }

    /// Number of buttons.
    pub fn len(&self) -> usize {
        self.buttons.len()
    }

    /// Whether there are no buttons (a kiosk driven only by the API).
    pub fn is_empty(&self) -> bool {
        self.buttons.is_empty()
    }

    /// Read every pin once at `now_ms` (a monotonic millisecond clock) and
    /// return the presses accepted by this round, in button order.
    pub fn poll(&mut self, now_ms: u64) -> Vec<ButtonPress> {
        let mut presses = Vec::new();
        for button in &mut self.buttons {
            let pressed = button.read();
            let wiring = &button.input.wiring;
            match button.debouncer.sample_detailed(pressed, now_ms) {
                SampleOutcome::Accepted(_) => {
                    tracing::debug!(department = %wiring.department, priority = wiring.priority, "button pressed");
                    presses.push(ButtonPress {
                        department: wiring.department.clone(),
                        priority: wiring.priority,
                    });
                }
                SampleOutcome::TooSoon { wait_ms, .. } => {
                    tracing::debug!(
                        department = %wiring.department,
                        priority = wiring.priority,
                        wait_ms,
                        "press ignored: within press_interval of the previous ticket"
                    );
                }
                SampleOutcome::Nothing => {}
            }
            button.report_stuck(now_ms);
        }
        presses
    }

    /// Give the pins back (tests check their mocks with `.done()`).
    pub fn into_inputs(self) -> Vec<ButtonInput<P>> {
        self.buttons.into_iter().map(|b| b.input).collect()
    }
}

impl<P: InputPin> Button<P> {
    /// Whether the button reads pressed; a read error reads as released.
    fn read(&mut self) -> bool {
        let wiring = &self.input.wiring;
        match self.input.pin.is_high() {
            Ok(high) => {
                if self.read_failing {
                    self.read_failing = false;
                    tracing::info!(department = %wiring.department, pin = wiring.pin.pin, "button pin reads again");
                }
                match wiring.pin.active {
                    ActiveLevel::High => high,
                    ActiveLevel::Low => !high,
                }
            }
            Err(err) => {
                if !self.read_failing {
                    self.read_failing = true;
                    tracing::error!(
                        department = %wiring.department,
                        pin = wiring.pin.pin,
                        error = ?err,
                        "cannot read button pin; treating it as not pressed. Check the wiring and that no other program uses this GPIO"
                    );
                }
                false
            }
        }
    }

    /// Warn once per hold when a button stays down too long.
    fn report_stuck(&mut self, now_ms: u64) {
        let held = self.debouncer.held_ms(now_ms);
        if held == 0 {
            self.stuck_reported = false;
        } else if !self.stuck_reported && u128::from(held) >= STUCK_WARNING.as_millis() {
            self.stuck_reported = true;
            let wiring = &self.input.wiring;
            tracing::warn!(
                department = %wiring.department,
                pin = wiring.pin.pin,
                held_s = held / 1000,
                "button held down for a long time: it may be stuck, or its `active` level in the config may be the wrong way round"
            );
        }
    }
}

/// The thread that polls a [`ButtonPanel`] and sends presses to the kiosk.
#[derive(Debug)]
pub struct ButtonPoller {
    /// The polling thread.
    thread: JoinHandle<()>,
}

impl ButtonPoller {
    /// Start polling `panel` every `poll_every` on a thread named `buttons`.
    ///
    /// Presses go to `presses` with `try_send`: when the kiosk has not yet
    /// taken earlier presses and the channel is full, the press is dropped
    /// and logged rather than queued behind a slow printer. The thread ends
    /// when `shutdown` becomes `true` (checked every round) or the receiver
    /// is dropped.
    pub fn spawn<P>(
        mut panel: ButtonPanel<P>,
        presses: mpsc::Sender<ButtonPress>,
        shutdown: Arc<AtomicBool>,
    ) -> io::Result<Self>
    where
        P: InputPin + Send + 'static,
    {
        let every = panel.settings().poll_every;
        let thread = std::thread::Builder::new()
            .name("buttons".into())
            .spawn(move || {
                let start = Instant::now();
                while !shutdown.load(Ordering::SeqCst) {
                    let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                    for press in panel.poll(now_ms) {
                        match presses.try_send(press) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(press)) => tracing::warn!(
                                department = %press.department,
                                "press dropped: the kiosk is still handling earlier presses"
                            ),
                            Err(mpsc::error::TrySendError::Closed(_)) => {
                                tracing::debug!("press receiver gone; button polling stops");
                                return;
                            }
                        }
                    }
                    std::thread::sleep(every);
                }
                tracing::debug!("button polling stopped on shutdown");
            })?;
        Ok(Self { thread })
    }

    /// Wait for the thread to end (after setting the shutdown flag).
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("button polling thread panicked");
        }
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}
