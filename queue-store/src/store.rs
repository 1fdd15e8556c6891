//! The durable queue store: the only module that touches sled.
//!
//! A [`Store`] owns the data directory. It issues tickets, applies counter
//! actions, keeps the event log and serves snapshots; nothing else in the
//! workspace opens sled trees. The queue rules live in the pure
//! [`queue`] module; this module persists what they change.
//!
//! # Durability
//!
//! Each operation computes its whole change (counter bump, tickets, runtime
//! records, events) as one list of writes to the hot tree, appends it as
//! **one record to the store's [`journal`]** and `fdatasync`s it, then
//! applies the same writes to sled as **one atomic batch** without
//! flushing (sled writes them from its own threads within 500 ms), all
//! **before** returning. So once [`Store::issue`] returns a number, that
//! number survives a crash or a power cut and is never handed out again:
//! opening applies the journal's records sled may lack. The event log on
//! disk is always a gap-free prefix (an operation is either fully in the
//! journal with all its events, or absent; a record torn by a cut fails its
//! checksum and was never acknowledged). Events are broadcast to
//! subscribers only after the sync. [`Durability::Deferred`] skips the
//! journal and exists only for simulations and benchmarks; the daemon must
//! never use it.
//!
//! Why a journal (#16 asked whether a single `fdatasync` after the batch
//! would do): it would not. `apply_batch` only copies the batch into
//! sled's in-memory log buffer, and only `flush()` writes it; sled 0.34
//! writes a log buffer (`IoBufs::write_to_log`) as `pwrite` followed by
//! `sync_file_range` of the same range, from one of its pool threads, and
//! it writes a 24-byte batch manifest on its own before each batch. Before
//! the journal each issue was therefore two such pairs plus our
//! `fdatasync` (for the power cut: `sync_file_range` neither empties the
//! disk's write cache nor commits a grown file size), and the slowest 1%
//! of issues waited mostly on the hand-offs between sled's threads (strace
//! of `perf -- issue`, 2026-12-01). The journal is one `pwrite` and one
//! `fdatasync` on the calling thread, into a file whose blocks were
//! written when it was made, so no metadata changes; sled's own writes
//! leave the issue path. Checkpoints (sled flushed and synced, the
//! journal started over) come when the journal is full, about every two
//! thousand operations, at each opening and around the writes that bypass
//! it ([`Store::prune`], compaction, [`Store::set_durability`]).
//!
//! The crash test (`tests/tests/crash.rs`, 200 SIGKILLs, with an 8 KiB
//! journal so that checkpoints happen every few operations) checks that no
//! acknowledged number is lost or reused and fails if no opening had to
//! apply journal records; it fails at once with the replay switched off.
//! `tests/store_journal.rs` rebuilds a store from a copy of sled's files
//! taken at a checkpoint plus the journal written after it (whole, torn, or
//! another store's), and the `v2-journal` fixture is such a directory. The
//! power-cut side rests on `fdatasync` of a file whose size and blocks do
//! not change (a SIGKILL cannot drop the page cache).
//!
//! [`Store::prune`] changes two trees at once (see `disk.rs`): each finished
//! day is packed, and each expired day removed, in **one sled transaction**
//! across both trees, so a crash leaves a day either untouched or fully
//! packed/removed (the crash test kills the child in the middle of this
//! too). Ticket records are only deleted in the transaction that writes
//! their pack.
//!
//! # Events for the LAN stream
//!
//! Every mutating call returns its outcome after the events are durable and
//! broadcast on a `tokio::sync::broadcast` channel. An SSE handler should call
//! [`Store::subscribe_since`] (resume from `Last-Event-ID`) or
//! [`Store::subscribe_with_snapshot`] (new client): both take the store lock,
//! so the log read and the subscription are consistent — every later event
//! arrives on the receiver, none twice. A receiver that lags
//! (`RecvError::Lagged`) should resume with `subscribe_since(last seen seq)`;
//! a [`EventsSince::Gap`] answer means the events were pruned: send a snapshot.
//!
//! # Retention
//!
//! What is kept, and where (the daemon calls [`Store::prune`] once per
//! service day, right after the day starts):
//!
//! - **today**: one record per ticket and per event in the hot tree;
//! - **finished days** (up to `retention_days`, 90 by default): one
//!   [`pack`] record per day (all its tickets, ~0.25 MB for 3,000) in the
//!   cold tree, found by [`Store::ticket`], [`Store::day_tickets`] and listed
//!   by [`Store::service_days`]; tickets carry `counter` and `served_by`, so
//!   reports by counter and staff need no events;
//! - **events**: only for the last [`DEFAULT_EVENT_DAYS`] service days
//!   (today and the day before; [`Store::set_event_days`]). They exist for
//!   the LAN stream's replay; older seqs answer [`EventsSince::Gap`] and a
//!   `Pruned` event records the new `oldest_kept_seq`. Sequence numbers stay
//!   monotonic;
//! - **summaries**: one [`DaySummary`] per department and day, written when
//!   the day is packed and kept forever (a few hundred bytes each).
//!
//! Why: sled stores every key as its own record in small B-tree nodes and
//! rewrites whole nodes, so a year of per-ticket and per-event records
//! (about 1.6 million keys for 90 days) grew to 354 MB on disk and 393 MB of
//! RSS after only 20 days. With packing, `perf -- year` (365 days × 3,000
//! tickets, retention 90, on a 2-core machine shared with other builds)
//! measured (two runs): 308–322 MB on disk at the end of the year (target ≤ 512 MiB), RSS
//! of a fresh process opening that data directory 18–19 MB (target < 32 MiB),
//! but 122–134 MB RSS in the process that simulated the year (sled keeps far
//! more than `cache_capacity` resident under sustained writes; changing the
//! cache size did not change it; the allocator set-up of [`heap`] brought
//! 40 simulated days from 111 to 85 MB). So the kiosk does not keep one
//! sled handle for months: `kiosk run` re-executes itself at each
//! service-day roll (the kiosk's `daemon` docs; an in-process reopen,
//! [`Store::maintain`], was not reliable), and `perf -- year` runs the
//! daemon that way through the year (figures in the README). Issue p99 at the
//! end against the start swings between 0.3× and 4× from run to run under
//! the machine's load; measured in alternating chunks against an empty store
//! at the end of the run it is below 1×. See `tests/src/perf/year.rs`.
//!
//! # Compaction
//!
//! A sled handle that ends with its process loses work sled had deferred:
//! the deletion of a blob (a node over 128 KiB: the cold tree's nodes of
//! packs) that was replaced in the log segment still being written waits,
//! in memory only, for that segment to be retired, and nothing collects
//! such a blob later. With the daily re-execution packing right before the
//! `execve`, each roll left one (1–3.6 MB): 45 blob files, 57.8 MB, after 40
//! simulated days where a copy of the live records needs 4 (8.6 MB); 717 MB
//! after a year against 308 MB for one process image. The daemon now packs
//! and prunes in the new image, whose day of writes retires the segment
//! (15.9 MB of blobs at day 40). What sled's log itself never reclaims (its
//! segments more than half live are never cleaned) is bounded by
//! [`Store::compact`]: every record copied into fresh sled files beside the
//! store, committed, and swapped in by the next [`Store::open`] before sled
//! opens — a kill at any step leaves the old or the new store, whole (the
//! [`compact`] module). The daemon schedules one before a re-execution when
//! [`Store::compaction_due`] says so under [`CompactPolicy`] (64 MiB, and
//! twice the size right after the last copy; [`Store::schedule_compaction`])
//! and the new image makes the copy in child processes before it opens the
//! store ([`compact::compact_in_children`]): sled keeps what a copy reads
//! and writes resident, 19–40 MB over the day's peak when the old image
//! copied. Records are copied
//! byte for byte: the disk format does not change.

