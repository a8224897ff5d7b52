//! `explain`: attributions of a model's predictions on inputs, to a `.safetensors` file or PNGs.
//!
//! The flags become one [`ExplainPlan`] (the checks only the command line can make), then the
//! model and inputs are loaded, and the library checks the request (settings, shapes, values,
//! classes) before it computes anything. Results are computed and rendered before anything is
//! written, so a failure leaves no file behind.
//!
//! The model (a `Sequential` or a graph) is explained up to its logits, before its trailing
//! softmax or log-softmax ([`Cut::before_softmax`], which asks the model where they are):
//! `--operator logit` then explains the logits, as the SmoothGrad paper recommends, and
//! `probability` / `log-probability` apply softmax once, themselves.

use smoothgrad::{
    predicted, Attribution, Cut, ExplainError, Gradient, GradientXInput, GuidedBackprop, Method,
    Model, SmoothGrad, Targets,
};
use smoothgrad_autograd::io::Writer;
use smoothgrad_autograd::Tensor;

use crate::cli::{BaseMethod, ExplainArgs};
use crate::error::{CliError, Result};
use crate::files::write_pngs;
use crate::inputs::{self, Inputs};
use crate::plan::{ExplainPlan, Output};
use crate::preprocess::nchw_maps;
use crate::rendering::Renderer;

/// What an explanation produced: the attribution written out and, for the SmoothGrad family, the
/// standard error of the SmoothGrad mean.
struct Outcome {
    attribution: Tensor<f32>,
    std_error: Option<Tensor<f32>>,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let plan = ExplainPlan::new(args)?;
    let model = inputs::load_model(&plan.model, plan.arch.as_deref())?;
    let cut = Cut::before_softmax(&*model);
    let inputs = inputs::load_inputs(&plan.inputs, &plan.preprocess, &cut)?;
    if matches!(plan.output, Output::Png(..)) && inputs.tensor.rank() != 4 {
        return Err(CliError::input(format!(
            "a .png output needs image-like inputs [N, C, H, W], found {:?}",
            inputs.tensor.shape()
        )));
    }
    if let (Some(labels), Some(k)) = (&plan.labels, inputs::output_count(&cut, &inputs.tensor)) {
        labels.check_count(k)?;
    }
    let (outcome, classes) = in_pool(plan.threads, || {
        let (targets, origin) = inputs.targets(&plan.target, &cut);
        let outcome = explain(&plan, &cut, &inputs.tensor, &targets)
            .map_err(|e| in_context(e, &inputs, &origin))?;
        let classes = match &targets {
            Targets::Classes(c) => (c.clone(), vec![c.len()]),
            Targets::Multiple(m) => (m.concat(), vec![m.len(), m.first().map_or(0, Vec::len)]),
            Targets::Predicted => {
                let c = predicted_classes(&cut, &inputs.tensor);
                (c.clone(), vec![c.len()])
            }
        };
        Ok((outcome, classes))
    })?;
    match &plan.output {
        Output::Png(path, renderer) => write_png(&plan, path, renderer, &outcome, &classes.1),
        Output::Safetensors(path) => write_tensors(&plan, path, &outcome, &inputs, &classes),
    }
}

/// A library error, after the file or option it is about (the library knows neither).
fn in_context(e: ExplainError, inputs: &Inputs, origin: &str) -> CliError {
    match e {
        ExplainError::TargetOutOfRange { .. } | ExplainError::Targets(_) => {
            CliError::input(format!("{origin}: {e}"))
        }
        ExplainError::InputShape(_)
        | ExplainError::InputRejected { .. }
        | ExplainError::NonFinite { .. } => CliError::input(format!("{}: {e}", inputs.source)),
        other => other.into(),
    }
}

