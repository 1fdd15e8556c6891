//! `xtask`: renders what the Debian packages ship besides the binaries,
//! from the binaries' own definitions, so none of it is written by hand
//! or can drift from the code:
//!
//! - `kiosk(1)` and `display-daemon(1)` from the clap definitions in
//!   `kiosk::cli` and `display_daemon::cli` (clap_mangen for the page,
//!   plus one subsection per subcommand with its arguments);
//! - `kiosk-center.toml(5)` from `kiosk_config::keys::CENTER_FILE`, the
//!   table the config crate's documentation also shows;
//! - the bash completions of both commands (clap_complete).
//!
//! `deploy/build-debs.sh` runs `cargo run -p xtask -- man DIR` and
//! `cargo run -p xtask -- completions DIR` on the build machine. It is a
//! crate of its own rather than a binary of the `tests` crate so that the
//! man-page and completion libraries stay out of every other crate's
//! dependencies, and the package build compiles only what it needs (the
//! host debug build of kiosk and display-daemon the tests already made).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Arg, Command, CommandFactory as _};
use kiosk_config::keys::{Section, CENTER_FILE};

const USAGE: &str = "usage: xtask man DIR [--date YYYY-MM-DD] | xtask completions DIR";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["man", dir] => write_man_pages(Path::new(dir), ""),
        ["man", dir, "--date", date] => write_man_pages(Path::new(dir), date),
        ["completions", dir] => write_completions(Path::new(dir)),
        _ => bail!("{USAGE}"),
    }
}

fn write_man_pages(dir: &Path, date: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = [
        ("kiosk.1", command_page(kiosk::cli::Cli::command(), date)?),
        (
            "display-daemon.1",
            command_page(display_daemon::cli::Cli::command(), date)?,
        ),
        (
            "kiosk-center.toml.5",
            center_file_page(CENTER_FILE, env!("CARGO_PKG_VERSION"), date),
        ),
    ];
    for (name, text) in pages {
        write(&dir.join(name), &text)?;
    }
    Ok(())
}

fn write_completions(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for mut cmd in [
        kiosk::cli::Cli::command(),
        display_daemon::cli::Cli::command(),
    ] {
        let name = cmd.get_name().to_owned();
        let mut out = Vec::new();
        clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, &name, &mut out);
        write(&dir.join(&name), &String::from_utf8(out)?)?;
    }
    Ok(())
}

fn write(path: &PathBuf, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The page of a command: clap_mangen's title, name, synopsis, description,
/// options and subcommand list, then a COMMANDS section with every
/// subcommand (nested ones too) and its arguments, then the version.
fn command_page(cmd: Command, date: &str) -> Result<String> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let man = clap_mangen::Man::new(cmd.clone())
        .date(date)
        .source(format!("{} {version}", cmd.get_name()))
        .manual("Queue kiosk");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    let mut text = String::from_utf8(out)?;
    if cmd.has_subcommands() {
        text.push_str(".SH COMMANDS\n");
        for sub in cmd.get_subcommands() {
            subcommand_section(&mut text, sub);
        }
    }
    text.push_str(".SH SEE ALSO\n");
    text.push_str(&see_also(cmd.get_name()));
    let mut out = Vec::new();
    man.render_version_section(&mut out)?;
    text.push_str(&String::from_utf8(out)?);
    Ok(text)
}

fn see_also(name: &str) -> String {
    match name {
        "kiosk" => {
            ".BR kiosk\\-center.toml (5),\n.BR display\\-daemon (1),\n.BR systemctl (1)\n".into()
        }
        _ => ".BR kiosk (1),\n.BR kiosk\\-center.toml (5)\n".into(),
    }
}

/// `.SS "kiosk user add"`, its synopsis, its description and each argument.
fn subcommand_section(out: &mut String, cmd: &Command) {
    if cmd.is_hide_set() {
        return;
    }
    let path = cmd.get_bin_name().unwrap_or(cmd.get_name());
    let _ = writeln!(out, ".SS \"{}\"", escape(path));
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage:").trim();
    let _ = writeln!(out, ".B {}", escape(usage));
    let about = cmd.get_long_about().or(cmd.get_about());
    if let Some(about) = about {
        let _ = writeln!(out, ".PP\n{}", escape(&about.to_string()));
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        argument(out, arg);
    }
    for sub in cmd.get_subcommands() {
        subcommand_section(out, sub);
    }
}

