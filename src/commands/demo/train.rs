//! The demo's data and model: `scenes` of the chosen setup, its model, Adam, progress bars.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use smoothgrad::datasets::scenes::Scenes;
use smoothgrad::datasets::shapes::CLASSES;
use smoothgrad_nn::optim::{Adam, AdamConfig};
use smoothgrad_nn::train::{evaluate, fit, BatchStats, EpochStats, Progress, TrainConfig};
use smoothgrad_nn::Sequential;

use super::setups::Setup;
use super::Plan;
use crate::error::{CliError, Result};

/// A trained model and the held-out data it is explained on.
pub struct Trained {
    /// The model, in evaluation mode.
    pub model: Sequential,
    /// Held-out scenes.
    pub test: Scenes,
    /// The model's accuracy on `test`.
    pub test_accuracy: f64,
    /// Seconds spent training.
    pub train_seconds: f64,
}

/// Draws one progress bar per epoch and prints each epoch's loss and accuracy.
struct Bars {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl Progress for Bars {
    fn on_batch(&mut self, s: &BatchStats) {
        let epochs = self.epochs;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(s.batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "  epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg} ({elapsed})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{epochs}", s.epoch));
            bar
        });
        bar.set_message(format!("{:.3}", s.loss));
        bar.inc(1);
    }

    fn on_epoch(&mut self, s: &EpochStats) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "  epoch {}/{}: loss {:.4}, train accuracy {:.1}%",
            s.epoch,
            self.epochs,
            s.loss,
            100.0 * s.accuracy
        );
    }
}

/// Generates the data of `seed` and trains the setup's model on it.
pub fn train(setup: &Setup, plan: &Plan, seed: u64) -> Result<Trained> {
    let n = setup.scenes.size;
    let train_images = plan.train_images.unwrap_or(setup.train_images);
    let epochs = plan.epochs.unwrap_or(setup.epochs);
    println!(
        "seed {seed}: {train_images} training and {} test scenes ({}x{n}x{n}: one {} among \
         {} distractors)",
        plan.test_images,
        3,
        CLASSES.join("/"),
        setup.scenes.distractors
    );
    let train = Scenes::generate_with(train_images, seed, setup.scenes);
    let test = Scenes::generate_with(plan.test_images, seed.wrapping_add(1_000_003), setup.scenes);
    let mut model: Sequential = Sequential::from_spec_seeded(setup.spec, seed)?;
    println!(
        "training the {} model ({} parameters, {epochs} epochs)",
        setup.name,
        model.num_parameters()
    );
    let mut optimizer = Adam::new(AdamConfig::new(setup.learning_rate))?;
    let config = TrainConfig {
        epochs,
        batch_size: setup.batch_size,
        seed,
        shuffle: true,
    };
    let mut bars = Bars { bar: None, epochs };
    let started = Instant::now();
    fit(
        &mut model,
        &mut optimizer,
        &train.images,
        &train.labels,
        &config,
        &mut bars,
    )?;
    let train_seconds = started.elapsed().as_secs_f64();
    let held_out = evaluate(&mut model, &test.images, &test.labels, 100)?;
    println!(
        "test accuracy: {:.1}% (trained in {train_seconds:.0} s)",
        100.0 * held_out.accuracy
    );
    if !plan.quick && held_out.accuracy < plan.min_accuracy {
        return Err(CliError::failure(format!(
            "the model reached only {:.1}% test accuracy (expected at least {:.0}%)",
            100.0 * held_out.accuracy,
            100.0 * plan.min_accuracy
        )));
    }
    Ok(Trained {
        model,
        test,
        test_accuracy: held_out.accuracy,
        train_seconds,
    })
}
