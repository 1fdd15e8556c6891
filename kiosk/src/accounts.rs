//! Staff accounts and device tokens, kept in `accounts.json` in the data
//! directory.
//!
//! This module owns who exists (name, role, password hash, assigned
//! counters, disabled flag; device tokens by digest) and how a password or a
//! bearer token becomes a [`Principal`]. How secrets are hashed and checked is
//! `auth`'s; what each route allows is the API's.
//!
//! # Why a JSON file and not the store
//!
//! The queue store's API is deliberately narrow (tickets and events), and
//! accounts are administered by the `kiosk user` / `kiosk token` commands
//! while the daemon runs and holds sled's lock. A small file written
//! atomically (temporary file, fsync, rename, fsync of the directory) can be
//! changed by either side: every [`Accounts`] call first checks the file's
//! modification stamp and re-reads it when another process changed it, so a
//! `kiosk user add` takes effect in the running daemon on the next request.
//! Two processes writing in the same instant is the one race left (the last
//! write wins); technicians do not do that in practice. The file holds
//! argon2id hashes and token digests only, never a secret, and is created
//! with mode 0600.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::auth::{
    hash_password, new_secret, token_digest, verify_password, PasswordError, Principal, Role,
};

/// The file's name inside the data directory.
pub const FILE_NAME: &str = "accounts.json";

/// The longest account or token name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file exists but cannot be read.
    #[error("cannot read the accounts file {path}: {source}; check its permissions")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS reported.
        source: std::io::Error,
    },
    /// The file is not valid accounts JSON.
    #[error("the accounts file {path} is unreadable: {source}; restore it from a backup or move it away and add the accounts again")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What serde reported.
        source: serde_json::Error,
    },
    /// Writing the file failed; nothing changed.
    #[error("cannot write the accounts file {path}: {source}; check free space and that the data directory is writable")]
    Write {
        /// The file (or its temporary sibling).
        path: PathBuf,
        /// What the OS reported.
        source: std::io::Error,
    },
    /// The name is empty, too long or has characters other than letters,
    /// digits, `.`, `-` and `_`.
    #[error("invalid name {0:?}: use 1 to 64 letters, digits, '.', '-' or '_'")]
    InvalidName(String),
    /// An account or token with this name exists.
    #[error("the name {0:?} is already used by an account or a device token")]
    NameTaken(String),
    /// No account with this name.
    #[error("no account named {0:?}")]
    UnknownUser(String),
    /// No device token with this name.
    #[error("no device token named {0:?}")]
    UnknownToken(String),
    /// The role does not fit (a person cannot be `display`, …).
    #[error("{0}")]
    WrongRole(String),
    /// The counters given do not fit the role.
    #[error("{0}")]
    Counters(String),
    /// The new password is refused.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The display name is too long or holds control characters.
    #[error("invalid display name {0:?}: use at most 40 characters, no line breaks")]
    InvalidDisplayName(String),
    /// Disabling this account would leave no admin able to log in.
    #[error("{0:?} is the last enabled admin; add another admin before disabling it")]
    LastAdmin(String),
}

/// A person's account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccount {
    /// Login name, recorded as the actor of what the person does.
    pub name: String,
    /// `admin` or `staff`.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Counters a staff member may act for (ignored for admins).
    pub counters: Vec<u16>,
    /// A disabled account cannot log in; its sessions stop working.
    pub disabled: bool,
    /// When it was created, Unix ms.
    pub created_ms: i64,
    /// Sessions started before this (Unix ms) are over: set when the
    /// password changes, so a `kiosk user passwd` in another process logs
    /// the person out of the running daemon too. Absent in older files.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_after_ms: i64,
    /// The name citizens see on the counter display and the hall board
    /// ("Nguyễn Thị Lan"); optional. Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A device's bearer token as stored (the secret itself is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceToken {
    /// The device's name ("bang-san", "quay-3"), recorded as the actor.
    pub name: String,
    /// `display`, `keypad`, or `admin` for scripts.
    pub role: Role,
    /// The keypad's counter.
    pub counter: Option<u16>,
    /// BLAKE2b-256 of the token, hex.
    pub digest: String,
    /// When it was created, Unix ms.
    pub created_ms: i64,
}

