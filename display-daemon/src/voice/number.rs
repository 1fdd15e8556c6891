//! Reading ticket numbers and labels aloud in Vietnamese.
//!
//! This module owns the words only: it turns `1005` into
//! "một nghìn không trăm linh năm" and `A005` into "a năm". It knows nothing
//! of audio or of the phrase around the number (see [`super::phrase`](mod@super::phrase)).
//!
//! # Rules
//!
//! Numbers are read in groups of three digits (nghìn, triệu, tỷ; beyond a
//! thousand billion the names stack: "nghìn tỷ", "triệu tỷ", "tỷ tỷ").
//!
//! - Tens: 10 is "mười", 20–90 are "hai mươi" … "chín mươi".
//! - After "mươi" (20 and up), 1 is "mốt" (21 "hai mươi mốt"), 5 is "lăm"
//!   (25 "hai mươi lăm") and 4 is "tư" (24 "hai mươi tư"). "hai mươi bốn" is
//!   just as correct; [`NumberStyle::four_after_tens`] chooses. "tư" is the
//!   default because it is shorter and what announcers in Huế use.
//! - After "mười", 5 is "lăm" (15 "mười lăm"), 1 and 4 stay "một", "bốn".
//! - A zero tens digit after hundreds is "linh" (101 "một trăm linh một"), or
//!   "lẻ" in the southern style ([`ZeroTens::Le`]); the unit after it keeps
//!   its plain name (105 "một trăm linh năm").
//! - A group that follows a larger one is read with all three digits:
//!   1005 "một nghìn không trăm linh năm", 1010 "một nghìn không trăm mười".
//!   Groups that are entirely zero are skipped: 2000 "hai nghìn",
//!   1 000 005 "một triệu không trăm linh năm".
//!
//! # Labels
//!
//! A label such as `A005` is read as its runs: each letter by its Vietnamese
//! name ([`letter_name`]), each run of digits as a number (leading zeros
//! dropped: `A005` → "a năm") or digit by digit ("a không không năm").
//! Other characters (`-`, spaces) only separate runs.

use std::fmt::Write as _;

/// Digit names, 0–9, as read on their own.
const DIGITS: [&str; 10] = [
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
];

/// How a zero tens digit after hundreds is read (101).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeroTens {
    /// "một trăm linh một" (northern and central usage; the default).
    #[default]
    Linh,
    /// "một trăm lẻ một" (southern usage).
    Le,
}

/// The word for a thousand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Thousand {
    /// "nghìn" (the default).
    #[default]
    Nghin,
    /// "ngàn" (southern usage).
    Ngan,
}

/// How a 4 after "mươi" is read (24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FourAfterTens {
    /// "hai mươi tư" (the default).
    #[default]
    Tu,
    /// "hai mươi bốn".
    Bon,
}

/// Regional choices in reading numbers; [`Default`] is the northern/central
/// reading used in Huế.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberStyle {
    /// "linh" or "lẻ" for a zero tens digit after hundreds.
    pub zero_tens: ZeroTens,
    /// "nghìn" or "ngàn".
    pub thousand: Thousand,
    /// "tư" or "bốn" for 4 after "mươi".
    pub four_after_tens: FourAfterTens,
}

/// Reads `n` as a Vietnamese number in the default style.
///
/// ```
/// use display_daemon::voice::number::read_number;
/// assert_eq!(read_number(1005), "một nghìn không trăm linh năm");
/// assert_eq!(read_number(21), "hai mươi mốt");
/// ```
pub fn read_number(n: u64) -> String {
    read_number_with(n, NumberStyle::default())
}

/// Reads `n` as a Vietnamese number in the given style.
pub fn read_number_with(n: u64, style: NumberStyle) -> String {
    if n == 0 {
        return DIGITS[0].to_owned();
    }
    let thousand = match style.thousand {
        Thousand::Nghin => "nghìn",
        Thousand::Ngan => "ngàn",
    };
    // Scale names per group of three digits, lowest first. u64 has at most
    // seven groups (18 446 744 073 709 551 615).
    let scales: [&str; 7] = [
        "",
        thousand,
        "triệu",
        "tỷ",
        // Stacked names, built below to follow the thousand style.
        "",
        "triệu tỷ",
        "tỷ tỷ",
    ];
    let thousand_billion = format!("{thousand} tỷ");

    let mut groups = Vec::with_capacity(7);
    let mut rest = n;
    while rest > 0 {
        groups.push((rest % 1000) as u16);
        rest /= 1000;
    }

    let mut words: Vec<String> = Vec::new();
    let top = groups.len() - 1;
    for (index, &group) in groups.iter().enumerate().rev() {
        if group == 0 {
            continue;
        }
        let leading = index == top;
        words.push(read_group(group, leading, style));
        let scale = if index == 4 {
            thousand_billion.as_str()
        } else {
            scales[index]
        };
        if !scale.is_empty() {
            words.push(scale.to_owned());
        }
    }
    words.join(" ")
}

