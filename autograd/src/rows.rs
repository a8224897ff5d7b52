//! Row-wise helpers on batches: [`argmax`] (the position of a row's maximum, for predictions and
//! the pointing game) and [`Tensor::select_rows`] (a batch's rows, by index or range).

use std::borrow::Borrow;

use crate::{Scalar, Tensor};

/// The index of the maximum of `values`: the **first** maximum on ties, and the **first NaN** if
/// any value is NaN; `None` only when `values` is empty.
///
/// NaN wins because NaN is the maximum this crate's `max` reduction returns for such values (a
/// reduction over a NaN is NaN), so `values[argmax(values)]` is always the element `max` gives,
/// bit for bit; NumPy's `argmax`, PyTorch's `argmax` and Julia's `findmax` follow the same rule.
/// Skipping NaN instead would hand back a confident-looking index computed from broken scores.
/// A caller for whom a NaN makes the answer meaningless (a classifier's prediction, the peak of a
/// saliency map) checks `values[i].is_nan()` on the result and refuses. Infinities are ordinary
/// values: `[-inf, -inf]` gives 0.
///
/// ```
/// use smoothgrad_autograd::argmax;
///
/// assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
/// assert_eq!(argmax(&[1.0, f32::NAN, 3.0, f32::NAN]), Some(1));
/// assert_eq!(argmax::<f64>(&[]), None);
/// ```
pub fn argmax<T: Scalar>(values: &[T]) -> Option<usize> {
    let (first, rest) = values.split_first()?;
    let mut best = (0, *first);
    for (i, &v) in rest.iter().enumerate() {
        if best.1.is_nan() {
            break;
        }
        if v > best.1 || v.is_nan() {
            best = (i + 1, v);
        }
    }
    Some(best.0)
}

impl<T: Scalar> Tensor<T> {
    /// The rows `indices` of `self: [N, ...]` (indices along axis 0), in that order, repeats
    /// allowed, as a new tensor `[indices.len(), ...]`. Takes indices by value or by reference
    /// (`[2, 0, 2]`, a `&[usize]`, a `&Vec<usize>`) or a range (`1..3`, a contiguous batch).
    ///
    /// ```
    /// use smoothgrad_autograd::Tensor;
    ///
    /// let x = Tensor::<f32>::arange(6).reshape(&[3, 2]).unwrap();
    /// assert_eq!(x.select_rows([2, 0]).data(), &[4., 5., 0., 1.]);
    /// assert_eq!(x.select_rows(1..3).shape(), &[2, 2]);
    /// ```
    ///
    /// # Panics
    /// If `self` is a scalar or an index is `>= N`.
    pub fn select_rows<I>(&self, indices: I) -> Tensor<T>
    where
        I: IntoIterator,
        I::Item: Borrow<usize>,
    {
        assert!(
            self.rank() > 0,
            "select_rows: x must be [N, ...], found a scalar"
        );
        let n = self.shape()[0];
        let row = self.numel().checked_div(n).unwrap_or(0);
        let indices = indices.into_iter();
        let mut data = Vec::with_capacity(indices.size_hint().0 * row);
        let mut rows = 0;
        for i in indices {
            let i = *i.borrow();
            assert!(i < n, "select_rows: row {i} is out of range for {n} rows");
            data.extend_from_slice(&self.data()[i * row..(i + 1) * row]);
            rows += 1;
        }
        let mut shape = self.shape().to_vec();
        shape[0] = rows;
        Tensor::from_vec(data, &shape).expect("rows of x fill the shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
        assert_eq!(argmax(&[5.0f32]), Some(0));
        assert_eq!(argmax(&[-2.0, -1.0, -1.0]), Some(1));
        assert_eq!(argmax(&[f64::NEG_INFINITY; 3]), Some(0));
        assert_eq!(argmax(&[1.0, f64::INFINITY, f64::INFINITY]), Some(1));
    }

    #[test]
    fn argmax_takes_the_first_nan_wherever_it_is() {
        let nan = f64::NAN;
        assert_eq!(argmax(&[nan, -1.0, 2.0]), Some(0));
        assert_eq!(argmax(&[1.0, nan, 3.0, nan]), Some(1));
        assert_eq!(argmax(&[1.0, 3.0, nan]), Some(2));
        assert_eq!(argmax(&[f32::NAN; 4]), Some(0));
        // The element found is the one the max reduction returns.
        let v = [1.0, 3.0, nan];
        assert!(v[argmax(&v).unwrap()].is_nan());
    }

    #[test]
    fn argmax_of_nothing_is_none() {
        assert_eq!(argmax::<f32>(&[]), None);
    }

    #[test]
    fn select_rows_takes_rows_in_order() {
        let x = Tensor::<f32>::arange(12).reshape(&[3, 2, 2]).unwrap();
        let indices: &[usize] = &[2, 0, 2];
        let y = x.select_rows(indices);
        assert_eq!(y.shape(), &[3, 2, 2]);
        assert_eq!(
            y.data(),
            &[8., 9., 10., 11., 0., 1., 2., 3., 8., 9., 10., 11.]
        );
        let v = vec![1usize];
        assert_eq!(x.select_rows(&v).data(), &[4., 5., 6., 7.]);
    }

    #[test]
    fn select_rows_takes_a_range() {
        let x = Tensor::<f64>::arange(8).reshape(&[4, 2]).unwrap();
        assert_eq!(x.select_rows(1..3).data(), &[2., 3., 4., 5.]);
        assert_eq!(x.select_rows(2..2).shape(), &[0, 2]);
        let empty = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(empty.select_rows(0..0).shape(), &[0, 3]);
        let no_columns = Tensor::<f64>::zeros(&[3, 0]);
        assert_eq!(no_columns.select_rows([2, 1]).shape(), &[2, 0]);
    }

    #[test]
    #[should_panic(expected = "select_rows: row 3 is out of range for 3 rows")]
    fn select_rows_rejects_a_row_out_of_range() {
        Tensor::<f32>::zeros(&[3, 2]).select_rows([0, 3]);
    }

    #[test]
    #[should_panic(expected = "select_rows: x must be [N, ...], found a scalar")]
    fn select_rows_rejects_a_scalar() {
        Tensor::scalar(1.0f32).select_rows([0]);
    }
}
