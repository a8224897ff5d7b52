//! Every bad input to `explain` and `render` prints one line to stderr, exits with status 1 or 2,
//! never panics, and writes no file (not even a temporary one).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use smoothgrad_autograd::io::{self, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::weights;
use smoothgrad_nn::Sequential;

use common::{run, s, Scratch, SPEC};

/// A folder of fixtures under the system's temporary folder, removed when dropped (with its
/// [`Scratch`]).
struct Fixtures {
    dir: Scratch,
    model: PathBuf,
    input: PathBuf,
}

impl Fixtures {
    /// A model, a valid input file and a valid attribution file.
    fn new(name: &str) -> Self {
        let dir = Scratch::new(name);
        let model = dir.path("model.safetensors");
        weights::save(
            &Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap(),
            &model,
        )
        .unwrap();
        let input = dir.path("input.safetensors");
        let x = Tensor::<f32>::randn_seeded(&[2, 3, 8, 8], 1);
        io::write_file(&input, &[("input", &x)], &[]).unwrap();
        let attribution = dir.path("attribution.safetensors");
        io::write_file(&attribution, &[("attribution", &x)], &[]).unwrap();
        Fixtures { dir, model, input }
    }

    /// The path of the file `name` in the folder.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    /// Writes a safetensors file built by `build`.
    fn tensors(&self, name: &str, build: impl FnOnce(&mut Writer)) -> PathBuf {
        let mut w = Writer::new();
        build(&mut w);
        let path = self.path(name);
        w.write(&path).unwrap();
        path
    }

    /// The files in the folder.
    fn listing(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// `explain` on the fixtures' model with `input`, to `out.safetensors` unless `extra` sets
    /// `--output`; asserts it fails cleanly and returns its error line.
    fn explain(&self, input: &Path, extra: &[&str]) -> String {
        let out = self.path("out.safetensors");
        let mut args = vec!["explain", "--model", s(&self.model), "--input", s(input)];
        if !extra.contains(&"--output") {
            args.extend(["--output", s(&out)]);
        }
        if !extra.contains(&"--samples") {
            args.extend(["--samples", "4"]);
        }
        self.fails(&[&args[..], extra].concat())
    }

    /// `render` of `attribution` to `map.safetensors` unless `extra` sets `--output`.
    fn render(&self, attribution: &Path, extra: &[&str]) -> String {
        let out = self.path("map.safetensors");
        let mut args = vec!["render", "--attribution", s(attribution)];
        if !extra.contains(&"--output") {
            args.extend(["--output", s(&out)]);
        }
        self.fails(&[&args[..], extra].concat())
    }

    /// Runs the binary, asserts a clean failure with no new file, returns the error line.
    fn fails(&self, args: &[&str]) -> String {
        let before = self.listing();
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();
        assert!(
            matches!(code, Some(1 | 2)),
            "{args:?}: status {code:?}, stderr {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("smoothgrad: error: "),
            "{args:?}: {stderr}"
        );
        assert_eq!(self.listing(), before, "{args:?} left files behind");
        stderr.trim_end().to_string()
    }
}

/// Asserts `message` contains every part.
fn says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not say {part:?}");
    }
}

#[test]
fn missing_model_file() {
    let f = Fixtures::new("missing-model");
    let out = f.path("out.safetensors");
    let missing = f.path("nope.safetensors");
    let e = f.fails(&[
        "explain",
        "--model",
        s(&missing),
        "--input",
        s(&f.input),
        "--output",
        s(&out),
    ]);
    says(&e, &["nope.safetensors", "No such file"]);
}

#[test]
fn truncated_model_file() {
    let f = Fixtures::new("truncated-model");
    let bytes = std::fs::read(&f.model).unwrap();
    let cut = f.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = f.path("out.safetensors");
    let e = f.fails(&[
        "explain",
        "--model",
        s(&cut),
        "--input",
        s(&f.input),
        "--output",
        s(&out),
    ]);
    says(&e, &["cut.safetensors", "not a valid safetensors file"]);
}

#[test]
fn input_file_without_an_input_tensor() {
    let f = Fixtures::new("no-input-tensor");
    let x = Tensor::<f32>::zeros(&[2, 3, 8, 8]);
    let bad = f.tensors("bad.safetensors", |w| {
        w.tensor("images", &x);
    });
    says(
        &f.explain(&bad, &[]),
        &["no tensor \"input\"", "\"images\""],
    );
}

