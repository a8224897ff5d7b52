//! `explain`: attributions of a model's predictions on inputs, to a `.safetensors` file or PNGs.
//!
//! Everything is checked before any work (options, output kind, rendering options, model,
//! inputs, targets) and the results are computed and rendered before anything is written, so a
//! failure leaves no file behind.
//!
//! The model is explained up to its last layer that is not softmax or log-softmax
//! ([`Cut::before_softmax`]): `--operator logit` then explains the logits, as the SmoothGrad paper
//! recommends, and `probability` / `log-probability` apply softmax once, themselves.

use autograd::io::Writer;
use autograd::Tensor;
use clap::ValueEnum;
use smoothgrad::{
    Attribution, Cut, Explanation, Gradient, GradientXInput, GuidedBackprop, IntegratedGradients,
    Method, Model, Noise, NoiseLevel, Operator, SmoothGrad, Targets,
};

use crate::cli::{BaseName, ExplainArgs, MethodName, NoiseMode, OperatorName};
use crate::error::{CliError, Result};
use crate::inputs::{self, Inputs};
use crate::rendering::{write_pngs, OutputKind, Renderer};

/// What an explanation produced: the attribution written out and, for the SmoothGrad family, the
/// standard error of the SmoothGrad mean.
struct Outcome {
    attribution: Tensor<f32>,
    std_error: Option<Tensor<f32>>,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    check_numbers(args)?;
    let target_flag = inputs::parse_target(&args.target)?;
    let kind = OutputKind::of(&args.output)?;
    let renderer = match kind {
        OutputKind::Png => Some(Renderer::from_options(&args.render)?),
        OutputKind::Safetensors => None,
    };
    let model = inputs::load_model(&args.model, args.arch.as_deref())?;
    let inputs = inputs::load_inputs(&args.input, args.normalize.as_deref())?;
    if renderer.is_some() && inputs.tensor.rank() != 4 {
        return Err(CliError::input(format!(
            "a .png output needs image-like inputs [N, C, H, W], found {:?}",
            inputs.tensor.shape()
        )));
    }
    let cut = Cut::before_softmax(&model);
    let targets = inputs::resolve_targets(&cut, &inputs, target_flag)?;
    let outcome = in_pool(args.threads, || explain(args, &cut, &inputs, &targets))?;
    match renderer {
        Some(r) => write_png(args, &r, &outcome),
        None => write_tensors(args, &outcome, &targets),
    }
}

/// Rejects impossible numbers with the option's name (the library would reject most of them
/// too, without it).
fn check_numbers(args: &ExplainArgs) -> Result<()> {
    let at_least_one = [
        ("--samples", args.samples),
        ("--batch-size", args.batch_size),
        ("--ig-steps", args.ig_steps),
        ("--threads", args.threads.unwrap_or(1)),
    ];
    if let Some((name, v)) = at_least_one.iter().find(|(_, v)| *v == 0) {
        return Err(CliError::input(format!(
            "{name} must be at least 1, found {v}"
        )));
    }
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        return Err(CliError::input(format!(
            "--noise must be a finite number >= 0, found {}",
            args.noise
        )));
    }
    Ok(())
}

/// Runs `f` on a pool of `threads` workers, or on rayon's global pool (all cores).
fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    match threads {
        None => f(),
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| CliError::failure(format!("cannot start {t} threads: {e}")))?
            .install(f),
    }
}

/// The operator `--operator` names.
fn operator(name: OperatorName) -> Operator<f32> {
    match name {
        OperatorName::Logit => Operator::Logit,
        OperatorName::Probability => Operator::Probability,
        OperatorName::LogProbability => Operator::LogProbability,
    }
}

/// Dispatches on the method: a base method alone, or SmoothGrad over `--base`.
fn explain(
    args: &ExplainArgs,
    model: &dyn Model,
    inputs: &Inputs,
    targets: &[usize],
) -> Result<Outcome> {
    let job = Job {
        args,
        model,
        inputs: &inputs.tensor,
        targets: Targets::Classes(targets.to_vec()),
        operator: operator(args.operator),
    };
    let base = match args.method {
        MethodName::Gradient => return job.base(Gradient),
        MethodName::GradientXInput => return job.base(GradientXInput),
        MethodName::IntegratedGradients => return job.base(integrated_gradients(args)),
        MethodName::GuidedBackprop => return job.base(GuidedBackprop),
        MethodName::Smoothgrad | MethodName::SmoothgradSq | MethodName::Vargrad => args.base,
    };
    match base {
        BaseName::Gradient => job.smooth(Gradient),
        BaseName::GradientXInput => job.smooth(GradientXInput),
        BaseName::IntegratedGradients => job.smooth(integrated_gradients(args)),
        BaseName::GuidedBackprop => job.smooth(GuidedBackprop),
    }
}

