//! The sentence spoken for a call, built from the configured template.
//!
//! Owns the wording only: `{number}` is replaced by the ticket label read
//! aloud ([`super::number`]), `{counter}` by the counter number read as a
//! Vietnamese number (always as a number: "quầy số mười hai"). The result is
//! NFC-normalized with single spaces, so that clip look-ups by word work
//! whatever normalization the config file was saved in.

use kiosk_config::VoiceSettings;
use unicode_normalization::UnicodeNormalization;

use super::number::{read_label_with, read_number_with, NumberStyle};

/// The default announcement template: the one a display config without a
/// `phrase` gets.
pub use kiosk_config::DEFAULT_PHRASE;

/// The sentence for calling `label` to `counter`, as configured in `settings`
/// (template and digit-by-digit reading), in the default [`NumberStyle`].
///
/// ```
/// # use display_daemon::voice;
/// let settings = voice::default_settings();
/// assert_eq!(
///     voice::phrase(&settings, "1005", 3),
///     "Xin mời công dân có số thứ tự một nghìn không trăm linh năm đến quầy số ba"
/// );
/// ```
pub fn phrase(settings: &VoiceSettings, label: &str, counter: u16) -> String {
    phrase_with(
        &settings.phrase,
        settings.digit_by_digit,
        NumberStyle::default(),
        label,
        counter,
    )
}

/// The sentence from an explicit template, reading choice and style.
pub fn phrase_with(
    template: &str,
    digit_by_digit: bool,
    style: NumberStyle,
    label: &str,
    counter: u16,
) -> String {
    let number = read_label_with(label, digit_by_digit, style);
    let counter = read_number_with(u64::from(counter), style);
    let filled = template
        .replace("{number}", &number)
        .replace("{counter}", &counter);
    let normalized: String = filled.nfc().collect();
    normalized.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Non-ASCII punctuation trimmed from words, besides ASCII punctuation.
const QUOTES_AND_DASHES: [char; 9] = ['…', '“', '”', '‘', '’', '«', '»', '–', '—'];

/// The words of `text` as clip names: NFC, lower case, without the
/// punctuation around them ("Xin mời," → `["xin", "mời"]`). Hyphenated
/// letter names stay one word ("e-lờ").
pub fn words(text: &str) -> Vec<String> {
    let normalized: String = text.nfc().collect();
    normalized
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| c.is_ascii_punctuation() || QUOTES_AND_DASHES.contains(&c))
                .to_lowercase()
                .nfc()
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}
