//! Text drawn from the bundled DejaVu Sans fonts (regular and bold), which
//! cover every Vietnamese letter precomposed. Owns NFC normalization, glyph
//! shaping (advances and kerning), measuring and drawing one line of text
//! onto a [`Bitmap`]. Wrapping and placement on the ticket live in `layout`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use unicode_normalization::UnicodeNormalization;

use crate::Bitmap;

static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Which of the bundled faces to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// Parsed once per process: parsing is cheap but not free, and every ticket uses both.
fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        // The bytes are compiled in and checked by the tests, so this cannot fail at run time.
        regular: FontRef::try_from_slice(REGULAR_TTF).expect("bundled DejaVuSans.ttf parses"),
        bold: FontRef::try_from_slice(BOLD_TTF).expect("bundled DejaVuSans-Bold.ttf parses"),
    })
}

fn face(weight: Weight) -> &'static FontRef<'static> {
    match weight {
        Weight::Regular => &fonts().regular,
        Weight::Bold => &fonts().bold,
    }
}

/// Whether the bundled `weight` face has a glyph of its own for `c`.
pub fn has_glyph(weight: Weight, c: char) -> bool {
    face(weight).glyph_id(c).0 != 0
}

/// NFC form of `text` with control characters turned into spaces.
pub fn normalize(text: &str) -> String {
    text.nfc()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A glyph rasterized at one size and sub-dot offset: runs of black dots
/// relative to the pen position on the baseline.
struct Mask {
    /// `(y, x, length)` runs of black dots.
    runs: Vec<(i32, i32, u32)>,
    /// Ink box relative to the pen position (empty glyphs: all zero).
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
}

/// Glyphs already rasterized, by face, glyph, size and quarter-dot offset.
/// Tickets repeat the same few hundred glyphs, so after the first ticket
/// drawing is copying runs (this keeps render time well under a millisecond).
type MaskKey = (Weight, u16, u32, u8);

fn mask(weight: Weight, id: GlyphId, size: f32, quarter: u8) -> Arc<Mask> {
    static CACHE: OnceLock<Mutex<HashMap<MaskKey, Arc<Mask>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (weight, id.0, size.to_bits(), quarter);
    if let Some(mask) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return Arc::clone(mask);
    }
    let mask = Arc::new(rasterize(weight, id, size, quarter));
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= 8192 {
        cache.clear(); // bounded memory: odd sizes from shrinking must not pile up
    }
    cache.insert(key, Arc::clone(&mask));
    mask
}

/// A dot is black where the glyph covers at least half of it.
fn rasterize(weight: Weight, id: GlyphId, size: f32, quarter: u8) -> Mask {
    let font = face(weight);
    let glyph =
        id.with_scale_and_position(PxScale::from(size), point(f32::from(quarter) / 4.0, 0.0));
    let mut mask = Mask {
        runs: Vec::new(),
        left: 0,
        right: 0,
        top: 0,
        bottom: 0,
    };
    let Some(outline) = font.outline_glyph(glyph) else {
        return mask;
    };
    let bounds = outline.px_bounds();
    let (ox, oy) = (bounds.min.x as i32, bounds.min.y as i32);
    let width = bounds.width() as usize;
    let height = bounds.height() as usize;
    let mut black = vec![false; width * height];
    outline.draw(|x, y, coverage| {
        if coverage >= 0.5 {
            if let Some(dot) = black.get_mut(y as usize * width + x as usize) {
                *dot = true;
            }
        }
    });
    for y in 0..height {
        let row = &black[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            if row[x] {
                let start = x;
                while x < width && row[x] {
                    x += 1;
                }
                mask.runs
                    .push((oy + y as i32, ox + start as i32, (x - start) as u32));
            } else {
                x += 1;
            }
        }
    }
    mask.left = ox;
    mask.right = ox + width as i32;
    mask.top = oy;
    mask.bottom = oy + height as i32;
    mask
}

