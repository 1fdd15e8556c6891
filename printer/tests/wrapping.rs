//! Layout under long input: names wrap on word boundaries and are never
//! clipped; the number shrinks to fit and is never split.

use std::time::Duration;

use ticket_printer::{render, Bitmap, TicketContent};

fn ticket(department: &str, number: &str) -> TicketContent {
    TicketContent {
        header_lines: vec!["UBND TỈNH BẮC NINH".to_string()],
        center_name: "Trung tâm Phục vụ hành chính công".to_string(),
        department: department.to_string(),
        service: None,
        number_label: number.to_string(),
        priority_class: None,
        waiting_ahead: 3,
        estimated_wait: Some(Duration::from_secs(90)),
        issued_at: jiff::civil::date(2025, 3, 5).at(14, 30, 0, 0),
        session_name: Some("Chiều".to_string()),
        qr: None,
        footer_lines: vec!["Vui lòng giữ phiếu và chờ gọi số…".to_string()],
    }
}

/// Bands of consecutive rows with ink: one per printed line (or per mark row).
fn ink_bands(bitmap: &Bitmap) -> Vec<(u32, u32)> {
    let mut bands = Vec::new();
    let mut start = None;
    for y in 0..=bitmap.height() {
        let ink = y < bitmap.height() && bitmap.row(y).iter().any(|b| *b != 0);
        match (ink, start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                bands.push((s, y));
                start = None;
            }
            _ => {}
        }
    }
    bands
}

/// No ink touches the outermost columns: nothing was cut off at the paper's edge.
fn assert_not_clipped(bitmap: &Bitmap, what: &str) {
    let (left, right) = bitmap.ink_columns().expect("ticket has ink");
    assert!(
        left >= 2,
        "{what}: ink at column {left}, text clipped on the left"
    );
    assert!(
        right + 3 <= u32::from(bitmap.width()),
        "{what}: ink at column {right} of {}, text clipped on the right",
        bitmap.width()
    );
}

const LONG_DEPARTMENT: &str = "Phòng Tài nguyên và Môi trường, Đăng ký đất đai, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất";

#[test]
fn long_department_wraps_and_is_never_clipped() {
    for width in [384, 576] {
        let short = render(&ticket("Tư pháp", "1001"), width);
        let long = render(&ticket(LONG_DEPARTMENT, "1001"), width);
        assert_not_clipped(&long, &format!("{width} dots"));
        // Several more lines, not one clipped line.
        let extra = ink_bands(&long).len() - ink_bands(&short).len();
        assert!(
            extra >= 2,
            "{width} dots: long name added only {extra} lines"
        );
        assert!(long.height() > short.height() + 60);
    }
}

#[test]
fn a_word_wider_than_the_line_is_shrunk_or_broken_never_clipped() {
    let word =
        "https://dichvucong.bacninh.gov.vn/tra-cuu-ho-so/0123456789abcdefghijklmnopqrstuvwxyz";
    for width in [384, 576] {
        let bitmap = render(&ticket(word, "1001"), width);
        assert_not_clipped(&bitmap, &format!("{width} dots, one long word"));
    }
}

#[test]
fn long_number_shrinks_to_one_line() {
    for width in [384, 576] {
        let short = render(&ticket("Tư pháp", "1001"), width);
        let long = render(&ticket("Tư pháp", "A1001-2025-0305-99999"), width);
        assert_not_clipped(&long, &format!("{width} dots, long number"));
        // Same number of printed lines: the number was not split.
        assert_eq!(
            ink_bands(&long).len(),
            ink_bands(&short).len(),
            "{width} dots"
        );
        // And it is smaller than the short one's very large digits.
        assert!(long.height() < short.height());
    }
}

#[test]
fn short_number_is_very_large() {
    let bitmap = render(&ticket("Tư pháp", "1001"), 576);
    let tallest = ink_bands(&bitmap).iter().map(|(a, b)| b - a).max().unwrap();
    assert!(tallest >= 100, "number only {tallest} dots tall");
}

#[test]
fn empty_and_odd_fields_do_not_panic() {
    let mut odd = ticket("", "");
    odd.header_lines = vec![String::new(), "\t\n".to_string()];
    odd.qr = Some("x".repeat(5000)); // too long for any QR version: printed as text
    odd.estimated_wait = Some(Duration::ZERO);
    for width in [0, 96, 200, 384, 576, 1000] {
        let bitmap = render(&odd, width);
        assert!(bitmap.height() > 0);
    }
}
