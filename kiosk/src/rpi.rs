//! Raspberry Pi GPIO through `rppal` (cargo feature `rpi`): the only module
//! that names `rppal`.
//!
//! It owns opening the GPIO peripheral and turning configured BCM pin numbers
//! into `rppal` pins, which implement embedded-hal's `InputPin` and
//! `OutputPin`: buttons get the internal pull-up when active-low (pressed
//! pulls the pin to ground) and the pull-down when active-high; LEDs start
//! switched off. What is done with the pins — debounce, presses, lights —
//! lives in the generic [`crate::buttons`] and [`crate::leds`].
//!
//! Buttons are read by polling through the embedded-hal traits (see
//! [`crate::buttons`] for why). `rppal`'s interrupts, which can ask the
//! kernel for a debounce period, are deliberately not used: they are only
//! available through `rppal`'s own callback API, and the kernel's debounce
//! does not apply to polled reads, so debounce is done in software.
//!
//! # Troubleshooting
//!
//! - **Permission denied: /dev/gpiomem** (or `/dev/gpiochip0`): the user
//!   running the kiosk must be in the `gpio` group
//!   (`sudo usermod -aG gpio kiosk`, then log in again or restart the
//!   service); check with `ls -l /dev/gpiomem*`, which should show group
//!   `gpio` and mode `crw-rw----`. On a minimal image without the udev rule,
//!   add `SUBSYSTEM=="*gpiomem*", GROUP="gpio", MODE="0660"` to
//!   `/etc/udev/rules.d/99-gpio.rules` and reboot.
//! - **Unknown Raspberry Pi model**: the program is not running on a
//!   Raspberry Pi (or on one too new for this `rppal` version). On a PC use
//!   `kiosk demo`, or a build without the `rpi` feature.
//! - **Pin N is already in use**: another program (or a second kiosk) holds
//!   that GPIO; stop it, or use another pin in the config.
//! - **Pin N is not available**: the number is not a GPIO of this board; the
//!   config uses BCM numbers (GPIO17 is physical pin 11).

use kiosk_config::{ActiveLevel, ButtonPin, Department, LedPin, StatusLeds};
use rppal::gpio;

use crate::buttons::{ButtonPanel, DebounceSettings};
use crate::leds::StatusLights;

/// A button pin; implements `embedded_hal::digital::InputPin`.
pub type ButtonInputPin = gpio::InputPin;

/// An LED pin; implements `embedded_hal::digital::OutputPin`.
pub type LedOutputPin = gpio::OutputPin;

/// What went wrong opening GPIO.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The GPIO peripheral could not be opened at start-up.
    #[error(
        "cannot open the Raspberry Pi GPIO (is this a Pi, and is the user in the `gpio` group? see the Troubleshooting notes of kiosk::rpi)"
    )]
    Open(#[source] gpio::Error),
    /// A configured pin could not be claimed.
    #[error("cannot use BCM GPIO {pin} for the {role}")]
    Pin {
        /// The BCM number from the config.
        pin: u8,
        /// What the pin is for, e.g. "button of department ho-tich".
        role: String,
        /// `rppal`'s reason.
        #[source]
        source: gpio::Error,
    },
}

/// `Result` with this module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The opened GPIO peripheral.
#[derive(Debug)]
pub struct Gpio {
    /// `rppal`'s handle; pins keep their own reference to the peripheral.
    gpio: gpio::Gpio,
}

impl Gpio {
    /// Open the GPIO peripheral (`/dev/gpiomem`).
    pub fn open() -> Result<Self> {
        Ok(Self {
            gpio: gpio::Gpio::new().map_err(Error::Open)?,
        })
    }

    /// Claim a button's pin as an input with the pull resistor that keeps it
    /// released when nothing is pressed. `role` names it in errors.
    pub fn button(&self, pin: ButtonPin, role: &str) -> Result<ButtonInputPin> {
        let raw = self.claim(pin.pin, role)?;
        Ok(match pin.active {
            ActiveLevel::Low => raw.into_input_pullup(),
            ActiveLevel::High => raw.into_input_pulldown(),
        })
    }

    /// Claim an LED's pin as an output, initially off. `role` names it in
    /// errors.
    pub fn led(&self, pin: LedPin, role: &str) -> Result<LedOutputPin> {
        let raw = self.claim(pin.pin, role)?;
        Ok(match pin.active {
            ActiveLevel::Low => raw.into_output_high(),
            ActiveLevel::High => raw.into_output_low(),
        })
    }

    /// Every configured button of `departments`, opened and ready to poll.
    pub fn button_panel(
        &self,
        departments: &[Department],
        settings: DebounceSettings,
    ) -> Result<ButtonPanel<ButtonInputPin>> {
        ButtonPanel::from_config(departments, settings, |wiring| {
            let kind = if wiring.priority {
                "priority button"
            } else {
                "button"
            };
            self.button(
                wiring.pin,
                &format!("{kind} of department {}", wiring.department),
            )
        })
    }

    /// The status LEDs of `[kiosk.leds]`, opened and switched off.
    pub fn status_lights(&self, leds: &StatusLeds) -> Result<StatusLights<LedOutputPin>> {
        StatusLights::from_config(leds, |light, pin| {
            self.led(pin, &format!("{} status LED", light.config_name()))
        })
    }

    fn claim(&self, pin: u8, role: &str) -> Result<gpio::Pin> {
        self.gpio.get(pin).map_err(|source| Error::Pin {
            pin,
            role: role.to_owned(),
            source,
        })
    }
}
