//! The per-button state machine: raw samples in, accepted presses out.
//!
//! It owns debounce (a level counts once it has been stable for
//! [`DebounceSettings::stable`]), edge detection (one press per press, however
//! long it is held) and the per-button rate limit
//! ([`DebounceSettings::press_interval`]). It knows nothing about pins,
//! clocks or departments: it is fed `(pressed, now_ms)` and is tested with a
//! fake time.

use std::time::Duration;

/// How raw samples become presses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebounceSettings {
    /// How often the pins are sampled by the polling driver.
    pub poll_every: Duration,
    /// A level (pressed or released) counts only after it has been read
    /// unchanged for this long. Mechanical buttons chatter for a few ms.
    pub stable: Duration,
    /// After an accepted press, further presses of the same button are
    /// ignored until this much time has passed (the config's
    /// `press_interval`): a hammering child gets one ticket per interval.
    pub press_interval: Duration,
}

impl DebounceSettings {
    /// Sample every 5 ms.
    pub const DEFAULT_POLL_EVERY: Duration = Duration::from_millis(5);
    /// A level must hold 20 ms: longer than the chatter of arcade and
    /// membrane buttons (typically under 10 ms), far shorter than the
    /// quickest real press (about 50 ms).
    pub const DEFAULT_STABLE: Duration = Duration::from_millis(20);

    /// The default sampling and debounce with the configured press interval.
    pub fn with_press_interval(press_interval: Duration) -> Self {
        Self {
            poll_every: Self::DEFAULT_POLL_EVERY,
            stable: Self::DEFAULT_STABLE,
            press_interval,
        }
    }
}

/// A press accepted by a [`ButtonDebouncer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Press {
    /// The time (caller's milliseconds) at which the press became stable and
    /// was accepted.
    pub at_ms: u64,
}

/// What a [`ButtonDebouncer`] concluded from one sample; see
/// [`ButtonDebouncer::sample_detailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleOutcome {
    /// Nothing changed that the kiosk must act on.
    Nothing,
    /// A new press, accepted.
    Accepted(Press),
    /// A new press, ignored because the previous accepted press of this
    /// button is younger than the press interval.
    TooSoon {
        /// When the press became stable.
        at_ms: u64,
        /// Milliseconds left until a press would be accepted again.
        wait_ms: u64,
    },
}

/// Debounce, edge detection and rate limit of one button.
///
/// The first stable level after creation is taken as the starting point and
/// never counts as a press: a button held (or stuck, or wired with the wrong
/// active level) while the kiosk starts does not print a ticket at every
/// restart.
#[derive(Debug, Clone)]
pub struct ButtonDebouncer {
    /// Debounce time in ms.
    stable_ms: u64,
    /// Press interval in ms.
    interval_ms: u64,
    /// The last raw sample and when that level was first seen.
    raw: Option<(bool, u64)>,
    /// The debounced level; `None` until the first level has been stable.
    stable: Option<bool>,
    /// When the last press was accepted.
    last_accepted_ms: Option<u64>,
}

impl ButtonDebouncer {
    /// A debouncer with the given stable time and press interval.
    pub fn new(settings: &DebounceSettings) -> Self {
        Self {
            stable_ms: millis(settings.stable),
            interval_ms: millis(settings.press_interval),
            raw: None,
            stable: None,
            last_accepted_ms: None,
        }
    }

    /// Feed one raw sample; returns the press it completes, if accepted.
    ///
    /// `now_ms` is any monotonic millisecond clock; a clock that goes
    /// backwards is treated as standing still.
    pub fn sample(&mut self, pressed: bool, now_ms: u64) -> Option<Press> {
        match self.sample_detailed(pressed, now_ms) {
            SampleOutcome::Accepted(press) => Some(press),
            SampleOutcome::Nothing | SampleOutcome::TooSoon { .. } => None,
        }
    }

    /// Like [`sample`](Self::sample), but also reports presses refused by the
    /// press interval, so the driver can log them.
    pub fn sample_detailed(&mut self, pressed: bool, now_ms: u64) -> SampleOutcome {
        let since = match self.raw {
            Some((level, since)) if level == pressed => since,
            _ => {
                self.raw = Some((pressed, now_ms));
                now_ms
            }
        };
        if self.stable == Some(pressed) || now_ms.saturating_sub(since) < self.stable_ms {
            return SampleOutcome::Nothing;
        }
        let previous = self.stable.replace(pressed);
        if previous != Some(false) || !pressed {
            // The first stable level, or a release: no press.
            return SampleOutcome::Nothing;
        }
        if let Some(last) = self.last_accepted_ms {
            let elapsed = now_ms.saturating_sub(last);
            if elapsed < self.interval_ms {
                return SampleOutcome::TooSoon {
                    at_ms: now_ms,
                    wait_ms: self.interval_ms - elapsed,
                };
            }
        }
        self.last_accepted_ms = Some(now_ms);
        SampleOutcome::Accepted(Press { at_ms: now_ms })
    }

