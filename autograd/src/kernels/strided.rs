//! Strided iteration: the one loop behind broadcasting, permutes and reductions.
//!
//! An N-d loop over a shape, where each of `K` operands reads (or writes) element `idx` at
//! `sum(idx[d] * strides[k][d])`. Adjacent axes that every operand walks contiguously are merged
//! first, so a plain `[B, C, H, W] + [B, C, H, W]` is one run and a bias add `[B, N] + [N]` is `B`
//! runs of `N`: the closure sees long contiguous runs and its inner loop vectorizes.

/// Calls `f(offsets, len, inner_strides)` once per run along the innermost (merged) axis, in
/// row-major order of `shape`: operand `k`'s elements of that run are at
/// `offsets[k] + j * inner_strides[k]` for `j < len`.
///
/// Nothing is called for an empty shape (a zero-size axis); a scalar (`shape == []`) is one run of
/// length 1.
pub fn for_each_run<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K], usize, [usize; K]),
) {
    if shape.contains(&0) {
        return;
    }
    // Drop size-1 axes, then merge axis d into axis d+1 when every operand steps over the whole of
    // d+1 in one step of d.
    let mut dims: Vec<(usize, [usize; K])> = Vec::with_capacity(shape.len());
    for (d, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let s: [usize; K] = std::array::from_fn(|k| strides[k][d]);
        if let Some(last) = dims.last_mut() {
            if (0..K).all(|k| last.1[k] == s[k] * n) {
                last.0 *= n;
                last.1 = s;
                continue;
            }
        }
        dims.push((n, s));
    }
    let Some(&(len, inner)) = dims.last() else {
        f([0; K], 1, [0; K]);
        return;
    };
    let outer = &dims[..dims.len() - 1];
    let mut index = vec![0usize; outer.len()];
    let mut offsets = [0usize; K];
    loop {
        f(offsets, len, inner);
        // Odometer over the outer axes, updating offsets incrementally.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            let (n, s) = outer[d];
            index[d] += 1;
            if index[d] < n {
                for k in 0..K {
                    offsets[k] += s[k];
                }
                break;
            }
            index[d] = 0;
            for k in 0..K {
                offsets[k] -= s[k] * (n - 1);
            }
        }
    }
}

/// Copies a strided view into a new contiguous buffer: `out[i] = src[offset(i)]` where `offset`
/// uses `src_strides` over `shape` (zeros broadcast, a permutation transposes).
pub fn strided_copy<T: Copy>(src: &[T], shape: &[usize], src_strides: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(crate::shape::numel(shape));
    let dst_strides = crate::shape::strides(shape);
    for_each_run(shape, [src_strides, &dst_strides], |[o, _], len, [s, _]| {
        if s == 1 {
            out.extend_from_slice(&src[o..o + len]);
        } else {
            out.extend((0..len).map(|j| src[o + j * s]));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_operands_merge_into_one_run() {
        let mut runs = Vec::new();
        for_each_run(&[2, 3, 4], [&[12, 4, 1], &[12, 4, 1]], |o, n, s| {
            runs.push((o, n, s))
        });
        assert_eq!(runs, vec![([0, 0], 24, [1, 1])]);
    }

    #[test]
    fn bias_broadcast_gives_one_run_per_row() {
        let mut runs = Vec::new();
        for_each_run(&[2, 3], [&[3, 1], &[0, 1]], |o, n, s| runs.push((o, n, s)));
        assert_eq!(runs, vec![([0, 0], 3, [1, 1]), ([3, 0], 3, [1, 1])]);
    }

    #[test]
    fn transpose_copy() {
        // [[0, 1, 2], [3, 4, 5]] transposed.
        let src = [0, 1, 2, 3, 4, 5];
        assert_eq!(strided_copy(&src, &[3, 2], &[1, 3]), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn scalar_and_empty_shapes() {
        assert_eq!(strided_copy(&[7], &[], &[]), vec![7]);
        assert_eq!(
            strided_copy::<i32>(&[], &[2, 0], &[0, 1]),
            Vec::<i32>::new()
        );
        assert_eq!(strided_copy(&[7], &[1, 1], &[0, 0]), vec![7]);
    }
}
