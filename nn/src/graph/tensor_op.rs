//! [`TensorOp`]: the parameter-free nodes of a [`crate::Graph`] (arithmetic, joins, reshapes),
//! with their shape rules.
//!
//! Each op takes the values of its inputs, in order, and gives one value. Shapes count the batch
//! axis as axis 0; reshapes keep it symbolic (the batch of a model exported with batch 1 may be any
//! size), so a graph runs on batches of noisy samples as it runs on one image.

use std::fmt;

use smoothgrad_autograd::{shape::broadcast_shapes, Scalar, Var};

/// A node without state: an elementwise or structural function of its inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorOp {
    /// `a + b`, NumPy broadcasting (ResNet's skip connection).
    Add,
    /// `a - b`, broadcast.
    Sub,
    /// `a * b`, broadcast (squeeze-and-excitation's channel scaling).
    Mul,
    /// `a / b`, broadcast.
    Div,
    /// `x * c` for a constant `c` (attention's `1/sqrt(d)`).
    Scale(f64),
    /// The inputs joined along `axis` (DenseNet's concatenation).
    Concat {
        /// The axis joined along.
        axis: usize,
    },
    /// `x[.., start..start + len, ..]` along `axis` (a split's part, a class token).
    Narrow {
        /// The axis sliced.
        axis: usize,
        /// The first index kept.
        start: usize,
        /// How many are kept.
        len: usize,
    },
    /// Axes `start..` joined into one (`torch.flatten(x, start)`).
    Flatten {
        /// The first axis joined.
        start: usize,
    },
    /// The batch axis kept, the rest reshaped to `dims`; one entry may be `-1` (inferred).
    Reshape {
        /// The new shape after the batch axis.
        dims: Vec<isize>,
    },
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    Permute {
        /// The permutation, over all axes including the batch.
        perm: Vec<usize>,
    },
    /// Matrix product over the last two axes, batched over the rest (attention's `q k^T`).
    MatMul,
    /// The first input `[1, ...]` repeated along the batch axis to the batch of the second
    /// (`class_token.expand(n, -1, -1)` in ViT).
    ExpandBatch,
    /// The mean over `axes`, kept as size-1 axes if `keepdim` (global average pooling).
    Mean {
        /// The axes averaged.
        axes: Vec<usize>,
        /// Whether the averaged axes stay, with size 1.
        keepdim: bool,
    },
    /// A reshape over all axes, the batch included: the one `-1` entry is inferred and absorbs
    /// the batch wherever it sits (`[L, N, E] -> [L, N * H, E / H]` in attention over
    /// sequence-first values, written `[L, -1, E / H]`).
    ReshapeAll {
        /// The new shape, with at most one `-1`.
        dims: Vec<isize>,
    },
    /// `erf x`, elementwise; `d/dx = 2 / sqrt(pi) e^(-x^2)` (the exact GELU's building block).
    Erf,
    /// `sqrt x`, elementwise; `d/dx = 1 / (2 sqrt x)`.
    Sqrt,
    /// `x^p` for a constant `p`, elementwise; `d/dx = p x^(p-1)`.
    Pow(f64),
    /// Zeros added along `axis`: `before` in front and `after` behind (a convolution's
    /// asymmetric "SAME" padding); the gradient is the input's part of the output's.
    Pad {
        /// The axis padded.
        axis: usize,
        /// Zeros in front.
        before: usize,
        /// Zeros behind.
        after: usize,
    },
}

impl TensorOp {
    /// How many inputs the op takes: `None` for any number (at least one).
    pub fn arity(&self) -> Option<usize> {
        match self {
            TensorOp::Add
            | TensorOp::Sub
            | TensorOp::Mul
            | TensorOp::Div
            | TensorOp::MatMul
            | TensorOp::ExpandBatch => Some(2),
            TensorOp::Concat { .. } => None,
            _ => Some(1),
        }
    }

