//! The LED board frame format, byte for byte.

use display_daemon::led_board::{encode_frame, LedFrameError, ETX, FRAME_LEN, STX};

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

#[test]
fn counter_3_shows_1005() {
    let frame = encode_frame(3, Some("1005")).unwrap();
    let mut expected = vec![
        STX, b'C', b'0', b'3', b' ', b' ', b'1', b'0', b'0', b'5', ETX,
    ];
    expected.push(xor(&expected[1..]));
    assert_eq!(frame.to_vec(), expected);
    assert_eq!(frame.len(), FRAME_LEN);
    // The documented example's checksum, computed by hand.
    assert_eq!(
        frame[11],
        0x43 ^ 0x30 ^ 0x33 ^ 0x20 ^ 0x20 ^ 0x31 ^ 0x30 ^ 0x30 ^ 0x35 ^ 0x03
    );
}

#[test]
fn blank_letters_long_and_non_ascii_labels() {
    let blank = encode_frame(12, None).unwrap();
    assert_eq!(&blank[1..11], b"C12      \x03");
    assert_eq!(&encode_frame(7, Some("A005")).unwrap()[4..10], b"  A005");
    assert_eq!(
        &encode_frame(7, Some("AB1234567")).unwrap()[4..10],
        b"234567"
    );
    assert_eq!(&encode_frame(7, Some("Đ01")).unwrap()[4..10], b"   ?01");
}

#[test]
fn counters_above_99_cannot_be_addressed() {
    assert_eq!(
        encode_frame(100, Some("1")),
        Err(LedFrameError::CounterOutOfRange(100))
    );
    assert!(encode_frame(99, Some("1")).is_ok());
}
