//! Structural nodes on runtime values: `Reshape` (batch kept symbolic), `Flatten`, `Concat`,
//! `Split`, `Slice` and `Transpose`.

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::TensorOp;

use crate::attr;
use crate::constant::Const;
use crate::convert::{Converter, Val};
use crate::fold::axis;
use crate::layers::{konst, R, X};
use crate::proto::NodeProto;

/// `Reshape` to a constant target whose first entry is the batch (`0`, `-1` or the example's
/// batch): the batch stays symbolic, the rest becomes [`TensorOp::Reshape`]'s dims.
pub fn reshape<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
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

/// `Concat` of runtime values (constants become parameters) along `axis`.
pub fn concat<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let a = axis(attr::int(n, "axis", 0), x.1.len())?;
    let xs = n
        .input
        .iter()
        .map(|i| c.node_value(i))
        .collect::<R<Vec<_>>>()?;
    c.op(label, TensorOp::Concat { axis: a }, &xs)
}

/// `Flatten` from `axis` (at least 1: the batch stays).
pub fn flatten<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let a = axis(attr::int(n, "axis", 1), x.1.len())?;
    if a == 0 {
        return Err("Flatten from axis 0 would merge the batch axis".into());
    }
    c.op(label, TensorOp::Flatten { start: a }, &[x])
}

/// `Split` along a non-batch axis into [`TensorOp::Narrow`]s: the sizes from the `split`
/// input (opset 13+) or attribute (before), else equal parts, one per output (from opset
/// 18, `num_outputs` parts of `ceil(size / num_outputs)`, the last one smaller).
pub fn split<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Vec<Val>> {
    let a = axis(attr::int(n, "axis", 0), x.1.len())?;
    if a == 0 {
        return Err("Split along the batch axis is not supported".into());
    }
    let size = x.1[a];
    let given = if c.opset >= 13 {
        konst(c, n, 1)?.map(Const::as_ints)
    } else {
        attr::ints(n, "split")
    };
    let sizes: Vec<usize> = match given {
        Some(s) => s
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| format!("negative split size {v}")))
            .collect::<R<_>>()?,
        None => {
            let parts = usize::try_from(attr::int(n, "num_outputs", n.output.len() as i64))
                .ok()
                .filter(|&p| p > 0)
                .ok_or("the number of outputs must be positive")?;
            let each = size.div_ceil(parts);
            (0..parts)
                .map(|i| each.min(size.saturating_sub(i * each)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != size || sizes.len() != n.output.len() {
        return Err(format!(
            "split sizes {sizes:?} do not cut axis {a} of {:?} into {} outputs",
            x.1,
            n.output.len()
        ));
    }
    let mut start = 0;
    let mut outs = Vec::with_capacity(sizes.len());
    for (i, &len) in sizes.iter().enumerate() {
        let op = TensorOp::Narrow {
            axis: a,
            start,
            len,
        };
        outs.push(c.op(&format!("{label}:{i}"), op, std::slice::from_ref(&x))?);
        start += len;
    }
    Ok(outs)
}

/// `Transpose` keeping the batch axis first (ShuffleNet's channel shuffle) as
/// [`TensorOp::Permute`]; without `perm`, ONNX reverses the axes, which moves the batch.
pub fn transpose<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let rank = x.1.len();
    let perm = attr::ints(n, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
    let perm = perm
        .iter()
        .map(|&p| axis(p, rank))
        .collect::<R<Vec<usize>>>()?;
    if perm.first() != Some(&0) {
        return Err(format!(
            "permutation {perm:?} moves the batch axis, which must stay first"
        ));
    }
    c.op(label, TensorOp::Permute { perm }, &[x])
}

/// `Slice` of a runtime value with step 1 along non-batch axes (ShuffleNet's `chunk` from
/// some exporters) as one [`TensorOp::Narrow`] per axis; starts and ends are inputs from
/// opset 10, attributes before, and are clamped to the axis as ONNX does.
pub fn slice<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let rank = x.1.len();
    let ints = |i: usize| -> R<Option<Vec<i64>>> { Ok(konst(c, n, i)?.map(Const::as_ints)) };
    let (starts, ends, axes, steps) = if c.opset >= 10 {
        (
            ints(1)?.ok_or("starts are missing")?,
            ints(2)?.ok_or("ends are missing")?,
            ints(3)?,
            ints(4)?,
        )
    } else {
        (
            attr::ints(n, "starts").ok_or("starts are missing")?,
            attr::ints(n, "ends").ok_or("ends are missing")?,
            attr::ints(n, "axes"),
            None,
        )
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    if ends.len() != starts.len() || axes.len() != starts.len() {
        return Err("starts, ends and axes differ in length".into());
    }
    if steps.is_some_and(|s| s.iter().any(|&v| v != 1)) {
        return Err("only step-1 slices of runtime values are supported".into());
    }
    let mut v = (x.0, x.1.clone());
    for ((&s, &e), &a) in starts.iter().zip(&ends).zip(&axes) {
        let a = axis(a, rank)?;
        let len = v.1[a] as i64;
        let clamp = |p: i64| (if p < 0 { p + len } else { p }).clamp(0, len);
        let (s, e) = (clamp(s), clamp(e));
        if s == 0 && e == len {
            continue;
        }
        if a == 0 {
            return Err("a slice of the batch axis is not supported".into());
        }
        if e <= s {
            return Err(format!("the slice {s}..{e} of axis {a} is empty"));
        }
        let op = TensorOp::Narrow {
            axis: a,
            start: s as usize,
            len: (e - s) as usize,
        };
        match c.op(label, op, std::slice::from_ref(&v))? {
            Val::Node(id, shape) => v = (id, shape),
            Val::Const(_) => unreachable!("an op gives a node"),
        }
    }
    Ok(Val::Node(v.0, v.1))
}
