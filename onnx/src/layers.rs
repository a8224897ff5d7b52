//! One ONNX node with a runtime input to a graph node: layers (Conv, BatchNormalization, Gemm,
//! pools, activations) and [`TensorOp`]s (arithmetic, Concat, Flatten, Reshape, MatMul).

use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Scalar};
use smoothgrad_nn::{
    AvgPool2d, BatchNorm2d, Conv2d, Hardsigmoid, Hardswish, Linear, MaxPool2d, Module, ReLU, ReLU6,
    Sigmoid, Softmax, StateKind, TensorOp,
};

use crate::attr;
use crate::constant::Const;
use crate::convert::{tensor, Converter, Val};
use crate::fold::axis;
use crate::proto::NodeProto;

type R<T> = std::result::Result<T, String>;

/// The constant input `i` of `n`, if present.
fn konst<'a, T: Scalar>(c: &'a Converter<T>, n: &NodeProto, i: usize) -> R<Option<&'a Const>> {
    match n.input.get(i).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => match c.vals.get(x) {
            Some(Val::Const(k)) => Ok(Some(k)),
            _ => Err(format!(
                "input {i} ({x:?}) must be a constant (an initializer or folded)"
            )),
        },
    }
}

/// Converts `n` (whose first input is computed at run time), named `label`.
pub fn node<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str) -> R<Val> {
    if let Some(v) = crate::layers_transformer::node(c, n, label)? {
        return Ok(v);
    }
    let op = n.op_type();
    let x = c.node_value(&n.input[0]);
    let unit = |m: Box<dyn Module<T>>, c: &mut Converter<T>| c.module(label, m, (x.0, &x.1));
    match op {
        "Relu" => unit(Box::new(ReLU), c),
        "Sigmoid" => unit(Box::new(Sigmoid), c),
        "HardSwish" => unit(Box::new(Hardswish), c),
        "Identity" | "Dropout" => Ok(Val::Node(x.0, x.1)),
        "HardSigmoid" => {
            let (a, b) = (attr::float(n, "alpha", 0.2), attr::float(n, "beta", 0.5));
            if (f64::from(a) - 1.0 / 6.0).abs() > 1e-6 || b != 0.5 {
                return Err(format!("only alpha 1/6 and beta 0.5 (PyTorch's Hardsigmoid) are supported, found alpha {a} beta {b}"));
            }
            unit(Box::new(Hardsigmoid), c)
        }
        "Clip" => {
            let (lo, hi) = if c.opset >= 11 {
                let v =
                    |k: Option<&Const>| k.map(|k| k.as_floats().first().copied().unwrap_or(0.0));
                (v(konst(c, n, 1)?), v(konst(c, n, 2)?))
            } else {
                let lo = n
                    .attribute
                    .iter()
                    .any(|a| a.name() == "min")
                    .then(|| f64::from(attr::float(n, "min", 0.0)));
                let hi = n
                    .attribute
                    .iter()
                    .any(|a| a.name() == "max")
                    .then(|| f64::from(attr::float(n, "max", 0.0)));
                (lo, hi)
            };
            match (lo, hi) {
                (Some(0.0), Some(6.0)) => unit(Box::new(ReLU6), c),
                (Some(0.0), None) => unit(Box::new(ReLU), c),
                _ => Err(format!("only Clip(0, 6) (ReLU6) and Clip(0) (ReLU) are supported, found min {lo:?} max {hi:?}")),
            }
        }
        "Softmax" => {
            let rank = x.1.len();
            let a = axis(
                attr::int(n, "axis", if c.opset >= 13 { -1 } else { 1 }),
                rank,
            )?;
            if c.opset < 13 && a != rank - 1 {
                return Err("before opset 13, only Softmax over the last axis is supported".into());
            }
            unit(Box::new(Softmax { dim: a }), c)
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let y = c.node_value(&n.input[1]);
            let t = match op {
                "Add" => TensorOp::Add,
                "Sub" => TensorOp::Sub,
                "Mul" => TensorOp::Mul,
                _ => TensorOp::Div,
            };
            c.op(label, t, &[x, y])
        }
        "Concat" => {
            let a = axis(attr::int(n, "axis", 0), x.1.len())?;
            let xs: Vec<_> = n.input.iter().map(|i| c.node_value(i)).collect();
            c.op(label, TensorOp::Concat { axis: a }, &xs)
        }
        "Flatten" => {
            let a = axis(attr::int(n, "axis", 1), x.1.len())?;
            if a == 0 {
                return Err("Flatten from axis 0 would merge the batch axis".into());
            }
            c.op(label, TensorOp::Flatten { start: a }, &[x])
        }
        "GlobalAveragePool" => {
            let axes = (2..x.1.len()).collect();
            c.op(
                label,
                TensorOp::Mean {
                    axes,
                    keepdim: true,
                },
                &[x],
            )
        }
        "Reshape" => reshape(c, n, label, x),
        "MatMul" => match konst(c, n, 1) {
            Ok(Some(w)) if w.dims.len() == 2 => {
                let wt = tensor::<T>(&transposed(w));
                let lin = Linear::from_weights(wt, None).map_err(|e| e.to_string())?;
                let name = c.layer_name(&n.input[1], None, label);
                c.module(&name, Box::new(lin), (x.0, &x.1))
            }
            _ => {
                let y = c.node_value(&n.input[1]);
                c.op(label, TensorOp::MatMul, &[x, y])
            }
        },
        "Gemm" => gemm(c, n, label, x),
        "Conv" => conv(c, n, label, x),
        "BatchNormalization" => batchnorm(c, n, label, x),
        "MaxPool" | "AveragePool" => pool(c, n, label, x),
        other => Err(format!("{other} is not supported with a runtime input")),
    }
}