pub mod citizen;
pub mod compact;
pub mod day;
mod disk;
pub mod error;
pub mod heap;
pub mod journal;
pub mod pack;
pub mod queue;
pub mod record;
pub mod retention;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use jiff::civil::Date;
use jiff::ToSpan;
use kiosk_config::{CenterConfig, DepartmentId, KioskSettings};
use queue_protocol::{
    Actor, CounterStatus, DaySummary, Event, EventKind, Snapshot, Ticket, TicketId, TicketState,
};
use tokio::sync::broadcast;

use crate::clock::Clock;

use citizen::{CitizenIndex, TicketKey};
pub use error::{ActionError, IssueError, RatingError, StoreError};
use journal::{Journal, Writes};
pub use queue::{IssuedTicket, RatingOutcome, RatingRequest};

use queue::{Change, DayStart, QueueState};

/// A [`QueueState`] action at a counter on its current (or the named) ticket.
type CounterAction = fn(
    &mut QueueState,
    &CenterConfig,
    u16,
    Option<TicketId>,
    Actor,
    jiff::Timestamp,
) -> Result<Ticket, ActionError>;

/// How long a reopen waits for sled to release the old handle's lock.
const REOPEN_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Service days whose events are kept by default: today and the day before.
pub const DEFAULT_EVENT_DAYS: u32 = 2;

/// Records removed per sled batch when [`Store::prune`] packs a day or
/// drops old events (see `Inner::remove_keys`).
const REMOVE_BATCH: usize = 256;

/// Whether each operation waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Journal and `fdatasync` before returning: the only mode for the
    /// daemon.
    Flush,
    /// No journal; sled writes in the background every 500 ms. For
    /// simulations and benchmarks only: a crash may lose acknowledged numbers.
    Deferred,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled page cache, bytes (keep it small on a Pi).
    pub cache_bytes: u64,
    /// Flush before returning, or not (simulations only).
    pub durability: Durability,
    /// Events buffered per subscriber before it lags.
    pub broadcast_capacity: usize,
    /// The journal's size ([`journal::BYTES`]); the crash test makes it
    /// small so that kills also land on the checkpoints of a full journal.
    pub journal_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 8 * 1024 * 1024,
            durability: Durability::Flush,
            broadcast_capacity: 1024,
            journal_bytes: journal::BYTES,
        }
    }
}

impl StoreOptions {
    /// Options from the kiosk's config section.
    pub fn from_settings(settings: &KioskSettings) -> Self {
        Self {
            cache_bytes: settings.store_cache_bytes,
            ..Self::default()
        }
    }
}

/// Answer of [`Store::events_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsSince {
    /// The events after the given sequence number, oldest first (possibly
    /// empty, possibly truncated to the limit: ask again from the last one).
    Events(Vec<Event>),
    /// Some asked-for events were removed by retention: send a snapshot.
    Gap {
        /// The oldest sequence number still stored.
        oldest_kept_seq: u64,
    },
}

/// What [`Store::prune`] packed and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Service days older than the retention removed (their summaries stay).
    pub days: Vec<String>,
    /// Tickets removed with those days.
    pub tickets: usize,
    /// Events removed (days older than the event window).
    pub events: usize,
    /// Finished service days whose tickets were packed into one record.
    pub packed_days: Vec<String>,
    /// Tickets moved into packs.
    pub packed_tickets: usize,
}

/// The configuration in force: one value shared by the store and the rest
/// of the kiosk, replaced whole and atomically by a reload. Each operation
/// reads it once ([`LiveConfig::load`]) and uses that value throughout, so a
/// press during a reload is checked, numbered and printed under one config.
#[derive(Clone)]
pub struct LiveConfig(Arc<ArcSwap<CenterConfig>>);

impl LiveConfig {
    /// A shared cell holding `config`.
    pub fn new(config: Arc<CenterConfig>) -> Self {
        Self(Arc::new(ArcSwap::new(config)))
    }

    /// The configuration in force now.
    pub fn load(&self) -> Arc<CenterConfig> {
        self.0.load_full()
    }

    /// Put `config` in force for every later operation.
    pub fn replace(&self, config: Arc<CenterConfig>) {
        self.0.store(config);
    }
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("center", &self.load().center.name)
            .finish()
    }
}

/// A handle on the queue store; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Store {
    /// State shared by every clone.
    shared: Arc<Shared>,
}

struct Shared {
    /// Serialises every operation; reads take it briefly too.
    inner: Mutex<Inner>,
    /// The configuration in force, shared with the rest of the kiosk.
    config: LiveConfig,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// New events, after they are durable.
    events: broadcast::Sender<Event>,
    /// The data directory, for messages.
    dir: PathBuf,
}

struct Inner {
    /// The sled database; its default tree is the hot tree (see `disk`).
    db: sled::Db,
    /// The cold tree: packed days and summaries.
    cold: sled::Tree,
    /// Every kept service day and where its records start (mirror of the
    /// `d/` records).
    days: BTreeMap<Date, DayStart>,
    /// Service days whose events are kept.
    event_days: u32,
    /// The in-memory queue, mirror of the disk.
    queue: QueueState,
    /// Flush or not.
    durability: Durability,
    /// sled's log file, opened only to `fdatasync` it at each checkpoint.
    log_file: std::fs::File,
    /// Where each operation's writes are made durable first.
    journal: Journal,
    /// The data directory, to reopen sled after a failed write.
    dir: PathBuf,
    /// sled's cache size, to reopen it the same way.
    cache_bytes: u64,
    /// The journal's size, to reopen it the same way.
    journal_bytes: u64,
    /// Why the store cannot write, after a failed write that reopening did
    /// not cure yet (disk still full).
    broken: Option<String>,
    /// The live day's phone page keys and service times.
    citizen: CitizenIndex,
    /// Journal records applied by the last opening.
    replayed: usize,
}

/// What opening the data directory gives.
struct Opened {
    db: sled::Db,
    cold: sled::Tree,
    days: BTreeMap<Date, DayStart>,
    queue: QueueState,
    log_file: std::fs::File,
    journal: Journal,
    citizen: CitizenIndex,
    replayed: usize,
}

impl Opened {
    fn open(
        dir: &Path,
        cache_bytes: u64,
        journal_bytes: u64,
        lock_wait: std::time::Duration,
    ) -> Result<Opened, StoreError> {
        let began = std::time::Instant::now();
        finish_compaction(dir, lock_wait)?;
        let db = open_sled(dir, cache_bytes, lock_wait).map_err(|source| StoreError::Open {
            dir: dir.to_owned(),
            source,
        })?;
        // sled replays its log from its last snapshot here, which it writes
        // only when it opens: what dominates a start (see Store::maintain).
        let sled_open = began.elapsed();
        disk::check_format(&db)?;
        let log_file = std::fs::File::open(dir.join("db")).map_err(|source| StoreError::Open {
            dir: dir.to_owned(),
            source: source.into(),
        })?;
        let (journal, replayed) = Journal::open(dir, &db, &log_file, journal_bytes)?;
        if replayed.created {
            tracing::info!(dir = %dir.display(), "the queue store's journal was made");
        }
        let queue = disk::load(&db)?;
        let cold = db
            .open_tree(disk::COLD_TREE)
            .map_err(|e| disk::io_err("opening the tree of packed days", e))?;
        let days = disk::days(&db)?.into_iter().collect();
        let citizen =
            disk::citizen_index(&db, queue.core.service_day, queue.core.day_first_ticket)?;
        tracing::info!(
            sled_ms = sled_open.as_millis() as u64,
            total_ms = began.elapsed().as_millis() as u64,
            journal_records = replayed.records,
            "queue store opened"
        );
        Ok(Opened {
            db,
            cold,
            days,
            queue,
            log_file,
            journal,
            citizen,
            replayed: replayed.records,
        })
    }
}

