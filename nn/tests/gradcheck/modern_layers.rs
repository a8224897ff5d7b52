//! The layers of modern classifiers alone: GELU (both forms), SiLU, Hardswish, Hardsigmoid,
//! ReLU6, Identity, AdaptiveAvgPool2d, LayerNorm, LayerNorm2d and MultiheadAttention, with
//! respect to their input and every parameter (set to random values first).

use smoothgrad_nn::{
    AdaptiveAvgPool2d, Approximate, Hardsigmoid, Hardswish, Identity, LayerNorm, LayerNorm2d,
    MultiheadAttention, ReLU6, SiLU, GELU,
};

use super::*;

/// Every parameter of `layer` replaced by values from U(lo, hi).
fn randomize(layer: &mut dyn Module<f64>, lo: f64, hi: f64, seed: u64) {
    let mut r = rng(seed);
    layer.visit_state_mut(&mut |_, kind, t| {
        if kind == StateKind::Parameter {
            *t = Tensor::uniform(t.shape(), lo, hi, &mut r);
        }
    });
}

/// The smallest biased variance over groups of `k` consecutive elements.
fn min_group_variance(x: &Tensor<f64>, k: usize) -> f64 {
    x.data()
        .chunks(k)
        .map(|g| {
            let m = g.iter().sum::<f64>() / k as f64;
            g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / k as f64
        })
        .fold(f64::INFINITY, f64::min)
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn smooth_activation_gradients(
        input in shape(4, 4).prop_flat_map(|s| tensor_of_shape(s, -4.0..4.0)),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut GELU::default(), &input, seed)?;
        assert_layer(&mut GELU { approximate: Approximate::Tanh }, &input, seed)?;
        assert_layer(&mut SiLU, &input, seed)?;
        let report = assert_layer(&mut Identity, &input, seed)?;
        prop_assert!(report.params.is_empty());
    }

    #[test]
    fn hard_activation_gradients(
        input in shape(4, 4)
            .prop_flat_map(|s| tensor_away_from(s, -5.0..8.0, vec![-3.0, 0.0, 3.0, 6.0], 1e-3)),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut Hardswish, &input, seed)?;
        assert_layer(&mut Hardsigmoid, &input, seed)?;
        assert_layer(&mut ReLU6, &input, seed)?;
    }

    #[test]
    fn adaptive_avg_pool2d_gradients(
        input in (1..=2usize, 1..=2usize, 1..=5usize, 1..=5usize)
            .prop_flat_map(|(n, c, h, w)| tensor_of_shape(vec![n, c, h, w], -2.0..2.0)),
        out in (1..=4usize, 1..=4usize),
        seed in any::<u64>(),
    ) {
        let mut layer = AdaptiveAvgPool2d::new([out.0, out.1]).unwrap();
        let s = input.shape();
        prop_assert_eq!(
            Module::<f64>::output_shape(&layer, s).unwrap(),
            vec![s[0], s[1], out.0, out.1]
        );
        assert_layer(&mut layer, &input, seed)?;
    }

    #[test]
    fn layernorm_gradients(
        (input, k) in (1..=2usize, 1..=3usize, 1..=2usize)
            .prop_flat_map(|(lead, last, k)| {
                let shape: Vec<usize> = [vec![lead], vec![last + 1; k]].concat();
                (tensor_of_shape(shape, -2.0..2.0), Just(k))
            }),
        (affine, bias) in (any::<bool>(), any::<bool>()),
        seed in any::<u64>(),
    ) {
        let s = input.shape();
        let normalized = &s[s.len() - k..];
        prop_assume!(min_group_variance(&input, normalized.iter().product()) > 0.05);
        let mut layer = LayerNorm::<f64>::new(normalized, 1e-5, affine, bias).unwrap();
        randomize(&mut layer, -1.5, 1.5, seed);
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = match (affine, bias) {
            (true, true) => vec!["weight", "bias"],
            (true, false) => vec!["weight"],
            _ => vec![],
        };
        prop_assert_eq!(report.params, expected);
    }

    #[test]
    fn layernorm2d_gradients(
        input in (1..=2usize, 2..=4usize, 1..=2usize, 1..=3usize)
            .prop_flat_map(|(n, c, h, w)| tensor_of_shape(vec![n, c, h, w], -2.0..2.0)),
        seed in any::<u64>(),
    ) {
        let s = input.shape().to_vec();
        // The variance over the channels of each pixel, through an NHWC copy.
        let nhwc = input.permute(&[0, 2, 3, 1]);
        prop_assume!(min_group_variance(&nhwc, s[1]) > 0.05);
        let mut layer = LayerNorm2d::<f64>::new(s[1], 1e-6, true).unwrap();
        randomize(&mut layer, -1.5, 1.5, seed);
        let report = assert_layer(&mut layer, &input, seed)?;
        prop_assert_eq!(report.params, vec!["weight", "bias"]);
    }

    #[test]
    fn multihead_attention_gradients(
        (input, heads) in (1..=2usize, 1..=3usize, 1..=2usize, 1..=2usize)
            .prop_flat_map(|(b, s, h, d)| (tensor_of_shape(vec![b, s, h * d], -2.0..2.0), Just(h))),
        (bias, batch_first) in (any::<bool>(), any::<bool>()),
        seed in any::<u64>(),
    ) {
        let e = input.shape()[2];
        let mut layer =
            MultiheadAttention::<f64>::new(e, heads, bias, batch_first, &mut rng(seed)).unwrap();
        randomize(&mut layer, -1.0, 1.0, seed ^ 7);
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = if bias {
            vec!["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
        } else {
            vec!["in_proj_weight", "out_proj.weight"]
        };
        prop_assert_eq!(report.params, expected);
    }
}
