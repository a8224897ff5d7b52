//! `demo`, the default command. On synthetic data: for each seed (0, 1, 2 by default) it
//! generates `scenes` (several objects, one of which carries the class, on textured
//! backgrounds), trains the chosen setup's model with our own autodiff, and scores six methods on
//! held-out images against the target objects' masks; on the first seed it also draws the
//! SmoothGrad paper's figures and measures the sweeps. With `--model` and `--input` it does the
//! same for a user's own model and images ([`real`]).
//!
//! Everything lands under `--out` (default `out/`): `methods.png`, `noise_sweep.png`,
//! `samples_sweep.png`, `std_error.png`, `noise_metrics.png`, `deletion_insertion.png`,
//! `metrics.json`, `report.html` and (synthetic data) `noise_metrics.json`, SmoothGrad's
//! localization and scatter at each noise level, and `model.safetensors`. SmoothGrad's noise level is
//! `setups::CHOSEN_NOISE` unless `--noise` sets it.

mod canvas;
mod figures;
mod methods;
mod plots;
mod real;
mod report;
mod scores;
mod setups;
mod sweeps;
mod train;

use std::path::PathBuf;
use std::time::Instant;

use smoothgrad::metrics::randomize_parameters;
use smoothgrad_nn::Sequential;

use crate::cli::DemoArgs;
use crate::error::{CliError, Result};
use crate::progress::phase;
use methods::Smoothing;
use report::{Page, Run};
use scores::{mean_std, Batch};
use setups::Setup;

/// The demo's scale: the full run, or `--quick` for tests.
pub struct Plan {
    /// A shortened run (one seed, no accuracy requirement).
    pub quick: bool,
    /// Training images (`None`: the setup's).
    pub train_images: Option<usize>,
    /// Passes over the training images (`None`: the setup's).
    pub epochs: Option<usize>,
    /// Held-out images (the test accuracy).
    pub test_images: usize,
    /// The test accuracy below which the full demo fails.
    pub min_accuracy: f64,
    /// Held-out images drawn in the figures.
    pub figure_images: usize,
    /// Held-out images the metrics average over, per seed.
    pub metric_images: usize,
    /// Held-out images of the randomization check, per seed.
    pub random_images: usize,
    /// Images and noise seeds of the standard-error measurement.
    pub se_images: usize,
    /// Independent noise seeds of the standard-error measurement.
    pub se_repeats: usize,
    /// SmoothGrad's samples (the paper's 50); the sweeps go up to twice as many.
    pub samples: usize,
    /// SmoothGrad's noise level relative to each input's range.
    pub noise: f64,
}

impl Plan {
    /// The full run, or with `quick` the test-sized one, with SmoothGrad at relative `noise`.
    /// The localization-against-noise sweep runs on the metric images.
    fn new(quick: bool, noise: f64) -> Self {
        if quick {
            Plan {
                quick,
                train_images: Some(64),
                epochs: Some(1),
                test_images: 16,
                min_accuracy: 0.0,
                figure_images: 1,
                metric_images: 2,
                random_images: 2,
                se_images: 1,
                se_repeats: 2,
                samples: 4,
                noise,
            }
        } else {
            Plan {
                quick,
                train_images: None,
                epochs: None,
                test_images: 300,
                min_accuracy: 0.85,
                figure_images: 3,
                metric_images: 32,
                random_images: 16,
                se_images: 2,
                se_repeats: 4,
                samples: 50,
                noise,
            }
        }
    }

    /// SmoothGrad's settings on `seed`.
    pub fn smoothing(&self, seed: u64) -> Smoothing {
        Smoothing {
            seed,
            samples: self.samples,
            noise: self.noise,
        }
    }
}

impl DemoArgs {
    /// The arguments of a bare `smoothgrad`: the full demo into `out/` on seeds 0, 1 and 2.
    pub fn default_run() -> Self {
        DemoArgs {
            out: "out".into(),
            seeds: vec![0, 1, 2],
            threads: None,
            quick: false,
            setup: None,
            noise: None,
            model: None,
            input: None,
            preprocess: crate::cli::PreprocessOptions::default(),
        }
    }
}

