//! Text drawn from the bundled DejaVu Sans fonts (regular and bold), which
//! cover every Vietnamese letter precomposed. Owns NFC normalization, glyph
//! shaping (advances and kerning), measuring and drawing one line of text
//! onto a [`Bitmap`]. Wrapping and placement on the ticket live in `layout`.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, Glyph, GlyphId, PxScale, ScaleFont};
use unicode_normalization::UnicodeNormalization;

use crate::Bitmap;

static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Which of the bundled faces to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A line of text shaped at a size: glyphs positioned on a baseline at y = 0,
/// and the box that holds both the font's line metrics and every glyph's ink.
pub(crate) struct ShapedLine {
    glyphs: Vec<Glyph>,
    weight: Weight,
    /// Leftmost extent (ink may start left of the pen origin).
    pub left: f32,
    /// Rightmost extent: the advance or the ink, whichever is further.
    pub right: f32,
    /// Top of the box, negative (above the baseline).
    pub top: f32,
    /// Bottom of the box, positive (below the baseline).
    pub bottom: f32,
}

impl ShapedLine {
    /// Width of the box in dots.
    pub fn width(&self) -> f32 {
        self.right - self.left
    }

    /// Height of the box in dots.
    pub fn height(&self) -> f32 {
        self.bottom - self.top
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
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let mut glyphs = Vec::new();
    let mut x = 0.0f32;
    let mut previous: Option<GlyphId> = None;
    for id in glyph_ids(font, text) {
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(x, 0.0)));
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    let mut line = ShapedLine {
        glyphs,
        weight,
        left: 0.0,
        right: x,
        top: -scaled.ascent(),
        bottom: -scaled.descent(),
    };
    for glyph in &line.glyphs {
        if let Some(outline) = font.outline_glyph(glyph.clone()) {
            let bounds = outline.px_bounds();
            line.left = line.left.min(bounds.min.x);
            line.right = line.right.max(bounds.max.x);
            line.top = line.top.min(bounds.min.y);
            line.bottom = line.bottom.max(bounds.max.y);
        }
    }
    line
}

/// Draws a shaped line with its box's top-left corner at (`x`, `y`).
/// A dot is black where the glyph covers at least half of it.
pub(crate) fn draw(bitmap: &mut Bitmap, line: &ShapedLine, x: f32, y: f32) {
    let font = face(line.weight);
    let dx = x - line.left;
    let dy = y - line.top;
    for glyph in &line.glyphs {
        let mut glyph = glyph.clone();
        glyph.position = point(glyph.position.x + dx, glyph.position.y + dy);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (ox, oy) = (bounds.min.x as i64, bounds.min.y as i64);
            outline.draw(|gx, gy, coverage| {
                if coverage >= 0.5 {
                    bitmap.set(ox + i64::from(gx), oy + i64::from(gy));
                }
            });
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
