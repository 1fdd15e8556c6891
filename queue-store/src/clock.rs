//! Where the kiosk gets the time from.
//!
//! Everything that depends on "now" (service days, opening hours, event
//! times) asks a [`Clock`], so tests and simulations can move time with a
//! [`ManualClock`]. This module does not interpret time: service days and
//! opening hours live in the store.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// The shared current instant.
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Jump to `at` (forwards or backwards).
    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Move by `by` (may be negative).
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
        let other = clock.clone();
        clock.advance(SignedDuration::from_secs(90));
        assert_eq!(other.now().as_second(), 90);
        other.set(Timestamp::from_second(10).unwrap());
        assert_eq!(clock.now().as_second(), 10);
    }
}
