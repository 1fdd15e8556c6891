//! Compaction: the store's records copied into fresh sled files, swapped in
//! so that a kill at any moment leaves either the old or the new store,
//! whole. This module owns every file name of the swap; `Store::compact`
//! decides when, and `Store::open` finishes a swap before sled opens.
//!
//! Why: sled 0.34 never reclaims some of its files — log segments that stay
//! more than half live, and blobs whose deferred deletion was lost when a
//! process ended (the store module's "Compaction" docs) — so what the disk
//! holds is not bounded by what the store keeps. A copy holds only the live
//! records.
//!
//! # Files
//!
//! sled's own entries in the data directory are `conf`, `db`, `blobs/` and
//! `snap.*` (plus `unfinished-snap.*` set aside by the store); everything
//! else there (the accounts file) is not the store's and is never touched.
//!
//! | name | what |
//! |---|---|
//! | `compact.new/` | the copy being written, then the new store's files not moved in yet |
//! | `compact.ready` | the commit: the names of the new store's files, one a line |
//! | `compact.ready.tmp` | the commit being written (ignored) |
//! | `compact.old/` | the old store's files once moved aside (deleted at the end) |
//! | `compact.bytes` | sled's file size right after the last compaction (a hint for when the next is due) |
//!
//! # Protocol
//!
//! 1. **copy** (old store open, under the store lock, no change accepted):
//!    every tree's records into a fresh sled in `compact.new/`, flushed,
//!    each file and the directory synced;
//! 2. **commit**: `compact.ready.tmp` written and synced, renamed to
//!    `compact.ready`, the data directory synced. Before this point the old
//!    store is untouched and is the store;
//! 3. **swap** (at the next open, before sled opens: `kiosk run`'s
//!    re-executed image, or any open after a kill): each of sled's entries
//!    in the data directory that is not the new store's (not named in the
//!    commit, or still present in `compact.new/`) is moved into
//!    `compact.old/`; then each named file still in `compact.new/` is moved
//!    in; the directories are synced, `compact.ready` removed and synced;
//! 4. **clean**: `compact.old/` and `compact.new/` deleted.
//!
//! An open that finds `compact.ready` redoes step 3 from wherever it
//! stopped (each move is a rename, and what is left to move is decided from
//! the names alone); one that finds no commit deletes `compact.new/` (a copy
//! never committed) and `compact.old/` (a swap already complete). The
//! records themselves are copied byte for byte: nothing of the disk format
//! changes, and an older kiosk opens a compacted store.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::error::StoreError;

/// The copy being written, then the new files not moved in yet.
pub const NEW_DIR: &str = "compact.new";
/// The old store's files moved aside.
pub const OLD_DIR: &str = "compact.old";
/// The commit: the new store's file names.
pub const READY: &str = "compact.ready";
/// The commit being written.
const READY_TMP: &str = "compact.ready.tmp";
/// sled's size right after the last compaction.
pub const BYTES: &str = "compact.bytes";

/// Records copied per sled batch.
const BATCH: usize = 1000;

/// Whether `name` is one of sled's entries in a data directory.
pub fn is_sled_entry(name: &str) -> bool {
    matches!(name, "conf" | "db" | "blobs")
        || name.starts_with("snap.")
        || name.starts_with("unfinished-snap.")
}

fn io(doing: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |e| StoreError::Io {
        doing,
        source: e.into(),
    }
}

fn sled_io(doing: &'static str) -> impl Fn(sled::Error) -> StoreError {
    move |source| StoreError::Io { doing, source }
}

/// Where a test stops the work, as a kill would: after this many steps
/// (each a file operation that a kill can fall between).
#[derive(Debug, Clone, Copy)]
pub(super) struct Steps {
    left: Option<usize>,
}

impl Steps {
    /// Never stop.
    pub(super) const ALL: Steps = Steps { left: None };

    /// Stop after `n` steps.
    pub(super) fn stop_after(n: usize) -> Steps {
        Steps { left: Some(n) }
    }

    /// Whether the next step may run (counts it).
    fn go(&mut self) -> bool {
        match &mut self.left {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

/// Bytes of sled's entries in `dir` (files, and files in `blobs/`).
pub fn sled_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_sled_entry(&entry.file_name().to_string_lossy()) {
            continue;
        }
        total += entry_bytes(&entry.path())?;
    }
    Ok(total)
}

fn entry_bytes(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += entry_bytes(&entry?.path())?;
    }
    Ok(total)
}

