//! `evaluate`: scores an attributions file with [`smoothgrad::metrics`] and writes JSON.
//!
//! Per input: the deletion and insertion AUC of its map (RISE; the map is the sum of absolute
//! values over channels, [`reduce_abs_channels`]), its max-sensitivity (Yeh et al.: the worst
//! relative change of the explanation under `--perturbations` uniform perturbations of radius
//! `--radius`), the Spearman correlation of its map with the map of a fully randomized model
//! (Adebayo et al.: lower means the method depends on the model), and with `--masks` the energy
//! in the mask and the pointing game. The last three re-explain: the method and its settings are
//! read back from the file's metadata (what `explain` recorded), and each input's noise is keyed
//! as `explain` keyed it (its name for `--output-dir` runs, its position otherwise), so the
//! unperturbed explanation is the stored one.

use std::path::Path;

use clap::Parser;
use serde_json::{json, Map, Value};
use smoothgrad::metrics::{
    energy_in_mask, max_sensitivity, pointing_game, randomization_spearman, randomize_parameters,
    reduce_abs_channels, Deletion, Insertion,
};
use smoothgrad::{Cut, Model, Targets};
use smoothgrad_autograd::io::{self, TensorFile};
use smoothgrad_autograd::Tensor;

use super::explain::method::{self, RunBaseline};
use crate::cli::{Cli, Command, EvaluateArgs};
use crate::dataset::listing::key;
use crate::dataset::partial::write_atomic;
use crate::error::{CliError, Result};
use crate::inputs;
use crate::plan::ExplainPlan;

/// The measures `--metrics` may name.
const METRICS: [&str; 5] = [
    "deletion",
    "insertion",
    "sensitivity",
    "randomization",
    "localization",
];

