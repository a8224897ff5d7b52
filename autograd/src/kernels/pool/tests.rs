use super::*;
use proptest::prelude::*;

/// Deterministic values in [-1, 1) (xorshift64*); with `levels > 0` rounded to that many
/// steps, so windows hold ties.
fn data(len: usize, seed: u64, levels: u32) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let v =
                (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64 - 1.0;
            if levels == 0 {
                v
            } else {
                (v * f64::from(levels)).floor()
            }
        })
        .collect()
}

/// The flat input indices of window `(n, c, i, j)` inside the image, in scan order.
fn window(g: &Pool2dGeometry, n: usize, c: usize, i: usize, j: usize) -> Vec<usize> {
    let o = &g.options;
    let mut out = Vec::new();
    for p in 0..o.kernel[0] {
        for q in 0..o.kernel[1] {
            let r = (i * o.stride[0] + p) as isize - o.pads[0] as isize;
            let s = (j * o.stride[1] + q) as isize - o.pads[1] as isize;
            if r >= 0 && s >= 0 && (r as usize) < g.h && (s as usize) < g.w {
                out.push(((n * g.c + c) * g.h + r as usize) * g.w + s as usize);
            }
        }
    }
    out
}

/// PyTorch's average-pool divisor of window `(i, j)`, as its CPU kernel computes it: the window
/// clipped to the padded input, or (without `count_include_pad`) its in-image element count.
fn divisor(g: &Pool2dGeometry, i: usize, j: usize) -> f64 {
    let o = &g.options;
    if !o.count_include_pad {
        return window(g, 0, 0, i, j).len() as f64;
    }
    let hstart = (i * o.stride[0]) as isize - o.pads[0] as isize;
    let wstart = (j * o.stride[1]) as isize - o.pads[1] as isize;
    let hend = (hstart + o.kernel[0] as isize).min((g.h + o.pads[2]) as isize);
    let wend = (wstart + o.kernel[1] as isize).min((g.w + o.pads[3]) as isize);
    ((hend - hstart) * (wend - wstart)) as f64
}

/// All windows in output order.
fn windows(g: &Pool2dGeometry) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for n in 0..g.n {
        for c in 0..g.c {
            for i in 0..g.out_h {
                for j in 0..g.out_w {
                    out.push(window(g, n, c, i, j));
                }
            }
        }
    }
    out
}

fn geometry() -> impl Strategy<Value = Pool2dGeometry> {
    let pair = |lo: usize, hi: usize| [lo..=hi, lo..=hi];
    (
        1..=2usize,
        1..=3usize,
        pair(1, 9),
        pair(1, 4),
        pair(1, 3),
        [0..=2usize, 0..=2, 0..=2, 0..=2],
        any::<[bool; 2]>(),
    )
        .prop_filter_map("invalid pooling", |(n, c, hw, k, s, pads, [ceil, cip])| {
            let opts = Pool2dOptions {
                kernel: k,
                stride: s,
                pads,
                ceil_mode: ceil,
                count_include_pad: cip,
            };
            Pool2dGeometry::new(&[n, c, hw[0], hw[1]], opts).ok()
        })
}

