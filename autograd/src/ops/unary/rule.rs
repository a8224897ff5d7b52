//! The unary family's payload and rule: `y = f(x)` elementwise, backward `dx = dy * f'(x)`.
//!
//! Each [`Unary`] variant states `f` and `f'` (in [`Unary::apply`] and [`Unary::derivative`]);
//! the derivative is written in terms of `x` and, where cheaper, the output `y` (`exp`, `sqrt`,
//! `tanh`, `sigmoid` reuse it).

use crate::rule::{Backward, ReluBackward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A unary op on the tape: the function `f` applied to node `x`.
pub(crate) struct UnaryOp<T> {
    /// The input's tape index.
    pub(crate) x: usize,
    /// The function.
    pub(crate) f: Unary<T>,
}

/// An elementwise function with its derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unary<T> {
    /// `y = -x`; `dy/dx = -1`.
    Neg,
    /// `y = x + c`; `dy/dx = 1`.
    AddScalar(T),
    /// `y = c x`; `dy/dx = c`.
    MulScalar(T),
    /// `y = x^p`; `dy/dx = p x^(p-1)`.
    PowScalar(T),
    /// `y = 1 / x`; `dy/dx = -1 / x^2 = -y^2`.
    Recip,
    /// `y = e^x`; `dy/dx = y`.
    Exp,
    /// `y = ln x`; `dy/dx = 1 / x`.
    Ln,
    /// `y = sqrt x`; `dy/dx = 1 / (2 y)`.
    Sqrt,
    /// `y = |x|`; `dy/dx = sign(x)`, 0 at 0 (PyTorch's choice).
    Abs,
    /// `y = x^2`; `dy/dx = 2 x`.
    Square,
    /// `y = tanh x`; `dy/dx = 1 - y^2`.
    Tanh,
    /// `y = 1 / (1 + e^-x)`; `dy/dx = y (1 - y)`.
    Sigmoid,
    /// `y = max(x, 0)`; `dy/dx = [x > 0]` (0 at 0, as PyTorch).
    Relu,
    /// `y = x` if `x > 0` else `a x`; `dy/dx = 1` or `a`.
    LeakyRelu(T),
    /// `y = ln(1 + e^x)`, or `x` above 20 (PyTorch's threshold); `dy/dx = sigmoid(x)`, or 1.
    Softplus,
    /// `y = min(max(x, lo), hi)`; `dy/dx = [lo <= x <= hi]` (PyTorch's convention at the bounds).
    Clamp(T, T),
    /// `y = erf x = (2 / sqrt(pi)) int_0^x e^(-t^2) dt`; `dy/dx = (2 / sqrt(pi)) e^(-x^2)`.
    Erf,
    /// Exact GELU, `y = x Phi(x) = (x / 2) (1 + erf(x / sqrt 2))`;
    /// `dy/dx = Phi(x) + x phi(x)` with `phi(x) = e^(-x^2 / 2) / sqrt(2 pi)`.
    Gelu,
    /// GELU's tanh approximation (PyTorch's `approximate='tanh'`): with
    /// `u = sqrt(2 / pi) (x + 0.044715 x^3)`, `y = (x / 2) (1 + tanh u)`;
    /// `dy/dx = (1 + tanh u) / 2 + (x / 2) (1 - tanh^2 u) sqrt(2 / pi) (1 + 3 * 0.044715 x^2)`.
    GeluTanh,
    /// SiLU (swish), `y = x s(x)` with `s` the sigmoid; `dy/dx = s(x) (1 + x (1 - s(x)))`.
    Silu,
    /// `y = x min(max(x + 3, 0), 6) / 6`; `dy/dx = 0` for `x <= -3`, `x / 3 + 1/2` for
    /// `-3 < x < 3`, `1` for `x >= 3` (PyTorch's values at the kinks: 0 at -3, 1 at 3).
    Hardswish,
    /// `y = min(max(x + 3, 0), 6) / 6`; `dy/dx = 1/6` on the open interval `-3 < x < 3`, else 0
    /// (0 at the kinks, as PyTorch).
    Hardsigmoid,
    /// `y = min(max(x, 0), 6)`, PyTorch's `hardtanh(x, 0, 6)`; `dy/dx = [0 < x < 6]`: 0 at both
    /// bounds (hardtanh's mask, unlike [`Unary::Clamp`]'s closed interval).
    Relu6,
}

