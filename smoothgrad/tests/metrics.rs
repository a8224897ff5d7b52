//! `smoothgrad::metrics` on hand cases and small models whose right answer is known.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad::metrics::{
    auc, cascading_randomization, energy_in_mask, max_sensitivity, pearson, pointing_game,
    randomization_spearman, randomize_layers, randomize_parameters, reduce_abs_channels, spearman,
    Baseline, Deletion, Insertion,
};
use smoothgrad::{ExplainError, Gradient, GradientXInput, Method, Operator};
use smoothgrad_autograd::{Conv2dOptions, Tensor};
use smoothgrad_nn::{BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential, StateKind};

const C: usize = 3;
const H: usize = 8;
const W: usize = 8;

/// A `[1, C, H, W]` image with values in `[0, 1)`.
fn image(seed: u64) -> Tensor<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Tensor::from_fn(&[1, C, H, W], |_| rng.gen())
}

/// `flatten, linear(C*H*W, classes, bias=False)`.
fn linear_model(classes: usize, seed: u64) -> Sequential<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Sequential::new().with(Flatten::default()).with(Linear::new(
        C * H * W,
        classes,
        false,
        &mut rng,
    ))
}

/// `flatten, linear(C*H*W, 32), relu, linear(32, 4)`.
fn mlp(seed: u64) -> Sequential<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Sequential::new()
        .with(Flatten::default())
        .with(Linear::new(C * H * W, 32, true, &mut rng))
        .with(ReLU)
        .with(Linear::new(32, 4, true, &mut rng))
}

/// The channel-summed gradient magnitude of an `[H, W]` plane's forward differences: an "edge
/// detector" that never looks at the model.
fn edges(x: &Tensor<f32>) -> Vec<f64> {
    let plane: Vec<f64> = (0..H * W)
        .map(|p| (0..C).map(|c| x.data()[c * H * W + p] as f64).sum())
        .collect();
    (0..H * W)
        .map(|p| {
            let (r, c) = (p / W, p % W);
            let dx = if c + 1 < W {
                plane[p + 1] - plane[p]
            } else {
                0.0
            };
            let dy = if r + 1 < H {
                plane[p + W] - plane[p]
            } else {
                0.0
            };
            dx.abs() + dy.abs()
        })
        .collect()
}

fn gradient_map(model: &dyn smoothgrad::Model<f32>, x: &Tensor<f32>, target: usize) -> Vec<f64> {
    let g = Gradient.attribute(model, x, &[vec![target]], &Operator::Logit);
    reduce_abs_channels(g[0].data(), C, H, W)
}

#[test]
fn energy_is_one_inside_the_mask_and_one_half_when_split_evenly() {
    // 4x4, the mask is the left half.
    let mask: Vec<bool> = (0..16).map(|p| p % 4 < 2).collect();
    let inside: Vec<f64> = (0..16)
        .map(|p| if p % 4 < 2 { 1.0 + p as f64 } else { 0.0 })
        .collect();
    assert_eq!(energy_in_mask(&inside, &mask), 1.0);
    assert_eq!(energy_in_mask(&[0.25f32; 16], &mask), 0.5);
    let outside: Vec<f64> = inside.iter().rev().copied().collect();
    assert_eq!(energy_in_mask(&outside, &mask), 0.0);
    // No positive mass: 0, never NaN.
    assert_eq!(energy_in_mask(&[0.0; 16], &mask), 0.0);
    assert_eq!(energy_in_mask(&[-1.0; 16], &mask), 0.0);
}

