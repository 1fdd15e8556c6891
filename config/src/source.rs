//! The text of one configuration file and where each field sits in it.
//!
//! `Source` keeps the parsed `toml_edit` document, which remembers byte spans,
//! so that any problem found later, by serde or by a validation rule, can be
//! reported at the line and column of the field it is about. It does not
//! decide what is a problem.

use std::fmt;
use std::ops::Range;

use toml_edit::{ArrayOfTables, ImDocument, Item, Table, Value};

use crate::error::{ConfigError, ConfigWarning, ErrorKind};

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array or array of tables, 0-based.
    Index(usize),
}

/// Dotted path of a field, displayed as `departments[3].button.pin`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct FieldPath(pub(crate) Vec<Segment>);

impl FieldPath {
    /// The whole file.
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path extended by a key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    /// This path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// Whether `self` is `other` or lies inside it.
    pub(crate) fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The last key of the path, if it ends with one.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What a path leads to inside the document.
enum Node<'a> {
    Table(&'a Table),
    Tables(&'a ArrayOfTables),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn from_item(item: &'a Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Table(table) => Some(Node::Table(table)),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
            Item::Value(value) => Some(Node::Value(value)),
        }
    }
}

/// A configuration file's text, its name and its parsed document.
pub(crate) struct Source {
    /// The name errors are reported under.
    pub(crate) file: String,
    text: String,
    /// The document with spans into `text`.
    pub(crate) doc: ImDocument<String>,
}

impl Source {
    /// Parses `text` as TOML; a syntax error is reported at its place.
    pub(crate) fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        match ImDocument::parse(text.to_owned()) {
            Ok(doc) => Ok(Self {
                file: file.to_owned(),
                text: text.to_owned(),
                doc,
            }),
            Err(err) => {
                let (line, column) = err
                    .span()
                    .map(|span| line_column(text, span.start))
                    .unwrap_or((0, 0));
                Err(ConfigError {
                    file: file.to_owned(),
                    line,
                    column,
                    path: String::new(),
                    message: format!("not valid TOML: {}", err.message().trim_end()),
                    hint: "check quotes, brackets and `key = value` pairs on that line; \
                           every key may appear only once per table"
                        .to_owned(),
                    kind: ErrorKind::Syntax,
                })
            }
        }
    }

    /// Byte span of the field at `path`, or of the nearest enclosing field
    /// that exists in the file (a missing key is reported at its table).
    pub(crate) fn span(&self, path: &FieldPath) -> Option<Range<usize>> {
        self.span_of(path, false)
    }

    /// Like [`Source::span`], but points at the key rather than its value
    /// (for keys that should not be there at all).
    pub(crate) fn key_span(&self, path: &FieldPath) -> Option<Range<usize>> {
        self.span_of(path, true)
    }

    fn span_of(&self, path: &FieldPath, prefer_key: bool) -> Option<Range<usize>> {
        let pick = |key: Option<Range<usize>>, value: Option<Range<usize>>| {
            if prefer_key {
                key.or(value)
            } else {
                value.or(key)
            }
        };
        let mut node = Node::Table(self.doc.as_table());
        let mut best = None;
        for segment in &path.0 {
            let next = match (&node, segment) {
                (Node::Table(table), Segment::Key(key)) => {
                    table.get_key_value(key).and_then(|(k, item)| {
                        let span = pick(k.span(), item.span());
                        Node::from_item(item).map(|n| (n, span))
                    })
                }
                (Node::Value(Value::InlineTable(table)), Segment::Key(key)) => {
                    table.get_key_value(key).and_then(|(k, item)| {
                        let span = pick(k.span(), item.span());
                        Node::from_item(item).map(|n| (n, span))
                    })
                }
                (Node::Tables(tables), Segment::Index(i)) => {
                    tables.get(*i).map(|t| (Node::Table(t), t.span()))
                }
                (Node::Value(Value::Array(array)), Segment::Index(i)) => {
                    array.get(*i).map(|v| (Node::Value(v), v.span()))
                }
                _ => None,
            };
            match next {
                Some((n, span)) => {
                    node = n;
                    if span.is_some() {
                        best = span;
                    }
                }
                None => break,
            }
        }
        best
    }

    /// Whether the document holds something at `path`.
    pub(crate) fn value_at(&self, path: &FieldPath) -> Option<TomlKind> {
        let mut node = Node::Table(self.doc.as_table());
        for segment in &path.0 {
            node = match (&node, segment) {
                (Node::Table(table), Segment::Key(key)) => Node::from_item(table.get(key)?)?,
                (Node::Value(Value::InlineTable(table)), Segment::Key(key)) => {
                    Node::Value(table.get(key)?)
                }
                (Node::Tables(tables), Segment::Index(i)) => Node::Table(tables.get(*i)?),
                (Node::Value(Value::Array(array)), Segment::Index(i)) => {
                    Node::Value(array.get(*i)?)
                }
                _ => return None,
            };
        }
        Some(match node {
            Node::Table(_) | Node::Value(Value::InlineTable(_)) => TomlKind::Table,
            Node::Tables(_) | Node::Value(Value::Array(_)) => TomlKind::Array,
            Node::Value(Value::String(_)) => TomlKind::String,
            Node::Value(Value::Integer(_)) => TomlKind::Integer,
            Node::Value(Value::Float(_)) => TomlKind::Float,
            Node::Value(Value::Boolean(_)) => TomlKind::Boolean,
            Node::Value(Value::Datetime(_)) => TomlKind::Datetime,
        })
    }

    /// The whole text of the file.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column of the field at `path`, (0, 0) when unknown.
    pub(crate) fn locate(&self, path: &FieldPath) -> (usize, usize) {
        self.span(path)
            .map(|span| line_column(&self.text, span.start))
            .unwrap_or((0, 0))
    }

    /// An error about the field at `path`.
    pub(crate) fn error(
        &self,
        kind: ErrorKind,
        path: &FieldPath,
        message: String,
        hint: String,
    ) -> ConfigError {
        let (line, column) = self.locate(path);
        ConfigError {
            file: self.file.clone(),
            line,
            column,
            path: path.to_string(),
            message,
            hint,
            kind,
        }
    }

    /// A warning about the field at `path`.
    pub(crate) fn warning(&self, path: &FieldPath, message: String, hint: String) -> ConfigWarning {
        let (line, column) = self.locate(path);
        ConfigWarning {
            file: self.file.clone(),
            line,
            column,
            path: path.to_string(),
            message,
            hint,
        }
    }
}

