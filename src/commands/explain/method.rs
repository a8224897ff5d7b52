//! One batch explained: the base method `--method`/`--base` name, alone or smoothed, with the
//! integrated-gradients baseline resolved ([`Baseline`]) and, for dataset runs, each input's
//! noise keyed by its identity ([`smoothgrad::SmoothGrad::explain_keyed`]).

use smoothgrad::{
    predicted, Attribution, Baseline, ExplainError, Gradient, GradientXInput, GuidedBackprop,
    IntegratedGradients, Method, Model, Operator, Progress, SmoothGrad, Targets,
};
use smoothgrad_autograd::{Scalar, Tensor};

use crate::blur::gaussian_blur;
use crate::cli::BaseMethod;
use crate::error::{CliError, Result};
use crate::inputs;
use crate::plan::{cast_baseline, ExplainPlan, IgBaseline};

/// What an explanation produced, in the run's precision `T`: the attribution written out and,
/// for the SmoothGrad family, the standard error of the SmoothGrad mean.
pub struct Outcome<T: Scalar = f32> {
    /// The attributions, `[N, ...]`.
    pub attribution: Tensor<T>,
    /// The SmoothGrad mean's standard error, `[N, ...]`.
    pub std_error: Option<Tensor<T>>,
}

impl<T: Scalar> Outcome<T> {
    /// The outcome in `f32`, as it is written out and drawn (each value rounded to nearest).
    pub fn to_f32(&self) -> Outcome<f32> {
        Outcome {
            attribution: self.attribution.cast(),
            std_error: self.std_error.as_ref().map(Tensor::cast),
        }
    }
}

/// The integrated-gradients baseline of a run: fixed (zeros, a constant, a file's tensor) or
/// each input's blur.
pub enum RunBaseline<T: Scalar = f32> {
    /// The same for every input.
    Fixed(Baseline<T>),
    /// Each input blurred with this sigma (pixels).
    Blur(f64),
}

impl<T: Scalar> RunBaseline<T> {
    /// Resolves `--ig-baseline` (loading a file as the inputs are loaded, `normalize` applied).
    ///
    /// # Errors
    /// A file that cannot be read or holds more than one input.
    pub fn of(plan: &ExplainPlan) -> Result<Self> {
        Ok(match &plan.ig_baseline {
            IgBaseline::Fixed(b) => RunBaseline::Fixed(cast_baseline(b)),
            IgBaseline::Blur(sigma) => RunBaseline::Blur(*sigma),
            IgBaseline::File(path) => {
                let loaded = inputs::load_inputs::<T>(
                    std::slice::from_ref(path),
                    &plan.preprocess,
                    &inputs::Native,
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
pub fn explain<T: Scalar>(
    plan: &ExplainPlan,
    baseline: &RunBaseline<T>,
    model: &dyn Model<T>,
    inputs: &Tensor<T>,
    targets: &Targets,
    keys: Option<&[u64]>,
    progress: &Progress,
) -> std::result::Result<Outcome<T>, ExplainError> {
    let ig = |b: Baseline<T>| -> IntegratedGradients<T> { plan.integrated_gradients(b) };
    let job = Job {
        operator: plan.operator(),
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
                    ..job.clone()
                };
                parts.push(single.run(ig(Baseline::Tensor(blurred)))?);
            }
            Ok(concat(parts))
        }
    }
}

/// The number of classes the model gives for `inputs`.
fn output_classes<T: Scalar>(model: &dyn Model<T>, inputs: &Tensor<T>) -> usize {
    let mut one = inputs.shape().to_vec();
    one[0] = 1;
    model
        .output_shape(&one)
        .ok()
        .and_then(|out| out.get(1).copied())
        .unwrap_or(0)
}

/// Outcomes of consecutive inputs, stacked.
pub fn concat<T: Scalar>(parts: Vec<Outcome<T>>) -> Outcome<T> {
    let stack = |ts: Vec<&Tensor<T>>| {
        let mut shape = ts[0].shape().to_vec();
        shape[0] = ts.iter().map(|t| t.shape()[0]).sum();
        let data: Vec<T> = ts.iter().flat_map(|t| t.data().iter().copied()).collect();
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
pub fn predicted_classes<T: Scalar>(model: &dyn Model<T>, inputs: &Tensor<T>) -> Vec<usize> {
    let k = output_classes(model, inputs);
    assert!(
        k > 0,
        "the library checked that the model maps the inputs to [N, K]"
    );
    predicted(model, inputs, k)
}

/// One explanation request, whatever the method.
#[derive(Clone)]
struct Job<'a, T: Scalar> {
    plan: &'a ExplainPlan,
    model: &'a dyn Model<T>,
    operator: Operator<T>,
    inputs: &'a Tensor<T>,
    targets: &'a Targets,
    keys: Option<&'a [u64]>,
    progress: &'a Progress,
}

impl<T: Scalar> Job<'_, T> {
    /// `method` alone, `--batch-size` inputs per pass, or SmoothGrad over it: the statistic
    /// `--method` names, with the mean's standard error.
    fn run(
        &self,
        method: impl for<'m> Method<T, dyn Model<T> + 'm>,
    ) -> std::result::Result<Outcome<T>, ExplainError> {
        let p = self.plan;
        let Some(s) = &p.smoothing else {
            let Attribution { values } = method.explain(
                self.model,
                self.inputs,
                self.targets,
                &self.operator,
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
                sg.explain_keyed(self.model, self.inputs, self.targets, &self.operator, keys)?
            }
            None => sg.explain(self.model, self.inputs, self.targets, &self.operator)?,
        };
        Ok(Outcome {
            attribution: e.get(s.statistic).clone(),
            std_error: Some(e.std_error),
        })
    }
}
