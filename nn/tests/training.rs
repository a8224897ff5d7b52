//! Losses, optimizers and the training loop, end to end: hand-computed optimizer steps, gradient
//! checks of the losses, and small models that must actually learn.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::check::{check_gradients, CheckOptions};
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor};
use smoothgrad_nn::loss::{cross_entropy, mse_loss, nll_loss};
use smoothgrad_nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use smoothgrad_nn::train::{evaluate, fit, predict, BatchStats, EpochStats, Progress, TrainConfig};
use smoothgrad_nn::{
    BatchNorm2d, Context, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
    StateKind,
};

// ---------------------------------------------------------------------------------------------
// Optimizer steps against values computed by hand (and re-derived in the comments).

/// Applies `grads` one after another to a parameter named `w` starting at `p0`, returning the
/// parameter after each step.
fn steps(opt: &mut dyn Optimizer<f64>, p0: &[f64], grads: &[&[f64]]) -> Vec<Vec<f64>> {
    let mut p = Tensor::from_slice(p0, &[p0.len()]).unwrap();
    grads
        .iter()
        .map(|g| {
            opt.update("w", &mut p, &Tensor::from_slice(g, &[g.len()]).unwrap());
            p.to_vec()
        })
        .collect()
}

fn assert_close(found: &[Vec<f64>], expected: &[&[f64]], tol: f64) {
    for (step, (f, e)) in found.iter().zip(expected).enumerate() {
        let ok = f.len() == e.len() && f.iter().zip(*e).all(|(a, b)| (a - b).abs() <= tol);
        assert!(ok, "step {}: found {f:?}, expected {e:?}", step + 1);
    }
}

const GRADS: [&[f64]; 3] = [&[1.0, 2.0], &[0.5, -1.0], &[-1.0, 0.0]];

#[test]
fn sgd_momentum_matches_hand_computed_steps() {
    // lr 0.1, mu 0.9, p0 = (1, -1).
    // 1: b = g = (1, 2);                        p = (1, -1) - 0.1 b    = (0.9, -1.2)
    // 2: b = 0.9 (1, 2) + (0.5, -1) = (1.4, 0.8); p = (0.76, -1.28)
    // 3: b = 0.9 (1.4, 0.8) + (-1, 0) = (0.26, 0.72); p = (0.734, -1.352)
    let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9)).unwrap();
    let out = steps(&mut opt, &[1.0, -1.0], &GRADS);
    assert_close(
        &out,
        &[&[0.9, -1.2], &[0.76, -1.28], &[0.734, -1.352]],
        1e-12,
    );
    let b = opt.momentum_buffer("w").unwrap().to_vec();
    assert_close(&[b], &[&[0.26, 0.72]], 1e-12);
}

#[test]
fn sgd_nesterov_matches_hand_computed_steps() {
    // Same buffers as above, but the step is g + mu b:
    // 1: (1, 2) + 0.9 (1, 2) = (1.9, 3.8);           p = (0.81, -1.38)
    // 2: (0.5, -1) + 0.9 (1.4, 0.8) = (1.76, -0.28);  p = (0.634, -1.352)
    // 3: (-1, 0) + 0.9 (0.26, 0.72) = (-0.766, 0.648); p = (0.7106, -1.4168)
    let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9).nesterov(true)).unwrap();
    let out = steps(&mut opt, &[1.0, -1.0], &GRADS);
    assert_close(
        &out,
        &[&[0.81, -1.38], &[0.634, -1.352], &[0.7106, -1.4168]],
        1e-12,
    );
}

