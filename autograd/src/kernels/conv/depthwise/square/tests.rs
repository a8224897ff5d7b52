//! The square depthwise kernels (forward, input and weight gradients) against the naive loops
//! (`f64` to rounding, `f32` to a tight tolerance), and the per-sample determinism of the forward
//! pass and input gradient across batches and threads.

use super::super::super::tests::{data, reference};
use super::*;
use crate::kernels::conv::Conv2dOptions;

/// Odd and even sizes wide enough for every block size of the tap loop (32, 16, 8, single)
/// and small ones, kernels 3 and 5, strides 1 and 2 in each dimension, paddings 0-2 (and
/// asymmetric), multipliers 1-2, batches 1-3.
fn geometries() -> Vec<Conv2dGeometry> {
    let d = Conv2dOptions::default();
    let mut out = Vec::new();
    for k in [3usize, 5] {
        for (n, c, m, [h, w]) in [
            (2, 3, 1, [9, 57]),
            (3, 2, 2, [7, 63]),
            (1, 2, 1, [11, 13]),
            (2, 2, 1, [6, 6]),
            (1, 3, 2, [5, 5]),
            (2, 2, 1, [8, 40]),
        ] {
            for s in [[1, 1], [2, 2], [1, 2], [2, 1]] {
                for p in [[0, 0], [1, 1], [2, 2], [1, 2], [2, 0]] {
                    let o = d.stride2(s).padding2(p).groups(c);
                    if let Ok(g) = Conv2dGeometry::new(&[n, c, h, w], &[m * c, 1, k, k], o) {
                        out.push(g);
                    }
                }
            }
        }
    }
    out
}

/// `|a - b| <= tol * max(|b|, 1)` elementwise.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64, g: &Conv2dGeometry) {
    assert_eq!(got.len(), want.len(), "{what}: length, {g:?}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}[{k}]: {a} vs {b}, {g:?}"
        );
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| f64::from(a)).collect()
}

#[test]
fn match_naive_loops_in_f64_and_f32() {
    let all = geometries();
    assert!(all.len() > 200, "{} geometries", all.len());
    for (k, g) in all.iter().enumerate() {
        assert!(applies(g) && super::super::applies(g), "{g:?}");
        let seed = 1000 + 4 * k as u64;
        let x = data(g.n * g.c * g.h * g.w, seed);
        let w = data(g.o * g.kh * g.kw, seed + 1);
        let b = data(g.o, seed + 2);
        let dy = data(g.output_shape().iter().product(), seed + 3);
        let [y, dx, dw] = reference(g, &x, &w, &b, &dy);
        assert_close("y", &forward(g, &x, &w, Some(&b)), &y, 1e-13, g);
        assert_close("dx", &backward_input(g, &w, &dy), &dx, 1e-13, g);
        assert_close("dw", &backward_weight(g, &x, &dy), &dw, 1e-13, g);
        // f32 inputs: the f64 reference on the same rounded values, 25 taps of size <= 1.
        let (xf, wf, bf, dyf) = (to_f32(&x), to_f32(&w), to_f32(&b), to_f32(&dy));
        let [y, dx, dw] = reference(g, &to_f64(&xf), &to_f64(&wf), &to_f64(&bf), &to_f64(&dyf));
        let yf = forward(g, &xf, &wf, Some(&bf));
        assert_close("y f32", &to_f64(&yf), &y, 1e-5, g);
        let dxf = backward_input(g, &wf, &dyf);
        assert_close("dx f32", &to_f64(&dxf), &dx, 1e-5, g);
        // dw sums up to n * out_h * out_w products (about 1500 here).
        let dwf = backward_weight(g, &xf, &dyf);
        assert_close("dw f32", &to_f64(&dwf), &dw, 1e-4, g);
    }
}

