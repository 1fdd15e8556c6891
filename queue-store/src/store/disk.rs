//! The on-disk layout: two sled trees, records under a short prefix, values
//! as JSON. Only this file knows the keys.
//!
//! The **hot** tree (sled's default tree) holds what every operation
//! touches: small records only.
//!
//! | key | value |
//! |---|---|
//! | `c` | [`Core`] |
//! | `p/<department id>` | [`DepartmentRuntime`] |
//! | `k/<counter u16 BE>` | [`CounterRuntime`] |
//! | `d/<YYYY-MM-DD>` | [`DayStart`] (one per kept day) |
//! | `t/<ticket id u64 BE>` | [`Ticket`] (days not packed yet: today) |
//! | `e/<seq u64 BE>` | [`Event`] (the last few service days) |
//! | `v` | the disk format, a JSON number (absent before format 1 was named) |
//! | `j` | the journal's [`super::journal::Mark`] (absent before the journal existed) |
//!
//! The **cold** tree (`days`) holds what changes once a day: packed days
//! and summaries. It is a tree of its own so that a pack of a few hundred
//! kilobytes never shares a sled node with the hot records (sled rewrites a
//! whole node when any key in it changes).
//!
//! | key | value |
//! |---|---|
//! | `P/<YYYY-MM-DD>` | [`Pack`] of that day's tickets |
//! | `s/<YYYY-MM-DD>/<department id>` | [`DaySummary`] |
//!
//! Tickets, events and summaries are written as the store's own records
//! ([`super::record`]), never as the protocol's types; the table names the
//! protocol type each one converts to.
//!
//! Big-endian integers keep tickets and events in id order, so a service
//! day's records are one contiguous key range. Stores written before packing
//! existed kept summaries in the hot tree; they are still read from there.

use std::collections::{BTreeMap, VecDeque};

use jiff::civil::Date;
use queue_protocol::{CallInfo, DaySummary, Event, EventKind, Ticket, TicketId};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::citizen::{CitizenIndex, TicketKey};
use super::error::StoreError;
use super::journal::Writes;
use super::pack::Pack;
use super::queue::{
    Change, Core, CounterRuntime, DayStart, DepartmentRuntime, QueueState, LAST_CALLS,
};
use super::record::{StoredEvent, StoredSummary, StoredTicket, FORMAT};

pub const CORE: &[u8] = b"c";
pub const DEPT: &[u8] = b"p/";
pub const COUNTER: &[u8] = b"k/";
pub const DAY: &[u8] = b"d/";
pub const TICKET: &[u8] = b"t/";
pub const EVENT: &[u8] = b"e/";
pub const SUMMARY: &[u8] = b"s/";
pub const PACK: &[u8] = b"P/";
pub const FORMAT_KEY: &[u8] = b"v";

/// Name of the cold tree.
pub const COLD_TREE: &[u8] = b"days";

/// How many events back `load` looks for the last calls.
const LAST_CALLS_SCAN: usize = 5000;

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(rest);
    k
}

pub fn ticket_key(id: u64) -> Vec<u8> {
    key(TICKET, &id.to_be_bytes())
}

pub fn event_key(seq: u64) -> Vec<u8> {
    key(EVENT, &seq.to_be_bytes())
}

pub fn day_key(day: Date) -> Vec<u8> {
    key(DAY, day.to_string().as_bytes())
}

pub fn pack_key(day: Date) -> Vec<u8> {
    key(PACK, day.to_string().as_bytes())
}

pub fn summary_key(day: &str, department: &str) -> Vec<u8> {
    key(SUMMARY, format!("{day}/{department}").as_bytes())
}

