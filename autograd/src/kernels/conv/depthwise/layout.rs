//! Padded source planes of the square depthwise kernels, laid out so every tap of an output row
//! reads one contiguous slice: [`Phases`] (a row's columns by phase of the column stride) and
//! [`Flat`] (stride 1: a whole plane as one flat row).

use super::taps::{Simd, Taps, BLOCK};
use super::Conv2dGeometry;
use crate::scalar::Scalar;

/// Where padded column `u` of a row of `width` is stored: in place at column stride 1; at
/// stride 2, the even columns first (`ceil(width / 2)` of them), then the odd ones, so the
/// values `row[j*2 + q]` (`j = 0, 1, ...`) are contiguous from slot `(q % 2, q / 2)`.
#[derive(Clone, Copy)]
pub(super) struct Phases {
    /// The padded width.
    pub(super) width: usize,
    /// The column stride, 1 or 2.
    pub(super) sw: usize,
}

impl Phases {
    /// The layout of `g`'s input rows: padded by `g`'s column padding on each side, at its
    /// column stride.
    pub(super) fn of(g: &Conv2dGeometry) -> Self {
        Phases {
            width: g.w + 2 * g.options.padding[1],
            sw: g.options.stride[1],
        }
    }

    /// The index of padded column `u` within its row.
    #[inline]
    fn slot(self, u: usize) -> usize {
        if self.sw == 1 {
            u
        } else {
            u / 2 + (u % 2) * self.width.div_ceil(2)
        }
    }

    /// The `n` values `row[j*sw + q]` (`j < n`) as one contiguous slice of a stored row.
    #[inline]
    pub(super) fn tap<T>(self, row: &[T], q: usize, n: usize) -> &[T] {
        &row[self.slot(q % self.sw) + q / self.sw..][..n]
    }

    /// Writes a `rows x w` plane into `buf` as padded rows of `width` (`left` zero columns, then
    /// the row, then zeros; columns past `width` dropped), stored by [`Phases::slot`]. Only the
    /// image's columns are written: `buf` must hold zeros elsewhere (from its creation, or from
    /// an earlier fill with the same `w` and `left`).
    pub(super) fn fill<T: Scalar>(
        self,
        simd: Simd,
        src: &[T],
        w: usize,
        left: usize,
        buf: &mut [T],
    ) {
        let keep = w.min(self.width.saturating_sub(left));
        let rows = buf.chunks_exact_mut(self.width).zip(src.chunks_exact(w));
        if self.sw == 1 {
            for (dst, x) in rows {
                dst[left..left + keep].copy_from_slice(&x[..keep]);
            }
            return;
        }
        let half = self.width.div_ceil(2);
        let pairs = keep / 2;
        for (dst, x) in rows {
            let (even, odd) = dst.split_at_mut(half);
            // Image column s is padded column s + left: with `left` even, even s lands in the
            // even phase at (s + left) / 2; with `left` odd, in the odd phase at (s + left - 1) / 2.
            let (a, b) = if left.is_multiple_of(2) {
                (&mut even[left / 2..], &mut odd[left / 2..])
            } else {
                (&mut odd[left / 2..], &mut even[left / 2 + 1..])
            };
            simd.split(&x[..2 * pairs], &mut a[..pairs], &mut b[..pairs]);
            if keep % 2 == 1 {
                a[pairs] = x[keep - 1];
            }
        }
    }
}

/// Scratch of [`Flat::plane_s1`]: the padded source plane and the output at the padded width.
pub(super) struct Flat<T> {
    src: Vec<T>,
    out: Vec<T>,
}

impl<T: Scalar> Flat<T> {
    pub(super) fn new() -> Self {
        Flat {
            src: Vec::new(),
            out: Vec::new(),
        }
    }

