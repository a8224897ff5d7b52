//! `smoothgrad explain --output-dir`: folders, shards, resuming after a kill, unreadable files,
//! and inputs keyed by their names, driven through the built binary.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use smoothgrad::{Operator, SmoothGrad, Targets};
use smoothgrad_autograd::io;
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Sequential};
use smoothgrad_viz::Image;

use common::dataset::{args, by_name, fnv, folder, image, model, tree};
use common::{run, smoothgrad, Scratch, SPEC};

#[test]
fn a_folder_gives_one_picture_per_input_and_the_library_values() {
    let dir = Scratch::new("folder");
    let (net, m) = model(&dir);
    let input = folder(&dir, "data", 5);
    let out = dir.path("out");
    let o = smoothgrad(&args(
        &m,
        &input,
        &out,
        &["--target", "1", "--pictures", "both"],
    ));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("explained 5 of 5 inputs"), "{stdout}");
    let files = tree(&out);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "attributions.safetensors",
            "img-00.png.png",
            "img-01.png.png",
            "img-03.png.png",
            "img-04.png.png",
            "sub/img-02.png.png"
        ]
    );
    let both = smoothgrad_viz::load(out.join("img-00.png.png")).unwrap();
    assert_eq!(
        (both.height(), both.width()),
        (8, 16),
        "map and overlay side by side"
    );
    let file = io::read_file(out.join("attributions.safetensors")).unwrap();
    assert_eq!(file.metadata()["method"], "smoothgrad");
    let rows = by_name(&file);
    let sorted: Vec<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(
        sorted,
        [
            "img-00.png",
            "img-01.png",
            "img-03.png",
            "img-04.png",
            "sub/img-02.png"
        ]
    );
    // Each row is the library's SmoothGrad of the stored input, keyed by the input's name.
    let sg = SmoothGrad {
        samples: 6,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    for (name, (a, x, se, t)) in &rows {
        assert_eq!(*t, 1);
        let x = Tensor::from_vec(x.clone(), &[1, 3, 8, 8]).unwrap();
        let e = sg
            .explain_keyed(
                &net,
                &x,
                &Targets::Classes(vec![1]),
                &Operator::Logit,
                &[fnv(name)],
            )
            .unwrap();
        assert_eq!(e.mean.data(), &a[..], "{name}");
        assert_eq!(e.std_error.data(), &se[..], "{name}");
    }
}

/// Several classes per input in a folder run (`--target 0,2`, `--target top-2`): `[N, K, ...]`
/// attributions and `[N, K]` targets in the run's file, one picture per input and class, each
/// map the library's SmoothGrad for that class with the input's own noise.
#[test]
fn a_folder_explains_several_classes_per_input() {
    let dir = Scratch::new("folder-classes");
    let (net, m) = model(&dir);
    let input = folder(&dir, "data", 3);
    let sg = SmoothGrad {
        samples: 6,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    for target in ["0,2", "top-2"] {
        let out = dir.path(&format!("out-{target}"));
        let o = smoothgrad(&args(&m, &input, &out, &["--target", target]));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("explained 3 of 3 inputs"), "{stdout}");
        assert!(stdout.contains("(6 pictures;"), "{stdout}");
        let file = io::read_file(out.join("attributions.safetensors")).unwrap();
        assert_eq!(file.shape("attribution").unwrap(), [3, 2, 3, 8, 8]);
        assert_eq!(file.shape("std_error").unwrap(), [3, 2, 3, 8, 8]);
        let (classes, shape) = file.get_i64("target").unwrap();
        assert_eq!(shape, [3, 2]);
        let names: Vec<String> = serde_json::from_str(&file.metadata()["files"]).unwrap();
        let a: Tensor = file.get("attribution").unwrap();
        let x: Tensor = file.get("input").unwrap();
        for (i, name) in names.iter().enumerate() {
            let pair = [classes[2 * i] as usize, classes[2 * i + 1] as usize];
            if target == "0,2" {
                assert_eq!(pair, [0, 2]);
            }
            for c in pair {
                assert!(
                    out.join(format!("{name}.class-{c}.png")).exists(),
                    "{name} {c}"
                );
            }
            let xi =
                Tensor::from_vec(x.data()[i * 192..(i + 1) * 192].to_vec(), &[1, 3, 8, 8]).unwrap();
            let e = sg
                .explain_keyed(
                    &net,
                    &xi,
                    &Targets::Multiple(vec![pair.to_vec()]),
                    &Operator::Logit,
                    &[fnv(name)],
                )
                .unwrap();
            assert_eq!(e.mean.data(), &a.data()[i * 384..(i + 1) * 384], "{name}");
        }
    }
}

