//! Reduction kernels over contiguous slices: sums, maxima and dot products in fixed-width chunks
//! with independent accumulators, so the compiler vectorizes them and the order of additions (and
//! so the rounding) is fixed whatever the caller.

use crate::scalar::Scalar;

/// Lanes of independent accumulators: eight f32 fill one AVX register.
const LANES: usize = 8;

/// `sum(xs)`, accumulated in `LANES` interleaved partial sums that are added at the end.
pub fn sum<T: Scalar>(xs: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = acc[l] + c[l];
        }
    }
    let mut s = tail.iter().fold(T::zero(), |s, &x| s + x);
    for a in acc {
        s = s + a;
    }
    s
}

/// `sum(xs[i] * ys[i])`, chunked like [`sum`].
///
/// # Panics
/// If the slices differ in length.
pub fn dot<T: Scalar>(xs: &[T], ys: &[T]) -> T {
    assert_eq!(xs.len(), ys.len(), "dot: lengths differ");
    let mut acc = [T::zero(); LANES];
    let (cx, cy) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    let (tx, ty) = (cx.remainder(), cy.remainder());
    for (a, b) in cx.zip(cy) {
        for l in 0..LANES {
            acc[l] = acc[l] + a[l] * b[l];
        }
    }
    let mut s = tx.iter().zip(ty).fold(T::zero(), |s, (&a, &b)| s + a * b);
    for a in acc {
        s = s + a;
    }
    s
}

/// The largest element, NaN if any element is NaN (as NumPy and PyTorch propagate it), and
/// negative infinity for an empty slice.
pub fn max<T: Scalar>(xs: &[T]) -> T {
    let mut m = T::neg_infinity();
    for &x in xs {
        if x.is_nan() {
            return x;
        }
        if x > m {
            m = x;
        }
    }
    m
}

/// `ys[i] += xs[i]`.
pub fn add_assign<T: Scalar>(ys: &mut [T], xs: &[T]) {
    assert_eq!(xs.len(), ys.len(), "add_assign: lengths differ");
    for (y, &x) in ys.iter_mut().zip(xs) {
        *y = *y + x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_dots_of_every_length() {
        for n in 0usize..40 {
            let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(sum(&xs), (n * n.saturating_sub(1) / 2) as f64);
            let expect: f64 = xs.iter().map(|x| x * x).sum();
            assert_eq!(dot(&xs, &xs), expect);
        }
    }

    #[test]
    fn max_propagates_nan() {
        assert_eq!(max(&[1.0f32, 3.0, 2.0]), 3.0);
        assert!(max(&[1.0f32, f32::NAN, 2.0]).is_nan());
        assert_eq!(max::<f32>(&[]), f32::NEG_INFINITY);
    }
}
