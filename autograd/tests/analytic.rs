//! Hand-computed values and derivatives for each op, and the tape's own guarantees: fan-out
//! accumulation, repeatable backward, gradients only where asked, shapes as PyTorch computes them.

use autograd::{Conv2dOptions, Pool2dOptions, ReluBackward, Tape, Tensor};

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape).unwrap()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// The value and the gradient of `sum(f(x))` at `x`.
fn unary(
    x: &[f64],
    f: impl for<'t> Fn(autograd::Var<'t, f64>) -> autograd::Var<'t, f64>,
) -> (Vec<f64>, Vec<f64>) {
    let tape = Tape::new();
    let v = tape.var(t(x, &[x.len()]));
    let y = f(v);
    let g = tape.backward(y.sum());
    (y.value().to_vec(), g.wrt(v).to_vec())
}

#[test]
fn unary_values_and_derivatives() {
    let x = [-2.0, -0.5, 0.0, 0.5, 2.0];
    let (y, g) = unary(&x, |v| v.relu());
    close(&y, &[0.0, 0.0, 0.0, 0.5, 2.0]);
    close(&g, &[0.0, 0.0, 0.0, 1.0, 1.0]);
    let (y, g) = unary(&x, |v| v.leaky_relu(0.1));
    close(&y, &[-0.2, -0.05, 0.0, 0.5, 2.0]);
    close(&g, &[0.1, 0.1, 0.1, 1.0, 1.0]);
    let (y, g) = unary(&x, |v| v.abs());
    close(&y, &[2.0, 0.5, 0.0, 0.5, 2.0]);
    close(&g, &[-1.0, -1.0, 0.0, 1.0, 1.0]);
    let (y, g) = unary(&x, |v| v.clamp(-0.5, 0.5));
    close(&y, &[-0.5, -0.5, 0.0, 0.5, 0.5]);
    close(&g, &[0.0, 1.0, 1.0, 1.0, 0.0]);
    let (y, g) = unary(&x, |v| v.square());
    close(&y, &[4.0, 0.25, 0.0, 0.25, 4.0]);
    close(&g, &[-4.0, -1.0, 0.0, 1.0, 4.0]);
    let (y, g) = unary(&[0.0], |v| v.sigmoid());
    close(&y, &[0.5]);
    close(&g, &[0.25]);
    let (y, g) = unary(&[0.0], |v| v.tanh());
    close(&y, &[0.0]);
    close(&g, &[1.0]);
    let (y, g) = unary(&[1.0], |v| v.exp());
    close(&y, &[std::f64::consts::E]);
    close(&g, &[std::f64::consts::E]);
    let (y, g) = unary(&[4.0], |v| v.sqrt());
    close(&y, &[2.0]);
    close(&g, &[0.25]);
    let (y, g) = unary(&[2.0], |v| v.ln());
    close(&y, &[std::f64::consts::LN_2]);
    close(&g, &[0.5]);
    let (y, g) = unary(&[2.0], |v| v.powf(3.0));
    close(&y, &[8.0]);
    close(&g, &[12.0]);
    let (y, g) = unary(&[0.0, 30.0], |v| v.softplus());
    close(&y, &[std::f64::consts::LN_2, 30.0]);
    close(&g, &[0.5, 1.0]);
    let (y, g) = unary(&[4.0], |v| v.recip());
    close(&y, &[0.25]);
    close(&g, &[-1.0 / 16.0]);
}

#[test]
fn sigmoid_and_softplus_do_not_overflow() {
    let (y, g) = unary(&[-1000.0, 1000.0], |v| v.sigmoid());
    close(&y, &[0.0, 1.0]);
    close(&g, &[0.0, 0.0]);
    let (y, _) = unary(&[-1000.0], |v| v.softplus());
    close(&y, &[0.0]);
}