    /// The debounced level: `Some(true)` while held down, `None` before the
    /// first stable sample.
    pub fn is_pressed(&self) -> Option<bool> {
        self.stable
    }

    /// Milliseconds the raw level has been pressed without interruption at
    /// `now_ms` (0 while released); the driver uses it to warn about a stuck
    /// button.
    pub fn held_ms(&self, now_ms: u64) -> u64 {
        match self.raw {
            Some((true, since)) => now_ms.saturating_sub(since),
            _ => 0,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: u64 = 5;

    fn settings(interval_ms: u64) -> DebounceSettings {
        DebounceSettings {
            poll_every: Duration::from_millis(STEP),
            stable: Duration::from_millis(20),
            press_interval: Duration::from_millis(interval_ms),
        }
    }

    /// A fake clock that advances by one poll step per sample.
    struct Bench {
        debouncer: ButtonDebouncer,
        now: u64,
        presses: Vec<u64>,
        too_soon: usize,
    }

    impl Bench {
        fn new(interval_ms: u64) -> Self {
            Self {
                debouncer: ButtonDebouncer::new(&settings(interval_ms)),
                now: 0,
                presses: Vec::new(),
                too_soon: 0,
            }
        }

        /// Hold a raw level for `ms` milliseconds of samples.
        fn hold(&mut self, pressed: bool, ms: u64) -> &mut Self {
            for _ in 0..ms.div_ceil(STEP) {
                match self.debouncer.sample_detailed(pressed, self.now) {
                    SampleOutcome::Accepted(p) => self.presses.push(p.at_ms),
                    SampleOutcome::TooSoon { .. } => self.too_soon += 1,
                    SampleOutcome::Nothing => {}
                }
                self.now += STEP;
            }
            self
        }
    }

    #[test]
    fn clean_press_is_accepted_once_stable() {
        let mut b = Bench::new(1000);
        b.hold(false, 100).hold(true, 100).hold(false, 100);
        // Pressed first sampled at 100 ms, stable 20 ms later.
        assert_eq!(b.presses, vec![120]);
    }

    #[test]
    fn press_shorter_than_stable_time_is_ignored() {
        let mut b = Bench::new(0);
        b.hold(false, 100).hold(true, 15).hold(false, 100);
        assert!(b.presses.is_empty());
    }

    #[test]
    fn chatter_on_press_and_release_gives_one_press() {
        let mut b = Bench::new(0);
        b.hold(false, 100);
        for _ in 0..4 {
            b.hold(true, 5).hold(false, 5);
        }
        b.hold(true, 200);
        for _ in 0..4 {
            b.hold(false, 5).hold(true, 5);
        }
        b.hold(false, 200);
        assert_eq!(b.presses.len(), 1);
    }

    #[test]
    fn held_button_gives_one_press() {
        let mut b = Bench::new(0);
        b.hold(false, 50).hold(true, 10_000).hold(false, 50);
        assert_eq!(b.presses.len(), 1);
        assert!(b.debouncer.is_pressed() == Some(false));
    }

    #[test]
    fn hammering_is_limited_to_one_press_per_interval() {
        let mut b = Bench::new(2000);
        b.hold(false, 50);
        // 50 ms down, 50 ms up: ten presses a second for three seconds.
        for _ in 0..30 {
            b.hold(true, 50).hold(false, 50);
        }
        assert_eq!(b.presses.len(), 2, "presses at {:?}", b.presses);
        assert_eq!(b.presses[1] - b.presses[0], 2000);
        assert_eq!(b.too_soon, 28);
    }

    #[test]
    fn button_held_at_start_does_not_press_until_released_and_pressed_again() {
        let mut b = Bench::new(0);
        b.hold(true, 500);
        assert!(b.presses.is_empty());
        b.hold(false, 50).hold(true, 50);
        assert_eq!(b.presses.len(), 1);
    }

    #[test]
    fn clock_going_backwards_does_not_panic_or_press() {
        let mut d = ButtonDebouncer::new(&settings(0));
        assert_eq!(d.sample(false, 1000), None);
        assert_eq!(d.sample(false, 1030), None);
        assert_eq!(d.sample(true, 10), None);
        assert_eq!(d.sample(true, 5), None);
        assert_eq!(d.sample(true, 40), Some(Press { at_ms: 40 }));
    }

    #[test]
    fn held_ms_counts_raw_pressed_time() {
        let mut d = ButtonDebouncer::new(&settings(0));
        d.sample(false, 0);
        d.sample(true, 100);
        assert_eq!(d.held_ms(400), 300);
        d.sample(false, 400);
        assert_eq!(d.held_ms(500), 0);
    }
}
