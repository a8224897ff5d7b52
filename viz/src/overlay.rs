//! Combining a heat map with the input image: an alpha-blended overlay, and the masked image
//! (the input scaled by the map, so only the pixels the model relied on stay visible).

use crate::error::{check_len, Result, VizError};
use crate::image::Image;

/// Blends a coloured heat map over an image: `out = (1 - alpha) * image + alpha * heat`, per
/// channel.
///
/// `image` and `heat` must have the same height and width; either may be grayscale or RGB, and
/// the result is RGB unless both are grayscale. `alpha` must be in `[0, 1]` (0 shows only the
/// image, 1 only the heat map; Xplique and Captum use about 0.5).
pub fn overlay(image: &Image, heat: &Image, alpha: f32) -> Result<Image> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(VizError::InvalidParameter {
            name: "alpha",
            expected: "a number in [0, 1]",
            found: alpha.to_string(),
        });
    }
    if (image.height(), image.width()) != (heat.height(), heat.width()) {
        return Err(VizError::SizeMismatch {
            context: "overlay: the heat map must be the image's size",
            expected: (heat.channels(), image.height(), image.width()),
            found: (heat.channels(), heat.height(), heat.width()),
        });
    }
    let (image, heat) = if image.channels() == heat.channels() {
        (image.clone(), heat.clone())
    } else {
        (image.to_rgb(), heat.to_rgb())
    };
    let data = image
        .data()
        .iter()
        .zip(heat.data())
        .map(|(&i, &h)| (1.0 - alpha) * i + alpha * h)
        .collect();
    Image::new(image.channels(), image.height(), image.width(), data)
}

/// The masked image: every channel of `image` multiplied by the map,
/// `out_c(y, x) = image_c(y, x) * clamp(mask(y, x), 0, 1)` (NaN counts as 0).
///
/// `mask` holds `height * width` values in row-major order, typically a normalized heat map in
/// `[0, 1]` ([`crate::Heatmaps::map`]).
pub fn masked_image(image: &Image, mask: &[f32]) -> Result<Image> {
    check_len(&[image.height(), image.width()], mask.len())?;
    let weights: Vec<f32> = mask
        .iter()
        .map(|&m| if m.is_nan() { 0.0 } else { m.clamp(0.0, 1.0) })
        .collect();
    let data = image
        .data()
        .chunks_exact(mask.len())
        .flat_map(|plane| plane.iter().zip(&weights).map(|(&v, &w)| v * w))
        .collect();
    Image::new(image.channels(), image.height(), image.width(), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_blends_by_hand() {
        let gray = Image::new(1, 1, 2, vec![0.0, 1.0]).unwrap();
        let red = Image::filled(3, 1, 2, [1.0, 0.0, 0.0]).unwrap();
        let out = overlay(&gray, &red, 0.25).unwrap();
        assert_eq!(out.channels(), 3);
        assert_eq!(out.pixel(0, 0), [0.25, 0.0, 0.0]);
        assert_eq!(out.pixel(0, 1), [1.0, 0.75, 0.75]);
        // alpha 0 and 1 give back each input.
        assert_eq!(overlay(&gray, &red, 0.0).unwrap(), gray.to_rgb());
        assert_eq!(overlay(&gray, &red, 1.0).unwrap(), red);
        // Two grayscale inputs stay grayscale.
        assert_eq!(overlay(&gray, &gray, 0.5).unwrap().channels(), 1);
    }

    #[test]
    fn overlay_rejects_bad_alpha_and_sizes() {
        let a = Image::filled(3, 2, 2, [0.0; 3]).unwrap();
        let b = Image::filled(3, 2, 3, [0.0; 3]).unwrap();
        assert!(overlay(&a, &a, 1.5).is_err());
        assert!(overlay(&a, &a, f32::NAN).is_err());
        let e = overlay(&a, &b, 0.5).unwrap_err();
        assert!(e.to_string().contains("(3, 2, 2), found (3, 2, 3)"), "{e}");
    }

    #[test]
    fn masked_image_scales_each_channel() {
        let img = Image::new(3, 1, 2, vec![0.5, 1.0, 0.2, 0.4, 0.8, 0.6]).unwrap();
        let out = masked_image(&img, &[0.5, 2.0]).unwrap();
        assert_eq!(out.data(), [0.25, 1.0, 0.1, 0.4, 0.4, 0.6]);
        let out = masked_image(&img, &[f32::NAN, -1.0]).unwrap();
        assert_eq!(out.data(), [0.0; 6]);
        assert!(masked_image(&img, &[1.0]).is_err());
    }
}
