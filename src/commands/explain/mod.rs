//! `explain`: attributions of a model's predictions on inputs, to a `.safetensors` file or PNGs,
//! or for a whole dataset into a folder ([`folder`]).
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
//!
//! Everything runs in one floating-point type `T` (`--precision`: `f32`, or `f64` for results
//! that do not depend on f32 rounding; `auto` is `f64` for a single gradient per input when it
//! fits in memory): the model is built in `T`, the inputs are converted to it, and the
//! library's methods, noise and batching are the same generic code. The files and pictures are
//! written in `f32` either way.

mod collect;
mod folder;
pub(crate) mod method;

use smoothgrad::{Cut, ExplainError, Targets};
use smoothgrad_autograd::io::Writer;
use smoothgrad_autograd::{Scalar, Tensor};

use crate::cli::{ExplainArgs, Precision};
use crate::error::{CliError, Result};
use crate::files::write_pngs;
use crate::inputs;
use crate::plan::{ExplainPlan, Float, Output};
use crate::preprocess::nchw_maps;
use crate::rendering::Renderer;

use method::{predicted_classes, Outcome, RunBaseline};

/// Runs `explain`, in the precision `--precision` names (`auto` resolved by [`Float::of`]).
pub fn run(args: &ExplainArgs) -> Result<()> {
    let plan = ExplainPlan::new(args)?;
    let quiet = args.dataset.quiet;
    let ran = match plan.precision {
        Float::F32 => run_in::<f32>(&plan, quiet)?,
        Float::F64 { or_f32 } => match run_in::<f64>(&plan, quiet)? {
            Ran::TooBig(e) if or_f32 => {
                if !quiet {
                    eprintln!("smoothgrad: computing in f32: in f64, {e}");
                }
                let mut args = args.clone();
                args.precision = Precision::F32;
                run_in::<f32>(&ExplainPlan::new(&args)?, quiet)?
            }
            ran => ran,
        },
    };
    match ran {
        Ran::Done => Ok(()),
        Ran::TooBig(e) => Err(e),
    }
}

/// How [`run_in`] ended, when it did not fail otherwise.
enum Ran {
    /// The results are written.
    Done,
    /// The memory check refused the run before any work (nothing written).
    TooBig(CliError),
}

/// Runs `plan` with the model, the inputs and every computation in `T`; the results are
/// written as `f32`.
fn run_in<T: Scalar>(plan: &ExplainPlan, quiet: bool) -> Result<Ran> {
    if let Output::Dir(dir) = &plan.output {
        return folder::run::<T>(plan, dir).map(|()| Ran::Done);
    }
    let baseline = RunBaseline::<T>::of(plan)?;
    // Folders and globs are expanded (sorted by name); files alone keep the order given.
    let expand = plan
        .inputs
        .iter()
        .any(|p| p.is_dir() || (!p.exists() && p.to_string_lossy().contains(['*', '?', '['])));
    let paths = if expand {
        let sources = crate::dataset::listing::list(&plan.inputs)?;
        sources.into_iter().map(|s| s.path).collect()
    } else {
        plan.inputs.clone()
    };
    // The model file is read once: it says how many channels images become (an ONNX model by
    // its declared input), then an ONNX graph is converted for the inputs' real shape (its
    // symbolic dimensions).
    let source = inputs::ModelSource::<T>::open(&plan.model, plan.arch.as_deref())?;
    let inputs = inputs::load_inputs::<T>(&paths, &plan.preprocess, &source)?;
    let model = source.build(Some(inputs.tensor.shape()))?;
    if let Err(e) = plan.check_memory(&*model, &inputs.tensor) {
        return Ok(Ran::TooBig(e));
    }
    if matches!(plan.output, Output::Png(..)) && inputs.tensor.rank() != 4 {
        return Err(CliError::input(format!(
            "a .png output needs image-like inputs [N, C, H, W], found {:?}",
            inputs.tensor.shape()
        )));
    }
    let cut = match &plan.output_node {
        Some(name) => Cut::output_node(&*model, name)
            .map_err(|e| CliError::input(format!("--output-node: {e}")))?,
        None => Cut::before_softmax(&*model),
    };
    if let (Some(labels), Some(k)) = (&plan.labels, inputs::output_count(&cut, &inputs.tensor)) {
        labels.check_count(k)?;
    }
    let bar = sample_bar(plan, quiet, inputs.tensor.shape()[0]);
    let (outcome, classes) = in_pool(plan.threads, || {
        let (targets, origin) = inputs.targets(&plan.target, &cut);
        let progress = match &bar {
            Some(bar) => {
                let bar = bar.clone();
                smoothgrad::Progress::new(move |n| bar.inc(n as u64))
            }
            None => smoothgrad::Progress::default(),
        };
        let outcome = method::explain(
            plan,
            &baseline,
            &cut,
            &inputs.tensor,
            &targets,
            None,
            &progress,
        )
        .map_err(|e| in_context(e, &inputs.source, &origin))?;
        let classes = match &targets {
            Targets::Classes(c) => (c.clone(), vec![c.len()]),
            Targets::Multiple(m) => (m.concat(), vec![m.len(), m.first().map_or(0, Vec::len)]),
            Targets::Predicted => {
                let c = predicted_classes(&cut, &inputs.tensor);
                (c.clone(), vec![c.len()])
            }
        };
        Ok((outcome.to_f32(), classes))
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match &plan.output {
        Output::Png(path, renderer) => write_png(plan, path, renderer, &outcome, &classes.1)?,
        Output::Safetensors(path) => {
            write_tensors(plan, path, &outcome, &inputs.tensor.cast(), &classes)?
        }
        Output::Dir(_) => unreachable!("handled above"),
    }
    Ok(Ran::Done)
}

/// The progress bar of a SmoothGrad run over `inputs` inputs (`--samples` each; hidden with
/// `--quiet` or when stderr is not a terminal), or `None` for a base method alone (one pass per
/// batch: nothing to count).
fn sample_bar(plan: &ExplainPlan, quiet: bool, inputs: usize) -> Option<indicatif::ProgressBar> {
    let s = plan.smoothing.as_ref()?;
    Some(crate::progress::bar(
        (inputs as u64).saturating_mul(s.samples as u64),
        "samples",
        quiet,
    ))
}

/// A library error, after the file or option it is about (the library knows neither).
fn in_context(e: ExplainError, source: &str, origin: &str) -> CliError {
    match e {
        ExplainError::TargetOutOfRange { .. } | ExplainError::Targets(_) => {
            CliError::input(format!("{origin}: {e}"))
        }
        ExplainError::InputShape(_)
        | ExplainError::InputRejected { .. }
        | ExplainError::NonFinite { .. } => CliError::input(format!("{source}: {e}")),
        other => other.into(),
    }
}

/// Runs `f` on a pool of `threads` workers ([`smoothgrad::threads::run_in_pool`]), or on
/// rayon's global pool (all cores); a pool that cannot start is a failure (status 1).
fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    smoothgrad::threads::run_in_pool(threads, f).map_err(|e| CliError::failure(e.to_string()))?
}

/// Writes `attribution`, the preprocessed `input`, `target` (`[N]`, or `[N, T]` for several
/// classes per input) and (SmoothGrad family) `std_error`, with the settings as metadata.
fn write_tensors(
    plan: &ExplainPlan,
    path: &std::path::Path,
    outcome: &Outcome,
    input: &Tensor<f32>,
    (targets, shape): &(Vec<usize>, Vec<usize>),
) -> Result<()> {
    let mut w = Writer::new();
    w.tensor("attribution", &outcome.attribution);
    w.tensor(inputs::INPUT_TENSOR, input);
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
