//! PNG writing through the `png` crate (feature `png`, on by default): 8-bit grayscale or RGB.
//! Reading is [`super::decode()`]'s (feature `decode`), through the `image` crate.

use std::path::Path;

use ::png::{BitDepth, ColorType, Encoder};

use super::write_atomically;
use crate::error::{Result, VizError};
use crate::image::Image;

const FORMAT: &str = "PNG";

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

/// Encodes `image` with [`encode_png`] and writes it to `path` atomically (through a temporary
/// file in the same folder, renamed over `path`).
pub fn save_png(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    write_atomically(path.as_ref(), &encode_png(image)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_and_rgb_headers() {
        let gray = Image::from_interleaved_u8(1, 2, 2, &[0, 85, 170, 255]).unwrap();
        let bytes = encode_png(&gray).unwrap();
        assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n']));
        // IHDR: width 2, height 2, depth 8, colour type 0 (gray).
        assert_eq!(&bytes[16..26], &[0, 0, 0, 2, 0, 0, 0, 2, 8, 0]);
        let rgb = Image::from_interleaved_u8(3, 1, 2, &[1, 2, 3, 250, 251, 252]).unwrap();
        let bytes = encode_png(&rgb).unwrap();
        // Width 2, height 1, depth 8, colour type 2 (RGB).
        assert_eq!(&bytes[16..26], &[0, 0, 0, 2, 0, 0, 0, 1, 8, 2]);
    }
}