/// The classes `--target predicted` explained, for the output file: the library's rule
/// ([`predicted`]) on inputs the library has already checked.
fn predicted_classes(model: &dyn Model, inputs: &Tensor<f32>) -> Vec<usize> {
    let mut one = inputs.shape().to_vec();
    one[0] = 1;
    let k = model
        .output_shape(&one)
        .ok()
        .and_then(|out| out.get(1).copied())
        .expect("the library checked that the model maps the inputs to [N, K]");
    predicted(model, inputs, k)
}

/// Runs `f` on a pool of `threads` workers ([`smoothgrad::threads::run_in_pool`]), or on
/// rayon's global pool (all cores); a pool that cannot start is a failure (status 1).
fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    smoothgrad::threads::run_in_pool(threads, f).map_err(|e| CliError::failure(e.to_string()))?
}

/// Dispatches on the base method, explained alone or smoothed.
fn explain(
    plan: &ExplainPlan,
    model: &dyn Model,
    inputs: &Tensor<f32>,
    targets: &Targets,
) -> std::result::Result<Outcome, ExplainError> {
    let job = Job {
        plan,
        model,
        inputs,
        targets,
    };
    match plan.base {
        BaseMethod::Gradient => job.run(Gradient),
        BaseMethod::GradientXInput => job.run(GradientXInput),
        BaseMethod::IntegratedGradients => job.run(plan.integrated_gradients.clone()),
        BaseMethod::GuidedBackprop => job.run(GuidedBackprop),
    }
}

/// One explanation request, whatever the method.
struct Job<'a> {
    plan: &'a ExplainPlan,
    model: &'a dyn Model,
    inputs: &'a Tensor<f32>,
    targets: &'a Targets,
}

impl Job<'_> {
    /// `method` alone, `--batch-size` inputs per pass, or SmoothGrad over it: the statistic
    /// `--method` names, with the mean's standard error.
    fn run(&self, method: impl Method<f32>) -> std::result::Result<Outcome, ExplainError> {
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
            ..SmoothGrad::new(method)
        };
        let e = sg.explain(self.model, self.inputs, self.targets, &p.operator)?;
        Ok(Outcome {
            attribution: e.get(s.statistic).clone(),
            std_error: Some(e.std_error),
        })
    }
}

/// Writes `attribution`, the preprocessed `input`, `target` (`[N]`, or `[N, T]` for several
/// classes per input) and (SmoothGrad family) `std_error`, with the settings as metadata.
fn write_tensors(
    plan: &ExplainPlan,
    path: &std::path::Path,
    outcome: &Outcome,
    inputs: &Inputs,
    (targets, shape): &(Vec<usize>, Vec<usize>),
) -> Result<()> {
    let mut w = Writer::new();
    w.tensor("attribution", &outcome.attribution);
    w.tensor(inputs::INPUT_TENSOR, &inputs.tensor);
    if let Some(se) = &outcome.std_error {
        w.tensor("std_error", se);
    }
    let classes: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    w.i64("target", &classes, shape)?;
    for (key, value) in &plan.metadata {
        w.metadata(key, value);
    }
    w.write(path)
        .map_err(|e| CliError::failure(e.to_string()))?;
    println!(
        "wrote attribution {:?} to {}",
        outcome.attribution.shape(),
        path.display()
    );
    Ok(())
}

/// Renders every attribution (one map per input and target, in `--layout`), then writes the
/// pictures (all or nothing).
fn write_png(
    plan: &ExplainPlan,
    path: &std::path::Path,
    renderer: &Renderer,
    outcome: &Outcome,
    target_shape: &[usize],
) -> Result<()> {
    let per_input = target_shape.get(1).copied().unwrap_or(1);
    let a = &outcome.attribution;
    let (data, shape) = nchw_maps(a.data(), a.shape(), plan.preprocess.layout, per_input)
        .expect("checked: inputs are [N, C, H, W]");
    let heat = renderer.maps(&data, shape)?;
    let pictures = renderer.pictures(&heat)?;
    for path in write_pngs(path, &pictures)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
