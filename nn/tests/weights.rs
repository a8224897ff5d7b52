//! safetensors weights: bit-identical round trips, files written by Python's `safetensors`
//! (`tests/fixtures/make_fixture.py`) against NumPy's logits and input gradients, every error
//! message and its source chain, and malformed files (every truncation, random byte flips), which
//! must give errors and never panic. The file layer on its own is tested in
//! `autograd/tests/io.rs`.

#[path = "weights/files.rs"]
mod files;
#[path = "weights/sources.rs"]
mod sources;

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::io::{self, Dtype, TensorFile, Writer};
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Scalar, Tape, Tensor};
use smoothgrad_nn::weights;
use smoothgrad_nn::{
    BatchNorm2d, Context, Conv2d, Flatten, Linear, MaxPool2d, Module, NnError, ReLU,
};
use smoothgrad_nn::{Sequential, StateKind};

/// The fixture model (PyTorch `nn.Sequential` indices 0..=4).
const SPEC: &str = "conv2d(1,2,3,padding=1), relu, maxpool2d(2), flatten, linear(8,3)";
/// The fixture model with batch norm at index 1.
const SPEC_BN: &str =
    "conv2d(1,2,3,padding=1), batchnorm2d(2), relu, maxpool2d(2), flatten, linear(8,3)";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("weights-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// [`SPEC`] (or [`SPEC_BN`]) built layer by layer, with weights drawn from `seed`.
fn small_model<T: Scalar>(seed: u64, bn: bool) -> Sequential<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let conv = Conv2d::new(
        1,
        2,
        [3, 3],
        Conv2dOptions::default().padding(1),
        true,
        &mut rng,
    );
    let mut m = Sequential::new().with(conv.unwrap());
    if bn {
        m.push(BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap());
    }
    m.with(ReLU)
        .with(MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(Flatten::default())
        .with(Linear::new(8, 3, true, &mut rng))
}

/// Every stored tensor's bits, by name.
fn bits<T: Scalar>(model: &Sequential<T>) -> Vec<(String, Vec<usize>, Vec<u64>)> {
    let state = model.state_dict();
    let to_bits = |x: &T| x.to_f64_lossless().to_bits();
    let row = |(n, _, t): (String, StateKind, Tensor<T>)| {
        let b = t.data().iter().map(to_bits).collect();
        (n, t.shape().to_vec(), b)
    };
    state.into_iter().map(row).collect()
}

/// Overwrites every stored tensor with distinct values, including -0, a subnormal, inf and NaN.
fn fill_special(model: &mut Sequential<f32>) {
    let specials = [
        -0.0,
        f32::MIN_POSITIVE / 8.0,
        f32::INFINITY,
        f32::from_bits(0x7fc0_1234),
    ];
    let mut k = 0;
    model.visit_state_mut(&mut |_, _, t| {
        *t = Tensor::from_fn(t.shape(), |i| {
            k += 1;
            specials.get(i).copied().unwrap_or(k as f32 * 0.37 - 5.0)
        });
    });
}

fn weights_message(e: NnError) -> String {
    match e {
        NnError::Weights { message, .. } => message,
        other => panic!("expected a weights error, found {other:?}"),
    }
}

#[test]
fn f32_round_trip_is_bit_identical_through_a_file() {
    let dir = scratch("f32-round-trip");
    let path = dir.join("model.safetensors");
    let mut model = small_model::<f32>(1, true);
    fill_special(&mut model);
    weights::save(&model, &path).unwrap();
    let mut other = small_model::<f32>(2, true);
    assert_ne!(bits(&other), bits(&model));
    weights::load_into(&mut other, &path).unwrap();
    assert_eq!(bits(&other), bits(&model));
    // Only the file is left: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["model.safetensors"]);
}

#[test]
fn f64_round_trip_is_bit_identical_and_stored_as_f64() {
    let mut model = small_model::<f64>(3, true);
    model.visit_state_mut(&mut |_, _, t| *t = t.map(|x| x / 3.0 + 1e-300));
    let bytes = weights::to_bytes(&model).unwrap();
    let file = TensorFile::from_bytes(bytes.clone()).unwrap();
    assert!(file.names().all(|n| file.dtype(n).unwrap() == Dtype::F64));
    let mut other = small_model::<f64>(4, true);
    weights::load_into_bytes(&mut other, &bytes).unwrap();
    assert_eq!(bits(&other), bits(&model));
}

#[test]
fn saved_file_has_state_dict_names_shapes_and_metadata() {
    let model = small_model::<f32>(5, true);
    let file = TensorFile::from_bytes(weights::to_bytes(&model).unwrap()).unwrap();
    let names: Vec<&str> = file.names().collect();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.num_batches_tracked",
            "1.running_mean",
            "1.running_var",
            "1.weight",
            "5.bias",
            "5.weight"
        ]
    );
    assert_eq!(file.shape("0.weight").unwrap(), [2, 1, 3, 3]);
    assert_eq!(
        file.shape("1.num_batches_tracked").unwrap(),
        [] as [usize; 0]
    );
    assert_eq!(file.dtype("5.weight").unwrap(), Dtype::F32);
    assert_eq!(file.metadata()["arch"], SPEC_BN);
    assert_eq!(file.metadata()["format"], "pt");
    assert_eq!(file.metadata().len(), 2);
    let state = model.state_dict();
    assert_eq!(
        (state[7].0.as_str(), state[7].1),
        ("5.weight", StateKind::Parameter)
    );
    assert_eq!(file.get::<f32>("5.weight").unwrap(), state[7].2);
}