    /// The output shape for the input shapes, or what the op expected.
    ///
    /// # Errors
    /// A message saying which input shapes the op cannot take.
    pub fn output_shape(&self, inputs: &[Vec<usize>]) -> Result<Vec<usize>, String> {
        match self.arity() {
            Some(n) if inputs.len() != n => {
                return Err(format!("expected {n} inputs, found {}", inputs.len()))
            }
            None if inputs.is_empty() => return Err("expected at least one input".into()),
            _ => {}
        }
        let x = &inputs[0];
        match self {
            TensorOp::Add | TensorOp::Sub | TensorOp::Mul | TensorOp::Div => {
                broadcast_shapes(x, &inputs[1])
                    .ok_or_else(|| format!("shapes {x:?} and {:?} do not broadcast", inputs[1]))
            }
            TensorOp::Scale(_) => Ok(x.clone()),
            TensorOp::Concat { axis } => concat_shape(inputs, *axis),
            TensorOp::Narrow { axis, start, len } => {
                let size = *x
                    .get(*axis)
                    .ok_or_else(|| format!("axis {axis} is beyond input {x:?}"))?;
                if start + len > size || *len == 0 {
                    return Err(format!(
                        "slice {start}..{} of axis {axis} does not fit input {x:?}",
                        start + len
                    ));
                }
                let mut out = x.clone();
                out[*axis] = *len;
                Ok(out)
            }
            TensorOp::Flatten { start } => {
                if *start >= x.len() {
                    return Err(format!("axis {start} is beyond input {x:?}"));
                }
                let mut out = x[..*start].to_vec();
                let merged = x[*start..]
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d));
                out.push(merged.ok_or_else(|| format!("input {x:?} has too many elements"))?);
                Ok(out)
            }
            TensorOp::Reshape { dims } => reshape_shape(x, dims),
            TensorOp::Permute { perm } => {
                let mut seen = vec![false; x.len()];
                if perm.len() != x.len() || perm.iter().any(|&p| p >= x.len() || seen[p]) {
                    return Err(format!("{perm:?} is not a permutation of input {x:?}"));
                }
                for &p in perm {
                    seen[p] = true;
                }
                Ok(perm.iter().map(|&p| x[p]).collect())
            }
            TensorOp::MatMul => matmul_shape(x, &inputs[1]),
            TensorOp::ExpandBatch => match (x.first(), inputs[1].first()) {
                (Some(1), Some(&b)) => {
                    let mut out = x.clone();
                    out[0] = b;
                    Ok(out)
                }
                _ => Err(format!(
                    "expected a value [1, ...] and a batch [B, ...], found {x:?} and {:?}",
                    inputs[1]
                )),
            },
            TensorOp::Mean { axes, keepdim } => {
                if axes.iter().any(|&a| a >= x.len()) {
                    return Err(format!("axes {axes:?} do not fit input {x:?}"));
                }
                Ok(x.iter()
                    .enumerate()
                    .filter_map(|(i, &d)| match (axes.contains(&i), keepdim) {
                        (false, _) => Some(d),
                        (true, true) => Some(1),
                        (true, false) => None,
                    })
                    .collect())
            }
            TensorOp::ReshapeAll { dims } => reshape_all_shape(x, dims),
            TensorOp::Erf | TensorOp::Sqrt | TensorOp::Pow(_) => Ok(x.clone()),
            TensorOp::Pad {
                axis,
                before,
                after,
            } => {
                let mut out = x.clone();
                let size = out
                    .get_mut(*axis)
                    .ok_or_else(|| format!("axis {axis} is beyond input {x:?}"))?;
                *size += before + after;
                Ok(out)
            }
        }
    }

    /// Applies the op; the shapes must have passed [`TensorOp::output_shape`].
    pub fn forward<'t, T: Scalar>(&self, inputs: &[Var<'t, T>]) -> Var<'t, T> {
        let x = inputs[0];
        match self {
            TensorOp::Add => x + inputs[1],
            TensorOp::Sub => x - inputs[1],
            TensorOp::Mul => x * inputs[1],
            TensorOp::Div => x / inputs[1],
            TensorOp::Scale(c) => x.mul_scalar(T::from_f64_lossy(*c)),
            TensorOp::Concat { axis } => Var::concat(inputs, *axis),
            TensorOp::Narrow { axis, start, len } => x.narrow(*axis, *start, *len),
            TensorOp::Flatten { start } => x.flatten(*start),
            TensorOp::Reshape { dims } => {
                let shape = reshape_shape(&x.shape(), dims).unwrap_or_else(|e| panic!("{e}"));
                x.reshape(&shape)
            }
            TensorOp::Permute { perm } => x.permute(perm),
            TensorOp::MatMul => x.matmul(inputs[1]),
            TensorOp::ExpandBatch => {
                let mut shape = x.shape();
                shape[0] = inputs[1].shape()[0];
                x.broadcast_to(&shape)
            }
            TensorOp::Mean { axes, keepdim } => x.mean_axes(axes, *keepdim),
            TensorOp::ReshapeAll { dims } => {
                let shape = reshape_all_shape(&x.shape(), dims).unwrap_or_else(|e| panic!("{e}"));
                x.reshape(&shape)
            }
            TensorOp::Erf => x.erf(),
            TensorOp::Sqrt => x.sqrt(),
            TensorOp::Pow(p) => x.powf(T::from_f64_lossy(*p)),
            TensorOp::Pad {
                axis,
                before,
                after,
            } => {
                let zeros = |n: usize| {
                    let mut shape = x.shape();
                    shape[*axis] = n;
                    x.tape()
                        .constant(smoothgrad_autograd::Tensor::zeros(&shape))
                };
                let mut parts = Vec::with_capacity(3);
                if *before > 0 {
                    parts.push(zeros(*before));
                }
                parts.push(x);
                if *after > 0 {
                    parts.push(zeros(*after));
                }
                Var::concat(&parts, *axis)
            }
        }
    }
}

