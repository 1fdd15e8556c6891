//! The citizen's ticket: what is on it ([`TicketContent`]) and how it is laid
//! out on a 58 mm (384 dots) or 80 mm (576 dots) roll as a 1-bit [`Bitmap`].
//! Text wraps on word boundaries and is never clipped; the number is shrunk to
//! fit and never split. Turning the bitmap into printer bytes is `escpos`'s job.

use std::time::Duration;

use jiff::civil::DateTime;
use qrcode::{Color, QrCode};

use crate::font::{self, Weight};
use crate::Bitmap;

/// Dots per line of an 80 mm roll.
pub const WIDTH_80MM: u16 = 576;
/// Dots per line of a 58 mm roll.
pub const WIDTH_58MM: u16 = 384;

/// Everything printed on one ticket. Text is Vietnamese, any normalization form
/// (it is NFC-normalized before drawing).
#[derive(Debug, Clone, PartialEq)]
pub struct TicketContent {
    /// Lines above the center's name, e.g. the province's people's committee.
    pub header_lines: Vec<String>,
    /// The service center's name.
    pub center_name: String,
    /// The department the ticket is for.
    pub department: String,
    /// The procedure picked on the touch screen ("Khai sinh"), printed on
    /// one line under the department; `None` for a button ticket.
    pub service: Option<String>,
    /// The ticket number as called, e.g. `1023` or `A023`.
    pub number_label: String,
    /// The priority class (e.g. "Người cao tuổi"), if the ticket has one.
    pub priority_class: Option<String>,
    /// How many people wait ahead in this department.
    pub waiting_ahead: u32,
    /// Estimated wait; the line is left out when unknown.
    pub estimated_wait: Option<Duration>,
    /// When the ticket was issued, in the center's local time.
    pub issued_at: DateTime,
    /// The session ("Sáng" or "Chiều"), if the center names them.
    pub session_name: Option<String>,
    /// Text encoded as a QR code (ticket id or status URL), if configured.
    pub qr: Option<String>,
    /// Lines at the bottom, e.g. "Vui lòng giữ phiếu và chờ gọi số…".
    pub footer_lines: Vec<String>,
}

impl TicketContent {
    /// "Số người đang chờ trước bạn: N".
    pub fn waiting_line(&self) -> String {
        format!("Số người đang chờ trước bạn: {}", self.waiting_ahead)
    }

    /// "Thời gian chờ dự kiến: khoảng N phút" (whole minutes, at least one),
    /// when the wait is known.
    pub fn wait_estimate_line(&self) -> Option<String> {
        let minutes = self.estimated_wait?.as_secs().div_ceil(60).max(1);
        Some(format!("Thời gian chờ dự kiến: khoảng {minutes} phút"))
    }

    /// "Ngày 01/12/2026 lúc 08:05", then " · Sáng" when the session is named.
    pub fn issued_line(&self) -> String {
        let at = self.issued_at;
        let mut when = format!(
            "Ngày {:02}/{:02}/{:04} lúc {:02}:{:02}",
            at.day(),
            at.month(),
            at.year(),
            at.hour(),
            at.minute()
        );
        if let Some(session) = &self.session_name {
            when.push_str(" · ");
            when.push_str(session);
        }
        when
    }
}

/// The footer most centers use.
pub const DEFAULT_FOOTER: &str = "Vui lòng giữ phiếu và chờ gọi số…";

/// Every Vietnamese vowel with each of the six tones, and Đ đ, lower then upper case.
pub const TONE_SAMPLE_LINES: [&str; 12] = [
    "a à á ả ã ạ ă ằ ắ ẳ ẵ ặ â ầ ấ ẩ ẫ ậ",
    "e è é ẻ ẽ ẹ ê ề ế ể ễ ệ",
    "i ì í ỉ ĩ ị o ò ó ỏ õ ọ",
    "ô ồ ố ổ ỗ ộ ơ ờ ớ ở ỡ ợ",
    "u ù ú ủ ũ ụ ư ừ ứ ử ữ ự",
    "y ỳ ý ỷ ỹ ỵ đ",
    "A À Á Ả Ã Ạ Ă Ằ Ắ Ẳ Ẵ Ặ Â Ầ Ấ Ẩ Ẫ Ậ",
    "E È É Ẻ Ẽ Ẹ Ê Ề Ế Ể Ễ Ệ",
    "I Ì Í Ỉ Ĩ Ị O Ò Ó Ỏ Õ Ọ",
    "Ô Ồ Ố Ổ Ỗ Ộ Ơ Ờ Ớ Ở Ỡ Ợ",
    "U Ù Ú Ủ Ũ Ụ Ư Ừ Ứ Ử Ữ Ự",
    "Y Ỳ Ý Ỷ Ỹ Ỵ Đ",
];

