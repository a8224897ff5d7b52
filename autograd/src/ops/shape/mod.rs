//! Ops that move elements without arithmetic: reshape, permute/transpose, broadcast, narrow,
//! concat and stack. Each backward (in `rule.rs`) moves the gradient back the same way.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::scalar::Scalar;
use crate::shape::{self, split_at_axis};
use crate::tensor::{check_permutation, Tensor};
use crate::var::Var;
use rule::ShapeOp;

impl<'t, T: Scalar> Var<'t, T> {
    /// The same elements with a new shape of equal size (no copy). One entry may be `usize::MAX`
    /// to mean "whatever size makes the count right" (PyTorch's `-1`).
    ///
    /// # Panics
    /// If the sizes differ, naming both shapes.
    pub fn reshape(self, new_shape: &[usize]) -> Var<'t, T> {
        let x = self.value();
        let mut target = new_shape.to_vec();
        if let Some(pos) = target.iter().position(|&d| d == usize::MAX) {
            let known: usize = target.iter().filter(|&&d| d != usize::MAX).product();
            target[pos] = x.numel().checked_div(known).unwrap_or(0);
        }
        let value = x
            .reshape(&target)
            .unwrap_or_else(|e| panic!("reshape: {e}"));
        self.record(value, ShapeOp::Reshape { x: self.id() })
    }

    /// Flattens axes `start..` into one (PyTorch's `flatten(start_dim)`): `[N, C, H, W]` with
    /// `start = 1` gives `[N, C*H*W]`, in CHW order.
    ///
    /// # Panics
    /// If `start` exceeds the rank.
    pub fn flatten(self, start: usize) -> Var<'t, T> {
        let s = self.shape();
        assert!(
            start <= s.len(),
            "flatten: start axis {start} is beyond shape {s:?}"
        );
        let mut target = s[..start].to_vec();
        target.push(shape::numel(&s[start..]));
        self.reshape(&target)
    }

    /// Inserts an axis of size 1 at `axis`.
    ///
    /// # Panics
    /// If `axis > rank`.
    pub fn unsqueeze(self, axis: usize) -> Var<'t, T> {
        let mut s = self.shape();
        assert!(
            axis <= s.len(),
            "unsqueeze: axis {axis} is beyond shape {s:?}"
        );
        s.insert(axis, 1);
        self.reshape(&s)
    }

    /// Removes the axis `axis`, which must have size 1.
    ///
    /// # Panics
    /// If the axis is out of range or not of size 1.
    pub fn squeeze(self, axis: usize) -> Var<'t, T> {
        let mut s = self.shape();
        assert!(
            axis < s.len() && s[axis] == 1,
            "squeeze: axis {axis} of shape {s:?} is not of size 1"
        );
        s.remove(axis);
        self.reshape(&s)
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`. Backward applies the inverse
    /// permutation.
    ///
    /// # Panics
    /// If `perm` is not a permutation of the axes.
    pub fn permute(self, perm: &[usize]) -> Var<'t, T> {
        let x = self.value();
        check_permutation("permute", perm, x.shape());
        self.record(
            x.permute(perm),
            ShapeOp::Permute {
                x: self.id(),
                perm: perm.to_vec(),
            },
        )
    }

    /// Swaps two axes.
    ///
    /// # Panics
    /// If an axis is out of range.
    pub fn transpose(self, a: usize, b: usize) -> Var<'t, T> {
        let rank = self.rank();
        assert!(
            a < rank && b < rank,
            "transpose: axes {a} and {b} are out of range for shape {:?}",
            self.shape()
        );
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The transpose of a matrix (swaps the last two axes).
    ///
    /// # Panics
    /// If the rank is below 2.
    pub fn t(self) -> Var<'t, T> {
        let rank = self.rank();
        assert!(
            rank >= 2,
            "t: shape {:?} has fewer than 2 axes",
            self.shape()
        );
        self.transpose(rank - 2, rank - 1)
    }

    /// Repeats the value along size-1 and new leading axes to `shape` (NumPy broadcasting);
    /// backward sums over the repeated axes.
    ///
    /// # Panics
    /// If the shape does not broadcast to `shape`, naming both.
    pub fn broadcast_to(self, shape: &[usize]) -> Var<'t, T> {
        let x = self.value();
        let fits = shape::broadcast_shapes(x.shape(), shape).as_deref() == Some(shape);
        assert!(
            fits,
            "broadcast_to: shape {:?} does not broadcast to {shape:?}",
            x.shape()
        );
        self.record(x.broadcast_to(shape), ShapeOp::BroadcastTo { x: self.id() })
    }

    /// The slice `start..start + len` along `axis` (PyTorch's `narrow`).
    ///
    /// # Panics
    /// If the axis or the range is out of bounds.
    pub fn narrow(self, axis: usize, start: usize, len: usize) -> Var<'t, T> {
        let x = self.value();
        let xs = x.shape();
        assert!(
            axis < xs.len() && start + len <= xs[axis],
            "narrow: range {start}..{} of axis {axis} is out of bounds for shape {xs:?}",
            start + len
        );
        let (outer, size, inner) = split_at_axis(xs, axis);
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            let at = (o * size + start) * inner;
            out.extend_from_slice(&x.data()[at..at + len * inner]);
        }
        let mut shape = xs.to_vec();
        shape[axis] = len;
        let value = Tensor::from_parts("narrow", out, shape);
        self.record(
            value,
            ShapeOp::Narrow {
                x: self.id(),
                axis,
                start,
            },
        )
    }

    /// Joins `vars` along an existing `axis`; all other axes must agree.
    ///
    /// # Panics
    /// If `vars` is empty, or the shapes disagree off `axis`.
    pub fn concat(vars: &[Var<'t, T>], axis: usize) -> Var<'t, T> {
        let first = *vars.first().expect("concat: no inputs");
        let values: Vec<Tensor<T>> = vars
            .iter()
            .map(|v| {
                first.same_tape("concat", v);
                v.value()
            })
            .collect();
        let mut shape = values[0].shape().to_vec();
        assert!(
            axis < shape.len(),
            "concat: axis {axis} is out of range for shape {shape:?}"
        );
        for v in &values[1..] {
            let ok = v.rank() == shape.len()
                && (0..shape.len()).all(|d| d == axis || v.shape()[d] == shape[d]);
            assert!(
                ok,
                "concat: shape {:?} does not match {:?} off axis {axis}",
                v.shape(),
                values[0].shape()
            );
        }
        shape[axis] = values.iter().map(|v| v.shape()[axis]).sum();
        let (outer, _, inner) = split_at_axis(&shape, axis);
        let mut out = Vec::with_capacity(shape::numel(&shape));
        for o in 0..outer {
            for v in &values {
                let run = v.shape()[axis] * inner;
                out.extend_from_slice(&v.data()[o * run..(o + 1) * run]);
            }
        }
        let value = Tensor::from_parts("concat", out, shape);
        let xs = vars.iter().map(Var::id).collect();
        first.record(value, ShapeOp::Concat { xs, axis })
    }

    /// Stacks `vars` of one shape along a new axis `axis` (unsqueeze each, then concat).
    ///
    /// # Panics
    /// If `vars` is empty or the shapes differ.
    pub fn stack(vars: &[Var<'t, T>], axis: usize) -> Var<'t, T> {
        let expanded: Vec<Var<'t, T>> = vars.iter().map(|v| v.unsqueeze(axis)).collect();
        Var::concat(&expanded, axis)
    }
}
