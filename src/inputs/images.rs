//! Image inputs: each file decoded as torchvision's loader decodes it (PIL's `convert("RGB")`,
//! or `convert("L")` for a model that takes one channel), preprocessed ([`Preprocess`]) and
//! stacked into one batch.

use std::path::PathBuf;

use smoothgrad::Model;
use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_viz::{load_pixels, ColorMode, DecodeOptions};

use super::Inputs;
use crate::cli::Layout;
use crate::error::{viz_error, CliError, Result};
use crate::preprocess::Preprocess;

/// Decodes, preprocesses and stacks `paths` (`[N, C, H, W]`, or `[N, H, W, C]` for NHWC).
///
/// The channel count is the model's ([`ImageChannels`]): 3 (RGB) or 1 (luminance); when the
/// model does not say, each file keeps its own (gray files 1 channel, colour files 3), and the
/// library reports a mismatch. The pixels are preprocessed in `f32`, then converted to `T`.
///
/// # Errors
/// An unreadable or corrupt file, a crop larger than an image, images of different shapes after
/// preprocessing, a `--normalize` that does not fit the channel count.
pub fn load_images<T: Scalar>(
    paths: &[PathBuf],
    preprocess: &Preprocess,
    model: &(impl ImageChannels + ?Sized),
) -> Result<Inputs<T>> {
    let options = DecodeOptions {
        exif_orientation: preprocess.exif_orientation,
        ..DecodeOptions::default()
    };
    let mut data = Vec::new();
    let mut first: Option<(&PathBuf, [usize; 3])> = None;
    let mut mode = None;
    for path in paths {
        let native = load_pixels(path, ColorMode::Native, &options)
            .map_err(|e| viz_error(&format!("cannot read image \"{}\"", path.display()), e))?;
        let mode = *mode.get_or_insert_with(|| {
            let size = preprocess.output_size((native.height, native.width));
            model.channels(size, preprocess.layout)
        });
        let pixels = match mode {
            Some(3) => native.into_rgb(),
            Some(_) => native.into_luma(),
            None => native,
        };
        let (values, shape) = preprocess.tensor(pixels, path)?;
        match first {
            None => first = Some((path, shape)),
            Some((p0, s0)) if s0 != shape => {
                return Err(CliError::input(format!(
                    "images must share one shape after preprocessing ({}): \"{}\" is {s0:?} \
                     but \"{}\" is {shape:?} (--resize HxW or --center-crop make them equal)",
                    layout_axes(preprocess.layout),
                    p0.display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
        data.extend(values);
    }
    let (_, [a, b, c]) = first.expect("clap requires at least one --input");
    let tensor = Tensor::from_vec(data, &[paths.len(), a, b, c]).expect("stacked images");
    let tensor = tensor.cast();
    Ok(Inputs {
        tensor,
        targets: None,
        source: "the images".to_string(),
    })
}

/// The axes of one image in `layout`.
fn layout_axes(layout: Layout) -> &'static str {
    match layout {
        Layout::Nchw => "C, H, W",
        Layout::Nhwc => "H, W, C",
    }
}

/// What decides the channel count of image inputs: the model they are for.
pub trait ImageChannels {
    /// The channel count images of size `(h, w)` in `layout` become: 3 (RGB), 1 (luminance),
    /// or `None` for each file's own.
    fn channels(&self, size: (usize, usize), layout: Layout) -> Option<usize>;
}

/// A model already built, asked which of 3 and 1 channels it accepts ([`channels_for`]).
pub struct Probe<'a, T: Scalar>(pub &'a dyn Model<T>);

impl<T: Scalar> ImageChannels for Probe<'_, T> {
    /// [`channels_for`] the model.
    fn channels(&self, size: (usize, usize), layout: Layout) -> Option<usize> {
        channels_for(self.0, size, layout)
    }
}

/// Images keep their own channels (gray 1, colour 3): for inputs loaded without a model.
pub struct Native;

impl ImageChannels for Native {
    /// Always `None`.
    fn channels(&self, _: (usize, usize), _: Layout) -> Option<usize> {
        None
    }
}

/// The channel count `model` takes for `(h, w)` images in `layout`: 3 if it accepts RGB and
/// not gray, 1 if gray and not RGB, `None` if both or neither.
pub fn channels_for<T: Scalar>(
    model: &dyn Model<T>,
    (h, w): (usize, usize),
    layout: Layout,
) -> Option<usize> {
    let takes = |c: usize| {
        let shape = match layout {
            Layout::Nchw => [1, c, h, w],
            Layout::Nhwc => [1, h, w, c],
        };
        model.output_shape(&shape).is_ok()
    };
    match (takes(3), takes(1)) {
        (true, false) => Some(3),
        (false, true) => Some(1),
        _ => None,
    }
}