/// The TOML type of a value, for messages about wrong types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TomlKind {
    Table,
    Array,
    String,
    Integer,
    Float,
    Boolean,
    Datetime,
}

impl TomlKind {
    /// How the type is named in a message ("found a string").
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TomlKind::Table => "a table",
            TomlKind::Array => "a list",
            TomlKind::String => "a quoted string",
            TomlKind::Integer => "a whole number",
            TomlKind::Float => "a decimal number",
            TomlKind::Boolean => "true/false",
            TomlKind::Datetime => "an unquoted date or time",
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
[center]
name = \"Trung tâm\"

[[departments]]
id = \"ho-tich\"
button = { pin = 17 }

[[departments]]
id = \"dat-dai\"
button.pin = 27
";

    #[test]
    fn paths_display_dotted_with_indexes() {
        let path = FieldPath::root()
            .key("departments")
            .index(3)
            .key("button")
            .key("pin");
        assert_eq!(path.to_string(), "departments[3].button.pin");
    }

    #[test]
    fn values_are_located_at_their_first_character() {
        let source = Source::parse(TEXT, "t.toml").unwrap();
        let at = |p: FieldPath| source.locate(&p);
        let dept = |i| FieldPath::root().key("departments").index(i);
        assert_eq!(at(FieldPath::root().key("center").key("name")), (2, 8));
        assert_eq!(at(dept(0).key("button").key("pin")), (6, 18));
        assert_eq!(at(dept(1).key("button").key("pin")), (10, 14));
        // A missing key is reported where its table starts.
        assert_eq!(at(dept(1).key("name")), (8, 1));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("a = \"ấ\"\nb", 9), (1, 8));
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let err = Source::parse("[center]\nname = \"x\nshort_name = 1\n", "bad.toml")
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.line, 2);
    }
}
