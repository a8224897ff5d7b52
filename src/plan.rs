//! `explain`'s plan: the flags clap parsed ([`ExplainArgs`]) become one [`ExplainPlan`], with
//! the choices made and the library's settings built, as ripgrep turns its low-level arguments
//! into high-level ones.
//!
//! The plan makes only the checks the command line alone can make: the output's extension, the
//! rendering options, `--target`'s spelling, and `--threads` (the command's own pool). Every
//! setting the library takes (samples, noise, batch size, integrated-gradients steps) is checked
//! by the library when it runs, before any work, and its error names the option
//! ([`crate::error`]).

use std::path::PathBuf;

use clap::ValueEnum;
use smoothgrad::{memory, Aggregation, IntegratedGradients, Noise, NoiseLevel, Operator};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::Module;

use crate::cli::{BaseMethod, ExplainArgs, MethodName, NoiseMode, OperatorName, Statistic};
use crate::error::Result;
use crate::files::OutputKind;
use crate::inputs::{parse_target, TargetFlag};
use crate::rendering::Renderer;

/// Where the attributions go.
pub enum Output {
    /// Tensors in a `.safetensors` file.
    Safetensors(PathBuf),
    /// Pictures rendered by the renderer, `OUT.png` or `OUT-0.png`, `OUT-1.png`, ...
    Png(PathBuf, Box<Renderer>),
}

/// The SmoothGrad settings of a `smoothgrad`, `smoothgrad-sq` or `vargrad` run.
pub struct Smoothing {
    /// Which estimate is written out.
    pub statistic: Aggregation,
    /// Noisy samples per input.
    pub samples: usize,
    /// The noise.
    pub noise: Noise,
    /// The seed of the noise.
    pub seed: u64,
}

/// One `explain` run, decided from the flags.
pub struct ExplainPlan {
    /// The model file.
    pub model: PathBuf,
    /// The spec for weights saved without one.
    pub arch: Option<String>,
    /// The input files.
    pub inputs: Vec<PathBuf>,
    /// `--normalize`, read once the images' channel count is known.
    pub normalize: Option<String>,
    /// The classes asked for (a file's `target` tensor overrides them).
    pub target: TargetFlag,
    /// Where the results go.
    pub output: Output,
    /// The base method: explained alone, or smoothed when [`ExplainPlan::smoothing`] is set.
    pub base: BaseMethod,
    /// Integrated gradients' settings, when it is the base method.
    pub integrated_gradients: IntegratedGradients<f32>,
    /// SmoothGrad's settings, for the SmoothGrad family.
    pub smoothing: Option<Smoothing>,
    /// The score explained.
    pub operator: Operator<f32>,
    /// Inputs (base methods) or samples (SmoothGrad) per pass.
    pub batch_size: usize,
    /// The command's pool size (`None`: rayon's global pool).
    pub threads: Option<usize>,
    /// The settings, as metadata of a `.safetensors` output.
    pub metadata: Vec<(&'static str, String)>,
    /// The node explained instead of the logits (`--output-node`).
    pub output_node: Option<String>,
    /// The memory the run may use, and where that limit comes from (`--max-memory`, else the
    /// system's; `None` if the system does not say).
    pub memory: Option<(u64, memory::Source)>,
}

impl ExplainPlan {
    /// The plan of `args`, with the checks only the command line can make.
    ///
    /// # Errors
    /// An output extension other than `.safetensors` or `.png`, bad rendering options for a
    /// `.png`, a `--target` that is neither a class nor "predicted", `--threads` outside 1..=256.
    pub fn new(args: &ExplainArgs) -> Result<Self> {
        let target = parse_target(&args.target)?;
        let output = match OutputKind::of(&args.output)? {
            OutputKind::Safetensors => Output::Safetensors(args.output.clone()),
            OutputKind::Png => Output::Png(
                args.output.clone(),
                Box::new(Renderer::from_options(&args.render)?),
            ),
        };
        // The command runs everything in its own pool: the library's rule for its size.
        smoothgrad::threads::check(args.threads)?;
        let memory = match &args.max_memory {
            Some(text) => Some((memory::parse_size(text)?, memory::Source::User)),
            None => memory::available(),
        };
        check_files(args, memory)?;
        let (base, smoothing) = match args.method {
            MethodName::Base(b) => (b, None),
            MethodName::Smooth(s) => (args.base, Some(smoothing(args, s))),
        };
        Ok(ExplainPlan {
            model: args.model.clone(),
            arch: args.arch.clone(),
            inputs: args.input.clone(),
            normalize: args.normalize.clone(),
            target,
            output,
            base,
            integrated_gradients: IntegratedGradients {
                steps: args.ig_steps,
                ..IntegratedGradients::default()
            },
            smoothing,
            operator: operator(args.operator),
            batch_size: args.batch_size,
            threads: args.threads,
            metadata: metadata(args),
            output_node: args.output_node.clone(),
            memory,
        })
    }

