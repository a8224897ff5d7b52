//! Reductions: sum, mean, max and min over all axes or chosen ones, with `keepdim`.
//!
//! Sum: `y = sum_axes x`, backward `dx = broadcast(dy)`. Max: `y = max_axes x`, backward routes
//! `dy` to the position of the maximum (the first one on ties, as `torch.max(dim)`). The rules
//! are in `rule.rs`.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::kernels::broadcast::accumulate_strided;
use crate::kernels::strided::for_each_run;
use crate::scalar::Scalar;
use crate::shape;
use crate::tensor::Tensor;
use crate::var::Var;
use rule::ReduceOp;

/// The input shape with the reduced axes set to 1, checking that `axes` are distinct and in range.
fn kept_shape(op: &str, shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut kept = shape.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        assert!(
            a < shape.len(),
            "{op}: axis {a} is out of range for shape {shape:?}"
        );
        assert!(
            !axes[..i].contains(&a),
            "{op}: axis {a} is repeated in {axes:?}"
        );
        kept[a] = 1;
    }
    kept
}

/// The output shape: `kept`, or `kept` without the reduced axes.
fn out_shape(shape: &[usize], axes: &[usize], keepdim: bool, kept: &[usize]) -> Vec<usize> {
    if keepdim {
        kept.to_vec()
    } else {
        (0..shape.len())
            .filter(|i| !axes.contains(i))
            .map(|i| shape[i])
            .collect()
    }
}

/// Strides that write every input element to its reduced output position.
fn reduced_strides(shape: &[usize], kept: &[usize]) -> Vec<usize> {
    let own = shape::strides(kept);
    (0..shape.len())
        .map(|i| {
            if kept[i] == 1 && shape[i] != 1 {
                0
            } else {
                own[i]
            }
        })
        .collect()
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The sum of all elements, as a scalar (shape `[]`).
    pub fn sum(self) -> Var<'t, T> {
        let all: Vec<usize> = (0..self.rank()).collect();
        self.sum_axes(&all, false)
    }

    /// Sum over `axes`; with `keepdim` the reduced axes stay as size 1.
    ///
    /// `y[j] = sum_{i -> j} x[i]`; backward `dx[i] = dy[j(i)]`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    pub fn sum_axes(self, axes: &[usize], keepdim: bool) -> Var<'t, T> {
        let x = self.value();
        let kept = kept_shape("sum", x.shape(), axes);
        let mut out = vec![T::zero(); shape::numel(&kept)];
        accumulate_strided(
            &mut out,
            x.data(),
            x.shape(),
            &reduced_strides(x.shape(), &kept),
        );
        let value = Tensor::from_parts("sum", out, out_shape(x.shape(), axes, keepdim, &kept));
        self.record(value, ReduceOp::Sum { x: self.id(), kept })
    }

    /// The mean of all elements, as a scalar.
    pub fn mean(self) -> Var<'t, T> {
        let all: Vec<usize> = (0..self.rank()).collect();
        self.mean_axes(&all, false)
    }

    /// Mean over `axes`: the sum divided by the number of elements reduced.
    ///
    /// # Panics
    /// As [`Var::sum_axes`].
    pub fn mean_axes(self, axes: &[usize], keepdim: bool) -> Var<'t, T> {
        let shape = self.shape();
        let count: usize = axes.iter().filter_map(|&a| shape.get(a)).product();
        let count = T::from_usize(count).expect("count fits the float type");
        self.sum_axes(axes, keepdim).div_scalar(count)
    }

    /// The largest element, as a scalar.
    pub fn max(self) -> Var<'t, T> {
        let all: Vec<usize> = (0..self.rank()).collect();
        self.max_axes(&all, false)
    }

    /// Maximum over `axes` (NaN if any reduced element is NaN).
    ///
    /// Backward sends `dy` to the first position that attains the maximum.
    ///
    /// # Panics
    /// If an axis is out of range or repeated, or a reduced axis has size 0.
    pub fn max_axes(self, axes: &[usize], keepdim: bool) -> Var<'t, T> {
        let x = self.value();
        let kept = kept_shape("max", x.shape(), axes);
        assert!(
            x.numel() > 0 || shape::numel(&kept) == 0,
            "max: cannot reduce the empty axes {axes:?} of shape {:?}",
            x.shape()
        );
        let n_out = shape::numel(&kept);
        let mut best = vec![T::neg_infinity(); n_out];
        let mut argmax = vec![usize::MAX; n_out];
        let (out_strides, x_strides) = (reduced_strides(x.shape(), &kept), x.strides());
        let xd = x.data();
        for_each_run(
            x.shape(),
            [&out_strides, &x_strides],
            |[o, s], n, [io, _]| {
                for j in 0..n {
                    let (oi, v) = (o + j * io, xd[s + j]);
                    // Take the first element, then anything larger or NaN; keep a NaN once taken.
                    if argmax[oi] == usize::MAX
                        || (!best[oi].is_nan() && (v > best[oi] || v.is_nan()))
                    {
                        best[oi] = v;
                        argmax[oi] = s + j;
                    }
                }
            },
        );
        let value = Tensor::from_parts("max", best, out_shape(x.shape(), axes, keepdim, &kept));
        self.record(
            value,
            ReduceOp::Max {
                x: self.id(),
                argmax,
            },
        )
    }

    /// Minimum over `axes`, as `-max(-x)`.
    ///
    /// # Panics
    /// As [`Var::max_axes`].
    pub fn min_axes(self, axes: &[usize], keepdim: bool) -> Var<'t, T> {
        -(-self).max_axes(axes, keepdim)
    }
}
