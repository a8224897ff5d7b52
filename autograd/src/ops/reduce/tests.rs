//! Hand-computed sums, means, maxima and their gradients.

use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

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
