//! The packed form of a finished service day: all its tickets in one compact
//! record, so a past day costs one sled value instead of thousands of keys.
//!
//! Pure encoding and decoding; where packs live and when days are packed is
//! decided by the store (see its Retention section). The format is JSON
//! (already a dependency) but columnar in spirit: department, priority and
//! staff names are interned once per pack, ids and times are stored as
//! deltas, and each ticket is a JSON array rather than an object. A day of
//! 3,000 tickets packs to about 0.2 MB instead of about 1.2 MB of ticket
//! records.

use queue_protocol::{PrintStatus, Ticket, TicketId, TicketRating, TicketState};
use serde::{Deserialize, Serialize};

/// Current format version written into every pack.
pub const FORMAT: u32 = 1;

/// One packed service day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// The service day, `YYYY-MM-DD`.
    pub day: String,
    /// Id the ticket deltas are relative to (the day's first ticket).
    pub base_id: u64,
    /// Time the ms deltas are relative to (the first issue time).
    pub base_ms: i64,
    /// Interned strings (departments, priority classes, staff names).
    pub strings: Vec<String>,
    /// The tickets, in id order.
    pub tickets: Vec<PackedTicket>,
}

/// One ticket of a pack: a JSON array, see [`pack`] for the fields' meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedTicket(
    /// Id minus the pack's `base_id`.
    pub u64,
    /// Issuing department (string index).
    pub u32,
    /// Current department (string index).
    pub u32,
    /// Number.
    pub u32,
    /// Label.
    pub String,
    /// Priority class (string index).
    pub Option<u32>,
    /// Issue time minus the pack's `base_ms`.
    pub i64,
    /// State: 0 waiting, 1 called, 2 serving, 3 done, 4 no-show, 5 cancelled,
    /// 6 parked.
    pub u8,
    /// Counter of a called or serving state.
    pub Option<u16>,
    /// Counter it was transferred to.
    pub Option<u16>,
    /// Call time minus issue time.
    pub Option<i64>,
    /// Service start minus issue time.
    pub Option<i64>,
    /// Close time minus issue time.
    pub Option<i64>,
    /// Recalls.
    pub u32,
    /// Transfers.
    pub u32,
    /// Print status: 0 pending, 1 printed, 2 failed.
    pub u8,
    /// Counter that handled it last.
    pub Option<u16>,
    /// Who handled it last (string index).
    pub Option<u32>,
    /// Fields added after the first release, by name so that each may be
    /// absent; the whole element is absent when none is set, so a day
    /// without them packs to the first release's 18-field array.
    #[serde(default, skip_serializing_if = "PackedExtra::is_empty")]
    pub PackedExtra,
);

/// The later fields of a [`PackedTicket`]: a JSON object with short keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedExtra {
    /// The citizen's rating: level (string index), time minus issue time,
    /// source (string index).
    #[serde(default, rename = "r", skip_serializing_if = "Option::is_none")]
    pub rating: Option<(u32, i64, u32)>,
    /// Service picked on the touch screen (string index).
    #[serde(default, rename = "s", skip_serializing_if = "Option::is_none")]
    pub service: Option<u32>,
}

impl PackedExtra {
    fn is_empty(&self) -> bool {
        *self == PackedExtra::default()
    }
}

/// Why a pack could not be turned back into tickets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpackError {
    /// Written by a newer kiosk.
    #[error("pack format {0} is not supported (expected {FORMAT})")]
    Format(u32),
    /// A string index points outside the table.
    #[error("string index {0} out of range")]
    StringIndex(u32),
    /// An unknown state or print code.
    #[error("unknown {what} code {code}")]
    Code {
        /// "state" or "print".
        what: &'static str,
        /// The code found.
        code: u8,
    },
}

#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

fn state_code(state: TicketState) -> (u8, Option<u16>) {
    match state {
        TicketState::Waiting => (0, None),
        TicketState::Called { counter } => (1, Some(counter)),
        TicketState::Serving { counter } => (2, Some(counter)),
        TicketState::Done => (3, None),
        TicketState::NoShow => (4, None),
        TicketState::Cancelled => (5, None),
        TicketState::Parked { counter } => (6, Some(counter)),
    }
}

