//! More constant folding: the index arithmetic of attention exports (`Range`, `Mod`, `Equal`,
//! `Where`, `Expand`, `Sqrt`, `Neg`, `Reciprocal`, `Pow`, `Reshape`), with NumPy broadcasting.
//! `Expand(class_token, [1, -1, -1])` folds to the token with the example batch; where it meets
//! a runtime value, [`crate::layers_transformer`] repeats it over the batch.

use crate::constant::{Const, ConstData, MAX_BUILT_ELEMENTS};
use crate::proto::NodeProto;

/// The ops folded here.
pub const FOLDED: &[&str] = &[
    "Range",
    "Mod",
    "Equal",
    "Where",
    "Expand",
    "Sqrt",
    "Neg",
    "Reciprocal",
    "Pow",
    "Reshape",
];

/// Whether `op` is folded here.
pub fn handles(op: &str) -> bool {
    FOLDED.contains(&op)
}

/// The broadcast shape of `a` and `b` (NumPy rules).
pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        let k = i + s.len();
        if k >= r {
            s[k - r]
        } else {
            1
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// The flat index into a tensor of shape `s` of output position `idx` (of shape `out`).
fn source_index(idx: usize, out: &[usize], s: &[usize]) -> usize {
    let (mut rem, mut flat, mut stride) = (idx, 0, 1);
    for i in (0..out.len()).rev() {
        let coord = rem % out[i];
        rem /= out[i];
        let k = i + s.len();
        if k >= out.len() {
            let d = s[k - out.len()];
            flat += (coord % d) * stride;
            stride *= d;
        }
    }
    flat
}

/// An elementwise function of integers that may fail.
type IntFn<'a> = dyn Fn(&[i64]) -> Result<i64, String> + 'a;

fn count(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_BUILT_ELEMENTS)
        .ok_or_else(|| format!("shape {dims:?} has more than {MAX_BUILT_ELEMENTS} elements"))
}

/// `f` over the broadcast of `xs`, on floats, or on integers when all are integers and `int`
/// is given.
pub fn map_n(
    xs: &[&Const],
    f: impl Fn(&[f64]) -> f64,
    int: Option<&IntFn<'_>>,
) -> Result<Const, String> {
    let mut dims: Vec<usize> = Vec::new();
    for x in xs {
        dims = broadcast(&dims, &x.dims)?;
    }
    let n = count(&dims)?;
    let all_int = xs.iter().all(|x| matches!(x.data, ConstData::Int(_)));
    if let (true, Some(g)) = (all_int, int) {
        let vals: Vec<Vec<i64>> = xs.iter().map(|x| x.as_ints()).collect();
        let mut out = Vec::with_capacity(n);
        let mut args = vec![0; xs.len()];
        for i in 0..n {
            for (k, x) in xs.iter().enumerate() {
                args[k] = vals[k][source_index(i, &dims, &x.dims)];
            }
            out.push(g(&args)?);
        }
        return Ok(Const::ints(dims, out));
    }
    let vals: Vec<Vec<f64>> = xs.iter().map(|x| x.as_floats()).collect();
    let mut args = vec![0.0; xs.len()];
    let out = (0..n)
        .map(|i| {
            for (k, x) in xs.iter().enumerate() {
                args[k] = vals[k][source_index(i, &dims, &x.dims)];
            }
            f(&args)
        })
        .collect();
    Ok(Const {
        dims,
        data: ConstData::Float(out),
    })
}

