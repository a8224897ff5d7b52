use super::super::tests::{data, reference};
use super::super::{backward_input as gemm_backward_input, forward as gemm_forward, MIN_ROW_DEPTH};
use super::blocks::block_tiles;
use super::*;
use proptest::prelude::*;

const TILES: [Tile; 2] = [Tile::F2x2, Tile::F4x4];

/// `max |a - b| / max |b|` (`b` the reference).
fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    diff / b.iter().map(|y| y.abs()).fold(f64::MIN_POSITIVE, f64::max)
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| f64::from(a)).collect()
}

/// Random 3x3 stride-1 geometries: batch 1-3, channels 1-9, sizes 1-13 (so outputs that are
/// not multiples of either tile, and single partial tiles), padding 0-3 per dimension.
fn geometry() -> impl Strategy<Value = Conv2dGeometry> {
    (
        1..=3usize,
        1..=9usize,
        1..=9usize,
        [1..=13usize, 1..=13],
        [0..=3usize, 0..=3],
    )
        .prop_filter_map("output smaller than 1", |(n, c, o, [h, w], pad)| {
            let opts = super::super::Conv2dOptions::default().padding2(pad);
            Conv2dGeometry::new(&[n, c, h, w], &[o, c, 3, 3], opts).ok()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// In f64 both tilings equal the naive loops (and so the GEMM path) to rounding, forward with
    /// bias and input gradient, for any padding (a crop, `2 - p < 0`, in the gradient when
    /// `p = 3`).
    #[test]
    fn f64_matches_naive_loops(g in geometry(), seed in any::<u64>()) {
        prop_assert!(supports(&g));
        let x = data(g.n * g.c * g.h * g.w, seed);
        let w = data(g.o * g.c * 9, seed ^ 1);
        let b = data(g.o, seed ^ 2);
        let dy = data(g.output_shape().iter().product(), seed ^ 3);
        let [y, dx, _] = reference(&g, &x, &w, &b, &dy);
        for tile in TILES {
            let (wy, wdx) = (forward(tile, &g, &x, &w, Some(&b)), backward_input(tile, &g, &w, &dy));
            prop_assert!(relative_error(&wy, &y) < 1e-13, "{tile:?} y {g:?}");
            prop_assert!(relative_error(&wdx, &dx) < 1e-13, "{tile:?} dx {g:?}");
        }
    }
}

#[test]
fn backward_input_is_the_flipped_convolution_with_padding_two_minus_p() {
    // One channel each way, a 3x3 input and kernel, padding 1: dx is the convolution of dy with
    // the kernel rotated by 180 degrees, padding 2 - 1 = 1. With dy a single 1 at (0, 0), dx is
    // what y[0, 0] reads: x[r, s] with weight w[r + 1, s + 1], the kernel's bottom-right 2x2.
    let opts = super::super::Conv2dOptions::default().padding(1);
    let g = Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, 3, 3], opts).unwrap();
    let w: Vec<f64> = (1..=9).map(f64::from).collect();
    let mut dy = vec![0.0; 9];
    dy[0] = 1.0;
    let want = [5.0, 6.0, 0.0, 8.0, 9.0, 0.0, 0.0, 0.0, 0.0];
    for tile in TILES {
        let dx = backward_input(tile, &g, &w, &dy);
        assert!(relative_error(&dx, &want) < 1e-15, "{tile:?}: {dx:?}");
    }
}

/// The f32 error of each path against the f64 naive loops, as `max |diff| / max |ref|`, on
/// realistic layers (32 to 128 channels, inputs and weights in [-1, 1)): Winograd `F(4x4)` stays
/// below 1e-5, forward and input gradient (measured about 2e-6; `F(2x2)` 6e-7, GEMM 3e-7).
#[test]
fn f32_error_is_bounded() {
    let opts = super::super::Conv2dOptions::default().padding(1);
    for (xs, os) in [
        ([2, 32, 18, 17], 32),
        ([1, 64, 16, 16], 64),
        ([1, 128, 8, 9], 128),
    ] {
        let g = Conv2dGeometry::new(&xs, &[os, xs[1], 3, 3], opts).unwrap();
        let x = data(xs.iter().product(), 5);
        let w = data(os * xs[1] * 9, 6);
        let b = data(os, 7);
        let dy = data(g.output_shape().iter().product(), 8);
        let [y, dx, _] = reference(&g, &x, &w, &b, &dy);
        let (x32, w32, b32, dy32) = (f32s(&x), f32s(&w), f32s(&b), f32s(&dy));
        let gemm = [
            relative_error(
                &f64s(&gemm_forward(&g, &x32, &w32, Some(&b32), MIN_ROW_DEPTH)),
                &y,
            ),
            relative_error(
                &f64s(&gemm_backward_input(&g, &w32, &dy32, MIN_ROW_DEPTH)),
                &dx,
            ),
        ];
        for tile in TILES {
            let err = [
                relative_error(&f64s(&forward(tile, &g, &x32, &w32, Some(&b32))), &y),
                relative_error(&f64s(&backward_input(tile, &g, &w32, &dy32)), &dx),
            ];
            eprintln!("{xs:?} -> {os}: {tile:?} y, dx errors {err:?} (gemm {gemm:?})");
            assert!(err[0] < 1e-5 && err[1] < 1e-5, "{tile:?} {g:?}: {err:?}");
        }
        assert!(gemm[0] < 1e-6 && gemm[1] < 1e-6, "{gemm:?}");
    }
}

