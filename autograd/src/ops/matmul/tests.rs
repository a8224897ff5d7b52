//! A hand-computed matrix product and its gradients.

use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

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
#[should_panic(expected = "matmul: shapes [2, 3] and [2, 3] do not match")]
fn wrong_matmul_panics_with_both_shapes() {
    let tape = Tape::<f32>::new();
    tape.var(Tensor::zeros(&[2, 3]))
        .matmul(tape.var(Tensor::zeros(&[2, 3])));
}
