//! Every op's gradient against central finite differences, in f64, on random inputs (proptest).
//!
//! Inputs are kept off the points where an op has no derivative (ReLU and abs at 0, ties in max,
//! clamp bounds), where finite differences straddle two slopes. Failing cases are saved under
//! `autograd/tests/gradcheck.proptest-regressions` and replayed first on every run.
//!
//! Needs the crate's `proptest` feature (for `smoothgrad_autograd::strategies`); `cargo test --workspace`
//! turns it on, and so does `cargo test -p smoothgrad-autograd --features proptest`.

#![cfg(feature = "proptest")]

use proptest::prelude::*;
use smoothgrad_autograd::check::{check_gradients, CheckOptions};
use smoothgrad_autograd::kernels::pool::Pool2dGeometry;
use smoothgrad_autograd::strategies::{
    broadcast_pair, distinct_tensor, shape, tensor, tensor_away_from, tensor_of_shape,
};
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor, Var};

/// Asserts that the tape's gradient of `f` matches finite differences at `inputs`.
fn assert_grads<F>(f: F, inputs: Vec<Tensor<f64>>) -> Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    match check_gradients(f, &inputs, &CheckOptions::default()) {
        Ok(_) => Ok(()),
        Err(e) => Err(TestCaseError::fail(e.to_string())),
    }
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(32)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn smooth_unary_ops(x in tensor(3, 4, -2.0..2.0)) {
        assert_grads(|_, v| v[0].exp(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].tanh(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].sigmoid(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].softplus(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].square(), vec![x.clone()])?;
        assert_grads(|_, v| -v[0], vec![x.clone()])?;
        assert_grads(|_, v| (v[0] * 3.0 + 1.5) / 2.0 - 0.25, vec![x.clone()])?;
        assert_grads(|_, v| 2.0 - 0.5 * v[0], vec![x])?;
    }

    #[test]
    fn smooth_activations(x in tensor(3, 4, -4.0..4.0)) {
        assert_grads(|_, v| v[0].erf(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].gelu(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].gelu_tanh(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].silu(), vec![x])?;
    }

    #[test]
    fn hard_activations(x in shape(3, 4).prop_flat_map(|s| tensor_away_from(s, -8.0..8.0, vec![-3.0, 0.0, 3.0, 6.0], 1e-3))) {
        assert_grads(|_, v| v[0].hardswish(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].hardsigmoid(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].relu6(), vec![x])?;
    }

    #[test]
    fn positive_domain_ops(x in tensor(3, 4, 0.2..3.0)) {
        assert_grads(|_, v| v[0].ln(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].sqrt(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].powf(1.7), vec![x.clone()])?;
        assert_grads(|_, v| v[0].recip(), vec![x.clone()])?;
        assert_grads(|_, v| 2.0 / v[0], vec![x])?;
    }

    #[test]
    fn kinked_unary_ops(x in shape(3, 4).prop_flat_map(|s| tensor_away_from(s, -2.0..2.0, vec![0.0, -0.5, 0.7], 1e-3))) {
        assert_grads(|_, v| v[0].relu(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].abs(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].leaky_relu(0.01), vec![x.clone()])?;
        assert_grads(|_, v| v[0].clamp(-0.5, 0.7), vec![x])?;
    }

    #[test]
    fn broadcast_arithmetic(
        (a, b) in broadcast_pair(4, 3).prop_flat_map(|(sa, sb)| {
            (tensor_of_shape(sa, -2.0..2.0), tensor_of_shape(sb, 0.5..2.0))
        })
    ) {
        assert_grads(|_, v| v[0] + v[1], vec![a.clone(), b.clone()])?;
        assert_grads(|_, v| v[0] - v[1], vec![a.clone(), b.clone()])?;
        assert_grads(|_, v| v[0] * v[1], vec![a.clone(), b.clone()])?;
        assert_grads(|_, v| v[0] / v[1], vec![a.clone(), b.clone()])?;
        assert_grads(|_, v| v[1] / v[0].exp(), vec![a, b])?;
    }

    #[test]
    fn maximum_and_minimum(
        (a, offset) in shape(3, 4).prop_flat_map(|s| {
            (tensor_of_shape(s.clone(), -2.0..2.0), tensor_away_from(s, -1.0..1.0, vec![0.0], 1e-3))
        })
    ) {
        // b = a + offset never ties with a.
        let b = a.zip_map(&offset, |x, o| x + o);
        assert_grads(|_, v| v[0].maximum(v[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|_, v| v[0].minimum(v[1]), vec![a, b])?;
    }

    #[test]
    fn sums_and_means_over_axes(x in tensor(4, 3, -2.0..2.0), mask in any::<u8>(), keepdim in any::<bool>()) {
        let axes: Vec<usize> = (0..x.rank()).filter(|a| mask & (1 << a) != 0).collect();
        assert_grads(|_, v| v[0].sum(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].mean(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].square().sum_axes(&axes, keepdim), vec![x.clone()])?;
        assert_grads(|_, v| v[0].tanh().mean_axes(&axes, keepdim), vec![x])?;
    }

    #[test]
    fn max_and_min_over_axes(x in shape(3, 4).prop_flat_map(|s| distinct_tensor(s, 4.0)), mask in any::<u8>(), keepdim in any::<bool>()) {
        let axes: Vec<usize> = (0..x.rank()).filter(|a| mask & (1 << a) != 0).collect();
        assert_grads(|_, v| v[0].max(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].max_axes(&axes, keepdim), vec![x.clone()])?;
        assert_grads(|_, v| v[0].min_axes(&axes, keepdim), vec![x])?;
    }

    #[test]
    fn matmul_2d_and_transposed(m in 1usize..5, k in 1usize..5, n in 1usize..5, seed in any::<u64>()) {
        let a = Tensor::<f64>::randn_seeded(&[m, k], seed);
        let b = Tensor::<f64>::randn_seeded(&[k, n], seed ^ 1);
        let bt = Tensor::<f64>::randn_seeded(&[n, k], seed ^ 2);
        assert_grads(|_, v| v[0].matmul(v[1]), vec![a.clone(), b])?;
        assert_grads(|_, v| v[0].matmul_t(v[1]), vec![a, bt])?;
    }

    #[test]
    fn batched_matmul_with_broadcast(batch in 1usize..4, m in 1usize..4, k in 1usize..4, n in 1usize..4, which in 0usize..3, seed in any::<u64>()) {
        // Broadcast the batch axis of either operand, or neither.
        let (ba, bb) = match which { 0 => (vec![batch], vec![batch]), 1 => (vec![1], vec![batch]), _ => (vec![2, batch], vec![batch]) };
        let a = Tensor::<f64>::randn_seeded(&[ba.clone(), vec![m, k]].concat(), seed);
        let b = Tensor::<f64>::randn_seeded(&[bb.clone(), vec![k, n]].concat(), seed ^ 1);
        let bt = Tensor::<f64>::randn_seeded(&[bb, vec![n, k]].concat(), seed ^ 2);
        assert_grads(|_, v| v[0].matmul(v[1]), vec![a.clone(), b])?;
        assert_grads(|_, v| v[0].matmul_t(v[1]), vec![a, bt])?;
    }

    #[test]
    fn shape_ops(x in tensor(4, 3, -2.0..2.0), pick in any::<u64>()) {
        let rank = x.rank();
        let shape = x.shape().to_vec();
        // A permutation: rotate the axes by a random amount.
        let rot = (pick as usize) % rank;
        let perm: Vec<usize> = (0..rank).map(|i| (i + rot) % rank).collect();
        assert_grads(|_, v| v[0].permute(&perm).exp(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].reshape(&[x.numel()]).tanh(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].flatten(0).sigmoid(), vec![x.clone()])?;
        let mut big = vec![2];
        big.extend(&shape);
        assert_grads(|_, v| v[0].broadcast_to(&big).square(), vec![x.clone()])?;
        let axis = (pick as usize / 7) % rank;
        let len = shape[axis];
        let start = (pick as usize / 11) % len;
        assert_grads(|_, v| v[0].narrow(axis, start, len - start).exp(), vec![x.clone()])?;
        assert_grads(|_, v| Var::concat(&[v[0], v[0].square(), v[0]], axis), vec![x.clone()])?;
        assert_grads(|_, v| Var::stack(&[v[0], v[0].exp()], axis), vec![x.clone()])?;
        if rank >= 2 {
            assert_grads(|_, v| v[0].transpose(0, rank - 1).t().sin_free(), vec![x])?;
        }
    }

    #[test]
    fn index_select_and_gather(x in tensor(3, 4, -2.0..2.0), raw in proptest::collection::vec(any::<usize>(), 1..6)) {
        let axis = raw[0] % x.rank();
        let size = x.shape()[axis];
        let indices: Vec<usize> = raw.iter().map(|r| r % size).collect();
        assert_grads(|_, v| v[0].index_select(axis, &indices).exp(), vec![x.clone()])?;
        // Gather: index of x's shape, with `m` entries along the axis.
        let mut index_shape = x.shape().to_vec();
        index_shape[axis] = indices.len();
        let n: usize = index_shape.iter().product();
        let index: Vec<usize> = (0..n).map(|i| raw[i % raw.len()].wrapping_add(i) % size).collect();
        assert_grads(|_, v| v[0].gather(axis, &index, &index_shape).square(), vec![x])?;
    }

    #[test]
    fn softmax_family(x in tensor(3, 4, -3.0..3.0), axis_seed in any::<usize>(), w in tensor_of_shape(vec![64], -1.0..1.0)) {
        let axis = axis_seed % x.rank();
        let weights = Tensor::from_slice(&w.data()[..x.numel()], x.shape()).unwrap();
        // Weighted sums make every output element matter.
        assert_grads(|t, v| (v[0].softmax(axis) * t.constant(weights.clone())).sum(), vec![x.clone()])?;
        assert_grads(|t, v| (v[0].log_softmax(axis) * t.constant(weights.clone())).sum(), vec![x.clone()])?;
        assert_grads(|_, v| v[0].softmax(axis), vec![x])?;
    }

    #[test]
    fn conv2d_matches_finite_differences(
        n in 1usize..3, cg in 1usize..3, og in 1usize..3, groups in 1usize..3,
        k in 1usize..4, stride in 1usize..3, padding in 0usize..2, dilation in 1usize..3,
        h in 3usize..7, w in 3usize..7, bias in any::<bool>(), seed in any::<u64>()
    ) {
        let (c, o) = (cg * groups, og * groups);
        let opts = Conv2dOptions::default().stride(stride).padding(padding).dilation(dilation).groups(groups);
        prop_assume!(h + 2 * padding > dilation * (k - 1) && w + 2 * padding > dilation * (k - 1));
        let x = Tensor::<f64>::randn_seeded(&[n, c, h, w], seed);
        let wt = Tensor::<f64>::randn_seeded(&[o, cg, k, k], seed ^ 1);
        let b = Tensor::<f64>::randn_seeded(&[o], seed ^ 2);
        if bias {
            assert_grads(|_, v| v[0].conv2d(v[1], Some(v[2]), opts), vec![x, wt, b])?;
        } else {
            assert_grads(|_, v| v[0].conv2d(v[1], None, opts), vec![x, wt])?;
        }
    }

    #[test]
    fn pooling_matches_finite_differences(
        n in 1usize..3, c in 1usize..3, h in 2usize..7, w in 2usize..7,
        k in 1usize..4, stride in 1usize..3, pads in [0usize..2, 0..2, 0..2, 0..2],
        ceil in any::<bool>(), count_pad in any::<bool>(), seed in any::<u64>()
    ) {
        let opts = Pool2dOptions::new(k)
            .stride(stride)
            .pads(pads)
            .ceil_mode(ceil)
            .count_include_pad(count_pad);
        prop_assume!(Pool2dGeometry::new(&[n, c, h, w], opts).is_ok());
        let x = Tensor::<f64>::randn_seeded(&[n, c, h, w], seed);
        assert_grads(|_, v| v[0].avg_pool2d(opts), vec![x])?;
    }

    #[test]
    fn max_pool_away_from_ties(
        x in (1usize..3, 1usize..3, 2usize..7, 2usize..7).prop_flat_map(|(n, c, h, w)| distinct_tensor(vec![n, c, h, w], 10.0)),
        k in 1usize..4, stride in 1usize..3, pads in [0usize..2, 0..2, 0..2, 0..2],
        ceil in any::<bool>(),
    ) {
        let opts = Pool2dOptions::new(k).stride(stride).pads(pads).ceil_mode(ceil);
        prop_assume!(Pool2dGeometry::new(x.shape(), opts).is_ok());
        assert_grads(|_, v| v[0].max_pool2d(opts), vec![x])?;
    }

    #[test]
    fn adaptive_avg_pool_matches_finite_differences(
        n in 1usize..3, c in 1usize..3, h in 1usize..8, w in 1usize..8,
        oh in 1usize..5, ow in 1usize..5, seed in any::<u64>()
    ) {
        let x = Tensor::<f64>::randn_seeded(&[n, c, h, w], seed);
        assert_grads(|_, v| v[0].adaptive_avg_pool2d([oh, ow]), vec![x.clone()])?;
        assert_grads(|_, v| v[0].adaptive_avg_pool2d([1, 1]), vec![x])?;
    }
}

/// Lets `shape_ops` end a chain with something that is neither linear nor a reshape.
trait SinFree<'t> {
    fn sin_free(self) -> Var<'t, f64>;
}

