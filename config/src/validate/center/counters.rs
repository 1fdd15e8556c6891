//! `[[counters]]`: numbers, names and the departments each one serves.

use std::collections::BTreeMap;

use crate::model::*;
use crate::parse::closest;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::Checker;

pub(super) fn counters(raw: &RawCenterFile, c: &mut Checker<'_>) -> Option<Vec<Counter>> {
    let p = FieldPath::root().key("counters");
    let Some(list) = &raw.counters else {
        c.error(
            &p,
            "no counter is configured",
            "add a [[counters]] table with number and serves",
        );
        return None;
    };
    if list.is_empty() {
        c.error(
            &p,
            "no counter is configured",
            "add at least one [[counters]] table",
        );
        return None;
    }
    // Ids as written, even of departments that broke other rules, so that a
    // counter is not also blamed for them.
    let known: Vec<String> = raw
        .departments
        .iter()
        .flatten()
        .filter_map(|d| d.id.as_ref().map(|id| id.trim().to_owned()))
        .collect();
    // With a department whose id could not be read, an id not found here may
    // well be that one: its own error is enough.
    let departments_unusable =
        raw.departments.is_none() || raw.departments.iter().flatten().any(|d| d.id.is_none());
    let mut numbers: BTreeMap<u16, usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, k) in list.iter().enumerate() {
        let kp = p.index(i);
        let number = c
            .required(
                &k.number,
                &kp.key("number"),
                "add number = <counter number shown on displays>",
            )
            .copied()
            .and_then(|n| {
                c.int_in::<u16>(
                    Some(n),
                    0,
                    1..=999,
                    &kp.key("number"),
                    "counter numbers are 1 to 999",
                )
            })
            .and_then(|n| {
                if let Some(first) = numbers.get(&n) {
                    c.error(
                        &kp.key("number"),
                        format!("counter number {n} is already used by counters[{first}]"),
                        "every counter needs its own number",
                    );
                    return None;
                }
                numbers.insert(n, i);
                Some(n)
            });
        let name = match (&k.name, number) {
            (None, Some(n)) => Some(format!("Quầy {n}")),
            (None, None) => None,
            (Some(_), _) => c.text(
                &k.name,
                &kp.key("name"),
                "write e.g. name = \"Quầy 1 – Hộ tịch\", or leave it out",
            ),
        };
        let serves = c
            .required(
                &k.serves,
                &kp.key("serves"),
                "add serves = [\"<department id>\", …]",
            )
            .and_then(|list| {
                if list.is_empty() {
                    c.error(
                        &kp.key("serves"),
                        "the counter serves no department",
                        "list at least one department id",
                    );
                    return None;
                }
                let mut ids: Vec<DepartmentId> = Vec::new();
                let mut fine = true;
                for (j, id) in list.iter().enumerate() {
                    let id = id.trim();
                    if !departments_unusable && !known.iter().any(|k| k == id) {
                        let hint = match closest(id, &known) {
                            Some(close) => format!("did you mean \"{close}\"?"),
                            None => format!("known department ids: {}", known.join(", ")),
                        };
                        c.error(
                            &kp.key("serves").index(j),
                            format!("unknown department `{id}`"),
                            hint,
                        );
                        fine = false;
                    } else if ids.iter().any(|d| d.0 == id) {
                        c.error(
                            &kp.key("serves").index(j),
                            format!("department `{id}` is listed twice"),
                            "list each department once, most preferred first",
                        );
                        fine = false;
                    } else {
                        ids.push(DepartmentId(id.to_owned()));
                    }
                }
                fine.then_some(ids)
            });
        match (number, name, serves) {
            (Some(number), Some(name), Some(serves)) => out.push(Counter {
                number,
                name,
                serves,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}
