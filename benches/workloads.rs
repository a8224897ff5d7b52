//! Criterion benchmarks of SmoothGrad on the four benchmark workloads (`src/workloads.rs`):
//! one explanation of one image, 50 samples, sigma 0.15, 2 threads, all samples in one batch, as
//! `smoothgrad bench` and the peer scripts measure it. Throughput is in explanations per second
//! (criterion's "elements/s").
//!
//! `cargo bench --bench workloads` (all) or `cargo bench --bench workloads -- vgg64`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smoothgrad::{predicted, Gradient, Noise, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_cli::{allocator, workloads};

fn bench_workloads(c: &mut Criterion) {
    allocator::tune();
    let pool = smoothgrad::threads::pool(2).unwrap();
    let mut group = c.benchmark_group("smoothgrad");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    for w in &workloads::WORKLOADS {
        let model = w.model(0);
        let x = w.inputs(1, 1);
        let target = predicted(&model, &x, 10)[0];
        let sg = SmoothGrad {
            samples: 50,
            batch_size: 50,
            noise: Noise {
                level: NoiseLevel::Absolute(0.15),
                ..Noise::default()
            },
            ..SmoothGrad::new(Gradient)
        };
        let targets = Targets::Classes(vec![target]);
        group.bench_function(BenchmarkId::from_parameter(w.name), |b| {
            pool.install(|| b.iter(|| sg.explain(&model, &x, &targets, &Operator::Logit).unwrap()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_workloads);
criterion_main!(benches);