/// How long opening waits for sled's directory lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Whether sled could not open because its directory lock is held.
fn lock_held(err: &sled::Error) -> bool {
    matches!(err, sled::Error::Io(e) if e.to_string().starts_with("could not acquire lock"))
}

/// Completes a committed compaction or discards an uncommitted one (see
/// [`compact`]) before sled opens `dir`, once no other handle holds sled's
/// lock (waiting up to `lock_wait`, as [`open_sled`] does).
fn finish_compaction(dir: &Path, lock_wait: std::time::Duration) -> Result<(), StoreError> {
    match compact::finish(dir, lock_wait)? {
        compact::Finished::Swapped => {
            tracing::info!(dir = %dir.display(), "the compacted queue store is in place");
        }
        compact::Finished::Discarded => tracing::warn!(
            dir = %dir.display(),
            "a compaction of the queue store was stopped before it was complete; the store is used as it was before it"
        ),
        compact::Finished::Cleaned => tracing::info!(
            dir = %dir.display(),
            "what the last compaction of the queue store left is removed"
        ),
        compact::Finished::Nothing | compact::Finished::Stopped => {}
    }
    Ok(())
}

/// Opens sled in `dir`, waiting up to `lock_wait` for its directory lock.
/// A sled handle that was just dropped (a reopen in this process, or a
/// kiosk restarted right after the old one exited) may still hold the lock
/// for a moment while its background flusher ends; another process that
/// keeps it longer is a second kiosk on the same data, and is reported.
fn open_sled(
    dir: &Path,
    cache_bytes: u64,
    lock_wait: std::time::Duration,
) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
        {
            Err(e) if lock_held(&e) && started.elapsed() < lock_wait => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(sled::Error::Corruption { .. }) if set_aside_unfinished_snapshots(dir) > 0 => {
                // Retried once the unfinished snapshots are out of the way.
            }
            other => return other,
        }
    }
}

/// sled 0.34 writes its recovery snapshot to `snap.<lsn>.generating`,
/// syncs it and only then renames it to `snap.<lsn>`: the rename is the
/// commit, and the previous snapshot is removed only after it. But when it
/// opens, sled takes the newest file starting with `snap.`, the unfinished
/// one included, so a kill while a snapshot is being written (sled writes
/// one at every opening) leaves a store it refuses as corrupt. Such a file
/// was never the snapshot: it is moved aside (kept for diagnosis under a
/// name sled ignores) and the previous snapshot and the log are used.
/// Returns how many files were moved.
fn set_aside_unfinished_snapshots(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut moved = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("snap.") && name.ends_with(".generating")) {
            continue;
        }
        let aside = dir.join(format!("unfinished-{name}"));
        match std::fs::rename(entry.path(), &aside) {
            Ok(()) => {
                tracing::warn!(
                    file = %entry.path().display(),
                    aside = %aside.display(),
                    "the store's last recovery snapshot was never finished (the kiosk was stopped while writing it); it is set aside and the store opens from the previous one"
                );
                moved += 1;
            }
            Err(err) => tracing::error!(
                error = %err,
                file = %entry.path().display(),
                "cannot set an unfinished recovery snapshot aside; move it out of the data directory by hand"
            ),
        }
    }
    moved
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Persist `change` atomically (journaled), or reload from disk so memory
    /// never runs ahead of it.
    fn persist(&mut self, change: &Change) -> Result<(), StoreError> {
        if change.is_empty() && change.departments.is_empty() && change.counters.is_empty() {
            return Ok(());
        }
        // A ticket issued by this change gets its phone page key here, in
        // the same atomic write as the ticket.
        let fresh: Vec<(TicketId, TicketKey)> = change
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::TicketIssued { ticket, .. } => Some((ticket, TicketKey::generate())),
                _ => None,
            })
            .collect();
        let mut writes = Writes::default();
        disk::write_change(&mut writes, &self.queue, change, |id| {
            fresh
                .iter()
                .find(|(t, _)| *t == id)
                .map(|(_, k)| *k)
                .or_else(|| self.citizen.key_of(id))
        });
        if let Err(err) = self.write(&writes) {
            tracing::error!(error = %err, "queue store write failed; reopening the store from disk");
            self.recover(&err);
            return Err(err);
        }
        if let Some((day, start)) = change.day_started {
            self.days.insert(day, start);
            self.citizen.start_day(day);
        }
        for (id, key) in fresh {
            self.citizen.insert(id, key);
        }
        for ticket in &change.tickets {
            self.citizen.observe(ticket);
        }
        Ok(())
    }

    /// After a failed write sled keeps that write in its cache and fails
    /// every later one, even once space is back: drop it and open the data
    /// directory afresh, so memory matches what is on disk and writing can
    /// resume. Until that works the store is `broken` and refuses changes.
    fn recover(&mut self, cause: &StoreError) {
        match self.reopen() {
            Ok(()) => {
                self.broken = None;
                tracing::info!("queue store reopened; memory matches the disk again");
            }
            Err(err) => {
                tracing::error!(error = %err, "queue store cannot be reopened yet; changes are refused until it can");
                self.broken = Some(format!("{cause}; reopening failed: {err}"));
            }
        }
    }

    fn reopen(&mut self) -> Result<(), StoreError> {
        // sled holds a lock on its directory until every handle is gone, so
        // the old handles are swapped for an in-memory placeholder first.
        let placeholder = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|e| disk::io_err("opening a placeholder store", e))?;
        let placeholder_cold = placeholder
            .open_tree(disk::COLD_TREE)
            .map_err(|e| disk::io_err("opening a placeholder store", e))?;
        drop(std::mem::replace(&mut self.cold, placeholder_cold));
        drop(std::mem::replace(&mut self.db, placeholder));
        // sled lets go of its file lock only when the last of its deferred
        // frees of the old handle has run (sled frees through epochs, and a
        // thread's deferred frees wait in its own bag until the bag fills):
        // usually at once; otherwise writes to the placeholder fill this
        // thread's bag and let the epochs move on.
        let deadline = std::time::Instant::now() + REOPEN_LOCK_WAIT;
        let opened = loop {
            match Opened::open(
                &self.dir,
                self.cache_bytes,
                self.journal_bytes,
                std::time::Duration::ZERO,
            ) {
                Err(StoreError::Open { ref source, .. })
                    if lock_held(source) && std::time::Instant::now() < deadline =>
                {
                    for _ in 0..128 {
                        let _ = self.db.insert(b"churn", b"");
                        let _ = self.db.remove(b"churn");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                other => break other?,
            }
        };
        self.db = opened.db;
        self.cold = opened.cold;
        self.days = opened.days;
        self.queue = opened.queue;
        self.log_file = opened.log_file;
        self.journal = opened.journal;
        self.citizen = opened.citizen;
        self.replayed = opened.replayed;
        Ok(())
    }

    /// Make memory match the disk again after a failed write.
    fn reload(&mut self) {
        if let Ok(queue) = disk::load(&self.db) {
            self.queue = queue;
        }
        let core = &self.queue.core;
        if let Ok(citizen) = disk::citizen_index(&self.db, core.service_day, core.day_first_ticket)
        {
            self.citizen = citizen;
        }
        if let Ok(days) = disk::days(&self.db) {
            self.days = days.into_iter().collect();
        }
    }

    /// The first ticket id after `day`'s tickets.
    fn day_end_ticket(&self, day: Date) -> u64 {
        self.days
            .range(day..)
            .nth(1)
            .map_or(self.queue.core.next_ticket, |(_, next)| next.first_ticket)
    }

    /// A ticket of a packed day, by id.
    fn packed_ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        let Some((day, start)) = self
            .days
            .iter()
            .rev()
            .find(|(_, start)| start.first_ticket <= id.0)
        else {
            return Ok(None);
        };
        if !start.packed {
            return Ok(None);
        }
        match disk::read_pack(&self.cold, *day)? {
            Some(pack) => pack.find(id).map_err(|e| unreadable_pack(*day, &e)),
            None => Ok(None),
        }
    }

    /// Any kept ticket, open, live or packed.
    fn any_ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        if let Some(t) = self.queue.open_ticket(id) {
            return Ok(Some(t.clone()));
        }
        if let Some(t) = disk::get_ticket(&self.db, id.0)? {
            return Ok(Some(t));
        }
        self.packed_ticket(id)
    }

    /// Write one operation's `writes`: with [`Durability::Flush`] into the
    /// journal and synced, then into sled's memory one write at a time (see
    /// [`Writes::apply`]); with [`Durability::Deferred`] as one sled batch.
    fn write(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let as_batch = |db: &sled::Db| {
            db.apply_batch(writes.to_batch())
                .map_err(|e| disk::io_err("writing a queue change", e))
        };
        match self.durability {
            Durability::Deferred => as_batch(&self.db),
            Durability::Flush => {
                if self.journal.append(writes, &self.db, &self.log_file)? {
                    let applied = writes
                        .apply(&self.db)
                        .map_err(|e| disk::io_err("writing a queue change", e));
                    if applied.is_err() {
                        // Refused: the record must not bring it back.
                        if let Err(err) = self.journal.take_back_last() {
                            tracing::error!(error = %err, "a refused change stays in the journal; the next opening may apply it");
                        }
                    }
                    applied
                } else {
                    // Larger than the whole journal: straight into sled.
                    self.unjournaled(|inner| as_batch(&inner.db))
                }
            }
        }
    }

    /// Make everything written so far durable in sled itself and start the
    /// journal over (see [`journal`]).
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.journal.checkpoint(&self.db, &self.log_file)
    }

    /// Run `write`, which changes sled without the journal, between two
    /// checkpoints: no journal record is applied over it at an opening,
    /// and it is durable before the next journaled write.
    fn unjournaled<T>(
        &mut self,
        write: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.journal.is_empty() {
            self.checkpoint()?;
        }
        let result = write(self);
        self.checkpoint()?;
        result
    }
}