#[test]
fn broadcast_binary_ops_sum_gradients_back() {
    let tape = Tape::new();
    let a = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let b = tape.var(t(&[10.0, 20.0, 30.0], &[3]));
    let y = a * b;
    close(y.value().data(), &[10.0, 40.0, 90.0, 40.0, 100.0, 180.0]);
    let g = tape.backward(y.sum());
    close(g.wrt(a).data(), &[10.0, 20.0, 30.0, 10.0, 20.0, 30.0]);
    close(g.wrt(b).data(), &[5.0, 7.0, 9.0]);

    let tape = Tape::new();
    let a = tape.var(t(&[6.0], &[1]));
    let b = tape.var(t(&[2.0, 3.0], &[2, 1]));
    let y = a / b;
    close(y.value().data(), &[3.0, 2.0]);
    let g = tape.backward(y.sum());
    close(g.wrt(a).data(), &[0.5 + 1.0 / 3.0]);
    close(g.wrt(b).data(), &[-6.0 / 4.0, -6.0 / 9.0]);
}

#[test]
fn maximum_splits_ties() {
    let tape = Tape::new();
    let a = tape.var(t(&[1.0, 5.0, 3.0], &[3]));
    let b = tape.var(t(&[2.0, 4.0, 3.0], &[3]));
    let g = tape.backward(a.maximum(b).sum());
    close(g.wrt(a).data(), &[0.0, 1.0, 0.5]);
    close(g.wrt(b).data(), &[1.0, 0.0, 0.5]);
}

#[test]
fn reductions() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 7.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let s = x.sum_axes(&[1], true);
    assert_eq!(s.shape(), vec![2, 1]);
    close(s.value().data(), &[11.0, 15.0]);
    let m = x.mean_axes(&[0], false);
    assert_eq!(m.shape(), vec![3]);
    close(m.value().data(), &[2.5, 6.0, 4.5]);
    let mx = x.max_axes(&[1], false);
    close(mx.value().data(), &[7.0, 6.0]);
    let g = tape.backward(mx.sum());
    close(g.wrt(x).data(), &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    // Ties: the first maximum takes the gradient, as torch.max(dim).
    let tape = Tape::new();
    let x = tape.var(t(&[2.0, 2.0, 1.0], &[3]));
    let g = tape.backward(x.max());
    close(g.wrt(x).data(), &[1.0, 0.0, 0.0]);
    let mn = x.min_axes(&[0], false);
    close(mn.value().data(), &[1.0]);
}

#[test]
fn max_propagates_nan() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0, f32::NAN, 3.0], &[3]).unwrap());
    assert!(x.max().item().is_nan());
}

