//! An incremental parser for `text/event-stream` (server-sent events).
//!
//! It owns the wire format only, as the HTML standard's "Interpreting an
//! event stream" describes it: bytes go in as they arrive from the socket, in
//! chunks split anywhere (inside a UTF-8 character, between `\r` and `\n`),
//! and complete events come out. Connecting, reconnecting with
//! `Last-Event-ID` and the backoff are the caller's; this parser keeps the
//! last event id and the server's `retry` so the caller can use them.
//!
//! What it follows from the standard:
//! - lines end with CRLF, LF or CR; a leading UTF-8 BOM is skipped; text is
//!   decoded as UTF-8 with replacement characters for invalid bytes;
//! - fields `event`, `data`, `id`, `retry`; one space after the colon is
//!   removed; a line without a colon is a field with an empty value; unknown
//!   fields are ignored; lines starting with `:` are comments (keep-alives);
//! - `data` lines are joined with `\n`; a blank line dispatches the event,
//!   unless it has no data; the event type defaults to `message`;
//! - an `id` containing NUL is ignored; the id persists across events until
//!   changed (an empty `id` clears it); `retry` is taken only when it is all
//!   ASCII digits;
//! - an event still incomplete when the stream ends is discarded
//!   ([`SseParser::new_stream`]).
//!
//! What it adds: memory is bounded. A line longer than the limit
//! ([`DEFAULT_MAX_LINE`]), or an event whose data grows past it, is dropped
//! without being buffered, together with the rest of its event (a truncated
//! JSON body is worse than a missing one; the id still advances when the
//! event had one, as the kiosk's log lets the caller catch up).

/// The default limit for one line and for one event's data: 1 MiB.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type (`event:` field), `message` when none was given.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id in effect for this event (it persists from earlier
    /// events until an `id:` line changes it); `None` when empty.
    pub id: Option<String>,
    /// A valid `retry:` value (milliseconds) seen since the previous event.
    pub retry: Option<u64>,
}

/// Incremental `text/event-stream` parser; see the module docs.
#[derive(Debug, Clone)]
pub struct SseParser {
    /// Bytes of the line being received.
    line: Vec<u8>,
    /// The line being received went over the limit: drop bytes until its end.
    skipping_line: bool,
    /// That oversized line is a comment, which costs no event.
    skipping_comment: bool,
    /// The previous byte was `\r`, so a `\n` now ends nothing.
    after_cr: bool,
    /// Still at the very start of the stream (a BOM may come).
    at_stream_start: bool,
    /// Bytes of a possible BOM seen at the start of the stream.
    bom_seen: usize,
    /// The event being assembled.
    event_type: String,
    /// Its data, each line followed by `\n`.
    data: String,
    /// The current event is being dropped (an oversized line or data).
    dropping_event: bool,
    /// The last event id buffer (persists across events).
    id_buffer: String,
    /// The last event id of the last dispatched event.
    last_event_id: String,
    /// `retry` value seen since the last dispatch.
    pending_retry: Option<u64>,
    /// The most recent valid `retry` value.
    retry: Option<u64>,
    /// Limit for a line and for an event's data, in bytes.
    max_line: usize,
    /// Events dropped because of the limit, since creation.
    dropped: u64,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl SseParser {
    /// A parser for a new stream with the [`DEFAULT_MAX_LINE`] limit.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A parser with a chosen limit (bytes) for one line and one event's data.
    pub fn with_max_line(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            skipping_line: false,
            skipping_comment: false,
            after_cr: false,
            at_stream_start: true,
            bom_seen: 0,
            event_type: String::new(),
            data: String::new(),
            dropping_event: false,
            id_buffer: String::new(),
            last_event_id: String::new(),
            pending_retry: None,
            retry: None,
            max_line,
            dropped: 0,
        }
    }

    /// A parser for a reconnection that resumes after `last_event_id`.
    pub fn resuming(last_event_id: &str) -> Self {
        let mut parser = Self::new();
        parser.id_buffer = last_event_id.to_owned();
        parser.last_event_id = last_event_id.to_owned();
        parser
    }

