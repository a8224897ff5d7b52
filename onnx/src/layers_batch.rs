//! Structural nodes on runtime values, following the batch ([`crate::batch_layout`]):
//! `Reshape`, `Transpose`, `Squeeze`, `Unsqueeze`, `Flatten`, `Gather` of constant indices (a
//! class token's `x[:, 0]`, attention's `qkv[0]`, the dynamo exporter's `as_strided`), `Slice`,
//! `Expand` (to the same shape) and `Concat` (a constant with the example batch, such as the
//! class token, repeated over the batch with [`TensorOp::ExpandBatch`]).

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::TensorOp;

use crate::attr;
use crate::batch_layout::{reshape_layout, Layout};
use crate::constant::{Const, ConstData};
use crate::convert::{Converter, Val};
use crate::fold::axis;
use crate::layers_transformer::{first, konst, In, R};
use crate::proto::NodeProto;

/// Converts the structural nodes (`Flatten`, `Concat`, `Identity` only when the batch moved or
/// a constant joins); `Ok(None)` for other ops.
///
/// # Errors
/// What the node's inputs, attributes or batch layout do not allow.
pub fn node<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
    moved: bool,
) -> R<Option<(Val, Layout)>> {
    let b0 = c.layouts.batch;
    let done = match n.op_type() {
        "Reshape" => {
            let x = first(ins)?;
            let target = konst(c, n, 1)?
                .ok_or("the target shape is missing")?
                .as_ints();
            let o = resolve(&x.shape, &target, attr::int(n, "allowzero", 0) != 0)?;
            let minus = target.iter().position(|&d| d == -1);
            let l = reshape_layout(&x.shape, x.layout, &o, b0, minus)?;
            emit_reshape(c, label, &x, &o, l)?
        }
        "Flatten" if moved => {
            let x = first(ins)?;
            let a = axis(attr::int(n, "axis", 1), x.shape.len() + 1)?;
            let o = vec![x.shape[..a].iter().product(), x.shape[a..].iter().product()];
            let l = reshape_layout(&x.shape, x.layout, &o, b0, None)?;
            emit_reshape(c, label, &x, &o, l)?
        }
        "Transpose" => {
            let x = first(ins)?;
            let r = x.shape.len();
            let perm: Vec<usize> = match attr::ints(n, "perm") {
                Some(p) => p.iter().map(|&a| axis(a, r)).collect::<R<_>>()?,
                None => (0..r).rev().collect(),
            };
            let new = perm
                .iter()
                .position(|&p| p == x.layout.axis)
                .ok_or_else(|| format!("perm {perm:?} does not fit rank {r}"))?;
            let l = Layout {
                axis: new,
                outer: x.layout.outer,
            };
            (c.op(label, TensorOp::Permute { perm }, &[x.pair()])?, l)
        }
        "Squeeze" | "Unsqueeze" => squeeze(c, n, label, first(ins)?)?,
        "Gather" => gather(c, n, label, first(ins)?)?,
        "Slice" => slice(c, n, label, first(ins)?)?,
        "Expand" => {
            let x = first(ins)?;
            let t: Vec<usize> = konst(c, n, 1)?
                .ok_or("the shape is missing")?
                .as_ints()
                .iter()
                .map(|&d| d.max(1) as usize)
                .collect();
            let out = crate::fold_extra::broadcast(&x.shape, &t)?;
            if out != x.shape {
                return Err(format!(
                    "expanding a runtime value of shape {:?} to {out:?} is not supported",
                    x.shape
                ));
            }
            (Val::Node(x.id, x.shape), x.layout)
        }
        "Concat" => {
            let has_const = ins.iter().any(Option::is_none);
            if !moved && !has_const {
                return Ok(None);
            }
            concat(c, n, label, ins)?
        }
        _ => return Ok(None),
    };
    Ok(Some(done))
}

