//! `demo`, the default command: trains a small CNN on the synthetic `shapes` dataset with our own
//! autodiff, explains held-out images with six methods, draws the SmoothGrad paper's figures
//! (methods side by side, a noise sweep, a sample-count sweep) and scores every method on the
//! ground-truth object masks.
//!
//! Everything lands under `--out` (default `out/`): `methods.png`, `noise_sweep.png`,
//! `samples_sweep.png`, `metrics.json`, `model.safetensors`.

mod figures;
mod methods;
mod report;
mod train;

use std::time::Instant;

use crate::cli::DemoArgs;
use crate::error::{CliError, Result};

/// The demo's scale: the full run, or `--quick` for tests.
pub struct Plan {
    /// A shortened run (no accuracy requirement).
    pub quick: bool,
    /// Training images.
    pub train_images: usize,
    /// Held-out images (the test accuracy).
    pub test_images: usize,
    /// Passes over the training images.
    pub epochs: usize,
    /// Held-out images drawn in the figures.
    pub figure_images: usize,
    /// Held-out images the metrics average over.
    pub metric_images: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                quick,
                train_images: 400,
                test_images: 100,
                epochs: 2,
                figure_images: 2,
                metric_images: 4,
            }
        } else {
            Plan {
                quick,
                train_images: 5000,
                test_images: 500,
                epochs: 16,
                figure_images: 6,
                metric_images: 64,
            }
        }
    }
}

/// Runs the demo: trains, saves the model, draws the figures and writes the metrics.
pub fn run(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    if args.threads == Some(0) {
        return Err(CliError::input("--threads must be at least 1, found 0"));
    }
    let plan = Plan::new(args.quick);
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", args.out.display())))?;
    let run = smoothgrad::threads::run_in_pool(args.threads, || {
        let trained = train::train(&plan, args.seed)?;
        let model_path = args.out.join("model.safetensors");
        smoothgrad_nn::weights::save(&trained.model, &model_path)?;
        println!("saved the model to {}", model_path.display());

        let written = figures::draw_all(&trained, &plan, args)?;
        let scores = report::evaluate(&trained, &plan, args.seed)?;
        let metrics_path = args.out.join("metrics.json");
        report::write_json(&scores, &metrics_path)?;
        report::print_table(&scores);

        println!("\nwrote:");
        for p in written.iter().chain([&metrics_path, &model_path]) {
            println!("  {}", p.display());
        }
        println!(
            "done in {:.0} s (CNN test accuracy {:.1}%)",
            started.elapsed().as_secs_f64(),
            100.0 * trained.test_accuracy
        );
        Ok(())
    });
    run.map_err(|e| CliError::failure(e.to_string()))?
}