/// Integrated gradients from zeros with `--ig-steps` points (the midpoint rule).
fn integrated_gradients(args: &ExplainArgs) -> IntegratedGradients<f32> {
    IntegratedGradients {
        steps: args.ig_steps,
        ..IntegratedGradients::default()
    }
}

/// One explanation request, whatever the method.
struct Job<'a> {
    args: &'a ExplainArgs,
    model: &'a dyn Model,
    inputs: &'a Tensor<f32>,
    targets: Targets,
    operator: Operator<f32>,
}

impl Job<'_> {
    /// A base method alone, `--batch-size` inputs per pass.
    fn base(&self, method: impl Method<f32>) -> Result<Outcome> {
        let Attribution { values } = method.explain(
            self.model,
            self.inputs,
            &self.targets,
            &self.operator,
            self.args.batch_size,
        )?;
        Ok(Outcome {
            attribution: values,
            std_error: None,
        })
    }

    /// SmoothGrad over `method`: the statistic `--method` names, with the mean's standard error.
    fn smooth(&self, method: impl Method<f32>) -> Result<Outcome> {
        let a = self.args;
        let level = match a.noise_mode {
            NoiseMode::Relative => NoiseLevel::Relative(a.noise),
            NoiseMode::Absolute => NoiseLevel::Absolute(a.noise),
        };
        let sg = SmoothGrad {
            samples: a.samples,
            noise: Noise {
                level,
                ..Noise::default()
            },
            batch_size: a.batch_size,
            seed: a.seed,
            // The command already runs inside a pool of --threads workers.
            threads: None,
            ..SmoothGrad::new(method)
        };
        let e: Explanation<f32> =
            sg.explain(self.model, self.inputs, &self.targets, &self.operator)?;
        let attribution = match a.method {
            MethodName::SmoothgradSq => e.mean_of_squares,
            MethodName::Vargrad => e.variance,
            _ => e.mean,
        };
        Ok(Outcome {
            attribution,
            std_error: Some(e.std_error),
        })
    }
}

/// Writes `attribution`, `target` and (SmoothGrad family) `std_error`, with the settings as
/// metadata.
fn write_tensors(args: &ExplainArgs, outcome: &Outcome, targets: &[usize]) -> Result<()> {
    let mut w = Writer::new();
    w.tensor("attribution", &outcome.attribution);
    if let Some(se) = &outcome.std_error {
        w.tensor("std_error", se);
    }
    let classes: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    w.i64("target", &classes, &[classes.len()])?;
    for (key, value) in metadata(args, outcome.std_error.is_some()) {
        w.metadata(key, &value);
    }
    w.write(&args.output)
        .map_err(|e| CliError::failure(e.to_string()))?;
    println!(
        "wrote attribution {:?} to {}",
        outcome.attribution.shape(),
        args.output.display()
    );
    Ok(())
}

/// The settings that produced the file, for whoever reads it later.
fn metadata(args: &ExplainArgs, smoothed: bool) -> Vec<(&'static str, String)> {
    let mut m = vec![
        ("method", name(&args.method)),
        ("operator", name(&args.operator)),
    ];
    if smoothed {
        m.extend([
            ("base", name(&args.base)),
            ("samples", args.samples.to_string()),
            (
                "noise",
                format!("{} {}", args.noise, name(&args.noise_mode)),
            ),
            ("seed", args.seed.to_string()),
        ]);
    }
    if args.method == MethodName::IntegratedGradients
        || (smoothed && args.base == BaseName::IntegratedGradients)
    {
        m.push(("ig_steps", args.ig_steps.to_string()));
    }
    m
}

/// The command-line spelling of an option value (`gradient-x-input`).
fn name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// Renders every attribution, then writes the pictures (all or nothing).
fn write_png(args: &ExplainArgs, renderer: &Renderer, outcome: &Outcome) -> Result<()> {
    let shape: [usize; 4] = outcome
        .attribution
        .shape()
        .try_into()
        .expect("checked: inputs are [N, C, H, W]");
    let heat = renderer.maps(outcome.attribution.data(), shape)?;
    let pictures = renderer.pictures(&heat)?;
    for path in write_pngs(&args.output, &pictures)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
