//! proptest strategies for shapes and tensors (feature `proptest`), so any crate can property-test
//! its ops against [`crate::check`].
//!
//! ```
//! use smoothgrad_autograd::check::{check_gradients, CheckOptions};
//! use smoothgrad_autograd::strategies;
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(8), |(x in strategies::tensor(2, 3, -2.0..2.0))| {
//!     let report = check_gradients(|_, v| v[0].sigmoid().sum(), &[x], &CheckOptions::default());
//!     prop_assert!(report.is_ok(), "{}", report.unwrap_err());
//! });
//! ```

use std::ops::Range;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::tensor::Tensor;

/// Shapes of rank `1..=max_rank` with every size in `1..=max_dim`.
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(1..=max_dim, 1..=max_rank)
}

/// `f64` tensors of the given shape with elements drawn uniformly from `range`.
pub fn tensor_of_shape(shape: Vec<usize>, range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    vec(range, n).prop_map(move |data| Tensor::from_vec(data, &shape).expect("length matches"))
}

/// `f64` tensors of a random [`shape`] with elements from `range`.
pub fn tensor(
    max_rank: usize,
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = Tensor<f64>> {
    shape(max_rank, max_dim).prop_flat_map(move |s| tensor_of_shape(s, range.clone()))
}

/// Like [`tensor_of_shape`], but every element is at least `margin` away from each point of
/// `kinks` (where the function under test has no derivative: 0 for ReLU and abs), so central
/// differences never straddle one.
pub fn tensor_away_from(
    shape: Vec<usize>,
    range: Range<f64>,
    kinks: Vec<f64>,
    margin: f64,
) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    let element = range.prop_filter("too close to a kink", move |x| {
        kinks.iter().all(|k| (x - k).abs() >= margin)
    });
    vec(element, n).prop_map(move |data| Tensor::from_vec(data, &shape).expect("length matches"))
}

/// Tensors whose elements are pairwise at least `gap` apart (so a maximum is never tied): a
/// random permutation of evenly spaced values, jittered by less than `gap / 4`, scaled to span
/// about `spread`.
pub fn distinct_tensor(shape: Vec<usize>, spread: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    let step = spread / n.max(1) as f64;
    (
        Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        vec(-0.2..0.2f64, n),
    )
        .prop_map(move |(order, jitter)| {
            let data = order
                .iter()
                .zip(&jitter)
                .map(|(&i, &j)| (i as f64 + j) * step - spread / 2.0)
                .collect();
            Tensor::from_vec(data, &shape).expect("length matches")
        })
}

/// Two shapes that broadcast together: a random shape, and a copy with some axes set to 1 and
/// possibly some leading axes dropped. Either may come first.
pub fn broadcast_pair(
    max_rank: usize,
    max_dim: usize,
) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(max_rank, max_dim).prop_flat_map(|full| {
        let rank = full.len();
        (
            Just(full),
            vec(any::<bool>(), rank),
            0..=rank,
            any::<bool>(),
        )
            .prop_map(|(full, ones, drop, swap)| {
                let small: Vec<usize> = full
                    .iter()
                    .zip(&ones)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .skip(drop)
                    .collect();
                if swap {
                    (small, full)
                } else {
                    (full, small)
                }
            })
    })
}
