//! PNG through the `png` crate (feature `png`, on by default): 8-bit grayscale or RGB out; any
//! PNG in.

use std::path::Path;

use ::png::{BitDepth, ColorType, Decoder, Encoder, Transformations};

use super::{read, write_atomically};
use crate::error::{decode_error, Result, VizError};
use crate::image::Image;

const FORMAT: &str = "PNG";

/// The most decoded bytes [`decode_png`] will allocate (1 GiB): a guard against a header that
/// announces a gigantic image.
pub const MAX_DECODED_BYTES: usize = 1 << 30;

/// Encodes `image` as an 8-bit PNG: grayscale if it has 1 channel, RGB if it has 3, with values
/// quantized by [`crate::to_u8`].
pub fn encode_png(image: &Image) -> Result<Vec<u8>> {
    let encode_error = |e: ::png::EncodingError| VizError::Encode {
        format: FORMAT,
        message: e.to_string(),
    };
    let too_large = || VizError::Encode {
        format: FORMAT,
        message: format!(
            "expected a width and height below 2^32, found {}x{}",
            image.width(),
            image.height()
        ),
    };
    let width = u32::try_from(image.width()).map_err(|_| too_large())?;
    let height = u32::try_from(image.height()).map_err(|_| too_large())?;
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, width, height);
    encoder.set_color(if image.channels() == 1 {
        ColorType::Grayscale
    } else {
        ColorType::Rgb
    });
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer
        .write_image_data(&image.to_interleaved_u8())
        .map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(bytes)
}

/// Decodes a PNG file into a CHW `f32` image in `[0, 1]`.
///
/// Every PNG colour type is accepted and converted to 8 bits per sample (`png`'s
/// `normalize_to_color8`: palettes expanded, 16-bit samples reduced to their high byte, 1-, 2- and
/// 4-bit gray scaled up). Grayscale stays 1 channel, colour becomes 3; **an alpha channel is
/// dropped**, not composited. Only the first frame of an animated PNG is read. Errors, never
/// panics, on corrupt or truncated data (the file is read up to its final `IEND` chunk, so a
/// file cut anywhere is an error).
pub fn decode_png(bytes: &[u8]) -> Result<Image> {
    let error = |e: ::png::DecodingError| decode_error(FORMAT, e.to_string());
    let mut decoder = Decoder::new(bytes);
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(error)?;
    let size = reader.output_buffer_size();
    if size > MAX_DECODED_BYTES {
        return Err(decode_error(
            FORMAT,
            format!("expected at most {MAX_DECODED_BYTES} decoded bytes, found a header announcing {size}"),
        ));
    }
    let mut buffer = vec![0u8; size];
    let info = reader.next_frame(&mut buffer).map_err(error)?;
    // Read on to the IEND chunk, so that a file cut anywhere is reported as truncated.
    reader.finish().map_err(error)?;
    if info.bit_depth != BitDepth::Eight {
        return Err(decode_error(
            FORMAT,
            format!(
                "expected 8-bit samples after conversion, found {:?}",
                info.bit_depth
            ),
        ));
    }
    let (stored, kept) = match info.color_type {
        ColorType::Grayscale => (1, 1),
        ColorType::GrayscaleAlpha => (2, 1),
        ColorType::Rgb => (3, 3),
        ColorType::Rgba => (4, 3),
        ColorType::Indexed => {
            return Err(decode_error(
                FORMAT,
                "expected the palette to be expanded to RGB, found indexed samples",
            ))
        }
    };
    let (width, height) = (info.width as usize, info.height as usize);
    let line = width * stored;
    let samples: Vec<u8> = buffer
        .chunks(info.line_size)
        .take(height)
        .flat_map(|row| row[..line.min(row.len())].chunks(stored))
        .flat_map(|pixel| pixel[..kept.min(pixel.len())].iter().copied())
        .collect();
    Image::from_interleaved_u8(kept, height, width, &samples)
}

/// Encodes `image` with [`encode_png`] and writes it to `path` atomically (through a temporary
/// file in the same folder, renamed over `path`).
pub fn save_png(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    write_atomically(path.as_ref(), &encode_png(image)?)
}

/// Reads `path` and decodes it with [`decode_png`].
pub fn load_png(path: impl AsRef<Path>) -> Result<Image> {
    decode_png(&read(path.as_ref())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes raw samples with the `png` crate directly, to test decoding other colour types.
    fn raw_png(
        (width, height): (u32, u32),
        color: ColorType,
        depth: BitDepth,
        palette: Option<&[u8]>,
        samples: &[u8],
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        if let Some(palette) = palette {
            encoder.set_palette(palette.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(samples).unwrap();
        writer.finish().unwrap();
        bytes
    }

    #[test]
    fn gray_and_rgb_round_trip() {
        let gray = Image::from_interleaved_u8(1, 2, 2, &[0, 85, 170, 255]).unwrap();
        let bytes = encode_png(&gray).unwrap();
        assert!(bytes.starts_with(&super::super::PNG_SIGNATURE));
        assert_eq!(decode_png(&bytes).unwrap(), gray);
        let rgb = Image::from_interleaved_u8(3, 1, 2, &[1, 2, 3, 250, 251, 252]).unwrap();
        assert_eq!(decode_png(&encode_png(&rgb).unwrap()).unwrap(), rgb);
    }

    #[test]
    fn alpha_is_dropped() {
        let samples = [10, 20, 30, 0, 40, 50, 60, 255];
        let rgba = raw_png((2, 1), ColorType::Rgba, BitDepth::Eight, None, &samples);
        let img = decode_png(&rgba).unwrap();
        assert_eq!(img.channels(), 3);
        assert_eq!(img.to_interleaved_u8(), [10, 20, 30, 40, 50, 60]);
        let samples = [7, 0, 9, 128];
        let gray_alpha = raw_png(
            (1, 2),
            ColorType::GrayscaleAlpha,
            BitDepth::Eight,
            None,
            &samples,
        );
        let img = decode_png(&gray_alpha).unwrap();
        assert_eq!(img.channels(), 1);
        assert_eq!(img.to_interleaved_u8(), [7, 9]);
    }

    #[test]
    fn palettes_16_bit_and_low_bit_depths_become_8_bit() {
        // Palette: index 0 = (255, 0, 0), index 1 = (0, 0, 255).
        let palette = [255, 0, 0, 0, 0, 255];
        let indexed = raw_png(
            (2, 1),
            ColorType::Indexed,
            BitDepth::Eight,
            Some(&palette),
            &[1, 0],
        );
        let img = decode_png(&indexed).unwrap();
        assert_eq!(img.to_interleaved_u8(), [0, 0, 255, 255, 0, 0]);
        // 16-bit gray, big-endian: 0x1234 -> high byte 0x12.
        let wide = raw_png(
            (1, 1),
            ColorType::Grayscale,
            BitDepth::Sixteen,
            None,
            &[0x12, 0x34],
        );
        assert_eq!(decode_png(&wide).unwrap().to_interleaved_u8(), [0x12]);
        // 1-bit gray, 3 pixels in one byte (0b101_00000): 1 -> 255, 0 -> 0.
        let bits = raw_png(
            (3, 1),
            ColorType::Grayscale,
            BitDepth::One,
            None,
            &[0b1010_0000],
        );
        assert_eq!(
            decode_png(&bits).unwrap().to_interleaved_u8(),
            [255, 0, 255]
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let e = decode_png(b"not a png").unwrap_err();
        assert!(e.to_string().starts_with("PNG: "), "{e}");
    }
}
