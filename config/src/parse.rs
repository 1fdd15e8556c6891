//! Turning a parsed document into raw types, reporting every unknown key and
//! wrongly typed value, not just the first.
//!
//! serde stops at the first problem. So after each problem the offending key
//! is removed from a working copy of the document and deserialization is run
//! again, until it succeeds. All raw fields are optional, so removing a key
//! never creates a new problem; the removed paths are handed to validation,
//! which then stays quiet about them ("missing key" would be noise).
//! Positions come from the original document, which keeps its spans.

use serde::de::DeserializeOwned;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, TableLike, Value};

use crate::error::{ConfigError, ErrorKind};
use crate::source::{FieldPath, Segment, Source, TomlKind};

/// More problems than this in one file and the rest are not worth reading.
const MAX_SCHEMA_ERRORS: usize = 100;

/// Raw types, the schema problems found, and the paths they made unusable.
pub(crate) struct RawParse<T> {
    /// The raw value, with every rejected key left out.
    pub value: T,
    /// Unknown keys and wrongly typed values, in the order serde met them.
    pub errors: Vec<ConfigError>,
    /// Paths validation must not report on again.
    pub rejected: Vec<FieldPath>,
}

/// Deserializes `source` into `T`, collecting every schema problem.
pub(crate) fn parse_raw<T: DeserializeOwned + Default>(source: &Source) -> RawParse<T> {
    let mut doc: DocumentMut = source.doc.clone().into_mut();
    let mut errors = Vec::new();
    let mut rejected: Vec<FieldPath> = Vec::new();
    while errors.len() < MAX_SCHEMA_ERRORS {
        let deserializer = toml_edit::de::Deserializer::from(doc.clone());
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) => {
                return RawParse {
                    value,
                    errors,
                    rejected,
                }
            }
            Err(err) => {
                let path = convert_path(err.path());
                let message = err.inner().message().to_owned();
                errors.push(describe(source, &path, &message));
                let removal = up_to_last_key(&path);
                if rejected.contains(&removal) || !remove(&mut doc, &removal) {
                    break;
                }
                rejected.push(removal);
            }
        }
    }
    // Gave up: report what was found and nothing more.
    rejected.push(FieldPath::root());
    RawParse {
        value: T::default(),
        errors,
        rejected,
    }
}

fn convert_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment as S;
    let mut out = FieldPath::root();
    for segment in path {
        match segment {
            S::Seq { index } => out = out.index(*index),
            S::Map { key } => out = out.key(key),
            S::Enum { .. } | S::Unknown => {}
        }
    }
    out
}

/// Elements of arrays are not removed one by one, as that would renumber the
/// rest; the whole key holding the array goes instead.
fn up_to_last_key(path: &FieldPath) -> FieldPath {
    let mut segments = path.0.clone();
    while let Some(Segment::Index(_)) = segments.last() {
        segments.pop();
    }
    FieldPath(segments)
}

/// A mutable view of a container in the working document.
enum NodeMut<'a> {
    Table(&'a mut dyn TableLike),
    Tables(&'a mut ArrayOfTables),
    Array(&'a mut Array),
}

fn node_of_item(item: &mut Item) -> Option<NodeMut<'_>> {
    match item {
        Item::Table(table) => Some(NodeMut::Table(table)),
        Item::ArrayOfTables(tables) => Some(NodeMut::Tables(tables)),
        Item::Value(value) => node_of_value(value),
        Item::None => None,
    }
}

fn node_of_value(value: &mut Value) -> Option<NodeMut<'_>> {
    match value {
        Value::InlineTable(table) => Some(NodeMut::Table(table)),
        Value::Array(array) => Some(NodeMut::Array(array)),
        _ => None,
    }
}

