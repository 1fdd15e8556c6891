//! The ESC/POS byte stream: decoding the `GS v 0` bands back gives the
//! rendered bitmap pixel for pixel, whatever the band height; commands
//! around the image; status answers; Windows-1258 text.

use ticket_printer::escpos::{encode_cp1258, parse_status, status_request, StatusRequest};
use ticket_printer::{
    decode_raster, encode_raster, render, sample_ticket, Bitmap, Cut, DecodeError, EncodeOptions,
    PaperState, PrinterStatus,
};

fn ticket(width: u16) -> Bitmap {
    render(
        &sample_ticket(
            "Trung tâm Phục vụ hành chính công",
            jiff::civil::date(2025, 3, 5).at(14, 5, 0, 0),
        ),
        width,
    )
}

#[test]
fn decoded_bands_equal_the_rendered_bitmap_for_any_band_height() {
    for width in [384, 576] {
        let bitmap = ticket(width);
        assert!(bitmap.height() > 500);
        for band_height in [
            1,
            7,
            24,
            100,
            128,
            255,
            256,
            bitmap.height() as u16,
            u16::MAX,
        ] {
            let options = EncodeOptions {
                band_height,
                cut: Cut::FeedAndPartial,
                feed_lines: 3,
            };
            let bytes = encode_raster(&bitmap, &options);
            let decoded = decode_raster(&bytes).expect("our own bytes decode");
            assert_eq!(decoded.width(), bitmap.width());
            assert_eq!(decoded.height(), bitmap.height());
            assert!(
                decoded == bitmap,
                "width {width}, band height {band_height}: pixels differ"
            );
            let bands = bytes.windows(3).filter(|w| w == b"\x1dv0").count() as u32;
            assert_eq!(bands, bitmap.height().div_ceil(u32::from(band_height)));
        }
    }
}

#[test]
fn stream_starts_with_init_and_ends_with_feed_and_cut() {
    let bitmap = ticket(576);
    let cases = [
        (Cut::FeedAndPartial, &b"\x1bd\x03\x1dVB\x00"[..]),
        (Cut::Full, &b"\x1bd\x03\x1dV\x00"[..]),
        (Cut::Partial, &b"\x1bd\x03\x1dV\x01"[..]),
        (Cut::None, &b"\x1bd\x03"[..]),
    ];
    for (cut, tail) in cases {
        let bytes = encode_raster(
            &bitmap,
            &EncodeOptions {
                band_height: 64,
                cut,
                feed_lines: 3,
            },
        );
        assert_eq!(&bytes[..2], b"\x1b@");
        assert_eq!(
            &bytes[2..8],
            &[0x1d, b'v', b'0', 0, 72, 0],
            "GS v 0, mode 0, 72 bytes wide"
        );
        assert!(bytes.ends_with(tail), "{cut:?}");
    }
}

#[test]
fn band_height_zero_is_one_row_per_band() {
    let bitmap = ticket(384);
    let bytes = encode_raster(
        &bitmap,
        &EncodeOptions {
            band_height: 0,
            ..EncodeOptions::default()
        },
    );
    assert_eq!(decode_raster(&bytes).unwrap(), bitmap);
}

#[test]
fn odd_widths_round_trip() {
    let mut bitmap = Bitmap::new(13, 5);
    for (x, y) in [(0, 0), (12, 0), (6, 2), (12, 4)] {
        bitmap.set(x, y);
    }
    let decoded = decode_raster(&encode_raster(&bitmap, &EncodeOptions::default())).unwrap();
    // The printer sees whole bytes: 16 dots wide, the same dots black.
    assert_eq!(decoded.width(), 16);
    for y in 0..5 {
        for x in 0..16 {
            assert_eq!(decoded.get(x, y), bitmap.get(x, y), "({x}, {y})");
        }
    }
}

#[test]
fn malformed_streams_are_errors_not_panics() {
    let bytes = encode_raster(&ticket(384), &EncodeOptions::default());
    assert!(matches!(
        decode_raster(&bytes[..20]),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(
        decode_raster(b"\x1b@A"),
        Err(DecodeError::Unexpected {
            offset: 2,
            byte: b'A'
        })
    );
    assert!(matches!(
        decode_raster(b"\x1dv0\x01\x01\x00\x01\x00\xff"),
        Err(DecodeError::UnsupportedMode { mode: 1, .. })
    ));
    assert!(matches!(
        decode_raster(b"\x1dv0\x00\x01\x00\x01\x00\xff\x1dv0\x00\x02\x00\x01\x00\xff\xff"),
        Err(DecodeError::WidthChanged { .. })
    ));
    for cut in 0..bytes.len().min(400) {
        let _ = decode_raster(&bytes[..cut]);
    }
}

#[test]
fn status_requests_are_exactly_three_bytes() {
    assert_eq!(status_request(StatusRequest::Printer), [0x10, 0x04, 1]);
    assert_eq!(status_request(StatusRequest::OfflineCause), [0x10, 0x04, 2]);
    assert_eq!(status_request(StatusRequest::PaperSensor), [0x10, 0x04, 4]);
}

#[test]
fn status_answers_are_understood() {
    let ok = parse_status(Some(0x12), Some(0x12), Some(0x12));
    assert_eq!(
        ok,
        PrinterStatus {
            online: Some(true),
            cover_open: Some(false),
            paper: PaperState::Present
        }
    );
    assert!(ok.ready_to_print());

    let near_end = parse_status(Some(0x12), Some(0x12), Some(0x1E));
    assert_eq!(near_end.paper, PaperState::NearEnd);
    assert!(near_end.ready_to_print());

    let out = parse_status(Some(0x1A), Some(0x32), Some(0x7E));
    assert_eq!(
        out,
        PrinterStatus {
            online: Some(false),
            cover_open: Some(false),
            paper: PaperState::Out
        }
    );
    assert!(!out.ready_to_print());

    let cover = parse_status(Some(0x1A), Some(0x16), Some(0x12));
    assert_eq!(cover.cover_open, Some(true));
    assert!(!cover.ready_to_print());

    // Silence, and bytes that cannot be status answers, are "unknown": still ready.
    let silent = parse_status(None, None, None);
    assert!(silent.is_unknown() && silent.ready_to_print());
    assert!(parse_status(Some(0xFF), Some(0x00), Some(0x41)).is_unknown());
    // Paper end known only from the offline cause.
    assert_eq!(
        parse_status(Some(0x1A), Some(0x32), None).paper,
        PaperState::Out
    );
}

#[test]
fn cp1258_encodes_vietnamese_with_combining_tones() {
    assert_eq!(encode_cp1258("Việt"), vec![b'V', b'i', 0xEA, 0xF2, b't']);
    assert_eq!(
        encode_cp1258("Đường"),
        vec![0xD0, 0xFD, 0xF5, 0xCC, b'n', b'g']
    );
    assert_eq!(encode_cp1258("Ắ"), vec![0xC3, 0xEC]);
    assert_eq!(encode_cp1258("ả ũ"), vec![b'a', 0xD2, b' ', b'u', 0xDE]);
    assert_eq!(encode_cp1258("€"), vec![b'?']);
}

#[test]
fn cp1258_handles_dot_below_sorted_before_circumflex() {
    // NFD of ệ is e, dot below, circumflex.
    assert_eq!(encode_cp1258("ệ"), vec![0xEA, 0xF2]);
    assert_eq!(encode_cp1258("Ợ"), vec![0xD5, 0xF2]);
    assert_eq!(encode_cp1258("ậ"), vec![0xE2, 0xF2]);
}