/// sled's size recorded right after the last compaction, if any.
pub fn last_compacted_bytes(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(BYTES))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// fsync a file or a directory by path.
fn sync_path(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// fsync every file under `path` and every directory, itself last.
fn sync_tree(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            sync_tree(&entry?.path())?;
        }
    }
    sync_path(path)
}

/// What [`copy_and_commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Copied {
    /// Committed: the next open swaps the copy in.
    Committed {
        /// Records copied.
        records: u64,
        /// Bytes of the new store's files.
        bytes: u64,
    },
    /// Stopped by the test's [`Steps`] before the end.
    Stopped,
}

/// Steps 1 and 2: copy every tree of `old` (open on `dir`) into a fresh
/// sled in `dir/compact.new` and commit it. The caller holds the store
/// lock and accepts no change after this returns `Committed`. On an error
/// before the commit, the copy is removed and the old store stays.
pub(super) fn copy_and_commit(
    old: &sled::Db,
    dir: &Path,
    cache_bytes: u64,
    mut steps: Steps,
) -> Result<Copied, StoreError> {
    let new_dir = dir.join(NEW_DIR);
    // Whatever an earlier attempt left is not committed (no `compact.ready`
    // exists while the store is open: the open finished any swap).
    remove_if_present(&new_dir).map_err(io("removing an unfinished compaction copy"))?;
    let _ = std::fs::remove_file(dir.join(READY_TMP));
    let result = copy(old, &new_dir, cache_bytes, &mut steps).and_then(|copied| match copied {
        None => Ok(Copied::Stopped),
        Some(records) => commit(dir, &new_dir, records, &mut steps),
    });
    if result.is_err() && !dir.join(READY).exists() {
        // Not committed: the old store is the store; the copy is garbage.
        let _ = std::fs::remove_dir_all(&new_dir);
        let _ = std::fs::remove_file(dir.join(READY_TMP));
    }
    result
}

/// Step 1; `None` when stopped by `steps`.
fn copy(
    old: &sled::Db,
    new_dir: &Path,
    cache_bytes: u64,
    steps: &mut Steps,
) -> Result<Option<u64>, StoreError> {
    if !steps.go() {
        return Ok(None);
    }
    let new = sled::Config::new()
        .path(new_dir)
        .cache_capacity(cache_bytes)
        .open()
        .map_err(sled_io("creating the compacted store"))?;
    let mut records = 0u64;
    for name in old.tree_names() {
        if !steps.go() {
            return Ok(None);
        }
        let from = old
            .open_tree(&name)
            .map_err(sled_io("opening a tree to compact"))?;
        let to = new
            .open_tree(&name)
            .map_err(sled_io("creating a tree of the compacted store"))?;
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for item in from.iter() {
            let (k, v) = item.map_err(sled_io("reading records to compact"))?;
            batch.insert(k, v);
            in_batch += 1;
            records += 1;
            if in_batch == BATCH {
                to.apply_batch(std::mem::take(&mut batch))
                    .map_err(sled_io("writing the compacted store"))?;
                in_batch = 0;
            }
        }
        to.apply_batch(batch)
            .map_err(sled_io("writing the compacted store"))?;
    }
    if !steps.go() {
        return Ok(None);
    }
    new.flush()
        .map_err(sled_io("flushing the compacted store"))?;
    drop(new);
    write_snapshot(new_dir, cache_bytes);
    // sled flushes with sync_file_range only; the files and the directory
    // must be on the disk before the commit names them.
    sync_tree(new_dir).map_err(io("syncing the compacted store"))?;
    Ok(Some(records))
}

