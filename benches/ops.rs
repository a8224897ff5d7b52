//! Criterion benchmarks of the autograd kernels, in GFLOP/s (criterion's "elements/s" with one
//! element per floating-point operation), each beside `matrixmultiply::sgemm` on a GEMM of the
//! same FLOPs, measured in the same run.
//!
//! `cargo bench --bench ops` (all) or `cargo bench --bench ops -- conv2d` (one group); the `sgemm`
//! group compares our `f32` GEMM with `matrixmultiply::sgemm`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smoothgrad_autograd::kernels::conv::{
    conv2d_backward_input, conv2d_backward_input_using, conv2d_backward_weight, conv2d_forward,
    conv2d_forward_using, Conv2dAlgorithm, Conv2dGeometry,
};
use smoothgrad_autograd::{Conv2dOptions, Tape, Tensor};

/// `C = A B` with `A: m x k`, `B: k x n` straight through `matrixmultiply::sgemm`.
fn sgemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: a is m*k, b is k*n and c is m*n, all row-major, as the strides say.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `C = A B` (row-major, `A: m x k`, `B: k x n`) through our AVX-512 GEMM.
fn ours(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: a is m*k, b is k*n and c is m*n, all row-major, as the strides say.
    unsafe {
        smoothgrad_autograd::kernels::gemm::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Our `f32` GEMM against `matrixmultiply::sgemm` on square, convolution-like (`m` = output
/// channels, `k = C * 9`, `n = H * W`) and MLP-like shapes, both single-threaded, in the same run.
fn bench_sgemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    group.sample_size(10);
    for &(m, k, n) in &[
        (1024, 1024, 1024),
        (64, 576, 3136),
        (512, 4608, 49),
        (128, 1152, 784),
        (256, 2304, 196),
        (16, 27, 12544),
        (50, 784, 256),
        (256, 784, 50),
    ] {
        let label = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let a = Tensor::<f32>::randn_seeded(&[m, k], 0);
        let b = Tensor::<f32>::randn_seeded(&[k, n], 1);
        let mut out = vec![0.0f32; m * n];
        group.bench_function(BenchmarkId::new("matrixmultiply", &label), |bench| {
            bench.iter(|| sgemm(m, k, n, a.data(), b.data(), black_box(&mut out)));
        });
        group.bench_function(BenchmarkId::new("ours", &label), |bench| {
            bench.iter(|| ours(m, k, n, a.data(), b.data(), black_box(&mut out)));
        });
    }
    group.finish();
}

fn bench_matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for &(m, k, n) in &[
        (64, 784, 256),
        (50, 256, 256),
        (256, 256, 256),
        (512, 512, 512),
    ] {
        let label = format!("{m}x{k}x{n}");
        let flops = 2 * m * k * n;
        group.throughput(Throughput::Elements(flops as u64));
        let a = Tensor::<f32>::randn_seeded(&[m, k], 0);
        let b = Tensor::<f32>::randn_seeded(&[k, n], 1);
        group.bench_with_input(BenchmarkId::new("sgemm", &label), &(), |bench, _| {
            let mut out = vec![0.0f32; m * n];
            bench.iter(|| sgemm(m, k, n, a.data(), b.data(), black_box(&mut out)));
        });
        group.bench_with_input(BenchmarkId::new("forward", &label), &(), |bench, _| {
            bench.iter(|| {
                let tape = Tape::new();
                black_box(
                    tape.constant(a.clone())
                        .matmul(tape.constant(b.clone()))
                        .value(),
                )
            });
        });
        // Forward plus the gradient of both operands: three GEMMs.
        group.throughput(Throughput::Elements(3 * flops as u64));
        group.bench_with_input(
            BenchmarkId::new("forward+backward", &label),
            &(),
            |bench, _| {
                bench.iter(|| {
                    let tape = Tape::new();
                    let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
                    let y = va.matmul(vb);
                    black_box(tape.backward_with(y, Tensor::ones(&[m, n])).wrt(va))
                });
            },
        );
    }
    group.finish();
}

/// The yardstick: batch 50, 32 -> 32 channels, 32x32, 3x3, padding 1; forward plus the
/// input gradient (what explaining a model needs), against sgemm on a GEMM of the same FLOPs.
fn bench_conv2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d");
    group.sample_size(20);
    let cases: [(&str, [usize; 4], [usize; 4]); 3] = [
        ("b50_c32_32x32", [50, 32, 32, 32], [32, 32, 3, 3]),
        ("b50_c3_32x32", [50, 3, 32, 32], [32, 3, 3, 3]),
        ("b50_c64_16x16", [50, 64, 16, 16], [64, 64, 3, 3]),
    ];
    for (label, xs, ws) in cases {
        let x = Tensor::<f32>::randn_seeded(&xs, 0);
        let w = Tensor::<f32>::randn_seeded(&ws, 1);
        let opts = Conv2dOptions::default().padding(1);
        // Per sample: an [O, C*9] x [C*9, H*W] GEMM forward, and one of the same size backward.
        let (m, k, n) = (ws[0], ws[1] * 9, xs[2] * xs[3]);
        let flops = 2 * xs[0] * m * k * n;
        group.throughput(Throughput::Elements(2 * flops as u64));
        group.bench_function(BenchmarkId::new("forward+input_backward", label), |bench| {
            bench.iter(|| {
                let tape = Tape::new();
                let vx = tape.var(x.clone());
                let y = vx.conv2d(tape.constant(w.clone()), None, opts);
                let seed = Tensor::ones(&y.shape());
                black_box(tape.backward_with(y, seed).wrt(vx))
            });
        });
        // sgemm on one GEMM with the same FLOPs: [O, C*9] x [C*9, 2 * N * H * W].
        let a = Tensor::<f32>::randn_seeded(&[m, k], 2);
        let b = Tensor::<f32>::randn_seeded(&[k, 2 * xs[0] * n], 3);
        group.bench_function(BenchmarkId::new("sgemm_same_flops", label), |bench| {
            let mut out = vec![0.0f32; m * 2 * xs[0] * n];
            bench.iter(|| sgemm(m, k, 2 * xs[0] * n, a.data(), b.data(), black_box(&mut out)));
        });
    }
    group.finish();
}