#[test]
fn four_shards_together_equal_one_run_bit_for_bit() {
    let dir = Scratch::new("shards");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 10);
    let whole = dir.path("whole");
    smoothgrad(&args(&m, &input, &whole, &[]));
    let all = by_name(&io::read_file(whole.join("attributions.safetensors")).unwrap());
    let sharded = dir.path("sharded");
    let mut merged = BTreeMap::new();
    for i in 0..4 {
        let shard = format!("{i}/4");
        // Different chunk sizes per shard: batch composition must not matter.
        let chunk = (i + 1).to_string();
        smoothgrad(&args(
            &m,
            &input,
            &sharded,
            &["--shard", &shard, "--chunk-size", &chunk],
        ));
        let f = io::read_file(sharded.join(format!("attributions-shard-{i}-of-4.safetensors")))
            .unwrap();
        let rows = by_name(&f);
        assert_eq!(rows.len(), if i < 2 { 3 } else { 2 });
        merged.extend(rows);
    }
    assert_eq!(merged, all);
    // The pictures too, byte for byte.
    let pictures = |d: &Path| {
        tree(d)
            .into_iter()
            .filter(|(k, _)| k.ends_with(".png"))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(pictures(&sharded), pictures(&whole));
    assert!(!sharded.join(".partial").exists());
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    let dir = Scratch::new("resume");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 24);
    let slow = ["--samples", "400", "--chunk-size", "2"];
    let reference = dir.path("reference");
    smoothgrad(&args(&m, &input, &reference, &slow));
    let out = dir.path("out");
    let a = args(&m, &input, &out, &slow);
    let mut child = Command::new(env!("CARGO_BIN_EXE_smoothgrad"))
        .args(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = out.join(".partial/all/chunk-000000.safetensors");
    let start = Instant::now();
    while !first.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no chunk appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !out.join("attributions.safetensors").exists(),
        "the run finished before it was killed: the test needs a slower run"
    );
    let committed = std::fs::read_dir(out.join(".partial/all"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("chunk-") && n.ends_with(".safetensors"))
        .count();
    assert!(committed >= 1);
    // Started again, it keeps the committed chunks and ends with the uninterrupted run's files.
    let o = smoothgrad(&a);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let done = format!("{} inputs were done before this run", 2 * committed);
    assert!(stdout.contains(&done), "{stdout} (expected: {done})");
    assert_eq!(tree(&out), tree(&reference));
}

