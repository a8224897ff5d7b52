//! The crate's one error type, [`VizError`].
//!
//! Every message says what was expected and what was found, so that a bad shape or a corrupt file
//! can be fixed from the message alone.

use std::fmt;
use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, VizError>`.
pub type Result<T> = std::result::Result<T, VizError>;

/// Everything that can go wrong in this crate. No function panics on bad input; they return one of
/// these instead.
#[derive(Debug)]
pub enum VizError {
    /// The product of a shape's dimensions differs from the length of the data it describes.
    ShapeMismatch {
        /// The shape that was given.
        shape: Vec<usize>,
        /// The number of elements the shape describes (`None` if the product overflows `usize`).
        expected: Option<usize>,
        /// The length of the data.
        found: usize,
    },
    /// A shape of the wrong rank or with a zero dimension.
    InvalidShape {
        /// What the function accepts, e.g. "a shape [H, W], [C, H, W] or [N, C, H, W]".
        expected: &'static str,
        /// The shape that was given.
        found: Vec<usize>,
    },
    /// A parameter outside its domain, e.g. a percentile of 120.
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its domain, e.g. "a number in [0, 100]".
        expected: &'static str,
        /// The value that was given, formatted.
        found: String,
    },
    /// Two images (or an image and a map) whose sizes should agree but do not.
    SizeMismatch {
        /// What was being combined, e.g. "overlay".
        context: &'static str,
        /// The size that was required, as (channels, height, width).
        expected: (usize, usize, usize),
        /// The size that was given, as (channels, height, width).
        found: (usize, usize, usize),
    },
    /// A file's bytes are not a valid image of the format.
    Decode {
        /// The format, e.g. "PPM" or "PNG".
        format: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// An image could not be encoded.
    Encode {
        /// The format, e.g. "PNG".
        format: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file (or the temporary file next to it) that was being read or written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl fmt::Display for VizError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VizError::ShapeMismatch {
                shape,
                expected: Some(expected),
                found,
            } => write!(
                f,
                "shape {shape:?} has {expected} elements but the data has {found}"
            ),
            VizError::ShapeMismatch {
                shape,
                expected: None,
                found,
            } => write!(
                f,
                "shape {shape:?} has more elements than fit in memory but the data has {found}"
            ),
            VizError::InvalidShape { expected, found } => {
                write!(f, "expected {expected}, found shape {found:?}")
            }
            VizError::InvalidParameter {
                name,
                expected,
                found,
            } => write!(f, "`{name}`: expected {expected}, found {found}"),
            VizError::SizeMismatch {
                context,
                expected,
                found,
            } => write!(
                f,
                "{context}: expected size (channels, height, width) = {expected:?}, found {found:?}"
            ),
            VizError::Decode { format, message } => write!(f, "{format}: {message}"),
            VizError::Encode { format, message } => write!(f, "{format} encoding: {message}"),
            VizError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for VizError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VizError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Builds a [`VizError::Decode`] (used by the decoders to keep their checks short).
#[cfg(any(feature = "decode", test))]
pub(crate) fn decode_error(format: &'static str, message: impl Into<String>) -> VizError {
    VizError::Decode {
        format,
        message: message.into(),
    }
}

/// Returns an error unless the product of `shape` equals `len`.
pub(crate) fn check_len(shape: &[usize], len: usize) -> Result<()> {
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected == Some(len) {
        Ok(())
    } else {
        Err(VizError::ShapeMismatch {
            shape: shape.to_vec(),
            expected,
            found: len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_was_expected_and_found() {
        let e = VizError::ShapeMismatch {
            shape: vec![2, 3],
            expected: Some(6),
            found: 5,
        };
        assert_eq!(
            e.to_string(),
            "shape [2, 3] has 6 elements but the data has 5"
        );
        let e = decode_error("PPM", "expected magic P5 or P6, found \"P3\"");
        assert_eq!(e.to_string(), "PPM: expected magic P5 or P6, found \"P3\"");
        let e = VizError::InvalidParameter {
            name: "percentile",
            expected: "a number in [0, 100]",
            found: "120".into(),
        };
        assert_eq!(
            e.to_string(),
            "`percentile`: expected a number in [0, 100], found 120"
        );
    }

    #[test]
    fn io_errors_expose_their_source() {
        use std::error::Error;
        let e = VizError::Io {
            path: "a/b.png".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), "a/b.png: gone");
    }
}
