//! Helpers of the dataset tests (`explain --output-dir`): the test model, folders of random
//! images, the command's arguments and readers of the run's outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use smoothgrad_autograd::io::TensorFile;
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Sequential};
use smoothgrad_viz::Image;

use super::{s, Scratch, SPEC};

/// The test model, saved to `model.safetensors`.
pub fn model(dir: &Scratch) -> (Sequential, PathBuf) {
    let model = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    let path = dir.path("model.safetensors");
    weights::save(&model, &path).unwrap();
    (model, path)
}

/// A random 3x8x8 image, different for each `seed`, saved as `dir/name`.
pub fn image(dir: &Path, name: &str, seed: u64) {
    let x = Tensor::<f32>::randn_seeded(&[3, 8, 8], seed);
    let pixels = x
        .data()
        .iter()
        .map(|v| (0.5 + 0.2 * v).clamp(0.0, 1.0))
        .collect();
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    smoothgrad_viz::save_png(&path, &Image::new(3, 8, 8, pixels).unwrap()).unwrap();
}

/// A folder `name` of `n` images `img-00.png`, ... (some in a subfolder).
pub fn folder(dir: &Scratch, name: &str, n: usize) -> PathBuf {
    let root = dir.path(name);
    for i in 0..n {
        let sub = if i % 3 == 2 { "sub/" } else { "" };
        image(&root, &format!("{sub}img-{i:02}.png"), i as u64);
    }
    root
}

/// `explain --output-dir out` of `input` with small SmoothGrad settings, `extra` flags
/// replacing the defaults they name.
pub fn args<'a>(m: &'a Path, input: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "explain",
        "--model",
        s(m),
        "--input",
        s(input),
        "--output-dir",
        s(out),
    ];
    let defaults = [
        ("--samples", "6"),
        ("--batch-size", "4"),
        ("--chunk-size", "3"),
        ("--threads", "2"),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            a.extend([flag, value]);
        }
    }
    a.extend(extra);
    a
}

/// Each input's rows of a run's file, by file name: attribution, input, std_error, target.
/// One input's rows: attribution, input, std_error, and its class.
pub type Row = (Vec<f32>, Vec<f32>, Vec<f32>, i64);

pub fn by_name(file: &TensorFile) -> BTreeMap<String, Row> {
    let names: Vec<String> = serde_json::from_str(&file.metadata()["files"]).unwrap();
    let a: Tensor = file.get("attribution").unwrap();
    let x: Tensor = file.get("input").unwrap();
    let se: Tensor = file.get("std_error").unwrap();
    let (t, _) = file.get_i64("target").unwrap();
    let len = a.data().len() / names.len();
    let row = |v: &Tensor, i: usize| v.data()[i * len..(i + 1) * len].to_vec();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), (row(&a, i), row(&x, i), row(&se, i), t[i])))
        .collect()
}

/// The bytes of every file below `dir` (hidden ones too), by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The noise key of an input: FNV-1a (64-bit) of its name.
pub fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
