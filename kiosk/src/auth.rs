//! Who may do what: roles, password hashing, device tokens, browser sessions
//! and the slow-down of repeated failed logins.
//!
//! This module holds the rules and the in-memory parts (sessions, login
//! throttle). Accounts and device tokens are persisted by the store; this
//! module only says how their secrets are hashed and checked. Browser
//! sessions live in memory on purpose: a kiosk restart logs staff out, which
//! is cheaper than a durable session table on an SD card.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use blake2::{Blake2b, Digest};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// What an account or device may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Technicians: everything.
    Admin,
    /// Counter staff: only the counters assigned to them.
    Staff,
    /// A display: reads the event stream.
    Display,
    /// A counter keypad: calls for its one counter.
    Keypad,
    /// The city hub: reads the event stream and exports service days, and
    /// nothing else.
    Reader,
}

impl Role {
    /// The role's name as written on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Display => "display",
            Role::Keypad => "keypad",
            Role::Reader => "reader",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            "display" => Ok(Role::Display),
            "keypad" => Ok(Role::Keypad),
            "reader" => Ok(Role::Reader),
            other => Err(format!(
                "unknown role {other:?}: use admin, staff, display, keypad or reader"
            )),
        }
    }
}

/// The smallest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a new password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Too short to resist guessing on a LAN.
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// Hashing failed (should not happen with valid parameters).
    #[error("could not hash the password: {0}")]
    Hash(String),
}

/// Hashes a new password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|err| PasswordError::Hash(err.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| PasswordError::Hash(err.to_string()))
}

/// Checks a password against a stored PHC hash; a malformed hash never matches.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new random secret (device token, session id, CSRF token): 32 bytes, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    // rand's default generator is a CSPRNG seeded from the OS.
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// How a device token is stored: its BLAKE2b-256 digest, hex.
///
/// Tokens are long random secrets, so a fast hash is enough and lets every
/// request be checked without argon2's deliberate cost.
pub fn token_digest(token: &str) -> String {
    let digest = Blake2b::<blake2::digest::consts::U32>::digest(token.as_bytes());
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets without leaking where they differ through timing.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who is making a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Account or device name, recorded in events as the actor.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Counters it may act for (staff: assigned ones; keypad: its one).
    pub counters: Vec<u16>,
}

impl Principal {
    /// Whether this principal may act at `counter`.
    pub fn may_act_at(&self, counter: u16) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Staff | Role::Keypad => self.counters.contains(&counter),
            Role::Display | Role::Reader => false,
        }
    }
}

/// A logged-in browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who logged in.
    pub principal: Principal,
    /// Token the page must echo in the `X-CSRF-Token` header on every change.
    pub csrf: String,
    /// When the session stops being accepted.
    pub expires: Instant,
}

/// Browser sessions by session id, in memory.
#[derive(Debug)]
pub struct Sessions {
    /// Session id → session.
    by_id: Mutex<HashMap<String, Session>>,
    /// How long a session lasts after login.
    lifetime: Duration,
}

impl Sessions {
    /// An empty table whose sessions last `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Sessions {
            by_id: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    /// How long a session lasts (for the cookie's Max-Age).
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session; returns its id and the session.
    pub fn start(&self, principal: Principal, now: Instant) -> (String, Session) {
        let id = new_secret();
        let session = Session {
            principal,
            csrf: new_secret(),
            expires: now + self.lifetime,
        };
        let mut table = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, s| s.expires > now);
        table.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with this id, if any.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let table = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        table.get(id).filter(|s| s.expires > now).cloned()
    }

    /// Ends one session (logout).
    pub fn end(&self, id: &str) {
        let mut table = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(id);
    }

    /// Ends every session of an account (disabled, password reset).
    pub fn end_all_of(&self, name: &str) {
        let mut table = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, s| s.principal.name != name);
    }

    /// Names of the accounts with a live session (for the live view).
    pub fn logged_in(&self, now: Instant) -> Vec<Principal> {
        let table = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Principal> = table
            .values()
            .filter(|s| s.expires > now)
            .map(|s| s.principal.clone())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }
}

