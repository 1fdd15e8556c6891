//! ESC/POS bytes, hand-built: the raster ticket (`ESC @`, `GS v 0` bands,
//! `ESC d`, `GS V`), its decoder for tests and tools, the `DLE EOT` status
//! requests and the meaning of their answers, and the optional text mode in
//! Windows-1258. Commands are written here rather than through the `escpos`
//! crate because it has no Windows-1258 table, sends a stray byte with
//! `DLE EOT` and squashes images with its default options (DESIGN.md).
//! Sending bytes is `transport`'s job.

use kiosk_config::{PrintMode, PrinterSettings};
use unicode_normalization::UnicodeNormalization;

use crate::layout::TicketContent;
use crate::{Bitmap, PaperState, PrinterStatus};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const DLE: u8 = 0x10;
const EOT: u8 = 0x04;

/// How the paper is cut after the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// No cut (printers without a cutter, or tickets torn by hand).
    None,
    /// `GS V 0`: full cut where the paper is.
    Full,
    /// `GS V 1`: partial cut where the paper is.
    Partial,
    /// `GS V 66 0`: feed the last printed line past the cutter, then cut partially.
    /// The usual choice: nothing printed stays behind the cutter.
    FeedAndPartial,
}

/// Options of [`encode_raster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Rows per `GS v 0` command, so a printer's small receive buffer never
    /// overflows; 0 is taken as 1.
    pub band_height: u16,
    /// The cut after the ticket.
    pub cut: Cut,
    /// Blank lines fed (`ESC d n`) after the image, before the cut.
    pub feed_lines: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            band_height: 128,
            cut: Cut::FeedAndPartial,
            feed_lines: 3,
        }
    }
}

impl EncodeOptions {
    /// The options a center's printer settings ask for.
    pub fn from_settings(settings: &PrinterSettings) -> Self {
        EncodeOptions {
            band_height: settings.band_height,
            cut: if settings.cut {
                Cut::FeedAndPartial
            } else {
                Cut::None
            },
            ..EncodeOptions::default()
        }
    }
}

/// `ESC @`, the bitmap as `GS v 0` (normal density) bands, `ESC d n`, then the cut.
pub fn encode_raster(bitmap: &Bitmap, options: &EncodeOptions) -> Vec<u8> {
    let band_height = u32::from(options.band_height.max(1));
    let row_bytes = bitmap.row_bytes();
    let mut out = Vec::with_capacity(bitmap.data().len() + 16 + 8 * bitmap.height() as usize);
    out.extend_from_slice(&[ESC, b'@']);
    let mut top = 0;
    while top < bitmap.height() {
        let rows = band_height.min(bitmap.height() - top);
        out.extend_from_slice(&[GS, b'v', b'0', 0]);
        out.extend_from_slice(&(row_bytes as u16).to_le_bytes());
        out.extend_from_slice(&(rows as u16).to_le_bytes());
        out.extend_from_slice(bitmap.band(top, rows));
        top += rows;
    }
    finish(&mut out, options);
    out
}

fn finish(out: &mut Vec<u8>, options: &EncodeOptions) {
    if options.feed_lines > 0 {
        out.extend_from_slice(&[ESC, b'd', options.feed_lines]);
    }
    match options.cut {
        Cut::None => {}
        Cut::Full => out.extend_from_slice(&[GS, b'V', 0]),
        Cut::Partial => out.extend_from_slice(&[GS, b'V', 1]),
        Cut::FeedAndPartial => out.extend_from_slice(&[GS, b'V', 66, 0]),
    }
}

/// The bytes for one ticket as the settings ask: raster (the default) or text
/// in the printer's Vietnamese code page. `render` draws the raster ticket.
pub fn encode_ticket(ticket: &TicketContent, settings: &PrinterSettings) -> Vec<u8> {
    let options = EncodeOptions::from_settings(settings);
    match settings.mode {
        PrintMode::Raster => {
            encode_raster(&crate::render(ticket, settings.dots_per_line), &options)
        }
        PrintMode::Text { codepage } => encode_text(ticket, codepage, &options),
    }
}

/// Why a byte stream is not a raster ticket this crate could have written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The stream ends inside a command.
    #[error("stream ends inside the command starting at byte {offset}")]
    Truncated {
        /// Where the unfinished command starts.
        offset: usize,
    },
    /// A byte that starts no command a raster ticket uses.
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    Unexpected {
        /// Where the byte is.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A `GS v 0` band with a density mode other than 0 (normal).
    #[error("GS v 0 at byte {offset} uses mode {mode}; only mode 0 is decoded")]
    UnsupportedMode {
        /// Where the command starts.
        offset: usize,
        /// The mode byte.
        mode: u8,
    },
    /// A band whose width differs from the first band's.
    #[error("GS v 0 at byte {offset} is {width_bytes} bytes wide, the first band was {expected}")]
    WidthChanged {
        /// Where the command starts.
        offset: usize,
        /// This band's bytes per row.
        width_bytes: u16,
        /// The first band's bytes per row.
        expected: u16,
    },
    /// The whole image would be wider than a `Bitmap` can be.
    #[error("GS v 0 at byte {offset} is {width_bytes} bytes wide, more than a ticket can be")]
    TooWide {
        /// Where the command starts.
        offset: usize,
        /// Bytes per row.
        width_bytes: u16,
    },
}

