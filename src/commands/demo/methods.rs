//! The six methods the demo compares, computed for a batch of held-out images.

use smoothgrad::{
    Gradient, GuidedBackprop, IntegratedGradients, Method, Model, Noise, NoiseLevel, Operator,
    SmoothGrad, Targets,
};
use smoothgrad_autograd::Tensor;

use crate::error::Result;

/// `(key in metrics.json, column title)`, in figure order.
pub const METHODS: [(&str, &str); 6] = [
    ("gradient", "Gradient"),
    ("smoothgrad", "SmoothGrad"),
    ("smoothgrad_sq", "SmoothGrad²"),
    ("vargrad", "VarGrad"),
    ("integrated_gradients", "Integrated grad."),
    ("guided_smoothgrad", "Guided SmoothGrad"),
];

/// How the demo's SmoothGrad family draws its noisy samples: Gaussian noise of standard
/// deviation `sigma = noise * (max - min)` of each input, `samples` samples, from `seed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Smoothing {
    /// The noise seed.
    pub seed: u64,
    /// Samples per image (50 in the full demo, the paper's default).
    pub samples: usize,
    /// The noise level relative to each input's range (0.15 is the paper's default).
    pub noise: f64,
}

impl Smoothing {
    /// SmoothGrad over `method` with these settings.
    pub fn of<M>(self, method: M) -> SmoothGrad<M> {
        SmoothGrad {
            seed: self.seed,
            samples: self.samples,
            noise: Noise {
                level: NoiseLevel::Relative(self.noise),
                ..Noise::default()
            },
            ..SmoothGrad::new(method)
        }
    }
}

/// Every method's attributions `[N, 3, H, W]` for `images`, explaining class `targets[i]` of
/// image `i`, in [`METHODS`] order.
pub fn attributions(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    smoothing: Smoothing,
) -> Result<Vec<Tensor>> {
    let t = Targets::Classes(targets.to_vec());
    let op = Operator::Logit;
    let gradient = Gradient.explain(model, images, &t, &op, 64)?.values;
    let sg = smoothing.of(Gradient).explain(model, images, &t, &op)?;
    let ig = IntegratedGradients::default()
        .explain(model, images, &t, &op, 16)?
        .values;
    let guided = smoothing
        .of(GuidedBackprop)
        .explain(model, images, &t, &op)?
        .mean;
    Ok(vec![
        gradient,
        sg.mean,
        sg.mean_of_squares,
        sg.variance,
        ig,
        guided,
    ])
}

/// The SmoothGrad mean of `images` under each of several settings.
fn sweep(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    settings: impl IntoIterator<Item = Smoothing>,
) -> Result<Vec<Tensor>> {
    let targets = Targets::Classes(targets.to_vec());
    settings
        .into_iter()
        .map(|s| {
            Ok(s.of(Gradient)
                .explain(model, images, &targets, &Operator::Logit)?
                .mean)
        })
        .collect()
}

/// SmoothGrad of `images` at each relative noise level (0 is the plain gradient), otherwise
/// as `smoothing`.
pub fn noise_sweep(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    levels: &[f64],
    smoothing: Smoothing,
) -> Result<Vec<Tensor>> {
    let settings = levels.iter().map(|&noise| Smoothing { noise, ..smoothing });
    sweep(model, images, targets, settings)
}

/// SmoothGrad of `images` with each sample count, otherwise as `smoothing`.
pub fn samples_sweep(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    counts: &[usize],
    smoothing: Smoothing,
) -> Result<Vec<Tensor>> {
    let settings = counts.iter().map(|&samples| Smoothing {
        samples,
        ..smoothing
    });
    sweep(model, images, targets, settings)
}
