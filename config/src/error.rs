//! What loading a configuration reports: errors that stop it, warnings that
//! do not, and the value with its warnings when it succeeds.
//!
//! Every problem names the file, the line and column and the dotted path of
//! the field (`departments[3].button.pin`), and carries a hint saying what to
//! write instead. This module only formats them; finding them is the job of
//! `parse` (syntax, unknown keys, wrong types) and `validate` (the rules).

use std::fmt;

/// A validated configuration together with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The validated configuration.
    pub value: T,
    /// Problems that do not stop the configuration from being used.
    pub warnings: Vec<ConfigWarning>,
}

/// Which step rejected the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read at all.
    Read,
    /// The text is not valid TOML (quote missing, duplicate key, …).
    Syntax,
    /// A key the format does not know, or a value of the wrong TOML type.
    Schema,
    /// A value breaks a rule of the model (pin used twice, overlapping blocks, …).
    Rule,
}

/// One problem that stops a configuration from being used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name as it was given to the loader.
    pub file: String,
    /// 1-based line of the offending text; 0 when the problem has no place in the file.
    pub line: usize,
    /// 1-based column, counted in characters; 0 when unknown.
    pub column: usize,
    /// Dotted path of the field, e.g. `departments[3].button.pin`; empty for the whole file.
    pub path: String,
    /// What is wrong, in English.
    pub message: String,
    /// What to write instead; may be empty.
    pub hint: String,
    /// Which step found it.
    pub kind: ErrorKind,
}

/// A problem worth telling the technician that does not stop the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file name as it was given to the loader.
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub column: usize,
    /// Dotted path of the field concerned.
    pub path: String,
    /// What looks wrong, in English.
    pub message: String,
    /// What to do about it; may be empty.
    pub hint: String,
}

/// Writes `FILE:LINE:COL: path: message`, leaving out the parts that are unknown.
/// The alternate form (`{:#}`) adds the hint on an indented second line.
fn write_located(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: usize,
    column: usize,
    path: &str,
    message: &str,
    hint: &str,
) -> fmt::Result {
    f.write_str(file)?;
    if line > 0 {
        write!(f, ":{line}:{column}")?;
    }
    f.write_str(": ")?;
    if !path.is_empty() {
        write!(f, "{path}: ")?;
    }
    f.write_str(message)?;
    if f.alternate() && !hint.is_empty() {
        write!(f, "\n    hint: {hint}")?;
    }
    Ok(())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(
            f,
            &self.file,
            self.line,
            self.column,
            &self.path,
            &self.message,
            &self.hint,
        )
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(
            f,
            &self.file,
            self.line,
            self.column,
            &self.path,
            &self.message,
            &self.hint,
        )
    }
}

/// Every problem found in one file, in the order they appear in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The problems, never empty.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: a `ConfigErrors` is only made when something was found.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// One problem per line; `{:#}` adds each hint under its problem.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if f.alternate() {
                write!(f, "{error:#}")?;
            } else {
                write!(f, "{error}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> ConfigError {
        ConfigError {
            file: "phu-xuan.toml".into(),
            line: 42,
            column: 7,
            path: "departments[3].button.pin".into(),
            message: "pin 27 is already used by departments[1].button".into(),
            hint: "choose a free pin".into(),
            kind: ErrorKind::Rule,
        }
    }

    #[test]
    fn display_is_file_line_column_path_message() {
        assert_eq!(
            error().to_string(),
            "phu-xuan.toml:42:7: departments[3].button.pin: pin 27 is already used by departments[1].button"
        );
        assert_eq!(
            format!("{:#}", error()),
            "phu-xuan.toml:42:7: departments[3].button.pin: pin 27 is already used by departments[1].button\n    hint: choose a free pin"
        );
    }

    #[test]
    fn unknown_place_and_path_are_left_out() {
        let e = ConfigError {
            line: 0,
            column: 0,
            path: String::new(),
            message: "cannot read the file".into(),
            ..error()
        };
        assert_eq!(e.to_string(), "phu-xuan.toml: cannot read the file");
    }

    #[test]
    fn list_prints_one_per_line() {
        let list = ConfigErrors {
            errors: vec![error(), error()],
        };
        assert_eq!(list.to_string().lines().count(), 2);
        assert_eq!(format!("{list:#}").lines().count(), 4);
    }
}
