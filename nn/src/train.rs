//! A small training loop for classifiers: [`fit`] (mini-batch training with cross-entropy and any
//! [`Optimizer`], shuffled per epoch from a seed), [`evaluate`] and [`predict`].
//!
//! ```
//! use smoothgrad_autograd::Tensor;
//! use smoothgrad_nn::optim::{Adam, AdamConfig};
//! use smoothgrad_nn::train::{evaluate, fit, TrainConfig};
//! use smoothgrad_nn::{Linear, ReLU, Sequential};
//! use rand::SeedableRng;
//!
//! // Toy data on a grid: the class is whether x0 > x1.
//! let xs: Vec<f32> = (0..64).flat_map(|i| [(i % 8) as f32 / 8.0, (i / 8) as f32 / 8.0]).collect();
//! let labels: Vec<usize> = xs.chunks(2).map(|p| usize::from(p[0] > p[1])).collect();
//! let x = Tensor::from_vec(xs, &[64, 2]).unwrap();
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let mut model: Sequential = Sequential::new()
//!     .with(Linear::new(2, 16, true, &mut rng))
//!     .with(ReLU)
//!     .with(Linear::new(16, 2, true, &mut rng));
//! let mut adam = Adam::new(AdamConfig::new(0.05)).unwrap();
//! let config = TrainConfig { epochs: 30, batch_size: 16, ..TrainConfig::default() };
//! let history = fit(&mut model, &mut adam, &x, &labels, &config, &mut ()).unwrap();
//! assert!(history.last().unwrap().loss < history[0].loss);
//! assert!(evaluate(&mut model, &x, &labels, 32).unwrap().accuracy > 0.9);
//! ```

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{argmax, Scalar, Tape, Tensor};

use crate::error::{NnError, Result};
use crate::loss::cross_entropy;
use crate::module::{Context, Module};
use crate::optim::Optimizer;

/// Settings for [`fit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per mini-batch; the last batch of an epoch holds the remainder.
    pub batch_size: usize,
    /// Seeds the shuffling and the dropout masks: the same seed, model and data train the same.
    pub seed: u64,
    /// Visit the samples in a new random order each epoch (else in order).
    pub shuffle: bool,
}

impl Default for TrainConfig {
    /// 10 epochs of shuffled batches of 32, seed 0.
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            seed: 0,
            shuffle: true,
        }
    }
}

/// What one training batch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchStats {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The batch within the epoch, from 0.
    pub batch: usize,
    /// The number of batches per epoch: `ceil(N / batch_size)`.
    pub batches: usize,
    /// The samples in this batch.
    pub size: usize,
    /// The batch's mean cross-entropy, before the update.
    pub loss: f64,
    /// The samples whose largest logit was the label's, before the update.
    pub correct: usize,
}

/// What one epoch did, measured on the training batches as they were trained (so with dropout
/// active and the weights still changing, as PyTorch loops usually report it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean cross-entropy over the epoch's samples: `sum_batches size * loss / N`.
    pub loss: f64,
    /// The fraction of the epoch's samples classified correctly.
    pub accuracy: f64,
    /// The number of samples `N`.
    pub samples: usize,
}

/// The result of [`evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// The mean cross-entropy over the samples.
    pub loss: f64,
    /// The fraction classified correctly (largest logit at the label).
    pub accuracy: f64,
}

/// Receives [`fit`]'s progress, for a progress bar or a log. Both methods do nothing by default.
///
/// Implemented for `()` (no reporting) and for every closure `FnMut(&EpochStats)`.
pub trait Progress {
    /// Called after each batch's update.
    fn on_batch(&mut self, _stats: &BatchStats) {}
    /// Called at the end of each epoch.
    fn on_epoch(&mut self, _stats: &EpochStats) {}
}

impl Progress for () {}

impl<F: FnMut(&EpochStats)> Progress for F {
    fn on_epoch(&mut self, stats: &EpochStats) {
        self(stats);
    }
}