impl<'t> SinFree<'t> for Var<'t, f64> {
    fn sin_free(self) -> Var<'t, f64> {
        self.tanh() * self
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A two-layer MLP with softmax cross-entropy: gradients for the input and every parameter.
    #[test]
    fn mlp_with_cross_entropy(seed in any::<u64>(), batch in 1usize..4) {
        let x = Tensor::<f64>::randn_seeded(&[batch, 5], seed);
        let w1 = Tensor::<f64>::randn_seeded(&[4, 5], seed ^ 1);
        let b1 = Tensor::<f64>::randn_seeded(&[4], seed ^ 2);
        let w2 = Tensor::<f64>::randn_seeded(&[3, 4], seed ^ 3);
        let targets: Vec<usize> = (0..batch).map(|i| (seed as usize + i) % 3).collect();
        assert_grads(
            |_, v| {
                let h = (v[0].matmul_t(v[1]) + v[2]).tanh();
                let logits = h.matmul_t(v[3]);
                -logits.log_softmax(1).pick(&targets).mean()
            },
            vec![x, w1, b1, w2],
        )?;
    }

    /// conv -> sigmoid -> avg pool -> flatten -> linear: a CNN in miniature.
    #[test]
    fn small_cnn(seed in any::<u64>()) {
        let x = Tensor::<f64>::randn_seeded(&[2, 2, 6, 6], seed);
        let w = Tensor::<f64>::randn_seeded(&[3, 2, 3, 3], seed ^ 1);
        let b = Tensor::<f64>::randn_seeded(&[3], seed ^ 2);
        let fc = Tensor::<f64>::randn_seeded(&[4, 27], seed ^ 3);
        assert_grads(
            |_, v| {
                let h = v[0].conv2d(v[1], Some(v[2]), Conv2dOptions::default().padding(1)).sigmoid();
                let p = h.avg_pool2d(Pool2dOptions::new(2)).flatten(1);
                p.matmul_t(v[3]).softmax(1)
            },
            vec![x, w, b, fc],
        )?;
    }
}