/// A sample's output does not depend on the batch around it, bit for bit: blocks of tiles span
/// samples (15 tiles each here, blocks of hundreds), yet each sample alone gives the same bits.
#[test]
fn results_are_independent_of_the_batch() {
    let opts = super::super::Conv2dOptions::default().padding(1);
    let (n, c, o, h, w) = (40, 32, 40, 10, 19);
    let g = Conv2dGeometry::new(&[n, c, h, w], &[o, c, 3, 3], opts).unwrap();
    assert!(applies::<f32>(&g) && !block_tiles::<f32>(36, c, o).is_multiple_of(15));
    let (x, wt) = (f32s(&data(n * c * h * w, 9)), f32s(&data(o * c * 9, 10)));
    let (b, dy) = (f32s(&data(o, 11)), f32s(&data(n * o * h * w, 12)));
    let y = forward(Tile::F4x4, &g, &x, &wt, Some(&b));
    let dx = backward_input(Tile::F4x4, &g, &wt, &dy);
    let bits = |v: &[f32]| v.iter().map(|a| a.to_bits()).collect::<Vec<u32>>();
    for (s, k) in [(0, 1), (7, 3), (33, 7)] {
        let one = Conv2dGeometry::new(&[k, c, h, w], &[o, c, 3, 3], opts).unwrap();
        let xs = &x[s * c * h * w..(s + k) * c * h * w];
        let dys = &dy[s * o * h * w..(s + k) * o * h * w];
        let (ys, dxs) = (
            forward(Tile::F4x4, &one, xs, &wt, Some(&b)),
            backward_input(Tile::F4x4, &one, &wt, dys),
        );
        assert_eq!(
            bits(&ys),
            bits(&y[s * o * h * w..(s + k) * o * h * w]),
            "y of {s}..{}",
            s + k
        );
        assert_eq!(
            bits(&dxs),
            bits(&dx[s * c * h * w..(s + k) * c * h * w]),
            "dx of {s}..{}",
            s + k
        );
    }
}

#[test]
fn dispatch_takes_winograd_only_where_it_applies() {
    let d = super::super::Conv2dOptions::default().padding(1);
    let geom = |xs: [usize; 4], ws: [usize; 4], o| Conv2dGeometry::new(&xs, &ws, o).unwrap();
    let same = geom([2, 32, 16, 16], [32, 32, 3, 3], d);
    assert!(applies::<f32>(&same) && !applies::<f64>(&same) && supports(&same));
    // Too few channels either way, too small an output, or not a plain 3x3 stride-1 kernel.
    for (g, supported) in [
        (geom([2, 3, 16, 16], [32, 3, 3, 3], d), true),
        (geom([2, 32, 16, 16], [3, 32, 3, 3], d), true),
        (geom([2, 16, 16, 16], [32, 16, 3, 3], d), true),
        (geom([2, 32, 6, 16], [32, 32, 3, 3], d), true),
        (geom([2, 32, 16, 16], [32, 32, 3, 3], d.stride(2)), false),
        (geom([2, 32, 16, 16], [32, 32, 3, 3], d.dilation(2)), false),
        (geom([2, 32, 16, 16], [32, 16, 3, 3], d.groups(2)), false),
        (geom([2, 32, 16, 16], [32, 32, 5, 5], d), false),
    ] {
        assert!(!applies::<f32>(&g), "{g:?}");
        assert_eq!(supports(&g), supported, "{g:?}");
    }
}
