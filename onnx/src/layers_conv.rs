//! Convolution and batch normalization: `Conv` becomes [`Conv2d`], `BatchNormalization`
//! (inference) [`BatchNorm2d`]; the padding helpers are shared with the pools.

use smoothgrad_autograd::{Conv2dOptions, Scalar};
use smoothgrad_nn::{BatchNorm2d, Conv2d, Module, StateKind};

use crate::attr;
use crate::convert::{tensor, Converter, Val};
use crate::layers::{konst, R, X};
use crate::proto::NodeProto;

pub fn pair(v: &[i64], what: &str) -> R<[usize; 2]> {
    match v {
        [a, b] if *a >= 0 && *b >= 0 => Ok([*a as usize, *b as usize]),
        _ => Err(format!(
            "{what} {v:?}: only 2-D (two non-negative values) is supported"
        )),
    }
}

pub fn pads(n: &NodeProto) -> R<[usize; 4]> {
    let p = attr::ints(n, "pads").unwrap_or(vec![0; 4]);
    match attr::string(n, "auto_pad", "NOTSET").as_str() {
        "NOTSET" | "VALID" => {}
        other => {
            return Err(format!(
                "auto_pad {other} is not supported (export with explicit pads)"
            ))
        }
    }
    match p.as_slice() {
        [a, b, c, d] if p.iter().all(|&v| v >= 0) => {
            Ok([*a as usize, *b as usize, *c as usize, *d as usize])
        }
        _ => Err(format!("pads {p:?}: expected four non-negative values")),
    }
}

pub fn conv<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let w = konst(c, n, 1)?.ok_or("the weight is missing")?;
    if w.dims.len() != 4 {
        return Err(format!(
            "only 2-D convolutions are supported, weight is {:?}",
            w.dims
        ));
    }
    let p = pads(n)?;
    if p[0] != p[2] || p[1] != p[3] {
        return Err(format!(
            "asymmetric pads {p:?} (top, left, bottom, right) are not supported"
        ));
    }
    let options = Conv2dOptions {
        stride: pair(&attr::ints(n, "strides").unwrap_or(vec![1, 1]), "strides")?,
        padding: [p[0], p[1]],
        dilation: pair(
            &attr::ints(n, "dilations").unwrap_or(vec![1, 1]),
            "dilations",
        )?,
        groups: usize::try_from(attr::int(n, "group", 1))
            .map_err(|_| "negative group".to_string())?,
    };
    let weight = tensor::<T>(w);
    let bias = konst(c, n, 2)?.map(tensor::<T>);
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    c.module(
        &name,
        Box::new(Conv2d {
            weight,
            bias,
            options,
        }),
        (x.0, &x.1),
    )
}

pub fn batchnorm<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    if attr::int(n, "training_mode", 0) != 0 || n.output.len() > 1 {
        return Err("only inference-mode BatchNormalization is supported".into());
    }
    let mut parts = Vec::new();
    for i in 1..5 {
        parts.push(tensor::<T>(
            konst(c, n, i)?.ok_or_else(|| format!("input {i} is missing"))?,
        ));
    }
    let ch = parts[0].shape().iter().product();
    let eps = f64::from(attr::float(n, "epsilon", 1e-5));
    let mut bn = BatchNorm2d::<T>::new(ch, eps, 0.1, true).map_err(|e| e.to_string())?;
    let mut bad = false;
    bn.visit_state_mut(&mut |key, _: StateKind, t| {
        let src = match key {
            "weight" => &parts[0],
            "bias" => &parts[1],
            "running_mean" => &parts[2],
            "running_var" => &parts[3],
            _ => return,
        };
        match src.reshape(&[ch]) {
            Ok(v) => *t = v,
            Err(_) => bad = true,
        }
    });
    if bad {
        return Err(format!(
            "scale, bias, mean and variance must each have {ch} values"
        ));
    }
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    c.module(&name, Box::new(bn), (x.0, &x.1))
}
