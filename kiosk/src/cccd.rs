//! The citizen ID card's QR code (căn cước công dân, CCCD): reads the birth
//! date and nothing else, to grant the priority class the center gives by
//! age (`[kiosk.touch] cccd_priority_class`, `cccd_min_age`).
//!
//! The chip card's QR holds `|`-separated fields: ID number, old ID number,
//! full name, birth date (`DDMMYYYY`), sex, address, issue date
//! (`DDMMYYYY`). Some cards leave the old ID number out entirely (six
//! fields), and newer ones append more fields after the issue date. The
//! parser accepts those three shapes and finds the birth date by position.
//!
//! # Personal data
//!
//! The ID number, name, sex and address are never copied out of the scanned
//! string: [`birth_date`] only checks the shape of the first field (twelve
//! digits) and parses one date, and the string is dropped when the request
//! that carried it ends. Errors say what was wrong with the *shape* only and
//! never quote a field, so a log line or an HTTP answer built from them
//! cannot leak what the card holds. The birth date itself is not stored
//! either: only the granted priority class id ends up on the ticket. See
//! `docs/touch.md` for the whole data-handling note.
//!
//! This module does not decide whether a department offers priority (the
//! store does) and does not talk HTTP (see `api::touch`).

use jiff::civil::Date;
use kiosk_config::CccdPriority;

/// Why a scanned string gives no birth date. No variant carries any field
/// of the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CccdError {
    /// Not `|`-separated with an ID number first: another QR code (a
    /// payment code, a link) or a keyboard typing into the page.
    #[error("not a citizen ID card QR (expected a 12-digit ID number and `|`-separated fields)")]
    NotCccd,
    /// `|`-separated with an ID number first, but a field count no card has.
    #[error("a citizen ID card QR has 6, 7 or more fields; this one has {0}")]
    FieldCount(usize),
    /// The birth date field is not a real `DDMMYYYY` date.
    #[error("the birth date field is not a DDMMYYYY date")]
    BadDate,
}

/// The longest scan considered; a real card's QR is about 150 characters.
pub const MAX_LEN: usize = 512;

/// The birth date on a card's QR string, and nothing else from it.
pub fn birth_date(raw: &str) -> Result<Date, CccdError> {
    let raw = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if raw.len() > MAX_LEN || !raw.contains('|') {
        return Err(CccdError::NotCccd);
    }
    let fields: Vec<&str> = raw.split('|').collect();
    let id = fields[0].trim();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CccdError::NotCccd);
    }
    let at = match fields.len() {
        6 => 2,
        n if n >= 7 => 3,
        n => return Err(CccdError::FieldCount(n)),
    };
    parse_ddmmyyyy(fields[at].trim()).ok_or(CccdError::BadDate)
}

fn parse_ddmmyyyy(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: i8 = text[0..2].parse().ok()?;
    let month: i8 = text[2..4].parse().ok()?;
    let year: i16 = text[4..8].parse().ok()?;
    if year < 1900 {
        return None;
    }
    Date::new(year, month, day).ok()
}

