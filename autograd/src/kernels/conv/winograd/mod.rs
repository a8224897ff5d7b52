//! Winograd convolution for dense 3x3, stride-1, undilated convolutions in `f32`: the forward
//! pass and the input gradient (weight gradients stay on the GEMM path).
//!
//! # Algorithm
//!
//! `F(4x4, 3x3)` ([`transform::F4x4`]) splits the output into 4x4 tiles; tile `(ty, tx)` reads
//! the 6x6 input window whose top-left pixel is `(4 ty - ph, 4 tx - pw)` (0 off the image). With
//! `V = B^T d B` per input channel and window, `U = G g G^T` per kernel and `Y = A^T M A`, the
//! convolution of the tile is
//!
//! ```text
//! M[(k, l)][t, o] = sum_c V[(k, l)][t, c] * U[(k, l)][c, o]        (36 positions (k, l))
//! y[o, tile t] = A^T M[.][t, o] A + b[o]
//! ```
//!
//! so for a block of `T` tiles it is 36 GEMMs `[T, C] x [C, O]` ([`Scalar::gemm`]): 36 instead of
//! 144 multiply-adds per 4x4 output pixels and channel pair, 4x fewer. The transforms are
//! applied with channels innermost (a copy of the input transposed to channel-last, padded), so
//! they vectorize across channels whatever the image size. Tiles are numbered across the batch
//! (sample, tile row, tile column), and blocks of [`block_tiles`] tiles may span samples: every
//! tile's values go through the same arithmetic whatever the block holds, and a GEMM's output row
//! depends only on its own input row, so a sample's result is bit-identical alone or in any
//! batch (tested).
//!
//! # Input gradient
//!
//! With `y[o, i, j] = sum_{c,p,q} w[o, c, p, q] x[c, i + p - ph, j + q - pw]`, the gradient is
//! `dx[c, r, s] = sum_{o,i,j,p,q : i + p - ph = r, j + q - pw = s} w[o, c, p, q] dy[o, i, j]`.
//! Substituting `p' = 2 - p`, `q' = 2 - q` gives `i = r + p' - (2 - ph)`, hence
//!
//! ```text
//! dx[c, r, s] = sum_{o, p', q'} w[o, c, 2 - p', 2 - q'] dy[o, r + p' - (2 - ph), s + q' - (2 - pw)]
//! ```
//!
//! a 3x3 stride-1 convolution of `dy` (channels `o`) with the flipped, transposed kernel
//! `w'[c, o, p', q'] = w[o, c, 2 - p', 2 - q']` and padding `2 - ph` (negative if `ph > 2`: a crop,
//! handled the same way), of output size `OH + 2 (2 - ph) - 2 = H`. It runs through the same
//! tiles.
//!
//! # Accuracy
//!
//! Against the f64 direct convolution on random data (inputs and weights in `[-1, 1)`, 32 to 128
//! channels, `winograd::tests::f32_error_is_bounded`), `max |diff| / max |ref|` of the f32
//! result is 2e-7 to 5e-7 for the exact GEMM path, 2e-7 to 4.5e-7 for `F(2x2, 3x3)` and 4e-6 to
//! 7.3e-6 for `F(4x4, 3x3)` (forward and input gradient alike; the test asserts below 1e-5).
//! `F(4x4)` is used: its error stays far below SmoothGrad's tolerance (gradients to 1e-4 of
//! their maximum) and it does 2.25x fewer GEMM multiply-adds than `F(2x2)` (measured faster on
//! the workload layers but one: 128 channels at 8x8, where `F(2x2)` was 1.05-1.15x faster). `f64` convolutions keep the exact GEMM path.
//!
//! # Memory
//!
//! Besides the output, at most `36 (C O + T (C + O)) + (4 th + 2) (4 tw + 2) C` elements: the
//! transformed kernel, the transformed input and products of one block of `T` tiles (`T` chosen
//! so that the block takes about 1 MiB, between 16 and 512 tiles), and one sample's padded
//! channel-last copy (`th x tw` tiles); independent of the batch size.

