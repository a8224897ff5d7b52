//! `demo --model M --input DIR`: the demo's figures, plots, metrics and report for a user's own
//! model (ONNX or safetensors, loaded as `explain` loads it) and a folder of images (each read
//! as `explain --input` reads images). Each image is explained for the model's predicted class.
//! There are no object masks, so the metrics are deletion, insertion and the randomization
//! check.

use std::path::{Path, PathBuf};
use std::time::Instant;

use smoothgrad::metrics::randomize_parameters;
use smoothgrad::{predicted, Model};

use super::report::{self, Page, Run};
use super::scores::{self, Batch};
use super::{captions, draw_plots, figures, sweeps, Plan};
use crate::cli::DemoArgs;
use crate::cli::Layout;
use crate::dataset::listing;
use crate::error::{CliError, Result};
use crate::files::is_safetensors;
use crate::inputs::{load_inputs, ModelSource};
use crate::preprocess::Preprocess;

/// The images in `dir` and its subfolders, found and ordered as `explain --input DIR` finds
/// them (JPEG, PNG, WebP, BMP and PNM files; hidden files and other files are skipped).
///
/// # Errors
/// `dir` is not a readable folder, or holds no image.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(CliError::input(format!(
            "--input: expected a folder of images, found no folder \"{}\"",
            dir.display()
        )));
    }
    let none = || {
        let images: Vec<&str> = listing::INPUT_EXTENSIONS
            .into_iter()
            .filter(|e| *e != "safetensors")
            .collect();
        CliError::input(format!(
            "--input: expected a folder with images (.{}), found none in \"{}\"",
            images.join(", ."),
            dir.display()
        ))
    };
    // The demo wants images only, so the tensor files the listing also finds are dropped.
    let sources = listing::folder(dir)?;
    let files: Vec<PathBuf> = sources
        .into_iter()
        .map(|s| s.path)
        .filter(|p| !is_safetensors(p))
        .collect();
    if files.is_empty() {
        return Err(none());
    }
    Ok(files)
}

/// Runs the demo on the user's model and images.
pub fn run(args: &DemoArgs, plan: &Plan, started: Instant) -> Result<()> {
    let (model_path, dir) = match (&args.model, &args.input) {
        (Some(m), Some(d)) => (m, d),
        _ => return Err(CliError::input("--model and --input go together")),
    };
    let preprocess = Preprocess::from_options(&args.preprocess)?;
    if preprocess.layout != Layout::Nchw {
        return Err(CliError::input(
            "--layout: the demo draws maps of [N, C, H, W] images; use explain for other layouts",
        ));
    }
    let files = image_files(dir)?;
    // The model file is read once; the images decode to the channels its input declares, and
    // an ONNX graph is built for their real shape (its symbolic height and width).
    let source = ModelSource::<f32>::open(model_path, None)?;
    let images = load_inputs(&files, &preprocess, &source)?.tensor;
    let model = source.build_copy(Some(images.shape()))?;
    let shape = Model::output_shape(&model, images.shape())
        .map_err(|e| CliError::input(format!("{}: {e}", model_path.display())))?;
    let classes = match shape.as_slice() {
        [_, k] if *k > 0 => *k,
        other => {
            return Err(CliError::input(format!(
                "{}: expected outputs [N, classes], found {other:?}",
                model_path.display()
            )))
        }
    };
    let targets = predicted(&model, &images, classes);
    let n = files.len();
    println!(
        "explaining {n} images of {} with {} ({classes} classes), predicted classes {targets:?}",
        dir.display(),
        model_path.display()
    );
    let out = &args.out;
    let seed = args.seeds.first().copied().unwrap_or(0);
    let f = n.min(4);
    let mut written = figures::draw_all(
        &model,
        &images.select_rows(0..f),
        &targets[..f],
        plan.smoothing(seed),
        out,
    )?;
    println!("measuring the standard error of SmoothGrad against N");
    let std_error = sweeps::std_error_vs_samples(
        &model,
        &images.select_rows(0..1),
        &targets[..1],
        plan.se_repeats,
        2 * plan.samples,
        plan.smoothing(seed),
    )?;
    println!("scoring the methods on the {n} images");
    let batch = Batch {
        images: &images,
        targets: &targets,
        masks: None,
    };
    let maps = super::methods::attributions(&model, &images, &targets, plan.smoothing(seed))?;
    let mut scores = scores::evaluate(&model, &batch, &maps)?;
    let mut random = source.build_copy(Some(images.shape()))?;
    randomize_parameters(&mut *random, seed.wrapping_add(17));
    for (s, rho) in scores.iter_mut().zip(scores::randomization(
        &model,
        &random,
        &batch,
        plan.smoothing(seed),
    )?) {
        s.randomization_spearman = Some(rho);
    }
    let name = model_path.file_name().map_or_else(
        || model_path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let runs = vec![Run {
        name: name.clone(),
        scores,
    }];
    written.extend(draw_plots(&runs, &[], &std_error, out)?);
    let metrics_path = out.join("metrics.json");
    let json = serde_json::to_string_pretty(&report::metrics_json(&runs)).expect("JSON");
    report::write_atomic(&metrics_path, (json + "\n").as_bytes())?;
    report::print_table(&runs);
    let seconds = started.elapsed().as_secs_f64();
    let page = Page {
        title: "SmoothGrad on your model",
        notes: vec![
            format!(
                "Model {name}, {n} images from {}, each explained for its predicted class \
                 ({targets:?}); SmoothGrad with {} samples at {}% noise.",
                dir.display(),
                plan.samples,
                100.0 * plan.noise
            ),
            "Without object masks there is no energy-in-mask or pointing-game score: the table \
             has the deletion and insertion AUC and the randomization check."
                .to_string(),
            format!("The whole run took {seconds:.0} s."),
        ],
        pictures: captions(&written, plan.noise),
    };
    let report_path = out.join("report.html");
    report::write_html(&page, &runs, &report_path)?;
    println!("\nwrote:");
    for p in written.iter().chain([&metrics_path, &report_path]) {
        println!("  {}", p.display());
    }
    println!("done in {seconds:.0} s");
    Ok(())
}
