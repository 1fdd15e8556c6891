//! `[[departments]]`: ids, names, number blocks (and their overlaps),
//! caps, sessions and buttons.

use std::collections::BTreeMap;

use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::Checker;

/// Ids go into URLs and the store: lowercase ASCII, digits and single dashes.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn departments(raw: &RawCenterFile, c: &mut Checker<'_>) -> Option<Vec<Department>> {
    let p = FieldPath::root().key("departments");
    let Some(list) = &raw.departments else {
        c.error(
            &p,
            "no department is configured",
            "add a [[departments]] table with id, name, block and button",
        );
        return None;
    };
    if list.is_empty() {
        c.error(
            &p,
            "no department is configured",
            "add at least one [[departments]] table",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut blocks: Vec<(usize, NumberBlock)> = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let dp = p.index(i);
        let id = c
            .text(&d.id, &dp.key("id"), "give the department an id, e.g. id = \"ho-tich\"")
            .and_then(|id| {
                if !valid_id(&id) {
                    c.error(
                        &dp.key("id"),
                        format!("`{id}` is not a valid id"),
                        "use lowercase letters without diacritics, digits and single dashes, e.g. \"ho-tich\"",
                    );
                    return None;
                }
                if let Some(first) = ids.get(&id) {
                    c.error(
                        &dp.key("id"),
                        format!("id `{id}` is already used by departments[{first}]"),
                        "every department needs its own id",
                    );
                    return None;
                }
                ids.insert(id.clone(), i);
                Some(id)
            });
        let name = c.text(
            &d.name,
            &dp.key("name"),
            "write the Vietnamese name, e.g. name = \"Hộ tịch\"",
        );
        let block = c
            .required(
                &d.block,
                &dp.key("block"),
                "add block = { first = 1001, last = 1999 }",
            )
            .and_then(|b| block(b, &dp.key("block"), c));
        if let Some(b) = &block {
            check_overlap(i, b, &blocks, &dp.key("block"), c);
            blocks.push((i, b.clone()));
        }
        let daily_cap = match (d.daily_cap, &block) {
            (None, _) => Some(None),
            (Some(cap), Some(b)) if cap > i64::from(b.len()) => {
                c.error(
                    &dp.key("daily_cap"),
                    format!(
                        "daily cap {cap} is larger than the block, which holds {} numbers",
                        b.len()
                    ),
                    format!("lower daily_cap to at most {} or widen the block", b.len()),
                );
                None
            }
            (Some(cap), _) => c
                .int_in::<u32>(
                    Some(cap),
                    0,
                    1..=i64::from(u32::MAX),
                    &dp.key("daily_cap"),
                    "the cap is at least 1; leave it out for no cap",
                )
                .map(Some),
        };
        let sessions = match &d.sessions {
            None => Some(None),
            Some(list) => c.sessions(list, &dp.key("sessions")).map(Some),
        };
        let button = match &d.button {
            None => Some(None),
            Some(b) => c.button(b, &dp.key("button")).map(Some),
        };
        let priority_button = match &d.priority_button {
            None => Some(None),
            Some(b) => c.button(b, &dp.key("priority_button")).map(Some),
        };
        let priority = d.priority.unwrap_or(d.priority_button.is_some());
        if !priority && d.priority_button.is_some() {
            c.error(
                &dp.key("priority_button"),
                "a priority button is wired but priority = false",
                "set priority = true, or remove priority_button",
            );
        }
        let target_wait = match d.target_wait_minutes {
            None => Some(None),
            Some(minutes) => c
                .int_in::<u64>(
                    Some(minutes),
                    0,
                    1..=24 * 60,
                    &dp.key("target_wait_minutes"),
                    "the target is a number of minutes, e.g. target_wait_minutes = 30",
                )
                .map(|m| Some(std::time::Duration::from_secs(m * 60))),
        };
        let services = services(d.services.as_deref(), priority, &dp.key("services"), c);
        match (
            id,
            name,
            block,
            daily_cap,
            sessions,
            button,
            priority_button,
            target_wait,
            services,
        ) {
            (
                Some(id),
                Some(name),
                Some(block),
                Some(daily_cap),
                Some(sessions),
                Some(button),
                Some(priority_button),
                Some(target_wait),
                Some(services),
            ) => out.push(Department {
                id: DepartmentId(id),
                name,
                block,
                daily_cap,
                sessions,
                priority,
                button,
                priority_button,
                target_wait,
                services,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// `departments[i].services`: ids unique within the department, names not
/// empty, and no service offering priority its department does not.
fn services(
    list: Option<&[RawService]>,
    department_priority: bool,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<Vec<Service>> {
    let Some(list) = list else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let mut ok = true;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in list.iter().enumerate() {
        let sp = p.index(i);
        let id = c
            .text(&s.id, &sp.key("id"), "give the service an id, e.g. id = \"khai-sinh\"")
            .and_then(|id| {
                if !valid_id(&id) {
                    c.error(
                        &sp.key("id"),
                        format!("`{id}` is not a valid id"),
                        "use lowercase letters without diacritics, digits and single dashes, e.g. \"khai-sinh\"",
                    );
                    return None;
                }
                if let Some(first) = ids.get(&id) {
                    c.error(
                        &sp.key("id"),
                        format!("service id `{id}` is already used by services[{first}] of this department"),
                        "every service of a department needs its own id",
                    );
                    return None;
                }
                ids.insert(id.clone(), i);
                Some(id)
            });
        let name = c.text(
            &s.name,
            &sp.key("name"),
            "write the Vietnamese name, e.g. name = \"Khai sinh\"",
        );
        if s.priority == Some(true) && !department_priority {
            c.error(
                &sp.key("priority"),
                "this service offers priority tickets but its department does not",
                "set priority = true on the department, or remove priority from the service",
            );
            ok = false;
        }
        let note = match s.note.as_deref().map(str::trim) {
            None => Some(None),
            Some("") => {
                c.error(
                    &sp.key("note"),
                    "`note` is empty",
                    "write a short Vietnamese note, or leave `note` out",
                );
                None
            }
            Some(text) => Some(Some(text.to_owned())),
        };
        match (id, name, note) {
            (Some(id), Some(name), Some(note)) => out.push(Service {
                id,
                name,
                priority: s.priority,
                note,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

pub(super) fn digits_of(n: u32) -> u8 {
    let mut digits = 1;
    let mut n = n / 10;
    while n > 0 {
        digits += 1;
        n /= 10;
    }
    digits
}

pub(super) fn block(raw: &RawBlock, p: &FieldPath, c: &mut Checker<'_>) -> Option<NumberBlock> {
    let first = c
        .required(&raw.first, &p.key("first"), "add first = 1001")
        .copied()
        .and_then(|v| {
            c.int_in::<u32>(
                Some(v),
                0,
                0..=999_999_999,
                &p.key("first"),
                "numbers are 0 to 999999999",
            )
        });
    let last = c
        .required(&raw.last, &p.key("last"), "add last = 1999")
        .copied()
        .and_then(|v| {
            c.int_in::<u32>(
                Some(v),
                0,
                0..=999_999_999,
                &p.key("last"),
                "numbers are 0 to 999999999",
            )
        });
    let prefix = match raw.prefix.as_deref() {
        None => Some(None),
        Some(text)
            if (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            Some(Some(text.to_owned()))
        }
        Some(text) => {
            c.error(
                &p.key("prefix"),
                format!("`{text}` is not a prefix of 1 to 3 capital letters"),
                "write e.g. prefix = \"A\" (letters A–Z, read out one by one), or leave it out",
            );
            None
        }
    };
    let on_exhausted = match raw.on_exhausted.as_deref() {
        None | Some("refuse") => Some(Exhaustion::Refuse),
        Some("wrap") => Some(Exhaustion::Wrap),
        Some(other) => {
            c.error(
                &p.key("on_exhausted"),
                format!("`{other}` is not a choice"),
                "write on_exhausted = \"refuse\" (no more tickets today) or \"wrap\" (start again at first)",
            );
            None
        }
    };
    let (first, last) = (first?, last?);
    if first > last {
        c.error(
            &p.key("first"),
            format!("first number {first} is after last number {last}"),
            "swap them: first is the smallest number of the day",
        );
        return None;
    }
    let needed = digits_of(last);
    let digits = match raw.digits {
        None => needed,
        Some(d) => {
            let d: u8 = c.int_in(Some(d), 0, 1..=9, &p.key("digits"), "digits is 1 to 9")?;
            if d < needed {
                c.error(
                    &p.key("digits"),
                    format!("last number {last} needs {needed} digits but digits = {d}"),
                    format!("write digits = {needed} or lower `last`"),
                );
                return None;
            }
            d
        }
    };
    Some(NumberBlock {
        first,
        last,
        prefix: prefix?,
        digits,
        on_exhausted: on_exhausted?,
    })
}

/// Two departments with the same prefix (or both none) must not share a number.
pub(super) fn check_overlap(
    i: usize,
    block: &NumberBlock,
    earlier: &[(usize, NumberBlock)],
    p: &FieldPath,
    c: &mut Checker<'_>,
) {
    for (j, other) in earlier {
        if other.prefix == block.prefix && block.first <= other.last && other.first <= block.last {
            let prefix = match &block.prefix {
                Some(x) => format!("prefix {x}"),
                None => "no prefix".to_owned(),
            };
            c.error(
                p,
                format!(
                    "numbers {}–{} ({prefix}) overlap departments[{j}].block ({}–{})",
                    block.first, block.last, other.first, other.last
                ),
                "give each department its own range, e.g. 1001–1999 and 2001–2999, or different prefixes",
            );
            let _ = i;
            return;
        }
    }
}