/// Checks max pooling against the windows: the value is the maximum, the index the first
/// position holding it; the gradient is the scatter of `dy` through those indices.
fn check_max_pool(g: &Pool2dGeometry, x: &[f64], seed: u64) {
    let (y, argmax) = max_pool2d_forward(g, x);
    let dy = data(y.len(), seed ^ 5, 0);
    let mut dx = vec![0.0; x.len()];
    for (k, win) in windows(g).iter().enumerate() {
        let best = win.iter().map(|&t| x[t]).fold(f64::NEG_INFINITY, f64::max);
        let first = *win.iter().find(|&&t| x[t] == best).unwrap();
        assert_eq!(
            (y[k], argmax[k] as usize),
            (best, first),
            "output {k}, {g:?}"
        );
        dx[first] += dy[k];
    }
    assert_eq!(max_pool2d_backward(g, &argmax, &dy), dx, "{g:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn max_pool_matches_windows(g in geometry(), seed in any::<u64>(), levels in 0..4u32) {
        check_max_pool(&g, &data(g.input_shape().iter().product(), seed, levels), seed);
    }

    #[test]
    fn avg_pool_matches_windows(g in geometry(), seed in any::<u64>()) {
        let x = data(g.input_shape().iter().product(), seed, 0);
        let dy = data(g.output_shape().iter().product(), seed ^ 9, 0);
        let y = avg_pool2d_forward(&g, &x);
        let mut dx = vec![0.0; x.len()];
        for (k, win) in windows(&g).iter().enumerate() {
            let plane = k % (g.out_h * g.out_w);
            let size = divisor(&g, plane / g.out_w, plane % g.out_w);
            prop_assert!(!win.is_empty(), "empty window {k} in {g:?}");
            let want = win.iter().map(|&t| x[t]).sum::<f64>() / size;
            let close = (y[k] - want).abs() <= 1e-12 * want.abs().max(1.0);
            prop_assert!(close, "{} vs {}", y[k], want);
            win.iter().for_each(|&t| dx[t] += dy[k] / size);
        }
        for (a, b) in avg_pool2d_backward(&g, &dy).iter().zip(&dx) {
            prop_assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{} vs {}", a, b);
        }
    }

    /// The 2x2 fast path agrees with the general loop, ties and NaNs included.
    #[test]
    fn fast_2x2_matches_general(n in 1..=2usize, c in 1..=3usize, h in 2..=9usize,
                                w in 2..=9usize,
                                seed in any::<u64>(), levels in 0..3u32, nan in any::<bool>()) {
        let g = Pool2dGeometry::new(&[n, c, h, w], Pool2dOptions::new(2)).unwrap();
        let mut x = data(n * c * h * w, seed, levels);
        if nan {
            x.iter_mut().step_by(5).for_each(|v| *v = f64::NAN);
        }
        let len = g.output_shape().iter().product();
        let (mut y1, mut a1) = (vec![0.0; len], vec![0; len]);
        let (mut y2, mut a2) = (vec![0.0; len], vec![0; len]);
        max_pool_2x2(&g, &x, &mut y1, &mut a1);
        max_pool_generic(&g, &x, &mut y2, &mut a2);
        prop_assert_eq!(a1, a2);
        prop_assert!(y1.iter().zip(&y2).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
        if !nan {
            check_max_pool(&g, &x, seed);
        }
    }
}

#[test]
fn max_pool_hand_case() {
    // One 4x4 plane, 2x2 windows: maxima 6 (index 5), 8 (index 7), 14 (index 13), 16 (index 15)
    // for x = 1..=16; then a plane with its largest value moved.
    let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(2)).unwrap();
    let mut x: Vec<f32> = (1..=16u8).map(f32::from).collect();
    assert_eq!(
        max_pool2d_forward(&g, &x),
        (vec![6.0, 8.0, 14.0, 16.0], vec![5, 7, 13, 15])
    );
    x[0] = 99.0;
    x[10] = -1.0;
    assert_eq!(
        max_pool2d_forward(&g, &x),
        (vec![99.0, 8.0, 14.0, 16.0], vec![0, 7, 13, 15])
    );
    let dx = max_pool2d_backward(&g, &[0, 7, 13, 15], &[1.0, 2.0, 3.0, 4.0]);
    let mut want = vec![0.0f32; 16];
    (want[0], want[7], want[13], want[15]) = (1.0, 2.0, 3.0, 4.0);
    assert_eq!(dx, want);
    // Indices are flat into the whole input: the second sample's planes are offset by 16.
    let g2 = Pool2dGeometry::new(&[2, 1, 4, 4], Pool2dOptions::new(4)).unwrap();
    let x2: Vec<f64> = (0..32).map(|k| if k == 20 { 50.0 } else { 0.0 }).collect();
    assert_eq!(max_pool2d_forward(&g2, &x2), (vec![0.0, 50.0], vec![0, 20]));
}

