//! The rules of a display daemon's file: kiosk URL and the CA to trust for
//! it, mode, counters shown, voice and keypad. Builds [`DisplayConfig`] from [`RawDisplayFile`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Checker;
use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;

/// Where a display serves its own page unless told otherwise.
pub const DEFAULT_DISPLAY_LISTEN: &str = "127.0.0.1:8090";
/// The announcement a display config without `phrase` uses.
pub const DEFAULT_PHRASE: &str = "Xin mời công dân có số thứ tự {number} đến quầy số {counter}";

/// Builds the model; `None` when any rule is broken.
pub(crate) fn validate_display(raw: &RawDisplayFile, c: &mut Checker<'_>) -> Option<DisplayConfig> {
    let root = FieldPath::root();
    if let Some(keypad) = &raw.keypad {
        let kp = root.key("keypad");
        let mut claims = Vec::new();
        for (key, pin) in keypad_slots(keypad) {
            if let Some(number) = pin.as_ref().and_then(|b| b.pin) {
                claims.push((kp.key(key), number));
            }
        }
        c.claim_all(claims);
    }

    let kiosk_url = c
        .text(
            &raw.kiosk_url,
            &root.key("kiosk_url"),
            "write e.g. kiosk_url = \"http://192.168.1.10:8080\"",
        )
        .and_then(|url| {
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => {
                    Some(url.trim_end_matches('/').to_owned())
                }
                _ => {
                    c.error(
                        &root.key("kiosk_url"),
                        format!("`{url}` is not an http:// URL"),
                        "write e.g. kiosk_url = \"http://192.168.1.10:8080\"",
                    );
                    None
                }
            }
        });
    let ca_file = match &raw.ca_file {
        None => Some(None),
        Some(_) => {
            let path = root.key("ca_file");
            let file = c.text(
                &raw.ca_file,
                &path,
                "write e.g. ca_file = \"/etc/display-daemon/center-ca.pem\"",
            );
            match (&file, &kiosk_url) {
                (Some(_), Some(url)) if url.starts_with("http://") => {
                    c.error(
                        &path,
                        "ca_file is only used with an https:// kiosk_url",
                        "write kiosk_url with https:// if the kiosk serves TLS, or remove ca_file",
                    );
                    None
                }
                _ => file.map(|f| Some(PathBuf::from(f))),
            }
        }
    };
    let token = c.text(
        &raw.token,
        &root.key("token"),
        "write the device token an admin created on the kiosk for this display",
    );
    let mode = match raw.mode.as_deref() {
        None | Some("hall-board") => Some(DisplayMode::HallBoard),
        Some("counter") => Some(DisplayMode::Counter),
        Some("terminal") => Some(DisplayMode::Terminal),
        Some(other) => {
            c.error(
                &root.key("mode"),
                format!("`{other}` is not a display mode"),
                "write mode = \"hall-board\", \"counter\" or \"terminal\"",
            );
            None
        }
    };
    let counters = counter_list(
        raw.counters.as_deref().unwrap_or(&[]),
        &root.key("counters"),
        c,
    );
    if let (Some(DisplayMode::Counter), Some(list)) = (mode, &counters) {
        if list.len() != 1 {
            c.error(
                &root.key("counters"),
                format!(
                    "a counter display shows exactly one counter, not {}",
                    list.len()
                ),
                "write e.g. counters = [3]",
            );
        }
    }
    let listen = c.socket_addr(&raw.listen, DEFAULT_DISPLAY_LISTEN, &root.key("listen"));
    let announcement = announcement(raw.announcement.as_deref(), &root.key("announcement"), c);
    let led_board = match &raw.led_board {
        None => Some(None),
        Some(board) => {
            let p = root.key("led_board");
            let path = c.text(
                &board.path,
                &p.key("path"),
                "write e.g. path = \"/dev/ttyUSB0\"",
            );
            let baud = c.int_in::<u32>(
                board.baud,
                9600,
                1200..=115_200,
                &p.key("baud"),
                "LED boards usually run at 9600 baud",
            );
            match (path, baud) {
                (Some(path), Some(baud)) => Some(Some(LedBoard {
                    path: PathBuf::from(path),
                    baud,
                })),
                _ => None,
            }
        }
    };
    let voice = voice(raw.voice.as_ref(), mode, &root.key("voice"), c);
    let keypad = match &raw.keypad {
        None => Some(None),
        Some(k) => keypad(k, counters.as_deref(), &root.key("keypad"), c).map(Some),
    };
    let config = DisplayConfig {
        kiosk_url: kiosk_url?,
        ca_file: ca_file?,
        token: token?,
        mode: mode?,
        counters: counters?,
        listen: listen?,
        announcement: announcement?,
        led_board: led_board?,
        voice: voice?,
        keypad: keypad?,
    };
    c.errors.is_empty().then_some(config)
}

