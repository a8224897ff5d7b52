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
use smoothgrad::{
    memory, Aggregation, Baseline, IntegratedGradients, Noise, NoiseDistribution, NoiseLevel,
    Operator, Rule,
};
use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_nn::Module;

use crate::cli::{
    BaseMethod, ExplainArgs, IgRule, MethodName, NoiseDist, NoiseMode, OperatorName, Pictures,
    Precision, Statistic,
};
use crate::error::{CliError, Result};
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
    /// A dataset run into a folder (`--output-dir`).
    Dir(Box<DirPlan>),
}

/// A `--output-dir` run's settings.
pub struct DirPlan {
    /// The folder.
    pub dir: PathBuf,
    /// Inputs per committed chunk (>= 1).
    pub chunk_size: usize,
    /// What each input's picture shows.
    pub pictures: Pictures,
    /// How maps become pictures.
    pub renderer: Renderer,
    /// This process's share of the inputs.
    pub shard: Shard,
    /// Start over, discarding earlier results.
    pub overwrite: bool,
    /// Stop at the first unreadable input.
    pub fail_fast: bool,
    /// No progress bar.
    pub quiet: bool,
    /// The rendering options, as the manifest of a resumable run records them.
    pub render_settings: String,
}

/// `--ig-baseline`, resolved against the inputs when they are known.
#[derive(Debug, Clone, PartialEq)]
pub enum IgBaseline {
    /// The library's baseline as it is (zeros or a constant), converted to the run's precision
    /// when it runs ([`cast_baseline`]).
    Fixed(Baseline<f64>),
    /// Each input blurred (Gaussian, sigma in pixels).
    Blur(f64),
    /// An input-shaped file, loaded and preprocessed as the inputs are.
    File(PathBuf),
}