/// Parses what [`encode_raster`] writes back into the bitmap: the `GS v 0`
/// bands stacked top to bottom. `ESC @`, `ESC d n`, `ESC t n`, `GS V` and
/// `DLE EOT n` are skipped; anything else is an error.
pub fn decode_raster(bytes: &[u8]) -> Result<Bitmap, DecodeError> {
    let mut width_bytes: Option<u16> = None;
    let mut rows: Vec<u8> = Vec::new();
    let mut i = 0;
    let need = |i: usize, n: usize| {
        if i + n <= bytes.len() {
            Ok(())
        } else {
            Err(DecodeError::Truncated { offset: i })
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            ESC => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'@' => i += 2,
                    b'd' | b't' => {
                        need(i, 3)?;
                        i += 3;
                    }
                    byte => {
                        return Err(DecodeError::Unexpected {
                            offset: i + 1,
                            byte,
                        })
                    }
                }
            }
            GS => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'v' => {
                        need(i, 8)?;
                        if bytes[i + 2] != b'0' {
                            return Err(DecodeError::Unexpected {
                                offset: i + 2,
                                byte: bytes[i + 2],
                            });
                        }
                        let mode = bytes[i + 3];
                        if mode != 0 && mode != 48 {
                            return Err(DecodeError::UnsupportedMode { offset: i, mode });
                        }
                        let x = u16::from_le_bytes([bytes[i + 4], bytes[i + 5]]);
                        let y = u16::from_le_bytes([bytes[i + 6], bytes[i + 7]]);
                        if x > u16::MAX / 8 {
                            return Err(DecodeError::TooWide {
                                offset: i,
                                width_bytes: x,
                            });
                        }
                        match width_bytes {
                            None => width_bytes = Some(x),
                            Some(expected) if expected != x => {
                                return Err(DecodeError::WidthChanged {
                                    offset: i,
                                    width_bytes: x,
                                    expected,
                                })
                            }
                            Some(_) => {}
                        }
                        let len = usize::from(x) * usize::from(y);
                        need(i, 8 + len)?;
                        rows.extend_from_slice(&bytes[i + 8..i + 8 + len]);
                        i += 8 + len;
                    }
                    b'V' => {
                        need(i, 3)?;
                        let m = bytes[i + 2];
                        i += if matches!(m, 65 | 66 | 97 | 98 | 103 | 104) {
                            need(i, 4)?;
                            4
                        } else {
                            3
                        };
                    }
                    byte => {
                        return Err(DecodeError::Unexpected {
                            offset: i + 1,
                            byte,
                        })
                    }
                }
            }
            DLE => {
                need(i, 3)?;
                i += 3;
            }
            byte => return Err(DecodeError::Unexpected { offset: i, byte }),
        }
    }
    let width_bytes = width_bytes.unwrap_or(0);
    let height = if width_bytes == 0 {
        0
    } else {
        rows.len() / usize::from(width_bytes)
    };
    let bitmap = Bitmap::from_rows(width_bytes * 8, height as u32, rows);
    // from_rows only fails on a length mismatch, which the loop above rules out.
    Ok(bitmap.unwrap_or_else(|| Bitmap::new(0, 0)))
}

/// Which status `DLE EOT n` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRequest {
    /// n = 1: printer status (online/offline).
    Printer = 1,
    /// n = 2: offline cause (cover open, paper end).
    OfflineCause = 2,
    /// n = 4: roll paper sensor (near end, out).
    PaperSensor = 4,
}

/// The three bytes of `DLE EOT n`, and nothing else.
pub fn status_request(request: StatusRequest) -> [u8; 3] {
    [DLE, EOT, request as u8]
}

