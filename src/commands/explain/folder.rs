//! `explain --output-dir`: a dataset explained chunk by chunk with bounded memory, resumable,
//! shardable, and tolerant of unreadable files.
//!
//! The inputs (sorted by name, then this shard's share: positions `I, I + N, ...`) go through in
//! chunks of `--chunk-size`. Each chunk's inputs are loaded one by one (a file that cannot be
//! read is reported and skipped, or with `--fail-fast` ends the run), explained with each
//! input's noise keyed by its name, drawn to `OUT/NAME.png`, and committed as one file in
//! `OUT/.partial/` ([`Partial`]). When every chunk is there, the run's `.safetensors` is
//! streamed from them ([`write_streamed`]) and the partial state removed. Every step is a pure
//! function of the settings and the inputs, so a run killed anywhere and started again ends
//! with the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use smoothgrad::{Cut, ExplainError, Model, Targets};
use smoothgrad_autograd::io::{self, Writer};
use smoothgrad_autograd::{Scalar, Tensor};

use super::collect::{assemble, Summary};
use super::method::{self, predicted_classes, Outcome, RunBaseline};
use super::{in_context, in_pool};
use crate::cli::Pictures;
use crate::dataset::items::{self, Item, Loaded, Loader};
use crate::dataset::listing::{self, key};
use crate::dataset::partial::Partial;
use crate::dataset::pictures::picture;
use crate::error::{viz_error, CliError, Result};
use crate::inputs::{self as loading, TargetFlag};
use crate::plan::{DirPlan, ExplainPlan};
use crate::progress;

/// Runs a dataset into `d.dir`, computing in `T` (the files and pictures are `f32`).
pub fn run<T: Scalar>(plan: &ExplainPlan, d: &DirPlan) -> Result<()> {
    listing::check_outside(&plan.inputs, &d.dir)?;
    let all = items::expand(listing::list(&plan.inputs)?);
    let total = all.len();
    let items: Vec<Item> = all
        .into_iter()
        .enumerate()
        .filter(|(i, _)| d.shard.takes(*i))
        .map(|(_, item)| item)
        .collect();
    let (tag, file) = match d.shard.count {
        1 => ("all".to_string(), "attributions.safetensors".to_string()),
        n => {
            let tag = format!("shard-{}-of-{n}", d.shard.index);
            let file = format!("attributions-{tag}.safetensors");
            (tag, file)
        }
    };
    let out_file = d.dir.join(&file);
    std::fs::create_dir_all(&d.dir).map_err(|e| {
        CliError::input(format!(
            "--output-dir: cannot create \"{}\": {}",
            d.dir.display(),
            crate::error::io_reason(&e)
        ))
    })?;
    let state = d.dir.join(".partial").join(&tag);
    if out_file.exists() && !state.exists() && !d.overwrite {
        return Err(CliError::input(format!(
            "--output-dir: \"{}\" is there from a finished run; add --overwrite to redo it",
            out_file.display()
        )));
    }
    let partial = Partial::open(&d.dir, &tag, &settings(plan, d, &items)?, d.overwrite)?;
    // An ONNX graph is converted for the inputs' real shape (its symbolic height and width),
    // which the first input that loads gives.
    let source = loading::ModelSource::<T>::open(&plan.model, plan.arch.as_deref())?;
    let shape = first_shape(&items, plan, &source);
    let model = source.build(shape.as_deref())?;
    let cut = Cut::before_softmax(&*model);
    let baseline = RunBaseline::<T>::of(plan)?;
    let bar = progress::bar(items.len() as u64, "inputs", d.quiet);
    let runner = Runner {
        plan,
        d,
        model: &cut,
        baseline: &baseline,
    };
    let resumed = in_pool(plan.threads, || {
        let (mut loader, mut resumed) = (Loader::<T>::default(), 0);
        let mut reference = None;
        for (k, chunk) in items.chunks(d.chunk_size).enumerate() {
            let path = partial.chunk(k);
            if let Ok(done) = io::read_file(&path) {
                if reference.is_none() && done.contains("input") {
                    reference = Some(done.shape("input")?[1..].to_vec());
                }
                resumed += chunk.len();
            } else {
                let record = runner.chunk(chunk, &mut loader, &mut reference, &bar)?;
                record
                    .write(&path)
                    .map_err(|e| CliError::failure(e.to_string()))?;
            }
            bar.inc(chunk.len() as u64);
        }
        Ok(resumed)
    })?;
    bar.finish_and_clear();
    let (mine, chunks) = (items.len(), items.len().div_ceil(d.chunk_size));
    // The list of inputs is done with: free it before the summary gathers the names again, so
    // a large dataset's peak memory holds one list, not two.
    drop(items);
    let summary = assemble(plan, d, &partial, chunks, &out_file)?;
    partial.finish();
    report(&summary, (mine, total, resumed), &out_file, d)
}

