//! The dashboard's accounts: a small JSON file of people who may look at
//! the city view, each `admin` or `viewer`, with an argon2id password hash
//! (the same algorithm and defaults as the kiosk's accounts; the kiosk's
//! own code is not shared because it lives in the kiosk crate with sled and
//! the hardware). No default account: the first is made with
//! `city-hub user add NAME --role admin`.
//!
//! The file is rewritten whole (temp file + rename), so a crash leaves the
//! old or the new file, never half of one. It holds hashes only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The city's technicians: everything a viewer sees, plus each
    /// center's link details (sequences, errors, what to do).
    Admin,
    /// Office staff: the dashboard and reports.
    Viewer,
}

/// One account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file cannot be read or written.
    #[error("accounts file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not an accounts file.
    #[error("accounts file {path} is not valid JSON ({message}); restore it from a backup or remove it and add the accounts again")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A name that cannot be used.
    #[error("the name {0:?} cannot be used: 1–32 characters of a-z, 0-9, '.', '-' or '_'")]
    BadName(String),
    /// The name exists already.
    #[error("an account {0:?} exists already")]
    Exists(String),
    /// Too short a password.
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// argon2 refused (should not happen).
    #[error("could not hash the password: {0}")]
    Hash(String),
}

/// The accounts file; cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    path: PathBuf,
    accounts: Arc<Mutex<Vec<Account>>>,
}

impl Accounts {
    /// Opens `path` (a missing file is no accounts yet).
    pub fn open(path: &Path) -> Result<Accounts, AccountsError> {
        let shown = path.display().to_string();
        let accounts = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AccountsError::Parse {
                path: shown,
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(AccountsError::Io {
                    path: shown,
                    source,
                })
            }
        };
        Ok(Accounts {
            path: path.to_owned(),
            accounts: Arc::new(Mutex::new(accounts)),
        })
    }

    /// Every account's name and role.
    pub fn list(&self) -> Vec<(String, Role)> {
        self.lock()
            .iter()
            .map(|a| (a.name.clone(), a.role))
            .collect()
    }

    /// Adds an account (argon2id: takes a moment, call it off async threads).
    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<(), AccountsError> {
        let valid = !name.is_empty()
            && name.len() <= 32
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            });
        if !valid {
            return Err(AccountsError::BadName(name.to_owned()));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AccountsError::TooShort);
        }
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| AccountsError::Hash(e.to_string()))?;
        let password_hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AccountsError::Hash(e.to_string()))?
            .to_string();
        let mut accounts = self.lock();
        if accounts.iter().any(|a| a.name == name) {
            return Err(AccountsError::Exists(name.to_owned()));
        }
        let mut next = accounts.clone();
        next.push(Account {
            name: name.to_owned(),
            role,
            password_hash,
        });
        self.write(&next)?;
        *accounts = next;
        Ok(())
    }

    /// The role of `name` when `password` is right (argon2id: slow on
    /// purpose, call it off async threads). An unknown name costs the same
    /// as a wrong password.
    pub fn check(&self, name: &str, password: &str) -> Option<Role> {
        let found = self.lock().iter().find(|a| a.name == name).cloned();
        // A fixed hash for unknown names, so timing does not tell names.
        let hash = found
            .as_ref()
            .map_or(DUMMY_HASH, |a| a.password_hash.as_str());
        let ok = PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        found.filter(|_| ok).map(|a| a.role)
    }

    fn write(&self, accounts: &[Account]) -> Result<(), AccountsError> {
        let io = |source| AccountsError::Io {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(accounts).unwrap_or_default();
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Account>> {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// argon2id of a random password nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2m7Jt0lU0QfO4F0yKqCwOq1c0JbJdH0r9kYbY0m0x0s";
