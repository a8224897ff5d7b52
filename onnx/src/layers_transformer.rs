//! The nodes of transformer-era exports (ConvNeXt, ViT) and of values whose batch is not axis
//! 0: `LayerNormalization` (as [`LayerNorm`]), `Gelu` and the exact GELU's `Erf`, `Sqrt`,
//! `Pow`, `Neg`, `Reciprocal`, `Tanh`, `ReduceMean`, `Softmax`, and matrix products with
//! runtime operands on both sides; the structural ones are in [`crate::layers_batch`], the
//! padding of other tools' convolutions in [`crate::layers_tf`].
//!
//! [`node`] is asked first for every node with a runtime input. It converts the ops above, and
//! the common ones (`Add`, `MatMul`, `Gemm`, ...) when an input's batch has moved (see
//! [`crate::batch_layout`]); it records the layout of what it makes and declines the rest
//! (`Ok(None)`), which [`crate::layers`] converts with the batch as axis 0.

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::layers::Approximate;
use smoothgrad_nn::{LayerNorm, Linear, Module, Softmax, Tanh, TensorOp, ValueId, GELU};

use crate::attr;
use crate::batch_layout::Layout;
use crate::constant::Const;
use crate::convert::{tensor, Converter, Val};
use crate::fold::axis;
use crate::proto::NodeProto;

/// Result of converting one node: a value or why not.
pub type R<T> = std::result::Result<T, String>;

/// Ops converted here and in [`crate::layers_batch`] and [`crate::layers_tf`] (beyond
/// [`crate::validate::CONVERTED`]).
pub const CONVERTED: &[&str] = &[
    "Transpose",
    "LayerNormalization",
    "Gelu",
    "Erf",
    "Sqrt",
    "Pow",
    "Neg",
    "Reciprocal",
    "Tanh",
    "ReduceMean",
    "Gather",
    "Slice",
    "Squeeze",
    "Unsqueeze",
    "Expand",
];

/// A runtime input: its graph value, its shape for the example input and its batch layout.
#[derive(Clone, Debug)]
pub struct In {
    /// The graph value.
    pub id: ValueId,
    /// Its shape for the example input.
    pub shape: Vec<usize>,
    /// Where its batch is.
    pub layout: Layout,
}

impl In {
    /// The value and shape, as [`Converter::op`] takes them.
    pub fn pair(&self) -> (ValueId, Vec<usize>) {
        (self.id, self.shape.clone())
    }
}

/// The value `name` if it is computed at run time.
pub fn runtime<T: Scalar>(c: &Converter<T>, name: &str) -> Option<In> {
    match c.vals.get(name) {
        Some(Val::Node(id, shape)) => Some(In {
            id: *id,
            shape: shape.clone(),
            layout: c.layouts.get(name),
        }),
        _ => None,
    }
}

/// The constant input `i` of `n`, if present.
///
/// # Errors
/// When the input is computed at run time.
pub fn konst<'a, T: Scalar>(c: &'a Converter<T>, n: &NodeProto, i: usize) -> R<Option<&'a Const>> {
    match n.input.get(i).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => match c.vals.get(x) {
            Some(Val::Const(k)) => Ok(Some(k)),
            _ => Err(format!("input {i} ({x:?}) must be a constant")),
        },
    }
}

/// Runtime input 0 of `n`.
///
/// # Errors
/// When input 0 is a constant.
pub fn first(ins: &[Option<In>]) -> R<In> {
    ins.first()
        .cloned()
        .flatten()
        .ok_or_else(|| "input 0 must be computed from the model's input".to_string())
}

/// Converts `n` if it is one of this module's ops or has an input whose batch moved, recording
/// the output's layout; `Ok(None)` leaves it to [`crate::layers`].
///
/// # Errors
/// What the node's inputs, attributes or batch layout do not allow.
pub fn node<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str) -> R<Option<Val>> {
    let ins: Vec<Option<In>> = n.input.iter().map(|i| runtime(c, i)).collect();
    let moved = ins.iter().flatten().any(|x| x.layout != Layout::default());
    let done = if let Some(d) = crate::layers_batch::node(c, n, label, &ins, moved)? {
        d
    } else if let Some(d) = crate::layers_tf::node(c, n, label, &ins, moved)? {
        d
    } else if let Some(d) = compute(c, n, label, &ins, moved)? {
        d
    } else if moved {
        let l = ins.iter().flatten().find(|x| x.layout != Layout::default());
        return Err(format!(
            "{} is not supported on a value whose batch is on axis {} (shape {:?} for the example input)",
            n.op_type(),
            l.map_or(0, |l| l.layout.axis),
            l.map_or(&[][..], |l| &l.shape[..]),
        ));
    } else {
        return Ok(None);
    };
    let (val, layout) = done;
    if let Some(o) = n.output.first() {
        c.layouts.set(o, layout);
    }
    Ok(Some(val))
}

