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
use smoothgrad::{Aggregation, IntegratedGradients, Noise, NoiseLevel, Operator};

use crate::cli::{BaseMethod, ExplainArgs, MethodName, NoiseMode, OperatorName, Statistic};
use crate::error::Result;
use crate::files::{is_safetensors, OutputKind};
use crate::inputs::{parse_target, Labels, TargetFlag};
use crate::preprocess::Preprocess;
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
    /// How image inputs become the model's input (`--normalize` is resolved once the images'
    /// channel count is known).
    pub preprocess: Preprocess,
    /// `--labels`, read.
    pub labels: Option<Labels>,
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
}

impl ExplainPlan {
    /// The plan of `args`, with the checks only the command line can make.
    ///
    /// # Errors
    /// An output extension other than `.safetensors` or `.png`, bad rendering options for a
    /// `.png`, bad preprocessing options, an unreadable `--labels` file, a `--target` that is
    /// not a class, a list of classes, "predicted" or "top-K", `--threads` outside 1..=256.
    pub fn new(args: &ExplainArgs) -> Result<Self> {
        let preprocess = Preprocess::from_options(&args.preprocess)?;
        let labels = args.labels.as_deref().map(Labels::read).transpose()?;
        let target = parse_target(&args.target, labels.as_ref())?;
        let output = match OutputKind::of(&args.output)? {
            OutputKind::Safetensors => Output::Safetensors(args.output.clone()),
            OutputKind::Png => {
                let mut renderer = Renderer::from_options(&args.render)?;
                // Overlays are drawn on the resized and cropped picture, as the model saw it.
                for (path, image) in &mut renderer.overlays {
                    *image = preprocess.overlay(image, path)?;
                }
                Output::Png(args.output.clone(), Box::new(renderer))
            }
        };
        // The command runs everything in its own pool: the library's rule for its size.
        smoothgrad::threads::check(args.threads)?;
        let (base, smoothing) = match args.method {
            MethodName::Base(b) => (b, None),
            MethodName::Smooth(s) => (args.base, Some(smoothing(args, s))),
        };
        Ok(ExplainPlan {
            model: args.model.clone(),
            arch: args.arch.clone(),
            inputs: args.input.clone(),
            metadata: metadata(args, &preprocess),
            preprocess,
            labels,
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
        })
    }
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
fn metadata(args: &ExplainArgs, preprocess: &Preprocess) -> Vec<(&'static str, String)> {
    let mut m = vec![
        ("method", name(&args.method)),
        ("operator", name(&args.operator)),
    ];
    if !args.input.iter().any(|p| is_safetensors(p)) {
        m.extend(preprocess.metadata());
    }
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