/// The longest announcement line, in characters: about two minutes of
/// scrolling; longer text belongs on a printed notice.
pub const ANNOUNCEMENT_MAX_CHARS: usize = 600;

/// The optional scrolling line: one line of text, not empty, not too long.
fn announcement(raw: Option<&str>, p: &FieldPath, c: &mut Checker<'_>) -> Option<Option<String>> {
    let Some(text) = raw else {
        return Some(None);
    };
    let text = text.trim();
    let hint = "write one line, e.g. announcement = \"Giờ làm việc: 7:30–11:30 và 13:30–17:00\", or remove the key";
    if text.is_empty() {
        c.error(p, "`announcement` is empty", hint);
        return None;
    }
    if text.chars().any(char::is_control) {
        c.error(
            p,
            "the announcement has a line break or control character",
            hint,
        );
        return None;
    }
    let chars = text.chars().count();
    if chars > ANNOUNCEMENT_MAX_CHARS {
        c.error(
            p,
            format!("the announcement has {chars} characters, more than {ANNOUNCEMENT_MAX_CHARS}"),
            "shorten it; put longer text on a printed notice",
        );
        return None;
    }
    Some(Some(text.to_owned()))
}

fn keypad_slots(k: &RawKeypad) -> [(&'static str, &Option<RawPin>); 10] {
    [
        ("next", &k.next),
        ("recall", &k.recall),
        ("no_show", &k.no_show),
        ("finish", &k.finish),
        ("confirm_led", &k.confirm_led),
        ("very_satisfied", &k.very_satisfied),
        ("satisfied", &k.satisfied),
        ("neutral", &k.neutral),
        ("unsatisfied", &k.unsatisfied),
        ("refused_led", &k.refused_led),
    ]
}

fn counter_list(raw: &[i64], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<u16>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (i, n) in raw.iter().enumerate() {
        match c.int_in::<u16>(
            Some(*n),
            0,
            1..=999,
            &p.index(i),
            "counter numbers are 1 to 999",
        ) {
            Some(n) if !seen.insert(n) => {
                c.error(
                    &p.index(i),
                    format!("counter {n} is listed twice"),
                    "list each counter once",
                );
                ok = false;
            }
            Some(n) => out.push(n),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn voice(
    raw: Option<&RawVoice>,
    mode: Option<DisplayMode>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<VoiceSettings> {
    let default = RawVoice::default();
    let raw = raw.unwrap_or(&default);
    // Only the hall board speaks unless told: one voice per hall is enough.
    let enabled = raw.enabled.unwrap_or(mode == Some(DisplayMode::HallBoard));
    let phrase = match &raw.phrase {
        None => Some(DEFAULT_PHRASE.to_owned()),
        Some(phrase) if phrase.contains("{number}") => Some(phrase.clone()),
        Some(phrase) => {
            c.error(
                &p.key("phrase"),
                format!("the phrase `{phrase}` never says the number"),
                format!("include {{number}} (and {{counter}}), e.g. phrase = \"{DEFAULT_PHRASE}\""),
            );
            None
        }
    };
    let backend = match raw.backend.as_deref() {
        None | Some("command") => {
            if raw.clips_dir.is_some() {
                c.error(
                    &p.key("clips_dir"),
                    "clips_dir is only used with backend = \"clips\"",
                    "remove it, or write backend = \"clips\"",
                );
            }
            let command = raw.command.clone().unwrap_or_else(|| {
                ["espeak-ng", "-v", "vi", "-w", "{wav}", "{text}"]
                    .map(str::to_owned)
                    .to_vec()
            });
            if command.is_empty()
                || !command.iter().any(|a| a.contains("{wav}"))
                || !command.iter().any(|a| a.contains("{text}"))
            {
                c.error(
                    &p.key("command"),
                    "the speech command must name the program and use {wav} and {text}",
                    "write e.g. command = [\"espeak-ng\", \"-v\", \"vi\", \"-w\", \"{wav}\", \"{text}\"]",
                );
                None
            } else {
                Some(VoiceBackend::Command(command))
            }
        }
        Some("clips") => {
            if raw.command.is_some() {
                c.error(
                    &p.key("command"),
                    "command is only used with backend = \"command\"",
                    "remove it, or write backend = \"command\"",
                );
            }
            c.text(&raw.clips_dir, &p.key("clips_dir"), "write the folder of recorded WAV clips, e.g. clips_dir = \"/usr/share/kiosk/voice\"")
                .map(|dir| VoiceBackend::Clips(PathBuf::from(dir)))
        }
        Some(other) => {
            c.error(
                &p.key("backend"),
                format!("`{other}` is not a voice backend"),
                "write backend = \"command\" (text to speech) or \"clips\" (recorded words)",
            );
            None
        }
    };
    let player = raw
        .player
        .clone()
        .unwrap_or_else(|| vec!["aplay".to_owned(), "-q".to_owned()]);
    let player = if !matches!(player.first(), Some(program) if !program.trim().is_empty()) {
        c.error(
            &p.key("player"),
            "the player command is empty",
            "write e.g. player = [\"aplay\", \"-q\"]",
        );
        None
    } else {
        Some(player)
    };
    let repeat = c.int_in::<u8>(
        raw.repeat,
        1,
        1..=5,
        &p.key("repeat"),
        "say each call 1 to 5 times",
    );
    Some(VoiceSettings {
        enabled,
        phrase: phrase?,
        digit_by_digit: raw.digit_by_digit.unwrap_or(false),
        backend: backend?,
        player: player?,
        chime: raw.chime.unwrap_or(true),
        repeat: repeat?,
    })
}

fn keypad(
    raw: &RawKeypad,
    counters: Option<&[u16]>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<Keypad> {
    let counter = c
        .required(
            &raw.counter,
            &p.key("counter"),
            "write the counter this keypad acts for, e.g. counter = 3",
        )
        .copied()
        .and_then(|n| {
            c.int_in::<u16>(
                Some(n),
                0,
                1..=999,
                &p.key("counter"),
                "counter numbers are 1 to 999",
            )
        });
    if let (Some(n), Some(list)) = (counter, counters) {
        if !list.is_empty() && !list.contains(&n) {
            c.error(
                &p.key("counter"),
                format!("the keypad acts for counter {n}, which this display does not show"),
                format!("add {n} to `counters`, or correct the keypad's counter"),
            );
        }
    }
    let next = c
        .required(&raw.next, &p.key("next"), "add next = { pin = <BCM GPIO> }")
        .and_then(|b| c.button(b, &p.key("next")));
    let mut optional = |key: &str, pin: &Option<RawPin>| match pin {
        None => Some(None),
        Some(b) => c.button(b, &p.key(key)).map(Some),
    };
    let recall = optional("recall", &raw.recall);
    let no_show = optional("no_show", &raw.no_show);
    let finish = optional("finish", &raw.finish);
    let confirm_led = match &raw.confirm_led {
        None => Some(None),
        Some(l) => c.led(l, &p.key("confirm_led")).map(Some),
    };
    let refused_led = match &raw.refused_led {
        None => Some(None),
        Some(l) => c.led(l, &p.key("refused_led")).map(Some),
    };
    // Rating buttons, best level first (the ids of [[ratings.levels]]).
    let mut ratings = Some(Vec::new());
    for (level, pin) in [
        ("very_satisfied", &raw.very_satisfied),
        ("satisfied", &raw.satisfied),
        ("neutral", &raw.neutral),
        ("unsatisfied", &raw.unsatisfied),
    ] {
        if let Some(b) = pin {
            match c.button(b, &p.key(level)) {
                Some(pin) => {
                    if let Some(list) = ratings.as_mut() {
                        list.push((level.to_owned(), pin));
                    }
                }
                None => ratings = None,
            }
        }
    }
    Some(Keypad {
        ratings: ratings?,
        refused_led: refused_led?,
        counter: counter?,
        next: next?,
        recall: recall?,
        no_show: no_show?,
        finish: finish?,
        confirm_led: confirm_led?,
    })
}

#[cfg(test)]
mod tests {
    use crate::parse_display;

    const BASE: &str = "kiosk_url = \"http://192.168.1.10:8080\"\ntoken = \"abc\"\n";

    #[test]
    fn ca_file_is_kept_for_an_https_kiosk() {
        let text =
            "kiosk_url = \"https://kiosk.lan:8443\"\nca_file = \" /etc/ca.pem \"\ntoken = \"t\"\n";
        let loaded = crate::parse_display(text, "display.toml").unwrap();
        assert_eq!(
            loaded.value.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        let text = "kiosk_url = \"https://kiosk.lan:8443\"\ntoken = \"t\"\n";
        let loaded = crate::parse_display(text, "display.toml").unwrap();
        assert_eq!(loaded.value.ca_file, None);
    }

    #[test]
    fn the_announcement_is_optional_and_trimmed() {
        let none = parse_display(BASE, "d.toml").unwrap().value;
        assert_eq!(none.announcement, None);
        let text = format!("{BASE}announcement = \"  Giờ làm việc: 7:30–11:30  \"\n");
        let some = parse_display(&text, "d.toml").unwrap().value;
        assert_eq!(
            some.announcement.as_deref(),
            Some("Giờ làm việc: 7:30–11:30")
        );
    }

    #[test]
    fn a_very_long_announcement_is_refused() {
        let long = "Xin chào. ".repeat(70);
        let text = format!("{BASE}announcement = \"{long}\"\n");
        let errors = parse_display(&text, "d.toml").unwrap_err().to_string();
        assert!(
            errors.contains("the announcement has 699 characters, more than 600"),
            "{errors}"
        );
    }
}