/// The arithmetic and normalization ops.
fn compute<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
    moved: bool,
) -> R<Option<(Val, Layout)>> {
    let op = n.op_type();
    let unary = |c: &mut Converter<T>, t: TensorOp| -> R<Option<(Val, Layout)>> {
        let x = first(ins)?;
        Ok(Some((c.op(label, t, &[x.pair()])?, x.layout)))
    };
    let module = |c: &mut Converter<T>, m: Box<dyn Module<T>>| -> R<Option<(Val, Layout)>> {
        let x = first(ins)?;
        Ok(Some((c.module(label, m, (x.id, &x.shape))?, x.layout)))
    };
    match op {
        "Erf" => unary(c, TensorOp::Erf),
        "Sqrt" => unary(c, TensorOp::Sqrt),
        "Neg" => unary(c, TensorOp::Scale(-1.0)),
        "Reciprocal" => unary(c, TensorOp::Pow(-1.0)),
        "Tanh" => module(c, Box::new(Tanh)),
        "Pow" => {
            let e = konst(c, n, 1)?.ok_or("the exponent is missing")?;
            if e.len() != 1 {
                return Err(format!(
                    "only a single exponent is supported, found {:?}",
                    e.dims
                ));
            }
            unary(c, TensorOp::Pow(e.as_floats()[0]))
        }
        "Gelu" => {
            let approximate = match attr::string(n, "approximate", "none").as_str() {
                "none" => Approximate::None,
                "tanh" => Approximate::Tanh,
                other => return Err(format!("approximate {other:?} (expected none or tanh)")),
            };
            module(c, Box::new(GELU { approximate }))
        }
        "LayerNormalization" => layer_norm(c, n, label, first(ins)?).map(Some),
        "ReduceMean" => reduce_mean(c, n, label, first(ins)?).map(Some),
        "Softmax" if moved => {
            let x = first(ins)?;
            let a = axis(
                attr::int(n, "axis", if c.opset >= 13 { -1 } else { 1 }),
                x.shape.len(),
            )?;
            if a == x.layout.axis || (c.opset < 13 && a != x.shape.len() - 1) {
                return Err(format!(
                    "Softmax over axis {a} mixes the batch (axis {})",
                    x.layout.axis
                ));
            }
            module(c, Box::new(Softmax { dim: a }))
        }
        "Identity" | "Dropout" if moved => {
            let x = first(ins)?;
            Ok(Some((Val::Node(x.id, x.shape), x.layout)))
        }
        "Add" | "Sub" | "Mul" | "Div" if moved => binary(c, n, label, ins).map(Some),
        "MatMul" if moved => matmul(c, n, label, ins).map(Some),
        "Gemm" if moved => gemm(c, n, label, first(ins)?).map(Some),
        _ => Ok(None),
    }
}

/// The batch axis of the broadcast output (rank `r`) of runtime inputs `ins`, checking that
/// they agree and that no constant input `consts` spreads along it.
fn broadcast_layout(ins: &[Option<In>], consts: &[&Const], r: usize) -> R<Layout> {
    let mut out: Option<Layout> = None;
    for x in ins.iter().flatten() {
        let l = Layout {
            axis: x.layout.axis + r - x.shape.len(),
            outer: x.layout.outer,
        };
        match out {
            Some(o) if o != l => {
                return Err(format!(
                    "operands have their batch on different axes ({} and {})",
                    o.axis, l.axis
                ))
            }
            _ => out = Some(l),
        }
    }
    let l = out.ok_or("no operand is computed from the model's input")?;
    for k in consts {
        let i = (l.axis + k.dims.len()).checked_sub(r);
        if let Some(&d) = i.and_then(|i| k.dims.get(i)) {
            if d != 1 {
                return Err(format!(
                    "a constant of shape {:?} would spread along the batch axis {}",
                    k.dims, l.axis
                ));
            }
        }
    }
    Ok(l)
}

fn binary<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
) -> R<(Val, Layout)> {
    let consts: Vec<&Const> = (0..2)
        .filter_map(|i| konst(c, n, i).ok().flatten())
        .collect();
    let r = ins
        .iter()
        .flatten()
        .map(|x| x.shape.len())
        .chain(consts.iter().map(|k| k.dims.len()))
        .max()
        .unwrap_or(0);
    let l = broadcast_layout(ins, &consts, r)?;
    let t = match n.op_type() {
        "Add" => TensorOp::Add,
        "Sub" => TensorOp::Sub,
        "Mul" => TensorOp::Mul,
        _ => TensorOp::Div,
    };
    let (a, b) = (c.node_value(&n.input[0])?, c.node_value(&n.input[1])?);
    Ok((c.op(label, t, &[a, b])?, l))
}