impl Drop for Inner {
    /// A store closed cleanly leaves sled holding everything and the
    /// journal with nothing to apply (an older build, which does not read
    /// the journal, then finds every record).
    fn drop(&mut self) {
        if self.broken.is_none() {
            if let Err(err) = self.checkpoint() {
                tracing::warn!(error = %err, "the queue store could not checkpoint its journal while closing; the next start applies it");
            }
        }
    }
}

fn unreadable_pack(day: Date, err: &pack::UnpackError) -> StoreError {
    StoreError::Inconsistent(format!(
        "the pack of service day {day} is unreadable: {err}"
    ))
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(
        dir: &Path,
        config: Arc<CenterConfig>,
        clock: Arc<dyn Clock>,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let Opened {
            db,
            cold,
            days,
            queue,
            log_file,
            journal,
            citizen,
            replayed,
        } = Opened::open(dir, options.cache_bytes, options.journal_bytes, LOCK_WAIT)?;
        let (events, _) = broadcast::channel(options.broadcast_capacity.max(1));
        Ok(Store {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    db,
                    cold,
                    days,
                    event_days: DEFAULT_EVENT_DAYS,
                    queue,
                    durability: options.durability,
                    log_file,
                    journal,
                    dir: dir.to_owned(),
                    cache_bytes: options.cache_bytes,
                    journal_bytes: options.journal_bytes,
                    broken: None,
                    citizen,
                    replayed,
                }),
                config: LiveConfig::new(config),
                clock,
                events,
                dir: dir.to_owned(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.shared.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                // A panic mid-operation may have left memory ahead of disk:
                // the disk is the truth.
                let mut guard = poisoned.into_inner();
                guard.reload();
                self.shared.inner.clear_poison();
                guard
            }
        }
    }

    /// Run one queue operation: apply, persist, broadcast. The operation's
    /// own error is returned after whatever it changed anyway (a day rollover)
    /// is persisted.
    fn run<T, E: From<StoreError>>(
        &self,
        op: impl FnOnce(&mut QueueState, &CenterConfig, jiff::Timestamp) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut inner = self.lock();
        self.run_locked(&mut inner, &self.shared.config.load(), op)
    }

    fn run_locked<T, E: From<StoreError>>(
        &self,
        inner: &mut Inner,
        config: &CenterConfig,
        op: impl FnOnce(&mut QueueState, &CenterConfig, jiff::Timestamp) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(reason) = inner.broken.clone() {
            inner.recover(&StoreError::Unavailable { reason });
            if let Some(reason) = inner.broken.clone() {
                return Err(StoreError::Unavailable { reason }.into());
            }
        }
        let now = self.shared.clock.now();
        let result = op(&mut inner.queue, config, now);
        let change = inner.queue.take_change();
        inner.persist(&change)?;
        for event in change.events {
            // No receiver is fine: nobody is listening yet.
            let _ = self.shared.events.send(event);
        }
        result
    }

    /// The one path of the ticket actions at a counter (recall, no-show,
    /// start, finish): `action` on the counter's current ticket, or on
    /// `ticket` when given.
    fn at_counter(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
        action: CounterAction,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| action(q, c, counter, ticket, actor, now))
    }

    /// Issue a ticket for `department`, optionally of a priority class,
    /// under the configuration in force. The ticket is on disk when this
    /// returns.
    pub fn issue(
        &self,
        department: &DepartmentId,
        priority: Option<&str>,
        actor: Actor,
    ) -> Result<IssuedTicket, IssueError> {
        self.issue_under(&self.shared.config.load(), department, priority, actor)
    }

    /// [`Store::issue`] under `config`, a value the caller read from
    /// [`Store::config`] and goes on using (to print the ticket).
    pub fn issue_under(
        &self,
        config: &CenterConfig,
        department: &DepartmentId,
        priority: Option<&str>,
        actor: Actor,
    ) -> Result<IssuedTicket, IssueError> {
        self.issue_service_under(config, department, None, priority, actor)
    }

    /// [`Store::issue_under`] for one of the department's services (the
    /// touch screen's pick), kept on the ticket and its event.
    pub fn issue_service_under(
        &self,
        config: &CenterConfig,
        department: &DepartmentId,
        service: Option<&str>,
        priority: Option<&str>,
        actor: Actor,
    ) -> Result<IssuedTicket, IssueError> {
        let mut inner = self.lock();
        let mut issued = self.run_locked(&mut inner, config, |q, c, now| {
            q.issue_service(c, department, service, priority, actor, now)
        })?;
        issued.key = inner.citizen.key_of(issued.ticket.id);
        Ok(issued)
    }

    /// "Next" at `counter`: finishes its current ticket, calls the next one.
    pub fn call_next(&self, counter: u16, actor: Actor) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.call_next(c, counter, actor, now))
    }

    /// Call the counter's ticket again. `ticket` (when given) must be the
    /// counter's current ticket; `None` means "the current one".
    pub fn recall(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.at_counter(counter, ticket, actor, QueueState::recall)
    }

    /// The called citizen did not come.
    pub fn no_show(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.at_counter(counter, ticket, actor, QueueState::no_show)
    }

    /// The citizen arrived at the counter.
    pub fn start_serving(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.at_counter(counter, ticket, actor, QueueState::start_serving)
    }

    /// Service at the counter ended.
    pub fn finish(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.at_counter(counter, ticket, actor, QueueState::finish)
    }

    /// Send the counter's ticket to another department (keeps its place).
    pub fn transfer_to_department(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        to: &DepartmentId,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.transfer_to_department(c, counter, ticket, to, actor, now))
    }

    /// Send the counter's ticket to one counter, which calls it first.
    pub fn transfer_to_counter(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        to: u16,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.transfer_to_counter(c, counter, ticket, to, actor, now))
    }

    /// Cancel an open ticket.
    pub fn cancel(
        &self,
        ticket: TicketId,
        reason: &str,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.cancel(c, ticket, reason, actor, now))
    }

    /// Open, pause or close a counter; `officer` is the acting account's
    /// display name, shown on the counter's displays.
    pub fn set_counter_status(
        &self,
        counter: u16,
        status: CounterStatus,
        officer: Option<String>,
        actor: Actor,
    ) -> Result<CounterStatus, ActionError> {
        self.run(|q, c, now| q.set_counter_status(c, counter, status, officer, actor, now))
    }

    /// Call a chosen waiting ticket out of order, for a listed reason.
    pub fn call_chosen(
        &self,
        counter: u16,
        ticket: TicketId,
        reason: &str,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.call_chosen(c, counter, ticket, reason, actor, now))
    }

    /// Park the ticket being served at `counter`.
    pub fn park(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.park(c, counter, ticket, actor, now))
    }

    /// Call a parked ticket of `counter` back.
    pub fn recall_parked(
        &self,
        counter: u16,
        ticket: TicketId,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.recall_parked(c, counter, ticket, actor, now))
    }

    /// Bring a no-show of today back into its department's queue.
    pub fn bring_back(
        &self,
        counter: u16,
        ticket: TicketId,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        let mut inner = self.lock();
        let found = inner.changeable_ticket(ticket)?;
        let config = self.shared.config.load();
        self.run_locked(&mut inner, &config, |q, c, now| {
            q.bring_back(c, counter, found, actor, now)
        })
    }

    /// "Now" as the store's clock tells it (the time its events get).
    pub fn now(&self) -> jiff::Timestamp {
        self.shared.clock.now()
    }

    /// Open tickets of today (waiting, called, serving, parked), by id.
    pub fn open_tickets(&self) -> Vec<Ticket> {
        self.lock().queue.open_tickets().cloned().collect()
    }

    fn print_outcome(
        &self,
        ticket: TicketId,
        outcome: Result<(), String>,
    ) -> Result<Ticket, ActionError> {
        let mut inner = self.lock();
        let found = inner.changeable_ticket(ticket)?;
        let config = self.shared.config.load();
        self.run_locked(&mut inner, &config, |q, _, now| {
            Ok::<_, ActionError>(q.print_outcome(found, outcome, now))
        })
    }

    /// A citizen's rating at a counter, attached by the rule of
    /// [`QueueState::rate`]; on disk (one `Rated` event, the ticket's
    /// rating) when this returns.
    pub fn rate(
        &self,
        request: &RatingRequest,
        actor: Actor,
    ) -> Result<RatingOutcome, RatingError> {
        let mut inner = self.lock();
        let finished = match inner.queue.last_finished_at(request.counter) {
            Some(id) => inner.any_ticket(id)?,
            None => None,
        };
        let named = match request.ticket {
            Some(id) => inner.any_ticket(id)?,
            None => None,
        };
        let config = self.shared.config.load();
        self.run_locked(&mut inner, &config, |q, c, now| {
            q.rate(c, request, actor, now, finished, named)
        })
    }

    /// The ticket was printed completely.
    pub fn mark_printed(&self, ticket: TicketId) -> Result<Ticket, ActionError> {
        self.print_outcome(ticket, Ok(()))
    }

    /// Printing failed after the number was issued; it can be reprinted.
    pub fn mark_print_failed(&self, ticket: TicketId, reason: &str) -> Result<Ticket, ActionError> {
        self.print_outcome(ticket, Err(reason.to_owned()))
    }

    /// Record an event that changes no ticket: [`EventKind::Fault`],
    /// [`EventKind::FaultCleared`], [`EventKind::AdminAction`].
    pub fn record(&self, kind: EventKind) -> Result<u64, StoreError> {
        self.run(|q, _, now| {
            q.record(kind, now);
            Ok(q.last_seq())
        })
    }

    /// Record a fault (printer, disk, …) for the log and the admin page.
    pub fn record_fault(&self, kind: &str, detail: &str) -> Result<u64, StoreError> {
        self.record(EventKind::Fault {
            kind: kind.to_owned(),
            detail: detail.to_owned(),
        })
    }

    /// Start the service day of "now" if it has not started yet (the daemon
    /// calls this every minute so displays see the reset on time).
    pub fn roll_service_day(&self) -> Result<(), StoreError> {
        self.run(|q, c, now| {
            q.enter_day(c, now);
            Ok(())
        })
    }

    /// The configuration in force, shared: what [`LiveConfig::replace`]
    /// puts in it applies to the store's next operation and to everyone
    /// else holding the handle at once. Open tickets of departments a
    /// reload removed stay until cancelled or the day ends.
    pub fn config(&self) -> &LiveConfig {
        &self.shared.config
    }

    /// How many of the latest service days keep their events (at least 1:
    /// today; [`DEFAULT_EVENT_DAYS`] unless set). Older events are removed
    /// by [`Store::prune`]; their tickets stay, packed, for `retention_days`.
    pub fn set_event_days(&self, days: u32) {
        self.lock().event_days = days.max(1);
    }

    /// Change durability at run time (simulations only).
    pub fn set_durability(&self, durability: Durability) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.durability != durability {
            // Deferred writes bypass the journal: none may be pending in it
            // while they happen, and they are durable before the next
            // journaled one.
            inner.checkpoint()?;
            inner.durability = durability;
        }
        Ok(())
    }

    /// A ticket by id (open or closed, live or packed, until retention
    /// removes its day).
    pub fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.lock().any_ticket(id)
    }

    /// Every ticket of service day `day`, in id order: today's from the live
    /// records, a finished day's from its pack; empty for a day not kept.
    pub fn day_tickets(&self, day: Date) -> Result<Vec<Ticket>, StoreError> {
        let inner = self.lock();
        let Some(start) = inner.days.get(&day).copied() else {
            return Ok(Vec::new());
        };
        if start.packed {
            return match disk::read_pack(&inner.cold, day)? {
                Some(pack) => pack.unpack().map_err(|e| unreadable_pack(day, &e)),
                None => Ok(Vec::new()),
            };
        }
        disk::tickets_between(&inner.db, start.first_ticket, inner.day_end_ticket(day))
    }

    /// Service days with tickets kept (today included), oldest first.
    pub fn service_days(&self) -> Vec<Date> {
        let inner = self.lock();
        inner
            .days
            .iter()
            .filter(|(day, start)| inner.day_end_ticket(**day) > start.first_ticket)
            .map(|(day, _)| *day)
            .collect()
    }

    /// The oldest event sequence number still stored (events before it were
    /// removed by [`Store::prune`]).
    pub fn oldest_kept_seq(&self) -> u64 {
        self.lock().queue.core.oldest_kept_seq
    }

    /// How many journal records the last opening applied: operations
    /// acknowledged before a kill or a cut that sled had not written yet.
    pub fn journal_replayed(&self) -> usize {
        self.lock().replayed
    }

    /// Whether the store can write: false after a failed write (disk full
    /// or failing) until reopening it works again.
    pub fn writable(&self) -> bool {
        self.lock().broken.is_none()
    }

    /// Sequence number of the last event (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.lock().queue.last_seq()
    }

    /// The current service day, once one started.
    pub fn service_day(&self) -> Option<jiff::civil::Date> {
        self.lock().queue.core.service_day
    }

    /// The visible state for a display or the admin page.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        inner.queue.snapshot(&self.shared.config.load())
    }

    fn events_since_locked(
        inner: &Inner,
        after: u64,
        limit: usize,
    ) -> Result<EventsSince, StoreError> {
        let oldest = inner.queue.core.oldest_kept_seq;
        if after.saturating_add(1) < oldest {
            return Ok(EventsSince::Gap {
                oldest_kept_seq: oldest,
            });
        }
        Ok(EventsSince::Events(disk::events_from(
            &inner.db,
            after.saturating_add(1),
            limit,
        )?))
    }

    /// Events with a sequence number above `after`, at most `limit`.
    pub fn events_since(&self, after: u64, limit: usize) -> Result<EventsSince, StoreError> {
        Self::events_since_locked(&self.lock(), after, limit)
    }

    /// New events from now on (see the module docs for how to combine it
    /// with the log without losing or repeating events).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Events after `after` (up to `limit`) and a receiver of every later
    /// event, taken atomically.
    pub fn subscribe_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<(EventsSince, broadcast::Receiver<Event>), StoreError> {
        let inner = self.lock();
        let events = Self::events_since_locked(&inner, after, limit)?;
        Ok((events, self.shared.events.subscribe()))
    }

    /// A snapshot and a receiver of every event after it, taken atomically.
    pub fn subscribe_with_snapshot(&self) -> (Snapshot, broadcast::Receiver<Event>) {
        let inner = self.lock();
        let snapshot = inner.queue.snapshot(&self.shared.config.load());
        (snapshot, self.shared.events.subscribe())
    }

    /// Every kept day summary, oldest first: one per department and
    /// finished day, written when the day is packed and kept after retention
    /// removed the day's tickets.
    pub fn summaries(&self) -> Result<Vec<DaySummary>, StoreError> {
        let inner = self.lock();
        let mut all = disk::summaries(&inner.cold)?;
        // Stores from before packing kept them in the hot tree.
        all.extend(disk::summaries(&inner.db)?);
        all.sort_by(|a, b| (&a.service_day, &a.department).cmp(&(&b.service_day, &b.department)));
        all.dedup_by(|a, b| a.service_day == b.service_day && a.department == b.department);
        Ok(all)
    }

    /// Bytes sled uses on disk.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.lock()
            .db
            .size_on_disk()
            .map_err(|e| disk::io_err("measuring disk use", e))
    }

    /// Daily housekeeping (the daemon calls it once per service day):
    ///
    /// 1. service days older than the config's `retention_days` before the
    ///    current one lose their tickets (their summaries stay);
    /// 2. every other finished day not packed yet is packed: its tickets
    ///    become one record and its summaries are written;
    /// 3. events older than the last `event_days` service days are removed
    ///    (readers get [`EventsSince::Gap`]), and one `Pruned` event says so.
    ///
    /// Each day is one atomic transaction, so a crash leaves every day
    /// either as it was or fully packed or removed. The records a pack or
    /// the new `oldest_kept_seq` make redundant (the day's ticket records,
    /// old events) are removed after it, a batch at a time to bound memory;
    /// what a crash leaves of them is never read and is removed here next
    /// time.
    pub fn prune(&self) -> Result<PruneReport, StoreError> {
        let mut inner = self.lock();
        let Some(today) = inner.queue.core.service_day else {
            return Ok(PruneReport::default());
        };
        let config = self.shared.config.load();
        let retention = i64::from(config.kiosk.retention_days);
        let cutoff = today.checked_sub(retention.days()).unwrap_or(today);
        let days: Vec<(Date, DayStart)> = inner.days.iter().map(|(d, s)| (*d, *s)).collect();
        // Packs and removals span two trees and go to sled directly.
        let report = inner.unjournaled(|inner| {
            let mut report = PruneReport::default();
            for (day, start) in days {
                if day >= today {
                    break;
                }
                if start.packed {
                    // Left by a crash between a pack and the removal of the
                    // records it replaces: usually nothing, found in one seek.
                    let end = inner.day_end_ticket(day);
                    inner.remove_keys(
                        disk::ticket_key(start.first_ticket),
                        disk::ticket_key(end),
                        "removing a packed day's ticket records",
                    )?;
                }
                if day < cutoff {
                    report.tickets += inner.remove_day(day, start)?;
                    report.days.push(day.to_string());
                } else if !start.packed {
                    report.packed_tickets += inner.pack_day(day, start)?;
                    report.packed_days.push(day.to_string());
                }
            }
            report.events = inner.prune_events()?;
            Ok(report)
        })?;
        if report.days.is_empty() && report.events == 0 {
            return Ok(report);
        }
        let kind = EventKind::Pruned {
            days: report.days.clone(),
            oldest_kept_seq: inner.queue.core.oldest_kept_seq,
        };
        self.run_locked(&mut inner, &config, |q, _, now| {
            q.record(kind, now);
            Ok::<_, StoreError>(())
        })?;
        Ok(report)
    }
}