/// How long [`write_snapshot`] waits for the copy's handle to let go.
const SNAPSHOT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Open the copy once more, so that sled writes its recovery snapshot
/// (it does only when it opens): without one, the new image replays the
/// whole copied log when it opens the store — seconds on a year's data,
/// and tens of megabytes resident for that day. The handle just dropped
/// may keep sled's lock a moment (its last frees wait in this thread's
/// epoch bag, which writes to a scratch store move along); if it does not
/// let go in time, the copy is committed without a new snapshot, which
/// only makes that opening slower.
fn write_snapshot(new_dir: &Path, cache_bytes: u64) {
    let started = std::time::Instant::now();
    let scratch = sled::Config::new().temporary(true).open();
    loop {
        match sled::Config::new()
            .path(new_dir)
            .cache_capacity(cache_bytes)
            .open()
        {
            Ok(reopened) => {
                drop(reopened);
                return;
            }
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && started.elapsed() < SNAPSHOT_LOCK_WAIT =>
            {
                if let Ok(scratch) = &scratch {
                    for _ in 0..128 {
                        let _ = scratch.insert(b"churn", b"");
                        let _ = scratch.remove(b"churn");
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(err) => {
                tracing::warn!(error = %err, "the compacted store was not reopened to write its recovery snapshot; the next opening replays its whole log");
                return;
            }
        }
    }
}

/// Step 2.
fn commit(
    dir: &Path,
    new_dir: &Path,
    records: u64,
    steps: &mut Steps,
) -> Result<Copied, StoreError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(new_dir).map_err(io("listing the compacted store"))? {
        let name = entry
            .map_err(io("listing the compacted store"))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !is_sled_entry(&name) {
            return Err(StoreError::Inconsistent(format!(
                "the compacted store holds {name:?}, which is not one of sled's files"
            )));
        }
        names.push(name);
    }
    names.sort();
    if !names.iter().any(|n| n == "db") {
        return Err(StoreError::Inconsistent(
            "the compacted store has no log file".into(),
        ));
    }
    let bytes = sled_bytes(new_dir).map_err(io("measuring the compacted store"))?;
    if !steps.go() {
        return Ok(Copied::Stopped);
    }
    let tmp = dir.join(READY_TMP);
    {
        let mut file = std::fs::File::create(&tmp).map_err(io("writing the compaction commit"))?;
        for name in &names {
            writeln!(file, "{name}").map_err(io("writing the compaction commit"))?;
        }
        file.sync_all()
            .map_err(io("syncing the compaction commit"))?;
    }
    if !steps.go() {
        return Ok(Copied::Stopped);
    }
    std::fs::rename(&tmp, dir.join(READY)).map_err(io("committing the compaction"))?;
    sync_path(dir).map_err(io("syncing the data directory"))?;
    Ok(Copied::Committed { records, bytes })
}

/// What [`finish`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Nothing to do.
    Nothing,
    /// A copy never committed removed: the store is the one that was
    /// there.
    Discarded,
    /// What a complete swap left (the old files, an empty directory)
    /// removed.
    Cleaned,
    /// A committed copy swapped in.
    Swapped,
    /// Stopped by the test's [`Steps`] before the end.
    Stopped,
}

/// Steps 3 and 4 at an open, before sled opens `dir`: complete a committed
/// swap, or discard an uncommitted copy. Only once no handle holds sled's
/// lock on the log (a kiosk still running there, or this process's handle
/// just dropped, may still be writing its copy): waits up to `lock_wait`
/// for it, then fails as sled does ("could not acquire lock").
pub fn finish(dir: &Path, lock_wait: std::time::Duration) -> Result<Finished, StoreError> {
    finish_stopping(dir, lock_wait, Steps::ALL)
}

/// [`finish`], stopping after `steps` file operations as a kill would
/// (tests only).
#[doc(hidden)]
pub fn finish_stopping_after(
    dir: &Path,
    lock_wait: std::time::Duration,
    steps: usize,
) -> Result<Finished, StoreError> {
    finish_stopping(dir, lock_wait, Steps::stop_after(steps))
}

fn finish_stopping(
    dir: &Path,
    lock_wait: std::time::Duration,
    steps: Steps,
) -> Result<Finished, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match log_lock_free(dir) {
            Ok(true) => return finish_steps(dir, steps),
            Ok(false) if started.elapsed() < lock_wait => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(false) => {
                return Err(StoreError::Open {
                    dir: dir.to_owned(),
                    source: std::io::Error::other(format!(
                        "could not acquire lock on {}: another process (or handle) uses the store",
                        dir.join("db").display()
                    ))
                    .into(),
                })
            }
            Err(source) => {
                return Err(StoreError::Open {
                    dir: dir.to_owned(),
                    source: source.into(),
                })
            }
        }
    }
}

