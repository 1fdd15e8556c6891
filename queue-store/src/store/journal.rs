//! The write-ahead journal in front of sled: what makes an acknowledged
//! operation durable with **one** `fdatasync`.
//!
//! sled 0.34 makes a batch durable only through `flush()`, which writes
//! its log buffer from its own pool threads, twice per batch, each write
//! followed by `sync_file_range`, and a power cut still needs an
//! `fdatasync` after that (the store module's docs). The journal takes that
//! off the issue path: each operation's writes are appended as one record
//! to `journal`, a file of fixed size written with zeros when it was made,
//! and synced with one `fdatasync`; the same writes then go to sled without
//! a flush (sled writes them in the background). A write inside a file's
//! allocated, already written blocks changes no metadata, so the sync is one
//! data write and a cache flush.
//!
//! # Format
//!
//! The file is [`BYTES`] long ([`super::StoreOptions::journal_bytes`]). Records follow each other from offset 0:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `QJ01` |
//! | 8 | store id (little-endian), the [`Mark`]'s |
//! | 8 | epoch (little-endian), the [`Mark`]'s |
//! | 4 | payload length (little-endian) |
//! | 4 | CRC-32 of the 20 bytes before it and the payload |
//! | n | payload: writes, each `1` key-length key value-length value (an insert) or `0` key-length key (a removal), lengths as u32 little-endian |
//!
//! Only the hot tree is journaled (every operation writes there alone).
//!
//! # Recovery
//!
//! sled's hot tree holds a [`Mark`] (key `j`): the store's random id and
//! the current epoch. Opening reads it, then applies in file order every
//! record of that id and epoch until the first that is not (a torn record
//! fails its CRC; what follows the last record is zeros or older epochs'
//! records). Re-applying records sled already has is harmless: a record is
//! plain inserts and removals, sled recovers a prefix of what it was given,
//! and applying a suffix of the same records in order on top of any state
//! of that prefix ends at the state after the last record.
//!
//! # Checkpoints
//!
//! [`Journal::checkpoint`] writes the next epoch into the mark, flushes
//! sled and `fdatasync`s its log: from then on sled holds every record of the
//! old epoch and they are never applied again, so the journal starts over
//! at offset 0. The store checkpoints when the journal is full (one
//! operation in about two thousand pays a sled flush), at every opening,
//! and around every write that does not go through the journal (the daily
//! pruning, a compaction, a switch of [`super::Durability`]), so that no
//! journal record is ever applied over a later write it does not contain.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::disk;
use super::error::StoreError;

/// The journal's file name in the data directory.
pub const FILE: &str = "journal";
/// The file while it is being made.
const FILE_NEW: &str = "journal.new";
/// The journal's size: about two thousand operations between checkpoints.
pub const BYTES: u64 = 2 * 1024 * 1024;
/// Each record starts with it.
const MAGIC: &[u8; 4] = b"QJ01";
/// Magic, store id, epoch, length, CRC.
const HEADER: usize = 4 + 8 + 8 + 4 + 4;
/// The mark's key in the hot tree.
pub const MARK_KEY: &[u8] = b"j";

/// Which records of the journal sled does not hold for sure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Random, chosen at the first checkpoint: records of another store's
    /// journal (a data directory put together by hand) are never applied.
    pub store: u64,
    /// Records of this epoch are applied at opening.
    pub epoch: u64,
}