    /// Starts over for a new connection: anything incomplete from the old
    /// stream is discarded; the last event id and `retry` are kept.
    pub fn new_stream(&mut self) {
        self.line.clear();
        self.skipping_line = false;
        self.skipping_comment = false;
        self.after_cr = false;
        self.at_stream_start = true;
        self.bom_seen = 0;
        self.event_type.clear();
        self.data.clear();
        self.dropping_event = false;
        self.pending_retry = None;
        self.id_buffer = self.last_event_id.clone();
    }

    /// The id to send as `Last-Event-ID` when reconnecting (empty for none).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The latest reconnection delay the server asked for, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// How many events were dropped for exceeding the size limit.
    pub fn dropped_events(&self) -> u64 {
        self.dropped
    }

    /// Parses a chunk of the stream and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        self.feed_into(chunk, &mut events);
        events
    }

    /// Like [`SseParser::feed`], appending to `events`.
    pub fn feed_into(&mut self, mut chunk: &[u8], events: &mut Vec<SseEvent>) {
        chunk = self.skip_bom(chunk);
        while !chunk.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.push_line_bytes(&chunk[..end]);
                    self.after_cr = chunk[end] == b'\r';
                    chunk = &chunk[end + 1..];
                    self.end_line(events);
                }
                None => {
                    self.push_line_bytes(chunk);
                    chunk = &[];
                }
            }
        }
    }

    /// Drops a UTF-8 BOM at the start of the stream, even when split.
    fn skip_bom<'a>(&mut self, mut chunk: &'a [u8]) -> &'a [u8] {
        while self.at_stream_start && !chunk.is_empty() {
            if chunk[0] == BOM[self.bom_seen] {
                self.bom_seen += 1;
                chunk = &chunk[1..];
                if self.bom_seen == BOM.len() {
                    self.at_stream_start = false;
                }
            } else {
                // Not a BOM after all: the bytes held back are line content.
                self.at_stream_start = false;
                let held = BOM[..self.bom_seen].to_vec();
                self.push_line_bytes(&held);
            }
        }
        chunk
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if self.skipping_line {
            return;
        }
        if self.line.len() + bytes.len() > self.max_line {
            self.skipping_line = true;
            self.skipping_comment = self.line.first().or(bytes.first()) == Some(&b':');
            self.line = Vec::new();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        if std::mem::take(&mut self.skipping_line) {
            if !std::mem::take(&mut self.skipping_comment) {
                self.drop_event();
            }
            return;
        }
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(events);
        } else {
            self.process_line(&line);
        }
        // Reuse the allocation unless one huge line left it large.
        self.line = line;
        self.line.clear();
        if self.line.capacity() > 64 * 1024 {
            self.line.shrink_to(1024);
        }
    }

    fn process_line(&mut self, line: &[u8]) {
        if line[0] == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        if self.dropping_event {
            // Still honour the id so that the caller's resume point advances.
            if name == b"id" {
                self.set_id(value);
            }
            return;
        }
        match name {
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_line {
                    self.drop_event();
                    return;
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"id" => self.set_id(value),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All digits; only an absurd length overflows u64.
                if let Ok(ms) = String::from_utf8_lossy(value).parse::<u64>() {
                    self.retry = Some(ms);
                    self.pending_retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn set_id(&mut self, value: &[u8]) {
        if !value.contains(&0) {
            self.id_buffer = String::from_utf8_lossy(value).into_owned();
        }
    }

    fn drop_event(&mut self) {
        if !self.dropping_event {
            self.dropped += 1;
        }
        self.dropping_event = true;
        self.data = String::new();
        self.event_type.clear();
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        self.last_event_id.clone_from(&self.id_buffer);
        let dropping = std::mem::take(&mut self.dropping_event);
        let retry = self.pending_retry.take();
        if dropping || self.data.is_empty() {
            self.data.clear();
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing '\n'
        let event = std::mem::take(&mut self.event_type);
        events.push(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: (!self.last_event_id.is_empty()).then(|| self.last_event_id.clone()),
            retry,
        });
    }
}