#[test]
fn max_pool_ties_keep_first_and_padding_is_never_chosen() {
    // 3x3 window, stride 1, padding 1 on an all-equal (negative) plane: every window's argmax
    // is its first in-image element, never the padding.
    let g = Pool2dGeometry::new(&[1, 1, 3, 3], Pool2dOptions::new(3).stride(1).padding(1)).unwrap();
    let (y, argmax) = max_pool2d_forward(&g, &[-5.0f64; 9]);
    assert_eq!(y, vec![-5.0; 9]);
    assert_eq!(argmax, vec![0, 0, 1, 0, 0, 1, 3, 3, 4]);
    // All -inf: the first in-image element is still chosen.
    let (y, argmax) = max_pool2d_forward(&g, &[f64::NEG_INFINITY; 9]);
    assert!(y.iter().all(|&v| v == f64::NEG_INFINITY));
    assert_eq!(argmax, vec![0, 0, 1, 0, 0, 1, 3, 3, 4]);
}

#[test]
fn max_pool_overlapping_windows_accumulate() {
    // 3x3 windows, stride 1 on a 4x4 plane whose maximum (index 5) lies in all four windows.
    let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(3).stride(1)).unwrap();
    let mut x = [0.0f64; 16];
    x[5] = 9.0;
    let (y, argmax) = max_pool2d_forward(&g, &x);
    assert_eq!((y, argmax.clone()), (vec![9.0; 4], vec![5; 4]));
    let dx = max_pool2d_backward(&g, &argmax, &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(dx[5], 10.0);
    assert_eq!(dx.iter().sum::<f64>(), 10.0);
}

#[test]
fn max_pool_propagates_nan() {
    // The NaN wins its window wherever it sits, also in the fast 2x2 path; with two NaNs the
    // last one is recorded, as PyTorch's CPU kernel does.
    for opts in [
        Pool2dOptions::new(2),
        Pool2dOptions::new(3).stride(1).padding(1),
    ] {
        let g = Pool2dGeometry::new(&[1, 1, 4, 4], opts).unwrap();
        let mut x: Vec<f32> = (0..16u8).map(f32::from).collect();
        x[4] = f32::NAN;
        let (y, argmax) = max_pool2d_forward(&g, &x);
        let win = windows(&g);
        for (k, w) in win.iter().enumerate() {
            assert_eq!(y[k].is_nan(), w.contains(&4), "{opts:?} output {k}");
            if w.contains(&4) {
                assert_eq!(argmax[k], 4);
            }
        }
        x[1] = f32::NAN;
        let (y, argmax) = max_pool2d_forward(&g, &x);
        assert!(y[0].is_nan());
        assert_eq!(argmax[0], 4, "{opts:?}");
    }
}

#[test]
fn avg_pool_counts_padding_in_divisor() {
    // 2x2 plane [[1, 2], [3, 4]], 3x3 window, stride 1, padding 1: every window holds all four
    // values plus padding, so each output is 10 / 9 (count_include_pad = true).
    let g = Pool2dGeometry::new(&[1, 1, 2, 2], Pool2dOptions::new(3).stride(1).padding(1)).unwrap();
    assert_eq!(
        avg_pool2d_forward(&g, &[1.0f64, 2.0, 3.0, 4.0]),
        vec![10.0 / 9.0; 4]
    );
    // Each input sits in all four windows: dx = 4 * 9 / 9 when dy = 9.
    assert_eq!(avg_pool2d_backward(&g, &[9.0f64; 4]), vec![4.0; 4]);
    // Without padding: the plain mean of each 2x2 block.
    let g = Pool2dGeometry::new(&[1, 1, 2, 4], Pool2dOptions::new(2)).unwrap();
    let y = avg_pool2d_forward(&g, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    assert_eq!(y, vec![3.5, 5.5]);
    assert_eq!(
        avg_pool2d_backward(&g, &[4.0f32, 8.0]),
        vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]
    );
}

