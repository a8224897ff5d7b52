//! Binary PGM (`P5`, grayscale) and PPM (`P6`, RGB) with 8-bit samples, written and read with no
//! dependency.
//!
//! The format (netpbm): the magic `P5` or `P6`, then width, height and maxval as decimal numbers
//! separated by whitespace (with `#` comments running to the end of a line), then exactly one
//! whitespace byte, then `height * width * channels` bytes, row by row, channels interleaved.
//! Samples are read as `sample / maxval`; maxval must be in `1..=255` (one byte per sample).

use std::path::Path;

use super::{read, write_atomically};
use crate::error::{decode_error, Result};
use crate::image::{from_interleaved, Image};

const FORMAT: &str = "PPM";

/// Encodes `image` as binary PGM (`P5`) if it has 1 channel or PPM (`P6`) if it has 3, with
/// maxval 255: header `"P5\n{width} {height}\n255\n"` then the quantized bytes
/// ([`crate::to_u8`]).
pub fn encode_ppm(image: &Image) -> Vec<u8> {
    let magic = if image.channels() == 1 { "P5" } else { "P6" };
    let mut bytes = format!("{magic}\n{} {}\n255\n", image.width(), image.height()).into_bytes();
    bytes.extend(image.to_interleaved_u8());
    bytes
}

/// Decodes a binary PGM (`P5`) or PPM (`P6`) file into a CHW `f32` image in `[0, 1]`.
///
/// Errors (with what was expected and what was found) on another magic, a malformed header, a
/// zero size, a maxval outside `1..=255`, fewer pixel bytes than the header announces, or a sample
/// above maxval. Bytes after the pixel data are ignored (netpbm allows several images in a file).
pub fn decode_ppm(bytes: &[u8]) -> Result<Image> {
    let magic = bytes.get(..2).unwrap_or(bytes);
    let channels = match magic {
        b"P5" => 1,
        b"P6" => 3,
        _ => {
            return Err(decode_error(
                FORMAT,
                format!(
                    "expected magic P5 or P6, found {:?}",
                    String::from_utf8_lossy(magic)
                ),
            ))
        }
    };
    let mut header = Header { bytes, pos: 2 };
    let width = header.number("the width")?;
    let height = header.number("the height")?;
    let max_value = header.number("maxval")?;
    if width == 0 || height == 0 {
        return Err(decode_error(
            FORMAT,
            format!("expected a non-zero width and height, found {width}x{height}"),
        ));
    }
    let max_value = u8::try_from(max_value)
        .ok()
        .filter(|&m| m > 0)
        .ok_or_else(|| {
            decode_error(
                FORMAT,
                format!("expected maxval in 1..=255 (8-bit samples), found {max_value}"),
            )
        })?;
    header.single_whitespace()?;

    let data = &bytes[header.pos..];
    let needed = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .filter(|&n| n <= data.len())
        .ok_or_else(|| {
            decode_error(
                FORMAT,
                format!(
                    "expected {width}x{height}x{channels} bytes of pixel data, found {}",
                    data.len()
                ),
            )
        })?;
    let samples = &data[..needed];
    if let Some(&s) = samples.iter().find(|&&s| s > max_value) {
        return Err(decode_error(
            FORMAT,
            format!("expected samples no larger than maxval {max_value}, found {s}"),
        ));
    }
    from_interleaved(channels, height, width, samples, max_value)
}

/// Encodes `image` with [`encode_ppm`] and writes it to `path` atomically (through a temporary
/// file in the same folder, renamed over `path`).
pub fn save_ppm(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    write_atomically(path.as_ref(), &encode_ppm(image))
}

/// Reads `path` and decodes it with [`decode_ppm`].
pub fn load_ppm(path: impl AsRef<Path>) -> Result<Image> {
    decode_ppm(&read(path.as_ref())?)
}

/// A cursor over the header's bytes.
struct Header<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Header<'_> {
    /// Skips whitespace and `#` comments, then reads a decimal number.
    fn number(&mut self, what: &str) -> Result<usize> {
        self.skip_whitespace_and_comments();
        let start = self.pos;
        let mut value: usize = 0;
        while let Some(&b) = self.bytes.get(self.pos).filter(|b| b.is_ascii_digit()) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(usize::from(b - b'0')))
                .ok_or_else(|| {
                    decode_error(
                        FORMAT,
                        format!("expected {what} to fit in usize, found more digits"),
                    )
                })?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(decode_error(
                FORMAT,
                format!("expected {what} (a decimal number), found {}", self.found()),
            ));
        }
        Ok(value)
    }

    /// Skips whitespace, and comments from `#` to the end of the line.
    fn skip_whitespace_and_comments(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'#' {
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|&b| b != b'\n' && b != b'\r')
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Consumes the one whitespace byte between maxval and the pixel data.
    fn single_whitespace(&mut self) -> Result<()> {
        match self.bytes.get(self.pos) {
            Some(&b) if is_whitespace(b) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(decode_error(
                FORMAT,
                format!(
                    "expected one whitespace byte after maxval, found {}",
                    self.found()
                ),
            )),
        }
    }

    /// The byte at the cursor, described for an error message.
    fn found(&self) -> String {
        match self.bytes.get(self.pos) {
            Some(&b) => format!("{:?}", char::from(b)),
            None => "the end of the file".into(),
        }
    }
}

/// Netpbm's whitespace: space, tab, line feed, vertical tab, form feed, carriage return.
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
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

    #[test]
    fn decodes_comments_and_small_maxval() {
        let bytes = b"P5 # a comment\n# another\n2\t1\r\n4\n\x00\x02";
        let img = decode_ppm(bytes).unwrap();
        assert_eq!((img.channels(), img.height(), img.width()), (1, 1, 2));
        assert_eq!(img.data(), [0.0, 0.5]);
        // Trailing bytes are ignored.
        let img = decode_ppm(b"P6 1 1 255 \x01\x02\x03extra").unwrap();
        assert_eq!(img.to_interleaved_u8(), [1, 2, 3]);
    }

    #[test]
    fn errors_say_what_was_expected_and_found() {
        let msg = |b: &[u8]| decode_ppm(b).unwrap_err().to_string();
        assert_eq!(
            msg(b"P3\n1 1\n255\n0 0 0"),
            "PPM: expected magic P5 or P6, found \"P3\""
        );
        assert_eq!(msg(b""), "PPM: expected magic P5 or P6, found \"\"");
        assert_eq!(
            msg(b"P5\nx"),
            "PPM: expected the width (a decimal number), found 'x'"
        );
        assert_eq!(
            msg(b"P5 1 1"),
            "PPM: expected maxval (a decimal number), found the end of the file"
        );
        assert_eq!(
            msg(b"P5 1 1 65535\n\x00\x00"),
            "PPM: expected maxval in 1..=255 (8-bit samples), found 65535"
        );
        assert_eq!(
            msg(b"P5 0 1 255\n"),
            "PPM: expected a non-zero width and height, found 0x1"
        );
        assert_eq!(
            msg(b"P6 2 1 255\n\x00\x00\x00"),
            "PPM: expected 2x1x3 bytes of pixel data, found 3"
        );
        assert_eq!(
            msg(b"P5 1 1 9\n\x0a"),
            "PPM: expected samples no larger than maxval 9, found 10"
        );
        assert!(msg(b"P5 99999999999999999999999 1 255\n").contains("fit in usize"));
        assert!(msg(b"P5 1 1 255#\x00").contains("one whitespace byte after maxval"));
        // A huge announced size is rejected before any allocation.
        assert!(msg(b"P6 4000000000 4000000000 255\n\x00").contains("bytes of pixel data"));
    }
}