/// Logits and d(logit 1)/d(input), as the fixtures define them.
fn logits_and_grad<T: Scalar>(model: &Sequential<T>, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    let xv = tape.var(x.clone());
    let y = model.forward(xv, &mut cx);
    let seed = Tensor::from_fn(&[1, 3], |i| if i == 1 { T::one() } else { T::zero() });
    let grads = tape.backward_with(y, seed);
    (y.value(), grads.wrt(xv))
}

/// `|a - b| <= rtol * max(|b|, max|b| / 10)` elementwise: relative, with a floor for entries
/// near zero.
fn assert_close<T: Scalar>(what: &str, got: &Tensor<T>, want: &Tensor<f64>, rtol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let scale = want.data().iter().fold(0.0f64, |m, x| m.max(x.abs())) / 10.0;
    for (i, (g, w)) in got.data().iter().zip(want.data()).enumerate() {
        let g = g.to_f64_lossless();
        let tol = rtol * w.abs().max(scale);
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: {g} vs NumPy {w} (tolerance {tol})"
        );
    }
}

/// Loads a Python-written fixture into a model built from its spec, then checks the logits and
/// input gradient against NumPy's, in f32 (1e-5 relative) and f64 (1e-10).
fn check_fixture(spec: &str, file: &str, key: &str) {
    let expected = io::read_file(fixture("expected.safetensors")).unwrap();
    let x = expected.get::<f32>("input").unwrap();
    let want_logits = expected.get::<f64>(&format!("logits_{key}")).unwrap();
    let want_grad = expected.get::<f64>(&format!("grad_{key}")).unwrap();

    let mut model = Sequential::<f32>::from_spec(spec).unwrap();
    weights::load_into(&mut model, fixture(file)).unwrap();
    let (logits, grad) = logits_and_grad(&model, &x);
    assert_close(&format!("{key} logits"), &logits, &want_logits, 1e-5);
    assert_close(&format!("{key} grad"), &grad, &want_grad, 1e-5);

    let mut model = Sequential::<f64>::from_spec(spec).unwrap();
    weights::load_into(&mut model, fixture(file)).unwrap();
    let (logits, grad) = logits_and_grad(&model, &x.cast());
    assert_close(&format!("{key} f64 logits"), &logits, &want_logits, 1e-10);
    assert_close(&format!("{key} f64 grad"), &grad, &want_grad, 1e-10);
}

#[test]
fn python_f32_fixture_matches_numpy() {
    let file = io::read_file(fixture("model_f32.safetensors")).unwrap();
    assert_eq!(file.dtype("0.weight").unwrap(), Dtype::F32);
    assert_eq!(file.metadata().keys().collect::<Vec<_>>(), ["format"]);
    check_fixture(SPEC, "model_f32.safetensors", "f32");
}

