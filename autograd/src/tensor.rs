//! [`Tensor`]: an immutable, row-major, contiguous n-d array shared by reference counting.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use crate::error::TensorError;
use crate::kernels::strided;
use crate::scalar::Scalar;
use crate::shape;

/// An n-dimensional array of `T` (default `f32`) in row-major order.
///
/// The buffer is shared by reference counting (`Arc<Vec<T>>`), so `clone` is cheap and many tapes
/// on many threads can read one copy of a model's weights; a tensor never changes once built
/// (operations return new tensors). The buffer is an `Arc<Vec<T>>` rather than an `Arc<[T]>` so
/// that a kernel's output is adopted as it is: building an `Arc<[T]>` copies the data into a
/// second, freshly allocated buffer, which took a third of the time of a SmoothGrad run.
/// A scalar has shape `[]` and one element.
#[derive(Clone, PartialEq)]
pub struct Tensor<T: Scalar = f32> {
    data: Arc<Vec<T>>,
    shape: Vec<usize>,
}

impl<T: Scalar> Tensor<T> {
    /// A tensor from row-major data and a shape.
    ///
    /// # Errors
    /// [`TensorError::LengthMismatch`] if `data.len()` is not the product of `shape`.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self, TensorError> {
        if data.len() != shape::numel(shape) {
            return Err(TensorError::LengthMismatch {
                shape: shape.to_vec(),
                len: data.len(),
            });
        }
        Ok(Tensor {
            data: Arc::new(data),
            shape: shape.to_vec(),
        })
    }

    /// A tensor from row-major data known to fit the shape (kernels' outputs).
    ///
    /// # Panics
    /// If the length does not match, naming `op` and the shape.
    pub(crate) fn from_parts(op: &str, data: Vec<T>, shape: Vec<usize>) -> Self {
        assert_eq!(
            data.len(),
            shape::numel(&shape),
            "{op}: kernel produced {} values for shape {shape:?}",
            data.len()
        );
        Tensor {
            data: Arc::new(data),
            shape,
        }
    }

    /// A tensor copied from a slice; see [`Tensor::from_vec`].
    ///
    /// # Errors
    /// [`TensorError::LengthMismatch`] if the lengths differ.
    pub fn from_slice(data: &[T], shape: &[usize]) -> Result<Self, TensorError> {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A scalar (shape `[]`).
    pub fn scalar(value: T) -> Self {
        Tensor {
            data: Arc::new(vec![value]),
            shape: Vec::new(),
        }
    }

    /// A tensor with every element equal to `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        Tensor {
            data: Arc::new(vec![value; shape::numel(shape)]),
            shape: shape.to_vec(),
        }
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A tensor whose element at row-major position `i` is `f(i)`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> T) -> Self {
        Tensor {
            data: Arc::new((0..shape::numel(shape)).map(f).collect()),
            shape: shape.to_vec(),
        }
    }

    /// `[0, 1, ..., n - 1]` as a 1-d tensor.
    pub fn arange(n: usize) -> Self {
        Self::from_fn(&[n], |i| {
            T::from_usize(i).expect("index fits the float type")
        })
    }

    /// Samples from the standard normal distribution N(0, 1), drawn from `rng`.
    pub fn randn(shape: &[usize], rng: &mut impl Rng) -> Self {
        Self::from_fn(shape, |_| {
            let z: f64 = StandardNormal.sample(rng);
            T::from_f64_lossy(z)
        })
    }

    /// Samples from the uniform distribution on `[low, high)`, drawn from `rng`.
    ///
    /// # Panics
    /// If `low >= high` or either is not finite.
    pub fn uniform(shape: &[usize], low: T, high: T, rng: &mut impl Rng) -> Self {
        let dist = Uniform::new(low.to_f64_lossless(), high.to_f64_lossless());
        Self::from_fn(shape, |_| T::from_f64_lossy(dist.sample(rng)))
    }

    /// N(0, 1) samples from a ChaCha8 stream seeded with `seed`: the same seed gives the same
    /// tensor on every platform.
    pub fn randn_seeded(shape: &[usize], seed: u64) -> Self {
        Self::randn(shape, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// The shape: the size of each axis, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements as a new `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.data.to_vec()
    }

    /// Row-major strides in elements (see [`shape::strides`]).
    pub fn strides(&self) -> Vec<usize> {
        shape::strides(&self.shape)
    }

    /// The only element of a one-element tensor (a scalar, `[1]`, `[1, 1]`, ...).
    ///
    /// # Panics
    /// If the tensor has more or fewer than one element.
    pub fn item(&self) -> T {
        assert_eq!(
            self.data.len(),
            1,
            "item: tensor of shape {:?} has {} elements, expected 1",
            self.shape,
            self.data.len()
        );
        self.data[0]
    }

    /// The row-major position of a multi-index.
    ///
    /// # Errors
    /// [`TensorError::IndexOutOfBounds`] if the index has the wrong rank or an entry is too large.
    pub fn offset(&self, index: &[usize]) -> Result<usize, TensorError> {
        let out_of_bounds = || TensorError::IndexOutOfBounds {
            index: index.to_vec(),
            shape: self.shape.clone(),
        };
        if index.len() != self.shape.len() {
            return Err(out_of_bounds());
        }
        let mut off = 0;
        for (&i, &n) in index.iter().zip(&self.shape) {
            if i >= n {
                return Err(out_of_bounds());
            }
            off = off * n + i;
        }
        Ok(off)
    }

    /// The element at a multi-index.
    ///
    /// # Errors
    /// As [`Tensor::offset`].
    pub fn get(&self, index: &[usize]) -> Result<T, TensorError> {
        Ok(self.data[self.offset(index)?])
    }

    /// The same data with another shape of as many elements; shares the buffer (no copy).
    ///
    /// # Errors
    /// [`TensorError::ReshapeMismatch`] if the element counts differ.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self, TensorError> {
        if shape::numel(shape) != self.numel() {
            return Err(TensorError::ReshapeMismatch {
                from: self.shape.clone(),
                to: shape.to_vec(),
            });
        }
        Ok(Tensor {
            data: Arc::clone(&self.data),
            shape: shape.to_vec(),
        })
    }

    /// A new tensor with `f` applied to every element.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Tensor {
            data: Arc::new(self.data.iter().map(|&x| f(x)).collect()),
            shape: self.shape.clone(),
        }
    }

    /// `f(a, b)` elementwise over two tensors of the same shape.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn zip_map(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        assert_eq!(
            self.shape, other.shape,
            "zip_map: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
        Tensor {
            data: Arc::new(
                self.data
                    .iter()
                    .zip(other.data.iter())
                    .map(|(&a, &b)| f(a, b))
                    .collect(),
            ),
            shape: self.shape.clone(),
        }
    }

    /// The tensor converted elementwise to another scalar type (`f32` <-> `f64`).
    pub fn cast<U: Scalar>(&self) -> Tensor<U> {
        Tensor {
            data: Arc::new(
                self.data
                    .iter()
                    .map(|&x| U::from_f64_lossy(x.to_f64_lossless()))
                    .collect(),
            ),
            shape: self.shape.clone(),
        }
    }

    /// The tensor with its axes reordered: axis `i` of the result is axis `perm[i]` of `self`.
    ///
    /// # Panics
    /// If `perm` is not a permutation of `0..rank`.
    pub fn permute(&self, perm: &[usize]) -> Self {
        check_permutation("permute", perm, &self.shape);
        let own = self.strides();
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let src_strides: Vec<usize> = perm.iter().map(|&p| own[p]).collect();
        Tensor::from_parts(
            "permute",
            strided::strided_copy(&self.data, &shape, &src_strides),
            shape,
        )
    }

    /// The tensor repeated along axes of size 1 (and new leading axes) to `shape`, as NumPy's
    /// `broadcast_to`, materialized.
    ///
    /// # Panics
    /// If the shape does not broadcast to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        if self.shape == shape {
            return self.clone();
        }
        let src = shape::broadcast_strides(&self.shape, shape);
        Tensor::from_parts(
            "broadcast_to",
            strided::strided_copy(&self.data, shape, &src),
            shape.to_vec(),
        )
    }

    /// The largest absolute elementwise difference from `other` (`max |a - b|`), for tests.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn max_abs_diff(&self, other: &Self) -> T {
        assert_eq!(self.shape, other.shape, "max_abs_diff: shapes differ");
        self.data
            .iter()
            .zip(other.data.iter())
            .fold(T::zero(), |m, (&a, &b)| m.max((a - b).abs()))
    }

    /// Mutable access to the elements when this tensor is the buffer's only owner (used to
    /// accumulate gradients in place).
    pub(crate) fn data_mut(&mut self) -> Option<&mut [T]> {
        Arc::get_mut(&mut self.data).map(Vec::as_mut_slice)
    }
}