fn matmul<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
) -> R<(Val, Layout)> {
    let x = first(ins)?;
    let r = x.shape.len();
    if let Ok(Some(w)) = konst(c, n, 1) {
        if w.dims.len() == 2 && x.layout.axis + 1 < r {
            let (k, m) = (w.dims[0], w.dims[1]);
            let v = w.as_floats();
            let t: Vec<f64> = (0..k * m).map(|i| v[(i % k) * m + i / k]).collect();
            let wt = tensor::<T>(&Const {
                dims: vec![m, k],
                data: crate::constant::ConstData::Float(t),
            });
            let lin = Linear::from_weights(wt, None).map_err(|e| e.to_string())?;
            let name = c.layer_name(&n.input[1], None, label);
            return Ok((c.module(&name, Box::new(lin), (x.id, &x.shape))?, x.layout));
        }
    }
    let y = ins.get(1).cloned().flatten().ok_or(
        "a matrix product of a moved batch needs a matrix constant or two runtime operands",
    )?;
    let r = r.max(y.shape.len());
    let l = broadcast_layout(ins, &[], r)?;
    if l.axis + 2 >= r {
        return Err(format!(
            "the batch (axis {}) is one of the multiplied axes",
            l.axis
        ));
    }
    Ok((c.op(label, TensorOp::MatMul, &[x.pair(), y.pair()])?, l))
}

fn gemm<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: In) -> R<(Val, Layout)> {
    if attr::float(n, "alpha", 1.0) != 1.0
        || attr::float(n, "beta", 1.0) != 1.0
        || attr::int(n, "transA", 0) != 0
        || x.layout.axis != 0
    {
        return Err("only alpha 1, beta 1 and transA 0 (a linear layer) are supported".into());
    }
    let w = konst(c, n, 1)?.ok_or("the weight is missing")?;
    if w.dims.len() != 2 {
        return Err(format!("the weight must be a matrix, found {:?}", w.dims));
    }
    let w = if attr::int(n, "transB", 0) == 0 {
        let (k, m) = (w.dims[0], w.dims[1]);
        let v = w.as_floats();
        let t: Vec<f64> = (0..k * m).map(|i| v[(i % k) * m + i / k]).collect();
        tensor::<T>(&Const {
            dims: vec![m, k],
            data: crate::constant::ConstData::Float(t),
        })
    } else {
        tensor::<T>(w)
    };
    let b = konst(c, n, 2)?
        .map(|b| tensor::<T>(b).reshape(&[w.shape()[0]]))
        .transpose()
        .map_err(|_| "the bias must have one value per output".to_string())?;
    let lin = Linear::from_weights(w, b).map_err(|e| e.to_string())?;
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    Ok((c.module(&name, Box::new(lin), (x.id, &x.shape))?, x.layout))
}

/// `LayerNormalization` over axes `axis..`: a [`LayerNorm`] with the scale and bias.
fn layer_norm<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: In,
) -> R<(Val, Layout)> {
    let a = axis(attr::int(n, "axis", -1), x.shape.len())?;
    if x.layout.axis >= a {
        return Err(format!(
            "normalizing axes {a}.. would mix the batch (axis {})",
            x.layout.axis
        ));
    }
    if n.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err("the Mean and InvStdDev outputs are not supported".into());
    }
    let shape = &x.shape[a..];
    let eps = f64::from(attr::float(n, "epsilon", 1e-5));
    let scale = konst(c, n, 1)?.ok_or("the scale is missing")?;
    let bias = konst(c, n, 2)?;
    let mut ln =
        LayerNorm::<T>::new(shape, eps, true, bias.is_some()).map_err(|e| e.to_string())?;
    let fit = |k: &Const| {
        tensor::<T>(k).reshape(shape).map_err(|_| {
            format!(
                "scale and bias must have shape {shape:?}, found {:?}",
                k.dims
            )
        })
    };
    ln.weight = Some(fit(scale)?);
    ln.bias = bias.map(fit).transpose()?;
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    Ok((c.module(&name, Box::new(ln), (x.id, &x.shape))?, x.layout))
}

/// `ReduceMean` over axes without the batch: [`TensorOp::Mean`].
fn reduce_mean<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    x: In,
) -> R<(Val, Layout)> {
    let rank = x.shape.len();
    let given = if c.opset >= 18 {
        konst(c, n, 1)?.map(|k| k.as_ints())
    } else {
        attr::ints(n, "axes")
    };
    let mut axes = match given {
        Some(v) if !v.is_empty() => v.iter().map(|&a| axis(a, rank)).collect::<R<Vec<_>>>()?,
        _ => (0..rank).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    if axes.contains(&x.layout.axis) {
        return Err(format!(
            "averaging axes {axes:?} would mix the batch (axis {})",
            x.layout.axis
        ));
    }
    let keepdim = attr::int(n, "keepdims", 1) != 0;
    let l = Layout {
        axis: if keepdim {
            x.layout.axis
        } else {
            x.layout.axis - axes.iter().filter(|&&a| a < x.layout.axis).count()
        },
        outer: x.layout.outer,
    };
    Ok((
        c.op(label, TensorOp::Mean { axes, keepdim }, &[x.pair()])?,
        l,
    ))
}