fn id_of(k: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = k.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail (no maps with
    // non-string keys, no custom serializers).
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(k: &[u8], v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|source| StoreError::Decode {
        key: String::from_utf8_lossy(k).into_owned(),
        source,
    })
}

/// A ticket's stored record with its phone page key.
pub fn encode_ticket_with_key(ticket: &Ticket, key: Option<TicketKey>) -> Vec<u8> {
    let mut stored = StoredTicket::from(ticket);
    stored.key = key.map(|k| k.to_string());
    encode(&stored)
}

/// A ticket from its stored record.
pub fn decode_ticket(k: &[u8], v: &[u8]) -> Result<Ticket, StoreError> {
    decode::<StoredTicket>(k, v).map(Ticket::from)
}

/// An event's stored record.
pub fn encode_event(event: &Event) -> Vec<u8> {
    encode(&StoredEvent::from(event))
}

/// An event from its stored record.
pub fn decode_event(k: &[u8], v: &[u8]) -> Result<Event, StoreError> {
    decode::<StoredEvent>(k, v).map(Event::from)
}

/// A day summary's stored record.
pub fn encode_summary(summary: &DaySummary) -> Vec<u8> {
    encode(&StoredSummary::from(summary))
}

/// Check the disk format, and name it in a store that does not say yet
/// (a new one, or one written before the format was recorded: format 1).
/// A newer format is refused: this build would misread it. An older one is
/// marked as this build's from now on, since what this build writes (new
/// event kinds, say) would be misread by the older build.
pub fn check_format(tree: &sled::Tree) -> Result<(), StoreError> {
    match tree
        .get(FORMAT_KEY)
        .map_err(io("reading the disk format"))?
    {
        Some(v) => {
            let found: u32 = decode(FORMAT_KEY, &v)?;
            if found > FORMAT {
                return Err(StoreError::NewerFormat {
                    found,
                    supported: FORMAT,
                });
            }
            if found < FORMAT {
                tracing::info!(
                    from = found,
                    to = FORMAT,
                    "the store's disk format is upgraded; an older kiosk can no longer open it"
                );
                tree.insert(FORMAT_KEY, encode(&FORMAT))
                    .map_err(io("recording the disk format"))?;
            }
            Ok(())
        }
        None => {
            tree.insert(FORMAT_KEY, encode(&FORMAT))
                .map_err(io("recording the disk format"))?;
            Ok(())
        }
    }
}

fn io(doing: &'static str) -> impl Fn(sled::Error) -> StoreError {
    move |source| StoreError::Io { doing, source }
}

/// Add `change` and the state's dirty runtime records to `batch`; each
/// ticket is written with its key from `key_of`.
pub fn write_change(
    batch: &mut Writes,
    state: &QueueState,
    change: &Change,
    key_of: impl Fn(TicketId) -> Option<TicketKey>,
) {
    batch.insert(CORE, encode(&state.core));
    for id in &change.departments {
        let runtime = state.departments.get(id).cloned().unwrap_or_default();
        batch.insert(key(DEPT, id.as_bytes()), encode(&runtime));
    }
    for number in &change.counters {
        let runtime = state.counters.get(number).cloned().unwrap_or_default();
        batch.insert(key(COUNTER, &number.to_be_bytes()), encode(&runtime));
    }
    if let Some((day, start)) = &change.day_started {
        batch.insert(day_key(*day), encode(start));
    }
    for ticket in &change.tickets {
        batch.insert(
            ticket_key(ticket.id.0),
            encode_ticket_with_key(ticket, key_of(ticket.id)),
        );
    }
    for event in &change.events {
        batch.insert(event_key(event.seq), encode_event(event));
    }
}

/// Rebuild the in-memory queue from disk, checking the log against the core.
pub fn load(tree: &sled::Tree) -> Result<QueueState, StoreError> {
    let core: Core = match tree.get(CORE).map_err(io("reading the core record"))? {
        Some(v) => decode(CORE, &v)?,
        None => Core::default(),
    };
    let mut departments = BTreeMap::new();
    for item in tree.scan_prefix(DEPT) {
        let (k, v) = item.map_err(io("reading department records"))?;
        let id = String::from_utf8_lossy(&k[DEPT.len()..]).into_owned();
        departments.insert(id, decode::<DepartmentRuntime>(&k, &v)?);
    }
    let mut counters = BTreeMap::new();
    for item in tree.scan_prefix(COUNTER) {
        let (k, v) = item.map_err(io("reading counter records"))?;
        let number = k[COUNTER.len()..]
            .try_into()
            .map(u16::from_be_bytes)
            .map_err(|_| StoreError::Inconsistent("malformed counter key".into()))?;
        counters.insert(number, decode::<CounterRuntime>(&k, &v)?);
    }
    let mut open = Vec::new();
    for item in tree.range(ticket_key(core.day_first_ticket)..ticket_key(u64::MAX)) {
        let (k, v) = item.map_err(io("reading today's tickets"))?;
        let ticket = decode_ticket(&k, &v)?;
        if ticket.state.is_open() {
            open.push(ticket);
        }
    }
    if let Some(item) = tree
        .range(ticket_key(core.next_ticket)..ticket_key(u64::MAX))
        .next()
    {
        let (k, _) = item.map_err(io("checking ticket ids"))?;
        return Err(StoreError::Inconsistent(format!(
            "ticket {:?} exists beyond the next ticket id {}",
            id_of(&k, TICKET),
            core.next_ticket
        )));
    }
    let mut last_calls = VecDeque::new();
    let mut last_seq = None;
    for item in tree.scan_prefix(EVENT).rev().take(LAST_CALLS_SCAN) {
        let (k, v) = item.map_err(io("reading recent events"))?;
        let event = decode_event(&k, &v)?;
        last_seq.get_or_insert(event.seq);
        let call = match event.kind {
            EventKind::Called {
                ticket,
                label,
                counter,
                department,
                recall,
                service,
                ..
            } => Some((ticket, label, counter, department, recall, service)),
            EventKind::CalledChosen {
                ticket,
                label,
                counter,
                department,
                service,
                ..
            } => Some((ticket, label, counter, department, false, service)),
            _ => None,
        };
        if let Some((ticket, label, counter, department, recall, service)) = call {
            last_calls.push_back(CallInfo {
                ticket,
                label,
                counter,
                department,
                at_ms: event.at_ms,
                recall,
                service,
            });
            if last_calls.len() >= LAST_CALLS {
                break;
            }
        }
    }
    if let Some(last) = last_seq {
        if last + 1 != core.next_seq {
            return Err(StoreError::Inconsistent(format!(
                "last stored event is {last} but the next sequence number is {}",
                core.next_seq
            )));
        }
    }
    Ok(QueueState::restore(
        core,
        departments,
        counters,
        open,
        last_calls,
    ))
}

/// The phone page index of service day `day`, from its ticket records
/// (ids from `first`): their keys and finished services.
pub fn citizen_index(
    tree: &sled::Tree,
    day: Option<Date>,
    first: u64,
) -> Result<CitizenIndex, StoreError> {
    let mut index = CitizenIndex::new(day);
    if day.is_none() {
        return Ok(index);
    }
    for item in tree.range(ticket_key(first)..ticket_key(u64::MAX)) {
        let (k, v) = item.map_err(io("reading today's ticket keys"))?;
        let stored: StoredTicket = decode(&k, &v)?;
        let key = stored.key.as_deref().and_then(TicketKey::parse);
        let ticket = Ticket::from(stored);
        if let Some(key) = key {
            index.insert(ticket.id, key);
        }
        index.observe(&ticket);
    }
    Ok(index)
}

/// Read one record.
fn get<T: DeserializeOwned>(tree: &sled::Tree, k: &[u8]) -> Result<Option<T>, StoreError> {
    match tree.get(k).map_err(io("reading a record"))? {
        Some(v) => decode(k, &v).map(Some),
        None => Ok(None),
    }
}

/// Read one ticket record.
pub fn get_ticket(tree: &sled::Tree, id: u64) -> Result<Option<Ticket>, StoreError> {
    let k = ticket_key(id);
    match tree.get(&k).map_err(io("reading a ticket"))? {
        Some(v) => decode_ticket(&k, &v).map(Some),
        None => Ok(None),
    }
}

/// Events with `first <= seq`, at most `limit`.
pub fn events_from(tree: &sled::Tree, first: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
    tree.range(event_key(first)..event_key(u64::MAX))
        .take(limit)
        .map(|item| {
            let (k, v) = item.map_err(io("reading events"))?;
            decode_event(&k, &v)
        })
        .collect()
}

/// Service days recorded on disk, oldest first.
pub fn days(tree: &sled::Tree) -> Result<Vec<(Date, DayStart)>, StoreError> {
    tree.scan_prefix(DAY)
        .map(|item| {
            let (k, v) = item.map_err(io("reading service days"))?;
            let text = String::from_utf8_lossy(&k[DAY.len()..]).into_owned();
            let day: Date = text.parse().map_err(|e| {
                StoreError::Inconsistent(format!("bad service day key {text}: {e}"))
            })?;
            Ok((day, decode(&k, &v)?))
        })
        .collect()
}

/// Tickets with ids in `first..end`.
pub fn tickets_between(tree: &sled::Tree, first: u64, end: u64) -> Result<Vec<Ticket>, StoreError> {
    tree.range(ticket_key(first)..ticket_key(end))
        .map(|item| {
            let (k, v) = item.map_err(io("reading tickets"))?;
            decode_ticket(&k, &v)
        })
        .collect()
}

/// The first `limit` keys of `tree` from `from` (included) to `to`.
pub fn keys_between(
    tree: &sled::Tree,
    from: Vec<u8>,
    to: Vec<u8>,
    limit: usize,
) -> Result<Vec<sled::IVec>, StoreError> {
    tree.range(from..to)
        .keys()
        .take(limit)
        .map(|k| k.map_err(io("listing keys to remove")))
        .collect()
}

/// Every stored day summary.
pub fn summaries(tree: &sled::Tree) -> Result<Vec<DaySummary>, StoreError> {
    tree.scan_prefix(SUMMARY)
        .map(|item| {
            let (k, v) = item.map_err(io("reading day summaries"))?;
            decode::<StoredSummary>(&k, &v).map(DaySummary::from)
        })
        .collect()
}

/// Wrap a sled error with what the store was doing.
pub fn io_err(doing: &'static str, source: sled::Error) -> StoreError {
    StoreError::Io { doing, source }
}

/// The pack of `day`, if one was written.
pub fn read_pack(cold: &sled::Tree, day: Date) -> Result<Option<Pack>, StoreError> {
    get(cold, &pack_key(day))
}

/// Apply one batch to each tree as one atomic sled transaction: a crash
/// leaves both applied or neither.
pub fn apply_both(
    hot: &sled::Tree,
    cold: &sled::Tree,
    hot_batch: &sled::Batch,
    cold_batch: &sled::Batch,
    doing: &'static str,
) -> Result<(), StoreError> {
    use sled::transaction::{ConflictableTransactionError, TransactionError};
    use sled::Transactional;
    (hot, cold)
        .transaction(|(h, c)| {
            h.apply_batch(hot_batch)?;
            c.apply_batch(cold_batch)?;
            Ok::<_, ConflictableTransactionError<()>>(())
        })
        .map_err(|e| match e {
            TransactionError::Storage(source) => StoreError::Io { doing, source },
            TransactionError::Abort(()) => {
                StoreError::Inconsistent(format!("transaction aborted while {doing}"))
            }
        })
}
