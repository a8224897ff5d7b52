//! The binary family's payload and rule: broadcast elementwise functions of two inputs.
//!
//! Backward computes each operand's partial derivative on the broadcast shape, then sums it back
//! over the axes that operand was broadcast along ([`sum_to_shape`]).

use crate::kernels::broadcast::{sum_to_shape, zip_broadcast};
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A binary op on the tape: `f(a, b)` of nodes `a` and `b`.
pub(crate) struct BinaryOp {
    /// The left operand's tape index.
    pub(crate) a: usize,
    /// The right operand's tape index.
    pub(crate) b: usize,
    /// The function.
    pub(crate) f: Binary,
}

/// A broadcast elementwise function of two inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binary {
    /// `y = a + b`; `da = dy`, `db = dy`.
    Add,
    /// `y = a - b`; `da = dy`, `db = -dy`.
    Sub,
    /// `y = a b`; `da = dy b`, `db = dy a`.
    Mul,
    /// `y = a / b`; `da = dy / b`, `db = -dy a / b^2 = -dy y / b`.
    Div,
    /// `y = max(a, b)`; the gradient goes to the larger, split evenly on ties (as PyTorch).
    Maximum,
    /// `y = min(a, b)`; the gradient goes to the smaller, split evenly on ties.
    Minimum,
}

impl Binary {
    /// The name shown in graphs and messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
        }
    }

    /// `y = f(a, b)`, broadcast.
    ///
    /// # Panics
    /// If the shapes do not broadcast, naming the op and both shapes.
    pub(crate) fn forward<T: Scalar>(self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        let name = self.name();
        match self {
            Binary::Add => zip_broadcast(name, a, b, |x, y| x + y),
            Binary::Sub => zip_broadcast(name, a, b, |x, y| x - y),
            Binary::Mul => zip_broadcast(name, a, b, |x, y| x * y),
            Binary::Div => zip_broadcast(name, a, b, |x, y| x / y),
            Binary::Maximum => zip_broadcast(name, a, b, |x, y| if y > x { y } else { x }),
            Binary::Minimum => zip_broadcast(name, a, b, |x, y| if y < x { y } else { x }),
        }
    }
}

/// The weight of `a`'s side in a maximum (`larger == true`) or minimum: 1, 0, or 1/2 on a tie.
fn pick_weight<T: Scalar>(a: T, b: T, larger: bool) -> T {
    if a == b {
        T::from_f64_lossy(0.5)
    } else if (a > b) == larger {
        T::one()
    } else {
        T::zero()
    }
}

impl<T: Scalar> Rule<T> for BinaryOp {
    fn inputs(&self) -> Vec<usize> {
        vec![self.a, self.b]
    }

    fn name(&self) -> String {
        self.f.name().into()
    }

    /// Each operand's partial derivative (in [`Binary`]'s docs), summed over its broadcast axes.
    fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
        let (a, b, f) = (self.a, self.b, self.f);
        let (av, bv) = (ctx.value(a), ctx.value(b));
        let send = |ctx: &mut Backward<'_, T>, id: usize, full: Tensor<T>| {
            let g = sum_to_shape(&full, ctx.value(id).shape());
            ctx.accumulate(id, g);
        };
        if ctx.needs(a) {
            let da = match f {
                Binary::Add | Binary::Sub => dy.clone(),
                Binary::Mul => zip_broadcast("mul backward", &dy, bv, |g, y| g * y),
                Binary::Div => zip_broadcast("div backward", &dy, bv, |g, y| g / y),
                Binary::Maximum | Binary::Minimum => {
                    let larger = f == Binary::Maximum;
                    let w = zip_broadcast("max backward", av, bv, |x, z| pick_weight(x, z, larger));
                    zip_broadcast("max backward", &dy, &w, |g, w| g * w)
                }
            };
            send(ctx, a, da);
        }
        if ctx.needs(b) {
            let db = match f {
                Binary::Add => dy.clone(),
                Binary::Sub => dy.map(|g| -g),
                Binary::Mul => zip_broadcast("mul backward", &dy, av, |g, x| g * x),
                Binary::Div => {
                    let gy = dy.zip_map(y, |g, q| g * q);
                    zip_broadcast("div backward", &gy, bv, |t, z| -t / z)
                }
                Binary::Maximum | Binary::Minimum => {
                    let larger = f == Binary::Maximum;
                    let w = zip_broadcast("max backward", bv, av, |z, x| pick_weight(z, x, larger));
                    zip_broadcast("max backward", &dy, &w, |g, w| g * w)
                }
            };
            send(ctx, b, db);
        }
    }
}