#[test]
fn pointing_game_hits_misses_and_tolerance() {
    // 5x5 with one mask pixel at (2, 2).
    let mut mask = [false; 25];
    mask[12] = true;
    let peak_at = |p: usize| {
        let mut m = [0.0f32; 25];
        m[p] = 1.0;
        m
    };
    assert!(pointing_game(&peak_at(12), &mask, 5, 5, 0.0));
    // (2, 3) is one pixel away.
    assert!(!pointing_game(&peak_at(13), &mask, 5, 5, 0.0));
    assert!(pointing_game(&peak_at(13), &mask, 5, 5, 1.0));
    // (0, 0) is sqrt(8) = 2.83 pixels away.
    assert!(!pointing_game(&peak_at(0), &mask, 5, 5, 2.8));
    assert!(pointing_game(&peak_at(0), &mask, 5, 5, 2.9));
    // Ties go to the first maximum in row-major order.
    let mut tied = peak_at(12);
    tied[20] = 1.0;
    assert!(pointing_game(&tied, &mask, 5, 5, 0.0));
    tied[3] = 1.0;
    assert!(!pointing_game(&tied, &mask, 5, 5, 0.0));
    // No object, no hit.
    assert!(!pointing_game(&peak_at(12), &[false; 25], 5, 5, 10.0));
}

#[test]
fn spearman_is_one_for_monotone_transforms_and_minus_one_reversed() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a: Vec<f64> = (0..200).map(|_| rng.gen_range(-3.0..3.0)).collect();
    let exp: Vec<f64> = a.iter().map(|v| v.exp()).collect();
    let cube: Vec<f64> = a.iter().map(|v| v * v * v + 1.0).collect();
    assert!((spearman(&a, &exp) - 1.0).abs() < 1e-12);
    assert!((spearman(&a, &cube) - 1.0).abs() < 1e-12);
    let neg: Vec<f64> = a.iter().map(|v| -v).collect();
    assert!((spearman(&a, &neg) + 1.0).abs() < 1e-12);
    let reversed = [5.0, 4.0, 3.0, 2.0, 1.0];
    assert!((spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &reversed) + 1.0).abs() < 1e-12);
}

#[test]
fn spearman_with_ties_matches_scipy_and_constants_give_zero() {
    // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).statistic
    let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
    assert!((rho - 0.948_683_298_050_513_8).abs() < 1e-12, "{rho}");
    // By hand: ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4], r = 4.5 / sqrt(4.5 * 5).
    assert!((rho - 4.5 / 22.5f64.sqrt()).abs() < 1e-15);
    // Constant inputs: 0 where SciPy gives NaN.
    assert_eq!(spearman(&[2.0; 5], &[1.0, 2.0, 3.0, 4.0, 5.0]), 0.0);
    assert_eq!(pearson(&[1.0, 2.0, 3.0], &[0.0; 3]), 0.0);
    // Pearson is not rank-based: an exponential is not a straight line.
    let x = [0.0, 1.0, 2.0, 3.0];
    let e: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
    assert!(pearson(&x, &e) < 0.95 && (spearman(&x, &e) - 1.0).abs() < 1e-12);
}

#[test]
fn auc_of_constant_curves_is_the_constant() {
    for s in [0.0, 0.3, 1.0] {
        let x: Vec<f64> = (0..=10).map(|k| k as f64 / 10.0).collect();
        assert!((auc(&x, &[s; 11]) - s).abs() < 1e-15);
        // Uneven spacing too.
        assert!((auc(&[0.0, 0.1, 0.7, 1.0], &[s; 4]) - s).abs() < 1e-15);
    }
    // A straight line from 1 down to 0 has area one half.
    assert!((auc(&[0.0, 0.25, 0.5, 0.75, 1.0], &[1.0, 0.75, 0.5, 0.25, 0.0]) - 0.5).abs() < 1e-15);
}

