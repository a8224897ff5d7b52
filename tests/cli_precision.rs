//! `explain --precision f64`: the whole explanation computed in f64 (model, inputs, noise,
//! gradients), written as f32. The files equal the library's f64 results rounded to f32, are
//! within f32 rounding of the f32 run, keep the command's determinism across `--threads` and
//! `--batch-size`, and match PyTorch's float64 gradient far closer than an f32 run does.

mod common;

use std::path::{Path, PathBuf};

use smoothgrad::{
    predicted, Cut, Gradient, Method, Noise, NoiseLevel, Operator, SmoothGrad, Targets,
};
use smoothgrad_autograd::io::{self, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Module, Sequential};

use common::dataset::{args, by_name, fnv, folder};
use common::{run, s, smoothgrad, Scratch, SPEC};

/// The test model saved to `model.safetensors` (f32 weights), and two random inputs `[2, 3, 8,
/// 8]` (f32) in `input.safetensors`.
fn fixtures(dir: &Scratch) -> (PathBuf, PathBuf, Tensor<f32>) {
    fixtures_of(dir, 2)
}

/// [`fixtures`] with `n` inputs `[n, 3, 8, 8]`.
fn fixtures_of(dir: &Scratch, n: usize) -> (PathBuf, PathBuf, Tensor<f32>) {
    let model = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    let m = dir.path("model.safetensors");
    weights::save(&model, &m).unwrap();
    let x = Tensor::<f32>::randn_seeded(&[n, 3, 8, 8], 7);
    let input = dir.path("input.safetensors");
    let mut w = Writer::new();
    w.tensor("input", &x);
    w.write(&input).unwrap();
    (m, input, x)
}

/// `explain` with SmoothGrad's test settings and `extra` flags; the file written.
fn explain(dir: &Scratch, name: &str, m: &Path, input: &Path, extra: &[&str]) -> io::TensorFile {
    let out = dir.path(name);
    let args = [
        "explain",
        "--model",
        s(m),
        "--input",
        s(input),
        "--output",
        s(&out),
        "--samples",
        "6",
        "--seed",
        "3",
        "--noise",
        "0.2",
        "--noise-mode",
        "absolute",
    ];
    smoothgrad(&[&args[..], extra].concat());
    io::read_file(&out).unwrap()
}