/// Reads one group of three digits (1–999). `leading` groups drop a zero
/// hundreds digit ("năm"); later groups keep it ("không trăm linh năm").
fn read_group(group: u16, leading: bool, style: NumberStyle) -> String {
    let hundreds = usize::from(group / 100);
    let tens = usize::from(group / 10 % 10);
    let units = usize::from(group % 10);
    let mut out = String::new();
    let has_hundreds = hundreds > 0 || !leading;
    if has_hundreds {
        let _ = write!(out, "{} trăm", DIGITS[hundreds]);
    }
    match (tens, units) {
        (0, 0) => {}
        (0, u) => {
            if has_hundreds {
                out.push_str(match style.zero_tens {
                    ZeroTens::Linh => " linh ",
                    ZeroTens::Le => " lẻ ",
                });
            }
            out.push_str(DIGITS[u]);
        }
        (1, u) => {
            if has_hundreds {
                out.push(' ');
            }
            out.push_str("mười");
            match u {
                0 => {}
                5 => out.push_str(" lăm"),
                u => {
                    out.push(' ');
                    out.push_str(DIGITS[u]);
                }
            }
        }
        (t, u) => {
            if has_hundreds {
                out.push(' ');
            }
            let _ = write!(out, "{} mươi", DIGITS[t]);
            let unit = match u {
                0 => None,
                1 => Some("mốt"),
                4 => Some(match style.four_after_tens {
                    FourAfterTens::Tu => "tư",
                    FourAfterTens::Bon => "bốn",
                }),
                5 => Some("lăm"),
                u => Some(DIGITS[u]),
            };
            if let Some(unit) = unit {
                out.push(' ');
                out.push_str(unit);
            }
        }
    }
    out
}

/// Reads a string of ASCII digits one by one: `"1005"` → "một không không năm".
/// Characters that are not ASCII digits are skipped.
pub fn read_digits(digits: &str) -> String {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Vietnamese name of a letter, as said when spelling (case-insensitive).
///
/// The 29 letters of the Vietnamese alphabet use the names taught in school
/// and used by announcers: A "a", Ă "á", Â "ớ", B "bê", C "xê", D "dê",
/// Đ "đê", E "e", Ê "ê", G "giê", H "hát", I "i", K "ca", L "e-lờ", M "em-mờ",
/// N "en-nờ", O "o", Ô "ô", Ơ "ơ", P "pê", Q "quy", R "e-rờ", S "ét-xì",
/// T "tê", U "u", Ư "ư", V "vê", X "ích-xì", Y "i dài". The four Latin
/// letters outside it get their usual loan names: F "ép", J "gi", W "vê kép",
/// Z "dét". Hyphenated names are one word (one clip: `e-lờ.wav`).
/// Returns `None` for anything else.
pub fn letter_name(letter: char) -> Option<&'static str> {
    let upper: String = letter.to_uppercase().collect();
    let name = match upper.as_str() {
        "A" => "a",
        "Ă" => "á",
        "Â" => "ớ",
        "B" => "bê",
        "C" => "xê",
        "D" => "dê",
        "Đ" => "đê",
        "E" => "e",
        "Ê" => "ê",
        "F" => "ép",
        "G" => "giê",
        "H" => "hát",
        "I" => "i",
        "J" => "gi",
        "K" => "ca",
        "L" => "e-lờ",
        "M" => "em-mờ",
        "N" => "en-nờ",
        "O" => "o",
        "Ô" => "ô",
        "Ơ" => "ơ",
        "P" => "pê",
        "Q" => "quy",
        "R" => "e-rờ",
        "S" => "ét-xì",
        "T" => "tê",
        "U" => "u",
        "Ư" => "ư",
        "V" => "vê",
        "W" => "vê kép",
        "X" => "ích-xì",
        "Y" => "i dài",
        "Z" => "dét",
        _ => return None,
    };
    Some(name)
}

/// Reads a ticket label such as `1005` or `A005` in the default style.
///
/// With `digit_by_digit`, digit runs are read one digit at a time
/// ("a không không năm"); otherwise as numbers ("a năm"). Letters without a
/// Vietnamese name and other characters are skipped; digit runs too long for
/// a `u64` are read digit by digit.
pub fn read_label(label: &str, digit_by_digit: bool) -> String {
    read_label_with(label, digit_by_digit, NumberStyle::default())
}

/// [`read_label`] with a chosen [`NumberStyle`].
pub fn read_label_with(label: &str, digit_by_digit: bool, style: NumberStyle) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, words: &mut Vec<String>| {
        if digits.is_empty() {
            return;
        }
        let spoken = match (digit_by_digit, digits.parse::<u64>()) {
            (false, Ok(n)) => read_number_with(n, style),
            _ => read_digits(digits),
        };
        words.push(spoken);
        digits.clear();
    };
    for c in label.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        flush(&mut digits, &mut words);
        if let Some(name) = letter_name(c) {
            words.push(name.to_owned());
        }
    }
    flush(&mut digits, &mut words);
    words.join(" ")
}

/// Every word [`read_number_with`] and [`read_digits`] can produce in any
/// style, for the list of clips a recorded voice needs.
pub fn number_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = DIGITS.to_vec();
    words.extend([
        "mười", "mươi", "mốt", "tư", "lăm", "trăm", "linh", "lẻ", "nghìn", "ngàn", "triệu", "tỷ",
    ]);
    words
}

/// Every letter name [`letter_name`] can produce, split into words.
pub fn letter_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
        .chars()
        .filter_map(letter_name)
        .flat_map(str::split_whitespace)
        .collect();
    words.dedup();
    words
}