#[test]
fn output_shapes_follow_pytorch() {
    let shape =
        |xs: [usize; 4], o: Pool2dOptions| Pool2dGeometry::new(&xs, o).unwrap().output_shape();
    assert_eq!(
        shape([8, 16, 28, 28], Pool2dOptions::new(2)),
        [8, 16, 14, 14]
    );
    assert_eq!(shape([1, 1, 7, 7], Pool2dOptions::new(2)), [1, 1, 3, 3]);
    assert_eq!(
        shape([1, 1, 32, 32], Pool2dOptions::new(3).stride(2).padding(1)),
        [1, 1, 16, 16]
    );
    assert_eq!(
        shape([1, 1, 112, 112], Pool2dOptions::new(3).stride(2).padding(1)),
        [1, 1, 56, 56]
    );
    assert_eq!(
        shape([2, 3, 5, 9], Pool2dOptions::new2([1, 3]).stride2([1, 2])),
        [2, 3, 5, 4]
    );
    assert_eq!(shape([0, 3, 4, 4], Pool2dOptions::new(4)), [0, 3, 1, 1]);
    let o = Pool2dOptions::new(3);
    assert_eq!((o.kernel, o.stride, o.pads), ([3, 3], [3, 3], [0; 4]));
    assert!(!o.ceil_mode && o.count_include_pad);
    // ceil_mode: 5 -> 3 with window 2, stride 2 (the last window starts inside the input); with
    // window 3, stride 2, padding 1 on 6: 4 windows, 112 -> 57 for a ResNet stem with ceil.
    let ceil =
        |k: usize, s: usize, p: usize| Pool2dOptions::new(k).stride(s).padding(p).ceil_mode(true);
    assert_eq!(shape([1, 1, 5, 5], ceil(2, 2, 0)), [1, 1, 3, 3]);
    assert_eq!(shape([1, 1, 6, 6], ceil(3, 2, 1)), [1, 1, 4, 4]);
    assert_eq!(shape([1, 1, 112, 112], ceil(3, 2, 1)), [1, 1, 57, 57]);
    // The dropped window: 5 with window 2, stride 2, padding 1 gives (5+2-2)/2 rounded up + 1 = 4,
    // but window 3 would start at 3*2 - 1 = 5, in the bottom padding: 3.
    assert_eq!(shape([1, 1, 5, 5], ceil(2, 2, 1)), [1, 1, 3, 3]);
    // Asymmetric pads: rows 4 + 1 + 0, columns 4 + 0 + 1, window 3, stride 1.
    let o = Pool2dOptions::new(3).stride(1).pads([1, 0, 0, 1]);
    assert_eq!(shape([1, 1, 4, 4], o), [1, 1, 3, 3]);
}

#[test]
fn invalid_geometries_name_input_and_window() {
    let cases: [(&[usize], Pool2dOptions, &str); 8] = [
        (&[1, 4, 4], Pool2dOptions::new(2), "rank 4"),
        (
            &[1, 1, 4, 4],
            Pool2dOptions::new(0),
            "kernel and stride must be >= 1",
        ),
        (
            &[1, 1, 4, 4],
            Pool2dOptions::new(2).stride(0),
            "kernel and stride must be >= 1",
        ),
        (
            &[1, 1, 4, 4],
            Pool2dOptions::new(2).padding(2),
            "at most half",
        ),
        (
            &[1, 1, 4, 4],
            Pool2dOptions::new2([3, 1]).padding2([1, 1]),
            "at most half",
        ),
        (
            &[1, 1, 4, 4],
            Pool2dOptions::new(2).pads([0, 0, 2, 0]),
            "padding [top, left, bottom, right] [0, 0, 2, 0]: padding must be at most half",
        ),
        (&[1, 1, 2, 8], Pool2dOptions::new(3), "does not fit"),
        (&[1, 0, 4, 4], Pool2dOptions::new(2), "must be >= 1"),
    ];
    for (xs, o, msg) in cases {
        let err = Pool2dGeometry::new(xs, o).unwrap_err();
        assert!(
            err.starts_with(&format!("pool2d: input {xs:?} with kernel {:?}", o.kernel)),
            "{err}"
        );
        assert!(err.contains(msg), "{err} lacks {msg}");
    }
}

#[test]
#[should_panic(expected = "max_pool2d_backward: dy has 3 elements but shape [1, 1, 2, 2] needs 4")]
fn backward_rejects_wrong_dy() {
    let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(2)).unwrap();
    max_pool2d_backward(&g, &[0; 4], &[0.0f32; 3]);
}