#[test]
fn f64_runs_equal_the_library_in_f64_rounded_to_f32() {
    let dir = Scratch::new("precision-library");
    let (m, input, x) = fixtures(&dir);
    let file = explain(&dir, "a.safetensors", &m, &input, &["--precision", "f64"]);
    // The library in f64 on the same weights and inputs (both f32 values, exact in f64).
    let net: Sequential<f64> = weights::load(&m).unwrap();
    let x64: Tensor<f64> = x.cast();
    let targets = predicted(&net, &x64, 3);
    let sg = SmoothGrad {
        samples: 6,
        seed: 3,
        noise: Noise {
            level: NoiseLevel::Absolute(0.2),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let cut = Cut::before_softmax(&net as &dyn Module<f64>);
    let e = sg
        .explain(
            &cut,
            &x64,
            &Targets::Classes(targets.clone()),
            &Operator::Logit,
        )
        .unwrap();
    let (t, _) = file.get_i64("target").unwrap();
    assert_eq!(t, targets.iter().map(|&c| c as i64).collect::<Vec<_>>());
    // Written as f32: each value is the library's f64 value rounded to nearest.
    assert_eq!(file.dtype("attribution").unwrap(), io::Dtype::F32);
    let a = file.get::<f32>("attribution").unwrap();
    assert_eq!(a.data(), e.mean.cast::<f32>().data());
    let se = file.get::<f32>("std_error").unwrap();
    assert_eq!(se.data(), e.std_error.cast::<f32>().data());
    assert_eq!(file.get::<f32>("input").unwrap().data(), x.data());
    assert_eq!(
        file.metadata().get("precision").map(String::as_str),
        Some("f64")
    );
    // The f64 result itself is not the f32 one: the run really is in f64 ...
    let net32: Sequential<f32> = weights::load(&m).unwrap();
    let cut32 = Cut::before_softmax(&net32 as &dyn Module<f32>);
    let e32 = sg
        .explain(&cut32, &x, &Targets::Classes(targets), &Operator::Logit)
        .unwrap();
    let f64_vs_f32 = e.mean.cast::<f32>().max_abs_diff(&e32.mean);
    assert!(f64_vs_f32 > 0.0, "f64 and f32 runs agree to the bit");
    // ... and the f32 run of the command is the library's f32 result, within f32 rounding of
    // the f64 one.
    let f32_file = explain(&dir, "b.safetensors", &m, &input, &[]);
    let a32 = f32_file.get::<f32>("attribution").unwrap();
    assert_eq!(a32.data(), e32.mean.data());
    let scale = a.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        a.max_abs_diff(&a32) <= 1e-5 * scale,
        "{}",
        a.max_abs_diff(&a32)
    );
    assert!(f32_file.metadata().get("precision").is_none());
}

#[test]
fn f64_runs_are_the_same_for_any_threads_and_batch_size() {
    let dir = Scratch::new("precision-determinism");
    let (m, input, _) = fixtures(&dir);
    let base = explain(
        &dir,
        "t1.safetensors",
        &m,
        &input,
        &["--precision", "f64", "--threads", "1"],
    );
    let want = base.get::<f32>("attribution").unwrap();
    for (name, extra) in [
        ("t2.safetensors", &["--threads", "2"][..]),
        ("b1.safetensors", &["--threads", "2", "--batch-size", "1"]),
        ("b5.safetensors", &["--threads", "1", "--batch-size", "5"]),
    ] {
        let f = explain(
            &dir,
            name,
            &m,
            &input,
            &[&["--precision", "f64"][..], extra].concat(),
        );
        let a = f.get::<f32>("attribution").unwrap();
        assert_eq!(a.data(), want.data(), "{extra:?}");
    }
}

#[test]
fn f64_folder_runs_equal_the_library_in_f64_with_each_inputs_noise() {
    let dir = Scratch::new("precision-folder");
    let (m, _, _) = fixtures(&dir);
    let input = folder(&dir, "data", 3);
    let out = dir.path("out");
    smoothgrad(&args(
        &m,
        &input,
        &out,
        &["--target", "1", "--pictures", "none", "--precision", "f64"],
    ));
    let file = io::read_file(out.join("attributions.safetensors")).unwrap();
    let net: Sequential<f64> = weights::load(&m).unwrap();
    let sg = SmoothGrad {
        samples: 6,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    let rows = by_name(&file);
    assert_eq!(rows.len(), 3);
    for (name, (a, x, se, t)) in &rows {
        assert_eq!(*t, 1);
        // The images were preprocessed in f32: the stored input is exact in f64.
        let x = Tensor::from_vec(x.clone(), &[1, 3, 8, 8])
            .unwrap()
            .cast::<f64>();
        let e = sg
            .explain_keyed(
                &net,
                &x,
                &Targets::Classes(vec![1]),
                &Operator::Logit,
                &[fnv(name)],
            )
            .unwrap();
        assert_eq!(e.mean.cast::<f32>().data(), &a[..], "{name}");
        assert_eq!(e.std_error.cast::<f32>().data(), &se[..], "{name}");
    }
}

#[test]
fn f64_gradients_of_an_onnx_export_match_pytorchs_float64_gradient() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let io_file = root.join("nn/tests/fixtures/torchvision/resnet18_io.safetensors");
    let model = root.join("onnx/tests/fixtures/resnet18_f64.onnx");
    let dir = Scratch::new("precision-onnx");
    let expected = io::read_file(&io_file).unwrap().get::<f64>("grad").unwrap();
    let scale = expected.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut errors = Vec::new();
    for precision in ["f32", "f64"] {
        let out = dir.path(&format!("{precision}.safetensors"));
        smoothgrad(&[
            "explain",
            "--model",
            s(&model),
            "--input",
            s(&io_file),
            "--method",
            "gradient",
            "--precision",
            precision,
            "--output",
            s(&out),
        ]);
        let found = io::read_file(&out)
            .unwrap()
            .get::<f64>("attribution")
            .unwrap();
        errors.push(found.max_abs_diff(&expected) / scale);
    }
    // f64: PyTorch's float64 gradient up to the f32 rounding of the file (2^-24 of a value);
    // f32 misses by several times more even on this small network (3.7e-7 when written).
    assert!(errors[1] <= 1e-7, "f64 off by {:e} of the max", errors[1]);
    assert!(errors[0] <= 1e-4, "f32 off by {:e} of the max", errors[0]);
    assert!(errors[1] < errors[0] / 4.0, "{errors:?}");
    // The library in f64 on the same import: PyTorch's float64 gradient to f64 rounding, and
    // the file holds exactly its values rounded to f32.
    let graph = smoothgrad_onnx::import::<f64>(&model).unwrap();
    let reference = io::read_file(&io_file).unwrap();
    let x = reference.get::<f64>("input").unwrap();
    let (t, _) = reference.get_i64("target").unwrap();
    let t = Targets::Classes(t.iter().map(|&c| c as usize).collect());
    let graph = graph.fold_batchnorm();
    let cut = Cut::before_softmax(&graph as &dyn Module<f64>);
    let lib = Gradient
        .explain(&cut, &x, &t, &Operator::Logit, 32)
        .unwrap();
    let error = lib.values.max_abs_diff(&expected) / scale;
    assert!(
        error <= 1e-12,
        "the library in f64 is off by {error:e} of the max"
    );
    let found = io::read_file(dir.path("f64.safetensors"))
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    assert_eq!(found.data(), lib.values.cast::<f32>().data());
}

#[test]
fn an_unknown_precision_is_one_usage_error_line() {
    let dir = Scratch::new("precision-bad");
    let (m, input, _) = fixtures(&dir);
    let out = dir.path("a.safetensors");
    let result = run(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--precision",
        "f16",
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("smoothgrad: error: ") && stderr.contains("f16"),
        "{stderr}"
    );
    assert!(stderr.contains("f32") && stderr.contains("f64"), "{stderr}");
    assert!(!out.exists());
}

/// `--method gradient` with `explain`'s default `--precision auto`: computed in f64 (the file
/// says so and holds the library's f64 gradient rounded to f32), as `--precision f64` is.
#[test]
fn a_single_gradient_is_computed_in_f64_by_default() {
    let dir = Scratch::new("precision-auto");
    let (m, input, x) = fixtures(&dir);
    let file = explain(
        &dir,
        "auto.safetensors",
        &m,
        &input,
        &["--method", "gradient"],
    );
    let net: Sequential<f64> = weights::load(&m).unwrap();
    let cut = Cut::before_softmax(&net as &dyn Module<f64>);
    let x64: Tensor<f64> = x.cast();
    let (t, _) = file.get_i64("target").unwrap();
    let t = Targets::Classes(t.iter().map(|&c| c as usize).collect());
    let want = Gradient
        .explain(&cut, &x64, &t, &Operator::Logit, 32)
        .unwrap();
    let a = file.get::<f32>("attribution").unwrap();
    assert_eq!(a.data(), want.values.cast::<f32>().data());
    assert_eq!(
        file.metadata().get("precision").map(String::as_str),
        Some("f64")
    );
    let forced = explain(
        &dir,
        "f64.safetensors",
        &m,
        &input,
        &["--method", "gradient", "--precision", "f64"],
    );
    assert_eq!(forced.get::<f32>("attribution").unwrap().data(), a.data());
    // `--precision f32` is the f32 library, and says nothing of precision.
    let f32_file = explain(
        &dir,
        "f32.safetensors",
        &m,
        &input,
        &["--method", "gradient", "--precision", "f32"],
    );
    let net32: Sequential<f32> = weights::load(&m).unwrap();
    let cut32 = Cut::before_softmax(&net32 as &dyn Module<f32>);
    let want32 = Gradient
        .explain(&cut32, &x, &t, &Operator::Logit, 32)
        .unwrap();
    let a32 = f32_file.get::<f32>("attribution").unwrap();
    assert_eq!(a32.data(), want32.values.data());
    assert!(f32_file.metadata().get("precision").is_none());
}

/// Under a memory limit that f32 fits and f64 does not, `auto` computes in f32 (and says so on
/// stderr), while `--precision f64` is refused with one line and writes nothing.
#[test]
fn auto_falls_back_to_f32_when_f64_does_not_fit() {
    let dir = Scratch::new("precision-memory");
    let (m, input, x) = fixtures_of(&dir, 64);
    let model: Sequential<f32> = weights::load(&m).unwrap();
    // The library's estimate of this request (64 inputs, one pass of 32 rows) in f32; f64
    // needs twice as much (every part scales with the type's size).
    let request = smoothgrad::memory::Request {
        inputs: 64,
        sample: 3 * 8 * 8,
        slots: 1,
        rows: 32,
        workers: 1,
        smoothing: false,
        path: None,
    };
    let f32_need = smoothgrad::memory::estimate(&model, &[3, 8, 8], &request)
        .unwrap()
        .total();
    let limit = (f32_need * 3 / 2).to_string();
    let out = dir.path("out.safetensors");
    let flags = |precision: &'static str| {
        let mut a = vec![
            "explain",
            "--model",
            s(&m),
            "--input",
            s(&input),
            "--output",
            s(&out),
            "--method",
            "gradient",
            "--max-memory",
            &limit,
        ];
        if !precision.is_empty() {
            a.extend(["--precision", precision]);
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let refused = run(&flags("f64").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("max-memory") || stderr.contains("max_memory"),
        "{stderr}"
    );
    assert!(!out.exists());
    let auto = run(&flags("").iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&auto.stderr);
    assert!(auto.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("smoothgrad: computing in f32: in f64, "),
        "{stderr}"
    );
    let file = io::read_file(&out).unwrap();
    assert!(file.metadata().get("precision").is_none());
    let cut = Cut::before_softmax(&model as &dyn Module<f32>);
    let (t, _) = file.get_i64("target").unwrap();
    let t = Targets::Classes(t.iter().map(|&c| c as usize).collect());
    let want = Gradient
        .explain(&cut, &x, &t, &Operator::Logit, 32)
        .unwrap();
    assert_eq!(
        file.get::<f32>("attribution").unwrap().data(),
        want.values.data()
    );
}