    /// Refuses, before any work, a request that needs more memory than [`ExplainPlan::memory`]
    /// ([`smoothgrad::memory::estimate`] for `model` on `inputs` `[N, ...]` with the plan's
    /// method, samples, batch size and threads).
    ///
    /// # Errors
    /// `--max-memory: the request needs about ...`.
    pub fn check_memory(&self, model: &dyn Module<f32>, inputs: &Tensor<f32>) -> Result<()> {
        let Some((limit, source)) = self.memory else {
            return Ok(());
        };
        let shape = inputs.shape();
        let n = shape.first().copied().unwrap_or(1).max(1);
        let sample = &shape[1.min(shape.len())..];
        let batch = self.batch_size.max(1);
        let (workers, rows) = match &self.smoothing {
            Some(s) => {
                let threads = self
                    .threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                (threads, batch.min(s.samples.max(1).div_ceil(threads)))
            }
            None => (1, batch.min(n)),
        };
        let ig = &self.integrated_gradients;
        let (rows, path) = match self.base {
            BaseMethod::IntegratedGradients => {
                // Settings out of range are the library's to report, before any estimate.
                if smoothgrad::Method::<f32>::validate(ig, sample).is_err() {
                    return Ok(());
                }
                let steps = ig.steps.max(1);
                let points = steps.saturating_mul(rows);
                (
                    ig.internal_batch_size.max(1).min(points),
                    Some((steps, rows)),
                )
            }
            _ => (rows, None),
        };
        let request = memory::Request {
            inputs: n,
            sample: sample.iter().product(),
            slots: 1,
            rows,
            workers,
            smoothing: self.smoothing.is_some(),
            path,
        };
        // A shape the model rejects is the library's to report, naming the inputs.
        let Ok(estimate) = memory::estimate(model, sample, &request) else {
            return Ok(());
        };
        Ok(memory::check(&estimate, limit, source)?)
    }
}

/// Refuses model and input files that cannot fit in memory once read and decoded (three times
/// their size: the bytes, the decoded message and the tensors), before reading them.
fn check_files(args: &ExplainArgs, limit: Option<(u64, memory::Source)>) -> Result<()> {
    let Some((limit, source)) = limit else {
        return Ok(());
    };
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let model = size(&args.model).saturating_mul(3);
    let inputs = args
        .input
        .iter()
        .map(|p| size(p))
        .sum::<u64>()
        .saturating_mul(3);
    let estimate = memory::Estimate {
        parameters: model,
        data: inputs,
        ..memory::Estimate::default()
    };
    Ok(memory::check(&estimate, limit, source)?)
}

/// SmoothGrad's settings from the flags.
fn smoothing(args: &ExplainArgs, statistic: Statistic) -> Smoothing {
    let level = match args.noise_mode {
        NoiseMode::Relative => NoiseLevel::Relative(args.noise),
        NoiseMode::Absolute => NoiseLevel::Absolute(args.noise),
    };
    Smoothing {
        statistic: match statistic {
            Statistic::Smoothgrad => Aggregation::Mean,
            Statistic::SmoothgradSq => Aggregation::MeanOfSquares,
            Statistic::Vargrad => Aggregation::Variance,
        },
        samples: args.samples,
        noise: Noise {
            level,
            ..Noise::default()
        },
        seed: args.seed,
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

/// The settings that produce the file, for whoever reads it later.
fn metadata(args: &ExplainArgs) -> Vec<(&'static str, String)> {
    let mut m = vec![
        ("method", name(&args.method)),
        ("operator", name(&args.operator)),
    ];
    let base = match args.method {
        MethodName::Base(b) => b,
        MethodName::Smooth(_) => {
            m.extend([
                ("base", name(&args.base)),
                ("samples", args.samples.to_string()),
                (
                    "noise",
                    format!("{} {}", args.noise, name(&args.noise_mode)),
                ),
                ("seed", args.seed.to_string()),
            ]);
            args.base
        }
    };
    if base == BaseMethod::IntegratedGradients {
        m.push(("ig_steps", args.ig_steps.to_string()));
    }
    if let Some(node) = &args.output_node {
        m.push(("output_node", node.clone()));
    }
    m
}

/// The command-line spelling of an option value (`gradient-x-input`).
fn name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(extra: &[&str]) -> Result<ExplainPlan> {
        let args = [
            &["smoothgrad", "explain", "--model", "m.safetensors"][..],
            &["--input", "x.safetensors", "--output", "out.safetensors"],
            extra,
        ]
        .concat();
        match crate::cli::Cli::parse_from(args).command {
            Some(crate::cli::Command::Explain(a)) => ExplainPlan::new(&a),
            other => panic!("not explain: {other:?}"),
        }
    }

    #[test]
    fn the_family_smooths_the_base_and_base_methods_run_alone() {
        let p = plan(&["--method", "vargrad", "--base", "integrated-gradients"]).unwrap();
        assert_eq!(p.base, BaseMethod::IntegratedGradients);
        let s = p.smoothing.as_ref().unwrap();
        assert_eq!(s.statistic, Aggregation::Variance);
        assert!(p.metadata.contains(&("ig_steps", "50".into())));
        assert!(p.metadata.contains(&("method", "vargrad".into())));
        let p = plan(&[
            "--method",
            "gradient-x-input",
            "--base",
            "integrated-gradients",
        ])
        .unwrap();
        assert_eq!(p.base, BaseMethod::GradientXInput);
        assert!(p.smoothing.is_none());
        assert!(!p.metadata.iter().any(|(k, _)| *k == "ig_steps"));
    }

    #[test]
    fn library_settings_are_left_to_the_library() {
        // Zero samples are the library's to reject, when it runs.
        assert!(plan(&["--samples", "0", "--noise", "-1"]).is_ok());
        assert!(plan(&["--threads", "0"]).is_err());
        assert!(plan(&["--target", "cat"]).is_err());
    }
}