#[test]
fn input_shape_the_model_does_not_take() {
    let f = Fixtures::new("input-shape");
    let x = Tensor::<f32>::zeros(&[2, 3, 6, 6]);
    let bad = f.tensors("bad.safetensors", |w| {
        w.tensor("input", &x);
    });
    says(&f.explain(&bad, &[]), &["[2, 3, 6, 6]"]);
    let flat = Tensor::<f32>::zeros(&[5]);
    let bad = f.tensors("flat.safetensors", |w| {
        w.tensor("input", &flat);
    });
    says(&f.explain(&bad, &[]), &["[5]"]);
}

#[test]
fn wrong_dtypes() {
    let f = Fixtures::new("dtypes");
    let ints = f.tensors("ints.safetensors", |w| {
        w.i64("input", &[0; 384], &[2, 3, 8, 8]).unwrap();
    });
    says(&f.explain(&ints, &[]), &["\"input\"", "I64"]);
    let x = Tensor::<f32>::zeros(&[2, 3, 8, 8]);
    let float_targets = f.tensors("targets.safetensors", |w| {
        w.tensor("input", &x)
            .tensor("target", &Tensor::<f32>::zeros(&[2]));
    });
    says(&f.explain(&float_targets, &[]), &["\"target\""]);
}

#[test]
fn spec_typo_in_arch() {
    let f = Fixtures::new("arch-typo");
    let typo = "conv2d(3,4,3,paddin=1), relu, flatten, linear(256,3)";
    says(
        &f.explain(&f.input.clone(), &["--arch", typo]),
        &["--arch", "paddin", "padding"],
    );
}

#[test]
fn weights_that_do_not_match_the_arch() {
    let f = Fixtures::new("arch-mismatch");
    let other = "conv2d(3,8,3,padding=1), relu, flatten, linear(512,3)";
    says(
        &f.explain(&f.input.clone(), &["--arch", other]),
        &["0.weight"],
    );
}

#[test]
fn nan_in_the_input() {
    let f = Fixtures::new("nan");
    let mut data = vec![0.5f32; 384];
    data[200] = f32::NAN;
    let x = Tensor::from_vec(data, &[2, 3, 8, 8]).unwrap();
    let bad = f.tensors("nan.safetensors", |w| {
        w.tensor("input", &x);
    });
    says(&f.explain(&bad, &[]), &["input 1", "element 8", "NaN"]);
}

#[test]
fn targets_out_of_range() {
    let f = Fixtures::new("targets");
    says(
        &f.explain(&f.input.clone(), &["--target", "7"]),
        &["target 7", "3 outputs"],
    );
    says(
        &f.explain(&f.input.clone(), &["--target", "-1"]),
        &["--target", "-1"],
    );
    says(
        &f.explain(&f.input.clone(), &["--target", "cat"]),
        &["--target", "cat"],
    );
    let x = Tensor::<f32>::zeros(&[2, 3, 8, 8]);
    let high = f.tensors("high.safetensors", |w| {
        w.tensor("input", &x).i64("target", &[0, 9], &[2]).unwrap();
    });
    says(&f.explain(&high, &[]), &["target 9 for input 1"]);
    let negative = f.tensors("negative.safetensors", |w| {
        w.tensor("input", &x).i64("target", &[-2, 0], &[2]).unwrap();
    });
    says(&f.explain(&negative, &[]), &["-2", "negative"]);
    let count = f.tensors("count.safetensors", |w| {
        w.tensor("input", &x)
            .i64("target", &[0, 1, 2], &[3])
            .unwrap();
    });
    says(&f.explain(&count, &[]), &["\"target\"", "[2]", "[3]"]);
}

#[test]
fn impossible_numbers() {
    let f = Fixtures::new("numbers");
    let input = f.input.clone();
    says(&f.explain(&input, &["--samples", "0"]), &["--samples", "0"]);
    says(&f.explain(&input, &["--noise", "-1"]), &["--noise", "-1"]);
    says(&f.explain(&input, &["--noise", "NaN"]), &["--noise"]);
    says(
        &f.explain(&input, &["--batch-size", "0"]),
        &["--batch-size"],
    );
    says(&f.explain(&input, &["--threads", "0"]), &["--threads"]);
    // An absurd number of integrated-gradients steps is refused before any allocation.
    says(
        &f.explain(
            &input,
            &[
                "--method",
                "integrated-gradients",
                "--ig-steps",
                "100000000000",
            ],
        ),
        &["--ig-steps", "at most 100000"],
    );
    // A count far above the cores is refused at once, not a minutes-long hang.
    says(
        &f.explain(&input, &["--threads", "100000"]),
        &["--threads", "at most 256", "100000"],
    );
    // The library checks the settings the method uses: --ig-steps, with integrated gradients.
    says(
        &f.explain(
            &input,
            &["--method", "integrated-gradients", "--ig-steps", "0"],
        ),
        &["--ig-steps", "0"],
    );
    says(
        &f.explain(
            &input,
            &["--base", "integrated-gradients", "--ig-steps", "0"],
        ),
        &["--ig-steps", "0"],
    );
}