/// `target` with `0` (copy, unless `allow_zero`) and `-1` (inferred) resolved against `s`.
fn resolve(s: &[usize], target: &[i64], allow_zero: bool) -> R<Vec<usize>> {
    let product = |v: &[usize]| {
        v.iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| {
                format!("reshaping {s:?} to {target:?}: the dimensions have too many elements")
            })
    };
    let total = product(s)?;
    let mut o = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        o.push(match d {
            0 if !allow_zero => *s
                .get(i)
                .ok_or_else(|| format!("target {target:?} copies axis {i} the input lacks"))?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            d if d > 0 => d as usize,
            d => return Err(format!("invalid target dimension {d} in {target:?}")),
        });
    }
    let known = product(&o)?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {s:?} to {target:?}"));
        }
        o[i] = total / known;
    }
    if product(&o)? != total {
        return Err(format!("cannot reshape {s:?} to {target:?}"));
    }
    Ok(o)
}

/// `x` reshaped to `o` (the example's shape) with its batch at `l`: a batch-keeping
/// [`TensorOp::Reshape`] when the batch is axis 0 of its own on both sides, else a
/// [`TensorOp::ReshapeAll`] whose `-1` is the batch's axis.
pub fn emit_reshape<T: Scalar>(
    c: &mut Converter<T>,
    label: &str,
    x: &In,
    o: &[usize],
    l: Layout,
) -> R<(Val, Layout)> {
    if o == x.shape.as_slice() && l == x.layout {
        return Ok((Val::Node(x.id, x.shape.clone()), l));
    }
    let b0 = c.layouts.batch;
    let op = if x.layout.axis == 0
        && x.layout.separate(&x.shape, b0)
        && l.axis == 0
        && l.separate(o, b0)
    {
        TensorOp::Reshape {
            dims: o[1..].iter().map(|&d| d as isize).collect(),
        }
    } else {
        let mut dims: Vec<isize> = o.iter().map(|&d| d as isize).collect();
        dims[l.axis] = -1;
        TensorOp::ReshapeAll { dims }
    };
    Ok((c.op(label, op, &[x.pair()])?, l))
}

fn squeeze<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: In) -> R<(Val, Layout)> {
    let given = if c.opset >= 13 {
        konst(c, n, 1)?.map(|k| k.as_ints())
    } else {
        attr::ints(n, "axes")
    };
    let (s, b) = (&x.shape, x.layout.axis);
    let (o, new) = if n.op_type() == "Squeeze" {
        let axes: Vec<usize> = match given {
            Some(v) => v.iter().map(|&a| axis(a, s.len())).collect::<R<_>>()?,
            None => (0..s.len()).filter(|&i| s[i] == 1 && i != b).collect(),
        };
        distinct(&axes)?;
        if axes.contains(&b) {
            return Err(format!(
                "squeezing axes {axes:?} would remove the batch (axis {b})"
            ));
        }
        if let Some(&a) = axes.iter().find(|&&a| s[a] != 1) {
            return Err(format!("axis {a} of {s:?} is not of size 1"));
        }
        let o = (0..s.len())
            .filter(|i| !axes.contains(i))
            .map(|i| s[i])
            .collect();
        (o, b - axes.iter().filter(|&&a| a < b).count())
    } else {
        let given = given.ok_or("Unsqueeze needs axes")?;
        let r = s.len() + given.len();
        let axes: Vec<usize> = given.iter().map(|&a| axis(a, r)).collect::<R<_>>()?;
        distinct(&axes)?;
        let mut o = Vec::with_capacity(r);
        let (mut k, mut new) = (0, 0);
        for i in 0..r {
            if axes.contains(&i) {
                o.push(1);
            } else {
                if k == b {
                    new = i;
                }
                o.push(s[k]);
                k += 1;
            }
        }
        (o, new)
    };
    let l = Layout {
        axis: new,
        outer: x.layout.outer,
    };
    emit_reshape(c, label, &x, &o, l)
}