fn state_of(code: u8, counter: Option<u16>) -> Result<TicketState, UnpackError> {
    Ok(match code {
        0 => TicketState::Waiting,
        1 => TicketState::Called {
            counter: counter.unwrap_or_default(),
        },
        2 => TicketState::Serving {
            counter: counter.unwrap_or_default(),
        },
        3 => TicketState::Done,
        4 => TicketState::NoShow,
        5 => TicketState::Cancelled,
        6 => TicketState::Parked {
            counter: counter.unwrap_or_default(),
        },
        code => {
            return Err(UnpackError::Code {
                what: "state",
                code,
            })
        }
    })
}

fn print_code(print: PrintStatus) -> u8 {
    match print {
        PrintStatus::Pending => 0,
        PrintStatus::Printed => 1,
        PrintStatus::Failed => 2,
    }
}

fn print_of(code: u8) -> Result<PrintStatus, UnpackError> {
    Ok(match code {
        0 => PrintStatus::Pending,
        1 => PrintStatus::Printed,
        2 => PrintStatus::Failed,
        code => {
            return Err(UnpackError::Code {
                what: "print",
                code,
            })
        }
    })
}

/// Pack `tickets` (all of service day `day`, in id order).
pub fn pack(day: &str, tickets: &[Ticket]) -> Pack {
    let base_id = tickets.first().map_or(0, |t| t.id.0);
    let base_ms = tickets.iter().map(|t| t.issued_at_ms).min().unwrap_or(0);
    let mut strings = Interner::default();
    let packed = tickets
        .iter()
        .map(|t| {
            let (state, state_counter) = state_code(t.state);
            let since_issue = |at: Option<i64>| at.map(|at| at - t.issued_at_ms);
            PackedTicket(
                t.id.0 - base_id,
                strings.get(&t.issued_department),
                strings.get(&t.department),
                t.number,
                t.label.clone(),
                t.priority.as_deref().map(|p| strings.get(p)),
                t.issued_at_ms - base_ms,
                state,
                state_counter,
                t.for_counter,
                since_issue(t.called_at_ms),
                since_issue(t.serving_at_ms),
                since_issue(t.closed_at_ms),
                t.recalls,
                t.transfers,
                print_code(t.print),
                t.counter,
                t.served_by.as_deref().map(|s| strings.get(s)),
                PackedExtra {
                    rating: t.rating.as_ref().map(|r| {
                        (
                            strings.get(&r.level),
                            r.at_ms - t.issued_at_ms,
                            strings.get(&r.source),
                        )
                    }),
                    service: t.service.as_deref().map(|s| strings.get(s)),
                },
            )
        })
        .collect();
    Pack {
        format: FORMAT,
        day: day.to_owned(),
        base_id,
        base_ms,
        strings: strings.strings,
        tickets: packed,
    }
}

impl Pack {
    fn string(&self, index: u32) -> Result<String, UnpackError> {
        self.strings
            .get(index as usize)
            .cloned()
            .ok_or(UnpackError::StringIndex(index))
    }

    fn ticket(&self, p: &PackedTicket) -> Result<Ticket, UnpackError> {
        let issued_at_ms = self.base_ms + p.6;
        let at = |delta: Option<i64>| delta.map(|d| issued_at_ms + d);
        // Every field named: a new `Ticket` field fails to compile here
        // until the pack format carries it.
        Ok(Ticket {
            id: TicketId(self.base_id + p.0),
            service_day: self.day.clone(),
            issued_department: self.string(p.1)?,
            department: self.string(p.2)?,
            number: p.3,
            label: p.4.clone(),
            priority: p.5.map(|i| self.string(i)).transpose()?,
            issued_at_ms,
            state: state_of(p.7, p.8)?,
            for_counter: p.9,
            called_at_ms: at(p.10),
            serving_at_ms: at(p.11),
            closed_at_ms: at(p.12),
            recalls: p.13,
            transfers: p.14,
            print: print_of(p.15)?,
            counter: p.16,
            served_by: p.17.map(|i| self.string(i)).transpose()?,
            rating: p
                .18
                .rating
                .map(|(level, at, source)| {
                    Ok::<_, UnpackError>(TicketRating {
                        level: self.string(level)?,
                        at_ms: issued_at_ms + at,
                        source: self.string(source)?,
                    })
                })
                .transpose()?,
            service: p.18.service.map(|i| self.string(i)).transpose()?,
        })
    }

