//! Slowing down password guessing, for every server that checks passwords
//! from the network (the kiosk's API, the city hub's dashboard):
//! [`LoginThrottle`] counts failed logins per address (and per address and
//! account) before the password is checked and answers how long to wait;
//! [`PasswordChecks`] runs the checks (argon2id: about 19 MiB and tens of
//! milliseconds each) on a few threads of their own and never more at once,
//! so a flood of logins costs bounded memory and answers 429 at once.
//!
//! It does not know accounts, hashes or HTTP: each server checks its own
//! passwords and answers in its own words.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits of the login throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Attempts one address may make at one account before delays start.
    pub free_attempts: u32,
    /// Attempts one address may make at any accounts before delays start
    /// (a shared reception desk where several people log in).
    pub free_attempts_per_address: u32,
    /// Delay after the first counted failure; it doubles per failure.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Password checks allowed in a burst, from everyone together.
    pub global_burst: u32,
    /// Password checks allowed per minute on average, from everyone
    /// together, once the burst is spent.
    pub global_per_minute: u32,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            free_attempts: 5,
            free_attempts_per_address: 20,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            global_burst: 60,
            global_per_minute: 120,
        }
    }
}

/// Slows down password guessing.
///
/// An attempt is counted **before** its password is checked, so parallel
/// requests cannot all slip past the count. Failures are kept per (account,
/// client address) and per client address, never per account alone: a
/// stranger guessing at `quantri` from one address slows only that address,
/// and the admin can still log in from the office. After the free attempts,
/// each further attempt must wait a delay that doubles per failure up to the
/// longest delay; a success clears the records of its address. On top, a
/// global ceiling (a token bucket) bounds the checks made per minute by
/// everyone together, which is what bounds guessing from many addresses.
#[derive(Debug)]
pub struct LoginThrottle {
    /// Failures by key.
    failures: Mutex<HashMap<ThrottleKey, Failures>>,
    /// The global ceiling.
    bucket: Mutex<Bucket>,
    /// The limits.
    limits: ThrottleLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    /// One address trying one account.
    Pair(IpAddr, String),
    /// One address, whatever the account.
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Option<Instant>,
}

/// Why an attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address failed too often (at this account, or at all): wait.
    Throttled(Duration),
    /// Everyone together made too many attempts lately: wait.
    Ceiling(Duration),
}

impl Refusal {
    /// How long to wait before trying again.
    pub fn wait(self) -> Duration {
        match self {
            Refusal::Throttled(wait) | Refusal::Ceiling(wait) => wait,
        }
    }
}

/// The most failure records kept; beyond it the oldest are forgotten first.
const MAX_RECORDS: usize = 10_000;

impl LoginThrottle {
    /// A throttle with the given limits.
    pub fn new(limits: ThrottleLimits) -> Self {
        LoginThrottle {
            failures: Mutex::new(HashMap::new()),
            bucket: Mutex::new(Bucket {
                tokens: f64::from(limits.global_burst),
                refilled: None,
            }),
            limits,
        }
    }

    fn keys(addr: IpAddr, account: &str) -> [(ThrottleKey, u32); 2] {
        // Bound the key: the name is at most 256 bytes (checked by the API).
        [
            (ThrottleKey::Pair(addr, account.to_owned()), 0),
            (ThrottleKey::Address(addr), 1),
        ]
    }

    fn free(&self, which: u32) -> u32 {
        if which == 0 {
            self.limits.free_attempts
        } else {
            self.limits.free_attempts_per_address
        }
    }

    /// How long the caller must still wait before trying again, if at all.
    pub fn wait_needed(&self, addr: IpAddr, account: &str, now: Instant) -> Option<Duration> {
        let table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.wait_in(&table, addr, account, now)
    }

    /// The longest delay `table` still imposes on this address and account.
    fn wait_in(
        &self,
        table: &HashMap<ThrottleKey, Failures>,
        addr: IpAddr,
        account: &str,
        now: Instant,
    ) -> Option<Duration> {
        Self::keys(addr, account)
            .iter()
            .filter_map(|(key, which)| Some((table.get(key)?, *which)))
            .filter_map(|(f, which)| {
                let delay = self.delay_after(f.count, self.free(which))?;
                let ready = f.last + delay;
                (ready > now).then(|| ready - now)
            })
            .max()
    }

