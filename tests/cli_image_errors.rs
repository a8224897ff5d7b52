//! Every bad value of the image, preprocessing, label and target options gives one line on
//! stderr, exit status 2, no panic and no output file.

mod common;

use std::path::{Path, PathBuf};

use smoothgrad_autograd::io;
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::weights;
use smoothgrad_nn::Sequential;

use common::{run, s, Scratch, SPEC};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

/// A scratch folder holding the test model and a 3-name labels file.
struct Setup {
    dir: Scratch,
    model: PathBuf,
    labels: PathBuf,
}

impl Setup {
    fn new(name: &str) -> Self {
        let dir = Scratch::new(name);
        let model = dir.path("m.safetensors");
        weights::save(
            &Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap(),
            &model,
        )
        .unwrap();
        let labels = dir.path("labels.txt");
        std::fs::write(&labels, "cat\ndog\nbird\n").unwrap();
        Setup { dir, model, labels }
    }

    /// Runs `args`, asserts a clean failure (status 2, one line, no new file), returns the line.
    fn fails(&self, args: &[&str]) -> String {
        let count = || std::fs::read_dir(self.dir.dir()).unwrap().count();
        let before = count();
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert_eq!(count(), before, "{args:?} left files behind");
        stderr.trim_end().to_string()
    }

    /// `explain` of `input` with `extra`, expected to fail.
    fn explain(&self, input: &Path, extra: &[&str]) -> String {
        let out = self.dir.path("out.safetensors");
        let args = [
            "explain",
            "--model",
            s(&self.model),
            "--input",
            s(input),
            "--output",
            s(&out),
        ];
        let size: &[&str] = if extra.contains(&"--resize") {
            &[]
        } else {
            &["--resize", "8x8"]
        };
        self.fails(&[&args[..], size, extra].concat())
    }
}

fn says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not say {part:?}");
    }
}

#[test]
fn bad_preprocessing_values() {
    let t = Setup::new("preprocessing");
    let photo = fixture("photo.jpg");
    says(
        &t.explain(&photo, &["--preprocess", "imagenette"]),
        &[
            "--preprocess",
            "expected imagenet or inception",
            "\"imagenette\"",
        ],
    );
    says(
        &t.explain(&photo, &["--center-crop", "9"]),
        &["--center-crop", "9x9", "larger than", "photo.jpg", "8x8"],
    );
    says(
        &t.explain(&photo, &["--normalize", "0.5;0.2"]),
        &["--normalize", "\"0.5;0.2\""],
    );
    says(
        &t.explain(&photo, &["--normalize", "0.5,0.2,0.1"]),
        &["--normalize", "expected 2 numbers", "found 3"],
    );
    says(
        &t.explain(&photo, &["--normalize", "0.5,0"]),
        &["--normalize", "> 0", "0"],
    );
    says(
        &t.explain(&photo, &["--resize", "0"]),
        &["--resize", "\"0\""],
    );
    says(
        &t.explain(&photo, &["--resize", "8x"]),
        &["--resize", "N or HxW"],
    );
    says(
        &t.explain(&photo, &["--pixel-range", "0-1"]),
        &["--pixel-range", "0,1", "\"0-1\""],
    );
    let x = Tensor::<f32>::zeros(&[1, 3, 8, 8]);
    let tensors = t.dir.path("x.safetensors");
    io::write_file(&tensors, &[("input", &x)], &[]).unwrap();
    says(
        &t.explain(&tensors, &[]),
        &["apply to image inputs", ".safetensors"],
    );
}

#[test]
fn corrupt_and_mismatched_images() {
    let t = Setup::new("images");
    says(
        &t.explain(&fixture("corrupt.jpg"), &[]),
        &["cannot read image", "corrupt.jpg", "JPEG"],
    );
    let text = t.dir.path("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    says(
        &t.explain(&text, &[]),
        &[
            "notes.png",
            "expected a JPEG, PNG, WebP, BMP or PPM/PGM file",
        ],
    );
    // Different sizes without a common --resize HxW or crop.
    let out = t.dir.path("out.safetensors");
    let m = s(&t.model);
    let msg = t.fails(&[
        "explain",
        "--model",
        m,
        "--input",
        s(&fixture("photo.jpg")),
        s(&fixture("gray.png")),
        "--output",
        s(&out),
        "--resize",
        "8",
    ]);
    says(
        &msg,
        &["images must share one shape", "photo.jpg", "gray.png"],
    );
}

#[test]
fn bad_labels_and_targets() {
    let t = Setup::new("labels");
    let photo = fixture("photo.jpg");
    let labels = s(&t.labels).to_string();
    let wrong = t.dir.path("five.txt");
    std::fs::write(&wrong, "a\nb\nc\nd\ne\n").unwrap();
    says(
        &t.explain(&photo, &["--labels", s(&wrong)]),
        &["--labels", "five.txt", "5 class names", "3 outputs"],
    );
    says(
        &t.explain(&photo, &["--labels", &labels, "--target", "cow"]),
        &["--target", "no class is called \"cow\"", "labels.txt"],
    );
    says(
        &t.explain(&photo, &["--target", "dog"]),
        &["--target", "\"dog\"", "--labels"],
    );
    says(
        &t.explain(&photo, &["--target", "top-0"]),
        &["--target", "top-K", "\"top-0\""],
    );
    says(
        &t.explain(&photo, &["--target", "1,-2"]),
        &["--target", "\"1,-2\""],
    );
    says(
        &t.explain(&photo, &["--labels", "/no/such/labels.txt"]),
        &["--labels", "cannot read", "/no/such/labels.txt"],
    );
    // One-hot rows with two ones.
    let x = Tensor::<f32>::zeros(&[2, 3, 8, 8]);
    let rows = Tensor::<f32>::from_vec(vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0], &[2, 3]).unwrap();
    let file = t.dir.path("x.safetensors");
    io::write_file(&file, &[("input", &x), ("target", &rows)], &[]).unwrap();
    let out = t.dir.path("out.safetensors");
    let msg = t.fails(&[
        "explain",
        "--model",
        s(&t.model),
        "--input",
        s(&file),
        "--output",
        s(&out),
    ]);
    says(&msg, &["\"target\"", "one-hot", "row 0 with 2 ones"]);
    // predict's own options.
    let m = s(&t.model);
    says(
        &t.fails(&[
            "predict",
            "--model",
            m,
            s(&photo),
            "--resize",
            "8x8",
            "--top-k",
            "0",
        ]),
        &["--top-k", "0"],
    );
    says(
        &t.fails(&[
            "predict",
            "--model",
            m,
            s(&photo),
            "--resize",
            "8x8",
            "--labels",
            s(&wrong),
        ]),
        &["5 class names", "3 outputs"],
    );
    says(
        &t.fails(&[
            "predict",
            "--model",
            m,
            s(&fixture("corrupt.jpg")),
            "--resize",
            "8x8",
        ]),
        &["corrupt.jpg"],
    );
}