#[test]
fn deletion_and_insertion_rank_the_ideal_map_above_a_random_one() {
    // For a linear model, softmax(z)_0 = sigmoid(z_0 - z_1) rises with z_0 - z_1 = sum_i
    // (w_0 - w_1)_i x_i, so deleting (inserting) pixels in descending order of their summed
    // contribution, the signed gradient x input, is optimal at every step.
    let model = linear_model(2, 1);
    let x = image(2);
    let gxi = GradientXInput.attribute(&model, &x, &[vec![0]], &Operator::Probability);
    let ideal: Vec<f64> = (0..H * W)
        .map(|p| (0..C).map(|c| gxi[0].data()[c * H * W + p]).sum())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let random: Vec<f64> = (0..H * W).map(|_| rng.gen()).collect();

    let deletion = Deletion::<f64> {
        steps: 16,
        ..Deletion::default()
    };
    let (d_ideal, d_random) = (
        deletion.curve(&model, &x, &ideal, 0).unwrap(),
        deletion.curve(&model, &x, &random, 0).unwrap(),
    );
    assert!(
        d_ideal.auc < d_random.auc,
        "deletion AUC {} vs random {}",
        d_ideal.auc,
        d_random.auc
    );
    for (a, b) in d_ideal.scores.iter().zip(&d_random.scores) {
        assert!(a <= &(b + 1e-12), "deletion: ideal {a} above random {b}");
    }
    let insertion = Insertion::<f64> {
        steps: 16,
        baseline: Baseline::Zeros,
        ..Insertion::default()
    };
    let (i_ideal, i_random) = (
        insertion.curve(&model, &x, &ideal, 0).unwrap(),
        insertion.curve(&model, &x, &random, 0).unwrap(),
    );
    assert!(
        i_ideal.auc > i_random.auc,
        "insertion AUC {} vs random {}",
        i_ideal.auc,
        i_random.auc
    );
    for (a, b) in i_ideal.scores.iter().zip(&i_random.scores) {
        assert!(a + 1e-12 >= *b, "insertion: ideal {a} below random {b}");
    }
    // The default insertion start, a blurred image, ranks the maps the same way here.
    let blur = Insertion::<f64> {
        steps: 16,
        ..Insertion::default()
    };
    assert!(
        blur.curve(&model, &x, &ideal, 0).unwrap().auc
            > blur.curve(&model, &x, &random, 0).unwrap().auc
    );
}

#[test]
fn curves_run_from_the_start_image_to_the_end_image_whatever_the_batch() {
    let model = linear_model(3, 4);
    let x = image(5);
    let map = reduce_abs_channels(x.data(), C, H, W);
    let prob = |img: &Tensor<f64>| {
        let tape = smoothgrad_autograd::Tape::new();
        let out = smoothgrad::Model::forward(&model, tape.constant(img.clone()));
        Operator::Probability.score(out, &[1]).value().data()[0]
    };
    let zeros = Tensor::zeros(&[1, C, H, W]);
    let blurred = Tensor::from_vec(
        Baseline::Blur { radius: 4 }.apply(x.data(), C, H, W),
        &[1, C, H, W],
    )
    .unwrap();

    let deletion = Deletion::<f64> {
        steps: 10,
        batch_size: 3,
        ..Deletion::default()
    };
    let d = deletion.curve(&model, &x, &map, 1).unwrap();
    assert_eq!(d.fractions.len(), 11);
    assert_eq!((d.fractions[0], d.fractions[10]), (0.0, 1.0));
    assert!(d.fractions.windows(2).all(|f| f[0] < f[1]));
    assert!((d.scores[0] - prob(&x)).abs() < 1e-12);
    assert!(
        (d.scores[10] - 1.0 / 3.0).abs() < 1e-12,
        "no bias: a black image is uniform"
    );
    assert!((d.auc - auc(&d.fractions, &d.scores)).abs() < 1e-15);
    // One image per batch or all at once: the same curve. A [C, H, W] image works too.
    let whole = Deletion::<f64> {
        batch_size: 64,
        ..deletion.clone()
    };
    let unbatched = x.reshape(&[C, H, W]).unwrap();
    assert_eq!(whole.curve(&model, &unbatched, &map, 1).unwrap(), d);
    assert!((deletion.curve(&model, &x, &map, 1).unwrap().scores[10] - prob(&zeros)).abs() < 1e-12);

    let i = Insertion::<f64> {
        steps: 10,
        ..Insertion::default()
    }
    .curve(&model, &x, &map, 1)
    .unwrap();
    assert!((i.scores[0] - prob(&blurred)).abs() < 1e-12);
    assert!((i.scores[10] - prob(&x)).abs() < 1e-12);
}