impl Store {
    /// The phone page key of ticket `id`, while its service day is the
    /// live one (what the ticket's QR code carries).
    pub fn ticket_key(&self, id: TicketId) -> Option<TicketKey> {
        self.lock().citizen.key_of(id)
    }

    /// The ticket of `key` and its phone page, if `key` belongs to a ticket
    /// of the live service day. Unknown keys and known ones take the same
    /// path up to the hash lookup (see [`citizen`]).
    pub fn page_by_key(
        &self,
        key: &TicketKey,
    ) -> Result<Option<(TicketId, queue_protocol::TicketPage)>, StoreError> {
        let inner = self.lock();
        let Some(id) = inner.citizen.ticket_of(key) else {
            return Ok(None);
        };
        let config = self.shared.config.load();
        let order = citizen::WaitingOrder::of(&inner.queue);
        let now = self.now();
        Ok(inner
            .page_of(id, &config, &order, now)?
            .map(|page| (id, page)))
    }

    /// A citizen's rating from the phone page of `key`: only ever of the
    /// ticket that key names, at the counter that served it, through the
    /// attach rule of [`Store::rate`] (source `phone`, [`Actor::Phone`]).
    /// `None` for a key that is not live (the page's 404). The device key
    /// is kept per ticket, so another phone's key never answers for it.
    pub fn rate_by_key(
        &self,
        key: &TicketKey,
        level: &str,
        device_key: Option<&str>,
    ) -> Result<Option<RatingOutcome>, RatingError> {
        let ticket = {
            let inner = self.lock();
            let Some(id) = inner.citizen.ticket_of(key) else {
                return Ok(None);
            };
            let found = match inner.queue.open_ticket(id) {
                Some(t) => Some(t.clone()),
                None => inner.any_ticket(id)?,
            };
            let Some(ticket) = found else {
                return Ok(None);
            };
            ticket
        };
        let counter = match (&ticket.state, ticket.counter) {
            (TicketState::Serving { counter }, _) => *counter,
            (TicketState::Done, Some(counter)) => counter,
            _ => return Err(RatingError::NotServed { ticket: ticket.id }),
        };
        let request = RatingRequest {
            counter,
            level: level.to_owned(),
            source: "phone".to_owned(),
            ticket: Some(ticket.id),
            key: device_key.map(|k| format!("phone:{}:{k}", ticket.id)),
        };
        self.rate(&request, Actor::Phone).map(Some)
    }

