//! The 1-bit image every ticket becomes: rows of bytes, most significant bit
//! leftmost, a set bit is a black dot. This is exactly the layout `GS v 0`
//! sends, so encoding is a copy. Drawing text and images onto it lives in
//! `font` and `layout`, not here.

/// A 1-bit image, black = 1, rows padded to whole bytes (padding bits are 0).
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u16,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitmap")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("black_dots", &self.count_black())
            .finish()
    }
}

impl Bitmap {
    /// An all-white image.
    pub fn new(width: u16, height: u32) -> Self {
        let row_bytes = usize::from(width).div_ceil(8);
        Bitmap {
            width,
            height,
            data: vec![0; row_bytes * height as usize],
        }
    }

    /// Wraps raw rows; `None` when `data` is not `row_bytes * height` long.
    /// Padding bits beyond `width` are cleared.
    pub fn from_rows(width: u16, height: u32, data: Vec<u8>) -> Option<Self> {
        let row_bytes = usize::from(width).div_ceil(8);
        if data.len() != row_bytes * height as usize {
            return None;
        }
        let mut bitmap = Bitmap {
            width,
            height,
            data,
        };
        bitmap.clear_padding();
        Some(bitmap)
    }

    /// Width in dots.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height in dots (rows).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row: `ceil(width / 8)`.
    pub fn row_bytes(&self) -> usize {
        usize::from(self.width).div_ceil(8)
    }

    /// All rows, top to bottom.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// One row's bytes.
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.row_bytes();
        &self.data[start..start + self.row_bytes()]
    }

    /// Whether the dot at (x, y) is black; outside the image is white.
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= u32::from(self.width) || y >= self.height {
            return false;
        }
        let index = y as usize * self.row_bytes() + (x / 8) as usize;
        self.data[index] & (0x80 >> (x % 8)) != 0
    }

    /// Makes the dot at (x, y) black; outside the image is ignored (clipped).
    pub fn set(&mut self, x: i64, y: i64) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let index = y as usize * self.row_bytes() + (x / 8) as usize;
        self.data[index] |= 0x80 >> (x % 8);
    }

    /// Makes `length` dots black from (x, y) rightwards, clipped to the image.
    pub fn fill_span(&mut self, x: i64, y: i64, length: u32) {
        if y < 0 || y >= i64::from(self.height) {
            return;
        }
        let start = x.max(0);
        let end = (x + i64::from(length)).min(i64::from(self.width));
        let row = y as usize * self.row_bytes();
        let mut column = start;
        while column < end {
            let bit = column % 8;
            if bit == 0 && end - column >= 8 {
                self.data[row + (column / 8) as usize] = 0xFF;
                column += 8;
            } else {
                self.data[row + (column / 8) as usize] |= 0x80 >> bit;
                column += 1;
            }
        }
    }

    /// Fills a rectangle with black, clipped to the image.
    pub fn fill_rect(&mut self, x: i64, y: i64, width: u32, height: u32) {
        for row in y..y + i64::from(height) {
            self.fill_span(x, row, width);
        }
    }

    /// Number of black dots.
    pub fn count_black(&self) -> u64 {
        self.data.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// Grows the image downwards with white rows so it is at least `height` tall.
    pub(crate) fn ensure_height(&mut self, height: u32) {
        if height > self.height {
            self.height = height;
            self.data.resize(self.row_bytes() * height as usize, 0);
        }
    }

    /// A horizontal band of rows `[top, top + height)`, clamped to the image.
    pub fn band(&self, top: u32, height: u32) -> &[u8] {
        let top = top.min(self.height);
        let bottom = top.saturating_add(height).min(self.height);
        &self.data[top as usize * self.row_bytes()..bottom as usize * self.row_bytes()]
    }

    /// The leftmost and rightmost black columns, or `None` for a white image.
    pub fn ink_columns(&self) -> Option<(u32, u32)> {
        let mut range: Option<(u32, u32)> = None;
        for y in 0..self.height {
            for x in 0..u32::from(self.width) {
                if self.get(x, y) {
                    let (lo, hi) = range.unwrap_or((x, x));
                    range = Some((lo.min(x), hi.max(x)));
                }
            }
        }
        range
    }

    fn clear_padding(&mut self) {
        let used = usize::from(self.width) % 8;
        if used == 0 || self.height == 0 {
            return;
        }
        let mask = 0xFFu8 << (8 - used);
        let row_bytes = self.row_bytes();
        for row in self.data.chunks_mut(row_bytes) {
            if let Some(last) = row.last_mut() {
                *last &= mask;
            }
        }
    }
}