#[test]
fn matmul_and_its_gradients() {
    let tape = Tape::new();
    let a = tape.var(t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let b = tape.var(t(&[5.0, 6.0, 7.0, 8.0], &[2, 2]));
    let c = a.matmul(b);
    close(c.value().data(), &[19.0, 22.0, 43.0, 50.0]);
    let g = tape.backward(c.sum());
    // dA = 1 B^T: row sums of B; dB = A^T 1: column sums of A.
    close(g.wrt(a).data(), &[11.0, 15.0, 11.0, 15.0]);
    close(g.wrt(b).data(), &[4.0, 4.0, 6.0, 6.0]);
}

#[test]
fn shape_ops_move_values() {
    let tape = Tape::new();
    let x = tape.var(Tensor::arange(6).reshape(&[2, 3]).unwrap());
    close(x.t().value().data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    close(x.narrow(1, 1, 2).value().data(), &[1.0, 2.0, 4.0, 5.0]);
    close(
        x.index_select(1, &[2, 0, 2]).value().data(),
        &[2.0, 0.0, 2.0, 5.0, 3.0, 5.0],
    );
    close(x.pick(&[2, 0]).value().data(), &[2.0, 3.0]);
    let c = autograd::Var::concat(&[x, x], 0);
    assert_eq!(c.shape(), vec![4, 3]);
    let s = autograd::Var::stack(&[x, x], 1);
    assert_eq!(s.shape(), vec![2, 2, 3]);
    close(&s.value().data()[..6], &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    assert_eq!(x.reshape(&[3, usize::MAX]).shape(), vec![3, 2]);
    // index_select with a repeated index accumulates.
    let g = tape.backward(x.index_select(1, &[2, 0, 2]).sum());
    close(g.wrt(x).data(), &[1.0, 0.0, 2.0, 1.0, 0.0, 2.0]);
}

#[test]
fn softmax_rows_sum_to_one_and_log_softmax_is_stable() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 1000.0, 1000.0, -1000.0], &[2, 3]));
    let s = x.softmax(1).value();
    let e = [1f64.exp(), 2f64.exp(), 3f64.exp()];
    let z: f64 = e.iter().sum();
    close(&s.data()[..3], &[e[0] / z, e[1] / z, e[2] / z]);
    close(&s.data()[3..], &[0.5, 0.5, 0.0]);
    let ls = x.log_softmax(1).value();
    close(
        &ls.data()[3..],
        &[
            -std::f64::consts::LN_2,
            -std::f64::consts::LN_2,
            -2000.0 - std::f64::consts::LN_2,
        ],
    );
    // The gradient of sum(softmax) is zero: the outputs always sum to 1.
    let g = tape.backward(x.softmax(1).sum());
    assert!(g.wrt(x).data().iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn conv2d_on_a_hand_example() {
    // A 3x3 image, a 2x2 kernel of ones with bias 1: each output is its window's sum plus 1.
    let tape = Tape::new();
    let x = tape.var(Tensor::arange(9).reshape(&[1, 1, 3, 3]).unwrap());
    let w = tape.var(Tensor::ones(&[1, 1, 2, 2]));
    let b = tape.var(t(&[1.0], &[1]));
    let y = x.conv2d(w, Some(b), Conv2dOptions::default());
    close(y.value().data(), &[9.0, 13.0, 21.0, 25.0]);
    let g = tape.backward(y.sum());
    // Each input pixel counts once per window that covers it.
    close(
        g.wrt(x).data(),
        &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0],
    );
    close(g.wrt(w).data(), &[8.0, 12.0, 20.0, 24.0]);
    close(g.wrt(b).data(), &[4.0]);
}

#[test]
fn conv_and_pool_output_shapes_follow_pytorch() {
    // out = (in + 2 pad - dilation (k - 1) - 1) / stride + 1
    /// Input shape, weight shape, options, expected output shape.
    type Case = ([usize; 4], [usize; 4], Conv2dOptions, [usize; 4]);
    let cases: [Case; 4] = [
        (
            [1, 1, 28, 28],
            [16, 1, 3, 3],
            Conv2dOptions::default().padding(1),
            [1, 16, 28, 28],
        ),
        (
            [2, 3, 32, 32],
            [8, 3, 3, 3],
            Conv2dOptions::default().stride(2).padding(1),
            [2, 8, 16, 16],
        ),
        (
            [1, 2, 7, 7],
            [4, 2, 3, 3],
            Conv2dOptions::default().dilation(2),
            [1, 4, 3, 3],
        ),
        (
            [1, 4, 5, 6],
            [6, 2, 2, 3],
            Conv2dOptions::default().groups(2),
            [1, 6, 4, 4],
        ),
    ];
    for (xs, ws, opts, out) in cases {
        let tape = Tape::<f32>::new();
        let x = tape.var(Tensor::zeros(&xs));
        let w = tape.constant(Tensor::zeros(&ws));
        assert_eq!(
            x.conv2d(w, None, opts).shape(),
            out.to_vec(),
            "{xs:?} {ws:?} {opts:?}"
        );
    }
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[1, 1, 7, 9]));
    assert_eq!(
        x.max_pool2d(Pool2dOptions::new(2)).shape(),
        vec![1, 1, 3, 4]
    );
    assert_eq!(
        x.max_pool2d(Pool2dOptions::new(3).stride(1).padding(1))
            .shape(),
        vec![1, 1, 7, 9]
    );
    assert_eq!(
        x.avg_pool2d(Pool2dOptions::new(3).stride(2)).shape(),
        vec![1, 1, 3, 4]
    );
}

