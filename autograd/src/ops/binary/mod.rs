//! Elementwise functions of two inputs with NumPy broadcasting: `+ - * /`, maximum and minimum.
//!
//! The `Var` methods and operator impls are here; the functions, their partial derivatives and
//! the backward rule are in `rule.rs`.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use std::ops::{Add, Div, Mul, Sub};

use crate::scalar::Scalar;
use crate::var::Var;
use rule::{Binary, BinaryOp};

impl<'t, T: Scalar> Var<'t, T> {
    fn binary(self, other: Var<'t, T>, f: Binary) -> Var<'t, T> {
        self.same_tape(f.name(), &other);
        let value = f.forward(&self.value(), &other.value());
        let (a, b) = (self.id(), other.id());
        self.record(value, BinaryOp { a, b, f })
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
