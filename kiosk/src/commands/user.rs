//! `kiosk user add|list|passwd|disable|enable`: people's accounts, edited in
//! the data directory's `accounts.json` (see [`crate::accounts`]). A running
//! kiosk sees the change on its next request; no restart is needed.
//!
//! Passwords are read from the terminal without echo, asked twice; when
//! stdin is not a terminal, the first line of stdin is the password (for
//! provisioning scripts: `echo "$PASS" | kiosk user add …`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::accounts::Accounts;
use crate::auth::Role;

/// Where the accounts file is: the data directory of a center's config.
#[derive(Debug, Clone, Args)]
pub struct DataDirArgs {
    /// The center's TOML file (its `kiosk.data_dir` holds the accounts).
    #[arg(long, value_name = "FILE", required_unless_present = "data_dir")]
    pub config: Option<PathBuf>,
    /// The data directory itself, instead of --config.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    /// Opens the accounts file these arguments point to.
    pub fn open(&self) -> anyhow::Result<Accounts> {
        let dir = match (&self.data_dir, &self.config) {
            (Some(dir), _) => dir.clone(),
            (None, Some(config)) => {
                let loaded = kiosk_config::load_center(config).map_err(|errors| {
                    anyhow::anyhow!(
                        "{} is not a valid center configuration (kiosk check-config {} shows why):\n{errors}",
                        config.display(),
                        config.display()
                    )
                })?;
                loaded.value.kiosk.data_dir
            }
            (None, None) => anyhow::bail!("give --config FILE or --data-dir DIR"),
        };
        let path = Accounts::path_in(&dir);
        Accounts::open(&path).with_context(|| format!("opening {}", path.display()))
    }
}

/// A person's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PersonRole {
    /// Technician: everything.
    Admin,
    /// Counter staff: only the assigned counters.
    Staff,
}

impl From<PersonRole> for Role {
    fn from(role: PersonRole) -> Role {
        match role {
            PersonRole::Admin => Role::Admin,
            PersonRole::Staff => Role::Staff,
        }
    }
}

/// `kiosk user …`.
// clap turns doc comments into help text: the flattened and subcommand
// fields have none on purpose.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is asked for (or read from stdin).
    Add {
        /// Login name (letters, digits, '.', '-', '_').
        name: String,
        /// admin (technicians) or staff (counters only).
        #[arg(long, value_enum)]
        role: PersonRole,
        /// A counter the staff member serves; repeat for several.
        #[arg(long = "counter", value_name = "N")]
        counters: Vec<u16>,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Set a new password (asked for, or read from stdin).
    Passwd {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Disable an account: it can no longer log in.
    Disable {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Enable a disabled account again.
    Enable {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Set the name shown on the counter displays and the hall board for
    /// this account ("Nguyễn Thị Lan"); without one, clear it.
    DisplayName {
        /// Login name.
        name: String,
        /// The display name, at most 40 characters.
        display_name: Option<String>,
        #[command(flatten)]
        data: DataDirArgs,
    },
}

/// Runs a `kiosk user` command.
pub fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Add {
            name,
            role,
            counters,
            data,
        } => {
            let accounts = data.open()?;
            let password = read_new_password(&format!("Password for {name}"))?;
            accounts
                .add_user(&name, role.into(), &password, &counters)
                .with_context(|| format!("adding {name}"))?;
            writeln!(out, "added {} account {name}", Role::from(role).as_str())?;
        }
        UserCommand::List { data } => {
            let accounts = data.open()?;
            list(&accounts, &mut out)?;
        }
        UserCommand::Passwd { name, data } => {
            let accounts = data.open()?;
            if !accounts.users().iter().any(|u| u.name == name) {
                anyhow::bail!("no account named {name:?} (kiosk user list shows them)");
            }
            let password = read_new_password(&format!("New password for {name}"))?;
            accounts
                .set_password(&name, &password)
                .with_context(|| format!("setting the password of {name}"))?;
            writeln!(out, "password of {name} changed")?;
        }
        UserCommand::Disable { name, data } => {
            data.open()?
                .set_disabled(&name, true)
                .with_context(|| format!("disabling {name}"))?;
            writeln!(out, "{name} disabled")?;
        }
        UserCommand::Enable { name, data } => {
            data.open()?
                .set_disabled(&name, false)
                .with_context(|| format!("enabling {name}"))?;
            writeln!(out, "{name} enabled")?;
        }
        UserCommand::DisplayName {
            name,
            display_name,
            data,
        } => {
            let accounts = data.open()?;
            accounts
                .set_display_name(&name, display_name.as_deref())
                .with_context(|| format!("setting the display name of {name}"))?;
            match accounts.display_name(&name) {
                Some(shown) => writeln!(out, "{name} is shown as {shown:?}")?,
                None => writeln!(out, "{name} has no display name")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the accounts as a table.
pub fn list(accounts: &Accounts, out: &mut impl Write) -> std::io::Result<()> {
    let users = accounts.users();
    if users.is_empty() {
        writeln!(
            out,
            "no accounts yet; add the first admin with: kiosk user add NAME --role admin --config FILE"
        )?;
        return Ok(());
    }
    writeln!(out, "{:<24} {:<6} {:<9} counters", "name", "role", "state")?;
    for user in users {
        let counters: Vec<String> = user.counters.iter().map(u16::to_string).collect();
        writeln!(
            out,
            "{:<24} {:<6} {:<9} {}",
            user.name,
            user.role.as_str(),
            if user.disabled { "disabled" } else { "enabled" },
            if counters.is_empty() {
                "-".to_string()
            } else {
                counters.join(",")
            }
        )?;
    }
    Ok(())
}

/// Reads a new password: twice without echo on a terminal, else the first
/// line of stdin.
pub fn read_new_password(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = prompt_hidden(&format!("{prompt}: "))?;
    let second = prompt_hidden("Again: ")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// Asks on stderr and reads a line from the terminal with echo off
/// (`stty -echo`; when stty is missing the password echoes and a warning
/// says so).
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    let mut err = std::io::stderr().lock();
    let hidden = stty("-echo");
    if !hidden {
        writeln!(
            err,
            "warning: cannot turn terminal echo off; the password will be visible"
        )?;
    }
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
        writeln!(err)?;
    }
    read.context("reading the password from the terminal")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
