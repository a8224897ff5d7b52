//! Convolution at the sizes real models use (32x32 images, 16-64 channels), where the kernels take
//! their fast paths (padded scratch rows, row lowering), against direct loops in f64.

use smoothgrad_autograd::kernels::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dGeometry, Conv2dOptions,
};
use smoothgrad_autograd::Tensor;

/// `y[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] x[n,c,i s - pad + p, j s - pad + q]` (groups 1,
/// dilation 1), by direct loops.
fn naive(x: &Tensor<f64>, w: &Tensor<f64>, stride: usize, pad: usize) -> Tensor<f64> {
    let [n, c, h, wd] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let [o, _, kh, kw] = <[usize; 4]>::try_from(w.shape()).unwrap();
    let (oh, ow) = (
        (h + 2 * pad - kh) / stride + 1,
        (wd + 2 * pad - kw) / stride + 1,
    );
    Tensor::from_fn(&[n, o, oh, ow], |idx| {
        let (b, rest) = (idx / (o * oh * ow), idx % (o * oh * ow));
        let (oc, rest) = (rest / (oh * ow), rest % (oh * ow));
        let (i, j) = (rest / ow, rest % ow);
        let mut s = 0.0;
        for ci in 0..c {
            for p in 0..kh {
                for q in 0..kw {
                    let (r, col) = (
                        (i * stride + p) as isize - pad as isize,
                        (j * stride + q) as isize - pad as isize,
                    );
                    if r >= 0 && col >= 0 && (r as usize) < h && (col as usize) < wd {
                        s += w.data()[((oc * c + ci) * kh + p) * kw + q]
                            * x.data()[((b * c + ci) * h + r as usize) * wd + col as usize];
                    }
                }
            }
        }
        s
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn realistic_geometries_match_direct_loops_and_backward_is_the_adjoint() {
    // (input, weight, stride, padding): the demo's and the benchmarks' layers.
    let cases: [([usize; 4], [usize; 4], usize, usize); 6] = [
        ([2, 3, 32, 32], [16, 3, 3, 3], 1, 1),
        ([2, 16, 16, 16], [32, 16, 3, 3], 1, 1),
        ([2, 32, 8, 8], [64, 32, 3, 3], 1, 1),
        ([2, 32, 32, 32], [32, 32, 3, 3], 1, 1),
        ([1, 64, 16, 16], [64, 64, 3, 3], 1, 1),
        ([1, 16, 33, 31], [8, 16, 3, 5], 2, 1),
    ];
    for (k, (xs, ws, stride, pad)) in cases.into_iter().enumerate() {
        let x = Tensor::<f64>::randn_seeded(&xs, k as u64);
        let w = Tensor::<f64>::randn_seeded(&ws, 100 + k as u64);
        let opts = Conv2dOptions::default().stride(stride).padding(pad);
        let g = Conv2dGeometry::new(&xs, &ws, opts).unwrap();
        let y = conv2d_forward(&g, x.data(), w.data(), None);
        let expected = naive(&x, &w, stride, pad);
        let err = y
            .iter()
            .zip(expected.data())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err < 1e-9,
            "case {k}: forward differs from direct loops by {err}"
        );
        // Adjoint identities: <dy, conv(x)> = <dx, x> and = <dw, w> (conv is linear in each).
        let dy = Tensor::<f64>::randn_seeded(&g.output_shape(), 200 + k as u64);
        let dx = conv2d_backward_input(&g, w.data(), dy.data());
        let dw = conv2d_backward_weight(&g, x.data(), dy.data());
        let lhs = dot(dy.data(), &y);
        for (name, rhs) in [
            ("input", dot(&dx, x.data())),
            ("weight", dot(&dw, w.data())),
        ] {
            assert!(
                (lhs - rhs).abs() < 1e-8 * lhs.abs().max(1.0),
                "case {k}: {name} backward is not the adjoint: {lhs} vs {rhs}"
            );
        }
    }
}
