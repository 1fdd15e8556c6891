//! Replacing a small file (accounts, the center file) so that a crash or a
//! power cut leaves either the old content or the new one, never half of
//! one: write a temporary file beside it, `fsync` it, rename it over the
//! old one, then `fsync` the directory (a rename is durable only once its
//! directory is). Knows nothing about what the bytes mean.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A step of [`replace`] failed; the old file, if any, is untouched.
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} {path}: {source}")]
pub struct ReplaceError {
    /// What was being done (`write`, `rename into place`, …).
    pub step: &'static str,
    /// The file or directory involved.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: std::io::Error,
}

/// Replaces `path` with `contents`; a new file gets `mode` (before the
/// umask). The temporary file is `path` with `.new` appended to its name.
pub fn replace(path: &Path, contents: &[u8], mode: u32) -> Result<(), ReplaceError> {
    let fail = |step: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| ReplaceError { step, path, source }
    };
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".new");
    let temp = PathBuf::from(temp_name);
    {
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(fail("create", &temp))?;
        out.write_all(contents).map_err(fail("write", &temp))?;
        out.sync_all().map_err(fail("sync", &temp))?;
    }
    std::fs::rename(&temp, path).map_err(fail("rename into place", path))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("sync the directory", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        std::fs::write(&path, "old").unwrap();
        replace(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("accounts.json")]);
    }

    #[test]
    fn a_new_file_gets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        replace(&path, b"x", 0o600).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_failure_names_the_step_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("center.toml");
        std::fs::write(&path, "old").unwrap();
        // A directory where the temporary file should go: creating it fails.
        std::fs::create_dir(dir.path().join("center.toml.new")).unwrap();
        let err = replace(&path, b"new", 0o644).unwrap_err();
        assert_eq!(err.step, "create");
        assert!(err.to_string().contains("center.toml.new"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }
}
