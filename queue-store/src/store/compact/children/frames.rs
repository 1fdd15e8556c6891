//! The stream from a compaction reader to the writer: one byte of kind,
//! then little-endian lengths and bytes.
//!
//! | kind | then | what |
//! |---|---|---|
//! | `T` | u32 length, name | the records that follow belong to this tree |
//! | `R` | u32 length, key, u32 length, value | one record |
//! | `N` | u64 peak, u32 length, cursor | the reader's end: the next reader starts at the cursor |
//! | `D` | u64 peak | the reader's end: every tree is read |
//!
//! `N` and `D` go only from a reader to this process, which passes `T`
//! and `R` on to the writer.

use std::io::{BufRead, Read, Write};

use super::super::{io, Cursor, Sink};
use crate::store::error::StoreError;

/// Longest tree name, key or value a frame may carry (a packed day is
/// about 0.25 MB).
const MAX_FIELD: u32 = 256 * 1024 * 1024;

/// Records written as frames to `out` (a reader's standard output).
pub(super) struct FrameSink<'a, W: Write> {
    out: &'a mut W,
}

impl<'a, W: Write> FrameSink<'a, W> {
    pub(super) fn new(out: &'a mut W) -> Self {
        FrameSink { out }
    }
}

fn field(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| std::io::Error::other("a record too large for a frame"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

impl<W: Write> Sink for FrameSink<'_, W> {
    fn tree(&mut self, name: &[u8]) -> Result<(), StoreError> {
        self.out
            .write_all(b"T")
            .and_then(|()| field(self.out, name))
            .map_err(io("passing records to compact"))
    }

    fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.out
            .write_all(b"R")
            .and_then(|()| field(self.out, key))
            .and_then(|()| field(self.out, value))
            .map_err(io("passing records to compact"))
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A reader's end frame: where the next starts (none: done) and its peak.
pub(super) fn write_end(
    out: &mut impl Write,
    next: Option<&Cursor>,
    peak_bytes: u64,
) -> Result<(), StoreError> {
    let written = match next {
        Some(cursor) => out
            .write_all(b"N")
            .and_then(|()| out.write_all(&peak_bytes.to_le_bytes()))
            .and_then(|()| field(out, cursor.to_text().as_bytes())),
        None => out
            .write_all(b"D")
            .and_then(|()| out.write_all(&peak_bytes.to_le_bytes())),
    };
    written
        .and_then(|()| out.flush())
        .map_err(io("ending a compaction reader's records"))
}

/// What a reader's stream ended with.
pub(super) struct End {
    /// Records passed on.
    pub(super) records: u64,
    /// Where the next reader starts; `None` when every tree is read.
    pub(super) next: Option<Cursor>,
    /// The reader's peak resident memory.
    pub(super) peak_bytes: u64,
}

fn broken(what: &str) -> StoreError {
    StoreError::Inconsistent(format!(
        "a compaction reader's stream is broken ({what}); the store is used as it is"
    ))
}

fn read_u32(input: &mut impl Read) -> Result<u32, StoreError> {
    let mut bytes = [0u8; 4];
    input
        .read_exact(&mut bytes)
        .map_err(|_| broken("cut in a length"))?;
    let len = u32::from_le_bytes(bytes);
    if len > MAX_FIELD {
        return Err(broken("a length beyond any record"));
    }
    Ok(len)
}

fn read_u64(input: &mut impl Read) -> Result<u64, StoreError> {
    let mut bytes = [0u8; 8];
    input
        .read_exact(&mut bytes)
        .map_err(|_| broken("cut in a figure"))?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_field(input: &mut impl Read) -> Result<Vec<u8>, StoreError> {
    let len = read_u32(input)? as usize;
    let mut bytes = vec![0u8; len];
    input
        .read_exact(&mut bytes)
        .map_err(|_| broken("cut in a field"))?;
    Ok(bytes)
}

/// Pass a reader's `T` and `R` frames from `input` on to `out` (the
/// writer's standard input) up to its end frame.
pub(super) fn relay(input: &mut impl BufRead, out: &mut impl Write) -> Result<End, StoreError> {
    let send = io("passing records to the compaction writer");
    let mut records = 0;
    loop {
        let mut kind = [0u8; 1];
        input
            .read_exact(&mut kind)
            .map_err(|_| broken("it ended without its end"))?;
        match &kind {
            b"T" => {
                let name = read_field(input)?;
                out.write_all(b"T")
                    .and_then(|()| field(out, &name))
                    .map_err(&send)?;
            }
            b"R" => {
                let key = read_field(input)?;
                let value = read_field(input)?;
                out.write_all(b"R")
                    .and_then(|()| field(out, &key))
                    .and_then(|()| field(out, &value))
                    .map_err(&send)?;
                records += 1;
            }
            b"N" => {
                let peak_bytes = read_u64(input)?;
                let text = read_field(input)?;
                let next = std::str::from_utf8(&text)
                    .ok()
                    .and_then(Cursor::from_text)
                    .ok_or_else(|| broken("an unreadable cursor"))?;
                return Ok(End {
                    records,
                    next: Some(next),
                    peak_bytes,
                });
            }
            b"D" => {
                return Ok(End {
                    records,
                    next: None,
                    peak_bytes: read_u64(input)?,
                })
            }
            _ => return Err(broken("an unknown frame")),
        }
    }
}

/// The writer's side: apply the `T` and `R` frames of `input` to `sink`
/// until the input ends.
pub(super) fn apply(input: &mut impl BufRead, sink: &mut impl Sink) -> Result<(), StoreError> {
    loop {
        let mut kind = [0u8; 1];
        match input.read(&mut kind) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("reading records to compact")(e)),
        }
        match &kind {
            b"T" => sink.tree(&read_field(input)?)?,
            b"R" => {
                let key = read_field(input)?;
                let value = read_field(input)?;
                sink.record(&key, &value)?;
            }
            _ => return Err(broken("an unknown frame")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that remembers what it was given, under which tree.
    #[derive(Default)]
    struct Seen {
        tree: Vec<u8>,
        records: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    }

    impl Sink for Seen {
        fn tree(&mut self, name: &[u8]) -> Result<(), StoreError> {
            self.tree = name.to_vec();
            Ok(())
        }
        fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
            self.records
                .push((self.tree.clone(), key.to_vec(), value.to_vec()));
            Ok(())
        }
        fn flush(&mut self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn reader_stream(next: Option<&Cursor>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut sink = FrameSink::new(&mut out);
        sink.tree(b"days").unwrap();
        sink.record(b"P/2026-11-20", &[7u8; 300]).unwrap();
        sink.tree(b"__sled__default").unwrap();
        sink.record(b"", b"").unwrap();
        sink.record(b"k", b"v").unwrap();
        write_end(&mut out, next, 12_345).unwrap();
        out
    }

    #[test]
    fn records_pass_from_a_reader_through_the_relay_to_the_writer() {
        let cursor = Cursor::from_text("1:6b").unwrap();
        let stream = reader_stream(Some(&cursor));
        let mut to_writer = Vec::new();
        let end = relay(&mut stream.as_slice(), &mut to_writer).unwrap();
        assert_eq!(end.records, 3);
        assert_eq!(end.next, Some(cursor));
        assert_eq!(end.peak_bytes, 12_345);
        let mut seen = Seen::default();
        apply(&mut to_writer.as_slice(), &mut seen).unwrap();
        assert_eq!(
            seen.records,
            vec![
                (b"days".to_vec(), b"P/2026-11-20".to_vec(), vec![7u8; 300]),
                (b"__sled__default".to_vec(), vec![], vec![]),
                (b"__sled__default".to_vec(), b"k".to_vec(), b"v".to_vec()),
            ]
        );
        let done = reader_stream(None);
        let end = relay(&mut done.as_slice(), &mut Vec::new()).unwrap();
        assert_eq!(end.next, None);
    }

    #[test]
    fn a_cut_or_garbled_stream_is_refused() {
        let stream = reader_stream(None);
        for cut in [0, 1, 5, stream.len() - 1] {
            let err = relay(&mut &stream[..cut], &mut Vec::new())
                .err()
                .unwrap_or_else(|| panic!("a stream cut at {cut} is refused"));
            assert!(err.to_string().contains("broken"), "{err}");
        }
        let mut garbled = stream.clone();
        garbled[0] = b'X';
        assert!(relay(&mut garbled.as_slice(), &mut Vec::new()).is_err());
        let mut huge = b"T".to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(relay(&mut huge.as_slice(), &mut Vec::new()).is_err());
        // The writer refuses a record cut short.
        let mut to_writer = Vec::new();
        relay(&mut stream.as_slice(), &mut to_writer).unwrap();
        to_writer.pop();
        assert!(apply(&mut to_writer.as_slice(), &mut Seen::default()).is_err());
    }

    #[test]
    fn a_cursor_survives_its_text() {
        for cursor in [
            Cursor::START,
            Cursor::from_text("2").unwrap(),
            Cursor::from_text("0:").unwrap(),
            Cursor::from_text("3:00ff10").unwrap(),
        ] {
            assert_eq!(Cursor::from_text(&cursor.to_text()), Some(cursor));
        }
        for bad in ["", "x", "1:0", "1:zz", "-1"] {
            assert_eq!(Cursor::from_text(bad), None, "{bad:?}");
        }
    }
}
