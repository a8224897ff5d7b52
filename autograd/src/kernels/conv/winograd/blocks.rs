//! The tile grid of one Winograd convolution and the two passes over a block of tiles: input
//! tiles into the transformed block (through a padded channel-last copy of each sample), and the
//! GEMMs' products back into output tiles. Both are compiled twice, for baseline x86-64 and for
//! AVX2 (chosen at run time), like the depthwise kernels: the transforms are vectorized across
//! channels, and AVX2 handles a chunk of [`LANES`] channels in one register instead of two.

use super::transform::{input_tile, output_tile, Tiling};
use super::Problem;
use crate::scalar::Scalar;
use std::array::from_fn;

/// Channels the transforms process at once (the rest one by one).
pub(super) const LANES: usize = 8;

/// Bytes of transformed input and products one block of tiles should occupy (within L2).
const BLOCK_BYTES: usize = 1 << 20;

/// Tiles per block: [`BLOCK_BYTES`] of `A^2 (C + O)` values per tile, a multiple of 8 within
/// `16..=512`.
pub(super) fn block_tiles<T>(positions: usize, cin: usize, cout: usize) -> usize {
    let per_tile = positions * (cin + cout) * std::mem::size_of::<T>();
    (BLOCK_BYTES / per_tile).clamp(16, 512) / 8 * 8
}

/// Calls `f(c0, true)` for each chunk of [`LANES`] channels in `0..n`, then `f(c, false)` for
/// each remaining channel.
#[inline(always)]
pub(super) fn by_lanes(n: usize, mut f: impl FnMut(usize, bool)) {
    let full = n / LANES * LANES;
    (0..full).step_by(LANES).for_each(|c| f(c, true));
    (full..n).for_each(|c| f(c, false));
}

/// The tiles of a convolution with `M x M` output tiles and `A x A` input windows: `th x tw` per
/// sample, numbered across the batch as `t = (sample * th + ty) * tw + tx`, in blocks of `block`.
pub(super) struct Grid {
    pub(super) th: usize,
    pub(super) tw: usize,
    /// Rows and columns of a padded sample (`th M + A - M`, `tw M + A - M`).
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// Tiles per block.
    pub(super) block: usize,
}

impl Grid {
    pub(super) fn new<T, const M: usize, const A: usize>(p: &Problem) -> Self {
        let (th, tw) = (p.oh.div_ceil(M), p.ow.div_ceil(M));
        Grid {
            th,
            tw,
            rows: th * M + A - M,
            cols: tw * M + A - M,
            block: block_tiles::<T>(A * A, p.cin, p.cout),
        }
    }

    /// The sample and tile row and column of tile `t`.
    fn locate(&self, t: usize) -> (usize, usize, usize) {
        let per_sample = self.th * self.tw;
        let r = t % per_sample;
        (t / per_sample, r / self.tw, r % self.tw)
    }
}

/// The state of the input pass: one sample's padded channel-last copy (zeroed once: every
/// sample writes the same interior) and which sample it holds.
pub(super) struct Padded<T> {
    buf: Vec<T>,
    sample: Option<usize>,
}

impl<T: Scalar> Padded<T> {
    pub(super) fn new(p: &Problem, grid: &Grid) -> Self {
        Padded {
            buf: vec![T::zero(); grid.rows * grid.cols * p.cin],
            sample: None,
        }
    }

    /// Makes `buf` hold sample `s` of `x` (`[n][cin][h][w]`): `buf[(r, q), c] =
    /// x[s, c, r - pad_h, q - pad_w]` where that pixel is in the image.
    #[inline(always)]
    fn load(&mut self, p: &Problem, grid: &Grid, x: &[T], s: usize) {
        if self.sample == Some(s) {
            return;
        }
        self.sample = Some(s);
        let (cin, plane) = (p.cin, p.h * p.w);
        let x = &x[s * cin * plane..][..cin * plane];
        // Padded rows r0..r1 hold image rows from y0, columns q0..q1 image columns from x0.
        let span = |pad: isize, size: usize, len: usize| {
            let lo = pad.max(0) as usize;
            let hi = (pad + size as isize).clamp(0, len as isize) as usize;
            (lo.min(hi), hi, (lo as isize - pad) as usize)
        };
        let (r0, r1, y0) = span(p.pad[0], p.h, grid.rows);
        let (q0, q1, x0) = span(p.pad[1], p.w, grid.cols);
        let (width, full) = (q1 - q0, cin / LANES * LANES);
        for r in r0..r1 {
            let src = (y0 + r - r0) * p.w + x0;
            let dst = &mut self.buf[(r * grid.cols + q0) * cin..][..width * cin];
            // Blocks of 8 pixels x 8 channels: 8 row loads, 8 pixel stores.
            let mut q = 0;
            while q + LANES <= width {
                for c0 in (0..full).step_by(LANES) {
                    let mut blk = [[T::zero(); LANES]; LANES];
                    for (k, b) in blk.iter_mut().enumerate() {
                        b.copy_from_slice(&x[(c0 + k) * plane + src + q..][..LANES]);
                    }
                    for (j, d) in dst[q * cin..].chunks_exact_mut(cin).take(LANES).enumerate() {
                        let v: [T; LANES] = from_fn(|k| blk[k][j]);
                        d[c0..c0 + LANES].copy_from_slice(&v);
                    }
                }
                for c in full..cin {
                    for j in q..q + LANES {
                        dst[j * cin + c] = x[c * plane + src + j];
                    }
                }
                q += LANES;
            }
            for j in q..width {
                for c in 0..cin {
                    dst[j * cin + c] = x[c * plane + src + j];
                }
            }
        }
    }
}