/// A sample ticket for `kiosk print-test`: realistic fields, a priority class,
/// a QR code, and every Vietnamese letter with every tone in the footer.
pub fn sample_ticket(center_name: &str, issued_at: DateTime) -> TicketContent {
    let mut footer_lines = vec![
        DEFAULT_FOOTER.to_string(),
        "Mẫu in thử — đủ dấu:".to_string(),
    ];
    footer_lines.extend(
        TONE_SAMPLE_LINES
            .iter()
            .map(std::string::ToString::to_string),
    );
    TicketContent {
        header_lines: vec![
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".to_string(),
            "Độc lập – Tự do – Hạnh phúc".to_string(),
        ],
        center_name: center_name.to_string(),
        department: "Đất đai, tài sản gắn liền với đất và đăng ký biến động".to_string(),
        service: Some("Cấp đổi giấy chứng nhận".to_string()),
        number_label: "1023".to_string(),
        priority_class: Some("Người cao tuổi".to_string()),
        waiting_ahead: 7,
        estimated_wait: Some(Duration::from_secs(25 * 60)),
        issued_at,
        session_name: Some(
            if issued_at.hour() < 12 {
                "Sáng"
            } else {
                "Chiều"
            }
            .to_string(),
        ),
        qr: Some("PHIEU-1023".to_string()),
        footer_lines,
    }
}

/// Renders the ticket `width_dots` wide (576 for 80 mm, 384 for 58 mm; any
/// width from 96 dots works). The height is whatever the content needs.
pub fn render(ticket: &TicketContent, width_dots: u16) -> Bitmap {
    let mut page = Page::new(width_dots.max(96));
    // Text keeps its size on 58 mm paper (it wraps instead): below ~20 dots the
    // tone marks (hook, tilde, dot below) blur together on a 203 dpi head.
    let s = (page.scale * 1.5).min(1.0);

    for line in &ticket.header_lines {
        page.paragraph(line, Weight::Regular, 22.0 * s);
    }
    page.paragraph(&ticket.center_name, Weight::Bold, 25.0 * s);
    page.gap(6.0 * s);
    page.rule();
    page.gap(8.0 * s);
    page.paragraph("PHIẾU SỐ THỨ TỰ", Weight::Bold, 30.0 * s);
    page.number(&ticket.number_label, 180.0 * page.scale);
    page.paragraph(&ticket.department, Weight::Bold, 27.0 * s);
    if let Some(service) = &ticket.service {
        page.paragraph(service, Weight::Regular, 25.0 * s);
    }
    if let Some(class) = &ticket.priority_class {
        page.gap(4.0 * s);
        page.paragraph(&format!("Ưu tiên: {class}"), Weight::Bold, 24.0 * s);
    }
    page.gap(6.0 * s);
    page.rule();
    page.gap(6.0 * s);
    page.paragraph(&ticket.waiting_line(), Weight::Regular, 24.0 * s);
    if let Some(wait) = ticket.wait_estimate_line() {
        page.paragraph(&wait, Weight::Regular, 24.0 * s);
    }
    page.paragraph(&ticket.issued_line(), Weight::Regular, 24.0 * s);
    if let Some(qr) = &ticket.qr {
        page.gap(8.0 * s);
        page.qr(qr);
    }
    page.gap(6.0 * s);
    for line in &ticket.footer_lines {
        page.paragraph(line, Weight::Regular, 22.0 * s);
    }
    page.finish()
}

/// The ticket being drawn, top to bottom.
struct Page {
    bitmap: Bitmap,
    /// Next free row.
    y: f32,
    /// White dots kept on each side.
    margin: f32,
    /// Sizes are given for 80 mm and scaled by this.
    scale: f32,
}

impl Page {
    fn new(width: u16) -> Self {
        let scale = f32::from(width) / f32::from(WIDTH_80MM);
        Page {
            bitmap: Bitmap::new(width, 0),
            y: 8.0,
            margin: (8.0 * scale).round().max(4.0),
            scale,
        }
    }

    fn available(&self) -> f32 {
        f32::from(self.bitmap.width()) - 2.0 * self.margin
    }

    fn gap(&mut self, dots: f32) {
        self.y += dots.round();
    }

    /// A dashed line across the printable width.
    fn rule(&mut self) {
        let y = self.y as i64;
        self.bitmap.ensure_height(y as u32 + 2);
        let left = self.margin as i64;
        let right = i64::from(self.bitmap.width()) - self.margin as i64;
        let mut x = left;
        while x < right {
            let len = 6.min(right - x) as u32;
            self.bitmap.fill_rect(x, y, len, 2);
            x += 10;
        }
        self.y += 2.0;
    }

