//! The tape's own guarantees, across ops: fan-out accumulation, repeatable backward, gradients
//! only where asked, vector-Jacobian products and the DOT output. Each op family's hand-computed
//! values and derivatives are unit tests in `src/ops/<family>/tests.rs`.

use smoothgrad_autograd::{Tape, Tensor};

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape).unwrap()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
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
