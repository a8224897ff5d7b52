//! Elementwise functions of two inputs with NumPy broadcasting: `+ - * /`, maximum and minimum.
//!
//! Backward computes each operand's partial derivative on the broadcast shape, then sums it back
//! over the axes that operand was broadcast along ([`sum_to_shape`]).

use std::ops::{Add, Div, Mul, Sub};

use crate::kernels::broadcast::{sum_to_shape, zip_broadcast};
use crate::op::{Backward, Op};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;

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

    fn forward<T: Scalar>(self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
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

pub(crate) fn backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    a: usize,
    b: usize,
    f: Binary,
    y: &Tensor<T>,
    dy: &Tensor<T>,
) {
    let (av, bv) = (ctx.value(a), ctx.value(b));
    let send = |ctx: &mut Backward<'_, T>, id: usize, full: Tensor<T>| {
        let g = sum_to_shape(&full, ctx.value(id).shape());
        ctx.accumulate(id, g);
    };
    if ctx.needs(a) {
        let da = match f {
            Binary::Add | Binary::Sub => dy.clone(),
            Binary::Mul => zip_broadcast("mul backward", dy, bv, |g, y| g * y),
            Binary::Div => zip_broadcast("div backward", dy, bv, |g, y| g / y),
            Binary::Maximum | Binary::Minimum => {
                let larger = f == Binary::Maximum;
                let w = zip_broadcast("max backward", av, bv, |x, z| pick_weight(x, z, larger));
                zip_broadcast("max backward", dy, &w, |g, w| g * w)
            }
        };
        send(ctx, a, da);
    }
    if ctx.needs(b) {
        let db = match f {
            Binary::Add => dy.clone(),
            Binary::Sub => dy.map(|g| -g),
            Binary::Mul => zip_broadcast("mul backward", dy, av, |g, x| g * x),
            Binary::Div => {
                let gy = dy.zip_map(y, |g, q| g * q);
                zip_broadcast("div backward", &gy, bv, |t, z| -t / z)
            }
            Binary::Maximum | Binary::Minimum => {
                let larger = f == Binary::Maximum;
                let w = zip_broadcast("max backward", bv, av, |z, x| pick_weight(z, x, larger));
                zip_broadcast("max backward", dy, &w, |g, w| g * w)
            }
        };
        send(ctx, b, db);
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    fn binary(self, other: Var<'t, T>, f: Binary) -> Var<'t, T> {
        self.same_tape(f.name(), &other);
        let value = f.forward(&self.value(), &other.value());
        self.tape().push(
            value,
            Op::Binary {
                a: self.id(),
                b: other.id(),
                f,
            },
        )
    }

    /// Elementwise maximum, broadcast; on ties each side gets half the gradient.
    pub fn maximum(self, other: Var<'t, T>) -> Var<'t, T> {
        self.binary(other, Binary::Maximum)
    }

    /// Elementwise minimum, broadcast; on ties each side gets half the gradient.
    pub fn minimum(self, other: Var<'t, T>) -> Var<'t, T> {
        self.binary(other, Binary::Minimum)
    }
}

/// Implements `Var op Var`, `&Var op &Var` and `Var op scalar` for one operator.
macro_rules! binary_operator {
    ($trait:ident, $method:ident, $variant:ident, $scalar:expr) => {
        impl<'t, T: Scalar> $trait<Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;
            #[doc = concat!("Broadcast elementwise `", stringify!($method), "`.")]
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                self.binary(rhs, Binary::$variant)
            }
        }
        impl<'t, T: Scalar> $trait<&Var<'t, T>> for &Var<'t, T> {
            type Output = Var<'t, T>;
            #[doc = concat!("Broadcast elementwise `", stringify!($method), "`.")]
            fn $method(self, rhs: &Var<'t, T>) -> Var<'t, T> {
                self.binary(*rhs, Binary::$variant)
            }
        }
        impl<'t, T: Scalar> $trait<T> for Var<'t, T> {
            type Output = Var<'t, T>;
            #[doc = concat!("Elementwise `", stringify!($method), "` with a scalar.")]
            fn $method(self, rhs: T) -> Var<'t, T> {
                let f: fn(Var<'t, T>, T) -> Var<'t, T> = $scalar;
                f(self, rhs)
            }
        }
    };
}

binary_operator!(Add, add, Add, |x, c| x.add_scalar(c));
binary_operator!(Sub, sub, Sub, |x, c| x.sub_scalar(c));
binary_operator!(Mul, mul, Mul, |x, c| x.mul_scalar(c));
binary_operator!(Div, div, Div, |x, c| x.div_scalar(c));

/// Implements `scalar op Var` for a concrete scalar type.
macro_rules! scalar_lhs {
    ($t:ty) => {
        impl<'t> Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn add(self, rhs: Var<'t, $t>) -> Var<'t, $t> {
                rhs.add_scalar(self)
            }
        }
        impl<'t> Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn sub(self, rhs: Var<'t, $t>) -> Var<'t, $t> {
                (-rhs).add_scalar(self)
            }
        }
        impl<'t> Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn mul(self, rhs: Var<'t, $t>) -> Var<'t, $t> {
                rhs.mul_scalar(self)
            }
        }
        impl<'t> Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn div(self, rhs: Var<'t, $t>) -> Var<'t, $t> {
                rhs.recip().mul_scalar(self)
            }
        }
    };
}

scalar_lhs!(f32);
scalar_lhs!(f64);
