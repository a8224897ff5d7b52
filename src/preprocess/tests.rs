//! Decoding and preprocessing checked against PIL and torchvision: the committed pictures and
//! references of `tests/fixtures/images` (made by its `make_image_fixtures.py`).

use std::path::{Path, PathBuf};

use smoothgrad_autograd::io;
use smoothgrad_viz::{load_pixels, ColorMode, DecodeOptions, Pixels};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

/// Reference `key` (uint8) and its shape.
fn reference(key: &str) -> (Vec<u8>, Vec<usize>) {
    let file = io::read_file(fixture("references.safetensors")).unwrap();
    let (values, shape) = file.get_i64(key).unwrap();
    (values.iter().map(|&v| v as u8).collect(), shape)
}

fn pixels(name: &str, mode: ColorMode) -> Pixels {
    load_pixels(fixture(name), mode, &DecodeOptions::default()).unwrap()
}

/// `ToTensor` output, as bytes (`round(255 x)`), CHW.
fn preprocessed(p: &Preprocess, name: &str, mode: ColorMode) -> Vec<u8> {
    p.tensor(pixels(name, mode), Path::new(name))
        .unwrap()
        .0
        .iter()
        .map(|&x| (x * 255.0).round() as u8)
        .collect()
}

fn pipeline(resize: Resize, crop: Option<(usize, usize)>) -> Preprocess {
    Preprocess {
        resize: Some(resize),
        crop,
        range: PixelRange::Unit,
        normalize: None,
        layout: crate::cli::Layout::Nchw,
        exif_orientation: false,
    }
}

/// The largest and the mean absolute difference, in levels of 1/255.
fn differences(ours: &[u8], theirs: &[u8]) -> (u8, f64) {
    assert_eq!(ours.len(), theirs.len());
    let d: Vec<u8> = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let mean = d.iter().map(|&v| f64::from(v)).sum::<f64>() / d.len() as f64;
    (d.iter().copied().max().unwrap_or(0), mean)
}

const LOSSLESS: [&str; 8] = [
    "palette.png",
    "interlaced.png",
    "wide.png",
    "gray_alpha.png",
    "lossless.webp",
    "small.bmp",
    "small.ppm",
    "small.pgm",
];

#[test]
fn lossless_files_decode_to_pils_bytes() {
    for name in LOSSLESS {
        let (rgb, shape) = reference(&format!("{name}.rgb"));
        let ours = pixels(name, ColorMode::Rgb);
        assert_eq!([ours.height, ours.width, 3], shape[..], "{name}");
        assert_eq!(ours.data, rgb, "{name}: convert(\"RGB\")");
        let (l, _) = reference(&format!("{name}.l"));
        assert_eq!(
            pixels(name, ColorMode::Luma).data,
            l,
            "{name}: convert(\"L\")"
        );
    }
}

#[test]
fn lossless_pipelines_match_torchvision_exactly() {
    let t80 = pipeline(Resize::Shorter(80), Some((72, 72)));
    for name in LOSSLESS.iter().chain(&["alpha.png", "gray.png"]) {
        let (tv, shape) = reference(&format!("{name}.tv80"));
        assert_eq!(shape, [3, 72, 72]);
        assert_eq!(preprocessed(&t80, name, ColorMode::Rgb), tv, "{name}");
    }
    let (tv, _) = reference("alpha.png.l80");
    assert_eq!(preprocessed(&t80, "alpha.png", ColorMode::Luma), tv);
    let hw = pipeline(Resize::Exact(97, 131), None);
    let (tv, shape) = reference("alpha.png.hw");
    assert_eq!(shape, [3, 97, 131]);
    assert_eq!(preprocessed(&hw, "alpha.png", ColorMode::Rgb), tv);
    // Odd margins: torchvision rounds (H - h) / 2 half to even.
    let odd = pipeline(Resize::Shorter(73), Some((51, 38)));
    let (tv, shape) = reference("alpha.png.odd");
    assert_eq!(shape, [3, 51, 38]);
    assert_eq!(preprocessed(&odd, "alpha.png", ColorMode::Rgb), tv);
    // 256 / 224, the issue's pipeline.
    let t256 = pipeline(Resize::Shorter(256), Some((224, 224)));
    let (tv, _) = reference("alpha.png.tv256");
    assert_eq!(preprocessed(&t256, "alpha.png", ColorMode::Rgb), tv);
    let (tv, shape) = reference("gray.png.tv256");
    assert_eq!(shape, [1, 224, 224]);
    assert_eq!(
        preprocessed(&t256, "gray.png", ColorMode::Rgb),
        tv.repeat(3)
    );
}

