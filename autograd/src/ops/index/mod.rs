//! Indexing: `index_select` (whole slices by index) and `gather` (one element per position, e.g.
//! the target class of each row). Backward (in `rule.rs`) scatters `dy` back, adding where an
//! index repeats.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::scalar::Scalar;
use crate::shape::{self, split_at_axis};
use crate::tensor::Tensor;
use crate::var::Var;
use rule::IndexOp;

impl<'t, T: Scalar> Var<'t, T> {
    /// The slices at `indices` along `axis`, in that order (repeats allowed), as
    /// `torch.index_select`: the output has `indices.len()` entries along `axis`.
    ///
    /// # Panics
    /// If the axis or an index is out of range.
    pub fn index_select(self, axis: usize, indices: &[usize]) -> Var<'t, T> {
        let x = self.value();
        let xs = x.shape();
        assert!(
            axis < xs.len(),
            "index_select: axis {axis} is out of range for shape {xs:?}"
        );
        let (outer, size, inner) = split_at_axis(xs, axis);
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            panic!("index_select: index {bad} is out of range for axis {axis} of shape {xs:?}");
        }
        let mut out = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                out.extend_from_slice(&x.data()[(o * size + i) * inner..][..inner]);
            }
        }
        let mut shape = xs.to_vec();
        shape[axis] = indices.len();
        let value = Tensor::from_parts("index_select", out, shape);
        let op = IndexOp::Select {
            x: self.id(),
            axis,
            indices: indices.to_vec(),
        };
        self.record(value, op)
    }

    /// `out[.., j, ..] = x[.., index[.., j, ..], ..]` along `axis` (`torch.gather`), where `index`
    /// has shape `index_shape`: `x`'s shape except, possibly, along `axis`.
    ///
    /// # Panics
    /// If the index shape does not fit `x`, or an index is out of range.
    pub fn gather(self, axis: usize, index: &[usize], index_shape: &[usize]) -> Var<'t, T> {
        let x = self.value();
        let xs = x.shape();
        let fits = axis < xs.len()
            && index_shape.len() == xs.len()
            && (0..xs.len()).all(|d| d == axis || index_shape[d] == xs[d])
            && shape::numel(index_shape) == index.len();
        assert!(
            fits,
            "gather: index of shape {index_shape:?} ({} values) does not fit input {xs:?} along axis {axis}",
            index.len()
        );
        let (outer, size, inner) = split_at_axis(xs, axis);
        if let Some(&bad) = index.iter().find(|&&i| i >= size) {
            panic!("gather: index {bad} is out of range for axis {axis} of shape {xs:?}");
        }
        let m = index_shape[axis];
        let mut out = Vec::with_capacity(index.len());
        for o in 0..outer {
            for j in 0..m {
                for i in 0..inner {
                    let at = (o * m + j) * inner + i;
                    out.push(x.data()[(o * size + index[at]) * inner + i]);
                }
            }
        }
        let value = Tensor::from_parts("gather", out, index_shape.to_vec());
        let op = IndexOp::Gather {
            x: self.id(),
            axis,
            index: index.to_vec(),
        };
        self.record(value, op)
    }

    /// For scores `[B, K]`, the entry `targets[b]` of each row, as a `[B]` vector: the class score
    /// to explain (`gather` along axis 1, then squeeze).
    ///
    /// # Panics
    /// If the value is not 2-d, `targets` has not one entry per row, or a target is out of range.
    pub fn pick(self, targets: &[usize]) -> Var<'t, T> {
        let s = self.shape();
        assert!(
            s.len() == 2 && s[0] == targets.len(),
            "pick: expected scores [B, K] with B = {} targets, found shape {s:?}",
            targets.len()
        );
        self.gather(1, targets, &[targets.len(), 1])
            .reshape(&[targets.len()])
    }
}