/// Runs the demo: trains, saves the model, draws the figures and plots, writes the metrics and
/// the report.
pub fn run(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    if args.threads == Some(0) {
        return Err(CliError::input("--threads must be at least 1, found 0"));
    }
    let noise = match args.noise {
        None => setups::CHOSEN_NOISE,
        Some(pct) if pct.is_finite() && (0.0..=100.0).contains(&pct) => pct / 100.0,
        Some(pct) => {
            return Err(CliError::input(format!(
                "--noise: expected a percentage of the input range from 0 to 100, found {pct}"
            )))
        }
    };
    let plan = Plan::new(args.quick, noise);
    if args.model.is_none() && preprocessing_given(&args.preprocess) {
        return Err(CliError::input(
            "--preprocess, --resize, --center-crop, --pixel-range, --normalize, --layout and \
             --exif-orientation describe your images: they need --model and --input",
        ));
    }
    if args.model.is_some() {
        std::fs::create_dir_all(&args.out).map_err(|e| cannot_create(args, e))?;
        let run =
            smoothgrad::threads::run_in_pool(args.threads, || real::run(args, &plan, started));
        return run.map_err(|e| CliError::failure(e.to_string()))?;
    }
    let name = args.setup.as_deref().unwrap_or(setups::CHOSEN);
    let setup = setups::find(name).ok_or_else(|| {
        let names: Vec<&str> = setups::SETUPS.iter().map(|s| s.name).collect();
        CliError::input(format!(
            "--setup: expected one of {}, found {name:?}",
            names.join(", ")
        ))
    })?;
    let seeds: Vec<u64> = match (args.quick, args.seeds.as_slice()) {
        (_, []) => return Err(CliError::input("--seeds: expected at least one seed")),
        (true, [first, ..]) => vec![*first],
        (false, all) => all.to_vec(),
    };
    std::fs::create_dir_all(&args.out).map_err(|e| cannot_create(args, e))?;
    let run = smoothgrad::threads::run_in_pool(args.threads, || {
        synthetic(args, setup, &plan, &seeds, started)
    });
    run.map_err(|e| CliError::failure(e.to_string()))?
}

fn cannot_create(args: &DemoArgs, e: std::io::Error) -> CliError {
    CliError::failure(format!("cannot create {}: {e}", args.out.display()))
}

/// The synthetic demo on `seeds`.
fn synthetic(
    args: &DemoArgs,
    setup: &Setup,
    plan: &Plan,
    seeds: &[u64],
    started: Instant,
) -> Result<()> {
    let out = &args.out;
    let (mut runs, mut noise, mut accuracy, mut train_seconds) = (vec![], vec![], vec![], 0.0);
    let mut written: Vec<PathBuf> = vec![];
    let mut std_error = vec![];
    for (k, &seed) in seeds.iter().enumerate() {
        let trained = train::train(setup, plan, seed)?;
        accuracy.push(trained.test_accuracy);
        train_seconds += trained.train_seconds;
        let (model, test) = (&trained.model, &trained.test);
        if k == 0 {
            let path = out.join("model.safetensors");
            smoothgrad_nn::weights::save(model, &path)?;
            let n = plan.figure_images;
            let images = test.images.select_rows(0..n);
            let drawing =
                format!("drawing the figures of {n} images (methods, noise and N sweeps)");
            written.extend(phase(&drawing, false, || {
                figures::draw_all(model, &images, &test.labels[..n], plan.smoothing(seed), out)
            })?);
            let n = plan.se_images;
            std_error = phase(
                "measuring the standard error of SmoothGrad against N",
                false,
                || {
                    sweeps::std_error_vs_samples(
                        model,
                        &test.images.select_rows(0..n),
                        &test.labels[..n],
                        plan.se_repeats,
                        2 * plan.samples,
                        plan.smoothing(seed),
                    )
                },
            )?;
            written.push(path);
        }
        let n = plan.metric_images.min(test.len());
        let scoring = format!("seed {seed}: scoring the methods on {n} held-out images");
        let images = test.images.select_rows(0..n);
        let masks: Vec<&[bool]> = (0..n).map(|i| test.mask(i)).collect();
        let batch = Batch {
            images: &images,
            targets: &test.labels[..n],
            masks: Some(masks.clone()),
        };
        let (maps, mut scores) = phase(&scoring, false, || -> Result<_> {
            let maps = methods::attributions(model, &images, batch.targets, plan.smoothing(seed))?;
            let scores = scores::evaluate(model, &batch, &maps)?;
            Ok((maps, scores))
        })?;
        let r = plan.random_images.min(n);
        let mut random: Sequential = Sequential::from_spec(&model.to_string())?;
        randomize_parameters(&mut random, seed.wrapping_add(17));
        let small = Batch {
            images: &images.select_rows(0..r),
            targets: &test.labels[..r],
            masks: None,
        };
        let rho = phase(
            &format!("seed {seed}: the same methods on a randomized model ({r} images)"),
            false,
            || scores::randomization(model, &random, &small, plan.smoothing(seed)),
        )?;
        for (s, rho) in scores.iter_mut().zip(rho) {
            s.randomization_spearman = Some(rho);
        }
        let sweeping =
            format!("seed {seed}: localization against the noise level on the {n} images");
        noise.push(phase(&sweeping, false, || {
            sweeps::localization_vs_noise(
                model,
                &images,
                &test.labels[..n],
                &masks,
                plan.smoothing(seed),
                &[(0.0, &maps[0]), (plan.noise, &maps[1])],
            )
        })?);
        runs.push(Run {
            name: format!("seed {seed}"),
            scores,
        });
    }
    written.extend(draw_plots(&runs, &noise, &std_error, out)?);
    let metrics_path = out.join("metrics.json");
    let json = serde_json::to_string_pretty(&report::metrics_json(&runs)).expect("JSON");
    report::write_atomic(&metrics_path, (json + "\n").as_bytes())?;
    let sweep_path = out.join("noise_metrics.json");
    let json = report::noise_sweep_json(&sweeps::METRIC_LEVELS, &runs, &noise);
    let json = serde_json::to_string_pretty(&json).expect("JSON");
    report::write_atomic(&sweep_path, (json + "\n").as_bytes())?;
    report::print_table(&runs);
    let (acc, acc_std) = mean_std(&accuracy);
    let seconds = started.elapsed().as_secs_f64();
    let page = Page {
        title: "SmoothGrad demo: removing noise by adding noise",
        notes: vec![
            format!("Setup \"{}\": {}.", setup.name, setup.summary),
            format!(
                "Seeds {seeds:?}: test accuracy {:.1}% ± {:.1}%; {:.0} s of training in total, \
                 {seconds:.0} s for the whole run.",
                100.0 * acc,
                100.0 * acc_std,
                train_seconds
            ),
            format!(
                "Metrics on {} held-out images per seed (randomization on {}); figures and \
                 the standard error on seed {}; SmoothGrad with {} samples at {}% noise.",
                plan.metric_images,
                plan.random_images,
                seeds[0],
                plan.samples,
                100.0 * plan.noise
            ),
        ],
        pictures: captions(&written, plan.noise),
    };
    let report_path = out.join("report.html");
    report::write_html(&page, &runs, &report_path)?;
    println!("\nwrote:");
    for p in written
        .iter()
        .chain([&metrics_path, &sweep_path, &report_path])
    {
        println!("  {}", p.display());
    }
    println!(
        "done in {seconds:.0} s (test accuracy {:.1}% ± {:.1}% over {} seeds)",
        100.0 * acc,
        100.0 * acc_std,
        seeds.len()
    );
    Ok(())
}

