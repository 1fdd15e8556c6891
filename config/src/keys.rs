//! The key table of the center file: every section and key `kiosk run`
//! reads, with a short note on its value. It is data so that the crate
//! documentation (the table in this crate's top-level docs, checked by a
//! test) and the `kiosk-center.toml(5)` manual page (rendered by the
//! package build's `xtask`) come from one list; a test also checks that
//! the parser knows every key listed and that every key the parser knows
//! is listed.
//!
//! Notes are Markdown: `code` in backticks, `\|` for a literal bar.

/// One table of the center file, e.g. `[center]` or `[[departments]]`.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// The TOML header as written in the file.
    pub header: &'static str,
    /// One sentence on what the section describes.
    pub about: &'static str,
    /// Its keys, in the order the documentation lists them.
    pub keys: &'static [Key],
}

/// One key of a [`Section`].
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written in the file.
    pub name: &'static str,
    /// Its form, default or example (Markdown); empty when the name says it all.
    pub note: &'static str,
}

const fn key(name: &'static str, note: &'static str) -> Key {
    Key { name, note }
}

/// Every section of the center file, in the order of the documentation.
pub const CENTER_FILE: &[Section] = &[
    Section {
        header: "[center]",
        about: "The center itself: names printed on tickets, time zone, opening days.",
        keys: &[
            key("name", ""),
            key("short_name", ""),
            key("address", ""),
            key("timezone", "IANA, default `Asia/Ho_Chi_Minh`"),
            key("day_starts_at", "`\"HH:MM\"`, default `\"00:00\"`"),
            key("closed_weekdays", "`[\"sunday\"]`"),
            key("closed_dates", "`[\"2025-09-02\"]`"),
            key("ticket_header", ""),
            key("ticket_footer", ""),
            key("status_url", ""),
        ],
    },
    Section {
        header: "[[center.sessions]]",
        about: "Opening sessions of a day.",
        keys: &[
            key("name", ""),
            key("start", "`\"HH:MM\"`"),
            key(
                "end",
                "`\"HH:MM\"`; default Sáng 07:30–11:30 and Chiều 13:30–17:00",
            ),
        ],
    },
    Section {
        header: "[[departments]]",
        about: "One per kind of service, each with its button and number block.",
        keys: &[
            key("id", "`ho-tich`"),
            key("name", ""),
            key(
                "block",
                "`{ first, last, prefix, digits, on_exhausted = \"refuse\" \\| \"wrap\" }`",
            ),
            key("daily_cap", ""),
            key("sessions", "override"),
            key("priority", ""),
            key("button", "`{ pin, active = \"low\" }`"),
            key("priority_button", ""),
            key("target_wait_minutes", "service-level target, minutes"),
        ],
    },
    Section {
        header: "[[departments.services]]",
        about: "Optional procedures of a department, picked on the touch screen and printed on the ticket.",
        keys: &[
            key("id", "`khai-sinh`, unique in the department"),
            key("name", "`Khai sinh`"),
            key("priority", "default: the department's"),
            key("note", "shown under the name on the touch screen"),
        ],
    },
    Section {
        header: "[[counters]]",
        about: "One per service counter.",
        keys: &[
            key("number", ""),
            key("name", ""),
            key("serves", "`[\"ho-tich\", …]`, most preferred first"),
        ],
    },
    Section {
        header: "[counter_work]",
        about: "Optional: what counter staff choose from when pausing, calling out of order or bringing back a no-show.",
        keys: &[
            key("pause_reasons", "`[\"Nghỉ giải lao\", \"Họp\", …]`"),
            key("call_reasons", "`[\"Bổ sung hồ sơ\", …]`"),
            key("bring_back", "`front`/`issue_order`"),
        ],
    },
    Section {
        header: "[kiosk]",
        about: "The ticket machine's daemon.",
        keys: &[
            key("data_dir", "`/var/lib/kiosk`"),
            key("listen", "`0.0.0.0:8080`"),
            key("press_interval_ms", "1500"),
            key("store_cache_mib", "8"),
            key("retention_days", "90"),
            key("daily_reexec", "true"),
        ],
    },
    Section {
        header: "[kiosk.tls]",
        about: "Optional HTTPS for the LAN API: both keys or neither; cookies are then `Secure`.",
        keys: &[
            key("cert", "PEM certificate chain, the kiosk's first"),
            key("key", "PEM private key of that certificate"),
        ],
    },
    Section {
        header: "[kiosk.public]",
        about: "Optional citizens' phone pages on a listener of their own (guest Wi-Fi): the ticket's QR code opens `{base_url}/t/{key}`.",
        keys: &[
            key("base_url", "`http://192.168.50.10:8081`, how phones reach `listen`"),
            key("listen", "`0.0.0.0:8081`"),
        ],
    },
    Section {
        header: "[kiosk.printer]",
        about: "The ticket printer.",
        keys: &[
            key(
                "transport",
                "`tcp` with `address`, `usb`/`file` with `path`, `serial` with `path` and `baud`",
            ),
            key("address", ""),
            key("path", ""),
            key("baud", ""),
            key("paper_width_mm", "58/80"),
            key("dots_per_line", ""),
            key("cut", ""),
            key("band_height", "64"),
            key("mode", "`raster`/`text`"),
            key("codepage", "with `mode = \"text\"`"),
            key("connect_timeout_ms", ""),
            key("io_timeout_ms", ""),
            key("status_interval_ms", ""),
        ],
    },
    Section {
        header: "[kiosk.leds]",
        about: "The status lights, each `{ pin, active = \"high\" }`.",
        keys: &[
            key("ready", "`{ pin, active = \"high\" }`, like the others"),
            key("paper_low", ""),
            key("fault", ""),
            key("closed", ""),
        ],
    },
    Section {
        header: "[kiosk.priority]",
        about: "Priority tickets (elderly, disabled, pregnant citizens).",
        keys: &[key("max_in_a_row", "2")],
    },
    Section {
        header: "[[kiosk.priority.classes]]",
        about: "The kinds of priority a ticket can have.",
        keys: &[key("id", ""), key("name", "")],
    },
    Section {
        header: "[ratings]",
        about: "Citizens rate the service at the counter (buttons or the display's `/rate` page).",
        keys: &[key(
            "attach_window_secs",
            "180: a rating attaches to the ticket finished this long ago at most",
        )],
    },
    Section {
        header: "[[ratings.levels]]",
        about: "The rating levels, best first; three by default, or four with `neutral`.",
        keys: &[
            key(
                "id",
                "`very_satisfied`, `satisfied`, `neutral` (four levels only), `unsatisfied`, in this order",
            ),
            key("label", "Vietnamese, e.g. `Rất hài lòng`"),
            key("color", "`#rrggbb`, the button's colour on the `/rate` page"),
        ],
    },
    Section {
        header: "[kiosk.touch]",
        about: "The touch screen page `/touch` and the citizen ID card (CCCD) QR scanner.",
        keys: &[
            key("loopback", "`true`: the Pi's own screen needs no token; else a `touch` token"),
            key("self_declared_priority", "`true`"),
            key("idle_seconds", "8"),
            key("cccd_priority_class", "a priority class id; absent: scans are ignored"),
            key("cccd_min_age", "75"),
        ],
    },
];

