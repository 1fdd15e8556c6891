//! `[kiosk.tls]`: the certificate and key the kiosk serves HTTPS with.
//!
//! Only the shape is checked here (both files named, absolute paths, not
//! the same file); the files themselves are read when the kiosk starts,
//! since a config may be checked on another machine.

use std::path::{Path, PathBuf};

use super::Checker;
use crate::model::TlsFiles;
use crate::raw::RawTls;
use crate::source::FieldPath;

/// The section as a model value: `Some(None)` when it is absent (plain
/// HTTP), `None` when it is broken (errors reported).
pub(crate) fn tls(
    raw: Option<&RawTls>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<Option<TlsFiles>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let cert = file(&raw.cert, &p.key("cert"), "/etc/kiosk/tls/kiosk.crt", c);
    let key = file(&raw.key, &p.key("key"), "/etc/kiosk/tls/kiosk.key", c);
    let (cert, key) = (cert?, key?);
    if cert == key {
        c.error(
            &p.key("key"),
            "the key is the certificate file",
            "name the private key's own file (see docs/security.md)",
        );
        return None;
    }
    Some(Some(TlsFiles { cert, key }))
}

fn file(
    raw: &Option<String>,
    p: &FieldPath,
    example: &str,
    c: &mut Checker<'_>,
) -> Option<PathBuf> {
    let value = c.required(
        raw,
        p,
        &format!(
            "write e.g. {} = \"{example}\"",
            p.last_key().unwrap_or("file")
        ),
    )?;
    let value = value.trim();
    if value.is_empty() || !Path::new(value).is_absolute() {
        c.error(
            p,
            format!("`{value}` is not an absolute path"),
            format!("write the whole path, e.g. \"{example}\""),
        );
        return None;
    }
    Some(PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use crate::parse_center;

    const BASE: &str = r#"
[center]
name = "Trung tâm thử nghiệm"
short_name = "Thử nghiệm"

[[departments]]
id = "a"
name = "Phòng A"
block = { first = 1, last = 99 }

[[counters]]
number = 1
serves = ["a"]

[kiosk.printer]
transport = "tcp"
address = "127.0.0.1:9100"
"#;

    fn with(section: &str) -> Result<Option<crate::TlsFiles>, Vec<String>> {
        let text = format!("{BASE}\n{section}");
        parse_center(&text, "center.toml")
            .map(|loaded| loaded.value.kiosk.tls)
            .map_err(|errors| {
                errors
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect()
            })
    }

    #[test]
    fn absent_means_plain_http() {
        assert_eq!(with(""), Ok(None));
    }

    #[test]
    fn both_files_give_https() {
        let tls = with("[kiosk.tls]\ncert = \"/etc/kiosk/tls/kiosk.crt\"\nkey = \"/etc/kiosk/tls/kiosk.key\"\n")
            .unwrap()
            .unwrap();
        assert_eq!(tls.cert, std::path::Path::new("/etc/kiosk/tls/kiosk.crt"));
        assert_eq!(tls.key, std::path::Path::new("/etc/kiosk/tls/kiosk.key"));
    }

    #[test]
    fn missing_relative_and_same_files_are_refused() {
        let errors = with("[kiosk.tls]\ncert = \"kiosk.crt\"\n").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("kiosk.tls.cert") && e.contains("absolute")));
        assert!(errors
            .iter()
            .any(|e| e.contains("kiosk.tls.key") && e.contains("missing")));
        let errors =
            with("[kiosk.tls]\ncert = \"/etc/k.pem\"\nkey = \"/etc/k.pem\"\n").unwrap_err();
        assert!(
            errors[0].contains("the key is the certificate file"),
            "{errors:?}"
        );
        let errors = with(
            "[kiosk.tls]\ncert = \"/etc/k.crt\"\nkey = \"/etc/k.key\"\nca = \"/etc/ca.crt\"\n",
        )
        .unwrap_err();
        assert!(errors[0].contains("ca"), "{errors:?}");
    }
}
