//! `kiosk token add|list|revoke`: bearer tokens for displays, keypads and
//! admin scripts, kept (as digests) in the data directory's
//! `accounts.json`. The token is printed once, when it is made.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use super::user::DataDirArgs;
use crate::auth::Role;

/// What a device token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceRole {
    /// A display: reads the event stream.
    Display,
    /// A counter keypad: calls for its one counter (--counter N).
    Keypad,
    /// An admin script.
    Admin,
    /// The city hub: reads the event stream and day exports only.
    Reader,
    /// A touch screen ticket page on another machine (`/touch`).
    Touch,
}

impl From<DeviceRole> for Role {
    fn from(role: DeviceRole) -> Role {
        match role {
            DeviceRole::Display => Role::Display,
            DeviceRole::Keypad => Role::Keypad,
            DeviceRole::Admin => Role::Admin,
            DeviceRole::Reader => Role::Reader,
            DeviceRole::Touch => Role::Touch,
        }
    }
}

/// `kiosk token …`.
// clap turns doc comments into help text: the flattened and subcommand
// fields have none on purpose.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once: put it in the display's config.
    Add {
        /// The device's name (letters, digits, '.', '-', '_').
        name: String,
        /// display, keypad, reader (the city hub) or admin.
        #[arg(long, value_enum)]
        role: DeviceRole,
        /// The keypad's counter.
        #[arg(long, value_name = "N")]
        counter: Option<u16>,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// List tokens (names only; tokens are never shown again).
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Revoke a token: the device is refused from its next request.
    Revoke {
        /// The device's name.
        name: String,
        #[command(flatten)]
        data: DataDirArgs,
    },
}

/// Runs a `kiosk token` command.
pub fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        TokenCommand::Add {
            name,
            role,
            counter,
            data,
        } => {
            let token = data
                .open()?
                .add_token(&name, role.into(), counter)
                .with_context(|| format!("adding the token {name}"))?;
            writeln!(out, "{token}")?;
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "token for {name} ({}) made; it is shown only this once: put it in the device's config (token = \"…\")",
                Role::from(role).as_str()
            )?;
        }
        TokenCommand::List { data } => {
            let tokens = data.open()?.tokens();
            if tokens.is_empty() {
                writeln!(out, "no device tokens yet; add one with: kiosk token add NAME --role display --config FILE")?;
            } else {
                writeln!(out, "{:<24} {:<8} counter", "name", "role")?;
                for t in tokens {
                    writeln!(
                        out,
                        "{:<24} {:<8} {}",
                        t.name,
                        t.role.as_str(),
                        t.counter.map_or_else(|| "-".to_string(), |c| c.to_string())
                    )?;
                }
            }
        }
        TokenCommand::Revoke { name, data } => {
            data.open()?
                .revoke_token(&name)
                .with_context(|| format!("revoking the token {name}"))?;
            writeln!(out, "token {name} revoked")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
