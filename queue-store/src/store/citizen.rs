//! What the citizen's phone page needs from the store: each ticket's
//! unguessable key, the key → ticket index of the live service day, the
//! day's service times, and the page's view of one ticket.
//!
//! A key is 16 bytes from the operating system's random source (128 bits),
//! written base64url without padding (22 characters). It is made when the
//! ticket is issued, in the same atomic write as the ticket (the `key`
//! field of its stored record), and is valid for that service day only:
//! the index holds the live day's tickets and is emptied when a new day
//! starts; packed days keep no keys. The index is rebuilt from the day's
//! ticket records whenever the store opens.
//!
//! Lookups go through a hash map with a per-process random seed on the
//! key's bytes: nothing compares an attacker's guess with a stored key byte
//! by byte, so the time a lookup takes says nothing about how close a guess
//! was. The key never leaves the store except to be printed in the
//! ticket's QR code: it is not in the protocol's [`Ticket`], events or
//! snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use jiff::civil::Date;
use kiosk_config::{CenterConfig, DepartmentId};
use queue_protocol::{CounterStatus, Ticket, TicketId, TicketPage, TicketPageStatus, TicketState};

use super::queue::QueueState;
use crate::wait::{estimate_wait, ServiceSample};

/// Bytes of randomness in a key.
pub const KEY_BYTES: usize = 16;

/// Characters of a key as written (base64url, no padding).
pub const KEY_CHARS: usize = 22;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A ticket's secret key, the only way to its page.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicketKey([u8; KEY_BYTES]);

impl TicketKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> TicketKey {
        use rand::{RngCore, TryRngCore};
        let mut bytes = [0u8; KEY_BYTES];
        if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
            // The thread generator is a CSPRNG seeded from the same source.
            rand::rng().fill_bytes(&mut bytes);
        }
        TicketKey(bytes)
    }

    /// A key as written in a URL, or `None` when `text` is not one (wrong
    /// length or character, or not the canonical spelling).
    pub fn parse(text: &str) -> Option<TicketKey> {
        let text = text.as_bytes();
        if text.len() != KEY_CHARS {
            return None;
        }
        let mut bits: u32 = 0;
        let mut held = 0;
        let mut out = [0u8; KEY_BYTES];
        let mut n = 0;
        for &c in text {
            let v = ALPHABET.iter().position(|&a| a == c)? as u32;
            bits = (bits << 6) | v;
            held += 6;
            if held >= 8 {
                held -= 8;
                if n < KEY_BYTES {
                    out[n] = (bits >> held) as u8;
                }
                n += 1;
            }
        }
        // 22 characters carry 132 bits: the last 4 must be zero, so each
        // key has exactly one spelling.
        if n != KEY_BYTES || bits & ((1 << held) - 1) != 0 {
            return None;
        }
        Some(TicketKey(out))
    }
}

impl fmt::Display for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(KEY_CHARS);
        let mut bits: u32 = 0;
        let mut held = 0;
        for &b in &self.0 {
            bits = (bits << 8) | u32::from(b);
            held += 8;
            while held >= 6 {
                held -= 6;
                s.push(ALPHABET[((bits >> held) & 63) as usize] as char);
            }
        }
        if held > 0 {
            s.push(ALPHABET[((bits << (6 - held)) & 63) as usize] as char);
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A key is a secret: logs and panics never show it.
        f.write_str("TicketKey(…)")
    }
}

/// The live day's keys and service times, kept in memory beside the queue.
#[derive(Debug, Default)]
pub struct CitizenIndex {
    /// The service day the keys belong to.
    day: Option<Date>,
    /// Key → ticket.
    by_key: HashMap<TicketKey, TicketId>,
    /// Ticket → key (to write it again with each change of the ticket).
    key_of: HashMap<TicketId, TicketKey>,
    /// The day's finished services.
    services: Vec<ServiceSample>,
}

impl CitizenIndex {
    /// An empty index for `day`.
    pub fn new(day: Option<Date>) -> CitizenIndex {
        CitizenIndex {
            day,
            ..CitizenIndex::default()
        }
    }