#[test]
fn curve_requests_are_validated() {
    let model = linear_model(2, 0);
    let x = image(0);
    let map = vec![0.0f32; H * W];
    let d = Deletion::<f64>::default();
    assert!(matches!(
        d.curve(&model, &x, &map[1..], 0),
        Err(ExplainError::Parameter { .. })
    ));
    assert!(matches!(
        d.curve(&model, &x, &map, 2),
        Err(ExplainError::TargetOutOfRange {
            target: 2,
            classes: 2,
            ..
        })
    ));
    assert!(matches!(
        Deletion::<f64> {
            steps: 0,
            ..Deletion::default()
        }
        .curve(&model, &x, &map, 0),
        Err(ExplainError::Parameter { .. })
    ));
    let two = Tensor::<f64>::zeros(&[2, C, H, W]);
    assert!(matches!(
        d.curve(&model, &two, &map, 0),
        Err(ExplainError::InputShape(_))
    ));
    let wrong = Tensor::<f64>::zeros(&[1, 1, H, W]);
    assert!(matches!(
        d.curve(&model, &wrong, &map, 0),
        Err(ExplainError::InputRejected { .. })
    ));
}

#[test]
fn max_sensitivity_of_a_linear_models_gradient_is_zero() {
    let linear = linear_model(3, 8);
    let x = image(9);
    fn explain(m: &Sequential<f64>) -> impl Fn(&Tensor<f64>) -> Tensor<f64> + '_ {
        move |t| {
            Gradient
                .attribute(m, t, &[vec![1]], &Operator::Logit)
                .remove(0)
        }
    }
    assert_eq!(max_sensitivity(explain(&linear), &x, 0.2, 10, 0), 0.0);
    // A ReLU network's gradient does move under perturbation, by a seed-determined amount.
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let relu = Sequential::new()
        .with(Flatten::default())
        .with(Linear::new(C * H * W, 16, true, &mut rng))
        .with(ReLU)
        .with(Linear::new(16, 3, true, &mut rng));
    let s = max_sensitivity(explain(&relu), &x, 0.2, 10, 0);
    assert!(s > 0.0 && s.is_finite(), "{s}");
    assert_eq!(s, max_sensitivity(explain(&relu), &x, 0.2, 10, 0));
}

#[test]
fn randomizing_a_random_mlp_decorrelates_its_gradient_map() {
    let x = image(11).cast::<f32>();
    let mut worst: f64 = 0.0;
    for seed in 0..4 {
        let mut model = mlp(seed);
        let trained = gradient_map(&model, &x, 0);
        randomize_parameters(&mut model, 100 + seed);
        let rho = randomization_spearman(&trained, &gradient_map(&model, &x, 0));
        worst = worst.max(rho.abs());
    }
    assert!(worst < 0.35, "|spearman| up to {worst} after randomization");
}

#[test]
fn explanations_that_ignore_the_model_fail_the_check_with_one() {
    let x = image(12).cast::<f32>();
    let mut model = mlp(0);
    let input_map = reduce_abs_channels(x.data(), C, H, W);
    for steps in [
        cascading_randomization(&mut model, |_| input_map.clone(), 1),
        cascading_randomization(&mut model, |_| edges(&x), 1),
    ] {
        assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), vec![3, 1]);
        assert!(steps.iter().all(|s| (s.1 - 1.0).abs() < 1e-12), "{steps:?}");
    }
    let trained = input_map.clone();
    randomize_parameters(&mut model, 1);
    assert!((randomization_spearman(&trained, &input_map) - 1.0).abs() < 1e-12);
}