/// The batch shape `[1, ...]` of the first of `items` that loads (of the first few: inputs
/// that do not load are reported by the run itself), to convert an ONNX graph for; `None` if
/// none of them loads.
fn first_shape<T: Scalar>(
    items: &[Item],
    plan: &ExplainPlan,
    source: &loading::ModelSource<T>,
) -> Option<Vec<usize>> {
    let mut loader = Loader::<T>::default();
    items.iter().take(16).find_map(|item| {
        let loaded = loader.load(item, &plan.preprocess, source).ok()?;
        Some([&[1][..], &loaded.shape].concat())
    })
}

/// Prints the outcome; skipped inputs make the status 2 (the others are complete).
/// `counts`: this run's inputs, all inputs, inputs found done in `.partial`.
fn report(s: &Summary, counts: (usize, usize, usize), out: &Path, d: &DirPlan) -> Result<()> {
    let (mine, total, resumed) = counts;
    for (name, reason) in &s.failures {
        eprintln!("smoothgrad: skipped {name}: {reason}");
    }
    if s.written {
        let pictures = if d.pictures == Pictures::None {
            0
        } else {
            s.names.len() * s.per_input
        };
        println!(
            "explained {} of {mine} inputs{} into {} ({pictures} pictures; {resumed} inputs were \
             done before this run)",
            s.names.len(),
            if d.shard.count > 1 {
                format!(" (shard {}/{} of {total})", d.shard.index, d.shard.count)
            } else {
                String::new()
            },
            out.display()
        );
    }
    match (s.failures.len(), s.written) {
        (0, _) => Ok(()),
        (1, false) => Err(CliError::input(format!(
            "{}: {}",
            s.failures[0].0, s.failures[0].1
        ))),
        (n, false) => Err(CliError::input(format!(
            "none of the {n} inputs could be explained (listed above); nothing was written"
        ))),
        (n, true) => Err(CliError::input(format!(
            "{n} of {mine} inputs were skipped (listed above); the others are in \"{}\"",
            d.dir.display()
        ))),
    }
}

