//! Constant folding: the shape arithmetic exporters emit around reshapes (`Shape`, `Gather`,
//! `Unsqueeze`, `Squeeze`, `Concat`, `Cast`, `Slice`, `ConstantOfShape`) evaluated at import
//! time on [`Const`]s. A runtime value's `Shape` is its shape for the model's example input;
//! the batch entry it gives is replaced by a symbolic batch where it reaches a `Reshape`.

use crate::attr;
use crate::constant::{Const, ConstData, MAX_BUILT_ELEMENTS};
use crate::proto::NodeProto;

/// Normalizes a possibly negative `axis` for rank `rank`.
pub fn axis(axis: i64, rank: usize) -> Result<usize, String> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if (0..rank as i64).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// Sorts `axes`, refusing one named twice (found by fuzzing: a repeated axis made `Squeeze`
/// remove past the end).
fn sorted_distinct(axes: &mut [usize]) -> Result<(), String> {
    axes.sort_unstable();
    match axes.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!("axis {} is given twice", w[0])),
        None => Ok(()),
    }
}

/// `n` evaluated on constant inputs (`None` for an absent optional input).
///
/// # Errors
/// What the node's inputs or attributes do not allow.
pub fn fold(n: &NodeProto, x: &[Option<Const>], opset: i64) -> Result<Const, String> {
    let get = |i: usize| {
        x.get(i)
            .and_then(|c| c.as_ref())
            .ok_or_else(|| format!("input {i} is missing"))
    };
    match n.op_type() {
        "Identity" | "Dropout" => Ok(get(0)?.clone()),
        "Cast" => {
            let c = get(0)?;
            let to = attr::int(n, "to", 1);
            let data = match to {
                1 | 10 | 11 => ConstData::Float(c.as_floats()),
                6 | 7 => ConstData::Int(c.as_ints()),
                t => return Err(format!("cast to type {t} is not supported")),
            };
            Ok(Const {
                dims: c.dims.clone(),
                data,
            })
        }
        "Gather" => {
            let (d, idx) = (get(0)?, get(1)?);
            if d.dims.len() != 1 || attr::int(n, "axis", 0) != 0 {
                return Err("only Gather along axis 0 of a 1-D constant is folded".into());
            }
            let len = d.dims[0] as i64;
            let vals = d.as_ints();
            let mut out = Vec::with_capacity(idx.len());
            for i in idx.as_ints() {
                let j = if i < 0 { i + len } else { i };
                if !(0..len).contains(&j) {
                    return Err(format!("index {i} is out of range for {len} values"));
                }
                out.push(vals[j as usize]);
            }
            Ok(Const::ints(idx.dims.clone(), out))
        }
        "Unsqueeze" | "Squeeze" => {
            let c = get(0)?;
            let axes = if opset >= 13 {
                x.get(1).and_then(|a| a.as_ref()).map(|a| a.as_ints())
            } else {
                attr::ints(n, "axes")
            };
            let mut dims = c.dims.clone();
            if n.op_type() == "Unsqueeze" {
                let axes = axes.ok_or("Unsqueeze needs axes")?;
                let rank = dims.len() + axes.len();
                let mut axes = axes
                    .iter()
                    .map(|&a| axis(a, rank))
                    .collect::<Result<Vec<_>, _>>()?;
                sorted_distinct(&mut axes)?;
                for a in axes {
                    dims.insert(a, 1);
                }
            } else {
                match axes {
                    Some(axes) => {
                        let rank = dims.len();
                        let mut axes = axes
                            .iter()
                            .map(|&a| axis(a, rank))
                            .collect::<Result<Vec<_>, _>>()?;
                        sorted_distinct(&mut axes)?;
                        for a in axes.into_iter().rev() {
                            dims.remove(a);
                        }
                    }
                    None => dims.retain(|&d| d != 1),
                }
            }
            Ok(Const {
                dims,
                data: c.data.clone(),
            })
        }
        "Concat" => {
            let parts: Vec<&Const> = x.iter().flatten().collect();
            if parts.iter().any(|p| p.dims.len() > 1) {
                return Err("only 1-D constants are concatenated at import time".into());
            }
            let ints: Vec<i64> = parts.iter().flat_map(|p| p.as_ints()).collect();
            if parts.iter().all(|p| matches!(p.data, ConstData::Int(_))) {
                Ok(Const::ints(vec![ints.len()], ints))
            } else {
                let f: Vec<f64> = parts.iter().flat_map(|p| p.as_floats()).collect();
                Ok(Const {
                    dims: vec![f.len()],
                    data: ConstData::Float(f),
                })
            }
        }
        "Slice" => {
            let c = get(0)?;
            if c.dims.len() != 1 {
                return Err("only 1-D constants are sliced at import time".into());
            }
            let (starts, ends, steps) = if opset >= 10 {
                let steps = x
                    .get(4)
                    .and_then(|s| s.as_ref())
                    .map_or(vec![1], |s| s.as_ints());
                (get(1)?.as_ints(), get(2)?.as_ints(), steps)
            } else {
                (
                    attr::ints(n, "starts").unwrap_or_default(),
                    attr::ints(n, "ends").unwrap_or_default(),
                    vec![1],
                )
            };
            if starts.len() != 1 || ends.len() != 1 || steps != [1] {
                return Err("only one-axis, step-1 slices are folded".into());
            }
            let len = c.dims[0] as i64;
            let clamp = |v: i64| (if v < 0 { v + len } else { v }).clamp(0, len) as usize;
            let (s, e) = (clamp(starts[0]), clamp(ends[0]));
            let e = e.max(s);
            let data = match &c.data {
                ConstData::Int(v) => ConstData::Int(v[s..e].to_vec()),
                ConstData::Float(v) => ConstData::Float(v[s..e].to_vec()),
            };
            Ok(Const {
                dims: vec![e - s],
                data,
            })
        }
        "ConstantOfShape" => {
            let dims: Vec<usize> = get(0)?
                .as_ints()
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
                .collect::<Result<_, _>>()?;
            let count = dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .filter(|&c| c <= MAX_BUILT_ELEMENTS);
            let count = count.ok_or_else(|| {
                format!("shape {dims:?} has more than {MAX_BUILT_ELEMENTS} elements")
            })?;
            let value = match attr::tensor(n, "value") {
                Some(t) => crate::constant::decode(t, std::path::Path::new("."))
                    .map_err(|e| e.to_string())?,
                None => Const {
                    dims: vec![1],
                    data: ConstData::Float(vec![0.0]),
                },
            };
            let data = match value.data {
                ConstData::Int(v) => ConstData::Int(vec![*v.first().unwrap_or(&0); count]),
                ConstData::Float(v) => ConstData::Float(vec![*v.first().unwrap_or(&0.0); count]),
            };
            Ok(Const { dims, data })
        }
        "Add" | "Sub" | "Mul" | "Div" => arithmetic(n.op_type(), get(0)?, get(1)?),
        op if crate::fold_extra::handles(op) => crate::fold_extra::fold(n, x),
        op => Err(format!("{op} of constants is not folded")),
    }
}