/// Whether a byte can be an answer to `DLE EOT`: bits 1 and 4 set, 0 and 7 clear.
pub fn is_status_byte(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

/// Combines the answers to `DLE EOT 1`, `2` and `4` (each `None` when the
/// printer did not answer) into a status.
pub fn parse_status(
    printer: Option<u8>,
    offline_cause: Option<u8>,
    paper_sensor: Option<u8>,
) -> PrinterStatus {
    let valid = |b: Option<u8>| b.filter(|b| is_status_byte(*b));
    let online = valid(printer).map(|b| b & 0x08 == 0);
    let offline_cause = valid(offline_cause);
    let cover_open = offline_cause.map(|b| b & 0x04 != 0);
    let paper_end_stop = offline_cause.map(|b| b & 0x20 != 0);
    let paper = match valid(paper_sensor) {
        Some(b) if b & 0x60 != 0 => PaperState::Out,
        Some(b) if b & 0x0C != 0 => PaperState::NearEnd,
        Some(_) => PaperState::Present,
        None if paper_end_stop == Some(true) => PaperState::Out,
        None => PaperState::Unknown,
    };
    PrinterStatus {
        online,
        cover_open,
        paper,
    }
}

/// Encodes text in Windows-1258: letters with circumflex, breve or horn and
/// Đ are single bytes, tones are the code page's combining bytes after the
/// letter. Characters the code page lacks become `?`.
pub fn encode_cp1258(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let decomposed: Vec<char> = text.nfd().collect();
    let mut i = 0;
    while i < decomposed.len() {
        let c = decomposed[i];
        // The marks after this letter, in canonical order (the dot below sorts
        // before the circumflex, so the vowel mark is not always first).
        let marks_end = decomposed[i + 1..]
            .iter()
            .position(|m| !is_combining(*m))
            .map_or(decomposed.len(), |n| i + 1 + n);
        let marks = &decomposed[i + 1..marks_end];
        // Letters with a vowel mark are one byte in CP1258; tones follow as combining bytes.
        let vowel = marks.iter().find_map(|m| {
            Some(match (c, m) {
                ('A', '\u{302}') => 0xC2,
                ('a', '\u{302}') => 0xE2,
                ('E', '\u{302}') => 0xCA,
                ('e', '\u{302}') => 0xEA,
                ('O', '\u{302}') => 0xD4,
                ('o', '\u{302}') => 0xF4,
                ('A', '\u{306}') => 0xC3,
                ('a', '\u{306}') => 0xE3,
                ('O', '\u{31B}') => 0xD5,
                ('o', '\u{31B}') => 0xF5,
                ('U', '\u{31B}') => 0xDD,
                ('u', '\u{31B}') => 0xFD,
                _ => return None,
            })
        });
        match vowel {
            Some(byte) => out.push(byte),
            None => out.push(cp1258_byte(c)),
        }
        for &mark in marks {
            let used_by_vowel =
                vowel.is_some() && matches!(mark, '\u{302}' | '\u{306}' | '\u{31B}');
            if !used_by_vowel {
                out.push(cp1258_byte(mark));
            }
        }
        i = marks_end;
    }
    out
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}')
}

fn cp1258_byte(c: char) -> u8 {
    match c {
        c if c.is_ascii() && !c.is_ascii_control() => c as u8,
        '\n' => b'\n',
        'Đ' => 0xD0,
        'đ' => 0xF0,
        '\u{300}' => 0xCC,
        '\u{301}' => 0xEC,
        '\u{303}' => 0xDE,
        '\u{309}' => 0xD2,
        '\u{323}' => 0xF2,
        '₫' => 0xFE,
        '…' => 0x85,
        '–' => 0x96,
        '—' => 0x97,
        '·' => 0xB7,
        _ => b'?',
    }
}

/// The ticket as text in the printer's font, for printers with a working
/// Vietnamese code page selected by `ESC t codepage`. No QR code in this mode.
pub fn encode_text(ticket: &TicketContent, codepage: u8, options: &EncodeOptions) -> Vec<u8> {
    let mut out = vec![ESC, b'@', ESC, b't', codepage, ESC, b'a', 1];
    let line = |out: &mut Vec<u8>, text: &str, style: u8| {
        out.extend_from_slice(&[ESC, b'!', style]);
        out.extend_from_slice(&encode_cp1258(text));
        out.push(b'\n');
    };
    for header in &ticket.header_lines {
        line(&mut out, header, 0);
    }
    line(&mut out, &ticket.center_name, 0x08);
    line(&mut out, "PHIẾU SỐ THỨ TỰ", 0x08);
    out.extend_from_slice(&[GS, b'!', 0x33]); // 4x width and height for the number
    out.extend_from_slice(&encode_cp1258(&ticket.number_label));
    out.extend_from_slice(&[b'\n', GS, b'!', 0]);
    line(&mut out, &ticket.department, 0x08);
    if let Some(class) = &ticket.priority_class {
        line(&mut out, &format!("Ưu tiên: {class}"), 0x08);
    }
    line(&mut out, &ticket.waiting_line(), 0);
    if let Some(wait) = ticket.wait_estimate_line() {
        line(&mut out, &wait, 0);
    }
    line(&mut out, &ticket.issued_line(), 0);
    for footer in &ticket.footer_lines {
        line(&mut out, footer, 0);
    }
    finish(&mut out, options);
    out
}
