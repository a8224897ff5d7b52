//! Preprocessing with torchvision's semantics: decoded pixels (PIL's `convert("RGB")` or
//! `convert("L")`, [`smoothgrad_viz::decode_pixels`]) become a model's input.
//!
//! The steps, in torchvision's order:
//!
//! 1. `--resize N` (`Resize(N)`: the shorter side to N, [`Resize::output_size`]'s rounding) or
//!    `--resize HxW`, bilinear with PIL's antialiasing ([`resize_bilinear`]), on 8-bit pixels;
//! 2. `--center-crop N` or `HxW` (`CenterCrop`: offsets `round((H - h) / 2)` with Python's
//!    round-half-to-even); a crop larger than the image is an error, never padding;
//! 3. `--pixel-range`: `v / 255` (`ToTensor`), `[-1, 1]` or the raw bytes;
//! 4. `--normalize`: `(x - mean[c]) / std[c]` (`Normalize`);
//! 5. `--layout`: NCHW (PyTorch) or NHWC (Keras/TensorFlow).
//!
//! `--preprocess imagenet` is `Resize(256), CenterCrop(224), ToTensor(), Normalize(ImageNet)`;
//! `--preprocess inception` is `Resize(342), CenterCrop(299)` to `[-1, 1]` (Keras' and TF-slim's
//! Inception convention); any explicit flag overrides the preset's value.

mod layout;
mod resize;
mod spec;

use std::path::Path;

pub use layout::nchw_maps;
pub use resize::resize_bilinear;
use smoothgrad_viz::{Image, Pixels};
pub use spec::{NormalizeSpec, PixelRange, Resize};

use crate::cli::{Layout, PreprocessOptions};
use crate::error::{CliError, Result};

/// The checked preprocessing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// `--resize`.
    pub resize: Option<Resize>,
    /// `--center-crop` as `(height, width)`.
    pub crop: Option<(usize, usize)>,
    /// `--pixel-range`.
    pub range: PixelRange,
    /// `--normalize`.
    pub normalize: Option<NormalizeSpec>,
    /// `--layout`.
    pub layout: Layout,
    /// `--exif-orientation`.
    pub exif_orientation: bool,
}

impl Preprocess {
    /// The settings the flags describe: a preset's values, overridden by explicit flags.
    ///
    /// # Errors
    /// An unknown preset, a malformed size, range or normalization.
    pub fn from_options(o: &PreprocessOptions) -> Result<Self> {
        let mut p = match o.preprocess.as_deref() {
            None => Preprocess {
                resize: None,
                crop: None,
                range: PixelRange::Unit,
                normalize: None,
                layout: Layout::Nchw,
                exif_orientation: false,
            },
            Some(name) => preset(name)?,
        };
        if let Some(s) = &o.resize {
            p.resize = Some(match spec::parse_size("--resize", s)? {
                (n, None) => Resize::Shorter(n),
                (h, Some(w)) => Resize::Exact(h, w),
            });
        }
        if let Some(s) = &o.center_crop {
            let (h, w) = spec::parse_size("--center-crop", s)?;
            p.crop = Some((h, w.unwrap_or(h)));
        }
        if let Some(s) = &o.pixel_range {
            p.range = spec::parse_pixel_range(s)?;
        }
        if let Some(s) = &o.normalize {
            p.normalize = Some(NormalizeSpec::parse(s)?);
        }
        if let Some(layout) = o.layout {
            p.layout = layout;
        }
        p.exif_orientation |= o.exif_orientation;
        Ok(p)
    }

    /// Whether any flag changes pixels (a `.safetensors` input takes none of them).
    pub fn changes_pixels(&self) -> bool {
        self.resize.is_some()
            || self.crop.is_some()
            || self.range != PixelRange::Unit
            || self.normalize.is_some()
            || self.exif_orientation
    }

    /// The `(height, width)` an image of `(h, w)` has after `--resize` and `--center-crop`.
    pub fn output_size(&self, (h, w): (usize, usize)) -> (usize, usize) {
        let resized = self.resize.map_or((h, w), |r| r.output_size((h, w)));
        self.crop.unwrap_or(resized)
    }

    /// Resize then crop (steps 1 and 2), on 8-bit pixels: what overlays are drawn on.
    ///
    /// # Errors
    /// A crop larger than the (resized) image, naming `source`.
    pub fn geometry(&self, pixels: Pixels, source: &Path) -> Result<Pixels> {
        let mut p = pixels;
        if let Some(r) = self.resize {
            // Both sides are at least 1: N >= 1, and the longer side at least N.
            let (h, w) = r.output_size((p.height, p.width));
            let data = resize_bilinear(&p.data, (p.height, p.width, p.channels), (h, w));
            p = Pixels {
                width: w,
                height: h,
                data,
                ..p
            };
        }
        if let Some((ch, cw)) = self.crop {
            p = center_crop(p, (ch, cw), source)?;
        }
        Ok(p)
    }

