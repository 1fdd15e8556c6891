//! Who may do what: roles, password hashing, device tokens, browser sessions
//! and the slow-down of repeated failed logins.
//!
//! This module holds the rules and the in-memory parts (sessions; the login
//! throttle and the password-check threads live in [`lan_server::login`],
//! shared with the city hub, and are re-exported here). Accounts and device tokens are persisted by the store; this
//! module only says how their secrets are hashed and checked. Browser
//! sessions live in memory on purpose: a kiosk restart logs staff out, which
//! is cheaper than a durable session table on an SD card.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use blake2::{Blake2b, Digest};
use rand::RngCore;
use serde::{Deserialize, Serialize};

pub use lan_server::login::{CheckPermit, LoginThrottle, PasswordChecks, Refusal, ThrottleLimits};

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
    /// The touch screen of a ticket machine that is not the kiosk's own Pi:
    /// the touch page's API only (`/api/v1/touch/…`).
    Touch,
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
            Role::Touch => "touch",
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
            "touch" => Ok(Role::Touch),
            other => Err(format!(
                "unknown role {other:?}: use admin, staff, display, keypad, reader or touch"
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

/// Compares two secrets without leaking where they differ through timing
/// (`subtle`'s constant-time comparison; only the lengths, which are public
/// for our fixed-size secrets, may show).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
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
            Role::Display | Role::Reader | Role::Touch => false,
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
    /// When it started, Unix ms: a password set later (even by
    /// `kiosk user passwd` in another process) ends it.
    pub started_ms: i64,
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
            started_ms: jiff::Timestamp::now().as_millisecond(),
        };
        let mut table = self
            .by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.retain(|_, s| s.expires > now);
        table.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with this id, if any.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let table = self
            .by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.get(id).filter(|s| s.expires > now).cloned()
    }

    /// Ends one session (logout).
    pub fn end(&self, id: &str) {
        let mut table = self
            .by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.remove(id);
    }

    /// Ends every session of an account (disabled, password reset).
    pub fn end_all_of(&self, name: &str) {
        let mut table = self
            .by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.retain(|_, s| s.principal.name != name);
    }

    /// Names of the accounts with a live session (for the live view).
    pub fn logged_in(&self, now: Instant) -> Vec<Principal> {
        let table = self
            .by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        assert!(!secrets_equal(&a, &a[..63]));
        assert!(!secrets_equal("", &a));
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
}
