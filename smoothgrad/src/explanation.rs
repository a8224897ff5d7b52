//! The results: [`Attribution`] from a base method, [`Explanation`] from SmoothGrad.

use smoothgrad_autograd::{Scalar, Tensor};

/// Attributions with the inputs' shape `[N, ...]`, or `[N, M, ...]` when `M > 1` classes per input
/// were explained at once.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution<T: Scalar = f32> {
    /// The attribution of every input element.
    pub values: Tensor<T>,
}

/// Arranges per-slot buffers (each `[N, len]` row-major) as `[N, ...]` or `[N, M, ...]`.
pub(crate) fn arrange<T: Scalar>(slots: &[Vec<T>], n: usize, per_input: &[usize]) -> Tensor<T> {
    let len: usize = per_input.iter().product();
    let m = slots.len();
    let mut shape = vec![n];
    if m > 1 {
        shape.push(m);
    }
    shape.extend_from_slice(per_input);
    let mut data = Vec::with_capacity(n * m * len);
    for i in 0..n {
        for slot in slots {
            data.extend_from_slice(&slot[i * len..(i + 1) * len]);
        }
    }
    Tensor::from_vec(data, &shape).expect("slots hold N inputs each")
}

impl<T: Scalar> Attribution<T> {
    pub(crate) fn from_slots(slots: Vec<Vec<T>>, n: usize, per_input: &[usize]) -> Self {
        Attribution {
            values: arrange(&slots, n, per_input),
        }
    }
}

/// What SmoothGrad computes in one pass over the `S` noisy samples `g_1..g_S` of each input, each
/// with the attribution's shape:
///
/// - `mean`: SmoothGrad, `(1/S) sum g_s`;
/// - `mean_of_squares`: SmoothGrad-squared, `(1/S) sum g_s^2`;
/// - `variance`: VarGrad, the unbiased `(1/(S-1)) sum (g_s - mean)^2` (0 when `S = 1`);
/// - `std_error`: the Monte-Carlo standard error of `mean`, `sqrt(variance / S)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation<T: Scalar = f32> {
    /// SmoothGrad.
    pub mean: Tensor<T>,
    /// SmoothGrad-squared.
    pub mean_of_squares: Tensor<T>,
    /// VarGrad (unbiased).
    pub variance: Tensor<T>,
    /// The standard error of `mean`.
    pub std_error: Tensor<T>,
    /// The number of samples used for each input (fewer than asked when a tolerance stopped early).
    pub samples: Vec<usize>,
}

/// Which of the three estimates to take from an [`Explanation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    /// SmoothGrad: the mean.
    Mean,
    /// SmoothGrad-squared: the mean of squares.
    MeanOfSquares,
    /// VarGrad: the variance.
    Variance,
}

impl<T: Scalar> Explanation<T> {
    /// The estimate for an aggregation.
    pub fn get(&self, aggregation: Aggregation) -> &Tensor<T> {
        match aggregation {
            Aggregation::Mean => &self.mean,
            Aggregation::MeanOfSquares => &self.mean_of_squares,
            Aggregation::Variance => &self.variance,
        }
    }
}