    /// Every ticket of the day, in id order.
    pub fn unpack(&self) -> Result<Vec<Ticket>, UnpackError> {
        if self.format != FORMAT {
            return Err(UnpackError::Format(self.format));
        }
        self.tickets.iter().map(|p| self.ticket(p)).collect()
    }

    /// One ticket by id, if it is in this pack.
    pub fn find(&self, id: TicketId) -> Result<Option<Ticket>, UnpackError> {
        if self.format != FORMAT {
            return Err(UnpackError::Format(self.format));
        }
        let Some(delta) = id.0.checked_sub(self.base_id) else {
            return Ok(None);
        };
        match self.tickets.binary_search_by_key(&delta, |p| p.0) {
            Ok(i) => self.ticket(&self.tickets[i]).map(Some),
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: u64) -> Ticket {
        Ticket {
            id: TicketId(id),
            service_day: "2026-11-26".into(),
            issued_department: "ho-tich".into(),
            department: "dat-dai".into(),
            number: 1000 + id as u32,
            label: format!("{}", 1000 + id),
            priority: (id % 2 == 0).then(|| "nguoi-cao-tuoi".into()),
            issued_at_ms: 1_800_000_000_000 + id as i64 * 1000,
            state: TicketState::Serving { counter: 3 },
            for_counter: Some(2),
            called_at_ms: Some(1_800_000_100_000),
            serving_at_ms: None,
            closed_at_ms: Some(1_799_000_000_000),
            recalls: 2,
            transfers: 1,
            print: PrintStatus::Failed,
            counter: Some(3),
            served_by: Some("lan".into()),
            rating: (id % 3 == 0).then(|| TicketRating {
                level: "satisfied".into(),
                at_ms: 1_800_000_200_000,
                source: "counter_button".into(),
            }),
            service: (id % 3 == 0).then(|| "khai-sinh".into()),
        }
    }

    #[test]
    fn a_pack_written_before_services_still_unpacks() {
        let mut tickets: Vec<Ticket> = (40..43).map(ticket).collect();
        for t in &mut tickets {
            t.service = None;
        }
        let json = serde_json::to_string(&pack("2026-11-26", &tickets)).unwrap();
        // Without a service the array has the 18 fields of the first format.
        let first: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(first["tickets"][0].as_array().unwrap().len(), 18);
        let back: Pack = serde_json::from_str(&json).unwrap();
        assert_eq!(back.unpack().unwrap(), tickets);
    }

    #[test]
    fn packing_round_trips_every_field() {
        let tickets: Vec<Ticket> = (40..60).map(ticket).collect();
        let pack = pack("2026-11-26", &tickets);
        let json = serde_json::to_vec(&pack).unwrap();
        let back: Pack = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.unpack().unwrap(), tickets);
        assert_eq!(back.find(TicketId(45)).unwrap(), Some(tickets[5].clone()));
        assert_eq!(back.find(TicketId(39)).unwrap(), None);
        assert_eq!(back.find(TicketId(60)).unwrap(), None);
        // Much smaller than the tickets' own JSON.
        assert!(json.len() * 2 < serde_json::to_vec(&tickets).unwrap().len());
    }

    #[test]
    fn a_pack_written_before_ratings_still_unpacks() {
        let old = r#"{"format":1,"day":"2026-11-26","base_id":5,"base_ms":0,
            "strings":["a"],"tickets":[[0,0,0,1,"001",null,0,3,null,null,1000,null,2000,0,0,1,1,null]]}"#;
        let pack: Pack = serde_json::from_str(old).unwrap();
        let tickets = pack.unpack().unwrap();
        assert_eq!(tickets[0].rating, None);
        assert_eq!(tickets[0].closed_at_ms, Some(2000));
    }

    #[test]
    fn an_empty_day_and_a_foreign_format() {
        let empty = pack("2026-11-26", &[]);
        assert_eq!(empty.unpack().unwrap(), vec![]);
        let mut newer = pack("2026-11-26", &[ticket(1)]);
        newer.format = 99;
        assert_eq!(newer.unpack(), Err(UnpackError::Format(99)));
    }
}