    /// One plane of a `K x K` correlation at stride 1, `y[i, j] = b + sum_{p, q} wk[K*p + q]
    /// sp[i + p, j + q]` with `sp` the `h x w` plane `src` padded by `ph` zero rows and `pw` zero
    /// columns on each side: the rows of `y`, `(h + 2ph - K + 1) x (w + 2pw - K + 1)`.
    ///
    /// Flattened: at the padded width `wp`, output `k = i*wp + j` reads `sp` at `k + p*wp + q`,
    /// so the whole plane is one `K*K`-tap row of `(h + 2ph - K + 1) * wp` outputs (the `K - 1`
    /// columns per row past the output's width are computed and dropped): no per-row overhead.
    /// Every call on one scratch must share `[h, w]` and `[ph, pw]` (the padding is written once).
    pub(super) fn plane_s1<const K: usize>(
        &mut self,
        simd: Simd,
        src: &[T],
        [h, w]: [usize; 2],
        [ph, pw]: [usize; 2],
        wk: &[T],
        b: T,
    ) -> impl Iterator<Item = &[T]> + '_ {
        let wp = w + 2 * pw;
        let (oh, ow) = (h + 2 * ph + 1 - K, wp + 1 - K);
        // The outputs computed: whole blocks of the tap loop, past the dropped columns.
        let (n, len) = (oh * wp, (oh * wp).next_multiple_of(BLOCK));
        // One more zero row and a block: the dropped outputs read up to K - 1 + BLOCK past the
        // last output row.
        self.src.resize((h + 2 * ph + 1) * wp + BLOCK, T::zero());
        for (r, row) in src.chunks_exact(w).enumerate() {
            self.src[(r + ph) * wp + pw..][..w].copy_from_slice(row);
        }
        // Every output is written from `b`: the buffer only grows.
        self.out.resize(len, b);
        let mut taps = Taps::new();
        for p in 0..K {
            for q in 0..K {
                taps.push(&self.src[p * wp + q..][..len], wk[p * K + q]);
            }
        }
        taps.run(simd, Some(b), &mut self.out[..len]);
        self.out[..n].chunks_exact(wp).map(move |row| &row[..ow])
    }

    /// One plane of a `K x K` correlation at stride 2 in both dimensions, `y[i, j] = b +
    /// sum_{p, q} wk[K*p + q] sp[2i + p, 2j + q]` (`sp` padded as in [`Flat::plane_s1`]): the
    /// rows of `y`, `((h + 2ph - K) / 2 + 1) x ((w + 2pw - K) / 2 + 1)`.
    ///
    /// The padded plane is split into its four phases `P_ab[u, v] = sp[2u + a, 2v + b]`, each
    /// stored flat at width `wq = ceil(wp / 2)`; then `y[i, j] = b + sum_{p, q} wk[K*p + q]
    /// P_{p%2, q%2}[i + p/2, j + q/2]`, so output `k = i*wq + j` reads phase `(p%2, q%2)` at
    /// `k + (p/2)*wq + q/2`: the whole plane is again one `K*K`-tap flat row (the columns past
    /// the output's width, about `K / 2` per row, computed and dropped). Every call on one
    /// scratch must share `[h, w]` and `[ph, pw]`.
    pub(super) fn plane_s2<const K: usize>(
        &mut self,
        simd: Simd,
        src: &[T],
        [h, w]: [usize; 2],
        [ph, pw]: [usize; 2],
        wk: &[T],
        b: T,
    ) -> impl Iterator<Item = &[T]> + '_ {
        let (hp, wp) = (h + 2 * ph, w + 2 * pw);
        let (oh, ow) = ((hp - K) / 2 + 1, (wp - K) / 2 + 1);
        // One more zero row per phase: the dropped columns of the last rows read past the end.
        let (hq, wq) = (hp.div_ceil(2) + 1, wp.div_ceil(2));
        let size = hq * wq;
        // A block more: the outputs computed are whole blocks of the tap loop, and the last
        // phase's dropped ones read past its end.
        self.src.resize(4 * size + BLOCK, T::zero());
        let pairs = w / 2;
        for (r, x) in src.chunks_exact(w).enumerate() {
            let (a, u) = ((r + ph) % 2, (r + ph) / 2);
            let (even, odd) = self.src[2 * a * size..][..2 * size].split_at_mut(size);
            let (even, odd) = (&mut even[u * wq..][..wq], &mut odd[u * wq..][..wq]);
            // Column s is padded column s + pw (see `Phases::fill`).
            let (first, second) = if pw.is_multiple_of(2) {
                (&mut even[pw / 2..], &mut odd[pw / 2..])
            } else {
                (&mut odd[pw / 2..], &mut even[pw / 2 + 1..])
            };
            simd.split(&x[..2 * pairs], &mut first[..pairs], &mut second[..pairs]);
            if w % 2 == 1 {
                first[pairs] = x[w - 1];
            }
        }
        let (n, len) = (oh * wq, (oh * wq).next_multiple_of(BLOCK));
        // Every output is written from `b`: the buffer only grows.
        self.out.resize(len, b);
        let mut taps = Taps::new();
        for p in 0..K {
            for q in 0..K {
                let at = (2 * (p % 2) + q % 2) * size + (p / 2) * wq + q / 2;
                taps.push(&self.src[at..][..len], wk[p * K + q]);
            }
        }
        taps.run(simd, Some(b), &mut self.out[..len]);
        self.out[..n].chunks_exact(wq).map(move |row| &row[..ow])
    }
}