    /// Forget everything: a new service day started.
    pub fn start_day(&mut self, day: Date) {
        *self = CitizenIndex::new(Some(day));
    }

    /// The key of ticket `id` of the live day.
    pub fn key_of(&self, id: TicketId) -> Option<TicketKey> {
        self.key_of.get(&id).copied()
    }

    /// The ticket of `key`, if it is one of the live day's.
    pub fn ticket_of(&self, key: &TicketKey) -> Option<TicketId> {
        self.by_key.get(key).copied()
    }

    /// Remember `key` for ticket `id`.
    pub fn insert(&mut self, id: TicketId, key: TicketKey) {
        self.by_key.insert(key, id);
        self.key_of.insert(id, key);
    }

    /// Take note of a ticket as written: a finished service adds a sample.
    pub fn observe(&mut self, ticket: &Ticket) {
        if ticket.state != TicketState::Done
            || self.day.is_none_or(|d| d.to_string() != ticket.service_day)
        {
            return;
        }
        if let (Some(counter), Some(called), Some(closed)) =
            (ticket.counter, ticket.called_at_ms, ticket.closed_at_ms)
        {
            let took = u64::try_from(closed.saturating_sub(called)).unwrap_or(0);
            self.services.push(ServiceSample {
                counter,
                finished_at_ms: closed,
                took: Duration::from_millis(took),
            });
        }
    }

    /// The day's finished services.
    pub fn services(&self) -> &[ServiceSample] {
        &self.services
    }

    /// How many keys the index holds.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The counters whose service times and number make a department's wait:
/// those configured to serve it. (Counters paused by staff, once they can
/// be, are to be left out here.)
pub fn counters_serving(config: &CenterConfig, department: &str) -> BTreeSet<u16> {
    config
        .counters
        .iter()
        .filter(|c| c.serves.iter().any(|d| d.0 == department))
        .map(|c| c.number)
        .collect()
}

/// The queue order of the waiting tickets, computed once for many views.
pub struct WaitingOrder {
    /// Per department: (priority, issue time, id) of its waiting tickets
    /// that any of its counters may call, sorted.
    by_department: BTreeMap<String, Vec<(bool, i64, TicketId)>>,
    /// Per counter: issue time and id of tickets transferred to it, sorted.
    by_counter: BTreeMap<u16, Vec<(i64, TicketId)>>,
    /// Counters paused or closed now: they call nobody, so the wait
    /// estimate leaves them out.
    not_open: BTreeSet<u16>,
}

impl WaitingOrder {
    /// The order of `queue`'s waiting tickets now.
    pub fn of(queue: &QueueState) -> WaitingOrder {
        let mut by_department: BTreeMap<String, Vec<(bool, i64, TicketId)>> = BTreeMap::new();
        let mut by_counter: BTreeMap<u16, Vec<(i64, TicketId)>> = BTreeMap::new();
        for t in queue.open_tickets() {
            if t.state != TicketState::Waiting {
                continue;
            }
            match t.for_counter {
                Some(c) => by_counter
                    .entry(c)
                    .or_default()
                    .push((t.issued_at_ms, t.id)),
                None => by_department
                    .entry(t.department.clone())
                    .or_default()
                    .push((t.priority.is_some(), t.issued_at_ms, t.id)),
            }
        }
        for v in by_department.values_mut() {
            v.sort_unstable();
        }
        for v in by_counter.values_mut() {
            v.sort_unstable();
        }
        let not_open = queue
            .counters
            .keys()
            .copied()
            .filter(|&c| queue.counter_status(c) != CounterStatus::Open)
            .collect();
        WaitingOrder {
            by_department,
            by_counter,
            not_open,
        }
    }