/// The forward and input-gradient kernels of the workloads' dense 3x3 layers (cifar's and
/// vgg64's, batch 25 as each of two threads runs them) by each algorithm, in effective GFLOP/s
/// (the direct convolution's FLOPs over the time): GEMM lowering against Winograd `F(2x2, 3x3)`
/// and `F(4x4, 3x3)`, in one run (`cargo bench --bench ops -- conv2d_algorithms`).
fn bench_conv2d_algorithms(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d_algorithms");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(2));
    group.warm_up_time(std::time::Duration::from_millis(500));
    let cases: [(&str, [usize; 4], usize); 8] = [
        ("c32_o32_32x32", [25, 32, 32, 32], 32),
        ("c32_o64_16x16", [25, 32, 16, 16], 64),
        ("c64_o64_16x16", [25, 64, 16, 16], 64),
        ("c32_o64_32x32", [25, 32, 32, 32], 64),
        ("c64_o128_16x16", [25, 64, 16, 16], 128),
        ("c128_o128_8x8", [25, 128, 8, 8], 128),
        ("c16_o16_16x16", [25, 16, 16, 16], 16),
        ("c16_o16_8x8", [25, 16, 8, 8], 16),
    ];
    let algorithms = [
        ("gemm", Conv2dAlgorithm::Gemm),
        ("winograd2x2", Conv2dAlgorithm::Winograd2x2),
        ("winograd4x4", Conv2dAlgorithm::Winograd4x4),
    ];
    for (label, xs, o) in cases {
        let ws = [o, xs[1], 3, 3];
        let opts = Conv2dOptions::default().padding(1);
        let geom = Conv2dGeometry::new(&xs, &ws, opts).expect("valid");
        let x = Tensor::<f32>::randn_seeded(&xs, 0);
        let w = Tensor::<f32>::randn_seeded(&ws, 1);
        let dy = Tensor::<f32>::randn_seeded(&geom.output_shape(), 2);
        group.throughput(Throughput::Elements(geom.flops()));
        for (name, alg) in algorithms {
            group.bench_function(
                BenchmarkId::new(format!("{name}_forward"), label),
                |bench| {
                    bench.iter(|| {
                        black_box(conv2d_forward_using(alg, &geom, x.data(), w.data(), None))
                    });
                },
            );
            group.bench_function(
                BenchmarkId::new(format!("{name}_input_backward"), label),
                |bench| {
                    bench.iter(|| {
                        black_box(conv2d_backward_input_using(alg, &geom, w.data(), dy.data()))
                    });
                },
            );
        }
    }
    group.finish();
}