#[test]
fn lossy_pipelines_are_within_the_issues_bounds_of_torchvision() {
    // JPEG and lossy WebP decoders differ from libjpeg-turbo's and libwebp's by rounding.
    let t256 = pipeline(Resize::Shorter(256), Some((224, 224)));
    let t80 = pipeline(Resize::Shorter(80), Some((72, 72)));
    let odd = pipeline(Resize::Shorter(73), Some((51, 38)));
    let cases = [
        (&t256, "photo.jpg", "tv256", ColorMode::Rgb),
        (&t80, "photo.jpg", "tv80", ColorMode::Rgb),
        (&t80, "photo.jpg", "l80", ColorMode::Luma),
        (&odd, "photo.jpg", "odd", ColorMode::Rgb),
        (&t80, "portrait.jpg", "tv80", ColorMode::Rgb),
        (&t80, "lossy.webp", "tv80", ColorMode::Rgb),
    ];
    for (p, name, key, mode) in cases {
        let (tv, _) = reference(&format!("{name}.{key}"));
        let (max, mean) = differences(&preprocessed(p, name, mode), &tv);
        eprintln!("{name} {key}: max {max}/255, mean {mean:.4}/255");
        assert!(
            max <= 4 && mean <= 1.0,
            "{name} {key}: max {max}, mean {mean}"
        );
    }
}

#[test]
fn exif_orientation_is_ignored_unless_asked_for() {
    let (plain, shape) = reference("rotated.jpg.rgb");
    let ours = pixels("rotated.jpg", ColorMode::Rgb);
    assert_eq!([ours.height, ours.width, 3], shape[..]);
    assert!(differences(&ours.data, &plain).0 <= 4);
    let (turned, shape) = reference("rotated.jpg.exif");
    let options = DecodeOptions {
        exif_orientation: true,
        ..DecodeOptions::default()
    };
    let ours = load_pixels(fixture("rotated.jpg"), ColorMode::Rgb, &options).unwrap();
    assert_eq!([ours.height, ours.width, 3], shape[..]);
    assert!(differences(&ours.data, &turned).0 <= 4);
}

#[test]
fn ranges_normalization_and_layouts() {
    let image = Pixels {
        width: 2,
        height: 1,
        channels: 3,
        data: vec![0, 51, 255, 102, 153, 204],
    };
    let mut p = pipeline(Resize::Exact(1, 2), None);
    p.normalize = Some(NormalizeSpec::Numbers("0.2,0.5".into()));
    let (chw, shape) = p.tensor(image.clone(), Path::new("x")).unwrap();
    assert_eq!(shape, [3, 1, 2]);
    let expected_chw: Vec<f32> = [0u8, 102, 51, 153, 255, 204]
        .iter()
        .map(|&v| (f32::from(v) / 255.0 - 0.2) / 0.5)
        .collect();
    assert_eq!(chw, expected_chw);
    p.layout = crate::cli::Layout::Nhwc;
    p.range = PixelRange::Bytes;
    p.normalize = None;
    let (hwc, shape) = p.tensor(image.clone(), Path::new("x")).unwrap();
    assert_eq!(shape, [1, 2, 3]);
    assert_eq!(hwc, [0.0, 51.0, 255.0, 102.0, 153.0, 204.0]);
    let mut crop = pipeline(Resize::Exact(1, 2), Some((2, 2)));
    crop.resize = None;
    let e = crop.tensor(image, Path::new("x.png")).unwrap_err();
    assert!(
        e.message.contains("larger than \"x.png\", which is 1x2"),
        "{}",
        e.message
    );
}
