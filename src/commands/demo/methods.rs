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

/// SmoothGrad as the paper runs it: sigma 15% of the input range, with `samples` samples (50
/// in the full demo).
pub fn smoothgrad<M>(method: M, seed: u64, samples: usize) -> SmoothGrad<M> {
    SmoothGrad {
        seed,
        samples,
        ..SmoothGrad::new(method)
    }
}

/// Every method's attributions `[N, 3, H, W]` for `images`, explaining class `targets[i]` of
/// image `i`, in [`METHODS`] order.
pub fn attributions(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    seed: u64,
    samples: usize,
) -> Result<Vec<Tensor>> {
    let t = Targets::Classes(targets.to_vec());
    let op = Operator::Logit;
    let gradient = Gradient.explain(model, images, &t, &op, 64)?.values;
    let sg = smoothgrad(Gradient, seed, samples).explain(model, images, &t, &op)?;
    let ig = IntegratedGradients::default()
        .explain(model, images, &t, &op, 16)?
        .values;
    let guided = smoothgrad(GuidedBackprop, seed, samples)
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
    settings: impl IntoIterator<Item = SmoothGrad<Gradient>>,
) -> Result<Vec<Tensor>> {
    let targets = Targets::Classes(targets.to_vec());
    settings
        .into_iter()
        .map(|sg| Ok(sg.explain(model, images, &targets, &Operator::Logit)?.mean))
        .collect()
}

/// SmoothGrad of `images` at each relative noise level (0 is the plain gradient).
pub fn noise_sweep(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    levels: &[f64],
    seed: u64,
    samples: usize,
) -> Result<Vec<Tensor>> {
    let settings = levels.iter().map(|&level| SmoothGrad {
        noise: Noise {
            level: NoiseLevel::Relative(level),
            ..Noise::default()
        },
        ..smoothgrad(Gradient, seed, samples)
    });
    sweep(model, images, targets, settings)
}

/// SmoothGrad of `images` with each sample count, at the default noise.
pub fn samples_sweep(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    counts: &[usize],
    seed: u64,
) -> Result<Vec<Tensor>> {
    sweep(
        model,
        images,
        targets,
        counts.iter().map(|&n| with_samples(n, seed)),
    )
}

/// SmoothGrad with `samples` samples at the default noise.
pub fn with_samples(samples: usize, seed: u64) -> SmoothGrad<Gradient> {
    smoothgrad(Gradient, seed, samples)
}