/// Depthwise convolution (groups = channels, MobileNet's) against a dense convolution of the
/// same FLOPs (8 -> 8 channels: 8 * 8 = 64 multiply-adds per pixel and tap, as 64 depthwise
/// channels), both through the tape: forward plus the input gradient, and with the weight
/// gradient too. Compare the pairs within one run (`cargo bench --bench ops -- depthwise`).
fn bench_depthwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("depthwise");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(2));
    group.warm_up_time(std::time::Duration::from_millis(500));
    for k in [3usize, 5] {
        let cases: [(&str, [usize; 4], [usize; 4], usize); 2] = [
            ("depthwise", [8, 64, 56, 56], [64, 1, k, k], 64),
            ("dense_same_flops", [8, 8, 56, 56], [8, 8, k, k], 1),
        ];
        for (name, xs, ws, groups) in cases {
            let x = Tensor::<f32>::randn_seeded(&xs, 0);
            let w = Tensor::<f32>::randn_seeded(&ws, 1);
            let opts = Conv2dOptions::default().padding(k / 2).groups(groups);
            // 2 flops per multiply-add; forward and input gradient cost the same.
            let flops = 2 * xs[0] * ws[0] * ws[1] * k * k * xs[2] * xs[3];
            let label = format!("{name}_{k}x{k}");
            group.throughput(Throughput::Elements(2 * flops as u64));
            group.bench_function(
                BenchmarkId::new("forward+input_backward", &label),
                |bench| {
                    bench.iter(|| {
                        let tape = Tape::new();
                        let vx = tape.var(x.clone());
                        let y = vx.conv2d(tape.constant(w.clone()), None, opts);
                        let seed = Tensor::ones(&y.shape());
                        black_box(tape.backward_with(y, seed).wrt(vx))
                    });
                },
            );
            // The kernels alone, without the tape's copies and allocations.
            let geom = Conv2dGeometry::new(&xs, &ws, opts).expect("valid");
            group.throughput(Throughput::Elements(flops as u64));
            group.bench_function(BenchmarkId::new("kernel_forward", &label), |bench| {
                bench.iter(|| black_box(conv2d_forward(&geom, x.data(), w.data(), None)));
            });
            let dy = Tensor::<f32>::randn_seeded(&geom.output_shape(), 2);
            group.bench_function(BenchmarkId::new("kernel_input_backward", &label), |bench| {
                bench.iter(|| black_box(conv2d_backward_input(&geom, w.data(), dy.data())));
            });
            group.throughput(Throughput::Elements(3 * flops as u64));
            group.bench_function(BenchmarkId::new("forward+backward", &label), |bench| {
                bench.iter(|| {
                    let tape = Tape::new();
                    let (vx, vw) = (tape.var(x.clone()), tape.var(w.clone()));
                    let y = vx.conv2d(vw, None, opts);
                    let seed = Tensor::ones(&y.shape());
                    let g = tape.backward_with(y, seed);
                    black_box((g.wrt(vx), g.wrt(vw)))
                });
            });
        }
    }
    group.finish();
}

/// The depthwise layers of torchvision's `mobilenet_v3_small` at 224x224 (channels, input size,
/// kernel, stride; padding `k / 2`), batch 2, beside the dense 3x3 reference of
/// [`bench_depthwise`] (8 -> 8 channels, 56x56, padding 1, batch 8), in GFLOP/s: forward, input
/// gradient and weight gradient kernels, and forward plus input gradient through the tape. A
/// layer's cost per FLOP against dense is the reference's GFLOP/s over the layer's, for the same
/// pass in the same run (`cargo bench --bench ops -- depthwise_mnv3`).
fn bench_depthwise_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("depthwise_mnv3");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(2));
    group.warm_up_time(std::time::Duration::from_millis(500));
    let layers: [(&str, [usize; 4], usize, usize, usize); 8] = [
        ("dense_c8_56_k3_s1", [8, 8, 56, 56], 8, 3, 1),
        ("dw_c16_112_k3_s2", [2, 16, 112, 112], 16, 3, 2),
        ("dw_c72_56_k3_s2", [2, 72, 56, 56], 72, 3, 2),
        ("dw_c88_28_k3_s1", [2, 88, 28, 28], 88, 3, 1),
        ("dw_c96_28_k5_s2", [2, 96, 28, 28], 96, 5, 2),
        ("dw_c240_14_k5_s1", [2, 240, 14, 14], 240, 5, 1),
        ("dw_c288_14_k5_s2", [2, 288, 14, 14], 288, 5, 2),
        ("dw_c576_7_k5_s1", [2, 576, 7, 7], 576, 5, 1),
    ];
    for (label, xs, o, k, s) in layers {
        let groups = if label.starts_with("dw") { xs[1] } else { 1 };
        let ws = [o, xs[1] / groups, k, k];
        let opts = Conv2dOptions::default()
            .padding(k / 2)
            .stride(s)
            .groups(groups);
        let geom = Conv2dGeometry::new(&xs, &ws, opts).expect("valid");
        let x = Tensor::<f32>::randn_seeded(&xs, 0);
        let w = Tensor::<f32>::randn_seeded(&ws, 1);
        let dy = Tensor::<f32>::randn_seeded(&geom.output_shape(), 2);
        group.throughput(Throughput::Elements(geom.flops()));
        group.bench_function(BenchmarkId::new("forward", label), |bench| {
            bench.iter(|| black_box(conv2d_forward(&geom, x.data(), w.data(), None)));
        });
        group.bench_function(BenchmarkId::new("input_backward", label), |bench| {
            bench.iter(|| black_box(conv2d_backward_input(&geom, w.data(), dy.data())));
        });
        group.bench_function(BenchmarkId::new("weight_backward", label), |bench| {
            bench.iter(|| black_box(conv2d_backward_weight(&geom, x.data(), dy.data())));
        });
        group.throughput(Throughput::Elements(2 * geom.flops()));
        group.bench_function(BenchmarkId::new("tape_forward+input", label), |bench| {
            bench.iter(|| {
                let tape = Tape::new();
                let vx = tape.var(x.clone());
                let y = vx.conv2d(tape.constant(w.clone()), None, opts);
                let seed = Tensor::ones(&y.shape());
                black_box(tape.backward_with(y, seed).wrt(vx))
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_sgemm,
    bench_matmul,
    bench_conv2d,
    bench_conv2d_algorithms,
    bench_depthwise,
    bench_depthwise_layers
);
criterion_main!(benches);
