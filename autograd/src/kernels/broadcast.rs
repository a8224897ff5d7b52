//! Broadcasting kernels: a binary elementwise map over two shapes that broadcast (NumPy's rules),
//! and its adjoint, summing a gradient back down to an operand's shape.

use crate::kernels::{reduce, strided};
use crate::scalar::Scalar;
use crate::shape;
use crate::tensor::Tensor;

/// `out[i] = f(a[i'], b[i''])` over the broadcast shape of `a` and `b`, where `i'` and `i''` are
/// `i` with the broadcast axes of each operand pinned to 0.
///
/// # Panics
/// If the shapes do not broadcast, naming `op` and both shapes.
pub fn zip_broadcast<T: Scalar>(
    op: &str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    if a.shape() == b.shape() {
        let out = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(&x, &y)| f(x, y))
            .collect();
        return Tensor::from_parts(op, out, a.shape().to_vec());
    }
    let out_shape = shape::broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "{op}: shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        )
    });
    let sa = shape::broadcast_strides(a.shape(), &out_shape);
    let sb = shape::broadcast_strides(b.shape(), &out_shape);
    let (ad, bd) = (a.data(), b.data());
    let mut out = Vec::with_capacity(shape::numel(&out_shape));
    strided::for_each_run(&out_shape, [&sa, &sb], |[oa, ob], n, [ia, ib]| {
        // The four stride patterns of a run, each a simple loop the compiler vectorizes.
        match (ia, ib) {
            (1, 1) => out.extend(
                ad[oa..oa + n]
                    .iter()
                    .zip(&bd[ob..ob + n])
                    .map(|(&x, &y)| f(x, y)),
            ),
            (1, 0) => out.extend(ad[oa..oa + n].iter().map(|&x| f(x, bd[ob]))),
            (0, 1) => out.extend(bd[ob..ob + n].iter().map(|&y| f(ad[oa], y))),
            _ => out.extend((0..n).map(|j| f(ad[oa + j * ia], bd[ob + j * ib]))),
        }
    });
    Tensor::from_parts(op, out, out_shape)
}

/// Sums `g` over the axes along which a tensor of shape `target` was broadcast to `g`'s shape: the
/// adjoint of broadcasting. Returns `g` itself when the shapes already agree.
///
/// # Panics
/// If `target` does not broadcast to `g`'s shape.
pub fn sum_to_shape<T: Scalar>(g: &Tensor<T>, target: &[usize]) -> Tensor<T> {
    if g.shape() == target {
        return g.clone();
    }
    let strides = shape::broadcast_strides(target, g.shape());
    let mut out = vec![T::zero(); shape::numel(target)];
    accumulate_strided(&mut out, g.data(), g.shape(), &strides);
    Tensor::from_parts("sum_to_shape", out, target.to_vec())
}

/// `out[offset(i)] += src[i]` for every `i` of the contiguous `src` of shape `shape`, where `offset`
/// uses `out_strides` (0 along summed axes). The workhorse of sums over axes.
pub fn accumulate_strided<T: Scalar>(
    out: &mut [T],
    src: &[T],
    shape: &[usize],
    out_strides: &[usize],
) {
    let src_strides = shape::strides(shape);
    strided::for_each_run(shape, [out_strides, &src_strides], |[o, s], n, [io, _]| {
        let run = &src[s..s + n];
        if io == 0 {
            out[o] = out[o] + reduce::sum(run);
        } else if io == 1 {
            reduce::add_assign(&mut out[o..o + n], run);
        } else {
            for (j, &x) in run.iter().enumerate() {
                out[o + j * io] = out[o + j * io] + x;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_slice(data, shape).unwrap()
    }

    #[test]
    fn adds_a_row_and_a_column() {
        let col = t(&[10.0, 20.0], &[2, 1]);
        let row = t(&[1.0, 2.0, 3.0], &[3]);
        let s = zip_broadcast("add", &col, &row, |x, y| x + y);
        assert_eq!(s.shape(), &[2, 3]);
        assert_eq!(s.data(), &[11.0, 12.0, 13.0, 21.0, 22.0, 23.0]);
    }

    #[test]
    fn sum_to_shape_is_the_adjoint_of_broadcasting() {
        let g = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(sum_to_shape(&g, &[3]).data(), &[5.0, 7.0, 9.0]);
        assert_eq!(sum_to_shape(&g, &[2, 1]).data(), &[6.0, 15.0]);
        assert_eq!(sum_to_shape(&g, &[]).data(), &[21.0]);
        assert_eq!(sum_to_shape(&g, &[1, 1]).shape(), &[1, 1]);
    }

    #[test]
    #[should_panic(expected = "sub: shapes [3] and [4] do not broadcast")]
    fn mismatched_shapes_panic_with_both_shapes() {
        zip_broadcast("sub", &t(&[0.0; 3], &[3]), &t(&[0.0; 4], &[4]), |x, y| {
            x - y
        });
    }
}