#[test]
fn python_f16_fixture_matches_numpy() {
    let file = io::read_file(fixture("model_f16.safetensors")).unwrap();
    assert!(file.names().all(|n| file.dtype(n).unwrap() == Dtype::F16));
    check_fixture(SPEC, "model_f16.safetensors", "f16");
}

#[test]
fn hand_built_bf16_fixture_matches_numpy() {
    let file = io::read_file(fixture("model_bf16.safetensors")).unwrap();
    assert!(file.names().all(|n| file.dtype(n).unwrap() == Dtype::BF16));
    check_fixture(SPEC, "model_bf16.safetensors", "bf16");
}

#[test]
fn python_batchnorm_fixture_with_i64_counter_matches_numpy() {
    let file = io::read_file(fixture("model_bn_f32.safetensors")).unwrap();
    assert_eq!(file.dtype("1.num_batches_tracked").unwrap(), Dtype::I64);
    assert_eq!(
        file.get_i64("1.num_batches_tracked").unwrap(),
        (vec![7], vec![])
    );
    check_fixture(SPEC_BN, "model_bn_f32.safetensors", "bn_f32");
    let mut model = Sequential::<f32>::from_spec(SPEC_BN).unwrap();
    weights::load_into(&mut model, fixture("model_bn_f32.safetensors")).unwrap();
    let counter = model
        .state_dict()
        .into_iter()
        .find(|(n, ..)| n == "1.num_batches_tracked");
    assert_eq!(counter.unwrap().2.item(), 7.0);
}

#[test]
fn load_builds_the_model_from_arch_metadata() {
    let dir = scratch("load-arch");
    let path = dir.join("m.safetensors");
    let mut model = small_model::<f32>(6, true);
    fill_special(&mut model);
    weights::save(&model, &path).unwrap();
    let loaded: Sequential<f32> = weights::load(&path).unwrap();
    assert_eq!(loaded.to_string(), SPEC_BN);
    assert_eq!(bits(&loaded), bits(&model));
    let from_bytes: Sequential<f64> = weights::load_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(from_bytes.to_string(), SPEC_BN);
}

#[test]
fn load_without_arch_explains_how_to_load_pytorch_files() {
    let path = fixture("model_f32.safetensors");
    let e = weights::load::<Sequential<f32>>(&path).unwrap_err();
    let msg = weights_message(e);
    assert!(
        msg.ends_with(
            "model_f32.safetensors\" has no \"arch\" metadata, so the model it holds is unknown \
         (files saved by PyTorch have none): build the model with Sequential::from_spec and \
         load the weights with weights::load_into"
        ),
        "{msg}"
    );
}

#[test]
fn load_with_an_invalid_arch_names_it() {
    let mut w = Writer::new();
    w.metadata("arch", "conv2d(1,2");
    let msg = weights_message(
        weights::load_bytes::<Sequential<f32>>(&w.to_bytes().unwrap()).unwrap_err(),
    );
    assert!(
        msg.starts_with(
            "the data: the \"arch\" metadata \"conv2d(1,2\" is not a valid model spec: "
        ),
        "{msg}"
    );
}

/// A few bytes of metadata describing gigabytes of weights (a tiny-file bomb) are refused before
/// anything is allocated: the weights may take no more elements than the file holds.
#[test]
fn metadata_describing_more_weights_than_the_file_holds_is_refused_up_front() {
    let mut w = Writer::new();
    w.metadata("arch", "linear(30000,30000), relu, linear(30000,30000)");
    w.tensor("0.weight", &Tensor::<f32>::zeros(&[2, 2]));
    let msg = weights_message(
        weights::load_bytes::<Sequential<f32>>(&w.to_bytes().unwrap()).unwrap_err(),
    );
    assert!(
        msg.contains(
            "linear: a weight of shape [30000, 30000] takes the model past the 4 elements its \
             file holds (the metadata describes more weights than the file stores)"
        ),
        "{msg}"
    );
    // The same for a graph's description, its modules and its `param` lines counted together.
    let mut w = Writer::new();
    w.metadata(
        "graph",
        "input \"x\"\nparam \"p\" [3, 3]\nmodule \"l\" (\"x\") linear(3,3)\noutput \"l\"",
    );
    w.tensor("p", &Tensor::<f32>::zeros(&[3, 3]));
    w.tensor("l.weight", &Tensor::<f32>::zeros(&[1]));
    let e = weights::load_bytes::<smoothgrad_nn::Graph<f32>>(&w.to_bytes().unwrap()).unwrap_err();
    let msg = weights_message(e);
    assert!(
        msg.contains("takes the model past the 10 elements its file holds"),
        "{msg}"
    );
    // A file that holds its weights loads as before (load_builds_the_model_from_arch_metadata).
}