    /// Draws one line centered on the current row and moves down past it.
    fn line(&mut self, text: &str, weight: Weight, size: f32) {
        let shaped = font::shape(text, weight, size);
        let height = shaped.height().ceil();
        self.bitmap.ensure_height((self.y + height) as u32 + 1);
        let x = ((f32::from(self.bitmap.width()) - shaped.width()) / 2.0)
            .max(self.margin)
            .floor();
        font::draw(&mut self.bitmap, &shaped, x, self.y);
        self.y += height + (size * 0.12).round();
    }

    /// Text wrapped on word boundaries, centered. A word wider than the line
    /// shrinks the paragraph (down to 70 %); only then is it broken by character.
    fn paragraph(&mut self, text: &str, weight: Weight, size: f32) {
        let text = font::normalize(text);
        let available = self.available() - 2.0; // ink may overhang the advance by a dot
        let widest = text
            .split_whitespace()
            .map(|word| font::advance_width(word, weight, size))
            .fold(0.0f32, f32::max);
        let size = if widest > available {
            (size * available / widest).max(size * 0.7).max(10.0)
        } else {
            size
        };
        for line in wrap(&text, weight, size, available) {
            self.line(&line, weight, size);
        }
    }

    /// The ticket number: one line, bold, as large as fits.
    fn number(&mut self, label: &str, size: f32) {
        let label = font::normalize(label);
        let label = label.trim();
        let available = self.available();
        let mut size = size;
        let mut shaped = font::shape(label, Weight::Bold, size);
        // Shrinks proportionally; the loop absorbs rounding of ink bounds.
        while shaped.width() > available && size > 4.0 {
            size = (size * available / shaped.width() - 0.5).max(4.0);
            shaped = font::shape(label, Weight::Bold, size);
        }
        let height = shaped.height().ceil();
        self.bitmap.ensure_height((self.y + height) as u32 + 1);
        let x = ((f32::from(self.bitmap.width()) - shaped.width()) / 2.0)
            .max(0.0)
            .floor();
        font::draw(&mut self.bitmap, &shaped, x, self.y);
        self.y += height + 4.0 * self.scale;
    }

    /// A QR code, centered, modules as large as 4 dots (80 mm) and still fitting.
    /// Text too long for any QR version is printed as text instead.
    fn qr(&mut self, data: &str) {
        let Ok(code) = QrCode::new(data.as_bytes()) else {
            self.paragraph(data, Weight::Regular, 18.0 * self.scale);
            return;
        };
        let modules = code.width() as u32;
        let quiet = 2u32;
        let available = self.available() as u32;
        let module = (4.0 * self.scale).round().max(1.0) as u32;
        let module = module.min(available / (modules + 2 * quiet)).max(1);
        let side = modules * module;
        let left = (u32::from(self.bitmap.width()).saturating_sub(side)) / 2;
        let top = self.y as u32 + quiet * module;
        self.bitmap.ensure_height(top + side + quiet * module);
        for (index, color) in code.to_colors().into_iter().enumerate() {
            if color == Color::Dark {
                let (mx, my) = (index as u32 % modules, index as u32 / modules);
                self.bitmap.fill_rect(
                    i64::from(left + mx * module),
                    i64::from(top + my * module),
                    module,
                    module,
                );
            }
        }
        self.y = (top + side + quiet * module) as f32;
    }

    fn finish(mut self) -> Bitmap {
        let bottom = (self.y + 8.0) as u32;
        self.bitmap.ensure_height(bottom);
        self.bitmap
    }
}

/// Greedy word wrap by advance width. Words wider than `available` are broken
/// by character (the last resort after shrinking).
fn wrap(text: &str, weight: Weight, size: f32, available: f32) -> Vec<String> {
    let space = font::advance_width(" ", weight, size);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0.0f32;
    for word in text.split_whitespace() {
        let width = font::advance_width(word, weight, size);
        if !current.is_empty() && current_width + space + width <= available {
            current.push(' ');
            current.push_str(word);
            current_width += space + width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if width <= available {
            current = word.to_string();
            current_width = width;
            continue;
        }
        // Character by character, summing advances (kerning inside a broken
        // word is ignored; the caller keeps a dot or two of slack).
        current_width = 0.0;
        let mut buffer = [0u8; 4];
        for c in word.chars() {
            let advance = font::advance_width(c.encode_utf8(&mut buffer), weight, size);
            if !current.is_empty() && current_width + advance > available {
                lines.push(std::mem::take(&mut current));
                current_width = 0.0;
            }
            current.push(c);
            current_width += advance;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}