    /// The phone pages of `ids` now, in one pass under the store lock
    /// (`None` for a ticket no longer kept).
    pub fn pages(
        &self,
        ids: &[TicketId],
    ) -> Result<Vec<Option<queue_protocol::TicketPage>>, StoreError> {
        let inner = self.lock();
        let config = self.shared.config.load();
        let order = citizen::WaitingOrder::of(&inner.queue);
        let now = self.now();
        ids.iter()
            .map(|id| inner.page_of(*id, &config, &order, now))
            .collect()
    }
}

impl Inner {
    /// Ticket `id` as it is now, for an action that changes it: today's
    /// from memory, an older one from disk; a packed day is history, its
    /// tickets no longer change.
    fn changeable_ticket(&self, id: TicketId) -> Result<Ticket, ActionError> {
        if let Some(t) = self.queue.open_ticket(id) {
            return Ok(t.clone());
        }
        match disk::get_ticket(&self.db, id.0)? {
            Some(t) => Ok(t),
            None if self.packed_ticket(id)?.is_some() => {
                Err(ActionError::TicketClosed { ticket: id })
            }
            None => Err(ActionError::UnknownTicket { ticket: id }),
        }
    }

    fn page_of(
        &self,
        id: TicketId,
        config: &CenterConfig,
        order: &citizen::WaitingOrder,
        now: jiff::Timestamp,
    ) -> Result<Option<queue_protocol::TicketPage>, StoreError> {
        let ticket = match self.queue.open_ticket(id) {
            Some(t) => Some(t.clone()),
            None => self.any_ticket(id)?,
        };
        Ok(ticket.map(|t| {
            let mut page = citizen::page_of(
                &t,
                config,
                order,
                &self.citizen,
                self.queue.core.service_day,
            );
            page.rateable = self.queue.phone_can_rate(config, &t, now);
            page.rated = t.rating.map(|r| r.level);
            page
        }))
    }
}

