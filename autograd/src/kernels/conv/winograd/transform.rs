//! The Winograd minimal-filtering transforms `F(m x m, 3 x 3)` and their lane-wise (SIMD-friendly)
//! application to whole tiles.
//!
//! A 1-D `F(m, 3)` computes `m` outputs of a 3-tap correlation, `y_a = sum_p g_p d_(a+p)`, from an
//! input window `d` of `m + 2` values as `y = A^T [(G g) . (B^T d)]` (`.` elementwise): `m + 2`
//! multiplications instead of `3m`. Nesting it gives the 2-D tile transform
//! `Y = A^T [(G g G^T) . (B^T d B)] A` for an `(m+2) x (m+2)` input tile `d` and a 3x3 kernel `g`.
//! Each matrix is applied as straight-line adds and multiplies by small constants (written out
//! below, in [`Tiling`]'s implementations), never as a dense product.

use crate::scalar::Scalar;

/// One Winograd algorithm `F(M x M, 3 x 3)` with input tiles of side `A = M + 2`: its three 1-D
/// transforms (each nests into the 2-D one by rows then columns).
pub(crate) trait Tiling<const M: usize, const A: usize> {
    /// `B^T d`: an input window of `A` values to the `A` transformed values.
    fn input<T: Scalar>(d: [T; A]) -> [T; A];
    /// `G g`: a 3-tap kernel to its `A` transformed values.
    fn kernel<T: Scalar>(g: [T; 3]) -> [T; A];
    /// `A^T m`: the `A` elementwise products back to `M` outputs.
    fn output<T: Scalar>(m: [T; A]) -> [T; M];
}

/// `F(4x4, 3x3)` with interpolation points `0, 1, -1, 2, -2, inf` (Lavin and Gray, 2016): 36
/// multiplications per 16 outputs instead of 144.
pub(crate) struct F4x4;

/// `F(2x2, 3x3)` with points `0, 1, -1, inf`: 16 multiplications per 4 outputs instead of 36.
pub(crate) struct F2x2;

fn k<T: Scalar>(c: f64) -> T {
    T::from_f64_lossy(c)
}

impl Tiling<4, 6> for F4x4 {
    /// `B^T` rows: `[4 0 -5 0 1 0]`, `[0 -4 -4 1 1 0]`, `[0 4 -4 -1 1 0]`, `[0 -2 -1 2 1 0]`,
    /// `[0 2 -1 -2 1 0]`, `[0 4 0 -5 0 1]`.
    #[inline(always)]
    fn input<T: Scalar>([d0, d1, d2, d3, d4, d5]: [T; 6]) -> [T; 6] {
        let (two, four, five) = (k::<T>(2.0), k::<T>(4.0), k::<T>(5.0));
        // Shared partial sums: rows 1/2 and 3/4 differ only in the sign of one part.
        let (a, b) = (d4 - four * d2, four * d1 - d3);
        let (c, e) = (d4 - d2, two * (d1 - d3));
        [
            four * d0 - five * d2 + d4,
            a - b,
            a + b,
            c - e,
            c + e,
            four * d1 - five * d3 + d5,
        ]
    }

    /// `G` rows: `[1/4 0 0]`, `[-1/6 -1/6 -1/6]`, `[-1/6 1/6 -1/6]`, `[1/24 1/12 1/6]`,
    /// `[1/24 -1/12 1/6]`, `[0 0 1]`.
    #[inline(always)]
    fn kernel<T: Scalar>([g0, g1, g2]: [T; 3]) -> [T; 6] {
        let (sixth, twelfth, quarter) = (k::<T>(1.0 / 6.0), k::<T>(1.0 / 12.0), k::<T>(0.25));
        let (even, odd) = (g0 + g2, g1);
        let even24 = g0 * k::<T>(1.0 / 24.0) + g2 * sixth;
        [
            g0 * quarter,
            -(even + odd) * sixth,
            -(even - odd) * sixth,
            even24 + odd * twelfth,
            even24 - odd * twelfth,
            g2,
        ]
    }

    /// `A^T` rows: `[1 1 1 1 1 0]`, `[0 1 -1 2 -2 0]`, `[0 1 1 4 4 0]`, `[0 1 -1 8 -8 1]`.
    #[inline(always)]
    fn output<T: Scalar>([m0, m1, m2, m3, m4, m5]: [T; 6]) -> [T; 4] {
        let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
        [
            m0 + s12 + s34,
            d12 + k::<T>(2.0) * d34,
            s12 + k::<T>(4.0) * s34,
            d12 + k::<T>(8.0) * d34 + m5,
        ]
    }
}