/// An account as shown to admins (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Assigned counters.
    pub counters: Vec<u16>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// When it was created, Unix ms.
    pub created_ms: i64,
    /// The name shown on counter displays, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A device token as shown to admins (no digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Device name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The keypad's counter.
    pub counter: Option<u16>,
    /// When it was created, Unix ms.
    pub created_ms: i64,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    /// Format version (1).
    version: u32,
    /// People.
    users: Vec<UserAccount>,
    /// Devices.
    tokens: Vec<DeviceToken>,
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// A handle on the accounts file; clones share one cache.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// The cache, behind one lock.
    shared: Arc<Mutex<Cache>>,
}

#[derive(Debug)]
struct Cache {
    /// The file.
    path: PathBuf,
    /// Its contents as last read or written.
    file: AccountsFile,
    /// The stamp of that version (`None`: no file yet).
    stamp: Option<Stamp>,
    /// Token digest → index in `file.tokens`.
    by_digest: HashMap<String, usize>,
}

fn stamp_of(path: &Path) -> Result<Option<Stamp>, AccountsError> {
    match fs::metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::MetadataExt;
            Ok(Some(Stamp {
                modified: meta.modified().ok(),
                len: meta.len(),
                inode: meta.ino(),
            }))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AccountsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Checks a user or token name.
pub fn check_name(name: &str) -> Result<(), AccountsError> {
    let count = name.chars().count();
    let ok = (1..=MAX_NAME_CHARS).contains(&count)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AccountsError::InvalidName(name.to_owned()))
    }
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("not a real password, only for timing").unwrap_or_default())
}

impl Cache {
    fn index(&mut self) {
        self.by_digest = self
            .file
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.digest.clone(), i))
            .collect();
    }

    /// Re-reads the file when another process changed it.
    fn refresh(&mut self) -> Result<(), AccountsError> {
        let stamp = stamp_of(&self.path)?;
        if stamp == self.stamp {
            return Ok(());
        }
        self.file = match stamp {
            None => AccountsFile {
                version: 1,
                ..AccountsFile::default()
            },
            Some(_) => {
                let text =
                    fs::read_to_string(&self.path).map_err(|source| AccountsError::Read {
                        path: self.path.clone(),
                        source,
                    })?;
                serde_json::from_str(&text).map_err(|source| AccountsError::Parse {
                    path: self.path.clone(),
                    source,
                })?
            }
        };
        self.stamp = stamp;
        self.index();
        Ok(())
    }

    /// Refreshes, but keeps serving the last good version when the file
    /// became unreadable (logged): a broken edit must not lock everyone out.
    fn refresh_for_read(&mut self) {
        if let Err(err) = self.refresh() {
            tracing::warn!(error = %err, "keeping the accounts read earlier");
        }
    }

    /// Applies `change` to a fresh copy and writes it; memory changes only
    /// when the file was written.
    fn update<T>(
        &mut self,
        change: impl FnOnce(&mut AccountsFile) -> Result<T, AccountsError>,
    ) -> Result<T, AccountsError> {
        self.refresh()?;
        let mut file = self.file.clone();
        file.version = 1;
        let out = change(&mut file)?;
        write_atomically(&self.path, &file)?;
        self.file = file;
        self.stamp = stamp_of(&self.path)?;
        self.index();
        Ok(out)
    }

    fn name_taken(file: &AccountsFile, name: &str) -> bool {
        file.users.iter().any(|u| u.name == name) || file.tokens.iter().any(|t| t.name == name)
    }
}

