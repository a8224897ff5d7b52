//! Binary PGM (`P5`, grayscale) and PPM (`P6`, RGB) writing with 8-bit samples and no
//! dependency: the header `"P5\n{width} {height}\n255\n"` then the bytes, row by row, channels
//! interleaved. Reading is [`super::decode()`]'s (feature `decode`, through the `image` crate).
//!
//! This writer stays our own: the format is a one-line header followed by the bytes, and writing
//! it through the `image` crate would make the dependency-free PPM output need the codecs.

use std::path::Path;

use super::write_atomically;
use crate::error::Result;
use crate::image::Image;

/// Encodes `image` as binary PGM (`P5`) if it has 1 channel or PPM (`P6`) if it has 3, with
/// maxval 255: header `"P5\n{width} {height}\n255\n"` then the quantized bytes
/// ([`crate::to_u8`]).
pub fn encode_ppm(image: &Image) -> Vec<u8> {
    let magic = if image.channels() == 1 { "P5" } else { "P6" };
    let mut bytes = format!("{magic}\n{} {}\n255\n", image.width(), image.height()).into_bytes();
    bytes.extend(image.to_interleaved_u8());
    bytes
}

/// Encodes `image` with [`encode_ppm`] and writes it to `path` atomically (through a temporary
/// file in the same folder, renamed over `path`).
pub fn save_ppm(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    write_atomically(path.as_ref(), &encode_ppm(image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_documented_header() {
        let gray = Image::new(1, 2, 3, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).unwrap();
        assert_eq!(
            encode_ppm(&gray),
            b"P5\n3 2\n255\n\x00\x33\x66\x99\xcc\xff".to_vec()
        );
        let rgb = Image::new(3, 1, 1, vec![1.0, 0.0, 0.2]).unwrap();
        assert_eq!(encode_ppm(&rgb), b"P6\n1 1\n255\n\xff\x00\x33".to_vec());
    }
}
