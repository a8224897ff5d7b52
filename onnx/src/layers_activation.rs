//! Activations with settings: `HardSigmoid` (PyTorch's), `Clip` as ReLU6/ReLU, `Softmax`.

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::{Hardsigmoid, LogSoftmax, Module, ReLU, ReLU6, Softmax};

use crate::attr;
use crate::constant::Const;
use crate::convert::Converter;
use crate::fold::axis;
use crate::layers::{konst, R};
use crate::proto::NodeProto;

/// `HardSigmoid` with PyTorch's `alpha = 1/6`, `beta = 0.5`.
pub fn hard_sigmoid<T: Scalar>(n: &NodeProto) -> R<Box<dyn Module<T>>> {
    let (a, b) = (attr::float(n, "alpha", 0.2), attr::float(n, "beta", 0.5));
    if (f64::from(a) - 1.0 / 6.0).abs() > 1e-6 || b != 0.5 {
        return Err(format!("only alpha 1/6 and beta 0.5 (PyTorch's Hardsigmoid) are supported, found alpha {a} beta {b}"));
    }
    Ok(Box::new(Hardsigmoid))
}

/// `Clip(0, 6)` as [`ReLU6`], `Clip(0)` as [`ReLU`]; bounds are inputs from opset 11,
/// attributes before.
pub fn clip<T: Scalar>(c: &Converter<T>, n: &NodeProto) -> R<Box<dyn Module<T>>> {
    let (lo, hi) = if c.opset >= 11 {
        let v = |k: Option<&Const>| k.map(|k| k.as_floats().first().copied().unwrap_or(0.0));
        (v(konst(c, n, 1)?), v(konst(c, n, 2)?))
    } else {
        let bound = |name: &str| {
            n.attribute
                .iter()
                .any(|a| a.name() == name)
                .then(|| f64::from(attr::float(n, name, 0.0)))
        };
        (bound("min"), bound("max"))
    };
    match (lo, hi) {
        (Some(0.0), Some(6.0)) => Ok(Box::new(ReLU6)),
        (Some(0.0), None) => Ok(Box::new(ReLU)),
        _ => Err(format!(
            "only Clip(0, 6) (ReLU6) and Clip(0) (ReLU) are supported, found min {lo:?} max {hi:?}"
        )),
    }
}

/// `Softmax` or `LogSoftmax` over its axis (the last by default from opset 13, axis 1 before,
/// where only the last axis is supported).
pub fn softmax<T: Scalar>(c: &Converter<T>, n: &NodeProto, rank: usize) -> R<Box<dyn Module<T>>> {
    let a = axis(
        attr::int(n, "axis", if c.opset >= 13 { -1 } else { 1 }),
        rank,
    )?;
    if c.opset < 13 && a != rank - 1 {
        return Err(format!(
            "before opset 13, only {} over the last axis is supported",
            n.op_type()
        ));
    }
    if n.op_type() == "LogSoftmax" {
        Ok(Box::new(LogSoftmax { dim: a }))
    } else {
        Ok(Box::new(Softmax { dim: a }))
    }
}