/// Above this, softplus returns its input (PyTorch's `threshold = 20`): `ln(1 + e^x) = x` in f32.
const SOFTPLUS_THRESHOLD: f64 = 20.0;

fn sigmoid<T: Scalar>(x: T) -> T {
    // Two branches keep exp from overflowing: for x < 0, e^x / (1 + e^x).
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `(2 / sqrt(pi)) e^(-x^2)`, the derivative of erf.
fn erf_grad<T: Scalar>(x: T) -> T {
    T::from_f64_lossy(std::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp()
}

/// `x Phi(x) = (x / 2) (1 + erf(x / sqrt 2))`, as PyTorch computes it.
fn gelu<T: Scalar>(x: T) -> T {
    let half = T::from_f64_lossy(0.5);
    x * half * (T::one() + (x * T::from_f64_lossy(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// `Phi(x) + x phi(x)`, as PyTorch's `gelu_backward`.
fn gelu_grad<T: Scalar>(x: T) -> T {
    let half = T::from_f64_lossy(0.5);
    let cdf = half * (T::one() + (x * T::from_f64_lossy(std::f64::consts::FRAC_1_SQRT_2)).erf());
    // 1 / sqrt(2 pi) = (2 / sqrt pi) (1 / sqrt 2) / 2, PyTorch's `kBeta`.
    let beta = std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2 * 0.5;
    let pdf = (-half * x * x).exp() * T::from_f64_lossy(beta);
    cdf + x * pdf
}

/// `sqrt(2 / pi)` and `0.044715`: the tanh GELU's constants.
fn gelu_tanh_constants<T: Scalar>() -> (T, T) {
    let beta = std::f64::consts::SQRT_2 * std::f64::consts::FRAC_2_SQRT_PI * 0.5;
    (T::from_f64_lossy(beta), T::from_f64_lossy(0.044715))
}

/// `(x / 2) (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`.
fn gelu_tanh<T: Scalar>(x: T) -> T {
    let (beta, kappa) = gelu_tanh_constants::<T>();
    let inner = beta * (x + kappa * x * x * x);
    T::from_f64_lossy(0.5) * x * (T::one() + inner.tanh())
}

/// The tanh GELU's derivative, in PyTorch's order of operations.
fn gelu_tanh_grad<T: Scalar>(x: T) -> T {
    let (beta, kappa) = gelu_tanh_constants::<T>();
    let (half, one) = (T::from_f64_lossy(0.5), T::one());
    let x_sq = x * x;
    let tanh_inner = (beta * (x + kappa * x_sq * x)).tanh();
    let left_derivative = half * (one + tanh_inner);
    let right_derivative = one - tanh_inner * tanh_inner;
    let inner_derivative = beta * (one + T::from_f64_lossy(3.0) * kappa * x_sq);
    left_derivative + half * x * right_derivative * inner_derivative
}

/// `x s(x)`.
fn silu<T: Scalar>(x: T) -> T {
    x * sigmoid(x)
}

/// `s(x) (1 + x (1 - s(x)))`.
fn silu_grad<T: Scalar>(x: T) -> T {
    let s = sigmoid(x);
    s * (T::one() + x * (T::one() - s))
}

/// `min(max(x + 3, 0), 6) / 6`.
fn hardsigmoid<T: Scalar>(x: T) -> T {
    let (three, six) = (T::from_f64_lossy(3.0), T::from_f64_lossy(6.0));
    (x + three).max(T::zero()).min(six) / six
}

/// `1/6` on `(-3, 3)`, else 0.
fn hardsigmoid_grad<T: Scalar>(x: T) -> T {
    let three = T::from_f64_lossy(3.0);
    if x > -three && x < three {
        T::from_f64_lossy(6.0).recip()
    } else {
        T::zero()
    }
}

/// `x min(max(x + 3, 0), 6) / 6`.
fn hardswish<T: Scalar>(x: T) -> T {
    let (three, six) = (T::from_f64_lossy(3.0), T::from_f64_lossy(6.0));
    x * (x + three).max(T::zero()).min(six) / six
}

/// 0 for `x <= -3`, `x / 3 + 1/2` below 3, then 1 (PyTorch's `hardswish_backward`).
fn hardswish_grad<T: Scalar>(x: T) -> T {
    let three = T::from_f64_lossy(3.0);
    if x <= -three {
        T::zero()
    } else if x < three {
        x / three + T::from_f64_lossy(0.5)
    } else {
        T::one()
    }
}

/// `min(max(x, 0), 6)`.
fn relu6<T: Scalar>(x: T) -> T {
    x.max(T::zero()).min(T::from_f64_lossy(6.0))
}

/// `[0 < x < 6]`, hardtanh's backward mask.
fn relu6_grad<T: Scalar>(x: T) -> T {
    if x > T::zero() && x < T::from_f64_lossy(6.0) {
        T::one()
    } else {
        T::zero()
    }
}

/// `f` over a slice, as a plain loop the compiler can vectorize.
fn map<T: Scalar>(x: &[T], f: impl Fn(T) -> T) -> Vec<T> {
    x.iter().map(|&v| f(v)).collect()
}

/// `dy * f'(x)` over slices, for a derivative that needs only `x`.
fn grad_map<T: Scalar>(x: &[T], dy: &[T], d: impl Fn(T) -> T) -> Vec<T> {
    x.iter().zip(dy).map(|(&v, &g)| g * d(v)).collect()
}

impl<T: Scalar> Unary<T> {
    /// The name shown in graphs and messages, with the constant if any: `relu`, `pow(2)`.
    pub(crate) fn name(&self) -> String {
        match self {
            Unary::Neg => "neg".into(),
            Unary::AddScalar(c) => format!("add({c})"),
            Unary::MulScalar(c) => format!("mul({c})"),
            Unary::PowScalar(p) => format!("pow({p})"),
            Unary::Recip => "recip".into(),
            Unary::Exp => "exp".into(),
            Unary::Ln => "ln".into(),
            Unary::Sqrt => "sqrt".into(),
            Unary::Abs => "abs".into(),
            Unary::Square => "square".into(),
            Unary::Tanh => "tanh".into(),
            Unary::Sigmoid => "sigmoid".into(),
            Unary::Relu => "relu".into(),
            Unary::LeakyRelu(a) => format!("leaky_relu({a})"),
            Unary::Softplus => "softplus".into(),
            Unary::Clamp(lo, hi) => format!("clamp({lo}, {hi})"),
            Unary::Erf => "erf".into(),
            Unary::Gelu => "gelu".into(),
            Unary::GeluTanh => "gelu_tanh".into(),
            Unary::Silu => "silu".into(),
            Unary::Hardswish => "hardswish".into(),
            Unary::Hardsigmoid => "hardsigmoid".into(),
            Unary::Relu6 => "relu6".into(),
        }
    }

    /// `y = f(x)` elementwise.
    pub(crate) fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        let d = x.data();
        let y: Vec<T> = match self {
            // The hottest op of a CNN, as a loop the compiler vectorizes.
            Unary::Relu => d.iter().map(|&v| v.max(T::zero())).collect(),
            // The activations of modern classifiers: one monomorphic map each.
            Unary::Erf => map(d, T::erf),
            Unary::Gelu => map(d, gelu),
            Unary::GeluTanh => map(d, gelu_tanh),
            Unary::Silu => map(d, silu),
            Unary::Hardswish => map(d, hardswish),
            Unary::Hardsigmoid => map(d, hardsigmoid),
            Unary::Relu6 => map(d, relu6),
            _ => map(d, |v| self.apply(v)),
        };
        Tensor::from_parts("unary", y, x.shape().to_vec())
    }

    /// `f(x)`.
    pub(crate) fn apply(&self, x: T) -> T {
        let zero = T::zero();
        match *self {
            Unary::Neg => -x,
            Unary::AddScalar(c) => x + c,
            Unary::MulScalar(c) => x * c,
            Unary::PowScalar(p) => x.powf(p),
            Unary::Recip => x.recip(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Square => x * x,
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => sigmoid(x),
            Unary::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Unary::LeakyRelu(a) => {
                if x > zero {
                    x
                } else {
                    a * x
                }
            }
            Unary::Softplus => {
                if x > T::from_f64_lossy(SOFTPLUS_THRESHOLD) {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
            Unary::Clamp(lo, hi) => x.max(lo).min(hi),
            Unary::Erf => x.erf(),
            Unary::Gelu => gelu(x),
            Unary::GeluTanh => gelu_tanh(x),
            Unary::Silu => silu(x),
            Unary::Hardswish => hardswish(x),
            Unary::Hardsigmoid => hardsigmoid(x),
            Unary::Relu6 => relu6(x),
        }
    }

    /// `f'(x)`, given `x` and `y = f(x)`.
    pub(crate) fn derivative(&self, x: T, y: T) -> T {
        let (zero, one) = (T::zero(), T::one());
        let indicator = |c: bool| if c { one } else { zero };
        match *self {
            Unary::Neg => -one,
            Unary::AddScalar(_) => one,
            Unary::MulScalar(c) => c,
            Unary::PowScalar(p) => p * x.powf(p - one),
            Unary::Recip => -(y * y),
            Unary::Exp => y,
            Unary::Ln => x.recip(),
            Unary::Sqrt => (y + y).recip(),
            Unary::Abs => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            Unary::Square => x + x,
            Unary::Tanh => one - y * y,
            Unary::Sigmoid => y * (one - y),
            Unary::Relu => indicator(x > zero),
            Unary::LeakyRelu(a) => {
                if x > zero {
                    one
                } else {
                    a
                }
            }
            Unary::Softplus => {
                if x > T::from_f64_lossy(SOFTPLUS_THRESHOLD) {
                    one
                } else {
                    sigmoid(x)
                }
            }
            Unary::Clamp(lo, hi) => indicator(x >= lo && x <= hi),
            Unary::Erf => erf_grad(x),
            Unary::Gelu => gelu_grad(x),
            Unary::GeluTanh => gelu_tanh_grad(x),
            Unary::Silu => silu_grad(x),
            Unary::Hardswish => hardswish_grad(x),
            Unary::Hardsigmoid => hardsigmoid_grad(x),
            Unary::Relu6 => relu6_grad(x),
        }
    }
}

impl<T: Scalar> Rule<T> for UnaryOp<T> {
    fn inputs(&self) -> Vec<usize> {
        vec![self.x]
    }

    fn name(&self) -> String {
        self.f.name()
    }

    /// `dx = dy * f'(x)`; under guided backprop, ReLUs pass only positive `dy`.
    fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
        let (x, f) = (self.x, &self.f);
        if !ctx.needs(x) {
            return;
        }
        let xv = ctx.value(x);
        let guided =
            ctx.relu == ReluBackward::Guided && matches!(f, Unary::Relu | Unary::LeakyRelu(_));
        if *f == Unary::Relu {
            // The hottest rule of a CNN, as a branch-free loop the compiler vectorizes.
            let zero = T::zero();
            let dx: Vec<T> = xv
                .data()
                .iter()
                .zip(dy.data())
                .map(|(&xi, &g)| {
                    let g = if guided { g.max(zero) } else { g };
                    if xi > zero {
                        g
                    } else {
                        zero
                    }
                })
                .collect();
            ctx.accumulate(
                x,
                Tensor::from_parts("relu backward", dx, xv.shape().to_vec()),
            );
            return;
        }
        let (xd, dyd) = (xv.data(), dy.data());
        let dx: Vec<T> = match f {
            Unary::Erf => grad_map(xd, dyd, erf_grad),
            Unary::Gelu => grad_map(xd, dyd, gelu_grad),
            Unary::GeluTanh => grad_map(xd, dyd, gelu_tanh_grad),
            Unary::Silu => grad_map(xd, dyd, silu_grad),
            Unary::Hardswish => grad_map(xd, dyd, hardswish_grad),
            Unary::Hardsigmoid => grad_map(xd, dyd, hardsigmoid_grad),
            Unary::Relu6 => grad_map(xd, dyd, relu6_grad),
            _ => xd
                .iter()
                .zip(y.data())
                .zip(dyd)
                .map(|((&xi, &yi), &g)| {
                    let g = if guided { g.max(T::zero()) } else { g };
                    g * f.derivative(xi, yi)
                })
                .collect(),
        };
        ctx.accumulate(
            x,
            Tensor::from_parts("unary backward", dx, xv.shape().to_vec()),
        );
    }
}
