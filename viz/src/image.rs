//! [`Image`]: the crate's pixel buffer, CHW `f32` in `[0, 1]`, grayscale or RGB.
//!
//! CHW `f32` was chosen over HWC `u8` because it is the layout of the model inputs and of the
//! attribution maps, so images, maps and overlays combine without conversion and without rounding.
//! Bytes appear only at the file boundary: [`Image::to_interleaved_u8`] and
//! [`Image::from_interleaved_u8`].

use crate::error::{check_len, Result, VizError};

/// A grayscale (1 channel) or RGB (3 channels) image stored as CHW `f32`, nominally in `[0, 1]`.
///
/// The value of channel `c` at row `y`, column `x` is `data[(c * height + y) * width + x]`.
/// Values outside `[0, 1]` are kept as they are and clamped only when converted to bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    channels: usize,
    height: usize,
    width: usize,
    data: Vec<f32>,
}

impl Image {
    /// Wraps CHW `data`. Errors unless `channels` is 1 or 3, `height` and `width` are non-zero,
    /// and `data.len() == channels * height * width`.
    pub fn new(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Result<Self> {
        check_image_shape(channels, height, width)?;
        check_len(&[channels, height, width], data.len())?;
        Ok(Image {
            channels,
            height,
            width,
            data,
        })
    }

    /// An image filled with one colour (only `color[0]` is used when `channels == 1`).
    pub fn filled(channels: usize, height: usize, width: usize, color: [f32; 3]) -> Result<Self> {
        let size = check_image_shape(channels, height, width)? / channels;
        let data = (0..channels.min(3))
            .flat_map(|c| vec![color[c]; size])
            .collect();
        Image::new(channels, height, width, data)
    }

    /// The number of channels: 1 (grayscale) or 3 (RGB).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The CHW values.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The CHW values, by value.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The value of channel `c` at row `y`, column `x`, or `None` outside the image.
    pub fn get(&self, c: usize, y: usize, x: usize) -> Option<f32> {
        if c < self.channels && y < self.height && x < self.width {
            Some(self.data[(c * self.height + y) * self.width + x])
        } else {
            None
        }
    }

    /// The RGB colour at row `y`, column `x` (gray repeated three times for a grayscale image).
    /// Out-of-range coordinates are clamped to the nearest edge pixel.
    pub fn pixel(&self, y: usize, x: usize) -> [f32; 3] {
        let (y, x) = (y.min(self.height - 1), x.min(self.width - 1));
        let at = |c: usize| self.data[(c * self.height + y) * self.width + x];
        if self.channels == 1 {
            [at(0); 3]
        } else {
            [at(0), at(1), at(2)]
        }
    }

    /// Sets the pixel at row `y`, column `x` to `rgb` (the mean of the three for a grayscale
    /// image); does nothing outside the image.
    pub fn set_pixel(&mut self, y: usize, x: usize, rgb: [f32; 3]) {
        if y >= self.height || x >= self.width {
            return;
        }
        let plane = self.height * self.width;
        let p = y * self.width + x;
        if self.channels == 1 {
            self.data[p] = (rgb[0] + rgb[1] + rgb[2]) / 3.0;
        } else {
            for (c, v) in rgb.into_iter().enumerate() {
                self.data[c * plane + p] = v;
            }
        }
    }

    /// The same image with 3 channels (a grayscale image's channel is copied three times).
    pub fn to_rgb(&self) -> Image {
        if self.channels == 3 {
            return self.clone();
        }
        Image {
            channels: 3,
            height: self.height,
            width: self.width,
            data: self.data.repeat(3),
        }
    }

    /// Nearest-neighbour upscaling by an integer `factor` (each pixel becomes a `factor x factor`
    /// block), to show small inputs such as 28x28 digits at a readable size. Errors if
    /// `factor == 0` or the result would not fit in memory.
    pub fn upscale(&self, factor: usize) -> Result<Image> {
        let too_big = || VizError::InvalidParameter {
            name: "factor",
            expected: "a factor >= 1 whose result fits in memory",
            found: factor.to_string(),
        };
        if factor == 0 {
            return Err(too_big());
        }
        let (h, w) = (
            self.height.checked_mul(factor).ok_or_else(too_big)?,
            self.width.checked_mul(factor).ok_or_else(too_big)?,
        );
        check_image_shape(self.channels, h, w).map_err(|_| too_big())?;
        let mut data = Vec::with_capacity(self.channels * h * w);
        for c in 0..self.channels {
            for y in 0..h {
                let row = (c * self.height + y / factor) * self.width;
                data.extend((0..w).map(|x| self.data[row + x / factor]));
            }
        }
        Image::new(self.channels, h, w, data)
    }

    /// The pixels as interleaved bytes (HWC: `gray` or `r g b` per pixel), each value quantized by
    /// [`to_u8`].
    pub fn to_interleaved_u8(&self) -> Vec<u8> {
        let plane = self.height * self.width;
        (0..plane)
            .flat_map(|p| (0..self.channels).map(move |c| c * plane + p))
            .map(|i| to_u8(self.data[i]))
            .collect()
    }

    /// Builds an image from interleaved bytes (HWC), each byte `b` becoming `b / 255`.
    /// Errors on a bad shape or `bytes.len() != channels * height * width`.
    pub fn from_interleaved_u8(
        channels: usize,
        height: usize,
        width: usize,
        bytes: &[u8],
    ) -> Result<Image> {
        from_interleaved(channels, height, width, bytes, 255)
    }
}

/// Builds an image from interleaved samples in `0..=max_value`, each becoming
/// `sample / max_value` (shared by the PPM decoder, whose maxval may be below 255).
pub(crate) fn from_interleaved(
    channels: usize,
    height: usize,
    width: usize,
    samples: &[u8],
    max_value: u8,
) -> Result<Image> {
    check_image_shape(channels, height, width)?;
    check_len(&[height, width, channels], samples.len())?;
    let plane = height * width;
    let scale = f32::from(max_value);
    let data = (0..channels)
        .flat_map(|c| (0..plane).map(move |p| p * channels + c))
        .map(|i| f32::from(samples[i]) / scale)
        .collect();
    Image::new(channels, height, width, data)
}

/// Checks that `[channels, height, width]` is a valid image shape (C = 1 or 3, H, W > 0, and at
/// most `isize::MAX` bytes of `f32`) and returns its number of values.
pub(crate) fn check_image_shape(channels: usize, height: usize, width: usize) -> Result<usize> {
    let len = [channels, height, width]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&len| len <= isize::MAX as usize / std::mem::size_of::<f32>());
    match len {
        Some(len) if (channels == 1 || channels == 3) && height > 0 && width > 0 => Ok(len),
        _ => Err(VizError::InvalidShape {
            expected: "an image shape [C, H, W] with C = 1 or 3, H, W > 0, that fits in memory",
            found: vec![channels, height, width],
        }),
    }
}