#[test]
fn unknown_method_is_a_usage_error() {
    let f = Fixtures::new("method");
    let out = f.path("out.safetensors");
    let before = f.listing();
    let result = run(&[
        "explain",
        "--model",
        s(&f.model),
        "--input",
        s(&f.input),
        "--output",
        s(&out),
        "--method",
        "lime",
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("lime") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(f.listing(), before);
}

#[test]
fn unreadable_image() {
    let f = Fixtures::new("garbage-image");
    let garbage = f.path("garbage.png");
    std::fs::write(&garbage, b"\x89PNG\r\n\x1a\nnot really a png").unwrap();
    says(&f.explain(&garbage, &[]), &["garbage.png"]);
    let text = f.path("text.png");
    std::fs::write(&text, b"hello").unwrap();
    says(&f.explain(&text, &[]), &["text.png"]);
}

#[test]
fn images_of_different_sizes() {
    let f = Fixtures::new("image-sizes");
    let small = f.path("small.png");
    let large = f.path("large.png");
    smoothgrad_viz::save_png(
        &small,
        &smoothgrad_viz::Image::filled(3, 8, 8, [0.5; 3]).unwrap(),
    )
    .unwrap();
    smoothgrad_viz::save_png(
        &large,
        &smoothgrad_viz::Image::filled(3, 9, 8, [0.5; 3]).unwrap(),
    )
    .unwrap();
    let out = f.path("out.safetensors");
    let e = f.fails(&[
        "explain",
        "--model",
        s(&f.model),
        "--input",
        s(&small),
        s(&large),
        "--output",
        s(&out),
    ]);
    says(&e, &["small.png", "large.png", "[3, 8, 8]", "[3, 9, 8]"]);
}

#[test]
fn bad_normalization() {
    let f = Fixtures::new("normalize");
    let img = f.path("img.png");
    smoothgrad_viz::save_png(
        &img,
        &smoothgrad_viz::Image::filled(3, 8, 8, [0.5; 3]).unwrap(),
    )
    .unwrap();
    says(
        &f.explain(&img, &["--normalize", "0.5,0"]),
        &["--normalize", "> 0"],
    );
    says(
        &f.explain(&img, &["--normalize", "0.5,0.5,0.5"]),
        &["--normalize", "found 3"],
    );
    says(
        &f.explain(&f.input.clone(), &["--normalize", "0.5,0.5"]),
        &["--normalize"],
    );
}

#[test]
fn unknown_preset_and_colormap() {
    let f = Fixtures::new("render-options");
    let png = f.path("out.png");
    let input = f.input.clone();
    says(
        &f.explain(&input, &["--output", s(&png), "--preset", "gradcam"]),
        &["gradcam"],
    );
    says(
        &f.explain(&input, &["--output", s(&png), "--colormap", "rainbow"]),
        &["rainbow"],
    );
    let a = f.path("attribution.safetensors");
    says(
        &f.render(&a, &["--preset", "gradcam"]),
        &["--preset", "gradcam"],
    );
    says(
        &f.render(&a, &["--colormap", "rainbow"]),
        &["--colormap", "rainbow"],
    );
    says(&f.render(&a, &["--sign", "both"]), &["--sign", "both"]);
    says(
        &f.render(&a, &["--reduce", "median"]),
        &["--reduce", "median"],
    );
    says(
        &f.render(&a, &["--clip-percentile", "120"]),
        &["--clip-percentile"],
    );
    says(&f.render(&a, &["--alpha", "1.5"]), &["--alpha"]);
    says(
        &f.render(&a, &["--preset", "max_channel", "--sign", "abs"]),
        &["--preset"],
    );
}

#[test]
fn unknown_output_extension() {
    let f = Fixtures::new("extension");
    let jpg = f.path("out.jpg");
    let e = f.explain(&f.input.clone(), &["--output", s(&jpg)]);
    says(&e, &["expected .safetensors or .png"]);
    let a = f.path("attribution.safetensors");
    let txt = f.path("map.txt");
    says(
        &f.render(&a, &["--output", s(&txt)]),
        &["expected .safetensors or .png"],
    );
}

#[test]
fn output_folder_that_does_not_exist() {
    let f = Fixtures::new("no-folder");
    let out = f.path("no/such/out.safetensors");
    f.explain(&f.input.clone(), &["--output", s(&out)]);
    let a = f.path("attribution.safetensors");
    let png = f.path("no/such/map.png");
    f.render(&a, &["--output", s(&png)]);
}

#[test]
fn render_bad_attribution_files() {
    let f = Fixtures::new("render-files");
    says(
        &f.render(&f.path("missing.safetensors"), &[]),
        &["missing.safetensors"],
    );
    says(
        &f.render(&f.input.clone(), &[]),
        &["no tensor \"attribution\"", "\"input\""],
    );
    let flat = f.tensors("flat.safetensors", |w| {
        w.tensor("attribution", &Tensor::<f32>::zeros(&[4, 4]));
    });
    says(&f.render(&flat, &[]), &["[4, 4]"]);
    let mut data = vec![0.0f32; 48];
    data[20] = f32::INFINITY;
    let inf = f.tensors("inf.safetensors", |w| {
        w.tensor(
            "attribution",
            &Tensor::from_vec(data, &[1, 3, 4, 4]).unwrap(),
        );
    });
    says(&f.render(&inf, &[]), &["non-finite", "element 20"]);
}

#[test]
fn overlay_of_the_wrong_size() {
    let f = Fixtures::new("overlay");
    let a = f.path("attribution.safetensors");
    let under = f.path("under.png");
    smoothgrad_viz::save_png(
        &under,
        &smoothgrad_viz::Image::filled(3, 4, 4, [0.5; 3]).unwrap(),
    )
    .unwrap();
    let png = f.path("map.png");
    let e = f.render(&a, &["--output", s(&png), "--overlay", s(&under)]);
    says(&e, &["under.png", "4x4", "8x8"]);
    let missing = f.path("missing.png");
    says(
        &f.render(&a, &["--output", s(&png), "--overlay", s(&missing)]),
        &["missing.png"],
    );
}

#[test]
fn malformed_onnx_models() {
    let f = Fixtures::new("bad-onnx");
    let x = Tensor::<f32>::zeros(&[1, 3, 8, 8]);
    let input = f.path("input.safetensors");
    io::write_file(&input, &[("input", &x)], &[]).unwrap();
    let garbage = f.path("garbage.onnx");
    std::fs::write(&garbage, b"\x08\x07not a model proto\xff\xff").unwrap();
    let empty = f.path("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let out = f.path("out.safetensors");
    for model in [&garbage, &empty] {
        let e = f.fails(&[
            "explain",
            "--model",
            s(model),
            "--input",
            s(&input),
            "--output",
            s(&out),
        ]);
        says(&e, &[s(model)]);
    }
    let e = f.fails(&[
        "explain",
        "--model",
        s(&garbage),
        "--arch",
        "relu",
        "--input",
        s(&input),
        "--output",
        s(&out),
    ]);
    says(&e, &["--arch", ".onnx"]);
}

#[test]
fn bench_refuses_impossible_counts() {
    let f = Fixtures::new("bench-counts");
    let bench = |extra: &[&str]| f.fails(&[&["bench", "--workload", "mlp"][..], extra].concat());
    says(&bench(&["--images", "0"]), &["--images", "at least 1"]);
    says(&bench(&["--threads", "0"]), &["--threads", "at least 1"]);
    says(
        &bench(&["--threads", "100000"]),
        &["--threads", "at most 256"],
    );
    says(&bench(&["--samples", "0"]), &["--samples"]);
}

#[test]
fn bench_refuses_a_bad_model_or_shape() {
    let f = Fixtures::new("bench-model");
    let onnx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/onnx/tests/fixtures/resnet18.onnx"
    );
    let bench = |extra: &[&str]| f.fails(&[&["bench", "--model", onnx][..], extra].concat());
    says(
        &bench(&["--input-shape", "3,x,32"]),
        &["--input-shape", "3,x,32"],
    );
    says(
        &bench(&["--input-shape", "3,0,32"]),
        &["--input-shape", "positive"],
    );
    // resnet18 needs three channels.
    says(&bench(&["--input-shape", "1,32,32"]), &["resnet18.onnx"]);
    let missing = f.path("absent.onnx");
    says(
        &f.fails(&["bench", "--model", s(&missing)]),
        &["absent.onnx"],
    );
}
