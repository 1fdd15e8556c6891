//! Status LEDs: which lights should be on, and driving them on GPIO outputs.
//!
//! This module owns the rule from the kiosk's condition to the four lights
//! ([`LightState::for_kiosk`], a pure function) and [`StatusLights`], which
//! writes them to any [`embedded_hal::digital::OutputPin`] — only the pins
//! whose light changed, each with its configured active level. It does not
//! find out the printer's state, the opening hours or the caps: the daemon
//! does, and calls [`StatusLights::show`] whenever one of them changes. Nor
//! does it name `rppal`: the Pi's pins come from `crate::rpi`.
//!
//! A pin that fails to write is logged and retried at the next `show`; a
//! broken LED never stops the kiosk.

use embedded_hal::digital::OutputPin;
use kiosk_config::{ActiveLevel, LedPin, StatusLeds};

/// What the kiosk knows that the lights show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KioskCondition {
    /// The printer answered its last status query with paper loaded, cover
    /// closed and no error.
    pub printer_ready: bool,
    /// The printer's paper-near-end sensor is on.
    pub paper_near_end: bool,
    /// Now is within the center's opening hours.
    pub open_now: bool,
    /// At least one department cannot issue more tickets today (cap reached
    /// or block exhausted).
    pub any_department_exhausted: bool,
}

/// Which of the four status lights are lit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LightState {
    /// Tickets can be issued: printer ready and the center open.
    pub ready: bool,
    /// The printer reports its paper near the end.
    pub paper_low: bool,
    /// Paper out, cover open or printer unreachable: no ticket can print.
    pub fault: bool,
    /// Outside opening hours, or a department has run out for the day.
    pub closed: bool,
}

impl LightState {
    /// All lights off (shown at shutdown).
    pub const OFF: LightState = LightState {
        ready: false,
        paper_low: false,
        fault: false,
        closed: false,
    };

    /// The lights for a kiosk in `condition`.
    ///
    /// "Ready" stays lit while a single department is exhausted, since the
    /// others still issue tickets; "closed" tells the technician why that
    /// department's button prints nothing.
    pub fn for_kiosk(condition: &KioskCondition) -> LightState {
        LightState {
            ready: condition.printer_ready && condition.open_now,
            paper_low: condition.paper_near_end,
            fault: !condition.printer_ready,
            closed: !condition.open_now || condition.any_department_exhausted,
        }
    }
}

/// Which light an LED shows; used in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Light {
    /// The "ready" light.
    Ready,
    /// The "paper low" light.
    PaperLow,
    /// The "fault" light.
    Fault,
    /// The "closed" light.
    Closed,
}

impl Light {
    /// The light's name as written in the config's `[kiosk.leds]`.
    pub fn config_name(self) -> &'static str {
        match self {
            Light::Ready => "ready",
            Light::PaperLow => "paper_low",
            Light::Fault => "fault",
            Light::Closed => "closed",
        }
    }
}

/// One opened status LED.
#[derive(Debug)]
pub struct StatusLed<P> {
    /// The output driving the LED.
    pub pin: P,
    /// The level that lights it.
    pub active: ActiveLevel,
}

/// One LED and what was last written to it.
#[derive(Debug)]
struct Driven<P> {
    /// The LED.
    led: StatusLed<P>,
    /// Lit or not as last written successfully; `None` before the first
    /// write and after a failed one, so the next `show` writes it.
    shown: Option<bool>,
}

/// The kiosk's status LEDs; each is optional.
#[derive(Debug)]
pub struct StatusLights<P> {
    /// Ready, paper low, fault, closed, in that order.
    leds: [(Light, Option<Driven<P>>); 4],
}

impl<P: OutputPin> StatusLights<P> {
    /// Lights over already opened pins; `None` for a light not fitted.
    pub fn new(
        ready: Option<StatusLed<P>>,
        paper_low: Option<StatusLed<P>>,
        fault: Option<StatusLed<P>>,
        closed: Option<StatusLed<P>>,
    ) -> Self {
        let driven = |led: Option<StatusLed<P>>| led.map(|led| Driven { led, shown: None });
        Self {
            leds: [
                (Light::Ready, driven(ready)),
                (Light::PaperLow, driven(paper_low)),
                (Light::Fault, driven(fault)),
                (Light::Closed, driven(closed)),
            ],
        }
    }

    /// The lights configured in `[kiosk.leds]`, each pin opened by `open`
    /// (`crate::rpi::Gpio::led` on the Pi). Stops at the first pin that
    /// fails to open.
    pub fn from_config<E>(
        config: &StatusLeds,
        mut open: impl FnMut(Light, LedPin) -> Result<P, E>,
    ) -> Result<Self, E> {
        let mut opened = |light: Light, pin: Option<LedPin>| -> Result<Option<StatusLed<P>>, E> {
            pin.map(|pin| {
                Ok(StatusLed {
                    pin: open(light, pin)?,
                    active: pin.active,
                })
            })
            .transpose()
        };
        Ok(Self::new(
            opened(Light::Ready, config.ready)?,
            opened(Light::PaperLow, config.paper_low)?,
            opened(Light::Fault, config.fault)?,
            opened(Light::Closed, config.closed)?,
        ))
    }

    /// Light the LEDs as `state` says, writing only those that changed.
    /// Returns how many pins failed to write (already logged).
    pub fn show(&mut self, state: LightState) -> usize {
        let wanted = [state.ready, state.paper_low, state.fault, state.closed];
        let mut failed = 0;
        for ((light, slot), lit) in self.leds.iter_mut().zip(wanted) {
            let Some(driven) = slot else { continue };
            if driven.shown == Some(lit) {
                continue;
            }
            let high = match driven.led.active {
                ActiveLevel::High => lit,
                ActiveLevel::Low => !lit,
            };
            let written = if high {
                driven.led.pin.set_high()
            } else {
                driven.led.pin.set_low()
            };
            match written {
                Ok(()) => driven.shown = Some(lit),
                Err(err) => {
                    driven.shown = None;
                    failed += 1;
                    tracing::error!(
                        light = light.config_name(),
                        lit,
                        error = ?err,
                        "cannot set status LED; will retry at the next change. Check the LED's pin in [kiosk.leds]"
                    );
                }
            }
        }
        failed
    }

    /// What the LEDs show as far as known (`false` for an LED not fitted or
    /// not yet written).
    pub fn shown(&self) -> LightState {
        let lit = |i: usize| {
            self.leds[i]
                .1
                .as_ref()
                .and_then(|d| d.shown)
                .unwrap_or(false)
        };
        LightState {
            ready: lit(0),
            paper_low: lit(1),
            fault: lit(2),
            closed: lit(3),
        }
    }

    /// Give the pins back, ready, paper low, fault, closed (tests check their
    /// mocks with `.done()`).
    pub fn into_pins(self) -> [Option<P>; 4] {
        self.leds.map(|(_, d)| d.map(|d| d.led.pin))
    }
}
