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
//! | `compact.stream` | the records read for a copy made by child processes, before they are written (ignored) |
//! | `compact.due` | a compaction scheduled for the next process image, before it opens the store |
//! | `compact.old/` | the old store's files once moved aside (deleted at the end) |
//! | `compact.bytes` | sled's file size right after the last compaction (a hint for when the next is due) |
//!
//! # Protocol
//!
//! 1. **copy** (old store open, under the store lock, no change accepted;
//!    or, as the kiosk does it, by child processes while the store is
//!    closed: [`compact_in_children`]): every tree's records into a fresh
//!    sled in `compact.new/` (the packed days first: see `tree_order`), flushed,
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

mod children;

pub use children::{
    compact_in_children, serve_child_if_asked, ChildCompaction, CHILD_ENV, CHILD_LIMIT, PIECE_BYTES,
};

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::error::StoreError;

/// The maintenance step's request: compact before the store opens next
/// (written by [`crate::store::Store::schedule_compaction`]).
pub const DUE: &str = "compact.due";
/// The copy being written, then the new files not moved in yet.
pub const NEW_DIR: &str = "compact.new";
/// The old store's files moved aside.
pub const OLD_DIR: &str = "compact.old";
/// The commit: the new store's file names.
pub const READY: &str = "compact.ready";
/// The commit being written.
const READY_TMP: &str = "compact.ready.tmp";
/// The records read for a copy made by child processes, before the
/// writer takes them ([`compact_in_children`]).
pub const STREAM: &str = "compact.stream";
/// sled's size right after the last compaction.
pub const BYTES: &str = "compact.bytes";

/// Records copied per sled batch, at most. Smaller batches keep less of
/// the copy resident: a writer of `YEAR_DAYS=30` peaked at 19 MB with 50,
/// 22–26 MB with 200–400, 27–29 MB with 1,000 (and 50 MB with 1).
const BATCH: usize = 50;
/// Keys and values copied per sled batch, at most.
const BATCH_BYTES: usize = 256 * 1024;

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
    uncommitted_on_error(dir, |new_dir| {
        copy(old, new_dir, cache_bytes, &mut steps).and_then(|copied| match copied {
            None => Ok(Copied::Stopped),
            Some(records) => commit(dir, new_dir, records, &mut steps),
        })
    })
}

/// Run `copy_and_commit`, which writes the copy into `dir/compact.new`
/// (given to it), on a clean slate: whatever an earlier attempt left is
/// removed first (it is not committed: the store's opening finished any
/// swap), and if `copy_and_commit` fails before the commit, the copy is
/// removed again, so that the old store stays the store.
fn uncommitted_on_error<T>(
    dir: &Path,
    copy_and_commit: impl FnOnce(&Path) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let new_dir = dir.join(NEW_DIR);
    remove_if_present(&new_dir).map_err(io("removing an unfinished compaction copy"))?;
    let _ = std::fs::remove_file(dir.join(READY_TMP));
    let result = copy_and_commit(&new_dir);
    if result.is_err() && !dir.join(READY).exists() {
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
    let mut sink = SledSink::new(open_copy(new_dir, cache_bytes)?);
    let mut records = 0u64;
    let mut cursor = Cursor::START;
    loop {
        if !steps.go() {
            return Ok(None);
        }
        let piece = copy_piece(old, &cursor, u64::MAX, &mut sink)?;
        records += piece.records;
        match piece.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    if !steps.go() {
        return Ok(None);
    }
    seal(sink.finish()?, new_dir, cache_bytes)?;
    Ok(Some(records))
}

/// Opens (or creates) the copy in `new_dir`.
fn open_copy(new_dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(new_dir)
        .cache_capacity(cache_bytes)
        .open()
        .map_err(sled_io("creating the compacted store"))
}

/// The end of step 1: the copy flushed, closed, given its recovery
/// snapshot and synced.
fn seal(new: sled::Db, new_dir: &Path, cache_bytes: u64) -> Result<(), StoreError> {
    new.flush()
        .map_err(sled_io("flushing the compacted store"))?;
    drop(new);
    write_snapshot(new_dir, cache_bytes);
    // sled flushes with sync_file_range only; the files and the directory
    // must be on the disk before the commit names them.
    sync_tree(new_dir).map_err(io("syncing the compacted store"))
}

/// Where a copy stands: the tree to copy next (its place among the old
/// store's tree names, sorted) and the last key of it already copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    tree: usize,
    after: Option<Vec<u8>>,
}

impl Cursor {
    /// Nothing copied yet.
    pub const START: Cursor = Cursor {
        tree: 0,
        after: None,
    };

    /// One word, for a child's command line and its answer.
    pub fn to_text(&self) -> String {
        match &self.after {
            None => self.tree.to_string(),
            Some(key) => {
                let mut text = format!("{}:", self.tree);
                for byte in key {
                    text.push_str(&format!("{byte:02x}"));
                }
                text
            }
        }
    }

    /// The word [`Cursor::to_text`] wrote.
    pub fn from_text(text: &str) -> Option<Cursor> {
        let (tree, key) = match text.split_once(':') {
            Some((tree, key)) => (tree, Some(key)),
            None => (text, None),
        };
        let after = match key {
            None => None,
            Some(hex) if hex.len() % 2 == 0 => Some(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?,
            ),
            Some(_) => return None,
        };
        Some(Cursor {
            tree: tree.parse().ok()?,
            after,
        })
    }
}

/// What one [`copy_piece`] copied.
#[derive(Debug)]
struct Piece {
    records: u64,
    bytes: u64,
    /// Where the next piece starts; `None` when every tree is copied.
    next: Option<Cursor>,
}

/// Where copied records go: a sled store (the copy itself), or the
/// stream a reader child writes for the writer child ([`children`]).
trait Sink {
    /// The records that follow belong to tree `name`.
    fn tree(&mut self, name: &[u8]) -> Result<(), StoreError>;
    /// One record of the current tree.
    fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Everything so far written out.
    fn flush(&mut self) -> Result<(), StoreError>;
}

/// Records written into the copy, in batches of [`BATCH`] records or
/// [`BATCH_BYTES`] of keys and values.
struct SledSink {
    db: sled::Db,
    tree: Option<sled::Tree>,
    batch: sled::Batch,
    in_batch: usize,
    batch_bytes: usize,
}

impl SledSink {
    fn new(db: sled::Db) -> Self {
        SledSink {
            db,
            tree: None,
            batch: sled::Batch::default(),
            in_batch: 0,
            batch_bytes: 0,
        }
    }

    /// Everything written; the copy, to be sealed.
    fn finish(mut self) -> Result<sled::Db, StoreError> {
        self.flush()?;
        Ok(self.db)
    }
}

impl Sink for SledSink {
    fn tree(&mut self, name: &[u8]) -> Result<(), StoreError> {
        self.flush()?;
        self.tree = Some(
            self.db
                .open_tree(name)
                .map_err(sled_io("creating a tree of the compacted store"))?,
        );
        Ok(())
    }

    fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.batch.insert(key, value);
        self.in_batch += 1;
        self.batch_bytes += key.len() + value.len();
        if self.in_batch == BATCH || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut self.batch);
        self.in_batch = 0;
        self.batch_bytes = 0;
        match &self.tree {
            Some(tree) => tree
                .apply_batch(batch)
                .map_err(sled_io("writing the compacted store")),
            None => Ok(()),
        }
    }
}