/// The input pass over the block of `len` tiles from `t0`: `v[t - t0][(k, l)][c]` (stored
/// `[block][A*A][cin]`, so that each tile's values are contiguous) is position `(k, l)` of
/// `B^T d B` for tile `t`'s window `d` of channel `c`.
#[inline(always)]
fn fill<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    x: &[T],
    [t0, len]: [usize; 2],
    pd: &mut Padded<T>,
    v: &mut [T],
) {
    let (cin, cols) = (p.cin, grid.cols);
    for t in t0..t0 + len {
        let (s, ty, tx) = grid.locate(t);
        pd.load(p, grid, x, s);
        let at = (ty * M * cols + tx * M) * cin;
        let (dst, pos) = (&mut v[(t - t0) * A * A * cin..], cin);
        let full = cin / LANES * LANES;
        for c in (0..full).step_by(LANES) {
            let src = [at + c, cols * cin, cin];
            input_tile::<T, W, M, A, LANES>(&pd.buf, src, &mut dst[c..], pos);
        }
        for c in full..cin {
            input_tile::<T, W, M, A, 1>(&pd.buf, [at + c, cols * cin, cin], &mut dst[c..], pos);
        }
    }
}

/// The output pass over the block of `len` tiles from `t0` (products `m[t - t0][(k, l)][o]`,
/// stored `[block][A*A][cout]`): each tile's `A^T m A` for every output channel, plus the bias, into `out` (`[n][cout][oh][ow]`), clipped to the image.
#[inline(always)]
fn drain<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    m: &[T],
    [t0, len]: [usize; 2],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let (cout, plane) = (p.cout, p.oh * p.ow);
    for t in t0..t0 + len {
        let (s, ty, tx) = grid.locate(t);
        let (i0, j0) = (ty * M, tx * M);
        let clip = [M.min(p.oh - i0), M.min(p.ow - j0), p.ow, plane];
        let src = &m[(t - t0) * A * A * cout..];
        let dst = &mut out[s * cout * plane + i0 * p.ow + j0..];
        let (pos, full) = (cout, cout / LANES * LANES);
        for o in (0..full).step_by(LANES) {
            let y = output_tile::<T, W, M, A, LANES>(&src[o..], pos);
            store(
                &y,
                clip,
                bias.map(|b| &b[o..o + LANES]),
                &mut dst[o * plane..],
            );
        }
        for o in full..cout {
            let y = output_tile::<T, W, M, A, 1>(&src[o..], pos);
            store(&y, clip, bias.map(|b| &b[o..o + 1]), &mut dst[o * plane..]);
        }
    }
}

/// Writes the top-left `ni x nj` of an output tile `y[a][b][x]` (lane `x` an output channel) plus
/// its bias to `dst[x * plane + a * ow + b]`, one contiguous row of the tile at a time.
#[inline(always)]
fn store<T: Scalar, const M: usize, const L: usize>(
    y: &[[[T; L]; M]; M],
    [ni, nj, ow, plane]: [usize; 4],
    bias: Option<&[T]>,
    dst: &mut [T],
) {
    for x in 0..L {
        let b = bias.map_or(T::zero(), |b| b[x]);
        for (a, ya) in y.iter().enumerate().take(ni) {
            let row: [T; M] = from_fn(|j| ya[j][x] + b);
            let d = &mut dst[x * plane + a * ow..];
            if nj == M {
                d[..M].copy_from_slice(&row);
            } else {
                d[..nj].iter_mut().zip(row).for_each(|(d, r)| *d = r);
            }
        }
    }
}

/// [`fill`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fill_avx2<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    x: &[T],
    range: [usize; 2],
    pd: &mut Padded<T>,
    v: &mut [T],
) {
    fill::<T, W, M, A>(p, grid, x, range, pd, v);
}

/// [`drain`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn drain_avx2<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    m: &[T],
    range: [usize; 2],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    drain::<T, W, M, A>(p, grid, m, range, bias, out);
}

/// Whether the AVX2 versions run (checked once; cached by `std`).
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[allow(unreachable_code)]
    false
}

/// [`fill`] with the widest vectors the CPU has. The arithmetic is the same either way (no
/// fused multiply-adds), so the result does not depend on the CPU's features.
pub(super) fn fill_block<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    x: &[T],
    range: [usize; 2],
    pd: &mut Padded<T>,
    v: &mut [T],
) {
    if avx2() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2, the only requirement of the target-feature function.
        unsafe {
            return fill_avx2::<T, W, M, A>(p, grid, x, range, pd, v);
        }
    }
    fill::<T, W, M, A>(p, grid, x, range, pd, v);
}

/// [`drain`] with the widest vectors the CPU has (same arithmetic either way).
pub(super) fn drain_block<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    grid: &Grid,
    m: &[T],
    range: [usize; 2],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    if avx2() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2, the only requirement of the target-feature function.
        unsafe {
            return drain_avx2::<T, W, M, A>(p, grid, m, range, bias, out);
        }
    }
    drain::<T, W, M, A>(p, grid, m, range, bias, out);
}
