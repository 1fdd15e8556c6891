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
//! records, events), writes it as **one atomic sled batch**, then calls
//! `flush()` followed by `fdatasync` of sled's log file (sled 0.34 itself
//! only uses `sync_file_range`, which does not survive a power cut),
//! **before** returning. So once
//! [`Store::issue`] returns a number, that number survives a crash or a power
//! cut and is never handed out again; and the event log on disk is always a
//! gap-free prefix (an operation is either fully on disk with all its events,
//! or absent). Events are broadcast to subscribers only after the flush.
//! [`Durability::Deferred`] skips the flush and exists only for simulations
//! and benchmarks; the daemon must never use it.
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
//! [`Store::prune`] summarises service days older than `retention_days`
//! ([`DaySummary`] per department) and removes their tickets and events.
//! Sequence numbers stay monotonic across pruning.

pub mod day;
pub mod disk;
pub mod error;
pub mod queue;
pub mod retention;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::ToSpan;
use kiosk_config::{CenterConfig, KioskSettings};
use queue_protocol::{Actor, DaySummary, Event, EventKind, Snapshot, Ticket, TicketId};
use tokio::sync::broadcast;

use crate::clock::Clock;

pub use error::{ActionError, IssueError, StoreError};
pub use queue::IssuedTicket;

use queue::{Change, QueueState};

/// Whether each operation waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flush (fsync) before returning: the only mode for the daemon.
    Flush,
    /// Do not flush; sled writes in the background every 500 ms. For
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
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 8 * 1024 * 1024,
            durability: Durability::Flush,
            broadcast_capacity: 1024,
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

/// What [`Store::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Service days summarised and removed.
    pub days: Vec<String>,
    /// Tickets removed.
    pub tickets: usize,
    /// Events removed.
    pub events: usize,
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
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// New events, after they are durable.
    events: broadcast::Sender<Event>,
    /// The data directory, for messages.
    dir: PathBuf,
}

struct Inner {
    /// The sled database (its default tree holds everything, see `disk`).
    db: sled::Db,
    /// The in-memory queue, mirror of the disk.
    queue: QueueState,
    /// The center's config in force.
    config: Arc<CenterConfig>,
    /// Flush or not.
    durability: Durability,
    /// sled's log file, opened only to `fdatasync` it after each flush.
    log_file: std::fs::File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Persist `change` atomically (and flush), or reload from disk so memory
    /// never runs ahead of it.
    fn persist(&mut self, change: &Change) -> Result<(), StoreError> {
        if change.is_empty() && change.departments.is_empty() && change.counters.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        disk::write_change(&mut batch, &self.queue, change);
        let result = self
            .db
            .apply_batch(batch)
            .map_err(|e| disk::io_err("writing a queue change", e))
            .and_then(|()| self.flush());
        if let Err(err) = result {
            tracing::error!(error = %err, "queue store write failed; reloading state from disk");
            if let Ok(queue) = disk::load(&self.db) {
                self.queue = queue;
            }
            return Err(err);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        if self.durability == Durability::Flush {
            self.db
                .flush()
                .map_err(|e| disk::io_err("flushing to disk", e))?;
            // sled 0.34 ends its flush with `sync_file_range`, which neither
            // empties the disk's write cache nor commits a grown file size:
            // enough for a killed process, not for a power cut. fdatasync on
            // the same file (any descriptor of the inode) closes that gap.
            self.log_file
                .sync_data()
                .map_err(|e| disk::io_err("syncing sled's log file", e.into()))?;
        }
        Ok(())
    }
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(
        dir: &Path,
        config: Arc<CenterConfig>,
        clock: Arc<dyn Clock>,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_bytes)
            .open()
            .map_err(|source| StoreError::Open {
                dir: dir.to_owned(),
                source,
            })?;
        let queue = disk::load(&db)?;
        let log_path = dir.join("db");
        let log_file = std::fs::File::open(&log_path).map_err(|source| StoreError::Open {
            dir: dir.to_owned(),
            source: source.into(),
        })?;
        let (events, _) = broadcast::channel(options.broadcast_capacity.max(1));
        Ok(Store {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    db,
                    queue,
                    config,
                    durability: options.durability,
                    log_file,
                }),
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
                if let Ok(queue) = disk::load(&guard.db) {
                    guard.queue = queue;
                }
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
        self.run_locked(&mut inner, op)
    }

    fn run_locked<T, E: From<StoreError>>(
        &self,
        inner: &mut Inner,
        op: impl FnOnce(&mut QueueState, &CenterConfig, jiff::Timestamp) -> Result<T, E>,
    ) -> Result<T, E> {
        let now = self.shared.clock.now();
        let config = Arc::clone(&inner.config);
        let result = op(&mut inner.queue, &config, now);
        let change = inner.queue.take_change();
        inner.persist(&change)?;
        for event in change.events {
            // No receiver is fine: nobody is listening yet.
            let _ = self.shared.events.send(event);
        }
        result
    }

