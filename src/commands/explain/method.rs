//! One batch explained: the base method `--method`/`--base` name, alone or smoothed, with the
//! integrated-gradients baseline resolved ([`Baseline`]) and, for dataset runs, each input's
//! noise keyed by its identity ([`smoothgrad::SmoothGrad::explain_keyed`]).

use smoothgrad::{
    predicted, Attribution, Baseline, ExplainError, Gradient, GradientXInput, GuidedBackprop,
    IntegratedGradients, Method, Model, Progress, SmoothGrad, Targets,
};
use smoothgrad_autograd::Tensor;

use crate::blur::gaussian_blur;
use crate::cli::BaseMethod;
use crate::error::{CliError, Result};
use crate::inputs;
use crate::plan::{ExplainPlan, IgBaseline};

/// What an explanation produced: the attribution written out and, for the SmoothGrad family,
/// the standard error of the SmoothGrad mean.
pub struct Outcome {
    /// The attributions, `[N, ...]`.
    pub attribution: Tensor<f32>,
    /// The SmoothGrad mean's standard error, `[N, ...]`.
    pub std_error: Option<Tensor<f32>>,
}

/// The integrated-gradients baseline of a run: fixed (zeros, a constant, a file's tensor) or
/// each input's blur.
pub enum RunBaseline {
    /// The same for every input.
    Fixed(Baseline<f32>),
    /// Each input blurred with this sigma (pixels).
    Blur(f64),
}

impl RunBaseline {
    /// Resolves `--ig-baseline` (loading a file as the inputs are loaded, `normalize` applied).
    ///
    /// # Errors
    /// A file that cannot be read or holds more than one input.
    pub fn of(plan: &ExplainPlan) -> Result<Self> {
        Ok(match &plan.ig_baseline {
            IgBaseline::Fixed(b) => RunBaseline::Fixed(b.clone()),
            IgBaseline::Blur(sigma) => RunBaseline::Blur(*sigma),
            IgBaseline::File(path) => {
                let loaded = inputs::load_inputs(
                    std::slice::from_ref(path),
                    &plan.preprocess,
                    &smoothgrad::ModuleModel(&smoothgrad_nn::Identity),
                )
                .map_err(|e| CliError::input(format!("--ig-baseline: {}", e.message)))?;
                let shape = loaded.tensor.shape().to_vec();
                if shape.first() != Some(&1) {
                    return Err(CliError::input(format!(
                        "--ig-baseline: \"{}\" must hold one input, found shape {shape:?}",
                        path.display()
                    )));
                }
                let t = Tensor::from_vec(loaded.tensor.data().to_vec(), &shape[1..])
                    .expect("one input's shape");
                RunBaseline::Fixed(Baseline::Tensor(t))
            }
        })
    }
}

/// Explains `inputs` for `targets`: `keys` (one per input) key the noise, or `None` for the
/// inputs' positions (the library's default); SmoothGrad tells `progress` the samples it
/// finishes.
///
/// # Errors
/// The library's errors, and a blur baseline on inputs that are not images `[N, C, H, W]`.
pub fn explain(
    plan: &ExplainPlan,
    baseline: &RunBaseline,
    model: &dyn Model,
    inputs: &Tensor<f32>,
    targets: &Targets,
    keys: Option<&[u64]>,
    progress: &Progress,
) -> std::result::Result<Outcome, ExplainError> {
    let ig = |b: Baseline<f32>| IntegratedGradients {
        baseline: b,
        ..plan.integrated_gradients.clone()
    };
    let job = Job {
        plan,
        model,
        inputs,
        targets,
        keys,
        progress,
    };
    match (plan.base, baseline) {
        (BaseMethod::Gradient, _) => job.run(Gradient),
        (BaseMethod::GradientXInput, _) => job.run(GradientXInput),
        (BaseMethod::GuidedBackprop, _) => job.run(GuidedBackprop),
        (BaseMethod::IntegratedGradients, RunBaseline::Fixed(b)) => job.run(ig(b.clone())),
        (BaseMethod::IntegratedGradients, RunBaseline::Blur(sigma)) => {
            let &[n, c, h, w] = inputs.shape() else {
                return Err(ExplainError::InputShape(format!(
                    "--ig-baseline blur needs images [N, C, H, W], found {:?}",
                    inputs.shape()
                )));
            };
            // One input at a time: each has its own blurred baseline.
            let len = c * h * w;
            let classes = match targets {
                Targets::Classes(t) => t.clone(),
                _ => predicted(model, inputs, output_classes(model, inputs)),
            };
            let mut parts = Vec::with_capacity(n);
            for i in 0..n {
                let x = &inputs.data()[i * len..(i + 1) * len];
                let one = Tensor::from_vec(x.to_vec(), &[1, c, h, w]).expect("one image");
                let blurred = Tensor::from_vec(gaussian_blur(x, [c, h, w], *sigma), &[c, h, w])
                    .expect("one image");
                let key = [keys.map_or(i as u64, |k| k[i])];
                let t = Targets::Classes(vec![classes[i]]);
                let single = Job {
                    inputs: &one,
                    targets: &t,
                    keys: Some(&key),
                    ..job
                };
                parts.push(single.run(ig(Baseline::Tensor(blurred)))?);
            }
            Ok(concat(parts))
        }
    }
}