/// Removes the key at `path` from `doc`; false when there was nothing to remove.
fn remove(doc: &mut DocumentMut, path: &FieldPath) -> bool {
    let Some((Segment::Key(last), parents)) = path.0.split_last() else {
        return false;
    };
    let mut node = NodeMut::Table(doc.as_table_mut());
    for segment in parents {
        let next = match (node, segment) {
            (NodeMut::Table(table), Segment::Key(key)) => table.get_mut(key).and_then(node_of_item),
            (NodeMut::Tables(tables), Segment::Index(i)) => tables
                .get_mut(*i)
                .map(|t| NodeMut::Table(t as &mut dyn TableLike)),
            (NodeMut::Array(array), Segment::Index(i)) => array.get_mut(*i).and_then(node_of_value),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    match node {
        NodeMut::Table(table) => table.remove(last).is_some(),
        _ => false,
    }
}

/// Turns serde's message into one a technician can act on.
fn describe(source: &Source, path: &FieldPath, message: &str) -> ConfigError {
    let (message, hint) = if let Some(rest) = message.strip_prefix("unknown field ") {
        let key = backticked(rest).unwrap_or_default();
        let known = known_keys(rest);
        let mut hint = String::from("remove it or correct the spelling");
        if let Some(close) = closest(&key, &known) {
            hint = format!("did you mean `{close}`?");
        }
        if !known.is_empty() {
            hint.push_str(&format!("; keys allowed here: {}", known.join(", ")));
        }
        (format!("unknown key `{key}`"), hint)
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let expected = message
            .rsplit_once("expected ")
            .map(|(_, e)| e)
            .unwrap_or("");
        let (wanted, hint) = expectation(expected);
        let found = source
            .value_at(path)
            .map(TomlKind::describe)
            .unwrap_or("something else");
        let hint = if source.value_at(path) == Some(TomlKind::Datetime) {
            "dates and times are written in quotes here, e.g. \"07:30\" or \"2025-09-02\""
                .to_owned()
        } else {
            hint
        };
        (format!("expected {wanted}, found {found}"), hint)
    } else {
        (message.to_owned(), String::new())
    };
    let mut error = source.error(ErrorKind::Schema, path, message, hint);
    if error.message.starts_with("unknown key") {
        // Point at the key itself: its value is not the problem.
        if let Some(span) = source.key_span(path) {
            (error.line, error.column) = crate::source::line_column(source.text(), span.start);
        }
    }
    error
}

/// What serde expected, in words, and how to write it.
fn expectation(expected: &str) -> (&'static str, String) {
    let e = expected.trim();
    if e.starts_with("i64") || e.contains("integer") {
        (
            "a whole number",
            "write the number without quotes, e.g. `pin = 17`".to_owned(),
        )
    } else if e.contains("string") {
        (
            "a quoted string",
            "put the text in double quotes, e.g. `name = \"Hộ tịch\"`".to_owned(),
        )
    } else if e.contains("bool") {
        (
            "true or false",
            "write true or false without quotes".to_owned(),
        )
    } else if e.contains("sequence") {
        (
            "a list",
            "write a list in square brackets, e.g. `serves = [\"ho-tich\"]`".to_owned(),
        )
    } else if e.starts_with("struct") || e.contains("map") {
        (
            "a table",
            "write a table, e.g. `button = { pin = 17 }` or a `[section]` header".to_owned(),
        )
    } else {
        ("another kind of value", format!("serde expected {e}"))
    }
}

/// The first `backticked` word of `text`.
fn backticked(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(text[start..start + len].to_owned())
}

/// The keys listed after "expected one of" in serde's unknown-field message.
fn known_keys(rest: &str) -> Vec<String> {
    let Some((_, list)) = rest.split_once("expected ") else {
        return Vec::new();
    };
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The known key closest to `key`, when it is a plausible typo.
pub(crate) fn closest(key: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawCenterFile;

    fn parse(text: &str) -> RawParse<RawCenterFile> {
        let source = Source::parse(text, "t.toml").unwrap();
        parse_raw(&source)
    }

    fn shown(parse: &RawParse<RawCenterFile>) -> Vec<String> {
        parse.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported() {
        let p = parse(
            "[center]\nnmae = \"x\"\n\n[[departments]]\nid = 5\ncolour = \"red\"\nbutton = { pin = \"17\" }\n\n[[departments]]\nserves = []\n",
        );
        assert_eq!(
            shown(&p),
            vec![
                "t.toml:2:1: center.nmae: unknown key `nmae`",
                "t.toml:5:6: departments[0].id: expected a quoted string, found a whole number",
                "t.toml:6:1: departments[0].colour: unknown key `colour`",
                "t.toml:7:18: departments[0].button.pin: expected a whole number, found a quoted string",
                "t.toml:10:1: departments[1].serves: unknown key `serves`",
            ]
        );
        assert_eq!(
            p.errors[0].hint.split(';').next(),
            Some("did you mean `name`?")
        );
        assert_eq!(p.rejected.len(), 5);
    }

    #[test]
    fn wrong_element_in_a_list_rejects_the_list() {
        let p = parse("[[counters]]\nnumber = 1\nserves = [\"a\", 2]\n");
        assert_eq!(
            shown(&p),
            vec!["t.toml:3:16: counters[0].serves[1]: expected a quoted string, found a whole number"]
        );
        assert!(p.value.counters.unwrap()[0].serves.is_none());
    }

    #[test]
    fn unquoted_times_get_a_hint_about_quotes() {
        let p = parse("[center]\nday_starts_at = 05:00:00\n");
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].hint.contains("in quotes"), "{:?}", p.errors[0]);
    }

    #[test]
    fn typos_find_their_key() {
        let known = vec!["short_name".to_owned(), "name".to_owned()];
        assert_eq!(closest("shortname", &known).as_deref(), Some("short_name"));
        assert_eq!(closest("zzzzzz", &known), None);
    }
}
