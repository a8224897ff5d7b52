//! The demo's data and model: `shapes` scenes, a small CNN, Adam, progress bars.

use indicatif::{ProgressBar, ProgressStyle};
use smoothgrad::datasets::shapes::{Shapes, CLASSES};
use smoothgrad_nn::optim::{Adam, AdamConfig};
use smoothgrad_nn::train::{evaluate, fit, BatchStats, EpochStats, Progress, TrainConfig};
use smoothgrad_nn::Sequential;

use super::Plan;
use crate::error::{CliError, Result};

/// The CNN: three conv blocks, global average pooling and a linear classifier (its outputs are
/// the logits). Global pooling makes the class score a sum of local evidence, which keeps the
/// gradients on the object rather than spread over the background.
pub const SPEC: &str = "conv2d(3,16,3,padding=1), relu, maxpool2d(2), conv2d(16,32,3,padding=1), \
                        relu, maxpool2d(2), conv2d(32,64,3,padding=1), relu, avgpool2d(8), \
                        flatten, linear(64,4)";

/// A trained model and the held-out data it is explained on.
pub struct Trained {
    pub model: Sequential,
    pub test: Shapes,
    pub test_accuracy: f64,
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
                    "  epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}",
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

/// Generates the data and trains the CNN.
pub fn train(plan: &Plan, seed: u64) -> Result<Trained> {
    println!(
        "smoothgrad demo: {} training and {} test scenes of {} ({}x32x32)",
        plan.train_images,
        plan.test_images,
        CLASSES.join(", "),
        3
    );
    let train = Shapes::generate(plan.train_images, seed);
    let test = Shapes::generate(plan.test_images, seed.wrapping_add(1_000_003));
    let mut model: Sequential = Sequential::from_spec_seeded(SPEC, seed)?;
    println!("training {model} ({} parameters)", model.num_parameters());
    let mut optimizer = Adam::new(AdamConfig::new(2e-3))?;
    let config = TrainConfig {
        epochs: plan.epochs,
        batch_size: 32,
        seed,
        shuffle: true,
    };
    let mut bars = Bars {
        bar: None,
        epochs: plan.epochs,
    };
    fit(
        &mut model,
        &mut optimizer,
        &train.images,
        &train.labels,
        &config,
        &mut bars,
    )?;
    let held_out = evaluate(&mut model, &test.images, &test.labels, 100)?;
    println!("test accuracy: {:.1}%", 100.0 * held_out.accuracy);
    if !plan.quick && held_out.accuracy < 0.95 {
        return Err(CliError::failure(format!(
            "the CNN reached only {:.1}% test accuracy (expected at least 95%)",
            100.0 * held_out.accuracy
        )));
    }
    Ok(Trained {
        model,
        test,
        test_accuracy: held_out.accuracy,
    })
}