/// The input gradient's phase decomposition on every plane size from 1x1 to 17x17 (odd and even
/// in each dimension, so the phases of `dx` differ in size by one or not), kernels 3 and 5 with
/// PyTorch's padding `K / 2` and others, at strides 2x2, 1x2, 2x1, 1x1 and a row stride of 3
/// (a phase with fewer taps than rows of the kernel), against the naive loops in `f64` and `f32`.
#[test]
fn input_gradient_matches_naive_loops_on_every_small_size() {
    let d = Conv2dOptions::default();
    let mut checked = 0;
    for k in [3usize, 5] {
        for s in [[2, 2], [1, 2], [2, 1], [1, 1], [3, 2]] {
            for p in [[k / 2, k / 2], [0, 1], [k - 1, 0], [3, 2]] {
                for h in 1..=17 {
                    for w in 1..=17 {
                        let (n, c, m) = (1 + (h + w) % 2, 2, 1 + (h * w) % 2);
                        let o = d.stride2(s).padding2(p).groups(c);
                        let Ok(g) = Conv2dGeometry::new(&[n, c, h, w], &[m * c, 1, k, k], o) else {
                            continue;
                        };
                        assert!(applies(&g), "{g:?}");
                        let seed = 50_000 + 4 * checked;
                        let x = data(n * c * h * w, seed);
                        let wk = data(g.o * k * k, seed + 1);
                        let b = data(g.o, seed + 2);
                        let dy = data(g.output_shape().iter().product(), seed + 3);
                        let [_, dx, _] = reference(&g, &x, &wk, &b, &dy);
                        assert_close("dx", &backward_input(&g, &wk, &dy), &dx, 1e-13, &g);
                        let (wf, dyf) = (to_f32(&wk), to_f32(&dy));
                        let [_, dx, _] = reference(&g, &x, &to_f64(&wf), &b, &to_f64(&dyf));
                        let got = to_f64(&backward_input(&g, &wf, &dyf));
                        assert_close("dx f32", &got, &dx, 1e-5, &g);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 4000, "{checked} geometries");
}

/// The planes of sample `n` of a batched tensor of `[batch, channels, plane]`.
fn sample<T: Copy>(v: &[T], per_sample: usize, n: usize) -> Vec<T> {
    v[n * per_sample..][..per_sample].to_vec()
}

/// A sample's output and input gradient are the same bits alone, in a batch of three and on
/// another thread.
#[test]
fn samples_do_not_depend_on_their_batch_or_thread() {
    let d = Conv2dOptions::default();
    let cases = [
        (3, [1, 1], 1, [23, 45]),
        (3, [2, 2], 1, [23, 45]),
        (3, [2, 2], 1, [24, 44]),
        (5, [1, 1], 2, [23, 45]),
        (5, [2, 2], 2, [23, 45]),
        (5, [2, 2], 1, [22, 17]),
        (3, [1, 2], 1, [23, 45]),
        (5, [2, 1], 2, [16, 45]),
        (5, [3, 2], 2, [23, 45]),
    ];
    for (k, s, p, [h, w]) in cases {
        let c = 4;
        let opts = d.stride2(s).padding(p).groups(c);
        let batch = Conv2dGeometry::new(&[3, c, h, w], &[c, 1, k, k], opts).unwrap();
        let one = Conv2dGeometry::new(&[1, c, h, w], &[c, 1, k, k], opts).unwrap();
        let x = to_f32(&data(3 * c * h * w, 7));
        let wk = to_f32(&data(c * k * k, 8));
        let b = to_f32(&data(c, 9));
        let dy = to_f32(&data(batch.output_shape().iter().product(), 10));
        let (y, dx) = (
            forward(&batch, &x, &wk, Some(&b)),
            backward_input(&batch, &wk, &dy),
        );
        let (per_x, per_y) = (c * h * w, y.len() / 3);
        let alone = |n: usize| {
            let xn = sample(&x, per_x, n);
            let dyn_ = sample(&dy, per_y, n);
            (
                forward(&one, &xn, &wk, Some(&b)),
                backward_input(&one, &wk, &dyn_),
            )
        };
        let threaded: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3).map(|n| scope.spawn(move || alone(n))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (n, (ty, tdx)) in threaded.into_iter().enumerate() {
            let (ay, adx) = alone(n);
            let bits = |v: &[f32]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&ay),
                bits(&sample(&y, per_y, n)),
                "y, sample {n}, k {k} s {s:?}"
            );
            assert_eq!(bits(&adx), bits(&sample(&dx, per_x, n)), "dx, sample {n}");
            assert_eq!(bits(&ty), bits(&ay), "y on another thread, sample {n}");
            assert_eq!(bits(&tdx), bits(&adx), "dx on another thread, sample {n}");
        }
    }
}