/// Refuses axes that name one axis twice (found by fuzzing: a repeated `Unsqueeze` axis made
/// the output read past the input's shape).
fn distinct(axes: &[usize]) -> R<()> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    match sorted.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!("axes {axes:?} name axis {} twice", w[0])),
        None => Ok(()),
    }
}

/// `Gather` of constant indices along axis `g` of a runtime value.
fn gather<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: In) -> R<(Val, Layout)> {
    let idx = konst(c, n, 1)?.ok_or("the indices are missing")?.clone();
    let s = x.shape.clone();
    let g = axis(attr::int(n, "axis", 0), s.len())?;
    let len = s[g] as i64;
    let v: Vec<usize> = idx
        .as_ints()
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + len } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| j < s[g])
                .ok_or_else(|| format!("index {i} is out of range for axis {g} of {s:?}"))
        })
        .collect::<R<_>>()?;
    let b = x.layout.axis;
    if g == b {
        // the dynamo exporter's as_strided: every index once, in order, is a reshape
        if v.len() == s[g] && v.iter().enumerate().all(|(i, &j)| i == j) {
            let o: Vec<usize> = [&s[..g], &idx.dims[..], &s[g + 1..]].concat();
            let l = reshape_layout(&s, x.layout, &o, c.layouts.batch, None)?;
            return emit_reshape(c, label, &x, &o, l);
        }
        return Err(format!(
            "gathering along the batch (axis {g}) is not supported"
        ));
    }
    let consecutive = v.windows(2).all(|w| w[1] == w[0] + 1);
    if v.is_empty() || !consecutive || idx.dims.len() > 1 {
        return Err("only a single index or a run of consecutive indices is supported".into());
    }
    let narrow = TensorOp::Narrow {
        axis: g,
        start: v[0],
        len: v.len(),
    };
    let Val::Node(id, shape) = c.op(&format!("{label}/narrow"), narrow, &[x.pair()])? else {
        unreachable!("an op gives a node")
    };
    let part = In {
        id,
        shape,
        layout: x.layout,
    };
    if idx.dims.len() == 1 {
        return Ok((Val::Node(part.id, part.shape), x.layout));
    }
    let o: Vec<usize> = [&s[..g], &s[g + 1..]].concat();
    let l = Layout {
        axis: b - usize::from(g < b),
        outer: x.layout.outer,
    };
    emit_reshape(c, label, &part, &o, l)
}

/// `Slice` with step 1 on axes other than the batch's: [`TensorOp::Narrow`]s.
fn slice<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: In) -> R<(Val, Layout)> {
    let (starts, ends, axes, steps) = if c.opset >= 10 {
        let get = |i: usize| konst(c, n, i).map(|k| k.map(|k| k.as_ints()));
        (
            get(1)?.ok_or("starts are missing")?,
            get(2)?.ok_or("ends are missing")?,
            get(3)?,
            get(4)?,
        )
    } else {
        (
            attr::ints(n, "starts").unwrap_or_default(),
            attr::ints(n, "ends").unwrap_or_default(),
            attr::ints(n, "axes"),
            None,
        )
    };
    let r = x.shape.len();
    let axes: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&a| axis(a, r)).collect::<R<_>>()?,
        None => (0..starts.len()).collect(),
    };
    if ends.len() != starts.len() || axes.len() != starts.len() {
        return Err("starts, ends and axes differ in length".into());
    }
    let mut cur = x.clone();
    for (k, &a) in axes.iter().enumerate() {
        if steps
            .as_ref()
            .is_some_and(|s| s.get(k).copied().unwrap_or(1) != 1)
        {
            return Err("only step 1 is supported".into());
        }
        let d = cur.shape[a] as i64;
        let clamp = |v: i64| (if v < 0 { v + d } else { v }).clamp(0, d) as usize;
        let (s, e) = (clamp(starts[k]), clamp(ends[k]));
        if e <= s {
            return Err(format!("slice {s}..{e} of axis {a} is empty"));
        }
        if s == 0 && e == cur.shape[a] {
            continue;
        }
        if a == cur.layout.axis {
            return Err(format!("slicing the batch (axis {a}) is not supported"));
        }
        let narrow = TensorOp::Narrow {
            axis: a,
            start: s,
            len: e - s,
        };
        let Val::Node(id, shape) = c.op(label, narrow, &[cur.pair()])? else {
            unreachable!("an op gives a node")
        };
        cur = In {
            id,
            shape,
            layout: cur.layout,
        };
    }
    Ok((Val::Node(cur.id, cur.shape), cur.layout))
}