/// One operation's writes to the hot tree, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Writes(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Writes {
    /// Set `key` to `value`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push((key.into(), Some(value.into())));
    }

    /// Remove `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.0.push((key.into(), None));
    }

    /// The same writes as one atomic sled batch.
    pub fn to_batch(&self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (key, value) in &self.0 {
            match value {
                Some(v) => batch.insert(key.as_slice(), v.as_slice()),
                None => batch.remove(key.as_slice()),
            }
        }
        batch
    }

    /// Apply the writes to `db` one by one, without a sled batch: the
    /// journaled path. sled's `apply_batch` writes its log buffer out at
    /// every batch (a `pwrite` and a `sync_file_range` on one of its
    /// threads, twice: the buffer before, then a batch manifest), which
    /// competed with the journal's sync; single writes stay in sled's
    /// buffer until its flusher or a checkpoint. Atomicity comes from the
    /// journal: an operation's writes reach sled only after its record is
    /// on disk, so an opening completes any operation sled holds in part.
    pub fn apply(&self, db: &sled::Db) -> sled::Result<()> {
        for (key, value) in &self.0 {
            match value {
                Some(v) => db.insert(key.as_slice(), v.as_slice()).map(drop)?,
                None => db.remove(key.as_slice()).map(drop)?,
            }
        }
        Ok(())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for (key, value) in &self.0 {
            out.push(u8::from(value.is_some()));
            put_bytes(out, key);
            if let Some(v) = value {
                put_bytes(out, v);
            }
        }
    }

    fn decode(mut payload: &[u8]) -> Option<Writes> {
        let mut writes = Writes::default();
        while let Some((&kind, rest)) = payload.split_first() {
            let (key, rest) = take_bytes(rest)?;
            let (value, rest) = match kind {
                0 => (None, rest),
                1 => {
                    let (v, rest) = take_bytes(rest)?;
                    (Some(v.to_vec()), rest)
                }
                _ => return None,
            };
            writes.0.push((key.to_vec(), value));
            payload = rest;
        }
        Some(writes)
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // A key or value over 4 GiB cannot be built in this store's records.
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_bytes(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The open journal of a data directory.
#[derive(Debug)]
pub struct Journal {
    file: File,
    /// Where the next record goes.
    end: u64,
    /// The file's size.
    capacity: u64,
    mark: Mark,
    /// A checkpoint failed half-way: the mark on disk may be either epoch,
    /// so nothing more is appended until the store is reopened.
    poisoned: bool,
    /// Where the last record appended starts, until the next checkpoint
    /// ([`Journal::take_back_last`]).
    last: Option<u64>,
    /// Reused for each record.
    buf: Vec<u8>,
}

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Records applied to sled.
    pub records: usize,
    /// Whether the journal file had to be made (a new store, or one
    /// written before the journal existed).
    pub created: bool,
}

fn io(doing: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |e| disk::io_err(doing, e.into())
}

/// A journal file that cannot be opened or made is the data directory's
/// problem (its owner or permissions, say after a command run as root):
/// the error names the directory and says so.
fn unopenable(dir: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Open {
        dir: dir.to_owned(),
        source: std::io::Error::new(e.kind(), format!("the journal file {FILE}: {e}")).into(),
    }
}

impl Journal {
    /// Opens `dir`'s journal (making it when missing), applies to `db`'s
    /// hot tree the records sled may lack, and checkpoints, so the journal
    /// starts empty. `log` is sled's log file, synced by the checkpoint.
    /// A journal of another size than `capacity` is replayed, then made
    /// afresh at that size.
    pub fn open(
        dir: &Path,
        db: &sled::Db,
        log: &File,
        capacity: u64,
    ) -> Result<(Journal, Replayed), StoreError> {
        let path = dir.join(FILE);
        let created = !path.exists();
        if created {
            make_file(dir, capacity)?;
        }
        let file = File::options()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(unopenable(dir))?;
        let mark: Option<Mark> = match db
            .get(MARK_KEY)
            .map_err(|e| disk::io_err("reading the journal mark", e))?
        {
            Some(v) => Some(disk::decode(MARK_KEY, &v)?),
            None => None,
        };
        let mut records = 0;
        if let Some(mark) = mark {
            let mut content = Vec::new();
            (&file)
                .take(BYTES.max(capacity))
                .read_to_end(&mut content)
                .map_err(io("reading the journal"))?;
            let mut at = 0;
            // One write at a time, as in service: a cut during the replay
            // leaves the journal as it was, and the checkpoint below makes
            // the whole replay durable at once.
            while let Some((writes, next)) = record_at(&content, at, mark)? {
                writes
                    .apply(db)
                    .map_err(|e| disk::io_err("applying the journal", e))?;
                records += 1;
                at = next;
            }
        }
        let whole = file
            .metadata()
            .map_err(io("reading the journal's size"))?
            .len()
            == capacity;
        let mut journal = Journal {
            file,
            end: 0,
            capacity,
            mark: mark.unwrap_or(Mark {
                store: rand::random(),
                epoch: 0,
            }),
            poisoned: false,
            last: None,
            buf: Vec::new(),
        };
        journal.checkpoint(db, log)?;
        if !whole {
            // Cut short by hand, or made by a build with another size:
            // everything in it is in sled now, so it is made afresh.
            make_file(dir, capacity)?;
            journal.file = File::options()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(unopenable(dir))?;
        }
        Ok((journal, Replayed { records, created }))
    }

    /// Appends `writes` as one record and waits until it is on disk.
    /// `Ok(false)` when it does not fit even in an empty journal (the
    /// caller writes it to sled and checkpoints instead).
    pub fn append(
        &mut self,
        writes: &Writes,
        db: &sled::Db,
        log: &File,
    ) -> Result<bool, StoreError> {
        if self.poisoned {
            return Err(StoreError::Unavailable {
                reason: "a checkpoint of the journal failed; the store is reopened before the next change".into(),
            });
        }
        self.buf.clear();
        self.buf.extend_from_slice(&[0; HEADER]);
        writes.encode(&mut self.buf);
        let len = self.buf.len() - HEADER;
        let Ok(len32) = u32::try_from(len) else {
            return Ok(false);
        };
        if self.buf.len() as u64 > self.capacity {
            return Ok(false);
        }
        if self.end + self.buf.len() as u64 > self.capacity {
            self.checkpoint(db, log)?;
        }
        self.buf[..4].copy_from_slice(MAGIC);
        self.buf[4..12].copy_from_slice(&self.mark.store.to_le_bytes());
        self.buf[12..20].copy_from_slice(&self.mark.epoch.to_le_bytes());
        self.buf[20..24].copy_from_slice(&len32.to_le_bytes());
        let crc = crc(&self.buf[..24], &self.buf[HEADER..]);
        self.buf[24..28].copy_from_slice(&crc.to_le_bytes());
        self.file
            .write_all_at(&self.buf, self.end)
            .map_err(io("writing to the journal"))?;
        self.file.sync_data().map_err(io("syncing the journal"))?;
        self.last = Some(self.end);
        self.end += self.buf.len() as u64;
        Ok(true)
    }

    /// Takes the record [`Journal::append`] just wrote back, when its
    /// change could not be applied to sled and is refused: its header is
    /// zeroed and synced, so no opening applies it (the change must not
    /// come back as a ghost, e.g. a press refused on a full disk whose
    /// ticket reappears after the reopen). If that fails the journal is
    /// poisoned until the store reopens, and the record may still be
    /// applied then.
    pub fn take_back_last(&mut self) -> Result<(), StoreError> {
        let Some(start) = self.last.take() else {
            return Ok(());
        };
        let taken_back = self
            .file
            .write_all_at(&[0; HEADER], start)
            .and_then(|()| self.file.sync_data());
        match taken_back {
            Ok(()) => {
                self.end = start;
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                Err(io("taking a refused change back out of the journal")(e))
            }
        }
    }

    /// Makes sled hold every record for sure and starts the journal over
    /// (see the module docs).
    pub fn checkpoint(&mut self, db: &sled::Db, log: &File) -> Result<(), StoreError> {
        let next = Mark {
            store: self.mark.store,
            epoch: self.mark.epoch + 1,
        };
        self.poisoned = true;
        db.insert(MARK_KEY, disk::encode(&next))
            .map_err(|e| disk::io_err("recording the journal mark", e))?;
        db.flush()
            .map_err(|e| disk::io_err("flushing to disk", e))?;
        log.sync_data()
            .map_err(|e| disk::io_err("syncing sled's log file", e.into()))?;
        self.mark = next;
        self.end = 0;
        self.last = None;
        self.poisoned = false;
        Ok(())
    }

    /// Whether no record was written since the last checkpoint.
    pub fn is_empty(&self) -> bool {
        self.end == 0
    }
}

/// The record at `at` if it belongs to `mark`, and where the next starts.
fn record_at(content: &[u8], at: usize, mark: Mark) -> Result<Option<(Writes, usize)>, StoreError> {
    let Some(header) = content.get(at..at + HEADER) else {
        return Ok(None);
    };
    if &header[..4] != MAGIC
        || header[4..12] != mark.store.to_le_bytes()
        || header[12..20] != mark.epoch.to_le_bytes()
    {
        return Ok(None);
    }
    let len = u32::from_le_bytes([header[20], header[21], header[22], header[23]]) as usize;
    let stored_crc = u32::from_le_bytes([header[24], header[25], header[26], header[27]]);
    let Some(payload) = content.get(at + HEADER..at + HEADER + len) else {
        return Ok(None);
    };
    if crc(&header[..24], payload) != stored_crc {
        // Torn by a cut during its write: it was never acknowledged.
        return Ok(None);
    }
    match Writes::decode(payload) {
        Some(writes) => Ok(Some((writes, at + HEADER + len))),
        None => Err(StoreError::Inconsistent(format!(
            "journal record at byte {at} passes its checksum but cannot be read"
        ))),
    }
}

fn crc(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize()
}

/// Writes a journal of zeros beside the store and renames it in place, so
/// `journal` is always whole (its blocks allocated and written: appending a
/// record never changes the file's size).
fn make_file(dir: &Path, capacity: u64) -> Result<(), StoreError> {
    let tmp = dir.join(FILE_NEW);
    let mut file = File::create(&tmp).map_err(unopenable(dir))?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = capacity;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])
            .map_err(io("making the journal"))?;
        left -= n as u64;
    }
    file.sync_all().map_err(io("making the journal"))?;
    drop(file);
    std::fs::rename(&tmp, dir.join(FILE)).map_err(io("making the journal"))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("making the journal"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(n: u8) -> Writes {
        let mut writes = Writes::default();
        writes.insert(vec![b't', n], vec![n; 40]);
        writes
    }

    /// A journal appended to and left without a checkpoint, as a kill
    /// leaves it; then opened again: what it applied, and sled's keys.
    fn append_then_reopen(take_back: bool) -> (usize, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let image = tempfile::tempdir().unwrap();
        {
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let log = File::open(dir.path().join("db")).unwrap();
            let (mut journal, _) = Journal::open(dir.path(), &db, &log, 64 * 1024).unwrap();
            assert!(journal.append(&ticket(1), &db, &log).unwrap());
            assert!(journal.append(&ticket(2), &db, &log).unwrap());
            if take_back {
                journal.take_back_last().unwrap();
            }
            // sled as the kill leaves it: the checkpoint of the opening,
            // nothing of the two records.
            db.flush().unwrap();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    std::fs::copy(entry.path(), image.path().join(entry.file_name())).unwrap();
                }
            }
        }
        let db = sled::Config::new().path(image.path()).open().unwrap();
        let log = File::open(image.path().join("db")).unwrap();
        let (_, replayed) = Journal::open(image.path(), &db, &log, 64 * 1024).unwrap();
        let keys = db
            .iter()
            .keys()
            .map(|k| k.unwrap().to_vec())
            .filter(|k| k.first() == Some(&b't'))
            .collect();
        (replayed.records, keys)
    }

    #[test]
    fn a_record_taken_back_is_never_applied() {
        assert_eq!(
            append_then_reopen(false),
            (2, vec![vec![b't', 1], vec![b't', 2]])
        );
        assert_eq!(append_then_reopen(true), (1, vec![vec![b't', 1]]));
    }
}
