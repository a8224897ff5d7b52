//! Shape ops move values and their gradients back.

use crate::ops::testing::close;
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::var::Var;

#[test]
fn shape_ops_move_values() {
    let tape = Tape::new();
    let x = tape.var(Tensor::arange(6).reshape(&[2, 3]).unwrap());
    close(x.t().value().data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    close(x.narrow(1, 1, 2).value().data(), &[1.0, 2.0, 4.0, 5.0]);
    let c = Var::concat(&[x, x], 0);
    assert_eq!(c.shape(), vec![4, 3]);
    let s = Var::stack(&[x, x], 1);
    assert_eq!(s.shape(), vec![2, 2, 3]);
    close(&s.value().data()[..6], &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    assert_eq!(x.reshape(&[3, usize::MAX]).shape(), vec![3, 2]);
}