/// Runs `evaluate`.
pub fn run(args: &EvaluateArgs) -> Result<()> {
    let metrics: Vec<&str> = args.metrics.split(',').map(str::trim).collect();
    if let Some(m) = metrics.iter().find(|m| !METRICS.contains(m)) {
        return Err(CliError::input(format!(
            "--metrics: expected some of {}, found {m:?}",
            METRICS.join(", ")
        )));
    }
    let wants = |m: &str| metrics.contains(&m);
    if wants("localization") != args.masks.is_some() {
        return Err(CliError::input(
            "--metrics localization needs --masks, and --masks needs --metrics localization",
        ));
    }
    smoothgrad::threads::check(args.threads)?;
    let file = io::read_file(&args.attributions)?;
    let attribution: Tensor<f32> = file.get("attribution")?;
    let (targets, _) = file.get_i64("target")?;
    let x = match (file.contains("input"), args.input.is_empty()) {
        (true, true) => file.get("input")?,
        (_, false) => {
            let preprocess =
                crate::preprocess::Preprocess::from_options(&crate::cli::PreprocessOptions {
                    normalize: args.normalize.clone(),
                    ..Default::default()
                })?;
            // Image files keep their own channels (the model is loaded below).
            inputs::load_inputs(&args.input, &preprocess, &inputs::Native)?.tensor
        }
        (false, true) => {
            return Err(CliError::input(format!(
                "{}: no \"input\" tensor; give the inputs explained with --input",
                file.source()
            )))
        }
    };
    let &[n, c, h, w] = attribution.shape() else {
        return Err(CliError::input(format!(
            "{}: expected image attributions [N, C, H, W], found {:?}",
            file.source(),
            attribution.shape()
        )));
    };
    if x.shape() != attribution.shape() || targets.len() != n {
        return Err(CliError::input(format!(
            "the inputs {:?} and {} targets do not match the attributions {:?}",
            x.shape(),
            targets.len(),
            attribution.shape()
        )));
    }
    let names = names(&file, n);
    let keyed = file.metadata().contains_key("noise_keys");
    let masks = match &args.masks {
        Some(m) => Some(load_masks(m, &names, n, h, w)?),
        None => None,
    };
    // Read once; the randomization test's copy is converted (or loaded) from the same source.
    let source = inputs::ModelSource::<f32>::open(&args.model, args.arch.as_deref())?;
    let model = source.build_copy(None)?;
    let replay = if wants("sensitivity") || wants("randomization") {
        Some(replay_plan(&file, args)?)
    } else {
        None
    };
    let mut random = None;
    if wants("randomization") {
        let mut m = source.build_copy(None)?;
        randomize_parameters(&mut *m, args.seed);
        random = Some(m);
    }
    let len = c * h * w;
    let bar = crate::progress::bar(n as u64, "inputs", args.quiet);
    let rows = smoothgrad::threads::run_in_pool(args.threads, || -> Result<Vec<Value>> {
        let cut = Cut::before_softmax(&*model);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let a = &attribution.data()[i * len..(i + 1) * len];
            let xi = Tensor::from_vec(x.data()[i * len..(i + 1) * len].to_vec(), &[c, h, w])
                .expect("one input");
            let t = usize::try_from(targets[i]).map_err(|_| {
                CliError::input(format!(
                    "{}: target {} is negative",
                    file.source(),
                    targets[i]
                ))
            })?;
            let map = reduce_abs_channels(a, c, h, w);
            let mut row = Map::new();
            row.insert("name".into(), json!(names[i]));
            row.insert("target".into(), json!(t));
            if wants("deletion") {
                let d = Deletion {
                    steps: args.steps,
                    ..Deletion::default()
                };
                row.insert(
                    "deletion_auc".into(),
                    json!(d.curve(&cut, &xi, &map, t)?.auc),
                );
            }
            if wants("insertion") {
                let d = Insertion {
                    steps: args.steps,
                    ..Insertion::default()
                };
                row.insert(
                    "insertion_auc".into(),
                    json!(d.curve(&cut, &xi, &map, t)?.auc),
                );
            }
            let stream_key = if keyed { key(&names[i]) } else { i as u64 };
            if let Some((plan, baseline)) = &replay {
                let explain = |m: &dyn Model, input: &Tensor<f32>| -> Result<Tensor<f32>> {
                    let batch =
                        Tensor::from_vec(input.data().to_vec(), &[1, c, h, w]).expect("one input");
                    let o = method::explain(
                        plan,
                        baseline,
                        m,
                        &batch,
                        &Targets::Classes(vec![t]),
                        Some(&[stream_key]),
                        &smoothgrad::Progress::default(),
                    )?;
                    Ok(o.attribution)
                };
                if wants("sensitivity") {
                    let mut failed = None;
                    let s = max_sensitivity(
                        |p: &Tensor<f32>| {
                            explain(&cut, p).unwrap_or_else(|e| {
                                failed = Some(e);
                                Tensor::zeros(&[1, c, h, w])
                            })
                        },
                        &xi,
                        args.radius,
                        args.perturbations,
                        args.seed,
                    );
                    if let Some(e) = failed {
                        return Err(e);
                    }
                    row.insert("max_sensitivity".into(), json!(s));
                }
                if let Some(r) = &random {
                    let rc = Cut::before_softmax(&**r);
                    let ra = explain(&rc, &xi)?;
                    let rmap = reduce_abs_channels(ra.data(), c, h, w);
                    row.insert(
                        "randomization_spearman".into(),
                        json!(randomization_spearman(&map, &rmap)),
                    );
                }
            }
            if let Some(masks) = &masks {
                let mask = &masks[i * h * w..(i + 1) * h * w];
                row.insert("energy_in_mask".into(), json!(energy_in_mask(&map, mask)));
                row.insert(
                    "pointing_hit".into(),
                    json!(pointing_game(&map, mask, h, w, args.pointing_tolerance)),
                );
            }
            rows.push(Value::Object(row));
            bar.inc(1);
        }
        Ok(rows)
    })
    .map_err(|e| CliError::failure(e.to_string()))??;
    bar.finish_and_clear();
    let report = json!({
        "attributions": args.attributions.display().to_string(),
        "settings": file.metadata(),
        "mean": means(&rows),
        "inputs": rows,
    });
    let text = serde_json::to_string_pretty(&report).expect("JSON values serialize") + "\n";
    match &args.output {
        Some(path) => {
            write_atomic(path, text.as_bytes())?;
            println!("wrote the scores of {n} inputs to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The inputs' names: the file's "files" metadata, else "0", "1", ...
fn names(file: &TensorFile, n: usize) -> Vec<String> {
    file.metadata()
        .get("files")
        .and_then(|f| serde_json::from_str::<Vec<String>>(f).ok())
        .filter(|v| v.len() == n)
        .unwrap_or_else(|| (0..n).map(|i| i.to_string()).collect())
}

/// The mean of every numeric score over the inputs (a hit counts 1, a miss 0).
fn means(rows: &[Value]) -> Value {
    let mut sums: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    for row in rows {
        for (k, v) in row.as_object().into_iter().flatten() {
            let x = match v {
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Number(x) if k != "target" => x.as_f64().unwrap_or(f64::NAN),
                _ => continue,
            };
            let e = sums.entry(k.clone()).or_default();
            e.0 += x;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, (s, n))| (k, json!(s / n as f64)))
        .collect::<Map<_, _>>()
        .into()
}

/// The explain plan the file's metadata records (`explain`'s flags replayed).
fn replay_plan(file: &TensorFile, args: &EvaluateArgs) -> Result<(ExplainPlan, RunBaseline)> {
    let meta = file.metadata();
    let mut argv: Vec<String> = ["smoothgrad", "explain", "--model"]
        .into_iter()
        .map(String::from)
        .collect();
    argv.push(args.model.display().to_string());
    argv.extend([
        "--input".into(),
        "unused".into(),
        "--output".into(),
        "unused.safetensors".into(),
    ]);
    if let Some(a) = &args.arch {
        argv.extend(["--arch".into(), a.clone()]);
    }
    let Some(method) = meta.get("method") else {
        return Err(CliError::input(format!(
            "{}: no \"method\" metadata, so it cannot be re-explained (use --metrics deletion,insertion)",
            file.source()
        )));
    };
    argv.extend(["--method".into(), method.clone()]);
    for (key, flag) in [
        ("operator", "--operator"),
        ("base", "--base"),
        ("samples", "--samples"),
        ("seed", "--seed"),
        ("noise_dist", "--noise-dist"),
        ("min_samples", "--min-samples"),
        ("tolerance", "--tolerance"),
        ("clamp", "--clamp"),
        ("ig_steps", "--ig-steps"),
        ("ig_rule", "--ig-rule"),
        ("ig_baseline", "--ig-baseline"),
        ("normalize", "--normalize"),
    ] {
        if let Some(v) = meta.get(key) {
            argv.extend([flag.to_string(), v.clone()]);
        }
    }
    if let Some((level, mode)) = meta.get("noise").and_then(|v| v.split_once(' ')) {
        argv.extend([
            "--noise".into(),
            level.into(),
            "--noise-mode".into(),
            mode.into(),
        ]);
    }
    let bad = |e: String| {
        CliError::input(format!(
            "{}: its settings metadata cannot be replayed: {e}",
            file.source()
        ))
    };
    let parsed = Cli::try_parse_from(&argv)
        .map_err(|e| bad(e.to_string().lines().next().unwrap_or("").into()))?;
    let Some(Command::Explain(explain)) = parsed.command else {
        unreachable!("the arguments name explain")
    };
    let plan = ExplainPlan::new(&explain).map_err(|e| bad(e.message))?;
    let baseline = RunBaseline::of(&plan)?;
    Ok((plan, baseline))
}

/// The masks `[N, H, W]` (true inside the object), from a tensor file or a folder of images.
fn load_masks(path: &Path, names: &[String], n: usize, h: usize, w: usize) -> Result<Vec<bool>> {
    if path.is_dir() {
        let mut out = Vec::with_capacity(n * h * w);
        for name in names {
            let p = path.join(name);
            let img = smoothgrad_viz::load(&p).map_err(|e| {
                crate::error::viz_error(&format!("--masks: cannot read \"{}\"", p.display()), e)
            })?;
            if (img.height(), img.width()) != (h, w) {
                return Err(CliError::input(format!(
                    "--masks: \"{}\" is {}x{} but the attributions are {h}x{w}",
                    p.display(),
                    img.height(),
                    img.width()
                )));
            }
            out.extend(img.data()[..h * w].iter().map(|&v| v > 0.5));
        }
        return Ok(out);
    }
    let file = io::read_file(path)?;
    let m: Tensor<f32> = file.get("mask")?;
    if m.shape() != [n, h, w] {
        return Err(CliError::input(format!(
            "{}: tensor \"mask\": expected shape [{n}, {h}, {w}], found {:?}",
            file.source(),
            m.shape()
        )));
    }
    Ok(m.data().iter().map(|&v| v != 0.0).collect())
}