/// The order in which the trees of `old` are copied: the tree of packed
/// days first, then the others by name. Why first: sled writes a node
/// over 128 KiB (the packs' nodes) as a blob file and deletes the blob it
/// replaced only once the log has moved on past the replacement; copied
/// last, with nothing written after them, the packs' replaced blobs stayed
/// in the copy (27.1 MB for `YEAR_DAYS=30`, against 13.8 MB with the
/// packs first).
fn tree_order(old: &sled::Db) -> Vec<sled::IVec> {
    let mut names = old.tree_names();
    names.sort_by_key(|name| (name.as_ref() != super::disk::COLD_TREE, name.clone()));
    names
}

/// Copy records of `old` into `sink` from `from` on, within one tree,
/// until keys and values reach `budget` bytes or the tree ends.
fn copy_piece(
    old: &sled::Db,
    from: &Cursor,
    budget: u64,
    sink: &mut impl Sink,
) -> Result<Piece, StoreError> {
    let names = tree_order(old);
    let Some(name) = names.get(from.tree) else {
        return Ok(Piece {
            records: 0,
            bytes: 0,
            next: None,
        });
    };
    let source = old
        .open_tree(name)
        .map_err(sled_io("opening a tree to compact"))?;
    sink.tree(name)?;
    let items = match &from.after {
        Some(key) => source.range::<&[u8], _>((
            std::ops::Bound::Excluded(key.as_slice()),
            std::ops::Bound::Unbounded,
        )),
        None => source.iter(),
    };
    let (mut records, mut bytes) = (0u64, 0u64);
    for item in items {
        let (key, value) = item.map_err(sled_io("reading records to compact"))?;
        records += 1;
        bytes += (key.len() + value.len()) as u64;
        sink.record(&key, &value)?;
        if bytes >= budget {
            sink.flush()?;
            return Ok(Piece {
                records,
                bytes,
                next: Some(Cursor {
                    tree: from.tree,
                    after: Some(key.to_vec()),
                }),
            });
        }
    }
    sink.flush()?;
    let next = Cursor {
        tree: from.tree + 1,
        after: None,
    };
    Ok(Piece {
        records,
        bytes,
        next: (next.tree < names.len()).then_some(next),
    })
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
    if !wait_released(new_dir) {
        tracing::warn!("the compacted store was not reopened to write its recovery snapshot (its handle kept the lock); the next opening replays its whole log");
        return;
    }
    match sled::Config::new()
        .path(new_dir)
        .cache_capacity(cache_bytes)
        .open()
    {
        Ok(reopened) => drop(reopened),
        Err(err) => {
            tracing::warn!(error = %err, "the compacted store was not reopened to write its recovery snapshot; the next opening replays its whole log");
        }
    }
}

/// Wait until the sled handle of `dir` just dropped has let go of its
/// lock, which it does once its last deferred work is done (its last
/// frees wait in this thread's epoch bag, which writes to a scratch store
/// move along); false when it did not within [`SNAPSHOT_LOCK_WAIT`].
fn wait_released(dir: &Path) -> bool {
    let started = std::time::Instant::now();
    let scratch = sled::Config::new().temporary(true).open();
    loop {
        if log_lock_free(dir).unwrap_or(false) {
            return true;
        }
        if started.elapsed() >= SNAPSHOT_LOCK_WAIT {
            return false;
        }
        if let Ok(scratch) = &scratch {
            for _ in 0..128 {
                let _ = scratch.insert(b"churn", b"");
                let _ = scratch.remove(b"churn");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
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
    // The records a copy by child processes read: never needed once the
    // process that spooled them is gone, committed or not.
    let _ = std::fs::remove_file(dir.join(STREAM));
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

/// Whether a compaction was scheduled ([`DUE`]); the request is removed,
/// so that a kill during the compaction does not repeat it at the next
/// start (the next roll schedules it again while it is due).
pub fn take_due(dir: &Path) -> bool {
    std::fs::remove_file(dir.join(DUE)).is_ok()
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