mod blocks;
#[cfg(test)]
mod tests;
mod transform;

use super::geometry::Conv2dGeometry;
use crate::scalar::Scalar;
use blocks::{by_lanes, drain_block, fill_block, Grid, Padded, LANES};
use std::any::TypeId;
use std::array::from_fn;
use transform::{kernel_tile, F2x2, F4x4, Tiling};

/// Smallest input and output channel counts for which Winograd is used: with 16 channels it
/// measured no faster than the GEMM lowering (the GEMMs' inner dimension is too short to pay for
/// the transforms), with 32 1.3-1.6x faster.
pub(super) const MIN_CHANNELS: usize = 32;

/// Smallest output height and width for which Winograd is used.
pub(super) const MIN_SIZE: usize = 8;

/// Whether [`forward`] and [`backward_input`] can run this convolution: one group, a 3x3 kernel,
/// stride and dilation 1 (any padding, sizes and type).
pub(super) fn supports(g: &Conv2dGeometry) -> bool {
    let o = &g.options;
    o.groups == 1 && (g.kh, g.kw) == (3, 3) && o.stride == [1, 1] && o.dilation == [1, 1]
}

/// Whether the convolution functions use Winograd: [`supports`], `f32`, at least
/// [`MIN_CHANNELS`] input and output channels and an output of at least [`MIN_SIZE`] in both
/// dimensions.
pub(super) fn applies<T: Scalar>(g: &Conv2dGeometry) -> bool {
    supports(g)
        && TypeId::of::<T>() == TypeId::of::<f32>()
        && g.c.min(g.o) >= MIN_CHANNELS
        && g.out_h.min(g.out_w) >= MIN_SIZE
}

/// The Winograd tile size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tile {
    /// `F(2x2, 3x3)` ([`transform::F2x2`]).
    F2x2,
    /// `F(4x4, 3x3)` ([`transform::F4x4`]), the default.
    F4x4,
}

/// [`convolve`] with the tiling `tile`.
fn run<T: Scalar>(
    tile: Tile,
    p: &Problem,
    x: &[T],
    w: &[T],
    layout: KernelLayout,
    bias: Option<&[T]>,
) -> Vec<T> {
    match tile {
        Tile::F2x2 => convolve::<T, F2x2, 2, 4>(p, x, w, layout, bias),
        Tile::F4x4 => convolve::<T, F4x4, 4, 6>(p, x, w, layout, bias),
    }
}

/// Where one convolution's kernel `g(ci, co)` (3x3, `ci` an input channel, `co` an output one)
/// lies in a weight slice: tap `(p, q)` at `ci * ci_stride + co * co_stride + tap(p, q)`, with
/// `tap(p, q) = 3p + q`, or `8 - 3p - q` (the flipped kernel) when `flip`.
#[derive(Clone, Copy)]
struct KernelLayout {
    ci_stride: usize,
    co_stride: usize,
    flip: bool,
}

/// A stride-1 3x3 convolution of `cin`-channel `h x w` planes into `cout`-channel `oh x ow`
/// planes: `out[co, i, j] = sum_{ci,p,q} g(ci, co)[p, q] in[ci, i + p - pad_h, j + q - pad_w]`.
#[derive(Clone, Copy)]
struct Problem {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    oh: usize,
    ow: usize,
    pad: [isize; 2],
}

/// Forward convolution `y = conv2d(x, w) + b` of [`super::conv2d_forward`] for a geometry
/// [`supports`] accepts, by Winograd with tiles `tile`. Generic so that tests can run it in `f64`.
pub(super) fn forward<T: Scalar>(
    tile: Tile,
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    g.check_forward(x, w, bias);
    let p = &g.options.padding;
    let problem = Problem {
        n: g.n,
        cin: g.c,
        h: g.h,
        w: g.w,
        cout: g.o,
        oh: g.out_h,
        ow: g.out_w,
        pad: [p[0] as isize, p[1] as isize],
    };
    let layout = KernelLayout {
        ci_stride: 9,
        co_stride: g.c * 9,
        flip: false,
    };
    run(tile, &problem, x, w, layout, bias)
}

