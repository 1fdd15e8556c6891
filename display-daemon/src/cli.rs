//! The `display-daemon` command line: the clap definitions `main.rs` parses
//! and the package build renders into the `display-daemon(1)` manual page
//! and the bash completion (`xtask`), so the manual cannot drift from the
//! binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Follows the kiosk's event stream and drives hall boards, counter displays,
/// voice and keypads.
#[derive(Debug, Parser)]
#[command(name = "display-daemon", version)]
pub struct Cli {
    /// The display's config file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A technician tool to run instead of the daemon.
    #[command(subcommand)]
    pub command: Option<Tool>,
}

/// Technician tools.
#[derive(Debug, Subcommand)]
pub enum Tool {
    /// Run the daemon (the default without a subcommand).
    Run,
    /// Print the sentence announced for a call; with --wav, write its audio
    /// (chime and repeats included) without playing it.
    Say {
        /// Ticket number or label, e.g. 1005 or A005.
        number: String,
        /// Counter number.
        counter: u16,
        /// Write the announcement's audio to this WAV file.
        #[arg(long, value_name = "FILE")]
        wav: Option<PathBuf>,
    },
    /// List the words a folder of recorded voice clips needs, one per line
    /// (record each as WORD.wav).
    VoiceClips {
        /// Only the words missing from the configured clip folder.
        #[arg(long)]
        missing: bool,
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
    fn config_is_global_and_the_subcommand_optional() {
        let cli = Cli::try_parse_from(["display-daemon", "--config", "d.toml"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.config, Some(PathBuf::from("d.toml")));
        let cli = Cli::try_parse_from(["display-daemon", "say", "1005", "3", "--config", "d.toml"])
            .unwrap();
        assert!(matches!(cli.command, Some(Tool::Say { counter: 3, .. })));
        assert_eq!(cli.config, Some(PathBuf::from("d.toml")));
    }
}
