//! Raspberry Pi GPIO for the counter keypad through `rppal` (cargo feature
//! `rpi`): the only module that names `rppal`.
//!
//! It owns opening the GPIO peripheral and turning the configured BCM pin
//! numbers into `rppal` pins, which implement embedded-hal's `InputPin` and
//! `OutputPin`: keys get the internal pull-up when active-low (pressed pulls
//! the pin to ground) and the pull-down when active-high; the confirmation
//! LED starts off. What is done with the pins is [`crate::keypad`]'s.
//!
//! # Troubleshooting
//!
//! - **Permission denied: /dev/gpiomem**: the user running the daemon must
//!   be in the `gpio` group (`sudo usermod -aG gpio display`, then restart
//!   the service).
//! - **Unknown Raspberry Pi model**: not running on a Pi; on a PC build
//!   without the `rpi` feature (the keypad is then unavailable).
//! - **Pin N is already in use**: another program holds that GPIO; stop it
//!   or change the pin in `[keypad]`.

use kiosk_config::{ActiveLevel, ButtonPin, LedPin};
use rppal::gpio;

/// What went wrong opening GPIO.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The GPIO peripheral could not be opened.
    #[error(
        "cannot open the Raspberry Pi GPIO (is this a Pi, and is the user in the `gpio` group?)"
    )]
    Open(#[source] gpio::Error),
    /// A configured pin could not be claimed.
    #[error("cannot use BCM GPIO {pin} for the {role}")]
    Pin {
        /// The BCM number from the config.
        pin: u8,
        /// What the pin is for.
        role: String,
        /// `rppal`'s reason.
        #[source]
        source: gpio::Error,
    },
}

/// The opened GPIO peripheral.
#[derive(Debug)]
pub struct Gpio {
    /// `rppal`'s handle.
    gpio: gpio::Gpio,
}

impl Gpio {
    /// Opens the GPIO peripheral (`/dev/gpiomem`).
    pub fn open() -> Result<Self, Error> {
        Ok(Self {
            gpio: gpio::Gpio::new().map_err(Error::Open)?,
        })
    }

    /// Claims a key's pin as an input with the pull resistor that keeps it
    /// released when nothing is pressed.
    pub fn button(&self, pin: ButtonPin, role: &str) -> Result<gpio::InputPin, Error> {
        let raw = self.claim(pin.pin, role)?;
        Ok(match pin.active {
            ActiveLevel::Low => raw.into_input_pullup(),
            ActiveLevel::High => raw.into_input_pulldown(),
        })
    }

    /// Claims the LED's pin as an output, initially off.
    pub fn led(&self, pin: LedPin, role: &str) -> Result<gpio::OutputPin, Error> {
        let raw = self.claim(pin.pin, role)?;
        Ok(match pin.active {
            ActiveLevel::Low => raw.into_output_high(),
            ActiveLevel::High => raw.into_output_low(),
        })
    }

    fn claim(&self, pin: u8, role: &str) -> Result<gpio::Pin, Error> {
        self.gpio.get(pin).map_err(|source| Error::Pin {
            pin,
            role: role.to_owned(),
            source,
        })
    }
}