/// Input gradient of [`super::conv2d_backward_input`]: the convolution of `dy` with the flipped,
/// transposed kernel and padding `2 - p` (module docs), by Winograd with tiles `tile`.
pub(super) fn backward_input<T: Scalar>(
    tile: Tile,
    g: &Conv2dGeometry,
    w: &[T],
    dy: &[T],
) -> Vec<T> {
    const OP: &str = "conv2d_backward_input";
    g.check_len(OP, "w", w.len(), g.weight_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let p = &g.options.padding;
    let problem = Problem {
        n: g.n,
        cin: g.o,
        h: g.out_h,
        w: g.out_w,
        cout: g.c,
        oh: g.h,
        ow: g.w,
        pad: [2 - p[0] as isize, 2 - p[1] as isize],
    };
    let layout = KernelLayout {
        ci_stride: g.c * 9,
        co_stride: 9,
        flip: true,
    };
    run(tile, &problem, dy, w, layout, None)
}

/// The transformed kernels `U[(k, l)][ci, co]`, stored `[A*A][cin][cout]`.
fn transform_kernels<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    w: &[T],
    layout: KernelLayout,
) -> Vec<T> {
    let mut u = vec![T::zero(); A * A * p.cin * p.cout];
    let pos = p.cin * p.cout;
    let tap = |t: usize| if layout.flip { 8 - t } else { t };
    for ci in 0..p.cin {
        let row = ci * p.cout;
        by_lanes(p.cout, |c0, wide| {
            let at =
                |t: usize, co: usize| w[ci * layout.ci_stride + co * layout.co_stride + tap(t)];
            if wide {
                let g: [[T; LANES]; 9] = from_fn(|t| from_fn(|x| at(t, c0 + x)));
                kernel_tile::<T, W, M, A, LANES>(&g, &mut u[row + c0..], pos);
            } else {
                let g: [[T; 1]; 9] = from_fn(|t| [at(t, c0)]);
                kernel_tile::<T, W, M, A, 1>(&g, &mut u[row + c0..], pos);
            }
        });
    }
    u
}

/// Runs the convolution `p` with the tiling `W` (module docs): input tiles transformed into
/// blocks, one GEMM per position and block, products transformed back into `out` with the bias.
fn convolve<T: Scalar, W: Tiling<M, A>, const M: usize, const A: usize>(
    p: &Problem,
    x: &[T],
    w: &[T],
    layout: KernelLayout,
    bias: Option<&[T]>,
) -> Vec<T> {
    let (cin, cout) = (p.cin, p.cout);
    let mut out = vec![T::zero(); p.n * cout * p.oh * p.ow];
    if p.n == 0 {
        return out;
    }
    let u = transform_kernels::<T, W, M, A>(p, w, layout);
    let grid = Grid::new::<T, M, A>(p);
    let block = grid.block;
    let mut pd = Padded::new(p, &grid);
    let mut v = vec![T::zero(); A * A * block * cin];
    let mut m = vec![T::zero(); A * A * block * cout];
    let total = p.n * grid.th * grid.tw;
    for t0 in (0..total).step_by(block) {
        let range = [t0, block.min(total - t0)];
        fill_block::<T, W, M, A>(p, &grid, x, range, &mut pd, &mut v);
        let (a2, len) = (A * A, range[1]);
        let (sv, sm) = ([(a2 * cin) as isize, 1], [(a2 * cout) as isize, 1]);
        for (k, uk) in u.chunks_exact(cin * cout).enumerate() {
            let (vk, mk) = (&v[k * cin..], &mut m[k * cout..]);
            T::gemm(
                len,
                cin,
                cout,
                T::one(),
                vk,
                sv,
                uk,
                [cout as isize, 1],
                T::zero(),
                mk,
                sm,
            );
        }
        drain_block::<T, W, M, A>(p, &grid, &m, range, bias, &mut out);
    }
    out
}