    /// People called before waiting ticket `t`: for a normal ticket every
    /// waiting priority ticket and the normal ones issued before it; for a
    /// priority ticket the priority ones issued before it (the kiosk tells
    /// the same count on the printed ticket).
    fn ahead(&self, t: &Ticket) -> u32 {
        let count = match t.for_counter {
            Some(c) => self.by_counter.get(&c).map_or(0, |v| {
                v.partition_point(|&(at, id)| (at, id) < (t.issued_at_ms, t.id))
            }),
            None => self.by_department.get(&t.department).map_or(0, |v| {
                let priority = v.partition_point(|&(p, _, _)| !p);
                if t.priority.is_some() {
                    v[priority..].partition_point(|&(_, at, id)| (at, id) < (t.issued_at_ms, t.id))
                } else {
                    v[..priority].partition_point(|&(_, at, id)| (at, id) < (t.issued_at_ms, t.id))
                        + (v.len() - priority)
                }
            }),
        };
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// The phone page's view of `ticket` on service day `today`.
pub fn page_of(
    ticket: &Ticket,
    config: &CenterConfig,
    order: &WaitingOrder,
    index: &CitizenIndex,
    today: Option<Date>,
) -> TicketPage {
    let department = config
        .department(&DepartmentId(ticket.department.clone()))
        .map_or_else(|| ticket.department.clone(), |d| d.name.clone());
    let mut page = TicketPage {
        label: ticket.label.clone(),
        department,
        status: TicketPageStatus::Waiting,
        counter: None,
        ahead: None,
        wait: None,
        transferred: ticket.department != ticket.issued_department || ticket.for_counter.is_some(),
        recalls: ticket.recalls,
        rateable: false,
        rated: None,
    };
    match ticket.state {
        TicketState::Waiting => {
            let ahead = order.ahead(ticket);
            let mut counters = match ticket.for_counter {
                Some(c) => BTreeSet::from([c]),
                None => counters_serving(config, &ticket.department),
            };
            counters.retain(|c| !order.not_open.contains(c));
            page.ahead = Some(ahead);
            page.wait = Some(estimate_wait(index.services(), &counters, ahead));
        }
        TicketState::Called { counter } => {
            page.status = TicketPageStatus::Called;
            page.counter = Some(counter);
        }
        TicketState::Serving { counter } => {
            page.status = TicketPageStatus::Serving;
            page.counter = Some(counter);
        }
        TicketState::Parked { counter } => {
            page.status = TicketPageStatus::Parked;
            page.counter = Some(counter);
        }
        TicketState::Done => page.status = TicketPageStatus::Done,
        TicketState::NoShow => page.status = TicketPageStatus::NoShow,
        TicketState::Cancelled => {
            let ended = today.is_some_and(|d| d.to_string() != ticket.service_day);
            page.status = if ended {
                TicketPageStatus::DayEnded
            } else {
                TicketPageStatus::Cancelled
            };
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text() {
        for _ in 0..200 {
            let key = TicketKey::generate();
            let text = key.to_string();
            assert_eq!(text.len(), KEY_CHARS);
            assert!(text
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            assert_eq!(TicketKey::parse(&text), Some(key));
        }
        assert_ne!(TicketKey::generate(), TicketKey::generate());
    }

    #[test]
    fn known_bytes_have_the_base64url_spelling() {
        let key = TicketKey([0xfb; KEY_BYTES]);
        assert_eq!(key.to_string(), "-_v7-_v7-_v7-_v7-_v7-w");
        assert_eq!(TicketKey::parse("-_v7-_v7-_v7-_v7-_v7-w"), Some(key));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = TicketKey::generate().to_string();
        assert!(TicketKey::parse(&good[..21]).is_none());
        assert!(TicketKey::parse(&format!("{good}A")).is_none());
        assert!(TicketKey::parse("aaaaaaaaaaaaaaaaaaaaa=").is_none());
        assert!(TicketKey::parse("aaaaaaaaaaaaaaaaaaaaa.").is_none());
        assert!(TicketKey::parse("2026-12-01/17").is_none());
        // A non-canonical last character (its low bits set).
        assert!(TicketKey::parse("AAAAAAAAAAAAAAAAAAAAAB").is_none());
        assert!(TicketKey::parse("AAAAAAAAAAAAAAAAAAAAAA").is_some());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = TicketKey::generate();
        assert!(!format!("{key:?}").contains(&key.to_string()));
    }
}
