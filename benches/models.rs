//! Criterion benchmarks of one explanation pass (forward plus the input gradient of the target
//! logits, [`Gradient`]) on full-size torchvision networks, 224x224, batch 8, f32, 2 threads:
//! each network built by hand with `smoothgrad_nn::models` and the same network imported from
//! ONNX, both prepared as `explain` prepares them (BatchNorm folded), so the pair measures the
//! importer's overhead (the issue's bar: within 10%).
//!
//! The ONNX files are large and never committed: write them first with
//!
//! ```text
//! python3 benches/make_bench_models.py /tmp/smoothgrad-bench-models
//! SMOOTHGRAD_BENCH_MODELS=/tmp/smoothgrad-bench-models cargo bench --bench models
//! ```
//!
//! (without the variable, without a file, or for a file that does not import, the imported cases
//! are skipped with a message).
//! Each family is timed as `hand`, `onnx` (TorchScript exporter, fixed batch 1, BN folded by the
//! exporter), `onnx_dynamic` (the same with a dynamic batch axis), `onnx_dynamo` (the
//! `dynamo=True` exporter, BatchNormalization folded here) and `onnx_dynamo_dynamic`, each if its
//! file exists: the fixed-batch exports run at batch 8 by following the batch through their
//! constant shapes, and should cost what the dynamic ones do. Compare the cases from one run;
//! the machine's noise is larger than a run's.
//!
//! Record, 2026-12-02 (2-core AVX2 machine, otherwise idle; criterion's median of one pass):
//!
//! ```text
//! family              hand      onnx             onnx_dynamic     onnx_dynamo      onnx_dynamo_dynamic
//! resnet18            613.8 ms  618.9 ms (+0.8%) 604.6 ms (-1.5%) 623.3 ms (+1.5%) 627.1 ms (+2.2%)
//! mobilenet_v3_small   81.4 ms   82.9 ms (+1.9%)  81.9 ms (+0.6%)  81.4 ms (+0.1%)  83.7 ms (+2.8%)
//! ```

use std::path::PathBuf;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rand::SeedableRng;
use smoothgrad::{Gradient, Method, Operator, Targets};
use smoothgrad_autograd::Tensor;
use smoothgrad_cli::allocator;
use smoothgrad_nn::models::mobilenet_v3::{mobilenet_v3, MobileNetV3Config};
use smoothgrad_nn::models::resnet::{resnet, ResNetConfig};
use smoothgrad_nn::{prepare, Graph};

/// The batch of one pass.
const BATCH: usize = 8;

/// The hand-built network of `family`, prepared for explaining.
fn hand_built(family: &str) -> Graph<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let g = match family {
        "resnet18" => resnet(&ResNetConfig::resnet18(1000), &mut rng),
        "mobilenet_v3_small" => mobilenet_v3(&MobileNetV3Config::small(1.0, 1000), &mut rng),
        other => panic!("no hand-built {other}"),
    }
    .expect("a valid config");
    prepare::for_explaining(&g).expect("the built-in layers copy")
}

/// The ONNX export `file` of the bench models folder, imported and folded as `explain` does.
fn imported(file: &str) -> Option<Graph<f32>> {
    let Some(dir) = std::env::var_os("SMOOTHGRAD_BENCH_MODELS") else {
        eprintln!(
            "models: SMOOTHGRAD_BENCH_MODELS is not set: skipping {file} (write the files with \
             python3 benches/make_bench_models.py DIR)"
        );
        return None;
    };
    let path = PathBuf::from(dir).join(file);
    if !path.exists() {
        eprintln!("models: {} is absent: skipping it", path.display());
        return None;
    }
    match smoothgrad_onnx::import::<f32>(&path) {
        Ok(g) => Some(g.fold_batchnorm()),
        Err(e) => {
            eprintln!(
                "models: {} does not import, skipping it: {e}",
                path.display()
            );
            None
        }
    }
}

fn bench_models(c: &mut Criterion) {
    allocator::tune();
    let pool = smoothgrad::threads::pool(2).unwrap();
    let x = Tensor::<f32>::randn_seeded(&[BATCH, 3, 224, 224], 1);
    let targets = Targets::Classes((0..BATCH).map(|i| i * 100).collect());
    let mut group = c.benchmark_group("models");
    group.sample_size(10);
    // One pass takes about a second: time passes one by one, not in growing runs.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(BATCH as u64));
    for family in ["resnet18", "mobilenet_v3_small"] {
        let cases = [
            ("hand", Some(hand_built(family))),
            ("onnx", imported(&format!("{family}.onnx"))),
            ("onnx_dynamic", imported(&format!("{family}_dynamic.onnx"))),
            ("onnx_dynamo", imported(&format!("{family}_dynamo.onnx"))),
            (
                "onnx_dynamo_dynamic",
                imported(&format!("{family}_dynamo_dynamic.onnx")),
            ),
        ];
        for (kind, model) in cases {
            let Some(model) = model else { continue };
            let id = BenchmarkId::new(family, kind);
            group.bench_function(id, |b| {
                pool.install(|| {
                    b.iter(|| {
                        Gradient
                            .explain(&model, &x, &targets, &Operator::Logit, BATCH)
                            .unwrap()
                    })
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_models);
criterion_main!(benches);