/// The Gaussian blur of `--ig-baseline blur`, in pixels.
pub const BLUR_SIGMA: f64 = 5.0;

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
    /// Early stop on the relative standard error.
    pub tolerance: Option<f64>,
    /// The fewest samples an early stop may use.
    pub min_samples: usize,
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
    /// Integrated gradients' settings, when it is the base method (the baseline in `f64`, as
    /// given; [`ExplainPlan::integrated_gradients`] gives them in the run's precision).
    pub integrated_gradients: IntegratedGradients<f64>,
    /// SmoothGrad's settings, for the SmoothGrad family.
    pub smoothing: Option<Smoothing>,
    /// The score explained ([`ExplainPlan::operator`] gives the library's operator).
    pub operator: OperatorName,
    /// The floating-point type of the run (`--precision`, with `auto` resolved).
    pub precision: Float,
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
    /// Integrated gradients' baseline (`--ig-baseline`).
    pub ig_baseline: IgBaseline,
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
        let output = output(args, &preprocess)?;
        let ig_baseline = parse_ig_baseline(&args.dataset.ig_baseline)?;
        if let Some(t) = args.dataset.tolerance {
            if !(t > 0.0 && t.is_finite()) {
                return Err(CliError::input(format!(
                    "--tolerance: expected a finite number > 0, found {t}"
                )));
            }
        }
        // The command runs everything in its own pool: the library's rule for its size.
        smoothgrad::threads::check(args.threads)?;
        let memory = match &args.max_memory {
            Some(text) => Some((memory::parse_size(text)?, memory::Source::User)),
            None => memory::available(),
        };
        check_files(args, memory)?;
        let (base, smoothing) = match args.method {
            MethodName::Base(b) => (b, None),
            MethodName::Smooth(s) => (args.base, Some(smoothing(args, s)?)),
        };
        let precision = Float::of(args);
        Ok(ExplainPlan {
            model: args.model.clone(),
            arch: args.arch.clone(),
            inputs: args.input.clone(),
            metadata: metadata(args, &preprocess, precision),
            preprocess,
            labels,
            target,
            output,
            base,
            integrated_gradients: IntegratedGradients {
                steps: args.ig_steps,
                rule: ig_rule(args.dataset.ig_rule),
                baseline: match &ig_baseline {
                    IgBaseline::Fixed(b) => b.clone(),
                    _ => Baseline::Zeros,
                },
                ..IntegratedGradients::default()
            },
            smoothing,
            operator: args.operator,
            precision,
            batch_size: args.batch_size,
            threads: args.threads,
            output_node: args.output_node.clone(),
            memory,
            ig_baseline,
        })
    }

    /// The score explained, in the run's precision `T`.
    pub fn operator<T: Scalar>(&self) -> Operator<T> {
        match self.operator {
            OperatorName::Logit => Operator::Logit,
            OperatorName::Probability => Operator::Probability,
            OperatorName::LogProbability => Operator::LogProbability,
        }
    }

    /// Integrated gradients' settings in the run's precision `T`, with `baseline`.
    pub fn integrated_gradients<T: Scalar>(&self, baseline: Baseline<T>) -> IntegratedGradients<T> {
        let ig = &self.integrated_gradients;
        IntegratedGradients {
            baseline,
            steps: ig.steps,
            rule: ig.rule,
            internal_batch_size: ig.internal_batch_size,
        }
    }

    /// Refuses, before any work, a request that needs more memory than [`ExplainPlan::memory`]
    /// ([`smoothgrad::memory::estimate`] for `model` on `inputs` `[N, ...]` with the plan's
    /// method, samples, batch size and threads).
    ///
    /// # Errors
    /// `--max-memory: the request needs about ...`.
    pub fn check_memory<T: Scalar>(&self, model: &dyn Module<T>, inputs: &Tensor<T>) -> Result<()> {
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
                (threads, batch.min(s.samples.max(1)).div_ceil(threads))
            }
            None => (1, batch.min(n)),
        };
        let ig = self.integrated_gradients(cast_baseline::<T>(&self.integrated_gradients.baseline));
        let (rows, path) = match self.base {
            BaseMethod::IntegratedGradients => {
                // Settings out of range are the library's to report, before any estimate.
                if smoothgrad::Method::<T>::validate(&ig, sample).is_err() {
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

/// Where `--output` or `--output-dir` sends the results.
fn output(args: &ExplainArgs, preprocess: &Preprocess) -> Result<Output> {
    let d = &args.dataset;
    let Some(dir) = &d.output_dir else {
        let path = args
            .output
            .clone()
            .expect("clap requires --output or --output-dir");
        return Ok(match OutputKind::of(&path)? {
            OutputKind::Safetensors => Output::Safetensors(path),
            OutputKind::Png => {
                let mut renderer = Renderer::from_options(&args.render)?;
                // Overlays are drawn on the resized and cropped picture, as the model saw it.
                for (path, image) in &mut renderer.overlays {
                    *image = preprocess.overlay(image, path)?;
                }
                Output::Png(path, Box::new(renderer))
            }
        });
    };
    if d.chunk_size == 0 {
        return Err(CliError::input(
            "--chunk-size: expected at least 1 input per chunk, found 0",
        ));
    }
    if !args.render.overlay.is_empty() {
        return Err(CliError::input(
            "--overlay names images for --output; with --output-dir, --pictures overlay \
             draws each map over its own input",
        ));
    }
    let shard = match &d.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    Ok(Output::Dir(Box::new(DirPlan {
        dir: dir.clone(),
        chunk_size: d.chunk_size,
        pictures: d.pictures,
        renderer: Renderer::from_options(&args.render)?,
        shard,
        overwrite: d.overwrite,
        fail_fast: d.fail_fast,
        quiet: d.quiet,
        render_settings: format!("{:?}", args.render),
    })))
}

/// Parses `--ig-baseline`: zeros, blur, a number, or a file.
///
/// # Errors
/// A non-finite constant, or a file that does not exist.
fn parse_ig_baseline(s: &str) -> Result<IgBaseline> {
    match s.trim() {
        "zeros" | "zero" => return Ok(IgBaseline::Fixed(Baseline::Zeros)),
        "blur" => return Ok(IgBaseline::Blur(BLUR_SIGMA)),
        _ => {}
    }
    if let Ok(v) = s.trim().parse::<f64>() {
        // Within f32's range, so one value serves both precisions.
        if !(v as f32).is_finite() {
            return Err(CliError::input(format!(
                "--ig-baseline: expected a finite constant, found {s:?}"
            )));
        }
        return Ok(IgBaseline::Fixed(Baseline::Constant(v)));
    }
    let path = PathBuf::from(s);
    if !path.is_file() {
        return Err(CliError::input(format!(
            "--ig-baseline: expected zeros, blur, a number or an existing file, found {s:?}"
        )));
    }
    Ok(IgBaseline::File(path))
}

/// The library's rule for `--ig-rule`.
fn ig_rule(rule: IgRule) -> Rule {
    match rule {
        IgRule::Left => Rule::RiemannLeft,
        IgRule::Right => Rule::RiemannRight,
        IgRule::Midpoint => Rule::RiemannMiddle,
        IgRule::Trapezoid => Rule::Trapezoid,
    }
}

/// Parses `--clamp`: "MIN,MAX" with MIN <= MAX, both finite.
///
/// # Errors
/// Anything else, e.g. "1,0" or "0".
pub fn parse_clamp(s: &str) -> Result<(f64, f64)> {
    let bad = || {
        CliError::input(format!(
            "--clamp: expected MIN,MAX (two finite numbers, MIN <= MAX), found {s:?}"
        ))
    };
    let (lo, hi) = s.split_once(',').ok_or_else(bad)?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// SmoothGrad's settings from the flags.
fn smoothing(args: &ExplainArgs, statistic: Statistic) -> Result<Smoothing> {
    let level = match args.noise_mode {
        NoiseMode::Relative => NoiseLevel::Relative(args.noise),
        NoiseMode::Absolute => NoiseLevel::Absolute(args.noise),
    };
    let d = &args.dataset;
    Ok(Smoothing {
        statistic: match statistic {
            Statistic::Smoothgrad => Aggregation::Mean,
            Statistic::SmoothgradSq => Aggregation::MeanOfSquares,
            Statistic::Vargrad => Aggregation::Variance,
        },
        samples: args.samples,
        noise: Noise {
            level,
            distribution: match d.noise_dist {
                NoiseDist::Gaussian => NoiseDistribution::Gaussian,
                NoiseDist::Uniform => NoiseDistribution::Uniform,
            },
            clamp: d.clamp.as_deref().map(parse_clamp).transpose()?,
        },
        seed: args.seed,
        tolerance: d.tolerance,
        min_samples: d.min_samples,
    })
}

/// A fixed baseline (zeros or a constant, as parsed) in the run's precision `T`; a tensor is
/// converted elementwise.
pub fn cast_baseline<T: Scalar>(b: &Baseline<f64>) -> Baseline<T> {
    match b {
        Baseline::Zeros => Baseline::Zeros,
        Baseline::Constant(v) => Baseline::Constant(T::from_f64_lossy(*v)),
        Baseline::Tensor(t) => Baseline::Tensor(t.cast()),
    }
}

/// The floating-point type a run computes in: `--precision` with `auto` resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Float {
    /// `f32`.
    F32,
    /// `f64`; with `or_f32` (`auto`), `f32` instead when `f64` would not fit in the memory limit.
    F64 {
        /// Fall back to `f32` rather than refuse a run that does not fit in `f64`.
        or_f32: bool,
    },
}

impl Float {
    /// `--precision` resolved: `auto` is `f64` (falling back to `f32` if it does not fit) for
    /// the base methods that take one gradient per input, and `f32` for SmoothGrad and
    /// integrated gradients, many passes whose Monte-Carlo or quadrature error is far above
    /// f32 rounding.
    pub fn of(args: &ExplainArgs) -> Float {
        match args.precision {
            Precision::F32 => Float::F32,
            Precision::F64 => Float::F64 { or_f32: false },
            Precision::Auto => match args.method {
                MethodName::Base(BaseMethod::IntegratedGradients) | MethodName::Smooth(_) => {
                    Float::F32
                }
                MethodName::Base(_) => Float::F64 { or_f32: true },
            },
        }
    }
}

/// The settings that produce the file, for whoever reads it later.
fn metadata(
    args: &ExplainArgs,
    preprocess: &Preprocess,
    precision: Float,
) -> Vec<(&'static str, String)> {
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
                ("noise_dist", name(&args.dataset.noise_dist)),
                ("min_samples", args.dataset.min_samples.to_string()),
            ]);
            if let Some(t) = args.dataset.tolerance {
                m.push(("tolerance", t.to_string()));
            }
            if let Some(c) = &args.dataset.clamp {
                m.push(("clamp", c.clone()));
            }
            args.base
        }
    };
    if base == BaseMethod::IntegratedGradients {
        m.push(("ig_steps", args.ig_steps.to_string()));
        m.push(("ig_rule", name(&args.dataset.ig_rule)));
        m.push(("ig_baseline", args.dataset.ig_baseline.clone()));
    }
    m.push(("target_flag", args.target.clone()));
    if let Some(node) = &args.output_node {
        m.push(("output_node", node.clone()));
    }
    // Only a run in f64 says so: f32 files stay as they were before the flag existed.
    if precision != Float::F32 {
        m.push(("precision", "f64".into()));
    }
    m
}