impl Tiling<2, 4> for F2x2 {
    /// `B^T` rows: `[1 0 -1 0]`, `[0 1 1 0]`, `[0 -1 1 0]`, `[0 1 0 -1]`.
    #[inline(always)]
    fn input<T: Scalar>([d0, d1, d2, d3]: [T; 4]) -> [T; 4] {
        [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
    }

    /// `G` rows: `[1 0 0]`, `[1/2 1/2 1/2]`, `[1/2 -1/2 1/2]`, `[0 0 1]`.
    #[inline(always)]
    fn kernel<T: Scalar>([g0, g1, g2]: [T; 3]) -> [T; 4] {
        let half = k::<T>(0.5);
        [g0, (g0 + g1 + g2) * half, (g0 - g1 + g2) * half, g2]
    }

    /// `A^T` rows: `[1 1 1 0]`, `[0 1 -1 -1]`.
    #[inline(always)]
    fn output<T: Scalar>([m0, m1, m2, m3]: [T; 4]) -> [T; 2] {
        [m0 + m1 + m2, m1 - m2 - m3]
    }
}

/// Applies `f` to `L` independent lanes: `out[k][x] = f([d[0][x], .., d[N-1][x]])[k]`. A plain
/// loop over `x` with unit-stride rows, which the compiler vectorizes.
#[inline(always)]
fn lanes<T: Scalar, const N: usize, const K: usize, const L: usize>(
    d: &[[T; L]; N],
    f: impl Fn([T; N]) -> [T; K],
) -> [[T; L]; K] {
    let mut out = [[T::zero(); L]; K];
    for x in 0..L {
        let mut v = [T::zero(); N];
        for (vj, dj) in v.iter_mut().zip(d) {
            *vj = dj[x];
        }
        for (o, r) in out.iter_mut().zip(f(v)) {
            o[x] = r;
        }
    }
    out
}

/// `L` consecutive values of `s` from `at`.
#[inline(always)]
fn load<T: Scalar, const L: usize>(s: &[T], at: usize) -> [T; L] {
    s[at..at + L].try_into().expect("L values")
}

/// The input transform `V = B^T d B` of one tile for `L` channels at once.
///
/// Pixel `(i, j)` of the tile, channel lane `x`, is `src[at + i*row + j*step + x]` (channels
/// innermost); transformed position `(k, l)` goes to `dst[(k*A + l) * pos + x]`.
// The loop index picks the inner dimension of a transposed array, not the iterated one.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) fn input_tile<
    T: Scalar,
    W: Tiling<M, A>,
    const M: usize,
    const A: usize,
    const L: usize,
>(
    src: &[T],
    [at, row, step]: [usize; 3],
    dst: &mut [T],
    pos: usize,
) {
    // rows[l][i] = (d B)[i][l]: each tile row transformed.
    let mut rows = [[[T::zero(); L]; A]; A];
    for i in 0..A {
        let mut d = [[T::zero(); L]; A];
        for (j, dj) in d.iter_mut().enumerate() {
            *dj = load(src, at + i * row + j * step);
        }
        for (l, r) in lanes(&d, W::input).into_iter().enumerate() {
            rows[l][i] = r;
        }
    }
    for (l, col) in rows.iter().enumerate() {
        for (kk, v) in lanes(col, W::input).into_iter().enumerate() {
            dst[(kk * A + l) * pos..][..L].copy_from_slice(&v);
        }
    }
}

/// The output transform `Y = A^T m A` of one tile for `L` channels at once: transformed position
/// `(k, l)`, lane `x` is `src[(k*A + l) * pos + x]`; returns `Y[a][b][x]`.
// The loop index picks the inner dimension of a transposed array, not the iterated one.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) fn output_tile<
    T: Scalar,
    W: Tiling<M, A>,
    const M: usize,
    const A: usize,
    const L: usize,
>(
    src: &[T],
    pos: usize,
) -> [[[T; L]; M]; M] {
    // cols[b][k] = (m A)[k][b]: each transformed row reduced.
    let mut cols = [[[T::zero(); L]; A]; M];
    for kk in 0..A {
        let mut m = [[T::zero(); L]; A];
        for (l, ml) in m.iter_mut().enumerate() {
            *ml = load(src, (kk * A + l) * pos);
        }
        for (b, r) in lanes(&m, W::output).into_iter().enumerate() {
            cols[b][kk] = r;
        }
    }
    let mut y = [[[T::zero(); L]; M]; M];
    for (b, col) in cols.iter().enumerate() {
        for (a, v) in lanes(col, W::output).into_iter().enumerate() {
            y[a][b] = v;
        }
    }
    y
}

/// The kernel transform `U = G g G^T` for `L` kernels at once: tap `(p, q)` of lane `x` is
/// `g[p*3 + q][x]`; transformed position `(k, l)` goes to `dst[(k*A + l) * pos + x]`.
#[inline(always)]
pub(super) fn kernel_tile<
    T: Scalar,
    W: Tiling<M, A>,
    const M: usize,
    const A: usize,
    const L: usize,
>(
    g: &[[T; L]; 9],
    dst: &mut [T],
    pos: usize,
) {
    let mut rows = [[[T::zero(); L]; 3]; A];
    for p in 0..3 {
        let taps = [g[p * 3], g[p * 3 + 1], g[p * 3 + 2]];
        for (l, r) in lanes(&taps, W::kernel).into_iter().enumerate() {
            rows[l][p] = r;
        }
    }
    for (l, col) in rows.iter().enumerate() {
        for (kk, v) in lanes(col, W::kernel).into_iter().enumerate() {
            dst[(kk * A + l) * pos..][..L].copy_from_slice(&v);
        }
    }
}