/// What [`Store::maintain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    /// How long the store was closed to presses and calls (reopen + trim).
    pub took: std::time::Duration,
    /// Whether the C heap's free memory was handed back to the system.
    pub trimmed: bool,
}

impl Store {
    /// A maintenance step meant for the service-day roll, right after
    /// [`Store::prune`] while the center is closed: closes sled and opens the data directory afresh, then hands the freed
    /// heap back to the system.
    ///
    /// Why: a sled handle that lives for months keeps far more resident than
    /// its `cache_capacity` (its page table, node copies and epoch garbage
    /// grow with every write: 119 MB after a simulated year), and sled 0.34
    /// writes its recovery snapshot only when it opens, so a process opened
    /// once a year ago replays a year of log at the next start. A reopen
    /// drops all of that and writes a fresh snapshot; `malloc_trim` returns
    /// the freed pages, which glibc would otherwise keep in its arenas.
    ///
    /// It runs under the store lock: a press or a call waits for it (tens of
    /// milliseconds) and is then applied to the reopened store; none slips
    /// between the close and the open. Everything acknowledged is already on
    /// disk (each operation is journaled before returning) and the step
    /// starts with a checkpoint. If the reopen fails the store is unavailable
    /// and the next operation tries again, as after a failed write.
    ///
    /// **Not called by the daemon**, which re-executes itself at the roll
    /// instead (the kiosk's `daemon` module docs): a new process image gets
    /// the same fresh sled and heap, and `execve` closes the old files, so
    /// the lock problem below cannot arise. Kept for the store's tests.
    /// sled 0.34 may keep the old handle's
    /// file lock for a while after the handle is dropped (sled issue #1234:
    /// "do not rapidly open and close the same database"). In `perf -- year`
    /// with `YEAR_MAINTAIN=1` the reopen did not get the lock within
    /// `REOPEN_LOCK_WAIT` (5 s) once in the first 30 to 60 simulated days, in each
    /// of three runs; in the daemon that would leave the kiosk refusing
    /// presses. The store's tests (hundreds of reopens of a small store)
    /// never hit it. Measured where it worked: 30.6 MB resident right after
    /// the step at day 30 (48 MB before it), and start → ready after 30
    /// days 74 ms instead of 484 ms.
    pub fn maintain(&self) -> Result<Maintenance, StoreError> {
        let mut inner = self.lock();
        let began = std::time::Instant::now();
        if let Some(reason) = inner.broken.clone() {
            return Err(StoreError::Unavailable { reason });
        }
        // Whatever the durability, nothing may be left in sled's buffers
        // when its handle goes: its background writes would keep the old
        // handle (and its file lock) alive past the reopen.
        inner.checkpoint()?;
        if let Err(err) = inner.reopen() {
            tracing::error!(error = %err, "the daily reopen of the queue store failed; changes are refused until it opens again");
            inner.broken = Some(format!("the daily reopen failed: {err}"));
            return Err(err);
        }
        let trimmed = heap::release_free();
        Ok(Maintenance {
            took: began.elapsed(),
            trimmed,
        })
    }
}

/// When the maintenance step compacts the store: once sled's files exceed
/// both `min_bytes` and `factor` times their size right after the last
/// compaction (none yet: `min_bytes` alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactPolicy {
    /// Below this, never.
    pub min_bytes: u64,
    /// Growth over the last compacted size that makes it due.
    pub factor: u64,
}

impl Default for CompactPolicy {
    /// 64 MiB and twice the last compacted size: with a year of a busy
    /// center (about 50 MB of live records) one copy every few weeks.
    fn default() -> Self {
        Self {
            min_bytes: 64 * 1024 * 1024,
            factor: 2,
        }
    }
}

/// What [`Store::compact`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// Records copied (every tree).
    pub records: u64,
    /// sled's files before.
    pub bytes_before: u64,
    /// The copy's files.
    pub bytes_after: u64,
    /// How long the store was closed to changes.
    pub took: std::time::Duration,
}

impl Store {
    /// Bytes of sled's files in the data directory (what the disk holds
    /// for the store; [`Store::disk_bytes`] is sled's own count).
    pub fn file_bytes(&self) -> Result<u64, StoreError> {
        compact::sled_bytes(&self.shared.dir)
            .map_err(|e| disk::io_err("measuring sled's files", e.into()))
    }

    /// Whether `policy` says the store is due for [`Store::compact`];
    /// the files' size when it is.
    pub fn compaction_due(&self, policy: &CompactPolicy) -> Result<Option<u64>, StoreError> {
        let bytes = self.file_bytes()?;
        let base = compact::last_compacted_bytes(&self.shared.dir).unwrap_or(0);
        let due = bytes >= policy.min_bytes && bytes >= base.saturating_mul(policy.factor);
        Ok(due.then_some(bytes))
    }

