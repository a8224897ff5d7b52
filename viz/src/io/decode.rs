//! Reading images as torchvision's default loader reads them (feature `decode`, off by default):
//! the `image` crate decodes JPEG (baseline and progressive), PNG (1- to 16-bit, palette,
//! gray+alpha, interlaced), WebP, BMP and PNM (PPM/PGM), and the pixels then become what PIL's
//! `Image.open(f).convert("RGB")` (or `convert("L")`) gives.
//!
//! Decoding lives here, behind an off-by-default feature, rather than in the command line
//! crate: a library user who wants torchvision's pixels from a photo gets the same loader the
//! `smoothgrad` command uses, and a library user who only writes pictures builds no codec.
//!
//! # PIL's pixels
//!
//! - Alpha is **dropped**, never composited over a background (PIL's `RGBA -> RGB`).
//! - Gray is expanded to `R = G = B` for [`ColorMode::Rgb`].
//! - 16-bit samples: PIL opens 16-bit RGB, RGBA and gray+alpha PNGs (and 16-bit PPMs) keeping
//!   each sample's **high byte** (`v >> 8`), but opens 16-bit gray as mode `I;16`, whose
//!   conversion to `L` or `RGB` **clips** (`min(v, 255)`): a 16-bit gray photo is mostly white
//!   through torchvision's loader, and so it is here.
//! - [`ColorMode::Luma`] is PIL's `convert("L")`, in PIL's integer arithmetic:
//!   `L = (19595 R + 38470 G + 7471 B + 2^15) >> 16` (ITU-R 601-2 weights, 0.299, 0.587, 0.114,
//!   in 16-bit fixed point).
//! - EXIF orientation is ignored (as `Image.open` ignores it) unless
//!   [`DecodeOptions::exif_orientation`] asks for it (`ImageOps.exif_transpose`).
//! - Only the first frame of an animated PNG or WebP is read, as PIL's `convert` does.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::read;
use crate::error::{decode_error, Result};
use crate::image::Image;

/// The most pixels (width x height) [`DecodeOptions::default`] lets a file announce: 2^27,
/// about 134 megapixels (a 16384x8192 panorama), 400 MiB of RGB bytes.
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 27;

/// The formats this build reads (the `image` crate's codecs enabled by the `decode` feature).
const FORMATS: [ImageFormat; 5] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Pnm,
];

/// The last 12 bytes of every complete PNG file: the empty `IEND` chunk and its CRC.
const PNG_END: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// Which channels the decoded pixels have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 3 channels, PIL's `convert("RGB")` (torchvision's default loader).
    Rgb,
    /// 1 channel, PIL's `convert("L")` (luminance of colour images).
    Luma,
    /// Gray files (with or without alpha) stay 1 channel, the others become RGB.
    Native,
}

/// How files are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The most pixels a file may announce; a larger one is refused before any pixel buffer is
    /// allocated (also passed to the `image` crate as its allocation limit).
    pub max_pixels: u64,
    /// Rotate and flip as the file's EXIF orientation tag says (default: ignore it, as
    /// torchvision's loader does).
    pub exif_orientation: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            exif_orientation: false,
        }
    }
}

/// Decoded 8-bit pixels, interleaved (HWC), row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// `height * width * channels` samples.
    pub data: Vec<u8>,
}

impl Pixels {
    /// The pixels as a CHW image in `[0, 1]` (each byte `b` becoming `b / 255`).
    ///
    /// # Errors
    /// A zero width or height, or data of the wrong length.
    pub fn to_image(&self) -> Result<Image> {
        Image::from_interleaved_u8(self.channels, self.height, self.width, &self.data)
    }

    /// 3 channels: gray expanded to `R = G = B`, RGB kept.
    pub fn into_rgb(self) -> Pixels {
        if self.channels == 3 {
            return self;
        }
        let data = self.data.iter().flat_map(|&v| [v, v, v]).collect();
        Pixels {
            channels: 3,
            data,
            ..self
        }
    }

    /// 1 channel: PIL's `convert("L")` of RGB, `(19595 R + 38470 G + 7471 B + 2^15) >> 16`;
    /// gray kept.
    pub fn into_luma(self) -> Pixels {
        if self.channels == 1 {
            return self;
        }
        let data = self.data.chunks_exact(3).map(luma).collect();
        Pixels {
            channels: 1,
            data,
            ..self
        }
    }
}

/// PIL's `L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`.
fn luma(rgb: &[u8]) -> u8 {
    let [r, g, b] = [rgb[0], rgb[1], rgb[2]].map(u32::from);
    // The weights sum to 65536, so the result is at most 255.
    ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
}