/// Whether constant `k` is one sample repeated over the batch: `Some(None)` if it is `[1, ...]`
/// and the example batch `b0` is 1 (used as it is), `Some(Some(row))` if it has the example batch `b0 > 1` on axis 0 with equal
/// rows (a class token expanded with the example batch, `Expand(token, [b0, -1, -1])` folded):
/// its first row, `[1, ...]`; `None` otherwise.
fn batch_token(k: &Const, b0: usize) -> Option<Option<Const>> {
    match k.dims.first() {
        Some(1) if b0 == 1 => Some(None),
        Some(&b) if b == b0 && b0 > 1 => {
            let v = k.as_floats();
            let row = v.len() / b0;
            if v.chunks(row.max(1)).any(|r| r != &v[..row]) {
                return None;
            }
            let mut dims = k.dims.clone();
            dims[0] = 1;
            Some(Some(Const {
                dims,
                data: ConstData::Float(v[..row].to_vec()),
            }))
        }
        _ => None,
    }
}

/// `Concat` along a non-batch axis; a constant input with size 1 on the batch axis (the class
/// token) is repeated to the run's batch.
fn concat<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
) -> R<(Val, Layout)> {
    let reference = ins
        .iter()
        .flatten()
        .next()
        .cloned()
        .ok_or("no input is computed from the model's input")?;
    let l = reference.layout;
    let a = axis(attr::int(n, "axis", 0), reference.shape.len())?;
    if a == l.axis {
        return Err(format!(
            "joining along the batch (axis {a}) is not supported"
        ));
    }
    let b0 = c.layouts.batch;
    let mut parts = Vec::with_capacity(n.input.len());
    for (i, x) in ins.iter().enumerate() {
        match x {
            Some(x) if x.layout == l => parts.push(x.pair()),
            Some(x) => {
                return Err(format!(
                    "inputs have their batch on different axes ({} and {})",
                    l.axis, x.layout.axis
                ))
            }
            None => {
                let k = konst(c, n, i)?.ok_or("an input is missing")?;
                let fits = l.axis == 0 && reference.layout.separate(&reference.shape, b0);
                let token = if fits && k.dims.len() == reference.shape.len() {
                    batch_token(k, b0)
                } else {
                    None
                };
                let Some(token) = token else {
                    return Err(format!(
                        "a constant of shape {:?} joins values with the batch on axis {}: only a \
                         [1, ...] constant (or one repeated over the example batch) joining \
                         batch-first values is repeated over the batch",
                        k.dims, l.axis
                    ));
                };
                let p = match token {
                    Some(t) => {
                        let name = c.name(&n.input[i]);
                        let shape = t.dims.clone();
                        (c.g.param(&name, crate::convert::tensor::<T>(&t)), shape)
                    }
                    None => c.node_value(&n.input[i])?,
                };
                let e = c.op(
                    &format!("{label}/expand_{i}"),
                    TensorOp::ExpandBatch,
                    &[p, reference.pair()],
                )?;
                let Val::Node(id, shape) = e else {
                    unreachable!("an op gives a node")
                };
                parts.push((id, shape));
            }
        }
    }
    Ok((c.op(label, TensorOp::Concat { axis: a }, &parts)?, l))
}
