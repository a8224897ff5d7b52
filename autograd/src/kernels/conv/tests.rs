use super::*;
use proptest::prelude::*;

/// Deterministic values in [-1, 1) (xorshift64*), so random cases need no large strategies.
pub(super) fn data(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Calls `f(n, o, i, j, c, p, q, x_index)` for every multiply-add of the direct convolution,
/// `c` being the channel within the group and `x_index` the flat index of the input pixel read
/// (padding taps skipped): the plain 7-loop definition all references below share.
fn for_each_tap(g: &Conv2dGeometry, mut f: impl FnMut([usize; 7], usize)) {
    let Conv2dOptions {
        stride: s,
        padding: pad,
        dilation: d,
        groups,
    } = g.options;
    let (cg, og) = (g.c / groups, g.o / groups);
    for n in 0..g.n {
        for o in 0..g.o {
            for i in 0..g.out_h {
                for j in 0..g.out_w {
                    for c in 0..cg {
                        for p in 0..g.kh {
                            for q in 0..g.kw {
                                let ih = (i * s[0] + p * d[0]) as isize - pad[0] as isize;
                                let iw = (j * s[1] + q * d[1]) as isize - pad[1] as isize;
                                if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize {
                                    continue;
                                }
                                let ch = (o / og) * cg + c;
                                let xi = ((n * g.c + ch) * g.h + ih as usize) * g.w + iw as usize;
                                f([n, o, i, j, c, p, q], xi);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn y_index(g: &Conv2dGeometry, [n, o, i, j, ..]: [usize; 7]) -> usize {
    ((n * g.o + o) * g.out_h + i) * g.out_w + j
}

fn w_index(g: &Conv2dGeometry, [_, o, _, _, c, p, q]: [usize; 7]) -> usize {
    ((o * (g.c / g.options.groups) + c) * g.kh + p) * g.kw + q
}

/// Naive forward, input gradient and weight gradient.
pub(super) fn reference(
    g: &Conv2dGeometry,
    x: &[f64],
    w: &[f64],
    b: &[f64],
    dy: &[f64],
) -> [Vec<f64>; 3] {
    let mut y: Vec<f64> = (0..g.output_shape().iter().product())
        .map(|k| b[k / (g.out_h * g.out_w) % g.o])
        .collect();
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    for_each_tap(g, |t, xi| {
        let (yi, wi) = (y_index(g, t), w_index(g, t));
        y[yi] += w[wi] * x[xi];
        dx[xi] += w[wi] * dy[yi];
        dw[wi] += x[xi] * dy[yi];
    });
    [y, dx, dw]
}

fn assert_close(what: &str, got: &[f64], want: &[f64], g: &Conv2dGeometry) {
    assert_eq!(got.len(), want.len(), "{what}: length, {g:?}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{what}[{k}]: {a} vs {b}, {g:?}"
        );
    }
}

/// Random geometries: batch 1-3, groups 1-3 dividing channels 1-6, kernel 1-4, stride 1-3,
/// padding 0-2, dilation 1-2 (each per dimension), sizes 1-9; invalid ones are rejected.
fn geometry() -> impl Strategy<Value = Conv2dGeometry> {
    let pair = |lo: usize, hi: usize| [lo..=hi, lo..=hi];
    (
        1..=3usize,
        1..=3usize,
        1..=6usize,
        1..=6usize,
        pair(1, 9),
        pair(1, 4),
    )
        .prop_flat_map(move |(n, groups, cg, og, hw, k)| {
            let (cg, og) = (cg.min(6 / groups), og.min(6 / groups));
            let opts =
                (pair(1, 3), pair(0, 2), pair(1, 2)).prop_map(move |(s, p, d)| Conv2dOptions {
                    stride: s,
                    padding: p,
                    dilation: d,
                    groups,
                });
            opts.prop_filter_map("output smaller than 1", move |o| {
                Conv2dGeometry::new(
                    &[n, cg * groups, hw[0], hw[1]],
                    &[og * groups, cg, k[0], k[1]],
                    o,
                )
                .ok()
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_naive_loops(g in geometry(), seed in any::<u64>()) {
        let x = data(g.n * g.c * g.h * g.w, seed);
        let w = data(g.o * g.c / g.options.groups * g.kh * g.kw, seed ^ 1);
        let b = data(g.o, seed ^ 2);
        let dy = data(g.output_shape().iter().product(), seed ^ 3);
        let [y, dx, dw] = reference(&g, &x, &w, &b, &dy);
        for depth in [0, usize::MAX] {
            assert_close("y", &forward(&g, &x, &w, Some(&b), depth), &y, &g);
            assert_close("dx", &backward_input(&g, &w, &dy, depth), &dx, &g);
        }
        assert_close("dw", &conv2d_backward_weight(&g, &x, &dy), &dw, &g);
        let db: Vec<f64> = (0..g.o)
            .map(|o| {
                let plane = |k: &usize| k / (g.out_h * g.out_w) % g.o == o;
                dy.iter().enumerate().filter(|(k, _)| plane(k)).map(|(_, v)| v).sum()
            })
            .collect();
        assert_close("db", &conv2d_backward_bias(&g, &dy), &db, &g);
    }

    /// The backward kernels are adjoints of the forward one:
    /// `<dy, conv(x, w)> = <dx(w, dy), x> = <dw(x, dy), w>`.
    #[test]
    fn backward_is_adjoint_of_forward(g in geometry(), seed in any::<u64>()) {
        let x = data(g.n * g.c * g.h * g.w, seed);
        let w = data(g.o * g.c / g.options.groups * g.kh * g.kw, seed ^ 1);
        let dy = data(g.output_shape().iter().product(), seed ^ 3);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        for depth in [0, usize::MAX] {
            let lhs = dot(&dy, &forward(&g, &x, &w, None, depth));
            let scale = 1e-12 * (1.0 + lhs.abs()) * (x.len() + w.len()) as f64;
            prop_assert!((dot(&backward_input(&g, &w, &dy, depth), &x) - lhs).abs() <= scale);
            prop_assert!((dot(&conv2d_backward_weight(&g, &x, &dy), &w) - lhs).abs() <= scale);
        }
    }
}

#[test]
fn special_cases_match_naive_loops() {
    let opts = Conv2dOptions::default();
    let cases = [
        // Pointwise (no im2col), grouped pointwise, "same" 3x3 (contiguous im2col), dilated
        // "same", strided, a kernel wider than the image with padding, depthwise, 1x1 input;
        // then enough channels for the row lowering: "same" 3x3, grouped, dilated, and
        // kernels with no row covering the whole output or input (OH != H).
        ([2, 4, 5, 7], [6, 4, 1, 1], opts),
        ([2, 4, 5, 7], [6, 2, 1, 1], opts.groups(2)),
        ([2, 3, 6, 5], [4, 3, 3, 3], opts.padding(1)),
        ([1, 2, 9, 8], [3, 2, 3, 3], opts.padding(2).dilation(2)),
        (
            [2, 3, 9, 8],
            [2, 3, 3, 2],
            opts.stride2([2, 3]).padding2([1, 0]),
        ),
        ([1, 2, 2, 3], [2, 2, 4, 5], opts.padding(2)),
        ([2, 4, 6, 6], [4, 1, 3, 3], opts.groups(4).padding(1)),
        ([1, 1, 1, 1], [1, 1, 1, 1], opts.padding(2).stride(2)),
        ([2, 16, 6, 7], [4, 16, 3, 3], opts.padding(1)),
        ([1, 28, 5, 5], [6, 14, 3, 3], opts.padding(1).groups(2)),
        ([1, 16, 7, 7], [2, 16, 3, 3], opts.padding(2).dilation(2)),
        ([2, 20, 5, 6], [3, 20, 2, 3], opts.padding2([0, 1])),
        ([1, 14, 4, 6], [2, 14, 4, 3], opts.padding2([2, 1])),
    ];
    for (k, (xs, ws, o)) in cases.into_iter().enumerate() {
        let g = Conv2dGeometry::new(&xs, &ws, o).unwrap();
        let seed = 100 + k as u64;
        let (x, w) = (
            data(xs.iter().product(), seed),
            data(ws.iter().product(), seed + 7),
        );
        let (b, dy) = (
            data(g.o, seed + 8),
            data(g.output_shape().iter().product(), seed + 9),
        );
        let [y, dx, dw] = reference(&g, &x, &w, &b, &dy);
        assert_close("y", &conv2d_forward(&g, &x, &w, Some(&b)), &y, &g);
        assert_close("dx", &conv2d_backward_input(&g, &w, &dy), &dx, &g);
        assert_close("dw", &conv2d_backward_weight(&g, &x, &dy), &dw, &g);
    }
}

#[test]
fn hand_computed_convolution() {
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, -1]], bias 10: y[i][j] =
    // 10 + x[i][j] - x[i+1][j+1] = 10 - 4 everywhere.
    let g = Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], Conv2dOptions::default()).unwrap();
    let x: Vec<f64> = (1..=9).map(f64::from).collect();
    let y = conv2d_forward(&g, &x, &[1.0, 0.0, 0.0, -1.0], Some(&[10.0]));
    assert_eq!(y, vec![6.0; 4]);
    let dx = conv2d_backward_input(&g, &[1.0, 0.0, 0.0, -1.0], &[1.0; 4]);
    assert_eq!(dx, vec![1.0, 1.0, 0.0, 1.0, 0.0, -1.0, 0.0, -1.0, -1.0]);
    let dw = conv2d_backward_weight(&g, &x, &[1.0; 4]);
    assert_eq!(dw, vec![12.0, 16.0, 24.0, 28.0]);
    assert_eq!(conv2d_backward_bias(&g, &[1.0, 2.0, 3.0, 4.0]), vec![10.0]);
}

#[test]
fn f32_matches_f64() {
    // Grouped im2col, then enough channels for the row lowering (48 = 16 * 3).
    let d = Conv2dOptions::default().padding(1);
    // Then the 3x3 depthwise kernels (fused multiply-adds where the CPU has them), stride 1, 2.
    for (xs, ws, o) in [
        ([2, 4, 9, 9], [6, 2, 3, 3], d.groups(2)),
        ([2, 16, 9, 9], [8, 16, 3, 3], d),
        ([2, 4, 9, 45], [4, 1, 3, 3], d.groups(4)),
        ([2, 4, 9, 45], [8, 1, 3, 3], d.groups(4).stride(2)),
    ] {
        let g = Conv2dGeometry::new(&xs, &ws, o).unwrap();
        let x = data(xs.iter().product(), 1);
        let (w, dy) = (
            data(ws.iter().product(), 2),
            data(g.output_shape().iter().product(), 3),
        );
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let pairs = [
            (
                conv2d_forward(&g, &f(&x), &f(&w), None),
                conv2d_forward(&g, &x, &w, None),
            ),
            (
                conv2d_backward_input(&g, &f(&w), &f(&dy)),
                conv2d_backward_input(&g, &w, &dy),
            ),
            (
                conv2d_backward_weight(&g, &f(&x), &f(&dy)),
                conv2d_backward_weight(&g, &x, &dy),
            ),
        ];
        for (single, double) in pairs {
            assert_eq!(single.len(), double.len());
            for (a, b) in single.iter().zip(&double) {
                assert!(
                    (f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn output_shapes_follow_pytorch() {
    let shape = |xs: [usize; 4], ws: [usize; 4], o: Conv2dOptions| {
        Conv2dGeometry::new(&xs, &ws, o).unwrap().output_shape()
    };
    let d = Conv2dOptions::default();
    assert_eq!(
        shape([1, 1, 28, 28], [8, 1, 3, 3], d.padding(1)),
        [1, 8, 28, 28]
    );
    assert_eq!(
        shape([4, 3, 32, 32], [16, 3, 3, 3], d.stride(2).padding(1)),
        [4, 16, 16, 16]
    );
    assert_eq!(
        shape([1, 2, 7, 7], [1, 2, 3, 3], d.dilation(2)),
        [1, 1, 3, 3]
    );
    assert_eq!(shape([2, 3, 8, 8], [5, 3, 3, 3], d), [2, 5, 6, 6]);
    assert_eq!(
        shape([1, 3, 224, 224], [64, 3, 7, 7], d.stride(2).padding(3)),
        [1, 64, 112, 112]
    );
    assert_eq!(
        shape(
            [1, 3, 10, 7],
            [2, 3, 3, 2],
            d.stride2([3, 2]).padding2([1, 0])
        ),
        [1, 2, 4, 3]
    );
    assert_eq!(shape([1, 6, 5, 5], [9, 2, 1, 1], d.groups(3)), [1, 9, 5, 5]);
    assert_eq!(shape([0, 3, 5, 5], [4, 3, 5, 5], d), [0, 4, 1, 1]);
    let g = Conv2dGeometry::new(&[2, 4, 8, 8], &[6, 2, 3, 3], d.padding(1).groups(2)).unwrap();
    assert_eq!(g.flops(), 2 * 2 * 6 * 64 * 2 * 9);
    assert_eq!(
        Conv2dOptions::default(),
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1
        }
    );
}

#[test]
fn invalid_geometries_name_both_shapes() {
    let d = Conv2dOptions::default();
    let cases: [(&[usize], &[usize], Conv2dOptions, &str); 11] = [
        (&[2, 3, 8], &[16, 3, 3, 3], d, "rank 4"),
        (&[2, 3, 8, 8], &[16, 3, 3], d, "rank 4"),
        (
            &[2, 3, 8, 8],
            &[16, 4, 3, 3],
            d,
            "has 3 channels but weight [16, 4, 3, 3] expects 4 (groups 1)",
        ),
        (
            &[2, 4, 8, 8],
            &[6, 4, 3, 3],
            d.groups(2),
            "expects 8 (groups 2)",
        ),
        (
            &[2, 4, 8, 8],
            &[5, 2, 3, 3],
            d.groups(2),
            "not divisible by groups 2",
        ),
        (&[2, 3, 8, 8], &[16, 3, 3, 3], d.stride(0), "must be >= 1"),
        (&[2, 3, 8, 8], &[16, 3, 3, 3], d.dilation(0), "must be >= 1"),
        (&[2, 3, 8, 8], &[16, 3, 3, 3], d.groups(0), "must be >= 1"),
        (&[2, 3, 2, 8], &[16, 3, 3, 3], d, "does not fit"),
        (&[2, 3, 5, 5], &[16, 3, 3, 3], d.dilation(3), "does not fit"),
        (&[2, 3, 8, 8], &[16, 3, 0, 3], d, "must be >= 1"),
    ];
    for (xs, ws, o, msg) in cases {
        let err = Conv2dGeometry::new(xs, ws, o).unwrap_err();
        assert!(err.starts_with("conv2d: input "), "{err}");
        assert!(
            err.contains(&format!("{xs:?}")) && err.contains(&format!("{ws:?}")),
            "{err}"
        );
        assert!(err.contains(msg), "{err} lacks {msg}");
    }
}

#[test]
#[should_panic(expected = "conv2d_forward: w has 26 elements but shape [1, 3, 3, 3] needs 27")]
fn forward_rejects_short_weight() {
    let g = Conv2dGeometry::new(&[1, 3, 4, 4], &[1, 3, 3, 3], Conv2dOptions::default()).unwrap();
    conv2d_forward(&g, &[0.0f32; 48], &[0.0; 26], None);
}

#[test]
#[should_panic(expected = "conv2d_backward_input: dy has 3 elements but shape [1, 1, 2, 2]")]
fn backward_rejects_wrong_dy() {
    let g = Conv2dGeometry::new(&[1, 3, 4, 4], &[1, 3, 3, 3], Conv2dOptions::default()).unwrap();
    conv2d_backward_input(&g, &[0.0f64; 27], &[0.0; 3]);
}

/// Random depthwise geometries: channels 2-8 (groups = channels), multiplier 1-4, kernel 1-5,
/// stride 1-3, padding 0-2, dilation 1-2, sizes 1-12.
fn depthwise_geometry() -> impl Strategy<Value = Conv2dGeometry> {
    let pair = |lo: usize, hi: usize| [lo..=hi, lo..=hi];
    (
        1..=2usize,
        2..=8usize,
        1..=4usize,
        pair(1, 12),
        pair(1, 5),
        (pair(1, 3), pair(0, 2), pair(1, 2)),
    )
        .prop_filter_map("output smaller than 1", |(n, c, m, hw, k, (s, p, d))| {
            let opts = Conv2dOptions {
                stride: s,
                padding: p,
                dilation: d,
                groups: c,
            };
            Conv2dGeometry::new(&[n, c, hw[0], hw[1]], &[m * c, 1, k[0], k[1]], opts).ok()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The direct depthwise kernels agree with the general GEMM path and the naive loops.
    #[test]
    fn depthwise_matches_general_path(g in depthwise_geometry(), seed in any::<u64>()) {
        prop_assert!(depthwise::applies(&g));
        let x = data(g.n * g.c * g.h * g.w, seed);
        let w = data(g.o * g.kh * g.kw, seed ^ 1);
        let b = data(g.o, seed ^ 2);
        let dy = data(g.output_shape().iter().product(), seed ^ 3);
        let [y, dx, dw] = reference(&g, &x, &w, &b, &dy);
        let direct_y = depthwise::forward(&g, &x, &w, Some(&b));
        assert_close("y", &direct_y, &forward(&g, &x, &w, Some(&b), usize::MAX), &g);
        assert_close("y", &direct_y, &y, &g);
        let direct_dx = depthwise::backward_input(&g, &w, &dy);
        assert_close("dx", &direct_dx, &backward_input(&g, &w, &dy, usize::MAX), &g);
        assert_close("dx", &direct_dx, &dx, &g);
        let direct_dw = depthwise::backward_weight(&g, &x, &dy);
        assert_close("dw", &direct_dw, &backward_weight(&g, &x, &dy), &g);
        assert_close("dw", &direct_dw, &dw, &g);
        assert_close("dx", &conv2d_backward_input(&g, &w, &dy), &dx, &g);
    }
}

/// The 3x3 depthwise kernels on rows wide enough for every block size (32, 16, 8 and single
/// outputs: 56 = 32 + 16 + 8, 61, 63), at strides 1 and 2 in either dimension, paddings 0-2,
/// multipliers 1-2 and odd sizes, against the naive loops and the GEMM path.
#[test]
fn depthwise_3x3_wide_rows_match_naive_loops() {
    let d = Conv2dOptions::default();
    let cases = [
        ([2, 3, 6, 56], 1, d.padding(1)),
        ([1, 2, 7, 63], 1, d.padding(1)),
        ([1, 2, 7, 61], 2, d.padding(1)),
        ([2, 3, 7, 56], 1, d.padding(1).stride(2)),
        ([1, 2, 9, 63], 1, d.padding(1).stride(2)),
        ([1, 2, 8, 61], 2, d.padding(1).stride(2)),
        ([1, 2, 5, 60], 1, d.padding(0).stride(2)),
        ([1, 2, 5, 59], 1, d.padding(2).stride(2)),
        ([1, 2, 5, 58], 1, d.padding(2)),
        ([1, 2, 9, 57], 1, d.padding(1).stride2([2, 1])),
        ([1, 2, 9, 57], 1, d.padding(1).stride2([1, 2])),
        ([1, 2, 3, 3], 1, d.stride(2)),
    ];
    for (k, (xs, m, o)) in cases.into_iter().enumerate() {
        let ws = [xs[1] * m, 1, 3, 3];
        let g = Conv2dGeometry::new(&xs, &ws, o.groups(xs[1])).unwrap();
        assert!(depthwise::applies(&g));
        let seed = 300 + k as u64;
        let (x, w) = (
            data(xs.iter().product(), seed),
            data(ws.iter().product(), seed + 1),
        );
        let (b, dy) = (
            data(g.o, seed + 2),
            data(g.output_shape().iter().product(), seed + 3),
        );
        let [y, dx, _] = reference(&g, &x, &w, &b, &dy);
        let direct_y = conv2d_forward(&g, &x, &w, Some(&b));
        assert_close("y", &direct_y, &y, &g);
        assert_close(
            "y",
            &direct_y,
            &forward(&g, &x, &w, Some(&b), usize::MAX),
            &g,
        );
        let direct_dx = conv2d_backward_input(&g, &w, &dy);
        assert_close("dx", &direct_dx, &dx, &g);
        assert_close(
            "dx",
            &direct_dx,
            &backward_input(&g, &w, &dy, usize::MAX),
            &g,
        );
    }
}
