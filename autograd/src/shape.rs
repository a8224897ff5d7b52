//! Shape arithmetic shared by tensors and kernels: element counts, row-major strides, NumPy
//! broadcasting.

/// The number of elements of a tensor of this shape (1 for a scalar, shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major (C-order) strides in elements: the last axis has stride 1.
///
/// `strides([2, 3, 4]) == [12, 4, 1]`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The shape two shapes broadcast to under NumPy's rules, or `None` if they do not.
///
/// Shapes are aligned on their last axis; each pair of sizes must be equal or contain a 1, and
/// the missing leading axes of the shorter shape count as 1: `[4, 1, 3]` and `[5, 1]` give
/// `[4, 5, 3]`.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// The strides with which a contiguous tensor of shape `from` is read as if it had the (larger)
/// broadcast shape `to`: stride 0 along every axis it is repeated on.
///
/// # Panics
/// If `from` does not broadcast to `to`.
pub fn broadcast_strides(from: &[usize], to: &[usize]) -> Vec<usize> {
    assert!(
        from.len() <= to.len(),
        "broadcast: cannot broadcast shape {from:?} to {to:?}"
    );
    let own = strides(from);
    let lead = to.len() - from.len();
    (0..to.len())
        .map(|i| {
            if i < lead {
                return 0;
            }
            let d = from[i - lead];
            assert!(
                d == to[i] || d == 1,
                "broadcast: cannot broadcast shape {from:?} to {to:?}"
            );
            if d == 1 && to[i] != 1 {
                0
            } else {
                own[i - lead]
            }
        })
        .collect()
}

/// Splits `shape` around `axis` into `(outer, size, inner)`: the product of the axes before it, its
/// own size, and the product of the axes after it. A contiguous tensor is then `[outer, size, inner]`.
pub fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        numel(&shape[..axis]),
        shape[axis],
        numel(&shape[axis + 1..]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[5]), vec![1]);
        assert!(strides(&[]).is_empty());
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[4, 1, 3], &[5, 1]), Some(vec![4, 5, 3]));
        assert_eq!(broadcast_shapes(&[], &[2, 2]), Some(vec![2, 2]));
        assert_eq!(broadcast_shapes(&[3], &[4]), None);
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
    }

    #[test]
    fn split_at_axis_gives_outer_size_inner() {
        assert_eq!(split_at_axis(&[2, 3, 4, 5], 1), (2, 3, 20));
        assert_eq!(split_at_axis(&[7], 0), (1, 7, 1));
    }
}