/// Whether no one holds sled's lock on `dir/db` (sled takes an exclusive
/// `flock` on it while open); true when there is no log file yet.
#[allow(unsafe_code)] // flock, with its SAFETY comment.
fn log_lock_free(dir: &Path) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let file = match std::fs::File::open(dir.join("db")) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    // SAFETY: flock on a descriptor this function owns, no pointer; the
    // lock goes with `file` when it is dropped on return.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

fn finish_steps(dir: &Path, mut steps: Steps) -> Result<Finished, StoreError> {
    let ready = dir.join(READY);
    let new_dir = dir.join(NEW_DIR);
    let old_dir = dir.join(OLD_DIR);
    let names = match std::fs::read_to_string(&ready) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<BTreeSet<String>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut found = Finished::Nothing;
            for leftover in [&new_dir, &old_dir] {
                if leftover.exists() {
                    // A copy with files in it was never committed; an empty
                    // one, or the old files, are what a complete swap left.
                    let copy = leftover == &new_dir
                        && std::fs::read_dir(leftover)
                            .map_err(io("looking at what a compaction left"))?
                            .next()
                            .is_some();
                    if !steps.go() {
                        return Ok(Finished::Stopped);
                    }
                    std::fs::remove_dir_all(leftover)
                        .map_err(io("removing what a compaction left"))?;
                    if copy {
                        found = Finished::Discarded;
                    } else if found == Finished::Nothing {
                        found = Finished::Cleaned;
                    }
                }
            }
            let _ = std::fs::remove_file(dir.join(READY_TMP));
            return Ok(found);
        }
        Err(e) => return Err(io("reading the compaction commit")(e)),
    };
    if !names.contains("db") || names.iter().any(|n| !is_sled_entry(n)) {
        return Err(StoreError::Inconsistent(format!(
            "the compaction commit {} names {names:?}; move compact.new, compact.old and compact.ready aside and start again to use the store as it was before the compaction",
            ready.display()
        )));
    }
    tracing::info!(dir = %dir.display(), "a committed compaction of the queue store is swapped in");
    std::fs::create_dir_all(&old_dir).map_err(io("creating the directory of the old store"))?;
    // The old store's entries out: any sled entry the commit does not name,
    // and a named one whose new file still waits in compact.new.
    let mut present: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("listing the data directory"))? {
        let name = entry
            .map_err(io("listing the data directory"))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if is_sled_entry(&name) {
            present.push(name);
        }
    }
    present.sort();
    for name in present {
        if names.contains(&name) && !new_dir.join(&name).exists() {
            continue; // already the new store's
        }
        if !steps.go() {
            return Ok(Finished::Stopped);
        }
        let aside = old_dir.join(&name);
        remove_if_present(&aside).map_err(io("clearing the directory of the old store"))?;
        std::fs::rename(dir.join(&name), &aside).map_err(io("moving the old store aside"))?;
    }
    for name in &names {
        let from = new_dir.join(name);
        if !from.exists() {
            continue;
        }
        if !steps.go() {
            return Ok(Finished::Stopped);
        }
        std::fs::rename(&from, dir.join(name)).map_err(io("moving the compacted store in"))?;
    }
    for name in &names {
        if !dir.join(name).exists() {
            return Err(StoreError::Inconsistent(format!(
                "the compacted store's {name} is missing from {}; keep a copy of the data directory for the developers",
                dir.display()
            )));
        }
    }
    if !steps.go() {
        return Ok(Finished::Stopped);
    }
    sync_path(dir).map_err(io("syncing the data directory"))?;
    std::fs::remove_file(&ready).map_err(io("removing the compaction commit"))?;
    sync_path(dir).map_err(io("syncing the data directory"))?;
    for leftover in [&old_dir, &new_dir] {
        if !steps.go() {
            return Ok(Finished::Stopped);
        }
        remove_if_present(leftover).map_err(io("removing the old store"))?;
    }
    Ok(Finished::Swapped)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Record sled's size right after a compaction (a hint: a lost write only
/// makes the next compaction come sooner).
pub(super) fn record_bytes(dir: &Path, bytes: u64) {
    let tmp = dir.join(format!("{BYTES}.tmp"));
    let written = std::fs::write(&tmp, bytes.to_string())
        .and_then(|()| std::fs::rename(&tmp, dir.join(BYTES)));
    if let Err(err) = written {
        tracing::warn!(error = %err, "cannot record the compacted store's size; the next compaction may come early");
    }
}