fn argument(out: &mut String, arg: &Arg) {
    let mut head = Vec::new();
    if let Some(short) = arg.get_short() {
        head.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        head.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let takes_value = arg.get_action().takes_values();
    let values = arg
        .get_value_names()
        .map(|v| {
            v.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
    let values = values
        .iter()
        .map(|v| format!("\\fI{}\\fR", escape(v)))
        .collect::<Vec<_>>()
        .join(" ");
    let head = if arg.is_positional() {
        values
    } else if takes_value {
        format!("{} {values}", head.join(", "))
    } else {
        head.join(", ")
    };
    let _ = writeln!(out, ".TP\n{head}");
    let mut help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(std::string::ToString::to_string)
        .unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_value {
        let _ = write!(help, " [default: {}]", defaults.join(", "));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !possible.is_empty() && takes_value {
        let _ = write!(help, " [possible values: {}]", possible.join(", "));
    }
    let _ = writeln!(out, "{}", escape(help.trim()));
}

/// `kiosk-center.toml(5)`: every section and key of [`CENTER_FILE`].
fn center_file_page(sections: &[Section], version: &str, date: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH KIOSK\\-CENTER.TOML 5 \"{date}\" \"kiosk {version}\" \"Queue kiosk\""
    );
    out.push_str(
        ".SH NAME\n\
         kiosk\\-center.toml \\- configuration file of a queue kiosk's service center\n\
         .SH SYNOPSIS\n\
         .I /etc/kiosk/center.toml\n\
         .SH DESCRIPTION\n\
         One TOML file describes a service center: its departments and their\n\
         ticket buttons, the counters, the opening sessions, the ticket printer\n\
         and the status lights.\n\
         .BR kiosk (1)\n\
         reads it with\n\
         .BR \"kiosk run \\-\\-config\" ;\n\
         .B kiosk check\\-config\n\
         .I FILE\n\
         checks it and prints every problem found, each with its line and a hint.\n\
         Unknown keys are refused. Pins are BCM GPIO numbers 2\\(en27 of the\n\
         40\\-pin header; each pin drives one thing. Number blocks of departments\n\
         sharing a prefix may not overlap.\n\
         .PP\n\
         The package installs a file with placeholders; the admin page of the\n\
         kiosk can also save an uploaded file in its place.\n\
         .SH SECTIONS AND KEYS\n",
    );
    for section in sections {
        let _ = writeln!(out, ".SS \"{}\"", escape(section.header));
        let _ = writeln!(out, "{}", markdown_to_roff(section.about));
        for key in section.keys {
            let _ = writeln!(out, ".TP\n.B {}", escape(key.name));
            if key.note.is_empty() {
                out.push_str("(see the examples)\n");
            } else {
                let _ = writeln!(out, "{}", markdown_to_roff(key.note));
            }
        }
    }
    out.push_str(
        ".SH FILES\n\
         .TP\n\
         .I /etc/kiosk/center.toml\n\
         The center file the kiosk service reads.\n\
         .TP\n\
         .I /usr/share/doc/kiosk/examples/\n\
         Commented examples: phu\\-xuan.toml (15 departments, 80\\ mm network\n\
         printer), thuan\\-hoa.toml (letter prefixes, 58\\ mm USB printer) and\n\
         minimal.toml (one department, every default).\n\
         .SH SEE ALSO\n\
         .BR kiosk (1)\n",
    );
    out
}

/// Markdown of a key note: `code` in bold, `\|` a bar, the rest escaped.
fn markdown_to_roff(text: &str) -> String {
    let text = text.replace("\\|", "|");
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "\\fB{}\\fR", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// Text safe in a roff line: backslashes and hyphens escaped, no line
/// starting with a control character.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            let l = l.trim_start();
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_paths(cmd: &Command, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            out.push(sub.get_bin_name().unwrap().to_owned());
            all_paths(sub, out);
        }
    }

    #[test]
    fn the_kiosk_page_has_every_subcommand_and_argument() {
        let page = command_page(kiosk::cli::Cli::command(), "2026-01-01").unwrap();
        let mut cmd = kiosk::cli::Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut paths = Vec::new();
        all_paths(&cmd, &mut paths);
        assert!(paths.len() > 10, "{paths:?}");
        for path in paths {
            assert!(
                page.contains(&format!(".SS \"{}\"", escape(&path))),
                "no section for {path}"
            );
        }
        assert!(
            page.contains("\\fB\\-\\-config\\fR \\fICONFIG\\fR"),
            "{page}"
        );
        assert!(page.contains("Phú Xuân"));
    }

    #[test]
    fn the_center_file_page_lists_every_key() {
        let page = center_file_page(CENTER_FILE, "0.1.0", "");
        for section in CENTER_FILE {
            assert!(page.contains(&format!(".SS \"{}\"", escape(section.header))));
            for key in section.keys {
                assert!(page.contains(&format!(".B {}\n", escape(key.name))));
            }
        }
        assert!(page.contains("\\fBAsia/Ho_Chi_Minh\\fR"));
    }

    #[test]
    fn escape_keeps_roff_control_characters_out_of_text() {
        assert_eq!(escape(".hidden\n'also"), "\\&.hidden\n\\&'also");
        assert_eq!(escape("a-b \\n"), "a\\-b \\en");
    }
}