#[test]
fn an_unreadable_file_is_skipped_and_the_others_complete() {
    let dir = Scratch::new("corrupt");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 5);
    std::fs::write(input.join("bad.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let out = dir.path("out");
    let o = run(&args(&m, &input, &out, &[]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("smoothgrad: skipped bad.png: "),
        "{err}"
    );
    assert!(lines[0].contains("bad.png"), "{err}");
    assert!(
        lines[1].contains("1 of 6 inputs were skipped"),
        "the summary: {err}"
    );
    let rows = by_name(&io::read_file(out.join("attributions.safetensors")).unwrap());
    assert_eq!(rows.len(), 5);
    assert!(!rows.contains_key("bad.png"));
    assert!(out.join("img-04.png.png").exists() && !out.join("bad.png.png").exists());

    // --fail-fast: one line, status 2, and no result file.
    let out2 = dir.path("out2");
    let o = run(&args(&m, &input, &out2, &["--fail-fast"]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("smoothgrad: error: bad.png: "), "{err}");
    assert!(err.contains("--fail-fast"), "{err}");
    assert!(!out2.join("attributions.safetensors").exists());

    // The corrupt file alone: one line, status 2, nothing written.
    let out3 = dir.path("out3");
    let o = run(&args(&m, &input.join("bad.png"), &out3, &[]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 2, "{err}"); // the skip, then the error
    assert!(err.contains("smoothgrad: error: bad.png: "), "{err}");
    assert!(tree(&out3).is_empty(), "{:?}", tree(&out3).keys());
}

#[test]
fn bad_shards_and_folders_are_one_line_and_status_2() {
    let dir = Scratch::new("bad-flags");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 2);
    let out = dir.path("out");
    let check = |extra: &[&str], input: &Path, expected: &str| {
        let o = run(&args(&m, input, &out, extra));
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert!(!out.exists(), "{extra:?} left output");
    };
    check(
        &["--shard", "3/2"],
        &input,
        "--shard: expected I/N with 0 <= I < N",
    );
    check(&["--shard", "x"], &input, "--shard: expected I/N");
    check(&["--chunk-size", "0"], &input, "--chunk-size");
    check(&["--clamp", "1,0"], &input, "--clamp: expected MIN,MAX");
    check(&[], &dir.path("nope"), "no such file or folder");
    check(&[], &dir.path("data/*.jpg"), "matches no file");
    let empty = dir.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    check(&[], &empty, "holds no inputs");
    // A folder that cannot be read (as root every folder can be: then there is no such folder).
    let locked = input.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    image(&locked, "x.png", 9);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_err() {
        check(&[], &input, "cannot read folder");
    } else {
        eprintln!("note: this user can read any folder; the unreadable-folder case is skipped");
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An output folder inside the input folder (directly, or through `..`) is refused before
    // anything is written: its pictures would become the next run's inputs.
    for inside in [input.join("maps"), input.join("sub/../maps")] {
        let o = run(&args(&m, &input, &inside, &[]));
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("is inside the input folder"), "{err}");
        assert!(!input.join("maps").exists());
    }
}

#[test]
fn other_inputs_keep_their_results_when_a_file_is_added() {
    let dir = Scratch::new("added");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 4);
    let before = dir.path("before");
    smoothgrad(&args(&m, &input, &before, &[]));
    // A file sorted in the middle: every later input changes position, not result.
    image(&input, "img-00b.png", 99);
    let after = dir.path("after");
    smoothgrad(&args(&m, &input, &after, &[]));
    let a = by_name(&io::read_file(before.join("attributions.safetensors")).unwrap());
    let mut b = by_name(&io::read_file(after.join("attributions.safetensors")).unwrap());
    assert!(b.remove("img-00b.png").is_some());
    assert_eq!(a, b);
}

#[test]
fn a_rerun_with_other_settings_is_refused_until_overwrite() {
    let dir = Scratch::new("settings");
    let (_, m) = model(&dir);
    let input = folder(&dir, "data", 3);
    let out = dir.path("out");
    smoothgrad(&args(&m, &input, &out, &[]));
    // Finished: a second run does not silently redo it.
    let o = run(&args(&m, &input, &out, &[]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--overwrite"));
    // An unfinished run with other settings is refused, naming what changed.
    let partial = out.join(".partial/all");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("manifest.json"), "{\"seed\": \"7\"}").unwrap();
    let o = run(&args(&m, &input, &out, &[]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("other settings (changed: "), "{err}");
    assert!(err.contains("seed"), "{err}");
    smoothgrad(&args(&m, &input, &out, &["--overwrite", "--seed", "3"]));
    assert!(!out.join(".partial").exists());
}

#[test]
fn a_tensor_file_in_a_folder_gives_one_input_per_row() {
    let dir = Scratch::new("rows");
    let (net, m) = model(&dir);
    let input = dir.path("data");
    std::fs::create_dir_all(&input).unwrap();
    let x = Tensor::<f32>::randn_seeded(&[3, 3, 8, 8], 4);
    let mut w = io::Writer::new();
    w.tensor("input", &x);
    w.i64("target", &[2, 0, 1], &[3]).unwrap();
    w.write(input.join("batch.safetensors")).unwrap();
    let out = dir.path("out");
    smoothgrad(&args(&m, &input, &out, &["--pictures", "overlay"]));
    let file = io::read_file(out.join("attributions.safetensors")).unwrap();
    let rows = by_name(&file);
    let names: Vec<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "batch.safetensors#0",
            "batch.safetensors#1",
            "batch.safetensors#2"
        ]
    );
    assert!(out.join("batch.safetensors-2.png").exists());
    let keys: Vec<u64> = names.iter().map(|n| fnv(n)).collect();
    let sg = SmoothGrad {
        samples: 6,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    let e = sg
        .explain_keyed(
            &net,
            &x,
            &Targets::Classes(vec![2, 0, 1]),
            &Operator::Logit,
            &keys,
        )
        .unwrap();
    let a: Tensor = file.get("attribution").unwrap();
    assert_eq!(a.data(), e.mean.data());
    assert_eq!(file.get_i64("target").unwrap().0, [2, 0, 1]);
}

/// Peak memory of a 10,000-image run against a 100-image run (`/usr/bin/time -f %M`), for the
/// test model on 3x8x8 images and a CIFAR-sized CNN on 3x32x32 images; run with
/// `cargo test --test cli_dataset -- --ignored --nocapture`. Prints the figures.
#[test]
#[ignore = "streams 2 x 10,000 images (a few minutes); prints the peak RSS figures"]
fn ten_thousand_images_stream_in_flat_memory() {
    let dir = Scratch::new("rss");
    let cifar = "conv2d(3,16,3,padding=1), relu, maxpool2d(2), conv2d(16,32,3,padding=1), relu, \
                 maxpool2d(2), flatten, linear(2048,10)";
    let mut ratios = Vec::new();
    for (spec, side) in [(SPEC, 8usize), (cifar, 32)] {
        let m = dir.path(&format!("model-{side}.safetensors"));
        weights::save(&Sequential::<f32>::from_spec_seeded(spec, 0).unwrap(), &m).unwrap();
        let peak = |n: usize| -> u64 {
            let input = dir.path(&format!("data-{side}-{n}"));
            for i in 0..n {
                let x = Tensor::<f32>::randn_seeded(&[3, side, side], i as u64);
                let px = x
                    .data()
                    .iter()
                    .map(|v| (0.5 + 0.2 * v).clamp(0.0, 1.0))
                    .collect();
                let path = input.join(format!("{:02}/img-{i:05}.png", i % 100));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                smoothgrad_viz::save_png(&path, &Image::new(3, side, side, px).unwrap()).unwrap();
            }
            let out = dir.path(&format!("out-{side}-{n}"));
            let o = Command::new("/usr/bin/time")
                .args(["-f", "%M", env!("CARGO_BIN_EXE_smoothgrad")])
                .args(args(
                    &m,
                    &input,
                    &out,
                    &["--samples", "2", "--chunk-size", "32"],
                ))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let err = String::from_utf8_lossy(&o.stderr);
            err.lines().last().unwrap().trim().parse().unwrap()
        };
        let (small, large) = (peak(100), peak(10_000));
        let ratio = large as f64 / small as f64;
        println!("{side}x{side} images: peak RSS 100 images {small} KiB, 10,000 images {large} KiB ({ratio:.3}x)");
        ratios.push(ratio);
    }
    for (side, ratio) in [8, 32].iter().zip(&ratios) {
        assert!(*ratio <= 1.25, "the {side}x{side} run grew {ratio:.3}x");
    }
}
