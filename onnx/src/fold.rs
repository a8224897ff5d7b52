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

/// Elementwise `a op b` of two constants, broadcast by NumPy's rules (the index arithmetic of
/// shape sub-graphs, and of index tensors such as `range(batch)[:, None] * 768 + arange(768)`,
/// which the `dynamo` exporter builds for a permute of flattened activations); integers stay
/// integers (division truncates, overflow and division by zero are refused).
fn arithmetic(op: &str, a: &Const, b: &Const) -> Result<Const, String> {
    let int = move |v: &[i64]| {
        let (p, q) = (v[0], v[1]);
        match op {
            "Add" => p.checked_add(q),
            "Sub" => p.checked_sub(q),
            "Mul" => p.checked_mul(q),
            _ => p.checked_div(q),
        }
        .ok_or_else(|| format!("{p} {op} {q} overflows or divides by zero"))
    };
    let float = |v: &[f64]| {
        let (p, q) = (v[0], v[1]);
        match op {
            "Add" => p + q,
            "Sub" => p - q,
            "Mul" => p * q,
            _ => p / q,
        }
    };
    crate::fold_extra::map_n(&[a, b], float, Some(&int))
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

    /// The `dynamo` exporter's gather indices of a permute over a dynamic batch:
    /// `range(2)[:, None] * 3 + arange(3)`, broadcast to `[2, 3]`.
    #[test]
    fn broadcast_arithmetic_of_index_tensors() {
        let rows = Const::ints(vec![2, 1], vec![0, 1]);
        let scaled = arithmetic("Mul", &rows, &Const::ints(vec![], vec![3])).unwrap();
        let cols = Const::ints(vec![3], vec![0, 1, 2]);
        assert_eq!(
            arithmetic("Add", &scaled, &cols).unwrap(),
            Const::ints(vec![2, 3], vec![0, 1, 2, 3, 4, 5])
        );
        let halves = Const {
            dims: vec![1, 2],
            data: ConstData::Float(vec![1.0, 2.0]),
        };
        assert_eq!(
            arithmetic("Div", &halves, &Const::ints(vec![2, 1], vec![2, 4])).unwrap(),
            Const {
                dims: vec![2, 2],
                data: ConstData::Float(vec![0.5, 1.0, 0.25, 0.5]),
            }
        );
        let e = arithmetic("Add", &cols, &Const::ints(vec![2], vec![1, 2])).unwrap_err();
        assert!(e.contains("do not broadcast"), "{e}");
    }
}