/// Trains a classifier with mean cross-entropy over mini-batches, and returns each epoch's stats.
///
/// Each epoch visits the `N` samples of `x: [N, ...]` (labels `0..K`) in an order shuffled by a
/// ChaCha8 stream seeded with `config.seed`, in batches of `config.batch_size` (the last one
/// partial). Each batch runs forward on a new tape with [`Context::training`], computes
/// [`cross_entropy`] of the logits `[B, K]`, backpropagates, and calls [`Optimizer::step`]. The
/// model is in training mode ([`Module::set_training`]) during `fit` and in evaluation mode
/// after it.
///
/// # Errors
/// [`NnError::Config`] for a batch size of 0, an empty training set, or a label count that is
/// not `N`; [`NnError::Shape`] if the model rejects the input shape or does not output `[B, K]`;
/// [`NnError::Config`] for a label `>= K`. All are checked before any training.
pub fn fit<T: Scalar>(
    model: &mut dyn Module<T>,
    optimizer: &mut dyn Optimizer<T>,
    x: &Tensor<T>,
    labels: &[usize],
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<Vec<EpochStats>> {
    if config.batch_size == 0 {
        return Err(NnError::Config("fit: batch_size must be at least 1".into()));
    }
    check_data("fit", model, x, labels)?;
    let n = labels.len();
    let batches = n.div_ceil(config.batch_size);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut history = Vec::with_capacity(config.epochs);
    model.set_training(true);
    for epoch in 1..=config.epochs {
        if config.shuffle {
            order.shuffle(&mut rng);
        }
        let (mut loss_sum, mut correct) = (0.0, 0);
        for (batch, idx) in order.chunks(config.batch_size).enumerate() {
            let xb = x.select_rows(idx);
            let yb: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
            let tape = Tape::new();
            let mut cx = Context::training(&tape, rng.gen());
            let logits = model.forward(tape.constant(xb), &mut cx);
            let loss = cross_entropy(logits, &yb);
            let grads = tape.backward(loss);
            optimizer.step(model, &cx, &grads);
            let stats = BatchStats {
                epoch,
                batch,
                batches,
                size: idx.len(),
                loss: loss.item().to_f64_lossless(),
                correct: count_correct(&logits.value(), &yb),
            };
            loss_sum += stats.loss * idx.len() as f64;
            correct += stats.correct;
            progress.on_batch(&stats);
        }
        let stats = EpochStats {
            epoch,
            loss: loss_sum / n as f64,
            accuracy: correct as f64 / n as f64,
            samples: n,
        };
        progress.on_epoch(&stats);
        history.push(stats);
    }
    model.set_training(false);
    Ok(history)
}

/// The mean cross-entropy and the accuracy of a classifier on `x: [N, ...]` and its labels, in
/// evaluation mode ([`Context::inference`], dropout off, BatchNorm's running statistics), in
/// batches of `batch_size`. The model's previous mode is restored afterwards.
///
/// # Errors
/// As [`fit`].
pub fn evaluate<T: Scalar>(
    model: &mut dyn Module<T>,
    x: &Tensor<T>,
    labels: &[usize],
    batch_size: usize,
) -> Result<Metrics> {
    check_data("evaluate", model, x, labels)?;
    let (mut loss_sum, mut correct) = (0.0, 0);
    in_eval_mode(model, x, batch_size, |idx, logits| {
        let yb: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
        let tape = Tape::new();
        let loss = cross_entropy(tape.constant(logits.clone()), &yb);
        loss_sum += loss.item().to_f64_lossless() * idx.len() as f64;
        correct += count_correct(logits, &yb);
    })?;
    let n = labels.len() as f64;
    Ok(Metrics {
        loss: loss_sum / n,
        accuracy: correct as f64 / n,
    })
}

/// The predicted class (the index of the largest logit, [`argmax`]: the first on ties) of each
/// sample of `x: [N, ...]`, in evaluation mode, in batches of `batch_size`. The model's previous
/// mode is restored afterwards.
///
/// # Errors
/// As [`fit`], except that there are no labels to check (an empty `x` gives an empty result);
/// and [`NnError::Config`] if a sample's logits hold a NaN (a diverged model), which leaves no
/// class to predict.
pub fn predict<T: Scalar>(
    model: &mut dyn Module<T>,
    x: &Tensor<T>,
    batch_size: usize,
) -> Result<Vec<usize>> {
    if x.rank() == 0 {
        return Err(NnError::Config(
            "predict: x must be [N, ...], found a scalar".into(),
        ));
    }
    let mut out = Vec::with_capacity(x.shape()[0]);
    if x.shape()[0] > 0 {
        let k = logits_shape("predict", model, x)?;
        let mut nan = None;
        in_eval_mode(model, x, batch_size, |idx, logits| {
            for (&i, row) in idx.iter().zip(logits.data().chunks(k)) {
                let class = argmax(row).expect("K >= 1 logits");
                if row[class].is_nan() {
                    nan = nan.or(Some((i, class)));
                }
                out.push(class);
            }
        })?;
        if let Some((i, class)) = nan {
            return Err(NnError::Config(format!(
                "predict: logit {class} of sample {i} is NaN, so the sample has no predicted class"
            )));
        }
    }
    Ok(out)
}

/// How many rows of `scores: [B, K]` have their largest value at the label ([`argmax`]); a row
/// holding a NaN has no largest value and is never correct.
fn count_correct<T: Scalar>(scores: &Tensor<T>, labels: &[usize]) -> usize {
    let k = scores.shape()[1].max(1);
    scores
        .data()
        .chunks(k)
        .zip(labels)
        .filter(|(row, &y)| argmax(row).is_some_and(|p| p == y && !row[p].is_nan()))
        .count()
}

/// Runs the model over `x` in evaluation mode, calling `f(indices, logits)` per batch, then
/// restores the previous mode.
fn in_eval_mode<T: Scalar>(
    model: &mut dyn Module<T>,
    x: &Tensor<T>,
    batch_size: usize,
    mut f: impl FnMut(&[usize], &Tensor<T>),
) -> Result<()> {
    if batch_size == 0 {
        return Err(NnError::Config("batch_size must be at least 1".into()));
    }
    let was_training = model.is_training();
    model.set_training(false);
    let all: Vec<usize> = (0..x.shape()[0]).collect();
    for idx in all.chunks(batch_size) {
        let tape = Tape::new();
        let mut cx = Context::inference(&tape);
        let logits = model.forward(tape.constant(x.select_rows(idx)), &mut cx);
        f(idx, &logits.value());
    }
    model.set_training(was_training);
    Ok(())
}

/// Checks that the model maps `[B, ...]` batches of `x` to `[B, K]` and returns `K`.
fn logits_shape<T: Scalar>(op: &str, model: &dyn Module<T>, x: &Tensor<T>) -> Result<usize> {
    let mut input = x.shape().to_vec();
    input[0] = 1;
    let out = model.output_shape(&input)?;
    match out[..] {
        [1, k] if k > 0 => Ok(k),
        _ => Err(NnError::Shape {
            layer: "model output".into(),
            message: format!(
                "{op}: expected class scores [B, K] for input {:?}, found {out:?}",
                x.shape()
            ),
        }),
    }
}

/// Validates a labelled data set for `op` against the model: `x: [N, ...]` with `N > 0`, `N`
/// labels, each below the model's class count.
fn check_data<T: Scalar>(
    op: &str,
    model: &dyn Module<T>,
    x: &Tensor<T>,
    labels: &[usize],
) -> Result<()> {
    let n = x.shape().first().copied().unwrap_or(0);
    if x.rank() == 0 || n == 0 || n != labels.len() {
        return Err(NnError::Config(format!(
            "{op}: expected a non-empty x [N, ...] and N labels, found x {:?} and {} labels",
            x.shape(),
            labels.len()
        )));
    }
    let k = logits_shape(op, model, x)?;
    if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y >= k) {
        return Err(NnError::Config(format!(
            "{op}: label {y} (sample {i}) is out of range for a model with {k} classes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, Sequential};

    #[test]
    fn a_row_holding_nan_is_never_correct() {
        let nan = f32::NAN;
        let s =
            Tensor::<f32>::from_vec(vec![1., 3., 3., nan, 0., -1., 2., 1., nan], &[3, 3]).unwrap();
        assert_eq!(count_correct(&s, &[1, 0, 0]), 1);
        assert_eq!(count_correct(&s, &[2, 1, 2]), 0);
    }

    #[test]
    fn a_nan_logit_leaves_no_prediction() {
        let w = Tensor::<f32>::from_vec(vec![1., 0., 0., 1.], &[2, 2]).unwrap();
        let mut model = Sequential::new().with(Linear::from_weights(w, None).unwrap());
        let x = Tensor::from_vec(vec![1., 0., 0., 2., f32::NAN, 1.], &[3, 2]).unwrap();
        let e = predict(&mut model, &x, 2).unwrap_err().to_string();
        assert_eq!(
            e,
            "predict: logit 0 of sample 2 is NaN, so the sample has no predicted class"
        );
        assert_eq!(
            predict(&mut model, &x.select_rows(0..2), 2).unwrap(),
            [0, 1]
        );
    }

    #[test]
    fn data_is_validated_before_training() {
        let w = Tensor::<f32>::zeros(&[3, 2]);
        let mut model = Sequential::new().with(Linear::from_weights(w, None).unwrap());
        let mut opt = crate::optim::Sgd::new(crate::optim::SgdConfig::new(0.1)).unwrap();
        let x = Tensor::zeros(&[2, 2]);
        let cfg = TrainConfig::default();
        let err = |r: Result<Vec<EpochStats>>| r.unwrap_err().to_string();
        let e = err(fit(&mut model, &mut opt, &x, &[0, 3], &cfg, &mut ()));
        assert_eq!(
            e,
            "fit: label 3 (sample 1) is out of range for a model with 3 classes"
        );
        let e = err(fit(&mut model, &mut opt, &x, &[0], &cfg, &mut ()));
        assert!(e.contains("found x [2, 2] and 1 labels"), "{e}");
        let e = err(fit(
            &mut model,
            &mut opt,
            &Tensor::zeros(&[2, 5]),
            &[0, 1],
            &cfg,
            &mut (),
        ));
        assert!(e.contains("expected input [batch, ..., 2]"), "{e}");
        let cfg0 = TrainConfig {
            batch_size: 0,
            ..cfg
        };
        assert!(fit(&mut model, &mut opt, &x, &[0, 1], &cfg0, &mut ()).is_err());
        assert!(evaluate(&mut model, &x, &[0, 1], 0).is_err());
        let empty = Tensor::<f32>::zeros(&[0, 2]);
        assert!(predict(&mut model, &empty, 4).unwrap().is_empty());
    }
}