/// The three plots; `noise` may be empty (no masks), then its plot is skipped.
fn draw_plots(
    runs: &[Run],
    noise: &[Vec<sweeps::NoisePoint>],
    std_error: &[sweeps::StdError],
    out: &std::path::Path,
) -> Result<Vec<PathBuf>> {
    let mut written = vec![plots::std_error(std_error, out)?];
    if !noise.is_empty() {
        written.push(plots::localization_vs_noise(
            &sweeps::METRIC_LEVELS,
            noise,
            out,
        )?);
    }
    let mean_curve = |m: usize, deletion: bool| -> Vec<f64> {
        let curves: Vec<&Vec<f64>> = runs
            .iter()
            .map(|r| {
                let s = &r.scores[m];
                if deletion {
                    &s.deletion_curve
                } else {
                    &s.insertion_curve
                }
            })
            .collect();
        (0..curves[0].len())
            .map(|i| curves.iter().map(|c| c[i]).sum::<f64>() / curves.len() as f64)
            .collect()
    };
    let methods = runs[0].scores.len();
    let deletion: Vec<Vec<f64>> = (0..methods).map(|m| mean_curve(m, true)).collect();
    let insertion: Vec<Vec<f64>> = (0..methods).map(|m| mean_curve(m, false)).collect();
    written.push(plots::deletion_insertion(&deletion, &insertion, out)?);
    Ok(written)
}

/// The report's caption of each written PNG (SmoothGrad at relative `noise`).
fn captions(written: &[PathBuf], noise: f64) -> Vec<(String, PathBuf)> {
    written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .map(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let samples = format!(
                "SmoothGrad with N = 1 to 100 samples at {}% noise (the paper's figure 4)",
                100.0 * noise
            );
            let caption = match name {
                "methods.png" => {
                    "The six methods (columns) on held-out images: per image, the \
                                  absolute map (gray, PAIR's rendering), the signed map (blue \
                                  negative, red positive) and the absolute map over the input"
                }
                "noise_sweep.png" => {
                    "SmoothGrad at noise levels 0% (the gradient) to 50% of \
                                      the input range, N = 50 (the paper's figure 3)"
                }
                "samples_sweep.png" => &samples,
                "std_error.png" => {
                    "Monte-Carlo standard error of the SmoothGrad mean against \
                                    N, log-log, with the 1/sqrt(N) line"
                }
                "noise_metrics.png" => {
                    "Energy in the mask, pointing game and scatter (lower \
                                        is smoother) of SmoothGrad against the noise level on the \
                                        metric images (0% is the gradient; thin: each seed; \
                                        thick: mean; the values are in noise_metrics.json)"
                }
                "deletion_insertion.png" => "Mean deletion and insertion curves of each method",
                _ => name,
            };
            (caption.to_string(), p.clone())
        })
        .collect()
}

/// Whether any image-preprocessing flag was given.
fn preprocessing_given(o: &crate::cli::PreprocessOptions) -> bool {
    o.preprocess.is_some()
        || o.resize.is_some()
        || o.center_crop.is_some()
        || o.pixel_range.is_some()
        || o.normalize.is_some()
        || o.layout.is_some()
        || o.exif_orientation
}
