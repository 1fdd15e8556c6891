//! The `kiosk` command line: the clap definitions `main.rs` parses and the
//! package build renders into the `kiosk(1)` manual page and the bash
//! completion (`xtask`), so the manual cannot drift from the binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Queue ticket machine of a public-administration service center.
// clap turns doc comments into help text: the flattened and subcommand
// fields have none on purpose.
#[allow(missing_docs)]
#[derive(Parser)]
#[command(name = "kiosk", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `kiosk`.
#[derive(Subcommand)]
pub enum Command {
    /// Run the ticket machine: buttons, printer, LEDs and the LAN API.
    Run {
        /// The center's TOML file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the whole kiosk on the embedded Phú Xuân configuration with
    /// simulated buttons, printer and LEDs.
    Demo {
        /// Folder for the demo's queue data and printed tickets.
        #[arg(long, default_value = "kiosk-demo")]
        dir: PathBuf,
        /// Address of the LAN API and the demo page.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Check a center configuration and print a summary, or every error found.
    CheckConfig {
        /// The center's TOML file.
        file: PathBuf,
    },
    /// Manage staff and technician accounts (stored in the data directory).
    #[command(subcommand)]
    User(crate::commands::user::UserCommand),
    /// Manage device tokens for displays and counter keypads.
    #[command(subcommand)]
    Token(crate::commands::token::TokenCommand),
    /// Figures of a range of service days: table, CSV or JSON.
    Report(crate::commands::report::ReportArgs),
    /// Print a sample ticket with every Vietnamese tone, or write it to files.
    PrintTest {
        /// The center's TOML file (printer settings).
        #[arg(long)]
        config: PathBuf,
        /// Write a PNG of exactly the raster that would be sent.
        #[arg(long)]
        preview: Option<PathBuf>,
        /// Write the exact bytes that would be sent to the printer.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_documented_subcommand_parses() {
        let cli = Cli::try_parse_from(["kiosk", "check-config", "c.toml"]).unwrap();
        assert!(
            matches!(cli.command, Command::CheckConfig { file } if file == std::path::Path::new("c.toml"))
        );
        let cli = Cli::try_parse_from(["kiosk", "demo"]).unwrap();
        assert!(matches!(cli.command, Command::Demo { listen, .. } if listen.port() == 8080));
        assert!(
            Cli::try_parse_from(["kiosk", "run"]).is_err(),
            "run needs --config"
        );
    }
}