    fn delay_after(&self, count: u32, free: u32) -> Option<Duration> {
        let over = count.checked_sub(free)?;
        let factor = 1u32.checked_shl(over.min(16)).unwrap_or(u32::MAX);
        Some((self.limits.base_delay * factor).min(self.limits.max_delay))
    }

    /// Admits an attempt and counts it as a failure until
    /// [`succeeded`](Self::succeeded) says otherwise, or refuses it.
    pub fn begin(&self, addr: IpAddr, account: &str, now: Instant) -> Result<(), Refusal> {
        let mut table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wait) = self.wait_in(&table, addr, account, now) {
            return Err(Refusal::Throttled(wait));
        }
        self.take_token(now)?;
        if table.len() >= MAX_RECORDS {
            // Bound memory under a spray of made-up names: forget records
            // whose delay has run out, then the oldest.
            let max = self.limits.max_delay;
            table.retain(|_, f| now.duration_since(f.last) < max);
            if table.len() >= MAX_RECORDS {
                let mut ages: Vec<Instant> = table.values().map(|f| f.last).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                table.retain(|_, f| f.last > cut);
            }
        }
        for (key, _) in Self::keys(addr, account) {
            let entry = table.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
        Ok(())
    }

    fn take_token(&self, now: Instant) -> Result<(), Refusal> {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let per_sec = f64::from(self.limits.global_per_minute.max(1)) / 60.0;
        if let Some(then) = bucket.refilled {
            let gained = now.saturating_duration_since(then).as_secs_f64() * per_sec;
            bucket.tokens = (bucket.tokens + gained).min(f64::from(self.limits.global_burst));
        }
        bucket.refilled = Some(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec);
            Err(Refusal::Ceiling(wait))
        }
    }

    /// Records a success: clears the records of this address.
    pub fn succeeded(&self, addr: IpAddr, account: &str) {
        let mut table = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (key, _) in Self::keys(addr, account) {
            table.remove(&key);
        }
    }
}

/// Runs password checks (argon2id, 19 MiB and tens of milliseconds each) on
/// a few threads of their own, never on the blocking pool that issues
/// tickets, and never more at once than there are threads.
///
/// A check needs a [`CheckPermit`]; when every thread is busy there is none
/// and the caller answers 429 at once instead of queueing, so a flood of
/// logins costs at most `threads` × 19 MiB and never delays a press.
#[derive(Debug)]
pub struct PasswordChecks {
    /// Work for the threads; closed when this is dropped.
    jobs: Mutex<std::sync::mpsc::SyncSender<Job>>,
    /// One permit per thread.
    permits: Arc<tokio::sync::Semaphore>,
    /// Checks run so far.
    evaluated: AtomicU64,
    /// Checks running now.
    running: Arc<AtomicUsize>,
    /// The most checks that ever ran at once.
    peak: Arc<AtomicUsize>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The right to run one password check now.
#[derive(Debug)]
pub struct CheckPermit<'a> {
    checks: &'a PasswordChecks,
    permit: tokio::sync::OwnedSemaphorePermit,
}

impl PasswordChecks {
    /// Starts `threads` checking threads (at least one).
    pub fn start(threads: usize) -> std::io::Result<PasswordChecks> {
        let threads = threads.max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(move || loop {
                    let job = {
                        let queue = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        queue.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })?;
        }
        Ok(PasswordChecks {
            jobs: Mutex::new(jobs),
            permits: Arc::new(tokio::sync::Semaphore::new(threads)),
            evaluated: AtomicU64::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// A permit when a thread is free now.
    pub fn try_permit(&self) -> Option<CheckPermit<'_>> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        Some(CheckPermit {
            checks: self,
            permit,
        })
    }

    /// Password checks run so far.
    pub fn evaluated(&self) -> u64 {
        self.evaluated.load(Ordering::Relaxed)
    }

