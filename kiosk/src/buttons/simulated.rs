//! A button without hardware: an [`InputPin`] whose level is set from code.
//!
//! Used by `kiosk demo` (keys in the terminal, buttons on a web page) and by
//! tests that run the real polling thread. It owns only the level; debounce
//! and rate limits still happen in the ordinary [`ButtonPanel`] code, so the
//! demo behaves like the Pi.
//!
//! [`ButtonPanel`]: super::ButtonPanel

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use embedded_hal::digital::{ErrorType, InputPin};

/// A simulated active-high button; clones share the same level.
#[derive(Debug, Clone, Default)]
pub struct SimulatedButton {
    /// `true` while "pressed" (the pin reads high).
    level: Arc<AtomicBool>,
    /// How many times the pin has been read.
    reads: Arc<AtomicU64>,
}

impl SimulatedButton {
    /// A released button.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hold the button down until [`release`](Self::release).
    pub fn press(&self) {
        self.level.store(true, Ordering::SeqCst);
    }

    /// Let the button go.
    pub fn release(&self) {
        self.level.store(false, Ordering::SeqCst);
    }

    /// How many times the pin has been read: lets a test wait until the
    /// poller has seen the button released long enough to count a press.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Whether it is held down now.
    pub fn is_pressed(&self) -> bool {
        self.level.load(Ordering::SeqCst)
    }
}

impl ErrorType for SimulatedButton {
    type Error = Infallible;
}

impl InputPin for SimulatedButton {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.is_pressed())
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        self.is_high().map(|high| !high)
    }
}