/// Slows down repeated failed logins per client address and per account.
///
/// After `free_attempts` failures, each further attempt must wait a delay
/// that doubles per failure up to `max_delay`. A success clears the record.
#[derive(Debug)]
pub struct LoginThrottle {
    /// Failures by key (address or account name).
    failures: Mutex<HashMap<String, Failures>>,
    /// Failures allowed before delays start.
    free_attempts: u32,
    /// Delay after the first counted failure.
    base_delay: Duration,
    /// Longest delay.
    max_delay: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl LoginThrottle {
    /// A throttle with the given limits.
    pub fn new(free_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        LoginThrottle {
            failures: Mutex::new(HashMap::new()),
            free_attempts,
            base_delay,
            max_delay,
        }
    }

    fn keys(addr: IpAddr, account: &str) -> [String; 2] {
        [format!("ip:{addr}"), format!("user:{account}")]
    }

    /// How long the caller must still wait before trying again, if at all.
    pub fn wait_needed(&self, addr: IpAddr, account: &str, now: Instant) -> Option<Duration> {
        let table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(addr, account)
            .iter()
            .filter_map(|key| table.get(key))
            .filter_map(|f| {
                let delay = self.delay_after(f.count)?;
                let ready = f.last + delay;
                (ready > now).then(|| ready - now)
            })
            .max()
    }

    fn delay_after(&self, count: u32) -> Option<Duration> {
        let over = count.checked_sub(self.free_attempts)?;
        let factor = 1u32.checked_shl(over.min(16)).unwrap_or(u32::MAX);
        Some((self.base_delay * factor).min(self.max_delay))
    }

    /// Records a failed attempt.
    pub fn failed(&self, addr: IpAddr, account: &str, now: Instant) {
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() > 10_000 {
            // Bound memory under a spray of made-up names.
            let max = self.max_delay;
            table.retain(|_, f| now.duration_since(f.last) < max);
        }
        for key in Self::keys(addr, account) {
            let entry = table.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Records a success: clears both records.
    pub fn succeeded(&self, addr: IpAddr, account: &str) {
        let mut table = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(addr, account) {
            table.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_rejects_wrong_ones() {
        let hash = hash_password("mật khẩu dài").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "mật khẩu dài"));
        assert!(!verify_password(&hash, "mật khẩu dai"));
        assert!(!verify_password("not a hash", "mật khẩu dài"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash_password("1234567"), Err(PasswordError::TooShort));
    }

    #[test]
    fn token_digest_is_stable_and_distinct() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
        assert!(secrets_equal(&a, &a.clone()));
        assert!(!secrets_equal(&a, &b));
    }

    #[test]
    fn staff_act_only_at_assigned_counters() {
        let staff = Principal {
            name: "lan".into(),
            role: Role::Staff,
            counters: vec![3],
        };
        assert!(staff.may_act_at(3));
        assert!(!staff.may_act_at(4));
        let display = Principal {
            role: Role::Display,
            ..staff.clone()
        };
        assert!(!display.may_act_at(3));
    }

    #[test]
    fn sessions_expire() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let now = Instant::now();
        let who = Principal {
            name: "lan".into(),
            role: Role::Staff,
            counters: vec![1],
        };
        let (id, _) = sessions.start(who, now);
        assert!(sessions.get(&id, now + Duration::from_secs(59)).is_some());
        assert!(sessions.get(&id, now + Duration::from_secs(61)).is_none());
        sessions.end_all_of("lan");
        assert!(sessions.get(&id, now).is_none());
    }

    #[test]
    fn failed_logins_are_slowed_down_and_success_clears() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(1), Duration::from_secs(30));
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.wait_needed(addr, "lan", now), None);
            throttle.failed(addr, "lan", now);
        }
        assert_eq!(
            throttle.wait_needed(addr, "lan", now),
            Some(Duration::from_secs(1))
        );
        for _ in 0..10 {
            throttle.failed(addr, "lan", now);
        }
        assert_eq!(
            throttle.wait_needed(addr, "lan", now),
            Some(Duration::from_secs(30))
        );
        // Another address trying the same account is slowed too.
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(throttle.wait_needed(other, "lan", now).is_some());
        throttle.succeeded(addr, "lan");
        assert_eq!(throttle.wait_needed(addr, "lan", now), None);
    }
}