    /// The most checks that ran at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl CheckPermit<'_> {
    /// Runs `check` on a checking thread and waits for its answer; `None`
    /// if it panicked.
    pub async fn run<T: Send + 'static>(
        self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let CheckPermit { checks, permit } = self;
        checks.evaluated.fetch_add(1, Ordering::Relaxed);
        let (running, peak) = (Arc::clone(&checks.running), Arc::clone(&checks.peak));
        let job: Job = Box::new(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = check();
            running.fetch_sub(1, Ordering::SeqCst);
            // The thread is free again before the caller hears back.
            drop(permit);
            let _ = answer.send(out);
        });
        let sent = {
            let jobs = checks
                .jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Never full: there are as many slots as permits.
            jobs.try_send(job).is_ok()
        };
        if !sent {
            return None;
        }
        answered.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(free: u32) -> ThrottleLimits {
        ThrottleLimits {
            free_attempts: free,
            free_attempts_per_address: 100,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            global_burst: 1000,
            global_per_minute: 60,
        }
    }

    #[test]
    fn attempts_are_counted_before_the_check_and_success_clears() {
        let throttle = LoginThrottle::new(limits(3));
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.begin(addr, "lan", now), Ok(()));
        }
        // Three attempts in flight, none answered yet: the fourth waits.
        assert_eq!(
            throttle.begin(addr, "lan", now),
            Err(Refusal::Throttled(Duration::from_secs(1)))
        );
        let later = now + Duration::from_secs(1);
        for _ in 0..10 {
            let _ = throttle.begin(addr, "lan", later + Duration::from_secs(60));
        }
        assert!(throttle.wait_needed(addr, "lan", later).is_some());
        throttle.succeeded(addr, "lan");
        assert_eq!(throttle.wait_needed(addr, "lan", later), None);
    }

    #[test]
    fn a_stranger_does_not_lock_the_account_for_other_addresses() {
        let throttle = LoginThrottle::new(limits(3));
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        let office: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..50 {
            let _ = throttle.begin(stranger, "quantri", now);
        }
        assert!(throttle.begin(stranger, "quantri", now).is_err());
        assert_eq!(throttle.begin(office, "quantri", now), Ok(()));
    }

    #[test]
    fn an_address_spraying_names_is_slowed_too() {
        let throttle = LoginThrottle::new(ThrottleLimits {
            free_attempts_per_address: 4,
            ..limits(3)
        });
        let addr: IpAddr = "192.0.2.9".parse().unwrap();
        let now = Instant::now();
        for i in 0..4 {
            assert_eq!(throttle.begin(addr, &format!("user{i}"), now), Ok(()));
        }
        assert!(matches!(
            throttle.begin(addr, "user9", now),
            Err(Refusal::Throttled(_))
        ));
    }

    #[test]
    fn the_global_ceiling_bounds_everyone_together() {
        let throttle = LoginThrottle::new(ThrottleLimits {
            global_burst: 5,
            global_per_minute: 60,
            ..limits(3)
        });
        let now = Instant::now();
        for i in 0..5u8 {
            let addr = IpAddr::from([10, 0, 0, i]);
            assert_eq!(throttle.begin(addr, "quantri", now), Ok(()));
        }
        let refused = throttle.begin(IpAddr::from([10, 0, 1, 1]), "quantri", now);
        assert_eq!(refused, Err(Refusal::Ceiling(Duration::from_secs(1))));
        let later = now + Duration::from_secs(1);
        assert_eq!(
            throttle.begin(IpAddr::from([10, 0, 1, 1]), "quantri", later),
            Ok(())
        );
    }

    #[tokio::test]
    async fn password_checks_never_run_more_than_their_threads() {
        let checks = PasswordChecks::start(2).unwrap();
        let a = checks.try_permit().unwrap();
        let b = checks.try_permit().unwrap();
        assert!(
            checks.try_permit().is_none(),
            "a third permit with two threads"
        );
        let (x, y) = tokio::join!(a.run(|| 1), b.run(|| 2));
        assert_eq!((x, y), (Some(1), Some(2)));
        assert!(checks.try_permit().is_some());
        assert_eq!(checks.evaluated(), 2);
        assert!(checks.peak() <= 2);
        let name = checks
            .try_permit()
            .unwrap()
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .flatten()
            .unwrap();
        assert!(name.starts_with("password-check-"), "{name}");
    }
}