fn write_atomically(path: &Path, file: &AccountsFile) -> Result<(), AccountsError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| AccountsError::Write { path, source }
    };
    let mut text = serde_json::to_vec_pretty(file).map_err(|e| AccountsError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    text.push(b'\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(write_err(dir))?;
    crate::atomic_file::replace(path, &text, 0o600).map_err(|e| AccountsError::Write {
        path: e.path,
        source: e.source,
    })
}

fn check_counters(role: Role, counters: &[u16]) -> Result<(), AccountsError> {
    match role {
        Role::Staff if counters.is_empty() => Err(AccountsError::Counters(
            "a staff account needs at least one counter (--counter N)".into(),
        )),
        Role::Admin if !counters.is_empty() => Err(AccountsError::Counters(
            "an admin may act at every counter; give no counters".into(),
        )),
        _ => Ok(()),
    }
}

impl Accounts {
    /// The accounts file of a data directory.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// Opens `path` (a missing file means no accounts yet).
    pub fn open(path: &Path) -> Result<Accounts, AccountsError> {
        let mut cache = Cache {
            path: path.to_owned(),
            file: AccountsFile {
                version: 1,
                ..AccountsFile::default()
            },
            stamp: None,
            by_digest: HashMap::new(),
        };
        cache.refresh()?;
        Ok(Accounts {
            shared: Arc::new(Mutex::new(cache)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The file this handle reads and writes.
    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// Every account, by name.
    pub fn users(&self) -> Vec<UserInfo> {
        let mut cache = self.lock();
        cache.refresh_for_read();
        let mut users: Vec<UserInfo> = cache
            .file
            .users
            .iter()
            .map(|u| UserInfo {
                name: u.name.clone(),
                role: u.role,
                counters: u.counters.clone(),
                disabled: u.disabled,
                created_ms: u.created_ms,
                display_name: u.display_name.clone(),
            })
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        users
    }

    /// Every device token, by name.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        let mut cache = self.lock();
        cache.refresh_for_read();
        let mut tokens: Vec<TokenInfo> = cache
            .file
            .tokens
            .iter()
            .map(|t| TokenInfo {
                name: t.name.clone(),
                role: t.role,
                counter: t.counter,
                created_ms: t.created_ms,
            })
            .collect();
        tokens.sort_by(|a, b| a.name.cmp(&b.name));
        tokens
    }

    /// Adds a person's account. Hashing takes a moment (argon2id): call it
    /// off async threads.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        counters: &[u16],
    ) -> Result<(), AccountsError> {
        check_name(name)?;
        if !matches!(role, Role::Admin | Role::Staff) {
            return Err(AccountsError::WrongRole(format!(
                "a person's account is admin or staff, not {}; use `kiosk token add` for devices",
                role.as_str()
            )));
        }
        check_counters(role, counters)?;
        let password_hash = hash_password(password)?;
        let mut counters = counters.to_vec();
        counters.sort_unstable();
        counters.dedup();
        self.lock().update(|file| {
            if Cache::name_taken(file, name) {
                return Err(AccountsError::NameTaken(name.to_owned()));
            }
            file.users.push(UserAccount {
                name: name.to_owned(),
                role,
                password_hash,
                counters,
                disabled: false,
                created_ms: now_ms(),
                sessions_after_ms: 0,
                display_name: None,
            });
            Ok(())
        })
    }

    /// Sets a new password (and enables nothing else); every session the
    /// account had is over.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountsError> {
        let password_hash = hash_password(password)?;
        self.lock().update(|file| {
            let user = file
                .users
                .iter_mut()
                .find(|u| u.name == name)
                .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
            user.password_hash = password_hash;
            user.sessions_after_ms = now_ms();
            Ok(())
        })
    }

    /// Disables or re-enables an account. The last enabled admin cannot be
    /// disabled.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), AccountsError> {
        self.lock().update(|file| {
            let enabled_admins = file
                .users
                .iter()
                .filter(|u| u.role == Role::Admin && !u.disabled)
                .count();
            let user = file
                .users
                .iter_mut()
                .find(|u| u.name == name)
                .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
            if disabled && user.role == Role::Admin && !user.disabled && enabled_admins == 1 {
                return Err(AccountsError::LastAdmin(name.to_owned()));
            }
            user.disabled = disabled;
            Ok(())
        })
    }

    /// The longest display name, in characters (it must fit a counter
    /// display's line).
    pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

    /// Sets or clears (`None` or blank) the name shown on counter displays.
    pub fn set_display_name(&self, name: &str, display: Option<&str>) -> Result<(), AccountsError> {
        let display = display.map(str::trim).filter(|d| !d.is_empty());
        if let Some(d) = display {
            if d.chars().count() > Self::MAX_DISPLAY_NAME_CHARS || d.chars().any(char::is_control) {
                return Err(AccountsError::InvalidDisplayName(d.to_owned()));
            }
        }
        // Typed on any keyboard: one normal form, as the printer's text.
        let display: Option<String> =
            display.map(|d| unicode_normalization::UnicodeNormalization::nfc(d).collect());
        self.lock().update(|file| {
            let user = file
                .users
                .iter_mut()
                .find(|u| u.name == name)
                .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
            user.display_name = display;
            Ok(())
        })
    }

    /// The display name of account `name`, if it has one.
    pub fn display_name(&self, name: &str) -> Option<String> {
        let mut cache = self.lock();
        cache.refresh_for_read();
        cache
            .file
            .users
            .iter()
            .find(|u| u.name == name)
            .and_then(|u| u.display_name.clone())
    }

    /// Replaces a staff member's counters.
    pub fn set_counters(&self, name: &str, counters: &[u16]) -> Result<(), AccountsError> {
        let mut counters = counters.to_vec();
        counters.sort_unstable();
        counters.dedup();
        self.lock().update(|file| {
            let user = file
                .users
                .iter_mut()
                .find(|u| u.name == name)
                .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
            check_counters(user.role, &counters)?;
            user.counters = counters;
            Ok(())
        })
    }

    /// Makes a device token and returns the secret: it is shown once and
    /// only its digest is kept.
    pub fn add_token(
        &self,
        name: &str,
        role: Role,
        counter: Option<u16>,
    ) -> Result<String, AccountsError> {
        check_name(name)?;
        match (role, counter) {
            (Role::Keypad, None) => {
                return Err(AccountsError::Counters(
                    "a keypad token needs its counter (--counter N)".into(),
                ))
            }
            (Role::Keypad, Some(_)) => {}
            (Role::Display | Role::Admin | Role::Reader | Role::Touch, None) => {}
            (Role::Display | Role::Admin | Role::Reader | Role::Touch, Some(_)) => {
                return Err(AccountsError::Counters(format!(
                    "a {} token has no counter; leave out --counter",
                    role.as_str()
                )))
            }
            (Role::Staff, _) => {
                return Err(AccountsError::WrongRole(
                    "device tokens are display, keypad, reader (the city hub), touch (a touch screen) or admin (for scripts); staff log in with a password".into(),
                ))
            }
        }
        let secret = new_secret();
        let digest = token_digest(&secret);
        self.lock().update(|file| {
            if Cache::name_taken(file, name) {
                return Err(AccountsError::NameTaken(name.to_owned()));
            }
            file.tokens.push(DeviceToken {
                name: name.to_owned(),
                role,
                counter,
                digest,
                created_ms: now_ms(),
            });
            Ok(())
        })?;
        Ok(secret)
    }

    /// Removes a device token; the device is refused from its next request.
    pub fn revoke_token(&self, name: &str) -> Result<(), AccountsError> {
        self.lock().update(|file| {
            let before = file.tokens.len();
            file.tokens.retain(|t| t.name != name);
            if file.tokens.len() == before {
                return Err(AccountsError::UnknownToken(name.to_owned()));
            }
            Ok(())
        })
    }

    /// Who holds this bearer token, if it is a live one.
    pub fn authenticate_token(&self, token: &str) -> Option<Principal> {
        let digest = token_digest(token);
        let mut cache = self.lock();
        cache.refresh_for_read();
        let index = *cache.by_digest.get(&digest)?;
        let t = cache.file.tokens.get(index)?;
        Some(Principal {
            name: t.name.clone(),
            role: t.role,
            counters: t.counter.into_iter().collect(),
        })
    }

    /// Who this is, if the name and password match an enabled account.
    /// Slow on purpose (argon2id): call it off async threads.
    pub fn authenticate_password(&self, name: &str, password: &str) -> Option<Principal> {
        let found = {
            let mut cache = self.lock();
            cache.refresh_for_read();
            cache.file.users.iter().find(|u| u.name == name).cloned()
        };
        match found {
            Some(user) => {
                let ok = verify_password(&user.password_hash, password);
                (ok && !user.disabled).then_some(Principal {
                    name: user.name,
                    role: user.role,
                    counters: user.counters,
                })
            }
            None => {
                // Same work as for a real account, so timing does not tell
                // which names exist.
                let _ = verify_password(dummy_hash(), password);
                None
            }
        }
    }

    /// The enabled account `name` as it is now, if a session it started at
    /// `started_ms` (Unix ms) is still good: not disabled, no new password
    /// since.
    pub fn session_principal(&self, name: &str, started_ms: i64) -> Option<Principal> {
        let mut cache = self.lock();
        cache.refresh_for_read();
        cache
            .file
            .users
            .iter()
            .find(|u| u.name == name && !u.disabled && started_ms >= u.sessions_after_ms)
            .map(|u| Principal {
                name: u.name.clone(),
                role: u.role,
                counters: u.counters.clone(),
            })
    }

    /// Whether a person's account with this name exists (enabled or not).
    pub fn has_user(&self, name: &str) -> bool {
        let mut cache = self.lock();
        cache.refresh_for_read();
        cache.file.users.iter().any(|u| u.name == name)
    }

    /// The enabled account `name` as it is now (role and counters may have
    /// changed since its session started).
    pub fn principal(&self, name: &str) -> Option<Principal> {
        let mut cache = self.lock();
        cache.refresh_for_read();
        cache
            .file
            .users
            .iter()
            .find(|u| u.name == name && !u.disabled)
            .map(|u| Principal {
                name: u.name.clone(),
                role: u.role,
                counters: u.counters.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_temp() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        (dir, accounts)
    }

    #[test]
    fn display_names_are_checked_normalised_and_kept() {
        let (dir, accounts) = open_temp();
        accounts
            .add_user("lan", Role::Staff, "mật khẩu của Lan", &[1])
            .unwrap();
        assert_eq!(accounts.display_name("lan"), None);
        // Typed decomposed (e + combining marks): stored in NFC.
        let decomposed = "Nguye\u{302}\u{303}n Thi\u{323} Lan";
        accounts.set_display_name("lan", Some(decomposed)).unwrap();
        let again = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        assert_eq!(again.display_name("lan").as_deref(), Some("Nguyễn Thị Lan"));
        assert!(matches!(
            again.set_display_name("lan", Some(&"x".repeat(41))),
            Err(AccountsError::InvalidDisplayName(_))
        ));
        assert!(matches!(
            again.set_display_name("lan", Some("Lan\nHai")),
            Err(AccountsError::InvalidDisplayName(_))
        ));
        assert!(matches!(
            again.set_display_name("ai-do", Some("Ai đó")),
            Err(AccountsError::UnknownUser(_))
        ));
        // Blank clears it.
        again.set_display_name("lan", Some("  ")).unwrap();
        assert_eq!(again.display_name("lan"), None);
    }

    #[test]
    fn users_persist_and_authenticate() {
        let (dir, accounts) = open_temp();
        accounts
            .add_user("quantri", Role::Admin, "mật khẩu dài", &[])
            .unwrap();
        accounts
            .add_user("lan", Role::Staff, "mật khẩu của Lan", &[3, 1, 3])
            .unwrap();
        let again = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        let lan = again
            .authenticate_password("lan", "mật khẩu của Lan")
            .unwrap();
        assert_eq!(lan.role, Role::Staff);
        assert_eq!(lan.counters, vec![1, 3]);
        assert!(again.authenticate_password("lan", "sai mật khẩu").is_none());
        assert!(again
            .authenticate_password("ai-do", "mật khẩu dài")
            .is_none());
        let text = fs::read_to_string(Accounts::path_in(dir.path())).unwrap();
        assert!(!text.contains("mật khẩu"));
    }

    #[test]
    fn another_process_writing_the_file_is_seen() {
        let (dir, daemon) = open_temp();
        let cli = Accounts::open(&Accounts::path_in(dir.path())).unwrap();
        let token = cli.add_token("bang-san", Role::Display, None).unwrap();
        let who = daemon.authenticate_token(&token).unwrap();
        assert_eq!(who.name, "bang-san");
        cli.revoke_token("bang-san").unwrap();
        assert!(daemon.authenticate_token(&token).is_none());
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let (_dir, accounts) = open_temp();
        assert!(matches!(
            accounts.add_user("a b", Role::Admin, "mật khẩu dài", &[]),
            Err(AccountsError::InvalidName(_))
        ));
        assert!(matches!(
            accounts.add_user("lan", Role::Staff, "mật khẩu dài", &[]),
            Err(AccountsError::Counters(_))
        ));
        assert!(matches!(
            accounts.add_user("lan", Role::Display, "mật khẩu dài", &[]),
            Err(AccountsError::WrongRole(_))
        ));
        assert!(matches!(
            accounts.add_token("quay-1", Role::Keypad, None),
            Err(AccountsError::Counters(_))
        ));
        accounts
            .add_user("quantri", Role::Admin, "mật khẩu dài", &[])
            .unwrap();
        assert!(matches!(
            accounts.add_token("quantri", Role::Display, None),
            Err(AccountsError::NameTaken(_))
        ));
        assert!(matches!(
            accounts.set_disabled("quantri", true),
            Err(AccountsError::LastAdmin(_))
        ));
    }

    #[test]
    fn disabled_accounts_cannot_log_in() {
        let (_dir, accounts) = open_temp();
        accounts
            .add_user("quantri", Role::Admin, "mật khẩu dài", &[])
            .unwrap();
        accounts
            .add_user("lan", Role::Staff, "mật khẩu dài", &[1])
            .unwrap();
        accounts.set_disabled("lan", true).unwrap();
        assert!(accounts
            .authenticate_password("lan", "mật khẩu dài")
            .is_none());
        assert!(accounts.principal("lan").is_none());
        accounts.set_disabled("lan", false).unwrap();
        accounts.set_counters("lan", &[2]).unwrap();
        assert_eq!(accounts.principal("lan").unwrap().counters, vec![2]);
    }
}