/// `Reshape` to a constant target whose first entry is the batch (`0`, `-1` or the example's
/// batch): the batch stays symbolic, the rest becomes [`TensorOp::Reshape`]'s dims.
fn reshape<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: (smoothgrad_nn::ValueId, Vec<usize>),
) -> R<Val> {
    let target = konst(c, n, 1)?
        .ok_or("the target shape is missing")?
        .as_ints();
    let batch = x.1.first().copied().unwrap_or(1) as i64;
    match target.first() {
        Some(&b) if b == 0 || b == batch || (b == -1 && !target[1..].contains(&-1)) => {}
        _ => return Err(format!("target {target:?} does not keep the batch axis first, so the batch could not stay symbolic")),
    }
    let allow_zero = attr::int(n, "allowzero", 0) != 0;
    let mut dims = Vec::with_capacity(target.len() - 1);
    for (i, &d) in target.iter().enumerate().skip(1) {
        let d = match d {
            0 if !allow_zero => {
                *x.1.get(i)
                    .ok_or_else(|| format!("target {target:?} copies axis {i} the input lacks"))?
                    as isize
            }
            -1 => -1,
            d if d > 0 => d as isize,
            d => return Err(format!("invalid target dimension {d}")),
        };
        dims.push(d);
    }
    c.op(label, TensorOp::Reshape { dims }, &[x])
}

fn gemm<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: (smoothgrad_nn::ValueId, Vec<usize>),
) -> R<Val> {
    if attr::float(n, "alpha", 1.0) != 1.0
        || attr::float(n, "beta", 1.0) != 1.0
        || attr::int(n, "transA", 0) != 0
    {
        return Err("only alpha 1, beta 1 and transA 0 (a linear layer) are supported".into());
    }
    let w = konst(c, n, 1)?.ok_or("the weight is missing")?;
    if w.dims.len() != 2 {
        return Err(format!("the weight must be a matrix, found {:?}", w.dims));
    }
    let w = if attr::int(n, "transB", 0) == 0 {
        tensor::<T>(&transposed(w))
    } else {
        tensor::<T>(w)
    };
    let b = konst(c, n, 2)?
        .map(|b| tensor::<T>(b).reshape(&[w.shape()[0]]))
        .transpose()
        .map_err(|_| "the bias must have one value per output".to_string())?;
    let lin = Linear::from_weights(w, b).map_err(|e| e.to_string())?;
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    c.module(&name, Box::new(lin), (x.0, &x.1))
}

/// The transpose of a matrix constant.
fn transposed(w: &Const) -> Const {
    let (r, k) = (w.dims[0], w.dims[1]);
    let v = w.as_floats();
    let t = (0..k * r).map(|i| v[(i % r) * k + i / r]).collect();
    Const {
        dims: vec![k, r],
        data: crate::constant::ConstData::Float(t),
    }
}

fn pair(v: &[i64], what: &str) -> R<[usize; 2]> {
    match v {
        [a, b] if *a >= 0 && *b >= 0 => Ok([*a as usize, *b as usize]),
        _ => Err(format!(
            "{what} {v:?}: only 2-D (two non-negative values) is supported"
        )),
    }
}

fn pads(n: &NodeProto) -> R<[usize; 4]> {
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

fn conv<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: (smoothgrad_nn::ValueId, Vec<usize>),
) -> R<Val> {
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

fn batchnorm<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: (smoothgrad_nn::ValueId, Vec<usize>),
) -> R<Val> {
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

fn pool<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: (smoothgrad_nn::ValueId, Vec<usize>),
) -> R<Val> {
    let kernel = pair(
        &attr::ints(n, "kernel_shape").unwrap_or_default(),
        "kernel_shape",
    )?;
    if attr::ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
        return Err("dilated pooling is not supported".into());
    }
    let mut o = Pool2dOptions::new2(kernel);
    o.stride = pair(&attr::ints(n, "strides").unwrap_or(vec![1, 1]), "strides")?;
    o.pads = pads(n)?;
    o.ceil_mode = attr::int(n, "ceil_mode", 0) != 0;
    o.count_include_pad = attr::int(n, "count_include_pad", 0) != 0;
    let m: Box<dyn Module<T>> = if n.op_type() == "MaxPool" {
        if n.output.len() > 1 {
            return Err("MaxPool's Indices output is not supported".into());
        }
        Box::new(MaxPool2d::new(o).map_err(|e| e.to_string())?)
    } else {
        Box::new(AvgPool2d::new(o).map_err(|e| e.to_string())?)
    };
    c.module(label, m, (x.0, &x.1))
}