#[test]
#[should_panic(expected = "conv2d: input [1, 3, 8, 8]")]
fn conv2d_rejects_mismatched_channels() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[1, 3, 8, 8]));
    let w = tape.var(Tensor::zeros(&[4, 2, 3, 3]));
    x.conv2d(w, None, Conv2dOptions::default());
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [2] do not broadcast")]
fn wrong_broadcast_panics_with_both_shapes() {
    let tape = Tape::<f32>::new();
    let _ = tape.var(Tensor::zeros(&[2, 3])) + tape.var(Tensor::zeros(&[2]));
}

#[test]
#[should_panic(expected = "matmul: shapes [2, 3] and [2, 3] do not match")]
fn wrong_matmul_panics_with_both_shapes() {
    let tape = Tape::<f32>::new();
    tape.var(Tensor::zeros(&[2, 3]))
        .matmul(tape.var(Tensor::zeros(&[2, 3])));
}

#[test]
fn fan_out_accumulates() {
    // y = x * x + x uses x three times: dy/dx = 2x + 1.
    let tape = Tape::new();
    let x = tape.var(t(&[3.0, -1.0], &[2]));
    let y = (x * x + x).sum();
    close(tape.backward(y).wrt(x).data(), &[7.0, -1.0]);
}

#[test]
fn backward_twice_is_bit_identical() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::randn_seeded(&[4, 8], 1));
    let w = tape.var(Tensor::randn_seeded(&[8, 3], 2));
    let y = x.matmul(w).tanh().log_softmax(1).sum();
    let (g1, g2) = (tape.backward(y), tape.backward(y));
    assert_eq!(g1.wrt(x), g2.wrt(x));
    assert_eq!(g1.wrt(w), g2.wrt(w));
}

#[test]
fn gradients_flow_only_where_asked() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::ones(&[2, 2]));
    let w = tape.constant(Tensor::ones(&[2, 2]));
    let h = x.matmul(w);
    let d = h.detach();
    let y = (h + d.square()).sum();
    assert!(!w.requires_grad() && !d.requires_grad() && h.requires_grad());
    let g = tape.backward(y);
    assert!(g.get(w).is_none());
    assert!(g.get(d).is_none());
    // d is detached, so only the first term reaches x: dy/dx = 1 W^T.
    assert_eq!(g.wrt(x).data(), &[2.0; 4]);
    // A variable the output does not depend on gets no gradient (zeros from wrt).
    let unused = tape.var(Tensor::ones(&[3]));
    let g = tape.backward(x.sum());
    assert!(g.get(unused).is_none());
    assert_eq!(g.wrt(unused).data(), &[0.0; 3]);
}

#[test]
fn guided_backprop_passes_only_positive_gradients() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, -1.0], &[3]));
    let y = (x.relu() * tape.constant(t(&[-1.0, 1.0, 1.0], &[3]))).sum();
    close(tape.backward(y).wrt(x).data(), &[-1.0, 1.0, 0.0]);
    tape.set_relu_backward(ReluBackward::Guided);
    close(tape.backward(y).wrt(x).data(), &[0.0, 1.0, 0.0]);
}

#[test]
fn backward_with_a_seed_is_a_vector_jacobian_product() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let y = x.square();
    let g = tape.backward_with(y, t(&[3.0, -1.0], &[2]));
    close(g.wrt(x).data(), &[6.0, -4.0]);
}

#[test]
fn dot_output_names_ops_and_edges() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::ones(&[2]));
    let w = tape.constant(Tensor::ones(&[2]));
    let _ = (x * w).relu().sum();
    let dot = tape.to_dot();
    assert!(dot.starts_with("digraph tape {"));
    assert!(dot.contains("n2 [label=\"#2 mul [2]\", color=blue]"));
    assert!(dot.contains("n0 -> n2;") && dot.contains("n1 -> n2;"));
    assert!(dot.contains("#4 sum []"));
}
