//! Elementwise functions of one input: `y = f(x)`, and backward `dx = dy * f'(x)`.
//!
//! The `Var` methods are here; each function's `f`, `f'` and the backward rule are in `rule.rs`.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use std::ops::Neg;

use crate::scalar::Scalar;
use crate::var::Var;
use rule::{Unary, UnaryOp};

impl<'t, T: Scalar> Var<'t, T> {
    fn unary(self, f: Unary<T>) -> Var<'t, T> {
        let value = f.forward(&self.value());
        self.record(value, UnaryOp { x: self.id(), f })
    }

    /// `x + c` for a scalar `c`; derivative 1.
    pub fn add_scalar(self, c: T) -> Var<'t, T> {
        self.unary(Unary::AddScalar(c))
    }

    /// `x - c` for a scalar `c`.
    pub fn sub_scalar(self, c: T) -> Var<'t, T> {
        self.unary(Unary::AddScalar(-c))
    }

    /// `c x` for a scalar `c`; derivative `c`.
    pub fn mul_scalar(self, c: T) -> Var<'t, T> {
        self.unary(Unary::MulScalar(c))
    }

    /// `x / c` for a scalar `c`, as `x * (1/c)`.
    pub fn div_scalar(self, c: T) -> Var<'t, T> {
        self.unary(Unary::MulScalar(c.recip()))
    }

    /// `x^p`; derivative `p x^(p-1)`. Negative `x` with a fractional `p` gives NaN, as `powf`.
    pub fn powf(self, p: T) -> Var<'t, T> {
        self.unary(Unary::PowScalar(p))
    }

    /// `1 / x`; derivative `-1 / x^2`.
    pub fn recip(self) -> Var<'t, T> {
        self.unary(Unary::Recip)
    }

    /// `e^x`; derivative `e^x`.
    pub fn exp(self) -> Var<'t, T> {
        self.unary(Unary::Exp)
    }

    /// Natural logarithm; derivative `1 / x`.
    pub fn ln(self) -> Var<'t, T> {
        self.unary(Unary::Ln)
    }

    /// Square root; derivative `1 / (2 sqrt x)`.
    pub fn sqrt(self) -> Var<'t, T> {
        self.unary(Unary::Sqrt)
    }

    /// `|x|`; derivative `sign(x)`, 0 at 0.
    pub fn abs(self) -> Var<'t, T> {
        self.unary(Unary::Abs)
    }

    /// `x^2`; derivative `2 x`.
    pub fn square(self) -> Var<'t, T> {
        self.unary(Unary::Square)
    }

    /// Hyperbolic tangent; derivative `1 - tanh^2 x`.
    pub fn tanh(self) -> Var<'t, T> {
        self.unary(Unary::Tanh)
    }

    /// Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow; derivative `s (1 - s)`.
    pub fn sigmoid(self) -> Var<'t, T> {
        self.unary(Unary::Sigmoid)
    }

    /// `max(x, 0)`; derivative `[x > 0]`. Under [`ReluBackward::Guided`](crate::ReluBackward::Guided) the backward rule passes
    /// only positive gradients.
    pub fn relu(self) -> Var<'t, T> {
        self.unary(Unary::Relu)
    }

    /// `x` for positive `x`, `slope * x` otherwise (PyTorch's default slope is 0.01).
    pub fn leaky_relu(self, slope: T) -> Var<'t, T> {
        self.unary(Unary::LeakyRelu(slope))
    }

    /// `ln(1 + e^x)` (PyTorch's `softplus` with beta 1, threshold 20); derivative `sigmoid(x)`.
    pub fn softplus(self) -> Var<'t, T> {
        self.unary(Unary::Softplus)
    }

    /// `min(max(x, lo), hi)`; derivative 1 on `[lo, hi]`, 0 outside.
    ///
    /// # Panics
    /// If `lo > hi`.
    pub fn clamp(self, lo: T, hi: T) -> Var<'t, T> {
        assert!(lo <= hi, "clamp: lower bound {lo} exceeds upper bound {hi}");
        self.unary(Unary::Clamp(lo, hi))
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The error function `erf x = (2 / sqrt(pi)) int_0^x e^(-t^2) dt`; derivative
    /// `(2 / sqrt(pi)) e^(-x^2)`.
    pub fn erf(self) -> Var<'t, T> {
        self.unary(Unary::Erf)
    }

    /// Exact GELU (PyTorch's `gelu`, `approximate='none'`): `x Phi(x) = (x / 2)(1 + erf(x / sqrt 2))`;
    /// derivative `Phi(x) + x phi(x)`, `phi(x) = e^(-x^2 / 2) / sqrt(2 pi)` (1/2 at 0).
    pub fn gelu(self) -> Var<'t, T> {
        self.unary(Unary::Gelu)
    }

    /// GELU's tanh approximation (PyTorch's `gelu(x, approximate='tanh')`):
    /// `(x / 2)(1 + tanh u)`, `u = sqrt(2 / pi)(x + 0.044715 x^3)`; derivative
    /// `(1 + tanh u) / 2 + (x / 2)(1 - tanh^2 u) sqrt(2 / pi)(1 + 0.134145 x^2)`.
    pub fn gelu_tanh(self) -> Var<'t, T> {
        self.unary(Unary::GeluTanh)
    }

    /// SiLU (swish): `x s(x)` with `s` the logistic sigmoid; derivative `s(x)(1 + x(1 - s(x)))`.
    pub fn silu(self) -> Var<'t, T> {
        self.unary(Unary::Silu)
    }

    /// Hard swish (MobileNetV3): `x min(max(x + 3, 0), 6) / 6`; derivative 0 for `x <= -3`,
    /// `x / 3 + 1/2` for `-3 < x < 3`, 1 for `x >= 3` (PyTorch's values at the kinks).
    pub fn hardswish(self) -> Var<'t, T> {
        self.unary(Unary::Hardswish)
    }

    /// Hard sigmoid: `min(max(x + 3, 0), 6) / 6`; derivative `1/6` for `-3 < x < 3`, else 0
    /// (0 at the kinks, as PyTorch).
    pub fn hardsigmoid(self) -> Var<'t, T> {
        self.unary(Unary::Hardsigmoid)
    }

    /// ReLU6, PyTorch's `hardtanh(x, 0, 6)`: `min(max(x, 0), 6)`; derivative 1 for `0 < x < 6`,
    /// else 0 (0 at both bounds: hardtanh's mask, where [`Var::clamp`] passes the bounds).
    pub fn relu6(self) -> Var<'t, T> {
        self.unary(Unary::Relu6)
    }
}

impl<'t, T: Scalar> Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    /// `-x`; derivative `-1`.
    fn neg(self) -> Var<'t, T> {
        self.unary(Unary::Neg)
    }
}

impl<'t, T: Scalar> Neg for &Var<'t, T> {
    type Output = Var<'t, T>;
    /// `-x`; derivative `-1`.
    fn neg(self) -> Var<'t, T> {
        self.unary(Unary::Neg)
    }
}