#[test]
fn cascading_randomization_goes_top_down_and_restores_the_model() {
    let x = image(13).cast::<f32>();
    let mut model = mlp(1);
    let before = model.state_dict();
    let steps = cascading_randomization(&mut model, |m| gradient_map(m, &x, 2), 5);
    assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), vec![3, 1]);
    assert_eq!(
        model.state_dict(),
        before,
        "the trained parameters are restored"
    );
    // The last step has every layer randomized: the same as randomize_parameters with that seed.
    let trained = gradient_map(&model, &x, 2);
    let mut copy = mlp(1);
    randomize_parameters(&mut copy, 5);
    assert_eq!(
        steps[1].1,
        randomization_spearman(&trained, &gradient_map(&copy, &x, 2))
    );
    // Randomizing only the top layer leaves the first layer's ReLU pattern: the map moves less
    // than under full randomization, but it moves.
    assert!(steps[0].1 < 1.0 - 1e-6, "{steps:?}");
}

#[test]
fn randomize_parameters_redraws_parameters_within_pytorch_bounds_and_keeps_buffers() {
    let build = || {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        Sequential::<f32>::new()
            .with(Conv2d::new(C, 4, [3, 3], Conv2dOptions::default(), true, &mut rng).unwrap())
            .with(BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap())
            .with(ReLU)
            .with(Flatten::default())
            .with(Linear::new(4 * 6 * 6, 3, true, &mut rng))
    };
    let mut model = build();
    let before = model.state_dict();
    randomize_parameters(&mut model, 42);
    let after = model.state_dict();
    let bounds = [
        ("0.", 1.0 / 27f64.sqrt()),
        ("1.", 0.5),
        ("4.", 1.0 / 144f64.sqrt()),
    ];
    for ((name, kind, old), (name2, kind2, new)) in before.iter().zip(&after) {
        assert_eq!((name, kind, old.shape()), (name2, kind2, new.shape()));
        if *kind == StateKind::Buffer {
            assert_eq!(old, new, "{name} is a buffer and must be kept");
            continue;
        }
        assert!(
            old.data().iter().zip(new.data()).all(|(a, b)| a != b),
            "{name} was not redrawn"
        );
        let bound = bounds.iter().find(|(p, _)| name.starts_with(p)).unwrap().1 as f32;
        assert!(
            new.data().iter().all(|v| v.abs() <= bound),
            "{name} exceeds {bound}"
        );
    }
    // The same seed gives the same model; layers are drawn independently of the range asked.
    let mut again = build();
    randomize_parameters(&mut again, 42);
    assert_eq!(again.state_dict(), after);
    let mut top = build();
    randomize_layers(&mut top, 4..5, 42);
    for ((name, _, t), (_, _, full)) in top.state_dict().iter().zip(&after) {
        let expected = if name.starts_with("4.") {
            full
        } else {
            &before.iter().find(|b| &b.0 == name).unwrap().2
        };
        assert_eq!(t, expected, "{name}");
    }
}

#[test]
fn a_graph_randomizes_by_module_node_as_a_chain_by_layer() {
    let chain = || mlp(3);
    let as_graph = || {
        let mut g = smoothgrad_nn::GraphBuilder::<f32>::new();
        let mut v = g.input();
        for (i, layer) in chain().into_layers().into_iter().enumerate() {
            v = g.module_boxed(&i.to_string(), layer, v);
        }
        g.finish(v).unwrap()
    };
    let (mut a, mut b) = (chain(), as_graph());
    randomize_parameters(&mut a, 8);
    randomize_parameters(&mut b, 8);
    assert_eq!(a.state_dict(), b.state_dict());
    let (mut a, mut b) = (chain(), as_graph());
    randomize_layers(&mut a, 3..4, 9);
    randomize_layers(&mut b as &mut dyn smoothgrad_nn::Module<f32>, 3..4, 9);
    assert_eq!(a.state_dict(), b.state_dict());
    let x = image(14).cast::<f32>();
    let mut b = as_graph();
    let steps = cascading_randomization(&mut b, |m| gradient_map(m, &x, 1), 2);
    let mut a = chain();
    assert_eq!(
        steps,
        cascading_randomization(&mut a, |m| gradient_map(m, &x, 1), 2)
    );
}
