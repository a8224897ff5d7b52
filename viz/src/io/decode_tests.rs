//! Tests of [`super`]: every colour type becomes PIL's pixels (expected values from Pillow 13's
//! `Image.open(f).convert("RGB")` / `convert("L")` on the same files), and bad files are errors.

use super::*;
use image::codecs::{bmp::BmpEncoder, jpeg::JpegEncoder, png::PngEncoder, pnm::PnmEncoder};
use image::{ExtendedColorType, ImageEncoder};

/// `samples` (big-endian bytes for 16-bit types, as the encoders take them) encoded by `encode`.
fn encoded(
    encode: impl FnOnce(&mut Vec<u8>, &[u8], ExtendedColorType),
    samples: &[u8],
    color: ExtendedColorType,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(&mut bytes, samples, color);
    bytes
}

/// A PNG of `width x 1` pixels.
fn png(width: u32, samples: &[u8], color: ExtendedColorType) -> Vec<u8> {
    encoded(
        |out, s, c| PngEncoder::new(out).write_image(s, width, 1, c).unwrap(),
        samples,
        color,
    )
}

/// 16-bit samples as the encoders take them (native-endian `u16`s in bytes).
fn wide(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn rgb(bytes: &[u8]) -> Vec<u8> {
    decode_pixels(bytes, ColorMode::Rgb, &DecodeOptions::default())
        .unwrap()
        .data
}

fn luma(bytes: &[u8]) -> Vec<u8> {
    decode_pixels(bytes, ColorMode::Luma, &DecodeOptions::default())
        .unwrap()
        .data
}

#[test]
fn alpha_is_dropped_and_gray_expanded() {
    let rgba = png(
        2,
        &[10, 20, 30, 0, 40, 50, 60, 255],
        ExtendedColorType::Rgba8,
    );
    assert_eq!(rgb(&rgba), [10, 20, 30, 40, 50, 60]);
    let gray_alpha = png(2, &[7, 0, 9, 128], ExtendedColorType::La8);
    assert_eq!(rgb(&gray_alpha), [7, 7, 7, 9, 9, 9]);
    assert_eq!(luma(&gray_alpha), [7, 9]);
    let native = decode(&gray_alpha).unwrap();
    assert_eq!(native.channels(), 1);
    assert_eq!(native.to_interleaved_u8(), [7, 9]);
}

#[test]
fn luminance_is_pils_integer_formula() {
    // Pillow: [[10, 200, 30], [255, 255, 255], [1, 2, 3]] -> L [124, 255, 2].
    let bytes = png(
        3,
        &[10, 200, 30, 255, 255, 255, 1, 2, 3],
        ExtendedColorType::Rgb8,
    );
    assert_eq!(luma(&bytes), [124, 255, 2]);
    assert_eq!(decode(&bytes).unwrap().channels(), 3);
}

#[test]
fn sixteen_bit_samples_are_read_as_pil_reads_them() {
    // RGB and RGBA: the high byte (Pillow: [[18, 128, 255], [0, 1, 255]]; L [110, 30]).
    let samples = wide(&[0x1234, 0x80ff, 0xff00, 0x00ff, 0x0100, 0xffff]);
    let bytes = png(2, &samples, ExtendedColorType::Rgb16);
    assert_eq!(rgb(&bytes), [18, 128, 255, 0, 1, 255]);
    assert_eq!(luma(&bytes), [110, 30]);
    let samples = wide(&[0x1234, 0x80ff, 0xff00, 5, 0x00ff, 0x0100, 0xffff, 6]);
    let bytes = png(2, &samples, ExtendedColorType::Rgba16);
    assert_eq!(rgb(&bytes), [18, 128, 255, 0, 1, 255]);
    // Gray + alpha: the high byte too (Pillow opens it as RGBA: [[18]*3, [255]*3]).
    let bytes = png(
        2,
        &wide(&[0x1234, 0x8000, 0xff80, 0xffff]),
        ExtendedColorType::La16,
    );
    assert_eq!(rgb(&bytes), [18, 18, 18, 255, 255, 255]);
    // Gray alone is Pillow's I;16, whose conversion clips: 0, 255, 256, 1000 -> 0, 255, 255, 255.
    let bytes = png(4, &wide(&[0, 255, 256, 1000]), ExtendedColorType::L16);
    assert_eq!(luma(&bytes), [0, 255, 255, 255]);
    assert_eq!(rgb(&bytes)[3..6], [255, 255, 255]);
}

#[test]
fn every_format_decodes() {
    let samples: Vec<u8> = (0..4 * 4 * 3).map(|i| (i * 5) as u8).collect();
    let bmp = encoded(
        |o, s, c| BmpEncoder::new(o).write_image(s, 4, 4, c).unwrap(),
        &samples,
        ExtendedColorType::Rgb8,
    );
    assert_eq!(rgb(&bmp), samples);
    let ppm = encoded(
        |o, s, c| PnmEncoder::new(o).write_image(s, 4, 4, c).unwrap(),
        &samples,
        ExtendedColorType::Rgb8,
    );
    assert_eq!(rgb(&ppm), samples);
    assert_eq!(
        rgb(&super::super::ppm::encode_ppm(&decode(&ppm).unwrap())),
        samples
    );
    let webp = encoded(
        |o, s, c| {
            image::codecs::webp::WebPEncoder::new_lossless(o)
                .write_image(s, 4, 4, c)
                .unwrap()
        },
        &samples,
        ExtendedColorType::Rgb8,
    );
    assert_eq!(rgb(&webp), samples);
    // JPEG is lossy: a flat colour survives within a few levels.
    let flat: Vec<u8> = [200u8, 100, 50].repeat(64);
    let jpeg = encoded(
        |o, s, c| {
            JpegEncoder::new_with_quality(o, 95)
                .write_image(s, 8, 8, c)
                .unwrap()
        },
        &flat,
        ExtendedColorType::Rgb8,
    );
    let back = rgb(&jpeg);
    assert_eq!(back.len(), flat.len());
    let worst = back.iter().zip(&flat).map(|(a, b)| a.abs_diff(*b)).max();
    assert!(worst <= Some(3), "{worst:?}");
}

#[cfg(feature = "png")]
#[test]
fn palettes_and_low_bit_depths_become_8_bit() {
    let raw = |color, depth, palette: Option<&[u8]>, width, samples: &[u8]| {
        let mut bytes = Vec::new();
        let mut encoder = ::png::Encoder::new(&mut bytes, width, 1);
        encoder.set_color(color);
        encoder.set_depth(depth);
        if let Some(p) = palette {
            encoder.set_palette(p.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(samples).unwrap();
        writer.finish().unwrap();
        bytes
    };
    let palette = [255, 0, 0, 0, 0, 255];
    let indexed = raw(
        ::png::ColorType::Indexed,
        ::png::BitDepth::Eight,
        Some(&palette),
        2,
        &[1, 0],
    );
    assert_eq!(rgb(&indexed), [0, 0, 255, 255, 0, 0]);
    // 1-bit gray: 1 -> 255.
    let bits = raw(
        ::png::ColorType::Grayscale,
        ::png::BitDepth::One,
        None,
        3,
        &[0b1010_0000],
    );
    assert_eq!(luma(&bits), [255, 0, 255]);
}

#[test]
fn truncated_and_unknown_files_are_errors() {
    let bytes = png(3, &[1, 2, 3, 4, 5, 6, 7, 8, 9], ExtendedColorType::Rgb8);
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len]).is_err(), "cut to {len}");
    }
    let e = decode(&bytes[..bytes.len() - 1]).unwrap_err().to_string();
    assert!(
        e.starts_with("PNG: expected the file to end with its IEND chunk"),
        "{e}"
    );
    let e = decode(b"\xff\xd8\xff\xe0 not really a jpeg")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("JPEG: "), "{e}");
    // A JPEG cut anywhere in its scan is refused (the decoder alone would fill it with gray).
    let samples: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7) as u8).collect();
    let jpeg = encoded(
        |o, s, c| JpegEncoder::new(o).write_image(s, 16, 16, c).unwrap(),
        &samples,
        ExtendedColorType::Rgb8,
    );
    assert!(decode(&jpeg).is_ok());
    let scan = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    for len in (scan..jpeg.len()).step_by(7) {
        let e = decode(&jpeg[..len]).unwrap_err().to_string();
        assert!(e.starts_with("JPEG: "), "{e}");
    }
}

#[test]
fn a_huge_announced_size_is_refused_before_decoding() {
    let bytes = png(3, &[0; 9], ExtendedColorType::Rgb8);
    let small = DecodeOptions {
        max_pixels: 2,
        ..DecodeOptions::default()
    };
    let e = decode_pixels(&bytes, ColorMode::Rgb, &small).unwrap_err();
    assert_eq!(
        e.to_string(),
        "PNG: expected at most 2 pixels, found a 3x1 image (3 pixels)"
    );
    // A PPM header announcing 4e9 x 4e9 pixels: refused from the header alone.
    let e = decode(b"P6 4000000000 4000000000 255\n\x00").unwrap_err();
    assert!(e.to_string().starts_with("PPM: "), "{e}");
}