/// Whole years from `birth` to `today` (0 for a date in the future).
pub fn age_on(birth: Date, today: Date) -> u32 {
    let mut years = i32::from(today.year()) - i32::from(birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// What a scan grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The citizen is old enough: this priority class id.
    Priority(String),
    /// A valid card of a younger citizen: no priority from the card.
    TooYoung,
    /// The center grants nothing from cards (`cccd_priority_class` unset).
    Disabled,
}

/// What `raw` (taken by value and dropped here) grants under `rule` on
/// `today` (the center's local date).
pub fn grant(raw: String, rule: Option<&CccdPriority>, today: Date) -> Result<Grant, CccdError> {
    let birth = birth_date(&raw);
    drop(raw);
    let birth = birth?;
    if birth > today {
        return Err(CccdError::BadDate);
    }
    Ok(match rule {
        None => Grant::Disabled,
        Some(rule) if age_on(birth, today) >= u32::from(rule.min_age) => {
            Grant::Priority(rule.class.clone())
        }
        Some(_) => Grant::TooYoung,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// A made-up card: no real person's number or name.
    fn card(birth: &str) -> String {
        format!(
            "001049000123|123456789|Nguyễn Văn Thử|{birth}|Nam|12 Lê Lợi, Phú Hội, Huế|15082021"
        )
    }

    fn rule() -> CccdPriority {
        CccdPriority {
            class: "nguoi-cao-tuoi".into(),
            min_age: 75,
        }
    }

    #[test]
    fn a_seven_field_card_gives_its_birth_date() {
        assert_eq!(birth_date(&card("02011949")), Ok(date(1949, 1, 2)));
        // A trailing newline from the scanner, and spaces in a field.
        assert_eq!(
            birth_date(&format!("{}\r\n", card(" 02011949 "))),
            Ok(date(1949, 1, 2))
        );
    }

    #[test]
    fn six_fields_without_the_old_number_and_longer_newer_cards_are_read() {
        let six = "001049000123|Trần Thị Mẫu|30121948|Nữ|Thuận Hóa, Huế|01022022";
        assert_eq!(birth_date(six), Ok(date(1948, 12, 30)));
        let longer = format!("{}|extra|more", card("29021952"));
        assert_eq!(birth_date(&longer), Ok(date(1952, 2, 29)));
        // An empty old number is still seven fields.
        let empty_old = "001049000123||Lê Văn Mẫu|01011950|Nam|Huế|01012021";
        assert_eq!(birth_date(empty_old), Ok(date(1950, 1, 1)));
    }

    #[test]
    fn a_wrong_field_count_is_refused() {
        assert_eq!(
            birth_date("001049000123|Nguyễn Văn Thử|01011950"),
            Err(CccdError::FieldCount(3))
        );
        assert_eq!(
            birth_date("001049000123|a|b|01011950|d"),
            Err(CccdError::FieldCount(5))
        );
    }

    #[test]
    fn a_bad_birth_date_is_refused() {
        for bad in [
            "31021950",
            "1950-01-01",
            "0101195",
            "01131950",
            "01011850",
            "",
        ] {
            assert_eq!(birth_date(&card(bad)), Err(CccdError::BadDate), "{bad:?}");
        }
        let future = grant(card("01012100"), Some(&rule()), date(2026, 12, 1));
        assert_eq!(future, Err(CccdError::BadDate));
    }

    #[test]
    fn other_qr_codes_are_not_cards() {
        for other in [
            "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html",
            "00020101021238570010A000000727012700069704",
            "1005",
            "12345|Nguyễn Văn Thử|01011950|Nam|Huế|01012021|x",
            "00104900012X|1|2|01011950|4|5|6",
            "",
        ] {
            assert_eq!(birth_date(other), Err(CccdError::NotCccd), "{other:?}");
        }
        let huge = format!("{}|{}", card("01011950"), "x".repeat(MAX_LEN));
        assert_eq!(birth_date(&huge), Err(CccdError::NotCccd));
    }

    #[test]
    fn age_counts_whole_years_to_the_birthday() {
        let today = date(2026, 12, 1);
        assert_eq!(age_on(date(1951, 12, 1), today), 75);
        assert_eq!(age_on(date(1951, 12, 2), today), 74);
        assert_eq!(age_on(date(2030, 1, 1), today), 0);
        assert_eq!(
            grant(card("01121951"), Some(&rule()), today),
            Ok(Grant::Priority("nguoi-cao-tuoi".into()))
        );
        assert_eq!(
            grant(card("02121951"), Some(&rule()), today),
            Ok(Grant::TooYoung)
        );
        assert_eq!(grant(card("01011940"), None, today), Ok(Grant::Disabled));
    }

    #[test]
    fn errors_never_quote_the_card() {
        for raw in [
            card("99999999"),
            "001049000123|Nguyễn Văn Thử|x".to_string(),
            "Nguyễn Văn Thử|001049000123".to_string(),
        ] {
            let err = birth_date(&raw).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("001049000123"), "{shown}");
                assert!(!shown.contains("Nguyễn"), "{shown}");
                assert!(!shown.contains("Thử"), "{shown}");
            }
        }
    }
}
