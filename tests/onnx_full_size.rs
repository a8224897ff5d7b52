//! Opt-in (ignored by default, needs Python with torch, torchvision and onnx): full-size
//! torchvision classifiers (random weights with non-trivial BatchNorm statistics, 224x224)
//! exported to ONNX by `benches/make_bench_models.py` with both exporters, fixed and dynamic
//! batch, explained by `smoothgrad explain --method gradient` on a batch of 2: the attribution
//! equals PyTorch's float64 input gradient to 1e-4 of its max, and the imported graph's logits
//! match PyTorch's to 1e-4 of their max. Each export's two errors are printed (run with
//! `--nocapture`), and the test fails after checking them all.
//!
//! ```text
//! cargo test --release --test onnx_full_size -- --ignored
//! ```
//!
//! Settings, from the environment:
//! - `SMOOTHGRAD_FULL_FAMILIES`: torchvision builders, comma-separated (default
//!   `resnet18,mobilenet_v3_small`);
//! - `SMOOTHGRAD_FULL_EXPORTERS`: `torchscript`, `dynamo` or both, comma-separated (default
//!   both);
//! - `SMOOTHGRAD_PYTHON`: the Python to run the script with (default `python3`);
//! - `SMOOTHGRAD_FULL_MODELS`: a folder already written by the script, used as it is (nothing
//!   is regenerated); by default the models are written to a temporary folder, removed after.
//!
//! The `dynamo=True` exports are checked when the script could write them (it needs
//! `onnxscript`); a family whose TorchScript exports are missing fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use smoothgrad_autograd::io;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};

use common::{s, smoothgrad, Scratch};

/// `max |a - b| / max |b|`.
fn relative(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let scale = b.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.max_abs_diff(b) / scale
}

/// The models folder: `SMOOTHGRAD_FULL_MODELS`, or one the script writes into `scratch`.
fn models(scratch: &Scratch, families: &[String]) -> PathBuf {
    if let Some(dir) = std::env::var_os("SMOOTHGRAD_FULL_MODELS") {
        return PathBuf::from(dir);
    }
    let python = std::env::var("SMOOTHGRAD_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/make_bench_models.py");
    let dir = scratch.path("models");
    let status = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .args(families)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(status.success(), "{} failed", script.display());
    dir
}

/// The errors of one export against the family's references, relative to the references' max:
/// the imported graph's logits, then `explain --method gradient`'s attribution.
fn errors(scratch: &Scratch, model: &Path, io_file: &Path) -> (f64, f64) {
    let refs = io::read_file(io_file).unwrap();
    let input: Tensor<f32> = refs.get("input").unwrap();
    let logits: Tensor<f64> = refs.get("logits").unwrap();
    let grad: Tensor<f64> = refs.get("grad").unwrap();

    let graph = smoothgrad_onnx::import::<f32>(model)
        .unwrap()
        .fold_batchnorm();
    let tape = Tape::new();
    let y = graph.forward(tape.constant(input), &mut Context::inference(&tape));
    let logits_error = relative(&y.value().cast::<f64>(), &logits);

    let out = scratch.path("attribution.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(model),
        "--input",
        s(io_file),
        "--method",
        "gradient",
        "--batch-size",
        "2",
        "--output",
        s(&out),
    ]);
    let found: Tensor<f64> = io::read_file(&out).unwrap().get("attribution").unwrap();
    (logits_error, relative(&found, &grad))
}

#[test]
#[ignore = "needs Python with torch and torchvision, and minutes: see the file's docs"]
fn full_size_torchvision_exports_explain_as_pytorch_differentiates() {
    let families: Vec<String> = std::env::var("SMOOTHGRAD_FULL_FAMILIES")
        .unwrap_or_else(|_| "resnet18,mobilenet_v3_small".into())
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    let exporters =
        std::env::var("SMOOTHGRAD_FULL_EXPORTERS").unwrap_or_else(|_| "torchscript,dynamo".into());
    let mut variants = Vec::new();
    if exporters.contains("torchscript") {
        variants.extend(["", "_dynamic"]);
    }
    if exporters.contains("dynamo") {
        variants.extend(["_dynamo", "_dynamo_dynamic"]);
    }
    assert!(
        !variants.is_empty(),
        "SMOOTHGRAD_FULL_EXPORTERS names no exporter: {exporters:?}"
    );
    let scratch = Scratch::new("full_size");
    let dir = models(&scratch, &families);
    // Every export is checked (and its errors printed) before the test fails on any of them.
    let mut failures = Vec::new();
    for family in &families {
        let io_file = dir.join(format!("{family}_io.safetensors"));
        for &variant in &variants {
            let model = dir.join(format!("{family}{variant}.onnx"));
            if !model.exists() && variant.starts_with("_dynamo") {
                println!("{}: absent (no onnxscript?), skipped", model.display());
                continue;
            }
            let (logits, grad) = errors(&scratch, &model, &io_file);
            let ok = logits <= 1e-4 && grad <= 1e-4;
            println!(
                "{family}{variant}: logits within {logits:.1e}, gradient within {grad:.1e} of \
                 their max: {}",
                if ok { "ok" } else { "FAILED" }
            );
            if !ok {
                failures.push(format!("{family}{variant}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "off by more than 1e-4 of the max: {failures:?}"
    );
}
