//! The wait a citizen is told on the phone page: a pure function of the
//! day's real service times, so it is tested on scripted days.
//!
//! # Method
//!
//! 1. The **counters considered** are an input: the kiosk passes the
//!    counters that serve the ticket's department (a ticket transferred to
//!    one counter: that counter). Whoever calls this decides which counters
//!    count as open (paused counters can be left out the same way).
//! 2. No counter → [`WaitEstimate::NoCounterOpen`].
//! 3. The **samples** are today's finished services (call → finish, or
//!    call → the "next" that closed it) at those counters, whatever the
//!    department: a counter busy with another department is just as busy.
//!    The newest [`RECENT_SAMPLES`] count, so a morning of long files does
//!    not weigh on the afternoon.
//! 4. Fewer than [`MIN_SAMPLES`] → [`WaitEstimate::NotEnoughData`] (early in
//!    the day the page says "chưa đủ dữ liệu" rather than a made-up figure).
//! 5. Otherwise: mean service time × people ahead ÷ counters considered.
//!    No one ahead gives zero ("sắp đến lượt bạn").
//!
//! It does not see who is being served right now or how long they have
//! been at the counter: the estimate is a rate, not a schedule.

use std::collections::BTreeSet;
use std::time::Duration;

use queue_protocol::WaitEstimate;

/// Services needed before a figure is given.
pub const MIN_SAMPLES: usize = 3;

/// The newest services averaged.
pub const RECENT_SAMPLES: usize = 20;

/// One finished service of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSample {
    /// The counter that served it.
    pub counter: u16,
    /// When it finished, Unix ms (the newest samples count).
    pub finished_at_ms: i64,
    /// From its call to its finish.
    pub took: Duration,
}

/// The wait for someone with `ahead` people before them, when the
/// `counters` serve their queue (see the module docs).
pub fn estimate_wait(
    samples: &[ServiceSample],
    counters: &BTreeSet<u16>,
    ahead: u32,
) -> WaitEstimate {
    if counters.is_empty() {
        return WaitEstimate::NoCounterOpen;
    }
    let mut relevant: Vec<&ServiceSample> = samples
        .iter()
        .filter(|s| counters.contains(&s.counter))
        .collect();
    if relevant.len() < MIN_SAMPLES {
        return WaitEstimate::NotEnoughData;
    }
    relevant.sort_by_key(|s| std::cmp::Reverse(s.finished_at_ms));
    relevant.truncate(RECENT_SAMPLES);
    let total: u128 = relevant.iter().map(|s| s.took.as_millis()).sum();
    let mean_ms = total / relevant.len() as u128;
    let wait_ms = mean_ms * u128::from(ahead) / counters.len() as u128;
    WaitEstimate::About {
        secs: u64::try_from(wait_ms / 1000).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn set(counters: &[u16]) -> BTreeSet<u16> {
        counters.iter().copied().collect()
    }

    /// A scripted day: each counter serves back to back from 7:30, each
    /// service taking `minutes`.
    fn day(counters: &[(u16, &[i64])]) -> Vec<ServiceSample> {
        let mut samples = Vec::new();
        for (counter, minutes) in counters {
            let mut at = 0;
            for m in *minutes {
                at += m * MIN;
                samples.push(ServiceSample {
                    counter: *counter,
                    finished_at_ms: at,
                    took: Duration::from_millis((m * MIN) as u64),
                });
            }
        }
        samples
    }

    #[test]
    fn early_day_has_not_enough_data() {
        assert_eq!(
            estimate_wait(&[], &set(&[1, 2]), 5),
            WaitEstimate::NotEnoughData
        );
        let two = day(&[(1, &[6]), (2, &[8])]);
        assert_eq!(
            estimate_wait(&two, &set(&[1, 2]), 5),
            WaitEstimate::NotEnoughData
        );
    }

    #[test]
    fn steady_day_is_mean_service_times_ahead_over_counters() {
        // Two counters at a steady 6 minutes a citizen: 4 ahead → 12 min.
        let samples = day(&[(1, &[6, 6, 6, 6]), (2, &[6, 6, 6])]);
        assert_eq!(
            estimate_wait(&samples, &set(&[1, 2]), 4),
            WaitEstimate::About { secs: 12 * 60 }
        );
        // One counter only: twice as long.
        assert_eq!(
            estimate_wait(&samples, &set(&[1]), 4),
            WaitEstimate::About { secs: 24 * 60 }
        );
        // Nobody ahead: called next.
        assert_eq!(
            estimate_wait(&samples, &set(&[1, 2]), 0),
            WaitEstimate::About { secs: 0 }
        );
    }

    #[test]
    fn only_the_counters_considered_count() {
        // Counter 3 (another department, 30 min each) does not slow counter 1.
        let samples = day(&[(1, &[4, 4, 4]), (3, &[30, 30, 30, 30])]);
        assert_eq!(
            estimate_wait(&samples, &set(&[1]), 3),
            WaitEstimate::About { secs: 12 * 60 }
        );
        // A paused counter left out of the set: its samples are ignored,
        // and with counter 1 alone too few remain.
        let samples = day(&[(1, &[4]), (2, &[5, 5, 5])]);
        assert_eq!(
            estimate_wait(&samples, &set(&[1]), 3),
            WaitEstimate::NotEnoughData
        );
    }

    #[test]
    fn the_newest_services_weigh_not_the_morning() {
        // 20 slow services in the morning, then 20 quick ones.
        let mut minutes = vec![20; RECENT_SAMPLES];
        minutes.extend(vec![2; RECENT_SAMPLES]);
        let samples = day(&[(1, &minutes)]);
        assert_eq!(
            estimate_wait(&samples, &set(&[1]), 5),
            WaitEstimate::About { secs: 10 * 60 }
        );
    }

    #[test]
    fn department_with_no_counter_open() {
        let samples = day(&[(1, &[6, 6, 6, 6])]);
        assert_eq!(
            estimate_wait(&samples, &BTreeSet::new(), 2),
            WaitEstimate::NoCounterOpen
        );
    }
}
