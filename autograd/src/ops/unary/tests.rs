//! Hand-computed values and derivatives of the unary functions, and guided backprop at ReLU.

use crate::ops::testing::{close, t};
use crate::rule::ReluBackward;
use crate::tape::Tape;
use crate::var::Var;

/// The value and the gradient of `sum(f(x))` at `x`.
fn unary(x: &[f64], f: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>) -> (Vec<f64>, Vec<f64>) {
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
fn guided_backprop_passes_only_positive_gradients() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, -1.0], &[3]));
    let y = (x.relu() * tape.constant(t(&[-1.0, 1.0, 1.0], &[3]))).sum();
    close(tape.backward(y).wrt(x).data(), &[-1.0, 1.0, 0.0]);
    tape.set_relu_backward(ReluBackward::Guided);
    close(tape.backward(y).wrt(x).data(), &[0.0, 1.0, 0.0]);
}
