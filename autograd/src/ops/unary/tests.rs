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

#[test]
fn piecewise_activations_match_pytorch_at_the_kinks() {
    // Points on, between and beyond the kinks at -3, 0, 3 and 6.
    let x = [-4.0, -3.0, -1.0, 0.0, 1.5, 3.0, 6.0, 7.0];
    let (y, g) = unary(&x, |v| v.hardswish());
    close(&y, &[0.0, 0.0, -1.0 / 3.0, 0.0, 1.125, 3.0, 6.0, 7.0]);
    // PyTorch: 0 at -3 (closed below), x/3 + 1/2 inside, 1 from 3 on.
    close(&g, &[0.0, 0.0, 1.0 / 6.0, 0.5, 1.0, 1.0, 1.0, 1.0]);
    let (y, g) = unary(&x, |v| v.hardsigmoid());
    close(&y, &[0.0, 0.0, 1.0 / 3.0, 0.5, 0.75, 1.0, 1.0, 1.0]);
    let s = 1.0 / 6.0;
    close(&g, &[0.0, 0.0, s, s, s, 0.0, 0.0, 0.0]);
    let (y, g) = unary(&x, |v| v.relu6());
    close(&y, &[0.0, 0.0, 0.0, 0.0, 1.5, 3.0, 6.0, 6.0]);
    // hardtanh's mask: 0 at both bounds, unlike clamp.
    close(&g, &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    let (_, g) = unary(&[0.0, 6.0], |v| v.clamp(0.0, 6.0));
    close(&g, &[1.0, 1.0]);
}

#[test]
fn smooth_activations_values_and_derivatives() {
    let erf1 = 0.842_700_792_949_714_9; // erf(1)
    let (y, g) = unary(&[0.0, 1.0, -1.0], |v| v.erf());
    let d1 = std::f64::consts::FRAC_2_SQRT_PI * (-1.0f64).exp();
    close(&y, &[0.0, erf1, -erf1]);
    close(&g, &[std::f64::consts::FRAC_2_SQRT_PI, d1, d1]);
    // GELU at sqrt 2: x Phi(x) = sqrt2 (1 + erf 1) / 2; derivative Phi + x phi = (1 + erf 1)/2 +
    // sqrt2 e^-1 / sqrt(2 pi).
    let r2 = std::f64::consts::SQRT_2;
    let (y, g) = unary(&[0.0, r2], |v| v.gelu());
    let phi = (-1.0f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
    close(&y, &[0.0, r2 * (1.0 + erf1) / 2.0]);
    close(&g, &[0.5, (1.0 + erf1) / 2.0 + r2 * phi]);
    // PyTorch's values (float64) for the tanh GELU at -1 and 0.5.
    let (y, g) = unary(&[-1.0, 0.0, 0.5], |v| v.gelu_tanh());
    close(
        &y,
        &[-0.158_808_009_391_723_24, 0.0, 0.345_714_009_825_143_94],
    );
    close(
        &g,
        &[-0.082_964_083_845_782_52, 0.5, 0.867_369_903_534_642_4],
    );
    // SiLU: x s(x); at 0, 0 and 1/2; at ln 3, s = 3/4: y = 3 ln3 / 4, y' = 3/4 (1 + ln3 / 4).
    let l3 = 3.0f64.ln();
    let (y, g) = unary(&[0.0, l3], |v| v.silu());
    close(&y, &[0.0, 0.75 * l3]);
    close(&g, &[0.5, 0.75 * (1.0 + l3 / 4.0)]);
}