    /// The maintenance step's compaction when `policy` says it is due,
    /// scheduled rather than run: everything written so far is made
    /// durable in sled's own files (a checkpoint of the journal) and
    /// [`compact::DUE`] is written, so that the next process image runs
    /// [`compact::compact_in_children`] before it opens the store. The
    /// files' size when it was scheduled.
    ///
    /// Meant as the last use of this handle, as [`Store::compact`]. A
    /// change made afterwards is still safe: it is in the journal, which
    /// the opening applies over the copy (the copy holds the same journal
    /// mark).
    pub fn schedule_compaction(&self, policy: &CompactPolicy) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = self.compaction_due(policy)? else {
            return Ok(None);
        };
        let mut inner = self.lock();
        if let Some(reason) = inner.broken.clone() {
            return Err(StoreError::Unavailable { reason });
        }
        inner.checkpoint()?;
        std::fs::write(self.shared.dir.join(compact::DUE), bytes.to_string())
            .map_err(|e| disk::io_err("scheduling a compaction", e.into()))?;
        Ok(Some(bytes))
    }

    /// The maintenance step's compaction (see [`compact`]): under the
    /// store lock, every record is copied into fresh sled files beside the
    /// store and committed; the copy replaces the store's files at the
    /// next opening of the data directory, before sled opens it.
    ///
    /// Meant as the last use of this handle: `kiosk run` calls it at the
    /// daily re-execution, after the daemon stopped taking presses and
    /// requests, and the re-executed image opens the compacted store. A
    /// change asked of this handle afterwards is never written to the old
    /// files: the handle first reopens the data directory (which swaps the
    /// copy in), and refuses the change while that fails. On an error
    /// before the commit the copy is removed and the store is unchanged.
    pub fn compact(&self) -> Result<Compaction, StoreError> {
        match self.compact_steps(compact::Steps::ALL)? {
            Some(done) => Ok(done),
            None => Err(StoreError::Inconsistent(
                "the compaction stopped without a reason".into(),
            )),
        }
    }

    /// [`Store::compact`], stopping after `steps` file operations as a
    /// kill would (the store is left as the kill would leave it); `true`
    /// when it ran to the end. Tests only.
    #[doc(hidden)]
    pub fn compact_stopping_after(&self, steps: usize) -> Result<bool, StoreError> {
        Ok(self
            .compact_steps(compact::Steps::stop_after(steps))?
            .is_some())
    }

    fn compact_steps(&self, steps: compact::Steps) -> Result<Option<Compaction>, StoreError> {
        let mut inner = self.lock();
        let began = std::time::Instant::now();
        if let Some(reason) = inner.broken.clone() {
            return Err(StoreError::Unavailable { reason });
        }
        // Everything acknowledged is on disk already (in the journal, or
        // in sled); whatever the durability, nothing may wait in sled's
        // buffers when it is copied, and the journal holds nothing the
        // copy lacks.
        inner.checkpoint()?;
        let dir = self.shared.dir.clone();
        let bytes_before = compact::sled_bytes(&dir)
            .map_err(|e| disk::io_err("measuring sled's files", e.into()))?;
        match compact::copy_and_commit(&inner.db, &dir, inner.cache_bytes, steps)? {
            compact::Copied::Stopped => Ok(None),
            compact::Copied::Committed { records, bytes } => {
                // From here the old files are no longer the store.
                inner.broken = Some(
                    "the store was compacted; it is reopened (and the copy swapped in) before the next change".into(),
                );
                compact::record_bytes(&dir, bytes);
                let done = Compaction {
                    records,
                    bytes_before,
                    bytes_after: bytes,
                    took: began.elapsed(),
                };
                tracing::info!(
                    records,
                    bytes_before,
                    bytes_after = bytes,
                    ms = done.took.as_millis() as u64,
                    "queue store compacted; the copy is swapped in when the store opens next"
                );
                Ok(Some(done))
            }
        }
    }
}

impl Inner {
    /// Pack finished `day`: one pack record and its summaries in the cold
    /// tree and its day record marked, atomically; then its ticket records,
    /// copies of what the pack holds, are removed a batch at a time
    /// ([`Inner::remove_keys`]). After a crash in between, the copies are
    /// read as the pack would be and the next prune removes them.
    fn pack_day(&mut self, day: Date, start: DayStart) -> Result<usize, StoreError> {
        let end = self.day_end_ticket(day);
        let tickets = disk::tickets_between(&self.db, start.first_ticket, end)?;
        let day_text = day.to_string();
        let mut hot = sled::Batch::default();
        let mut cold = sled::Batch::default();
        if !tickets.is_empty() {
            cold.insert(
                disk::pack_key(day),
                disk::encode(&pack::pack(&day_text, &tickets)),
            );
        }
        for summary in retention::summarise(&day_text, &tickets) {
            cold.insert(
                disk::summary_key(&day_text, &summary.department),
                disk::encode_summary(&summary),
            );
        }
        let packed = DayStart {
            packed: true,
            ..start
        };
        hot.insert(disk::day_key(day), disk::encode(&packed));
        disk::apply_both(&self.db, &self.cold, &hot, &cold, "packing a finished day")?;
        self.days.insert(day, packed);
        self.remove_keys(
            disk::ticket_key(start.first_ticket),
            disk::ticket_key(end),
            "removing a packed day's ticket records",
        )?;
        Ok(tickets.len())
    }

    /// Remove `day` (older than the retention): its pack or ticket records
    /// and its day record; its summaries stay (written now if it was never
    /// packed).
    fn remove_day(&mut self, day: Date, start: DayStart) -> Result<usize, StoreError> {
        let mut hot = sled::Batch::default();
        let mut cold = sled::Batch::default();
        let removed = if start.packed {
            cold.remove(disk::pack_key(day));
            let end = self.day_end_ticket(day);
            usize::try_from(end.saturating_sub(start.first_ticket)).unwrap_or(usize::MAX)
        } else {
            let end = self.day_end_ticket(day);
            let tickets = disk::tickets_between(&self.db, start.first_ticket, end)?;
            let day_text = day.to_string();
            for summary in retention::summarise(&day_text, &tickets) {
                cold.insert(
                    disk::summary_key(&day_text, &summary.department),
                    disk::encode_summary(&summary),
                );
            }
            for t in &tickets {
                hot.remove(disk::ticket_key(t.id.0));
            }
            tickets.len()
        };
        hot.remove(disk::day_key(day));
        disk::apply_both(
            &self.db,
            &self.cold,
            &hot,
            &cold,
            "removing an old service day",
        )?;
        self.days.remove(&day);
        Ok(removed)
    }

    /// Remove the events before the last `event_days` kept service days.
    ///
    /// The new `oldest_kept_seq` is written first, so readers get a gap at
    /// once; the events under it then go a batch at a time
    /// ([`Inner::remove_keys`]). A crash in between leaves events under
    /// `oldest_kept_seq`, which no reader is served and the next prune
    /// removes. Nothing is flushed here: the caller flushes, as before.
    fn prune_events(&mut self) -> Result<usize, StoreError> {
        let window = usize::try_from(self.event_days).unwrap_or(usize::MAX);
        let skip = self.days.len().saturating_sub(window);
        let Some(keep_from) = self.days.values().nth(skip).map(|s| s.first_seq) else {
            return Ok(0);
        };
        if keep_from > self.queue.core.oldest_kept_seq {
            let mut core = self.queue.core.clone();
            core.oldest_kept_seq = keep_from;
            self.db
                .insert(disk::CORE, disk::encode(&core))
                .map_err(|e| disk::io_err("removing old events", e))?;
            self.queue.core.oldest_kept_seq = keep_from;
        }
        self.remove_keys(
            disk::event_key(0),
            disk::event_key(self.queue.core.oldest_kept_seq),
            "removing old events",
        )
    }

    /// Remove the records with keys in `from..to`, [`REMOVE_BATCH`] per
    /// sled batch; how many there were. sled applies a batch under one epoch
    /// guard and frees none of the nodes it replaces before the guard ends:
    /// a day's 15,000 events in one batch took 34 MB more resident, its
    /// 3,000 ticket records 8–11 MB (`perf -- year`); in small batches sled
    /// frees them as it goes. Nothing is flushed here.
    fn remove_keys(
        &self,
        from: Vec<u8>,
        to: Vec<u8>,
        doing: &'static str,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        loop {
            let keys = disk::keys_between(&self.db, from.clone(), to.clone(), REMOVE_BATCH)?;
            if keys.is_empty() {
                return Ok(removed);
            }
            let mut batch = sled::Batch::default();
            for k in &keys {
                batch.remove(k.clone());
            }
            self.db
                .apply_batch(batch)
                .map_err(|e| disk::io_err(doing, e))?;
            removed += keys.len();
        }
    }
}
