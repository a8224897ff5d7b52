//! Indexing picks values, and its gradient scatters back, adding where an index repeats.

use crate::ops::testing::close;
use crate::tape::Tape;
use crate::tensor::Tensor;

#[test]
fn index_select_gather_and_pick() {
    let tape = Tape::new();
    let x = tape.var(Tensor::arange(6).reshape(&[2, 3]).unwrap());
    close(
        x.index_select(1, &[2, 0, 2]).value().data(),
        &[2.0, 0.0, 2.0, 5.0, 3.0, 5.0],
    );
    close(x.pick(&[2, 0]).value().data(), &[2.0, 3.0]);
    close(
        x.gather(0, &[1, 0, 1], &[1, 3]).value().data(),
        &[3.0, 1.0, 5.0],
    );
    // index_select with a repeated index accumulates.
    let g = tape.backward(x.index_select(1, &[2, 0, 2]).sum());
    close(g.wrt(x).data(), &[1.0, 0.0, 2.0, 1.0, 0.0, 2.0]);
    let g = tape.backward(x.gather(1, &[2, 2, 0, 1], &[2, 2]).sum());
    close(g.wrt(x).data(), &[0.0, 0.0, 2.0, 1.0, 1.0, 0.0]);
}
