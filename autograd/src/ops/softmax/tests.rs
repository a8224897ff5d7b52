//! Softmax and log-softmax: values, stability and a gradient identity.

use crate::ops::testing::{close, t};
use crate::tape::Tape;

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