/// Elementwise `a op b` of two constants of the same shape, or one of them a single value (the
/// index arithmetic of shape sub-graphs); integers stay integers (division truncates).
fn arithmetic(op: &str, a: &Const, b: &Const) -> Result<Const, String> {
    let dims = if a.len() == 1 && b.dims.len() >= a.dims.len() {
        b.dims.clone()
    } else if b.len() == 1 || a.dims == b.dims {
        a.dims.clone()
    } else {
        return Err(format!(
            "constants of shapes {:?} and {:?} are not folded",
            a.dims, b.dims
        ));
    };
    let n = a.len().max(b.len());
    // Each side is a scalar or has every element (an empty side: an empty result).
    if a.is_empty() || b.is_empty() || [a.len(), b.len()].iter().any(|&l| l != 1 && l != n) {
        return Err(format!(
            "constants of {} and {} elements are not folded",
            a.len(),
            b.len()
        ));
    }
    let pick = |v: &[f64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    if let (ConstData::Int(x), ConstData::Int(y)) = (&a.data, &b.data) {
        let at = |v: &[i64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (at(x, i), at(y, i));
            out.push(
                match op {
                    "Add" => p.checked_add(q),
                    "Sub" => p.checked_sub(q),
                    "Mul" => p.checked_mul(q),
                    _ => p.checked_div(q),
                }
                .ok_or_else(|| format!("{p} {op} {q} overflows or divides by zero"))?,
            );
        }
        return Ok(Const::ints(dims, out));
    }
    let (x, y) = (a.as_floats(), b.as_floats());
    let out = (0..n)
        .map(|i| {
            let (p, q) = (pick(&x, i), pick(&y, i));
            match op {
                "Add" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => p / q,
            }
        })
        .collect();
    Ok(Const {
        dims,
        data: ConstData::Float(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_arithmetic_of_shapes() {
        let a = Const::ints(vec![2], vec![6, 8]);
        let b = Const::ints(vec![], vec![2]);
        assert_eq!(
            arithmetic("Div", &a, &b).unwrap(),
            Const::ints(vec![2], vec![3, 4])
        );
        assert_eq!(
            arithmetic("Mul", &b, &a).unwrap(),
            Const::ints(vec![2], vec![12, 16])
        );
        assert!(arithmetic("Div", &a, &Const::ints(vec![], vec![0])).is_err());
    }
}