/// A line of text shaped at a size: glyphs placed on a baseline at y = 0,
/// and the box that holds both the font's line metrics and every glyph's ink.
pub(crate) struct ShapedLine {
    glyphs: Vec<(i32, Arc<Mask>)>,
    /// Leftmost extent (ink may start left of the pen origin).
    pub left: i32,
    /// Rightmost extent: the advance or the ink, whichever is further.
    pub right: i32,
    /// Top of the box, negative (above the baseline).
    pub top: i32,
    /// Bottom of the box, positive (below the baseline).
    pub bottom: i32,
}

impl ShapedLine {
    /// Width of the box in dots.
    pub fn width(&self) -> f32 {
        (self.right - self.left) as f32
    }

    /// Height of the box in dots.
    pub fn height(&self) -> f32 {
        (self.bottom - self.top) as f32
    }
}

fn glyph_ids(font: &FontRef<'static>, text: &str) -> Vec<GlyphId> {
    let mut ids = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if id.0 == 0 && !c.is_whitespace() {
            // Not precomposed in the font: draw the base letter and its combining marks.
            let parts: Vec<char> = std::iter::once(c).nfd().collect();
            if parts.len() > 1 {
                ids.extend(parts.into_iter().map(|p| font.glyph_id(p)));
                continue;
            }
        }
        ids.push(id);
    }
    ids
}

/// Advance width of `text` (already normalized) at `size`, without outlining: fast, for wrapping.
pub(crate) fn advance_width(text: &str, weight: Weight, size: f32) -> f32 {
    let font = face(weight);
    let scaled = font.as_scaled(PxScale::from(size));
    let mut x = 0.0;
    let mut previous: Option<GlyphId> = None;
    for id in glyph_ids(font, text) {
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    x
}

/// Shapes `text` (already normalized) and measures its box including ink overhangs.
pub(crate) fn shape(text: &str, weight: Weight, size: f32) -> ShapedLine {
    let font = face(weight);
    let scaled = font.as_scaled(PxScale::from(size));
    let mut line = ShapedLine {
        glyphs: Vec::new(),
        left: 0,
        right: 0,
        top: -scaled.ascent().ceil() as i32,
        bottom: -scaled.descent().floor() as i32,
    };
    let mut x = 0.0f32;
    let mut previous: Option<GlyphId> = None;
    for id in glyph_ids(font, text) {
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        let pen = x.floor();
        let quarter = ((x - pen) * 4.0).floor().clamp(0.0, 3.0) as u8;
        let mask = mask(weight, id, size, quarter);
        let pen = pen as i32;
        if !mask.runs.is_empty() {
            line.left = line.left.min(pen + mask.left);
            line.right = line.right.max(pen + mask.right);
            line.top = line.top.min(mask.top);
            line.bottom = line.bottom.max(mask.bottom);
        }
        line.glyphs.push((pen, mask));
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    line.right = line.right.max(x.ceil() as i32);
    line
}

/// Draws a shaped line with its box's top-left corner at (`x`, `y`), rounded to whole dots.
pub(crate) fn draw(bitmap: &mut Bitmap, line: &ShapedLine, x: f32, y: f32) {
    let dx = x.round() as i64 - i64::from(line.left);
    let dy = y.round() as i64 - i64::from(line.top);
    for (pen, mask) in &line.glyphs {
        for &(row, column, length) in &mask.runs {
            bitmap.fill_span(dx + i64::from(*pen + column), dy + i64::from(row), length);
        }
    }
}

/// One line of text (NFC-normalized, not wrapped) as a bitmap just large enough
/// to hold it; for previews of single strings and glyph tests.
pub fn render_text_line(text: &str, weight: Weight, size: f32) -> Bitmap {
    let text = normalize(text);
    let line = shape(&text, weight, size.max(1.0));
    let width = line.width().ceil().clamp(1.0, f32::from(u16::MAX)) as u16;
    let mut bitmap = Bitmap::new(width, line.height().ceil().max(1.0) as u32);
    draw(&mut bitmap, &line, 0.0, 0.0);
    bitmap
}
