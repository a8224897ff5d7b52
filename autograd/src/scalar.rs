//! The element types a [`Tensor`](crate::Tensor) can hold: `f32` for work, `f64` for gradient checks.

use std::fmt::{Debug, Display};
use std::iter::Sum;

use num_traits::{Float, FromPrimitive, ToPrimitive};

/// A floating-point element type with a matrix-multiply kernel.
///
/// Implemented for `f32` (the working precision) and `f64` (used by [`crate::check`], where central
/// differences need the extra digits). The GEMM hook lets every kernel that lowers to a matrix product
/// (matmul, conv2d) call the right `matrixmultiply` routine without knowing the type.
pub trait Scalar:
    Float + FromPrimitive + ToPrimitive + Sum + Default + Send + Sync + Debug + Display + 'static
{
    /// The type's name as NumPy and safetensors spell it (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// `C <- alpha * A B + beta * C` for an `m x k` matrix `A`, a `k x n` matrix `B` and an `m x n`
    /// matrix `C`, each addressed by a row stride and a column stride (in elements), so a transposed
    /// operand costs nothing: swap its strides.
    ///
    /// # Panics
    /// If a stride is negative or an operand's slice is too short for its shape and strides. With
    /// `beta == 0`, `C` is overwritten and its old contents (even NaN) are ignored.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: [isize; 2],
        b: &[Self],
        b_strides: [isize; 2],
        beta: Self,
        c: &mut [Self],
        c_strides: [isize; 2],
    );

    /// Converts an `f64` constant, such as a hyper-parameter, to this type.
    fn from_f64_lossy(x: f64) -> Self {
        <Self as FromPrimitive>::from_f64(x).expect("every f64 converts to a float type")
    }

    /// Converts to `f64` (exact for `f32` and `f64`).
    fn to_f64_lossless(self) -> f64 {
        ToPrimitive::to_f64(&self).expect("a float type converts to f64")
    }

    /// The error function `erf x = (2 / sqrt(pi)) int_0^x e^(-t^2) dt`, whose derivative is
    /// `(2 / sqrt(pi)) e^(-x^2)`.
    ///
    /// `num_traits::Float` has no `erf`, and `std` has none on stable, so this calls the `libm`
    /// crate (`erf` for `f64`, `erff` for `f32`): a pure-Rust port of the FreeBSD/musl `msun`
    /// routines (rational approximations on five intervals, with error under 1 ulp), the same
    /// family of code glibc and PyTorch's CPU kernels (`std::erf`) use, maintained by the
    /// rust-lang project as the math library of `compiler-builtins`. No `unsafe` and no C.
    fn erf(self) -> Self;
}

/// Checks that a strided `rows x cols` matrix fits in a slice of length `len`.
fn check_operand(name: &str, len: usize, rows: usize, cols: usize, strides: [isize; 2]) {
    assert!(
        strides[0] >= 0 && strides[1] >= 0,
        "gemm: operand {name} has negative strides {strides:?}"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1) * strides[0] as usize + (cols - 1) * strides[1] as usize;
    assert!(
        last < len,
        "gemm: operand {name} of {rows}x{cols} with strides {strides:?} needs {} elements, found {len}",
        last + 1
    );
}

macro_rules! impl_scalar {
    ($t:ty, $name:literal, $gemm:path, $erf:path) => {
        impl Scalar for $t {
            const NAME: &'static str = $name;

            fn erf(self) -> Self {
                $erf(self)
            }

            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                a_strides: [isize; 2],
                b: &[Self],
                b_strides: [isize; 2],
                beta: Self,
                c: &mut [Self],
                c_strides: [isize; 2],
            ) {
                check_operand("A", a.len(), m, k, a_strides);
                check_operand("B", b.len(), k, n, b_strides);
                check_operand("C", c.len(), m, n, c_strides);
                if m == 0 || n == 0 {
                    return;
                }
                // SAFETY: `check_operand` proved that every element the kernel addresses, at
                // row * row_stride + col * col_stride for rows < m (or k) and cols < k (or n), lies
                // inside its slice; C is borrowed mutably, so it cannot alias A or B.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        a_strides[0],
                        a_strides[1],
                        b.as_ptr(),
                        b_strides[0],
                        b_strides[1],
                        beta,
                        c.as_mut_ptr(),
                        c_strides[0],
                        c_strides[1],
                    );
                }
            }
        }
    };
}

// The project's own f32 GEMM (AVX-512 where the CPU has it, `matrixmultiply` elsewhere) is
// opt-in until its speed is measured on an idle machine: it rounds differently from
// `matrixmultiply`, so turning it on changes every f32 result once (the demo's trained models and
// metrics among them), and that change should buy a measured speed-up.
#[cfg(feature = "avx512-gemm")]
impl_scalar!(f32, "f32", crate::kernels::gemm::sgemm, libm::erff);
#[cfg(not(feature = "avx512-gemm"))]
impl_scalar!(f32, "f32", matrixmultiply::sgemm, libm::erff);
impl_scalar!(f64, "f64", matrixmultiply::dgemm, libm::erf);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_hand_product_and_transposed_strides() {
        // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]] -> AB = [[4, 5], [10, 11]].
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0f64; 4];
        f64::gemm(2, 3, 2, 1.0, &a, [3, 1], &b, [2, 1], 0.0, &mut c, [2, 1]);
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // A^T A through swapped strides: [[17, 22, 27], [22, 29, 36], [27, 36, 45]].
        let mut d = [0.0f32; 9];
        let af: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        f32::gemm(3, 2, 3, 1.0, &af, [1, 3], &af, [3, 1], 0.0, &mut d, [3, 1]);
        assert_eq!(d, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
    }

    #[test]
    fn erf_matches_reference_values() {
        // Reference values from Python's `math.erf` (glibc), correctly rounded here.
        assert_eq!(Scalar::erf(0.0f64), 0.0);
        assert!((Scalar::erf(1.0f64) - 0.842_700_792_949_714_9).abs() <= 1e-16);
        assert!((Scalar::erf(-0.5f64) + 0.520_499_877_813_046_5).abs() <= 1e-16);
        assert!((Scalar::erf(3.0f64) - 0.999_977_909_503_001_4).abs() <= 1e-16);
        assert_eq!(Scalar::erf(10.0f64), 1.0);
        assert!((Scalar::erf(1.0f32) - 0.842_700_8).abs() <= 1e-7);
    }

    #[test]
    fn gemm_beta_zero_ignores_nan_in_output() {
        let mut c = [f32::NAN];
        f32::gemm(
            1,
            1,
            1,
            1.0,
            &[2.0],
            [1, 1],
            &[3.0],
            [1, 1],
            0.0,
            &mut c,
            [1, 1],
        );
        assert_eq!(c, [6.0]);
    }

    #[test]
    #[should_panic(expected = "gemm: operand B of 3x2")]
    fn gemm_rejects_short_operand() {
        let mut c = [0.0f32; 4];
        f32::gemm(
            2,
            3,
            2,
            1.0,
            &[0.0; 6],
            [3, 1],
            &[0.0; 5],
            [2, 1],
            0.0,
            &mut c,
            [2, 1],
        );
    }
}
