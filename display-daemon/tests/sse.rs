//! The `text/event-stream` parser: the HTML standard's examples, line
//! endings, ids and retry, the size limit, and arbitrary chunk splits.

use display_daemon::sse::{SseEvent, SseParser};
use proptest::prelude::*;

fn event(event: &str, data: &str, id: Option<&str>) -> SseEvent {
    SseEvent {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.map(str::to_owned),
        retry: None,
    }
}

fn parse_all(stream: &[u8]) -> (Vec<SseEvent>, SseParser) {
    let mut parser = SseParser::new();
    let events = parser.feed(stream);
    (events, parser)
}

#[test]
fn spec_example_stock_ticker() {
    let (events, parser) = parse_all(b"data: YHOO\ndata: +2\ndata: 10\n\n");
    assert_eq!(events, vec![event("message", "YHOO\n+2\n10", None)]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn spec_example_comments_and_ids() {
    let stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
    let (events, parser) = parse_all(stream);
    assert_eq!(
        events,
        vec![
            event("message", "first event", Some("1")),
            // An empty id resets the last event id.
            event("message", "second event", None),
            // Only one leading space is removed.
            event("message", " third event", None),
        ]
    );
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn spec_example_empty_data() {
    // Two events: one with empty data, one with a single "\n"; the trailing
    // line without a blank line after it is never dispatched.
    let (events, _) = parse_all(b"data\n\ndata\ndata\n\ndata:");
    assert_eq!(
        events,
        vec![event("message", "", None), event("message", "\n", None)]
    );
}

#[test]
fn spec_example_space_after_colon() {
    let (events, _) = parse_all(b"data:test\n\ndata: test\n\n");
    assert_eq!(
        events,
        vec![
            event("message", "test", None),
            event("message", "test", None)
        ]
    );
}

#[test]
fn event_types_and_persisting_ids() {
    let stream = b"event: call\nid: 41\ndata: {\"n\":1005}\n\ndata: plain\n\nevent: snapshot\ndata: x\nid: 42\n\n";
    let (events, parser) = parse_all(stream);
    assert_eq!(
        events,
        vec![
            event("call", "{\"n\":1005}", Some("41")),
            // The id persists; the type does not.
            event("message", "plain", Some("41")),
            event("snapshot", "x", Some("42")),
        ]
    );
    assert_eq!(parser.last_event_id(), "42");
}

#[test]
fn line_endings_crlf_lf_cr_mixed() {
    let expected = vec![
        event("a", "1\n2", Some("7")),
        event("message", "3", Some("7")),
    ];
    for stream in [
        &b"event: a\nid: 7\ndata: 1\ndata: 2\n\ndata: 3\n\n"[..],
        b"event: a\r\nid: 7\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n",
        b"event: a\rid: 7\rdata: 1\rdata: 2\r\rdata: 3\r\r",
        b"event: a\r\nid: 7\rdata: 1\ndata: 2\r\r\ndata: 3\n\r",
    ] {
        assert_eq!(
            parse_all(stream).0,
            expected,
            "{:?}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[test]
fn cr_and_lf_split_across_chunks_is_one_line_end() {
    let mut parser = SseParser::new();
    assert!(parser.feed(b"data: a\r").is_empty());
    // This \n belongs to the \r before it: it must not end the event.
    assert!(parser.feed(b"\n").is_empty());
    assert_eq!(parser.feed(b"\r\n"), vec![event("message", "a", None)]);
}

#[test]
fn comments_and_unknown_fields_are_ignored() {
    let (events, _) = parse_all(b": keep-alive\n:\nfoo: bar\nDATA: no\ndata: yes\n: more\n\n");
    assert_eq!(events, vec![event("message", "yes", None)]);
    // A block of only comments dispatches nothing.
    assert!(parse_all(b": ping\n\n: ping\n\n").0.is_empty());
}

#[test]
fn field_without_colon_has_empty_value() {
    let (events, _) = parse_all(b"data\nevent\n\n");
    assert_eq!(events, vec![event("message", "", None)]);
}

#[test]
fn id_with_nul_is_ignored() {
    let (events, parser) = parse_all(b"id: 5\ndata: a\n\nid: 6\0x\ndata: b\n\n");
    assert_eq!(
        events,
        vec![
            event("message", "a", Some("5")),
            event("message", "b", Some("5"))
        ]
    );
    assert_eq!(parser.last_event_id(), "5");
}

#[test]
fn id_without_data_still_moves_the_resume_point() {
    let (events, parser) = parse_all(b"id: 9\n\n");
    assert!(events.is_empty());
    assert_eq!(parser.last_event_id(), "9");
}

#[test]
fn retry_only_digits() {
    let (events, parser) = parse_all(
        b"retry: 3000\ndata: a\n\nretry: 1.5\ndata: b\n\nretry: -1\nretry: 12a\nretry:\ndata: c\n\nretry: 99999999999999999999999\n\n",
    );
    assert_eq!(events[0].retry, Some(3000));
    assert_eq!(events[1].retry, None);
    assert_eq!(events[2].retry, None);
    assert_eq!(parser.retry(), Some(3000));
    // A retry-only block dispatches no event but is remembered.
    let (events, parser) = parse_all(b"retry: 250\n\n");
    assert!(events.is_empty());
    assert_eq!(parser.retry(), Some(250));
}

#[test]
fn utf8_split_inside_a_character_and_invalid_bytes() {
    let text = "data: Mời số một nghìn không trăm linh năm\n\n".as_bytes();
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for b in text {
        events.extend(parser.feed(std::slice::from_ref(b)));
    }
    assert_eq!(
        events,
        vec![event(
            "message",
            "Mời số một nghìn không trăm linh năm",
            None
        )]
    );
    let (events, _) = parse_all(b"data: a\xffb\n\n");
    assert_eq!(events[0].data, "a\u{fffd}b");
}

#[test]
fn leading_bom_is_skipped_even_when_split() {
    let mut parser = SseParser::new();
    assert!(parser.feed(b"\xEF").is_empty());
    assert!(parser.feed(b"\xBB").is_empty());
    assert_eq!(
        parser.feed(b"\xBFdata: x\n\n"),
        vec![event("message", "x", None)]
    );
    // Only at the start: a BOM later is data.
    assert_eq!(
        parser.feed("data: \u{feff}y\n\n".as_bytes()),
        vec![event("message", "\u{feff}y", None)]
    );
    // A stream starting with a partial BOM lookalike keeps its bytes.
    assert_eq!(parse_all(b"\xEFdata: z\n\n").0.len(), 0);
}

#[test]
fn unterminated_event_is_discarded_on_a_new_stream() {
    let mut parser = SseParser::new();
    assert_eq!(
        parser.feed(b"id: 3\ndata: done\n\nid: 4\ndata: half"),
        vec![event("message", "done", Some("3"))]
    );
    parser.new_stream();
    assert_eq!(parser.last_event_id(), "3");
    assert_eq!(
        parser.feed(b"data: next\n\n"),
        vec![event("message", "next", Some("3"))]
    );
    let mut resumed = SseParser::resuming("17");
    assert_eq!(resumed.last_event_id(), "17");
    assert_eq!(resumed.feed(b"data: z\n\n")[0].id.as_deref(), Some("17"));
}

#[test]
fn oversized_lines_drop_their_event_in_bounded_memory() {
    let mut parser = SseParser::with_max_line(64);
    let mut events = parser.feed(b"data: ok\n\nid: 1\ndata: ");
    // Far more than the limit, in many chunks: none of it is buffered.
    for _ in 0..10_000 {
        events.extend(parser.feed(&[b'x'; 100]));
    }
    events.extend(parser.feed(b"\ndata: tail\n\ndata: after\n\n"));
    assert_eq!(
        events,
        vec![
            event("message", "ok", None),
            event("message", "after", Some("1")),
        ]
    );
    assert_eq!(parser.dropped_events(), 1);
    assert_eq!(parser.last_event_id(), "1");

    // Many short data lines adding up past the limit drop the event too.
    let mut parser = SseParser::with_max_line(64);
    let mut stream = Vec::new();
    for _ in 0..50 {
        stream.extend_from_slice(b"data: 0123456789\n");
    }
    stream.extend_from_slice(b"\ndata: small\n\n");
    assert_eq!(parser.feed(&stream), vec![event("message", "small", None)]);
    assert_eq!(parser.dropped_events(), 1);

    // An oversized comment costs nothing.
    let mut parser = SseParser::with_max_line(16);
    let mut stream = b"data: a\n:".to_vec();
    stream.extend_from_slice(&[b'c'; 100]);
    stream.extend_from_slice(b"\n\n");
    assert_eq!(parser.feed(&stream), vec![event("message", "a", None)]);
    assert_eq!(parser.dropped_events(), 0);
}

// ------------------------------------------------------------- chunking

/// One generated event as the server would write it.
#[derive(Debug, Clone)]
struct Block {
    comment: bool,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u32>,
    data: Vec<String>,
}

fn text() -> impl Strategy<Value = String> {
    // Vietnamese letters, ASCII, colons and spaces; no line breaks.
    proptest::string::string_regex("[a-zA-Z0-9 :{}\"ơưđêôăâờốếạảãọụểệổởỡợừứữựỳýỷỹ]{0,12}").unwrap()
}

fn block() -> impl Strategy<Value = Block> {
    (
        any::<bool>(),
        proptest::option::of(proptest::string::string_regex("[a-z]{1,8}").unwrap()),
        proptest::option::of(proptest::string::string_regex("[0-9]{0,6}").unwrap()),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(text(), 0..4),
    )
        .prop_map(|(comment, event, id, retry, data)| Block {
            comment,
            event,
            id,
            retry,
            data,
        })
}

fn encode(blocks: &[Block], endings: &[&str]) -> Vec<u8> {
    let mut out = String::new();
    let mut i = 0;
    let mut eol = |out: &mut String| {
        let mut ending = endings[i % endings.len()];
        // "\r" then "\n" would be one CRLF, not two line ends.
        if ending == "\n" && out.ends_with('\r') {
            ending = "\r";
        }
        out.push_str(ending);
        i += 1;
    };
    for b in blocks {
        if b.comment {
            out.push_str(": keep-alive");
            eol(&mut out);
        }
        if let Some(e) = &b.event {
            out.push_str(&format!("event: {e}"));
            eol(&mut out);
        }
        if let Some(id) = &b.id {
            out.push_str(&format!("id: {id}"));
            eol(&mut out);
        }
        if let Some(r) = b.retry {
            out.push_str(&format!("retry: {r}"));
            eol(&mut out);
        }
        for d in &b.data {
            out.push_str(&format!("data:{d}"));
            eol(&mut out);
        }
        eol(&mut out);
    }
    out.into_bytes()
}

proptest! {
    #[test]
    fn any_split_gives_the_same_events(
        blocks in proptest::collection::vec(block(), 0..8),
        endings in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("\r")], 1..4),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream = encode(&blocks, &endings);
        let (whole, whole_parser) = parse_all(&stream);

        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = SseParser::new();
        let mut split = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([stream.len()]) {
            split.extend(parser.feed(&stream[start..p]));
            start = p;
        }
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(parser.last_event_id(), whole_parser.last_event_id());
        prop_assert_eq!(parser.retry(), whole_parser.retry());

        // And the events are the ones written.
        let expected: Vec<(String, String)> = blocks
            .iter()
            .filter(|b| !b.data.is_empty())
            .map(|b| (
                b.event.clone().unwrap_or_else(|| "message".into()),
                b.data.iter().map(|d| d.strip_prefix(' ').unwrap_or(d)).collect::<Vec<_>>().join("\n"),
            ))
            .collect();
        let got: Vec<(String, String)> = whole.iter().map(|e| (e.event.clone(), e.data.clone())).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let mut parser = SseParser::with_max_line(32);
        let cut = cut.min(bytes.len());
        let _ = parser.feed(&bytes[..cut]);
        let _ = parser.feed(&bytes[cut..]);
    }
}