    /// Issue a ticket for `department`, optionally of a priority class. The
    /// ticket is on disk when this returns.
    pub fn issue(
        &self,
        department: &str,
        priority: Option<&str>,
        actor: Actor,
    ) -> Result<IssuedTicket, IssueError> {
        self.run(|q, c, now| q.issue(c, department, priority, actor, now))
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
        self.run(|q, c, now| q.recall(c, counter, ticket, actor, now))
    }

    /// The called citizen did not come.
    pub fn no_show(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.no_show(c, counter, ticket, actor, now))
    }

    /// The citizen arrived at the counter.
    pub fn start_serving(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.start_serving(c, counter, ticket, actor, now))
    }

    /// Service at the counter ended.
    pub fn finish(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        actor: Actor,
    ) -> Result<Ticket, ActionError> {
        self.run(|q, c, now| q.finish(c, counter, ticket, actor, now))
    }

    /// Send the counter's ticket to another department (keeps its place).
    pub fn transfer_to_department(
        &self,
        counter: u16,
        ticket: Option<TicketId>,
        to: &str,
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

    fn print_outcome(
        &self,
        ticket: TicketId,
        outcome: Result<(), String>,
    ) -> Result<Ticket, ActionError> {
        let mut inner = self.lock();
        let found = match inner.queue.open_ticket(ticket) {
            Some(t) => t.clone(),
            None => disk::get(&inner.db, &disk::ticket_key(ticket.0))?
                .ok_or(ActionError::UnknownTicket { ticket })?,
        };
        self.run_locked(&mut inner, |q, _, now| {
            Ok::<_, ActionError>(q.print_outcome(found, outcome, now))
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

    /// Replace the config (live reload). Open tickets of removed departments
    /// stay until cancelled or the day ends.
    pub fn set_config(&self, config: Arc<CenterConfig>) {
        self.lock().config = config;
    }

    /// Change durability at run time (simulations only).
    pub fn set_durability(&self, durability: Durability) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.durability = durability;
        if durability == Durability::Flush {
            inner.flush()?;
        }
        Ok(())
    }

    /// A ticket by id (open or closed, until retention removes it).
    pub fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        let inner = self.lock();
        if let Some(t) = inner.queue.open_ticket(id) {
            return Ok(Some(t.clone()));
        }
        disk::get(&inner.db, &disk::ticket_key(id.0))
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
        inner.queue.snapshot(&inner.config)
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
        let snapshot = inner.queue.snapshot(&inner.config);
        (snapshot, self.shared.events.subscribe())
    }

    /// Every kept day summary (days removed by retention), oldest first.
    pub fn summaries(&self) -> Result<Vec<DaySummary>, StoreError> {
        disk::summaries(&self.lock().db)
    }

    /// Bytes sled uses on disk.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.lock()
            .db
            .size_on_disk()
            .map_err(|e| disk::io_err("measuring disk use", e))
    }

    /// Summarise and remove service days older than the config's
    /// `retention_days` before the current service day.
    pub fn prune(&self) -> Result<PruneReport, StoreError> {
        let mut inner = self.lock();
        let Some(today) = inner.queue.core.service_day else {
            return Ok(PruneReport::default());
        };
        let retention = i64::from(inner.config.kiosk.retention_days);
        let cutoff = today.checked_sub(retention.days()).unwrap_or(today);
        let days = disk::days(&inner.db)?;
        let mut report = PruneReport::default();
        for (index, (day, start)) in days.iter().enumerate() {
            if *day >= cutoff || *day >= today {
                break;
            }
            let (end_ticket, end_seq) = match days.get(index + 1) {
                Some((_, next)) => (next.first_ticket, next.first_seq),
                None => (inner.queue.core.next_ticket, inner.queue.core.next_seq),
            };
            let day_text = day.to_string();
            let tickets = disk::tickets_between(&inner.db, start.first_ticket, end_ticket)?;
            let event_keys =
                disk::keys_between(&inner.db, disk::event_key(0), disk::event_key(end_seq))?;
            let mut batch = sled::Batch::default();
            for summary in retention::summarise(&day_text, &tickets) {
                batch.insert(
                    disk::summary_key(&day_text, &summary.department),
                    disk::encode(&summary),
                );
            }
            for t in &tickets {
                batch.remove(disk::ticket_key(t.id.0));
            }
            for k in &event_keys {
                batch.remove(k.clone());
            }
            batch.remove(disk::day_key(*day));
            inner.queue.core.oldest_kept_seq = inner.queue.core.oldest_kept_seq.max(end_seq);
            batch.insert(disk::CORE, disk::encode(&inner.queue.core));
            inner
                .db
                .apply_batch(batch)
                .map_err(|e| disk::io_err("removing an old service day", e))?;
            report.days.push(day_text);
            report.tickets += tickets.len();
            report.events += event_keys.len();
        }
        if report.days.is_empty() {
            return Ok(report);
        }
        let oldest_kept_seq = inner.queue.core.oldest_kept_seq;
        let kind = EventKind::Pruned {
            days: report.days.clone(),
            oldest_kept_seq,
        };
        self.run_locked(&mut inner, |q, _, now| {
            q.record(kind, now);
            Ok::<_, StoreError>(())
        })?;
        Ok(report)
    }
}
