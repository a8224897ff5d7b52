//! `Display` and `Debug` for tensors, laid out as NumPy prints arrays.
//!
//! `[[1. 2.]\n [3. 4.]]`: elements right-aligned to a common width, integers with a trailing dot,
//! one line per innermost row, a blank line between blocks of rank 3 and more. Tensors with more
//! than 1000 elements are summarized with `...`, keeping three items at each end of every axis, as
//! NumPy does. A precision (`{:.3}`) fixes the digits after the point.

use std::fmt;

use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Above this many elements, print only the edges of each axis (NumPy's `threshold`).
const THRESHOLD: usize = 1000;
/// Items kept at each end of a summarized axis (NumPy's `edgeitems`).
const EDGE_ITEMS: usize = 3;

fn format_element<T: Scalar>(x: T, precision: Option<usize>) -> String {
    if let Some(p) = precision {
        return format!("{x:.p$}");
    }
    let s = format!("{x}");
    if x.is_finite() && !s.contains(['.', 'e', 'E']) {
        format!("{s}.")
    } else {
        s
    }
}

/// The indices printed along an axis of size `n`: all, or the edges with `None` for the gap.
fn shown(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - EDGE_ITEMS..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    }
}

struct Printer<'a, T: Scalar> {
    tensor: &'a Tensor<T>,
    strides: Vec<usize>,
    cells: Vec<String>,
    width: usize,
    summarize: bool,
    precision: Option<usize>,
}

impl<T: Scalar> Printer<'_, T> {
    fn write(&self, f: &mut fmt::Formatter<'_>, axis: usize, offset: usize) -> fmt::Result {
        let shape = self.tensor.shape();
        if axis == shape.len() {
            let cell = format_element(self.tensor.data()[offset], self.precision);
            return write!(f, "{cell:>w$}", w = self.width);
        }
        f.write_str("[")?;
        let rank = shape.len();
        for (k, i) in shown(shape[axis], self.summarize).into_iter().enumerate() {
            if k > 0 {
                if axis + 1 == rank {
                    f.write_str(" ")?;
                } else {
                    f.write_str(&"\n".repeat(rank - axis - 1))?;
                    f.write_str(&" ".repeat(axis + 1))?;
                }
            }
            match i {
                Some(i) => self.write(f, axis + 1, offset + i * self.strides[axis])?,
                None => f.write_str("...")?,
            }
        }
        f.write_str("]")
    }

    /// Collects the printed cells first, so every element is padded to the widest one.
    fn collect(&mut self, axis: usize, offset: usize) {
        let shape = self.tensor.shape();
        if axis == shape.len() {
            let cell = format_element(self.tensor.data()[offset], self.precision);
            self.width = self.width.max(cell.len());
            self.cells.push(cell);
            return;
        }
        for i in shown(shape[axis], self.summarize).into_iter().flatten() {
            self.collect(axis + 1, offset + i * self.strides[axis]);
        }
    }
}

impl<T: Scalar> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = Printer {
            tensor: self,
            strides: self.strides(),
            cells: Vec::new(),
            width: 0,
            summarize: self.numel() > THRESHOLD,
            precision: f.precision(),
        };
        if self.numel() == 0 {
            return write!(f, "[]");
        }
        p.collect(0, 0);
        p.write(f, 0, 0)
    }
}

impl<T: Scalar> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{:?}\n{}", T::NAME, self.shape(), self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn prints_like_numpy() {
        let t = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 40.0], &[2, 2]).unwrap();
        assert_eq!(t.to_string(), "[[ 1.  2.]\n [ 3. 40.]]");
        let v = Tensor::<f64>::from_vec(vec![0.5, -1.25], &[2]).unwrap();
        assert_eq!(v.to_string(), "[  0.5 -1.25]");
        assert_eq!(format!("{v:.1}"), "[ 0.5 -1.2]");
        assert_eq!(Tensor::scalar(3.0f32).to_string(), "3.");
        let cube = Tensor::<f32>::arange(8).reshape(&[2, 2, 2]).unwrap();
        assert_eq!(
            cube.to_string(),
            "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]"
        );
    }

    #[test]
    fn summarizes_large_tensors() {
        let t = Tensor::<f32>::arange(2000);
        assert_eq!(t.to_string(), "[   0.    1.    2. ... 1997. 1998. 1999.]");
        assert_eq!(Tensor::<f32>::zeros(&[0, 3]).to_string(), "[]");
    }
}
