//! `[ratings]`: the rating levels citizens choose from and how long after a
//! service a rating still attaches to it.
//!
//! Level ids are fixed (events, reports and the city hub count them): three
//! levels `very_satisfied`, `satisfied`, `unsatisfied`, or four with
//! `neutral` before `unsatisfied`, always best first. A center chooses the
//! labels and colours.

use std::time::Duration;

use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::Checker;

/// Seconds after a finish during which a rating attaches to that ticket.
pub const DEFAULT_ATTACH_WINDOW_SECS: i64 = 180;

const THREE: [&str; 3] = ["very_satisfied", "satisfied", "unsatisfied"];
const FOUR: [&str; 4] = ["very_satisfied", "satisfied", "neutral", "unsatisfied"];

fn is_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn ratings(
    raw: Option<&RawRatings>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<RatingSettings> {
    let default = RawRatings::default();
    let raw = raw.unwrap_or(&default);
    let attach_window = c
        .int_in::<u64>(
            raw.attach_window_secs,
            DEFAULT_ATTACH_WINDOW_SECS,
            10..=3600,
            &p.key("attach_window_secs"),
            "between 10 seconds and an hour; 180 (three minutes) is usual",
        )
        .map(Duration::from_secs);
    let levels = match &raw.levels {
        None => Some(RatingSettings::default().levels),
        Some(list) => levels(list, &p.key("levels"), c),
    };
    Some(RatingSettings {
        levels: levels?,
        attach_window: attach_window?,
    })
}

fn levels(list: &[RawRatingLevel], p: &FieldPath, c: &mut Checker<'_>) -> Option<Vec<RatingLevel>> {
    let mut out = Vec::new();
    let mut ok = true;
    let mut bad_color = false;
    for (i, level) in list.iter().enumerate() {
        let lp = p.index(i);
        let id = c.text(
            &level.id,
            &lp.key("id"),
            "write e.g. id = \"very_satisfied\"",
        );
        let label = c.text(
            &level.label,
            &lp.key("label"),
            "write e.g. label = \"Rất hài lòng\"",
        );
        let color = c.text(
            &level.color,
            &lp.key("color"),
            "write e.g. color = \"#1b7f3b\"",
        );
        if let Some(color) = &color {
            if !is_color(color) {
                c.error(
                    &lp.key("color"),
                    format!("`{color}` is not a colour"),
                    "write it as #rrggbb, e.g. \"#1b7f3b\"",
                );
                bad_color = true;
            }
        }
        match (id, label, color) {
            (Some(id), Some(label), Some(color)) => out.push(RatingLevel { id, label, color }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let ids: Vec<&str> = out.iter().map(|l| l.id.as_str()).collect();
    if ids != THREE && ids != FOUR {
        c.error(
            p,
            format!("rating levels {ids:?} are not one of the two allowed sets"),
            "list very_satisfied, satisfied, unsatisfied (or very_satisfied, satisfied, neutral, unsatisfied), in this order",
        );
        return None;
    }
    (!bad_color).then_some(out)
}