/// The table of sections and keys as it appears in the crate documentation:
/// one row per section, its keys with their notes in brackets.
pub fn markdown_table(sections: &[Section]) -> String {
    let mut out = String::from("| section | keys |\n|---|---|\n");
    for section in sections {
        let keys: Vec<String> = section
            .keys
            .iter()
            .map(|k| {
                if k.note.is_empty() {
                    format!("`{}`", k.name)
                } else {
                    format!("`{}` ({})", k.name, k.note)
                }
            })
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", section.header, keys.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate docs' table, with the `//! ` prefixes taken off.
    fn documented_table() -> String {
        let lib = include_str!("lib.rs");
        let lines: Vec<&str> = lib
            .lines()
            .filter_map(|l| l.strip_prefix("//! ").or(l.strip_prefix("//!")))
            .skip_while(|l| !l.starts_with("| section | keys |"))
            .take_while(|l| l.starts_with('|'))
            .collect();
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn the_crate_docs_show_this_table() {
        let want = markdown_table(CENTER_FILE);
        assert_eq!(
            documented_table(),
            want,
            "the key table in config/src/lib.rs differs from keys::CENTER_FILE; paste this in:\n{want}"
        );
    }

    /// A file with only this key, under its section, given a value of a
    /// type no key takes: the parser must complain about the value, not
    /// about an unknown key.
    #[test]
    fn the_parser_knows_every_listed_key() {
        let unknown_key_errors = |header: &str, name: &str| {
            // A table array inside `[[departments]]` needs its parent first.
            let parent = if header.starts_with("[[departments.") {
                "[[departments]]\n"
            } else {
                ""
            };
            let text = format!("{parent}{header}\n{name} = 1970-01-01T00:00:00Z\n");
            let errors = crate::parse_center(&text, "t.toml").unwrap_err().errors;
            errors
                .into_iter()
                .filter(|e| e.message.contains(&format!("unknown key `{name}`")))
                .count()
        };
        for section in CENTER_FILE {
            // The check itself sees an unknown key in this section.
            assert_eq!(
                unknown_key_errors(section.header, "colour"),
                1,
                "{}",
                section.header
            );
            for key in section.keys {
                assert_eq!(
                    unknown_key_errors(section.header, key.name),
                    0,
                    "{} {} is listed but the parser does not know it",
                    section.header,
                    key.name
                );
            }
        }
    }

    /// Every field of the raw center-file types is a listed key (or a
    /// listed section): a key added to the parser must be documented.
    #[test]
    fn every_key_the_parser_knows_is_listed() {
        let raw = include_str!("raw.rs");
        let center_part = &raw[..raw.find("pub(crate) struct RawDisplayFile").unwrap()];
        let listed = |name: &str| {
            CENTER_FILE.iter().any(|s| {
                s.keys.iter().any(|k| k.name == name)
                    || s.header
                        .trim_matches(['[', ']'])
                        .split('.')
                        .any(|p| p == name)
                    || s.keys.iter().any(|k| k.note.contains(name))
                    || s.about.contains(name)
            })
        };
        let fields: Vec<&str> = center_part
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub "))
            .filter_map(|l| l.split_once(": Option<").map(|(name, _)| name))
            .collect();
        assert!(fields.len() > 40, "found only {fields:?} in raw.rs");
        for field in fields {
            assert!(
                listed(field),
                "`{field}` of raw.rs is missing from keys::CENTER_FILE"
            );
        }
    }
}