/// Quantizes a value in `[0, 1]` to a byte: `round(clamp(v, 0, 1) * 255)`; NaN gives 0.
///
/// The inverse of `b / 255`: `to_u8(b as f32 / 255.0) == b` for every byte `b`.
pub fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructor_checks_the_shape() {
        assert!(Image::new(1, 2, 2, vec![0.0; 4]).is_ok());
        assert!(Image::new(2, 2, 2, vec![0.0; 8]).is_err());
        assert!(Image::new(3, 0, 2, vec![]).is_err());
        let e = Image::new(3, 2, 2, vec![0.0; 11]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape [3, 2, 2] has 12 elements but the data has 11"
        );
        assert!(Image::filled(3, usize::MAX, 2, [0.0; 3]).is_err());
    }

    #[test]
    fn quantization_inverts_division_by_255() {
        for b in 0..=255u8 {
            assert_eq!(to_u8(f32::from(b) / 255.0), b);
        }
        assert_eq!(to_u8(-0.5), 0);
        assert_eq!(to_u8(1.5), 255);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(to_u8(0.5), 128); // 127.5 rounds half away from zero
    }

    #[test]
    fn interleaved_bytes_round_trip_through_chw() {
        // 1x2 RGB: (10, 20, 30), (40, 50, 60)
        let bytes = [10u8, 20, 30, 40, 50, 60];
        let img = Image::from_interleaved_u8(3, 1, 2, &bytes).unwrap();
        assert_eq!(img.get(1, 0, 0), Some(20.0 / 255.0));
        assert_eq!(img.get(0, 0, 1), Some(40.0 / 255.0));
        assert_eq!(img.get(3, 0, 0), None);
        assert_eq!(img.to_interleaved_u8(), bytes);
        assert!(Image::from_interleaved_u8(3, 1, 2, &bytes[..5]).is_err());
    }

    #[test]
    fn pixels_rgb_conversion_and_filled() {
        let mut img = Image::filled(1, 2, 3, [0.25, 0.0, 0.0]).unwrap();
        assert_eq!(img.pixel(1, 2), [0.25; 3]);
        img.set_pixel(0, 1, [0.0, 0.5, 1.0]);
        assert_eq!(img.get(0, 0, 1), Some(0.5));
        img.set_pixel(5, 5, [1.0; 3]); // outside: ignored
        let rgb = img.to_rgb();
        assert_eq!(rgb.channels(), 3);
        assert_eq!(rgb.pixel(0, 1), [0.5; 3]);
        let mut rgb = Image::filled(3, 1, 1, [0.1, 0.2, 0.3]).unwrap();
        assert_eq!(rgb.pixel(9, 9), [0.1, 0.2, 0.3]); // clamped to the edge
        rgb.set_pixel(0, 0, [0.7, 0.8, 0.9]);
        assert_eq!(rgb.data(), [0.7, 0.8, 0.9]);
    }

    #[test]
    fn upscale_repeats_pixels_in_blocks() {
        let img = Image::new(1, 1, 2, vec![0.0, 1.0]).unwrap();
        let big = img.upscale(2).unwrap();
        assert_eq!((big.height(), big.width()), (2, 4));
        assert_eq!(big.data(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
        assert!(img.upscale(0).is_err());
        assert!(img.upscale(usize::MAX).is_err());
        assert_eq!(img.upscale(1).unwrap(), img);
    }
}