#[test]
fn sgd_weight_decay_adds_lambda_p_to_the_gradient() {
    // g' = g + 0.5 p = 0 + 0.5 * 2 = 1; p = 2 - 0.1 = 1.9; then g' = 0.95, p = 1.805.
    let mut opt = Sgd::new(SgdConfig::new(0.1).weight_decay(0.5)).unwrap();
    let out = steps(&mut opt, &[2.0], &[&[0.0], &[0.0]]);
    assert_close(&out, &[&[1.9], &[1.805]], 1e-12);
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr_against_the_gradient_sign() {
    // m_hat = g and v_hat = g^2 after one step, so with eps = 0 the step is exactly lr sign(g).
    let mut opt = Adam::new(AdamConfig::new(0.1).eps(0.0)).unwrap();
    let p0 = [1.0, -1.0, 0.5, 3.0];
    let out = steps(&mut opt, &p0, &[&[1.0, 2.0, -1e-6, -300.0]]);
    assert_close(&out, &[&[0.9, -1.1, 0.6, 3.1]], 1e-12);
}

#[test]
fn adam_matches_hand_computed_steps() {
    // lr 0.1, betas (0.9, 0.999), eps 0, p0 = (1, -1). Step 2:
    // m = 0.9 (0.1, 0.2) + 0.1 (0.5, -1) = (0.14, 0.08), m_hat = m / 0.19
    // v = 0.999 (0.001, 0.004) + 0.001 (0.25, 1) = (0.001249, 0.004996), v_hat = v / 0.001999
    // p = (0.9, -1.1) - 0.1 m_hat / sqrt(v_hat)
    let mut opt = Adam::new(AdamConfig::new(0.1).eps(0.0)).unwrap();
    let out = steps(&mut opt, &[1.0, -1.0], &GRADS);
    let expected: [&[f64]; 3] = [
        &[0.9, -1.1],
        &[0.806_782_036_118_859_8, -1.126_633_703_966_040_1],
        &[0.795_703_728_986_649_1, -1.147_221_634_324_567_4],
    ];
    assert_close(&out, &expected, 1e-12);
    assert_eq!(opt.steps("w"), 3);
    // PyTorch's default eps = 1e-8 shifts the first step by about lr * eps / |g|.
    let mut opt = Adam::new(AdamConfig::new(0.1)).unwrap();
    let out = steps(&mut opt, &[1.0, -1.0], &GRADS[..1]);
    assert_close(&out, &[&[0.900_000_001, -1.099_999_999_5]], 1e-15);
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient() {
    // AdamW (lr 0.1, lambda 0.5): p <- p (1 - 0.05) then the Adam step.
    // Zero gradients: only the decay acts: 2 -> 1.9 -> 1.805.
    // (Default eps: with eps = 0 a zero gradient would give 0 / 0.)
    let mut opt = Adam::new(AdamConfig::adamw(0.1).weight_decay(0.5)).unwrap();
    let out = steps(&mut opt, &[2.0], &[&[0.0], &[0.0]]);
    assert_close(&out, &[&[1.9], &[1.805]], 1e-12);
    // Gradient 1: 2 * 0.95 - 0.1 = 1.8 (decay and Adam's unit step add up).
    let mut opt = Adam::new(AdamConfig::adamw(0.1).weight_decay(0.5).eps(0.0)).unwrap();
    assert_close(&steps(&mut opt, &[2.0], &[&[1.0]]), &[&[1.8]], 1e-12);
    // Adam's L2 decay instead folds 0.5 * 2 into the gradient, which Adam normalizes away:
    // g = 2, and the first step is still exactly lr.
    let mut opt = Adam::new(AdamConfig::new(0.1).weight_decay(0.5).eps(0.0)).unwrap();
    assert_close(&steps(&mut opt, &[2.0], &[&[1.0]]), &[&[1.9]], 1e-12);
    let d = AdamConfig::adamw(1e-3);
    assert!(d.decoupled_weight_decay && d.weight_decay == 1e-2 && d.betas == (0.9, 0.999));
}

#[test]
fn step_trains_parameters_through_the_model_but_not_buffers() {
    let mut model: Sequential<f64> = Sequential::new()
        .with(
            Linear::from_weights(Tensor::from_vec(vec![1.0, -1.0], &[1, 2]).unwrap(), None)
                .unwrap(),
        )
        .with(Flatten::default());
    let tape = Tape::new();
    let mut cx = Context::training(&tape, 0);
    let x = tape.constant(Tensor::from_vec(vec![2.0, 3.0], &[1, 2]).unwrap());
    let y = model.forward(x, &mut cx).sum();
    let grads = tape.backward(y);
    assert_eq!(cx.bound().len(), 1);
    let mut opt: Box<dyn Optimizer<f64>> = Box::new(Sgd::new(SgdConfig::new(0.5)).unwrap());
    opt.step(&mut model, &cx, &grads);
    assert_eq!(model.state_dict()[0].2.data(), &[0.0, -2.5]);
    opt.set_learning_rate(0.25);
    assert_eq!(opt.learning_rate(), 0.25);

    let mut bn: BatchNorm2d<f64> = BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap();
    let mut g = HashMap::new();
    g.insert("weight".to_string(), Tensor::ones(&[2]));
    opt.apply(&mut bn, &g);
    let mut weights = Vec::new();
    bn.visit_state(&mut |name, kind, t| {
        if kind == StateKind::Parameter && name == "weight" {
            weights = t.to_vec();
        }
    });
    assert_eq!(weights, vec![0.75, 0.75]);
}

// ---------------------------------------------------------------------------------------------
// Losses: gradients against central differences.

#[test]
fn loss_gradients_pass_gradcheck() {
    let z = Tensor::randn_seeded(&[4, 5], 7);
    let y = [0, 4, 2, 2];
    let opts = CheckOptions::default();
    check_gradients(
        |_, v| cross_entropy(v[0] * 3.0, &y),
        std::slice::from_ref(&z),
        &opts,
    )
    .unwrap();
    check_gradients(
        |_, v| nll_loss(v[0].log_softmax(1), &y),
        std::slice::from_ref(&z),
        &opts,
    )
    .unwrap();
    let t = Tensor::randn_seeded(&[4, 5], 8);
    check_gradients(|_, v| mse_loss(v[0], v[1]), &[z, t], &opts).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Training.

const SIDE: usize = 12;
const CLASSES: usize = 4;

/// `n` noisy 1x12x12 images of four shapes at random positions, with their labels:
/// 0 a horizontal bar, 1 a vertical bar, 2 a hollow square, 3 a plus sign; each pixel gets
/// N(0, 0.2^2) noise. (With 0.3 the plus and the square blur together at this size, and a
/// few epochs reach only about 95%.)
fn shapes(n: usize, seed: u64) -> (Tensor, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Vec::with_capacity(n * SIDE * SIDE);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut img = [[0.0f32; SIDE]; SIDE];
        let class = rng.gen_range(0..CLASSES);
        match class {
            0 | 1 => {
                let len = rng.gen_range(5..=8);
                let (a, b) = (rng.gen_range(0..SIDE), rng.gen_range(0..=SIDE - len));
                if class == 0 {
                    img[a][b..b + len].fill(1.0);
                } else {
                    img[b..b + len].iter_mut().for_each(|row| row[a] = 1.0);
                }
            }
            2 => {
                let s = rng.gen_range(4..=6);
                let (r, c) = (rng.gen_range(0..=SIDE - s), rng.gen_range(0..=SIDE - s));
                for i in 0..s {
                    img[r][c + i] = 1.0;
                    img[r + s - 1][c + i] = 1.0;
                    img[r + i][c] = 1.0;
                    img[r + i][c + s - 1] = 1.0;
                }
            }
            _ => {
                let (r, c) = (rng.gen_range(2..SIDE - 2), rng.gen_range(2..SIDE - 2));
                for d in 0..5 {
                    img[r - 2 + d][c] = 1.0;
                    img[r][c - 2 + d] = 1.0;
                }
            }
        }
        let noise = Tensor::<f32>::randn(&[SIDE * SIDE], &mut rng);
        data.extend(
            img.iter()
                .flatten()
                .zip(noise.data())
                .map(|(p, z)| p + 0.2 * z),
        );
        labels.push(class);
    }
    (Tensor::from_vec(data, &[n, 1, SIDE, SIDE]).unwrap(), labels)
}

fn conv(cin: usize, cout: usize, rng: &mut ChaCha8Rng) -> Conv2d {
    Conv2d::new(
        cin,
        cout,
        [3, 3],
        Conv2dOptions::default().padding(1),
        true,
        rng,
    )
    .unwrap()
}

fn pool() -> MaxPool2d {
    MaxPool2d::new(Pool2dOptions::new(2)).unwrap()
}

/// Records every callback.
#[derive(Default)]
struct Recorder {
    batches: Vec<BatchStats>,
    epochs: Vec<EpochStats>,
}

impl Progress for Recorder {
    fn on_batch(&mut self, stats: &BatchStats) {
        self.batches.push(*stats);
    }
    fn on_epoch(&mut self, stats: &EpochStats) {
        self.epochs.push(*stats);
    }
}

#[test]
fn cnn_reaches_95_percent_on_synthetic_shapes() {
    let (x, y) = shapes(800, 1);
    let (x_test, y_test) = shapes(300, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut model: Sequential = Sequential::new()
        .with(conv(1, 8, &mut rng))
        .with(ReLU)
        .with(pool())
        .with(conv(8, 16, &mut rng))
        .with(ReLU)
        .with(pool())
        .with(Flatten::default())
        .with(Linear::new(16 * 3 * 3, CLASSES, true, &mut rng));
    assert_eq!(
        model.to_string(),
        "conv2d(1,8,3,padding=1), relu, maxpool2d(2), conv2d(8,16,3,padding=1), relu, \
         maxpool2d(2), flatten, linear(144,4)"
    );
    let mut adam = Adam::new(AdamConfig::new(0.01)).unwrap();
    let config = TrainConfig {
        epochs: 10,
        batch_size: 32,
        seed: 4,
        shuffle: true,
    };
    let mut rec = Recorder::default();
    let start = std::time::Instant::now();
    let history = fit(&mut model, &mut adam, &x, &y, &config, &mut rec).unwrap();
    let test = evaluate(&mut model, &x_test, &y_test, 100).unwrap();
    eprintln!(
        "history {history:?}\ntest {test:?} in {:?}",
        start.elapsed()
    );
    assert_eq!(history.len(), 10);
    assert_eq!(rec.epochs, history);
    // 800 = 25 batches of 32 per epoch, reported in order.
    assert_eq!(rec.batches.len(), 10 * 25);
    assert!(rec.batches.iter().all(|b| b.batches == 25 && b.size == 32));
    assert_eq!((rec.batches[26].epoch, rec.batches[26].batch), (2, 1));
    assert!(history[9].loss < history[0].loss / 4.0);
    assert!(test.accuracy >= 0.95, "test accuracy {}", test.accuracy);
    let predicted = predict(&mut model, &x_test, 64).unwrap();
    let correct = predicted
        .iter()
        .zip(&y_test)
        .filter(|(p, t)| p == t)
        .count();
    assert_eq!(correct as f64 / 300.0, test.accuracy);
}

/// Two Gaussian blobs in 2-d around (-1, -1) (class 0) and (1, 1) (class 1).
fn blobs(n: usize, seed: u64) -> (Tensor, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let noise = Tensor::<f32>::randn(&[n, 2], &mut rng);
    let data = noise
        .data()
        .iter()
        .enumerate()
        .map(|(i, z)| 0.5 * z + if labels[i / 2] == 1 { 1.0 } else { -1.0 })
        .collect();
    (Tensor::from_vec(data, &[n, 2]).unwrap(), labels)
}

#[test]
fn mlp_with_sgd_momentum_reduces_the_loss_on_separable_data() {
    let (x, y) = blobs(200, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut model: Sequential = Sequential::new()
        .with(Linear::new(2, 16, true, &mut rng))
        .with(ReLU)
        .with(Linear::new(16, 2, true, &mut rng));
    let before = evaluate(&mut model, &x, &y, 64).unwrap();
    let mut sgd = Sgd::new(SgdConfig::new(0.05).momentum(0.9)).unwrap();
    let config = TrainConfig {
        epochs: 5,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let mut losses = Vec::new();
    let history = fit(
        &mut model,
        &mut sgd,
        &x,
        &y,
        &config,
        &mut |s: &EpochStats| losses.push(s.loss),
    )
    .unwrap();
    let after = evaluate(&mut model, &x, &y, 64).unwrap();
    assert_eq!(losses, history.iter().map(|s| s.loss).collect::<Vec<_>>());
    assert!(after.loss < before.loss / 2.0, "{before:?} -> {after:?}");
    assert!(history[4].loss < history[0].loss, "{history:?}");
    assert!(after.accuracy >= 0.95, "{after:?}");
}

#[test]
fn batchnorm_and_dropout_train_then_switch_to_eval() {
    let (x, y) = shapes(100, 9);
    let build = || {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        Sequential::new()
            .with(conv(1, 4, &mut rng))
            .with(BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap())
            .with(ReLU)
            .with(pool())
            .with(Flatten::default())
            .with(Dropout::new(0.5).unwrap())
            .with(Linear::new(4 * 6 * 6, CLASSES, true, &mut rng))
    };
    let mut model: Sequential = build();
    let mut adam = Adam::new(AdamConfig::adamw(0.01)).unwrap();
    // 100 samples in batches of 32: 3 full batches and one of 4, per epoch.
    let config = TrainConfig {
        epochs: 2,
        batch_size: 32,
        seed: 11,
        shuffle: true,
    };
    let mut rec = Recorder::default();
    let history = fit(&mut model, &mut adam, &x, &y, &config, &mut rec).unwrap();
    assert!(history
        .iter()
        .all(|s| s.loss.is_finite() && s.samples == 100));
    let sizes: Vec<usize> = rec.batches.iter().map(|b| b.size).collect();
    assert_eq!(sizes, [32, 32, 32, 4, 32, 32, 32, 4]);
    assert!(!model.is_training());

    // BatchNorm ran in training mode for each of the 8 batches.
    let sd = model.state_dict();
    let get = |name: &str| sd.iter().find(|(n, _, _)| n == name).unwrap().2.clone();
    assert_eq!(get("1.num_batches_tracked").item(), 8.0);
    assert!(get("1.running_mean").data().iter().any(|&m| m != 0.0));
    // Parameters moved, buffers were not touched by the optimizer (they are not bound).
    let fresh = build().state_dict();
    assert_ne!(get("0.weight"), fresh[0].2);
    assert_ne!(get("1.weight"), fresh[2].2);

    // Evaluation is deterministic (no dropout, running statistics) and leaves the mode alone.
    let a = evaluate(&mut model, &x, &y, 50).unwrap();
    let b = evaluate(&mut model, &x, &y, 7).unwrap();
    assert!((a.loss - b.loss).abs() < 1e-5 && a.accuracy == b.accuracy);
    assert_eq!(get("1.num_batches_tracked").item(), 8.0);
    model.set_training(true);
    predict(&mut model, &x, 64).unwrap();
    assert!(model.is_training());

    // The same seed trains the same model.
    let mut again: Sequential = build();
    let mut adam = Adam::new(AdamConfig::adamw(0.01)).unwrap();
    let history2 = fit(&mut again, &mut adam, &x, &y, &config, &mut ()).unwrap();
    assert_eq!(history, history2);
}
