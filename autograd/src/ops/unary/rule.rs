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
        }
    }

    /// `y = f(x)` elementwise.
    pub(crate) fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        let y: Vec<T> = match self {
            // The hottest op of a CNN, as a loop the compiler vectorizes.
            Unary::Relu => x.data().iter().map(|&v| v.max(T::zero())).collect(),
            _ => x.data().iter().map(|&v| self.apply(v)).collect(),
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
        let dx: Vec<T> = xv
            .data()
            .iter()
            .zip(y.data())
            .zip(dy.data())
            .map(|((&xi, &yi), &g)| {
                let g = if guided { g.max(T::zero()) } else { g };
                g * f.derivative(xi, yi)
            })
            .collect();
        ctx.accumulate(
            x,
            Tensor::from_parts("unary backward", dx, xv.shape().to_vec()),
        );
    }
}
