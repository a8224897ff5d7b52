//! Batched matrix products on `matrixmultiply`'s GEMM, with NumPy broadcasting of batch axes.

use crate::kernels::strided::for_each_run;
use crate::scalar::Scalar;
use crate::shape;

/// The geometry of `A @ B` (or `A @ B^T`) for `A: [..., m, k]` and `B: [..., k, n]` (`[..., n, k]`
/// when transposed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatmulGeometry {
    /// The broadcast batch shape.
    pub batch: Vec<usize>,
    /// `A`'s own batch shape.
    pub a_batch: Vec<usize>,
    /// `B`'s own batch shape.
    pub b_batch: Vec<usize>,
    /// Rows of `A` and of the result.
    pub m: usize,
    /// The contracted size.
    pub k: usize,
    /// Columns of the result.
    pub n: usize,
    /// Whether `B` is read transposed (`B` is `[..., n, k]`).
    pub transpose_b: bool,
}

impl MatmulGeometry {
    /// Checks that `a` and `b` can be multiplied and works out the shapes.
    ///
    /// # Errors
    /// A message naming both shapes when either has rank below 2, the inner sizes differ or the
    /// batch axes do not broadcast.
    pub fn new(a: &[usize], b: &[usize], transpose_b: bool) -> Result<Self, String> {
        let op = if transpose_b { "matmul_t" } else { "matmul" };
        if a.len() < 2 || b.len() < 2 {
            return Err(format!(
                "{op}: shapes {a:?} and {b:?} must both have at least 2 axes"
            ));
        }
        let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
        let (bk, n) = if transpose_b {
            (b[b.len() - 1], b[b.len() - 2])
        } else {
            (b[b.len() - 2], b[b.len() - 1])
        };
        if k != bk {
            return Err(format!(
                "{op}: shapes {a:?} and {b:?} do not match: {k} columns against {bk} rows"
            ));
        }
        let (a_batch, b_batch) = (a[..a.len() - 2].to_vec(), b[..b.len() - 2].to_vec());
        let batch = shape::broadcast_shapes(&a_batch, &b_batch).ok_or_else(|| {
            format!("{op}: batch axes of shapes {a:?} and {b:?} do not broadcast")
        })?;
        Ok(MatmulGeometry {
            batch,
            a_batch,
            b_batch,
            m,
            k,
            n,
            transpose_b,
        })
    }

    /// The result's shape, `[batch..., m, n]`.
    pub fn output_shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend([self.m, self.n]);
        s
    }

    /// Row and column strides of `B` as a `k x n` matrix.
    fn b_strides(&self) -> [isize; 2] {
        if self.transpose_b {
            [1, self.k as isize]
        } else {
            [self.n as isize, 1]
        }
    }

    /// Calls `f(a_offset, b_offset, c_offset)` for every batch entry, offsets in elements.
    fn for_each_batch(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (mk, kn, mn) = (self.m * self.k, self.k * self.n, self.m * self.n);
        let sa = shape::broadcast_strides(&self.a_batch, &self.batch);
        let sb = shape::broadcast_strides(&self.b_batch, &self.batch);
        let sc = shape::strides(&self.batch);
        for_each_run(
            &self.batch,
            [&sa, &sb, &sc],
            |[oa, ob, oc], len, [ia, ib, ic]| {
                for j in 0..len {
                    f((oa + j * ia) * mk, (ob + j * ib) * kn, (oc + j * ic) * mn);
                }
            },
        );
    }
}

/// `C = A B` (or `A B^T`) for every batch entry.
pub fn matmul_forward<T: Scalar>(g: &MatmulGeometry, a: &[T], b: &[T]) -> Vec<T> {
    let (m, k, n) = (g.m, g.k, g.n);
    let mut c = vec![T::zero(); shape::numel(&g.batch) * m * n];
    let bs = g.b_strides();
    g.for_each_batch(|oa, ob, oc| {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            &a[oa..],
            [k as isize, 1],
            &b[ob..],
            bs,
            T::zero(),
            &mut c[oc..],
            [n as isize, 1],
        );
    });
    c
}

/// `dA = dC B^T` (or `dC B`), summed over the batch entries that shared an `A`.
pub fn matmul_backward_a<T: Scalar>(g: &MatmulGeometry, b: &[T], dc: &[T]) -> Vec<T> {
    let (m, k, n) = (g.m, g.k, g.n);
    let mut da = vec![T::zero(); shape::numel(&g.a_batch) * m * k];
    let [rb, cb] = g.b_strides();
    g.for_each_batch(|oa, ob, oc| {
        // B^T as an n x k matrix: swap B's strides.
        T::gemm(
            m,
            n,
            k,
            T::one(),
            &dc[oc..],
            [n as isize, 1],
            &b[ob..],
            [cb, rb],
            T::one(),
            &mut da[oa..],
            [k as isize, 1],
        );
    });
    da
}

/// `dB = A^T dC` (or its transpose `dC^T A` when `B` is read transposed), summed over the batch
/// entries that shared a `B`.
pub fn matmul_backward_b<T: Scalar>(g: &MatmulGeometry, a: &[T], dc: &[T]) -> Vec<T> {
    let (m, k, n) = (g.m, g.k, g.n);
    let mut db = vec![T::zero(); shape::numel(&g.b_batch) * k * n];
    // dB as a k x n matrix is A^T dC; written through B's own strides it lands transposed when
    // B is stored as [n, k].
    let bs = g.b_strides();
    g.for_each_batch(|oa, ob, oc| {
        T::gemm(
            k,
            m,
            n,
            T::one(),
            &a[oa..],
            [1, k as isize],
            &dc[oc..],
            [n as isize, 1],
            T::one(),
            &mut db[ob..],
            bs,
        );
    });
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_checks_shapes() {
        let g = MatmulGeometry::new(&[2, 1, 3, 4], &[5, 4, 6], false).unwrap();
        assert_eq!(g.output_shape(), vec![2, 5, 3, 6]);
        let err = MatmulGeometry::new(&[3, 4], &[5, 6], false).unwrap_err();
        assert_eq!(
            err,
            "matmul: shapes [3, 4] and [5, 6] do not match: 4 columns against 5 rows"
        );
        assert!(MatmulGeometry::new(&[4], &[4, 2], false).is_err());
        assert!(MatmulGeometry::new(&[2, 3, 4], &[3, 4, 2], false).is_err());
        assert_eq!(
            MatmulGeometry::new(&[3, 4], &[6, 4], true)
                .unwrap()
                .output_shape(),
            vec![3, 6]
        );
    }

    #[test]
    fn small_products() {
        let a = [1.0f64, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
        let b = [5.0f64, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
        let g = MatmulGeometry::new(&[2, 2], &[2, 2], false).unwrap();
        assert_eq!(matmul_forward(&g, &a, &b), vec![19.0, 22.0, 43.0, 50.0]);
        let gt = MatmulGeometry::new(&[2, 2], &[2, 2], true).unwrap();
        assert_eq!(matmul_forward(&gt, &a, &b), vec![17.0, 23.0, 39.0, 53.0]);
    }
}
