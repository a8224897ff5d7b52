//! `smoothgrad render`, driven through the built binary: `map` outputs are exactly the viz
//! pipeline's maps, and `.png` outputs decode to the maps' size.

mod common;

use std::path::{Path, PathBuf};

use smoothgrad_autograd::io::{self, Dtype, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::weights;
use smoothgrad_nn::Sequential;
use smoothgrad_viz::{Capping, Normalization, Pipeline, Reduction, Sign};

use common::{s, smoothgrad, Scratch};

/// Random attributions of `shape` in `attribution.safetensors`.
fn attribution(dir: &Scratch, shape: &[usize]) -> (Tensor, PathBuf) {
    let a = Tensor::<f32>::randn_seeded(shape, 11);
    let path = dir.path("attribution.safetensors");
    let mut w = Writer::new();
    w.tensor("attribution", &a).tensor("std_error", &a);
    w.write(&path).unwrap();
    (a, path)
}

/// Renders `input` to `out.safetensors` with `options` and returns the `map` tensor.
fn render_map(dir: &Scratch, input: &Path, options: &[&str]) -> Tensor {
    let out = dir.path("out.safetensors");
    let args = ["render", "--attribution", s(input), "--output", s(&out)];
    smoothgrad(&[&args[..], options].concat());
    let file = io::read_file(&out).unwrap();
    assert_eq!(file.names().collect::<Vec<_>>(), ["map"]);
    assert_eq!(file.dtype("map").unwrap(), Dtype::F32);
    file.get::<f32>("map").unwrap()
}

/// Asserts the command's map is exactly `pipeline`'s on `a`.
fn assert_same_maps(map: &Tensor, pipeline: Pipeline, a: &Tensor) {
    let want = pipeline.run_slice(a.data(), a.shape()).unwrap();
    let [n, h, w] = want.shape();
    assert_eq!(map.shape(), [n, h, w]);
    assert_eq!(map.data(), want.data());
}

#[test]
fn pair_grayscale_maps_equal_the_pipeline() {
    let dir = Scratch::new("pair");
    let (a, path) = attribution(&dir, &[2, 3, 8, 8]);
    let map = render_map(&dir, &path, &["--preset", "pair_grayscale"]);
    assert_same_maps(&map, Pipeline::pair_grayscale(), &a);
}

#[test]
fn every_preset_equals_the_pipeline() {
    let dir = Scratch::new("presets");
    let (a, path) = attribution(&dir, &[2, 3, 5, 7]);
    for name in Pipeline::PRESETS {
        let map = render_map(&dir, &path, &["--preset", name]);
        assert_same_maps(&map, Pipeline::preset(name).unwrap(), &a);
    }
}

#[test]
fn the_default_pipeline_is_pair_grayscale() {
    let dir = Scratch::new("default");
    let (a, path) = attribution(&dir, &[1, 3, 6, 6]);
    assert_same_maps(
        &render_map(&dir, &path, &[]),
        Pipeline::pair_grayscale(),
        &a,
    );
}

#[test]
fn options_build_the_pipeline() {
    let dir = Scratch::new("options");
    let (a, path) = attribution(&dir, &[2, 3, 6, 6]);
    let map = render_map(
        &dir,
        &path,
        &[
            "--sign",
            "signed",
            "--reduce",
            "mean",
            "--clip-percentile",
            "95",
        ],
    );
    let signed = Pipeline {
        sign: Sign::Signed,
        reduction: Reduction::Mean,
        capping: Capping::Symmetric { percentile: 95.0 },
        normalization: Normalization::Symmetric,
        ..Pipeline::pair_grayscale()
    };
    assert_same_maps(&map, signed, &a);
    let map = render_map(&dir, &path, &["--sign", "positive", "--reduce", "max"]);
    let positive = Pipeline {
        sign: Sign::Positive,
        reduction: Reduction::Max,
        ..Pipeline::pair_grayscale()
    };
    assert_same_maps(&map, positive, &a);
}

#[test]
fn three_dimensional_attributions_have_one_channel() {
    let dir = Scratch::new("nhw");
    let (a, path) = attribution(&dir, &[2, 4, 5]);
    let map = render_map(&dir, &path, &["--preset", "max_channel"]);
    let a4 = a.reshape(&[2, 1, 4, 5]).unwrap();
    assert_same_maps(&map, Pipeline::max_channel(), &a4);
}

#[test]
fn png_outputs_decode_to_the_map_size() {
    let dir = Scratch::new("png");
    let (_, path) = attribution(&dir, &[1, 3, 6, 9]);
    let out = dir.path("map.png");
    smoothgrad(&["render", "--attribution", s(&path), "--output", s(&out)]);
    let img = smoothgrad_viz::load(&out).unwrap();
    assert_eq!((img.channels(), img.height(), img.width()), (3, 6, 9));
    // The default gray colormap: equal channels, white where the map is largest.
    let px: Vec<[f32; 3]> = (0..6)
        .flat_map(|y| (0..9).map(move |x| (y, x)))
        .map(|(y, x)| img.pixel(y, x))
        .collect();
    assert!(px.iter().all(|p| p[0] == p[1] && p[1] == p[2]));
    assert!(px.iter().any(|p| p[0] == 1.0));
}

#[test]
fn several_maps_give_numbered_pictures_with_overlays() {
    let dir = Scratch::new("overlay");
    let (_, path) = attribution(&dir, &[2, 3, 4, 4]);
    let under = dir.path("under.png");
    smoothgrad_viz::save_png(
        &under,
        &smoothgrad_viz::Image::filled(3, 4, 4, [0.2, 0.4, 0.6]).unwrap(),
    )
    .unwrap();
    let out = dir.path("pic.png");
    smoothgrad(&[
        "render",
        "--attribution",
        s(&path),
        "--output",
        s(&out),
        "--preset",
        "diverging",
        "--overlay",
        s(&under),
        "--alpha",
        "0.3",
    ]);
    assert!(!out.exists());
    for k in 0..2 {
        let img = smoothgrad_viz::load(dir.path(&format!("pic-{k}.png"))).unwrap();
        assert_eq!((img.channels(), img.height(), img.width()), (3, 4, 4));
    }
}

#[test]
fn explain_then_render_round_trip() {
    let dir = Scratch::new("round-trip");
    let spec = "conv2d(3,4,3,padding=1), relu, flatten, linear(256,3)";
    let model = Sequential::<f32>::from_spec_seeded(spec, 0).unwrap();
    let m = dir.path("model.safetensors");
    weights::save(&model, &m).unwrap();
    let input = dir.path("input.safetensors");
    let x = Tensor::<f32>::randn_seeded(&[2, 3, 8, 8], 5);
    io::write_file(&input, &[("input", &x)], &[]).unwrap();
    let a = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&a),
        "--samples",
        "4",
    ]);
    let attribution = io::read_file(&a)
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    let map = render_map(&dir, &a, &["--preset", "max_channel"]);
    assert_same_maps(&map, Pipeline::max_channel(), &attribution);
}
