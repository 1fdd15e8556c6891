//! `[counter_work]`: pause reasons, reasons for calling a chosen ticket out
//! of order, and where a no-show that is brought back waits. The whole
//! section is optional; defaults are Vietnamese lists a center can use as is.

use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::Checker;

/// Pause reasons of a center whose file names none.
pub const DEFAULT_PAUSE_REASONS: [&str; 4] =
    ["Nghỉ giải lao", "Họp", "Hỗ trợ nghiệp vụ", "Việc đột xuất"];
/// Reasons for an out-of-order call of a center whose file names none.
pub const DEFAULT_CALL_REASONS: [&str; 3] = ["Ưu tiên theo quy định", "Bổ sung hồ sơ", "Hẹn trước"];

impl Default for CounterWork {
    /// The defaults a file without `[counter_work]` gets.
    fn default() -> Self {
        Self {
            pause_reasons: DEFAULT_PAUSE_REASONS.map(str::to_owned).to_vec(),
            call_reasons: DEFAULT_CALL_REASONS.map(str::to_owned).to_vec(),
            bring_back: BringBack::Front,
        }
    }
}

pub(super) fn counter_work(
    raw: Option<&RawCounterWork>,
    c: &mut Checker<'_>,
) -> Option<CounterWork> {
    let p = FieldPath::root().key("counter_work");
    let empty = RawCounterWork::default();
    let raw = raw.unwrap_or(&empty);
    let pause_reasons = reasons(
        raw.pause_reasons.as_deref(),
        &DEFAULT_PAUSE_REASONS,
        &p.key("pause_reasons"),
        c,
    );
    let call_reasons = reasons(
        raw.call_reasons.as_deref(),
        &DEFAULT_CALL_REASONS,
        &p.key("call_reasons"),
        c,
    );
    let bring_back = match raw.bring_back.as_deref().map(str::trim) {
        None | Some("front") => Some(BringBack::Front),
        Some("issue_order") => Some(BringBack::IssueOrder),
        Some(other) => {
            c.error(
                &p.key("bring_back"),
                format!("`{other}` is not a bring-back policy"),
                "write bring_back = \"front\" or bring_back = \"issue_order\"",
            );
            None
        }
    };
    Some(CounterWork {
        pause_reasons: pause_reasons?,
        call_reasons: call_reasons?,
        bring_back: bring_back?,
    })
}

/// A list of short reasons: non-empty, each non-blank and listed once.
fn reasons(
    raw: Option<&[String]>,
    default: &[&str],
    path: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<Vec<String>> {
    let Some(list) = raw else {
        return Some(default.iter().map(|r| (*r).to_owned()).collect());
    };
    if list.is_empty() {
        c.error(
            path,
            "the list is empty, so staff could not give a reason",
            "list at least one reason, or leave the key out for the default list",
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, reason) in list.iter().enumerate() {
        let reason = reason.trim();
        if reason.is_empty() {
            c.error(
                &path.index(i),
                "the reason is empty",
                "write a short Vietnamese reason",
            );
            ok = false;
        } else if out.iter().any(|r| r == reason) {
            c.error(
                &path.index(i),
                format!("reason `{reason}` is listed twice"),
                "list each reason once",
            );
            ok = false;
        } else {
            out.push(reason.to_owned());
        }
    }
    ok.then_some(out)
}