/// The settings a resumed run must share with the run it continues.
fn settings(plan: &ExplainPlan, d: &DirPlan, items: &[Item]) -> Result<BTreeMap<String, String>> {
    let mut s: BTreeMap<String, String> = plan
        .metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let model = std::fs::read(&plan.model).map_err(|e| {
        CliError::input(format!(
            "cannot read \"{}\": {}",
            plan.model.display(),
            crate::error::io_reason(&e)
        ))
    })?;
    let model_hash = model.iter().fold(key(""), |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // FNV-1a of the names, each followed by a newline, without building the list.
    let names_hash = items.iter().fold(key(""), |h, i| {
        i.name
            .bytes()
            .chain([b'\n'])
            .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    s.extend([
        ("model".into(), format!("{:016x}", model_hash)),
        ("arch".into(), plan.arch.clone().unwrap_or_default()),
        (
            "inputs".into(),
            format!("{} inputs, {names_hash:016x}", items.len()),
        ),
        ("chunk_size".into(), d.chunk_size.to_string()),
        ("pictures".into(), format!("{:?}", d.pictures)),
        ("render".into(), d.render_settings.clone()),
        ("ig_baseline_file".into(), format!("{:?}", plan.ig_baseline)),
    ]);
    Ok(s)
}

/// The run's fixed parts, shared by every chunk.
struct Runner<'a, T: Scalar> {
    plan: &'a ExplainPlan,
    d: &'a DirPlan,
    model: &'a dyn Model<T>,
    baseline: &'a RunBaseline<T>,
}

impl<T: Scalar> Runner<'_, T> {
    /// Loads, explains and draws one chunk; its record for `.partial`.
    fn chunk(
        &self,
        chunk: &[Item],
        loader: &mut Loader<T>,
        reference: &mut Option<Vec<usize>>,
        bar: &indicatif::ProgressBar,
    ) -> Result<Writer> {
        let mut failures: Vec<(String, String)> = Vec::new();
        let mut ok: Vec<(&Item, Loaded<T>)> = Vec::new();
        for item in chunk {
            let loaded = loader
                .load(item, &self.plan.preprocess, &loading::Probe(self.model))
                .and_then(|l| match reference {
                    Some(r) if *r != l.shape => Err(format!(
                        "expected an input of shape {r:?} like the others, found {:?} (see \
                         --resize and --center-crop)",
                        l.shape
                    )),
                    _ => Ok(l),
                });
            match loaded {
                Ok(l) => {
                    if reference.is_none() {
                        self.check_pictures(&l.shape)?;
                        *reference = Some(l.shape.clone());
                    }
                    ok.push((item, l));
                }
                Err(reason) if self.d.fail_fast => {
                    return Err(CliError::input(format!(
                    "{}: {reason} (--fail-fast: stopped at the first input that cannot be read)",
                    item.name
                )))
                }
                Err(reason) => {
                    bar.println(format!("smoothgrad: skipped {}: {reason}", item.name));
                    failures.push((item.name.to_string(), reason));
                }
            }
        }
        let outcome = self.explain_all(&mut ok, &mut failures)?;
        let mut w = Writer::new();
        if let Some((outcome, classes)) = &outcome {
            let outcome = outcome.to_f32();
            self.draw(&ok, &outcome, classes)?;
            w.tensor("attribution", &outcome.attribution);
            w.tensor("input", &stack(&ok).cast::<f32>());
            if let Some(se) = &outcome.std_error {
                w.tensor("std_error", se);
            }
            let t: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
            // `[N]`, or `[N, K]` with K classes per input (as `--output` writes them).
            let shape = if self.plan.target.several() {
                vec![ok.len(), t.len() / ok.len()]
            } else {
                vec![t.len()]
            };
            w.i64("target", &t, &shape)
                .map_err(|e| CliError::failure(e.to_string()))?;
        }
        let names: Vec<&str> = ok.iter().map(|(i, _)| &*i.name).collect();
        w.metadata("names", &json!(names).to_string());
        w.metadata("failures", &json!(failures).to_string());
        Ok(w)
    }

    /// Pictures need images `[C, H, W]` (`C` 1 or 3 for an overlay).
    fn check_pictures(&self, shape: &[usize]) -> Result<()> {
        let fits = match (self.d.pictures, shape) {
            (Pictures::None, _) => true,
            (Pictures::Map, [_, _, _]) => true,
            (_, [c, _, _]) => *c == 1 || *c == 3,
            _ => false,
        };
        if fits {
            return Ok(());
        }
        Err(CliError::input(
            format!(
            "--pictures {:?}: expected image inputs [C, H, W] (C 1 or 3 for an overlay), found \
             {shape:?}; use --pictures none",
            self.d.pictures
        )
            .to_lowercase(),
        ))
    }

    /// Explains the loaded inputs together; an input the library rejects (non-finite values, a
    /// class out of range) is moved to `failures` and the rest explained again without it.
    fn explain_all(
        &self,
        ok: &mut Vec<(&Item, Loaded<T>)>,
        failures: &mut Vec<(String, String)>,
    ) -> Result<Option<(Outcome<T>, Vec<usize>)>> {
        loop {
            if ok.is_empty() {
                return Ok(None);
            }
            match self.explain(ok) {
                Ok(done) => return Ok(Some(done)),
                Err(e) if per_input(&e) => {
                    // Find the inputs at fault, one by one, and drop them.
                    let mut kept = Vec::with_capacity(ok.len());
                    for entry in ok.drain(..) {
                        match self.explain(std::slice::from_ref(&entry)) {
                            Err(e) if per_input(&e) => {
                                let reason = in_context(e, &entry.0.name, "--target").message;
                                if self.d.fail_fast {
                                    return Err(CliError::input(reason));
                                }
                                failures.push((entry.0.name.to_string(), reason));
                            }
                            Err(e) => return Err(e.into()),
                            Ok(_) => kept.push(entry),
                        }
                    }
                    *ok = kept;
                }
                Err(e) => return Err(in_context(e, "the inputs", "--target")),
            }
        }
    }

    /// Explains `ok`, each input's noise keyed by its name. With several classes per input
    /// (`--target 3,7` or `top-K`) all of them at once, the flag's classes for every input;
    /// otherwise runs of consecutive inputs with a class (from their file or `--target N`) or
    /// without one (`--target predicted`, which the library resolves and checks) each as one
    /// batch. The classes come back flattened, `per_input` of them for each input.
    fn explain(
        &self,
        ok: &[(&Item, Loaded<T>)],
    ) -> std::result::Result<(Outcome<T>, Vec<usize>), ExplainError> {
        if self.plan.target.several() {
            let batch = stack(ok);
            let targets = self.plan.target.targets(self.model, &batch);
            let outcome = self.explain_batch(ok, &batch, &targets)?;
            let classes = match targets {
                Targets::Multiple(m) => m.concat(),
                Targets::Classes(c) => c,
                Targets::Predicted => unreachable!("several classes were asked for"),
            };
            return Ok((outcome, classes));
        }
        let flag = match &self.plan.target {
            TargetFlag::Classes(c) => c.first().copied(),
            TargetFlag::Predicted | TargetFlag::Top(_) => None,
        };
        let wanted: Vec<Option<usize>> = ok.iter().map(|(_, l)| l.target.or(flag)).collect();
        let (mut parts, mut classes, mut start) = (Vec::new(), Vec::new(), 0);
        while start < ok.len() {
            let given = wanted[start].is_some();
            let len = wanted[start..]
                .iter()
                .take_while(|w| w.is_some() == given)
                .count();
            let run = &ok[start..start + len];
            let batch = stack(run);
            let targets = if given {
                Targets::Classes(
                    wanted[start..start + len]
                        .iter()
                        .flatten()
                        .copied()
                        .collect(),
                )
            } else {
                Targets::Predicted
            };
            let outcome = self.explain_batch(run, &batch, &targets)?;
            match targets {
                Targets::Classes(c) => classes.extend(c),
                _ => classes.extend(predicted_classes(self.model, &batch)),
            }
            parts.push(outcome);
            start += len;
        }
        Ok((method::concat(parts), classes))
    }

    /// Explains `batch` (the inputs of `run`, stacked) for `targets`, keyed by their names.
    fn explain_batch(
        &self,
        run: &[(&Item, Loaded<T>)],
        batch: &Tensor<T>,
        targets: &Targets,
    ) -> std::result::Result<Outcome<T>, ExplainError> {
        let keys: Vec<u64> = run.iter().map(|(i, _)| i.key()).collect();
        method::explain(
            self.plan,
            self.baseline,
            self.model,
            batch,
            targets,
            Some(&keys),
            &smoothgrad::Progress::default(),
        )
    }

    /// Writes each input's picture, `OUT/NAME.png`, or with several classes per input one per
    /// class, `OUT/NAME.class-C.png`.
    fn draw(&self, ok: &[(&Item, Loaded<T>)], outcome: &Outcome, classes: &[usize]) -> Result<()> {
        if self.d.pictures == Pictures::None {
            return Ok(());
        }
        let shape: [usize; 3] = ok[0].1.shape[..].try_into().expect("checked: [C, H, W]");
        let len: usize = shape.iter().product();
        let per_input = classes.len() / ok.len();
        for (m, class) in classes.iter().enumerate() {
            let (item, loaded) = &ok[m / per_input];
            let a = &outcome.attribution.data()[m * len..(m + 1) * len];
            let input: Vec<f32> = loaded.data.iter().map(|v| to_f32(*v)).collect();
            let image = picture(&self.d.renderer, self.d.pictures, a, &input, shape)?;
            let name = match per_input {
                1 => item.picture(),
                _ => item.picture_of(*class),
            };
            let path = self.d.dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::failure(format!("cannot create \"{}\": {e}", parent.display()))
                })?;
            }
            smoothgrad_viz::save_png(&path, &image).map_err(|e| CliError {
                status: 1,
                ..viz_error(&format!("cannot write \"{}\"", path.display()), e)
            })?;
        }
        Ok(())
    }
}

/// `v` rounded to the nearest `f32`.
fn to_f32<T: Scalar>(v: T) -> f32 {
    v.to_f64_lossless() as f32
}

/// The loaded inputs of `run`, stacked into one batch.
fn stack<T: Scalar>(run: &[(&Item, Loaded<T>)]) -> Tensor<T> {
    let mut shape = vec![run.len()];
    shape.extend(&run[0].1.shape);
    let data: Vec<T> = run
        .iter()
        .flat_map(|(_, l)| l.data.iter().copied())
        .collect();
    Tensor::from_vec(data, &shape).expect("inputs of one shape")
}

/// Whether a library error is about one input (its values or class), not the whole request
/// (the classes' count is always right here, so a targets error is an unpredictable input).
fn per_input(e: &ExplainError) -> bool {
    matches!(
        e,
        ExplainError::NonFinite { .. }
            | ExplainError::InputRejected { .. }
            | ExplainError::TargetOutOfRange { .. }
            | ExplainError::Targets(_)
    )
}
