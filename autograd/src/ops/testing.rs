//! Helpers shared by the families' unit tests.

use crate::tensor::Tensor;

/// An f64 tensor from a slice.
pub(crate) fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape).unwrap()
}

/// Asserts that `a` and `b` agree to 1e-12 (relative).
pub(crate) fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}