    /// Every step: the model's input for one image, CHW (or HWC for NHWC), f32, and its shape.
    ///
    /// # Errors
    /// As [`Preprocess::geometry`], or a `--normalize` that does not fit the channel count.
    pub fn tensor(&self, pixels: Pixels, source: &Path) -> Result<(Vec<f32>, [usize; 3])> {
        let p = self.geometry(pixels, source)?;
        let c = p.channels;
        let (mean, std) = match &self.normalize {
            Some(n) => n.resolve(c)?,
            None => (vec![0.0; c], vec![1.0; c]),
        };
        let value = |k: usize| {
            let x = self.range.scale(p.data[k]);
            let ch = k % c;
            if self.normalize.is_some() {
                (x - mean[ch]) / std[ch]
            } else {
                x
            }
        };
        let plane = p.height * p.width;
        Ok(match self.layout {
            Layout::Nhwc => ((0..plane * c).map(value).collect(), [p.height, p.width, c]),
            Layout::Nchw => (
                (0..c)
                    .flat_map(|ch| (0..plane).map(move |i| i * c + ch))
                    .map(value)
                    .collect(),
                [c, p.height, p.width],
            ),
        })
    }

    /// The geometry of [`Preprocess::geometry`] applied to an already loaded picture (an
    /// `--overlay`), unnormalized, in `[0, 1]`.
    ///
    /// # Errors
    /// As [`Preprocess::geometry`].
    pub fn overlay(&self, image: &Image, source: &Path) -> Result<Image> {
        let pixels = Pixels {
            width: image.width(),
            height: image.height(),
            channels: image.channels(),
            data: image.to_interleaved_u8(),
        };
        Ok(self.geometry(pixels, source)?.to_image()?)
    }

    /// The settings, as metadata of a `.safetensors` output.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut m = Vec::new();
        if let Some(r) = self.resize {
            m.push((
                "resize",
                match r {
                    Resize::Shorter(n) => n.to_string(),
                    Resize::Exact(h, w) => format!("{h}x{w}"),
                },
            ));
        }
        if let Some((h, w)) = self.crop {
            m.push(("center_crop", format!("{h}x{w}")));
        }
        m.push(("pixel_range", self.range.name().to_string()));
        if let Some(n) = &self.normalize {
            let text = match n {
                NormalizeSpec::Imagenet => "imagenet".to_string(),
                NormalizeSpec::Inception => "inception".to_string(),
                NormalizeSpec::Numbers(s) => s.clone(),
            };
            m.push(("normalize", text));
        }
        m.push(("layout", layout_name(self.layout).to_string()));
        m
    }
}

/// The flag's spelling of a layout.
pub fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Nchw => "nchw",
        Layout::Nhwc => "nhwc",
    }
}

/// The named presets.
fn preset(name: &str) -> Result<Preprocess> {
    let base = |resize, crop, range, normalize| Preprocess {
        resize: Some(Resize::Shorter(resize)),
        crop: Some((crop, crop)),
        range,
        normalize,
        layout: Layout::Nchw,
        exif_orientation: false,
    };
    match name.to_ascii_lowercase().as_str() {
        "imagenet" => Ok(base(
            256,
            224,
            PixelRange::Unit,
            Some(NormalizeSpec::Imagenet),
        )),
        "inception" => Ok(base(342, 299, PixelRange::Symmetric, None)),
        _ => Err(CliError::input(format!(
            "--preprocess: expected imagenet or inception, found {name:?}"
        ))),
    }
}

/// torchvision's `CenterCrop` without padding: offsets `round((H - h) / 2)`, half to even.
fn center_crop(p: Pixels, (ch, cw): (usize, usize), source: &Path) -> Result<Pixels> {
    if ch > p.height || cw > p.width {
        return Err(CliError::input(format!(
            "--center-crop: {ch}x{cw} (HxW) is larger than \"{}\", which is {}x{} after --resize \
             (expected a crop no larger than the image)",
            source.display(),
            p.height,
            p.width
        )));
    }
    let offset =
        |total: usize, keep: usize| ((total - keep) as f64 / 2.0).round_ties_even() as usize;
    let (top, left) = (offset(p.height, ch), offset(p.width, cw));
    let c = p.channels;
    let data = (top..top + ch)
        .flat_map(|y| {
            let start = (y * p.width + left) * c;
            p.data[start..start + cw * c].iter().copied()
        })
        .collect();
    Ok(Pixels {
        width: cw,
        height: ch,
        channels: c,
        data,
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