/// Decodes a JPEG, PNG, WebP, BMP or PNM file's bytes (recognized by their content) into PIL's
/// pixels in `mode`.
///
/// # Errors
/// An unrecognized or unsupported format, a file announcing more than
/// [`DecodeOptions::max_pixels`] pixels, a corrupt or truncated file (a PNG must end with its
/// `IEND` chunk, a JPEG's last scan with its end-of-image marker).
pub fn decode_pixels(bytes: &[u8], mode: ColorMode, options: &DecodeOptions) -> Result<Pixels> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_error("image", e.to_string()))?;
    let format = match reader.format() {
        Some(f) if FORMATS.contains(&f) => f,
        other => {
            let start = &bytes[..bytes.len().min(8)];
            let found = match other {
                Some(f) => format!("a {f:?} file"),
                None => format!("the bytes {start:?}"),
            };
            return Err(decode_error(
                "image",
                format!("expected a JPEG, PNG, WebP, BMP or PPM/PGM file, found {found}"),
            ));
        }
    };
    let name = format_name(format);
    let error = |e: image::ImageError| decode_error(name, e.to_string());
    if format == ImageFormat::Png && !bytes.ends_with(&PNG_END) {
        return Err(decode_error(
            name,
            "expected the file to end with its IEND chunk, found a truncated file",
        ));
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(decode_error(
            name,
            "expected an end-of-image marker after the last scan, found a truncated file",
        ));
    }
    let mut decoder = reader.into_decoder().map_err(error)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > options.max_pixels {
        return Err(decode_error(
            name,
            format!(
                "expected at most {} pixels, found a {width}x{height} image ({pixels} pixels)",
                options.max_pixels
            ),
        ));
    }
    let mut limits = Limits::default();
    // The largest buffer is the decoded image itself (at most 4 samples of 4 bytes), plus the
    // decoder's own working memory.
    limits.max_alloc = Some(
        options
            .max_pixels
            .saturating_mul(16)
            .saturating_add(1 << 26),
    );
    decoder.set_limits(limits).map_err(error)?;
    let orientation = decoder.orientation().map_err(error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(error)?;
    if options.exif_orientation {
        image.apply_orientation(orientation);
    }
    let pixels = pil_pixels(image);
    Ok(match mode {
        ColorMode::Rgb => pixels.into_rgb(),
        ColorMode::Luma => pixels.into_luma(),
        ColorMode::Native => pixels,
    })
}

/// Whether a JPEG's last scan (`FF DA`) is followed by its end-of-image marker (`FF D9`).
///
/// The decoder fills a truncated scan with gray; PIL (libjpeg) refuses it ("image file is
/// truncated"), and so does this check. Inside entropy-coded data `FF` is always followed by
/// `00` or a restart marker, so `FF D9` after the last `FF DA` is the image's own end (an EXIF
/// thumbnail's scan and end come before the main image's scans).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    last_scan.is_some_and(|at| bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// The name errors give a format.
fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        _ => "PPM",
    }
}

/// The 8-bit gray or RGB pixels PIL opens the file as, alpha dropped (see the module docs for
/// 16-bit samples).
fn pil_pixels(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (channels, data): (usize, Vec<u8>) = match image {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (1, b.into_raw().chunks_exact(2).map(|p| p[0]).collect()),
        // PIL's I;16 -> L clips.
        DynamicImage::ImageLuma16(b) => {
            (1, b.into_raw().iter().map(|&v| v.min(255) as u8).collect())
        }
        // PIL opens 16-bit gray+alpha as RGBA of the high bytes.
        DynamicImage::ImageLumaA16(b) => (
            1,
            b.into_raw().chunks_exact(2).map(|p| high(p[0])).collect(),
        ),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        DynamicImage::ImageRgba8(b) => (3, strip_alpha(&b.into_raw())),
        DynamicImage::ImageRgb16(b) => (3, b.into_raw().iter().map(|&v| high(v)).collect()),
        DynamicImage::ImageRgba16(b) => {
            let rgba: Vec<u8> = b.into_raw().iter().map(|&v| high(v)).collect();
            (3, strip_alpha(&rgba))
        }
        // Float images come from none of the enabled codecs; converted as `image` does.
        other => (3, other.to_rgb8().into_raw()),
    };
    Pixels {
        width,
        height,
        channels,
        data,
    }
}

/// The high byte of a 16-bit sample, as PIL's `;16B` unpackers keep it.
fn high(v: u16) -> u8 {
    (v >> 8) as u8
}

/// RGB of RGBA samples.
fn strip_alpha(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// Decodes a file's bytes with [`decode_pixels`] in [`ColorMode::Native`] (gray stays 1
/// channel) and the default options, into a CHW image in `[0, 1]`.
///
/// # Errors
/// As [`decode_pixels`].
pub fn decode(bytes: &[u8]) -> Result<Image> {
    decode_pixels(bytes, ColorMode::Native, &DecodeOptions::default())?.to_image()
}

/// Reads an image file and decodes it with [`decode`].
///
/// # Errors
/// An unreadable file, or as [`decode_pixels`].
pub fn load(path: impl AsRef<Path>) -> Result<Image> {
    decode(&read(path.as_ref())?)
}

/// Reads an image file and decodes it with [`decode_pixels`].
///
/// # Errors
/// An unreadable file, or as [`decode_pixels`].
pub fn load_pixels(
    path: impl AsRef<Path>,
    mode: ColorMode,
    options: &DecodeOptions,
) -> Result<Pixels> {
    decode_pixels(&read(path.as_ref())?, mode, options)
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