/// The number of classes the model gives for `inputs`.
fn output_classes(model: &dyn Model, inputs: &Tensor<f32>) -> usize {
    let mut one = inputs.shape().to_vec();
    one[0] = 1;
    model
        .output_shape(&one)
        .ok()
        .and_then(|out| out.get(1).copied())
        .unwrap_or(0)
}

/// Outcomes of consecutive inputs, stacked.
pub fn concat(parts: Vec<Outcome>) -> Outcome {
    let stack = |ts: Vec<&Tensor<f32>>| {
        let mut shape = ts[0].shape().to_vec();
        shape[0] = ts.iter().map(|t| t.shape()[0]).sum();
        let data: Vec<f32> = ts.iter().flat_map(|t| t.data().iter().copied()).collect();
        Tensor::from_vec(data, &shape).expect("stacked")
    };
    let attribution = stack(parts.iter().map(|p| &p.attribution).collect());
    let std_error = parts[0]
        .std_error
        .is_some()
        .then(|| stack(parts.iter().filter_map(|p| p.std_error.as_ref()).collect()));
    Outcome {
        attribution,
        std_error,
    }
}

/// The classes `--target predicted` explained, for the output file: the library's rule
/// ([`predicted`]) on inputs the library has already checked.
pub fn predicted_classes(model: &dyn Model, inputs: &Tensor<f32>) -> Vec<usize> {
    let k = output_classes(model, inputs);
    assert!(
        k > 0,
        "the library checked that the model maps the inputs to [N, K]"
    );
    predicted(model, inputs, k)
}

/// One explanation request, whatever the method.
#[derive(Clone, Copy)]
struct Job<'a> {
    plan: &'a ExplainPlan,
    model: &'a dyn Model,
    inputs: &'a Tensor<f32>,
    targets: &'a Targets,
    keys: Option<&'a [u64]>,
    progress: &'a Progress,
}

impl Job<'_> {
    /// `method` alone, `--batch-size` inputs per pass, or SmoothGrad over it: the statistic
    /// `--method` names, with the mean's standard error.
    fn run(
        &self,
        method: impl for<'m> Method<f32, dyn Model + 'm>,
    ) -> std::result::Result<Outcome, ExplainError> {
        let p = self.plan;
        let Some(s) = &p.smoothing else {
            let Attribution { values } = method.explain(
                self.model,
                self.inputs,
                self.targets,
                &p.operator,
                p.batch_size,
            )?;
            return Ok(Outcome {
                attribution: values,
                std_error: None,
            });
        };
        let sg = SmoothGrad {
            samples: s.samples,
            noise: s.noise,
            batch_size: p.batch_size,
            seed: s.seed,
            // The command already runs inside a pool of --threads workers.
            threads: None,
            tolerance: s.tolerance,
            min_samples: s.min_samples,
            progress: self.progress.clone(),
            ..SmoothGrad::new(method)
        };
        let e = match self.keys {
            Some(keys) => {
                sg.explain_keyed(self.model, self.inputs, self.targets, &p.operator, keys)?
            }
            None => sg.explain(self.model, self.inputs, self.targets, &p.operator)?,
        };
        Ok(Outcome {
            attribution: e.get(s.statistic).clone(),
            std_error: Some(e.std_error),
        })
    }
}
