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

mod collect;
mod folder;
pub(crate) mod method;

use smoothgrad::{Cut, ExplainError, Targets};
use smoothgrad_autograd::io::Writer;

use crate::cli::ExplainArgs;
use crate::error::{CliError, Result};
use crate::files::write_pngs;
use crate::inputs::{self, Inputs};
use crate::plan::{ExplainPlan, Output};
use crate::preprocess::nchw_maps;
use crate::rendering::Renderer;

use method::{predicted_classes, Outcome, RunBaseline};

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let plan = ExplainPlan::new(args)?;
    if let Output::Dir(dir) = &plan.output {
        return folder::run(&plan, dir);
    }
    let baseline = RunBaseline::of(&plan)?;
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
    // The model says how many channels images become; an ONNX model is then imported again
    // for the inputs' real shape (its symbolic dimensions).
    let model = inputs::load_model(&plan.model, plan.arch.as_deref(), None)?;
    let inputs = inputs::load_inputs(&paths, &plan.preprocess, &Cut::before_softmax(&*model))?;
    let model = if crate::files::extension(&plan.model).as_deref() == Some("onnx") {
        inputs::load_model(
            &plan.model,
            plan.arch.as_deref(),
            Some(inputs.tensor.shape()),
        )?
    } else {
        model
    };
    plan.check_memory(&*model, &inputs.tensor)?;
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
    let bar = sample_bar(&plan, args.dataset.quiet, inputs.tensor.shape()[0]);
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
            &plan,
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
        Ok((outcome, classes))
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match &plan.output {
        Output::Png(path, renderer) => write_png(&plan, path, renderer, &outcome, &classes.1),
        Output::Safetensors(path) => write_tensors(&plan, path, &outcome, &inputs, &classes),
        Output::Dir(_) => unreachable!("handled above"),
    }
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