/// Checks that `perm` is a permutation of `0..shape.len()`.
pub(crate) fn check_permutation(op: &str, perm: &[usize], shape: &[usize]) {
    let mut seen = vec![false; shape.len()];
    let ok = perm.len() == shape.len()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    assert!(
        ok,
        "{op}: {perm:?} is not a permutation of the axes of shape {shape:?}"
    );
}

impl<T: Scalar> From<T> for Tensor<T> {
    fn from(value: T) -> Self {
        Tensor::scalar(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_the_length() {
        let t = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.get(&[1, 2]).unwrap(), 6.0);
        let err = Tensor::<f32>::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shape [2, 3] has 6 elements but the data has 5"
        );
        assert!(t.get(&[2, 0]).is_err());
        assert!(t.get(&[0]).is_err());
    }

    #[test]
    fn constructors_and_queries() {
        let z = Tensor::<f64>::zeros(&[2, 2]);
        assert_eq!(z.data(), &[0.0; 4]);
        assert_eq!(Tensor::<f64>::ones(&[3]).data(), &[1.0; 3]);
        assert_eq!(Tensor::<f64>::arange(4).data(), &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(Tensor::scalar(2.5f32).rank(), 0);
        assert_eq!(Tensor::scalar(2.5f32).item(), 2.5);
        assert_eq!(Tensor::<f32>::full(&[2, 0], 1.0).numel(), 0);
    }

    #[test]
    fn seeded_random_tensors_repeat() {
        let a = Tensor::<f32>::randn_seeded(&[100], 7);
        assert_eq!(a, Tensor::<f32>::randn_seeded(&[100], 7));
        assert_ne!(a, Tensor::<f32>::randn_seeded(&[100], 8));
        let mean: f32 = a.data().iter().sum::<f32>() / 100.0;
        assert!(mean.abs() < 0.4, "mean {mean}");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let u = Tensor::<f64>::uniform(&[1000], -1.0, 2.0, &mut rng);
        assert!(u.data().iter().all(|&x| (-1.0..2.0).contains(&x)));
    }

    #[test]
    fn reshape_shares_and_permute_copies() {
        let t = Tensor::<f32>::arange(6).reshape(&[2, 3]).unwrap();
        assert!(t.reshape(&[4]).is_err());
        let p = t.permute(&[1, 0]);
        assert_eq!(p.shape(), &[3, 2]);
        assert_eq!(p.data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let b = Tensor::<f32>::arange(3).broadcast_to(&[2, 3]);
        assert_eq!(b.data(), &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "permute: [0, 0] is not a permutation")]
    fn permute_rejects_repeated_axes() {
        Tensor::<f32>::zeros(&[2, 2]).permute(&[0, 0]);
    }
}