/// How [`bytes_with`] changes one tensor of the saved state.
enum Change {
    /// Leave it out.
    Drop,
    /// Zeros of this shape, as F32.
    F32(Vec<usize>),
    /// Threes of this shape, as I64.
    I64(Vec<usize>),
}

/// The state of [`SPEC_BN`] with tensors replaced, dropped or added.
fn bytes_with(changes: &[(&str, Change)]) -> Vec<u8> {
    let model = small_model::<f32>(7, true);
    let mut w = Writer::new();
    for (name, _, t) in model.state_dict() {
        if !changes.iter().any(|(n, _)| *n == name) {
            w.tensor(&name, &t);
        }
    }
    for (name, change) in changes {
        match change {
            Change::F32(shape) => w.tensor(name, &Tensor::<f32>::zeros(shape)),
            Change::I64(shape) => {
                let n = shape.iter().product();
                w.i64(name, &vec![3; n], shape).unwrap()
            }
            Change::Drop => &mut w,
        };
    }
    w.to_bytes().unwrap()
}

fn load_error(bytes: &[u8]) -> String {
    let mut model = small_model::<f32>(8, true);
    let before = bits(&model);
    let e = weights::load_into_bytes(&mut model, bytes).unwrap_err();
    assert_eq!(bits(&model), before, "a failed load changed the model");
    weights_message(e)
}

#[test]
fn a_wrong_shape_is_named_with_both_shapes() {
    let bytes = bytes_with(&[("0.weight", Change::F32(vec![2, 3, 3, 3]))]);
    assert_eq!(
        load_error(&bytes),
        "the data does not match the model: tensor \"0.weight\": expected shape [2, 1, 3, 3], \
         found [2, 3, 3, 3]"
    );
}

#[test]
fn missing_and_unexpected_tensors_are_all_listed() {
    let bytes = bytes_with(&[
        ("5.weight", Change::Drop),
        ("5.bias", Change::Drop),
        ("9.weight", Change::F32(vec![1])),
        ("2.weight", Change::F32(vec![1])),
    ]);
    assert_eq!(
        load_error(&bytes),
        "the data does not match the model: missing tensors: \"5.weight\", \"5.bias\"; \
         unexpected tensors: \"2.weight\", \"9.weight\""
    );
}

#[test]
fn unsupported_dtypes_and_all_problems_come_in_one_message() {
    let bytes = bytes_with(&[
        ("1.running_var", Change::I64(vec![2])),
        ("0.bias", Change::F32(vec![3])),
        ("1.num_batches_tracked", Change::I64(vec![])),
        ("1.weight", Change::Drop),
        ("extra", Change::F32(vec![])),
    ]);
    assert_eq!(
        load_error(&bytes),
        "the data does not match the model: tensor \"0.bias\": expected shape [2], found [3]; \
         tensor \"1.running_var\": dtype I64 is not supported (expected F32, F64, F16 or BF16); \
         missing tensors: \"1.weight\"; unexpected tensors: \"extra\""
    );
}

#[test]
fn an_i64_counter_loads_as_a_float() {
    let bytes = bytes_with(&[("1.num_batches_tracked", Change::I64(vec![]))]);
    let mut model = small_model::<f64>(9, true);
    weights::load_into_bytes(&mut model, &bytes).unwrap();
    let state = model.state_dict();
    assert_eq!(state[6].0, "1.num_batches_tracked");
    assert_eq!(state[6].2.item(), 3.0);
}
