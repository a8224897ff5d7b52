//! Hand-computed values and partial derivatives of the broadcast binary ops.

use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

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
#[should_panic(expected = "add: shapes [2, 3] and [2] do not broadcast")]
fn wrong_broadcast_panics_with_both_shapes() {
    let tape = Tape::<f32>::new();
    let _ = tape.var(Tensor::zeros(&[2, 3])) + tape.var(Tensor::zeros(&[2]));
}