/// `n` evaluated on constant inputs (`None` for an absent optional input).
///
/// # Errors
/// What the node's inputs do not allow.
pub fn fold(n: &NodeProto, x: &[Option<Const>]) -> Result<Const, String> {
    let get = |i: usize| {
        x.get(i)
            .and_then(|c| c.as_ref())
            .ok_or_else(|| format!("input {i} is missing"))
    };
    match n.op_type() {
        "Range" => {
            let (s, l, d) = (get(0)?, get(1)?, get(2)?);
            if matches!(s.data, ConstData::Int(_)) {
                let (s, l, d) = (s.as_ints()[0], l.as_ints()[0], d.as_ints()[0]);
                if d == 0 {
                    return Err("Range with delta 0".into());
                }
                let len = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
                count(&[len])?;
                let v = (0..len as i64).map(|i| s + i * d).collect();
                Ok(Const::ints(vec![len], v))
            } else {
                let (s, l, d) = (s.as_floats()[0], l.as_floats()[0], d.as_floats()[0]);
                let len = ((l - s) / d).ceil().max(0.0) as usize;
                count(&[len])?;
                let v = (0..len).map(|i| s + i as f64 * d).collect();
                Ok(Const {
                    dims: vec![len],
                    data: ConstData::Float(v),
                })
            }
        }
        "Mod" => {
            let fmod = crate::attr::int(n, "fmod", 0) != 0;
            // fmod 0: the sign of the divisor (Python's %); fmod 1: of the dividend (C's)
            let int = move |v: &[i64]| -> Result<i64, String> {
                let r = v[0].checked_rem(v[1]).ok_or("Mod by zero")?;
                Ok(if !fmod && r != 0 && (r < 0) != (v[1] < 0) {
                    r + v[1]
                } else {
                    r
                })
            };
            let float = move |v: &[f64]| {
                let r = v[0] % v[1];
                if !fmod && r != 0.0 && (r < 0.0) != (v[1] < 0.0) {
                    r + v[1]
                } else {
                    r
                }
            };
            map_n(&[get(0)?, get(1)?], float, Some(&int))
        }
        "Equal" => {
            let eq = |v: &[i64]| Ok(i64::from(v[0] == v[1]));
            let c = map_n(
                &[get(0)?, get(1)?],
                |v| f64::from(u8::from(v[0] == v[1])),
                Some(&eq),
            )?;
            Ok(Const::ints(c.dims.clone(), c.as_ints()))
        }
        "Where" => {
            let pick = |v: &[i64]| Ok(if v[0] != 0 { v[1] } else { v[2] });
            map_n(
                &[get(0)?, get(1)?, get(2)?],
                |v| if v[0] != 0.0 { v[1] } else { v[2] },
                Some(&pick),
            )
        }
        "Expand" => {
            let (c, shape) = (get(0)?, get(1)?);
            let target: Vec<usize> = shape
                .as_ints()
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
                .collect::<Result<_, _>>()?;
            let ones = Const {
                dims: target,
                data: ConstData::Int(Vec::new()),
            };
            let dims = broadcast(&c.dims, &ones.dims)?;
            let n = count(&dims)?;
            let data = match &c.data {
                ConstData::Int(v) => {
                    ConstData::Int((0..n).map(|i| v[source_index(i, &dims, &c.dims)]).collect())
                }
                ConstData::Float(v) => {
                    ConstData::Float((0..n).map(|i| v[source_index(i, &dims, &c.dims)]).collect())
                }
            };
            Ok(Const { dims, data })
        }
        "Reshape" => {
            let c = get(0)?;
            let mut dims = Vec::new();
            let mut infer = None;
            for (i, &d) in get(1)?.as_ints().iter().enumerate() {
                dims.push(match d {
                    0 => *c.dims.get(i).ok_or("a 0 copies an axis the input lacks")?,
                    -1 if infer.is_none() => {
                        infer = Some(i);
                        1
                    }
                    d => usize::try_from(d).map_err(|_| format!("invalid dimension {d}"))?,
                });
            }
            let known: usize = dims.iter().product();
            if let Some(i) = infer.filter(|_| known > 0) {
                dims[i] = c.len() / known;
            }
            if dims.iter().product::<usize>() != c.len() {
                return Err(format!("cannot reshape {:?} to {dims:?}", c.dims));
            }
            Ok(Const {
                dims,
                data: c.data.clone(),
            })
        }
        "Sqrt" => map_n(&[get(0)?], |v| v[0].sqrt(), None),
        "Reciprocal" => map_n(&[get(0)?], |v| 1.0 / v[0], None),
        "Neg" => map_n(&[get(0)?], |v| -v[0], Some(&|v: &[i64]| Ok(-v[0]))),
        "Pow" => map_n(&[get(0)?, get(1)?], |v| v[0].powf(v[1]), None),
        op => Err(format!("{op} of constants is not folded")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str) -> NodeProto {
        NodeProto {
            op_type: Some(op.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_class_token_expand_of_a_torchscript_export() {
        // Where(Equal(shape, -1), ones, shape) with shape [1, -1, -1]
        let shape = Const::ints(vec![3], vec![1, -1, -1]);
        let minus = Const::ints(vec![3], vec![-1, -1, -1]);
        let eq = fold(&node("Equal"), &[Some(shape.clone()), Some(minus)]).unwrap();
        assert_eq!(eq, Const::ints(vec![3], vec![0, 1, 1]));
        let ones = Const::ints(vec![3], vec![1, 1, 1]);
        let w = fold(&node("Where"), &[Some(eq), Some(ones), Some(shape)]).unwrap();
        assert_eq!(w, Const::ints(vec![3], vec![1, 1, 1]));
        let token = Const {
            dims: vec![1, 1, 2],
            data: ConstData::Float(vec![0.5, -1.0]),
        };
        let e = fold(
            &node("Expand"),
            &[Some(token), Some(Const::ints(vec![3], vec![1, 3, 1]))],
        );
        assert_eq!(
            e.unwrap(),
            Const {
                dims: vec![1, 3, 2],
                data: ConstData::Float(vec![0.5, -1.0, 0.5, -1.0, 0.5, -1.0]),
            }
        );
    }

    #[test]
    fn range_mod_and_broadcast() {
        let r = fold(
            &node("Range"),
            &[
                Some(Const::ints(vec![], vec![0])),
                Some(Const::ints(vec![], vec![5])),
                Some(Const::ints(vec![], vec![2])),
            ],
        );
        assert_eq!(r.unwrap(), Const::ints(vec![3], vec![0, 2, 4]));
        let m = fold(
            &node("Mod"),
            &[
                Some(Const::ints(vec![2], vec![7, -7])),
                Some(Const::ints(vec![], vec![3])),
            ],
        );
        assert_eq!(m.unwrap(), Const::ints(vec![2], vec![1, 2]));
        assert_eq!(broadcast(&[2, 1, 3], &[4, 1]), Ok(vec![2, 4, 3]));
        assert!(broadcast(&[2, 3], &[4]).is_err());
    }
}