fn concat_shape(inputs: &[Vec<usize>], axis: usize) -> Result<Vec<usize>, String> {
    let first = &inputs[0];
    if axis >= first.len() {
        return Err(format!("axis {axis} is beyond input {first:?}"));
    }
    let mut out = first.clone();
    for s in &inputs[1..] {
        let same_rest = s.len() == first.len()
            && s.iter()
                .zip(first)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same_rest {
            return Err(format!(
                "inputs {first:?} and {s:?} differ outside axis {axis}"
            ));
        }
        out[axis] += s[axis];
    }
    Ok(out)
}

fn reshape_shape(x: &[usize], dims: &[isize]) -> Result<Vec<usize>, String> {
    let Some((&batch, rest)) = x.split_first() else {
        return Err("cannot reshape a value without a batch axis".into());
    };
    let total = rest
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("input {x:?} has too many elements"))?;
    let inferred = dims.iter().filter(|&&d| d == -1).count();
    if inferred > 1 || dims.iter().any(|&d| d < -1 || d == 0) {
        return Err(format!(
            "reshape dims {dims:?} must be positive, with at most one -1"
        ));
    }
    let known = dims
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d as usize))
        .ok_or_else(|| format!("reshape dims {dims:?} have too many elements"))?;
    let mut out = vec![batch];
    for &d in dims {
        out.push(if d == -1 {
            if known == 0 || !total.is_multiple_of(known) {
                return Err(format!("cannot reshape {rest:?} (per sample) to {dims:?}"));
            }
            total / known
        } else {
            d as usize
        });
    }
    if out[1..].iter().product::<usize>() != total {
        return Err(format!("cannot reshape {rest:?} (per sample) to {dims:?}"));
    }
    Ok(out)
}

/// The shape `dims` gives `x` (all axes), its one `-1` inferred from the element count.
fn reshape_all_shape(x: &[usize], dims: &[isize]) -> Result<Vec<usize>, String> {
    let total: usize = x.iter().product();
    let inferred = dims.iter().filter(|&&d| d == -1).count();
    if inferred > 1 || dims.iter().any(|&d| d < -1 || d == 0) {
        return Err(format!(
            "reshape dims {dims:?} must be positive, with at most one -1"
        ));
    }
    let known: usize = dims
        .iter()
        .filter(|&&d| d > 0)
        .map(|&d| d as usize)
        .product();
    let bad = || format!("cannot reshape {x:?} to {dims:?}");
    if known == 0 || !total.is_multiple_of(known) {
        return Err(bad());
    }
    let out: Vec<usize> = dims
        .iter()
        .map(|&d| if d == -1 { total / known } else { d as usize })
        .collect();
    if out.iter().product::<usize>() != total {
        return Err(bad());
    }
    Ok(out)
}

fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let err = || format!("shapes {a:?} and {b:?} cannot be matrix-multiplied");
    if a.len() < 2 || b.len() < 2 {
        return Err(err());
    }
    let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
    let (k2, n) = (b[b.len() - 2], b[b.len() - 1]);
    if k != k2 {
        return Err(err());
    }
    let mut out = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2]).ok_or_else(err)?;
    out.extend([m, n]);
    Ok(out)
}

impl fmt::Display for TensorOp {
    /// The op as a call, as the graph description prints it: `add`, `concat(axis=1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorOp::Add => write!(f, "add"),
            TensorOp::Sub => write!(f, "sub"),
            TensorOp::Mul => write!(f, "mul"),
            TensorOp::Div => write!(f, "div"),
            TensorOp::Scale(c) => write!(f, "scale({c})"),
            TensorOp::Concat { axis } => write!(f, "concat(axis={axis})"),
            TensorOp::Narrow { axis, start, len } => {
                write!(f, "narrow(axis={axis},start={start},len={len})")
            }
            TensorOp::Flatten { start } => write!(f, "flatten(start={start})"),
            TensorOp::Reshape { dims } => write!(f, "reshape({dims:?})"),
            TensorOp::Permute { perm } => write!(f, "permute({perm:?})"),
            TensorOp::MatMul => write!(f, "matmul"),
            TensorOp::ExpandBatch => write!(f, "expand_batch"),
            TensorOp::Mean { axes, keepdim } => write!(f, "mean(axes={axes:?},keepdim={keepdim})"),
            TensorOp::ReshapeAll { dims } => write!(f, "reshape_all({dims:?})"),
            TensorOp::Erf => write!(f, "erf"),
            TensorOp::Sqrt => write!(f, "sqrt"),
            TensorOp::Pow(p) => write!(f, "pow({p})"),
            TensorOp::Pad {
                axis,
                before,
                after,
            } => write!(f, "pad(axis={axis},before={before},after={after})"),
        }
    }
}