/// `--shard I/N`: inputs `I, I + N, I + 2N, ...` of the sorted list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 <= index < count`.
    pub index: usize,
    /// How many shards cover the inputs.
    pub count: usize,
}

impl Shard {
    /// Every input: shard 0 of 1.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses "I/N" with `0 <= I < N`.
    ///
    /// # Errors
    /// Anything else, e.g. "3/2", "1/0" or "a/b".
    pub fn parse(s: &str) -> Result<Shard> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Shard { index, count }),
            _ => Err(CliError::input(format!(
                "--shard: expected I/N with 0 <= I < N (e.g. 0/4 .. 3/4), found {s:?}"
            ))),
        }
    }

    /// Whether the input at sorted position `position` is this shard's.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }
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

    #[test]
    fn shards_are_i_of_n_from_zero() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["3/2", "2/2", "1/0", "a/b", "1", "-1/2"] {
            let e = Shard::parse(bad).unwrap_err();
            assert_eq!(e.status, 2);
            assert!(
                e.message.starts_with("--shard: expected I/N"),
                "{}",
                e.message
            );
        }
        let s = Shard { index: 1, count: 3 };
        let taken: Vec<usize> = (0..8).filter(|&p| s.takes(p)).collect();
        assert_eq!(taken, [1, 4, 7]);
    }

    #[test]
    fn parity_flags_reach_the_library_settings() {
        let p = plan(&[
            "--tolerance",
            "0.05",
            "--noise-dist",
            "uniform",
            "--clamp",
            "-1,1",
            "--min-samples",
            "4",
        ])
        .unwrap();
        let s = p.smoothing.unwrap();
        assert_eq!(s.tolerance, Some(0.05));
        assert_eq!(s.min_samples, 4);
        assert_eq!(s.noise.distribution, NoiseDistribution::Uniform);
        assert_eq!(s.noise.clamp, Some((-1.0, 1.0)));
        let p = plan(&[
            "--method",
            "integrated-gradients",
            "--ig-baseline",
            "0.5",
            "--ig-rule",
            "trapezoid",
        ])
        .unwrap();
        assert_eq!(p.integrated_gradients.rule, Rule::Trapezoid);
        assert_eq!(p.integrated_gradients.baseline, Baseline::Constant(0.5));
        assert!(p.metadata.contains(&("ig_rule", "trapezoid".into())));
        assert_eq!(
            plan(&["--ig-baseline", "blur"]).unwrap().ig_baseline,
            IgBaseline::Blur(5.0)
        );
        for bad in [
            &["--clamp", "1,0"][..],
            &["--clamp", "0"],
            &["--tolerance", "0"],
            &["--ig-baseline", "no-such-file.png"],
        ] {
            assert_eq!(plan(bad).err().map(|e| e.status), Some(2), "{bad:?}");
        }
    }
}
