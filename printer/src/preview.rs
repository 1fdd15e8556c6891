//! PNG images of a bitmap: the technician's preview of exactly the raster that
//! is sent, and reading PNGs back (golden tests, the emulator's receipts).

use std::io::{Read, Write};

use crate::Bitmap;

/// Why a PNG could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// Encoding or writing the image failed.
    #[error("cannot write PNG: {0}")]
    Encode(#[from] png::EncodingError),
    /// Reading or decoding the image failed.
    #[error("cannot read PNG: {0}")]
    Decode(#[from] png::DecodingError),
    /// The image is wider than a ticket bitmap can be.
    #[error("PNG is {width} pixels wide, more than {max}")]
    TooWide {
        /// Its width.
        width: u32,
        /// The largest width accepted.
        max: u16,
    },
}

/// Writes `bitmap` as a 1-bit grayscale PNG (black dots black, paper white).
pub fn write_png(bitmap: &Bitmap, out: impl Write) -> Result<(), PngError> {
    let mut encoder = png::Encoder::new(out, u32::from(bitmap.width()), bitmap.height());
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    // In a 1-bit grayscale PNG, 1 is white: the opposite of the printer's black = 1.
    let inverted: Vec<u8> = bitmap.data().iter().map(|b| !b).collect();
    writer.write_image_data(&inverted)?;
    writer.finish()?;
    Ok(())
}

/// Reads any PNG as a bitmap: a pixel is black when its luminance is below
/// half (transparent pixels are paper).
pub fn read_png(input: impl Read) -> Result<Bitmap, PngError> {
    let mut decoder = png::Decoder::new(input);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info()?;
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer)?;
    let width = u16::try_from(info.width).map_err(|_| PngError::TooWide {
        width: info.width,
        max: u16::MAX,
    })?;
    let channels = info.color_type.samples();
    let mut bitmap = Bitmap::new(width, info.height);
    for y in 0..info.height {
        let row = &buffer[y as usize * info.line_size..][..info.line_size];
        for x in 0..info.width {
            let px = &row[x as usize * channels..][..channels];
            let (luma, alpha) = match info.color_type {
                png::ColorType::Grayscale | png::ColorType::Indexed => (u32::from(px[0]), 255),
                png::ColorType::GrayscaleAlpha => (u32::from(px[0]), px[1]),
                png::ColorType::Rgb => (
                    (u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114)
                        / 1000,
                    255,
                ),
                png::ColorType::Rgba => (
                    (u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114)
                        / 1000,
                    px[3],
                ),
            };
            if alpha >= 128 && luma < 128 {
                bitmap.set(i64::from(x), i64::from(y));
            }
        }
    }
    Ok(bitmap)
}
