//! The demo end to end, in its `--quick` form: every figure and plot, the metrics with every
//! method key, the self-contained report, and a model that `explain` can use; and the demo on a
//! user's own ONNX model and a folder of images.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smoothgrad"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smoothgrad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn quick_demo_writes_figures_metrics_and_a_usable_model() {
    let out = temp_dir("demo");
    let run = bin()
        .args(["demo", "--quick", "--threads", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pictures = [
        "methods.png",
        "noise_sweep.png",
        "samples_sweep.png",
        "std_error.png",
        "noise_metrics.png",
        "deletion_insertion.png",
    ];
    for file in pictures
        .iter()
        .chain(&["metrics.json", "report.html", "model.safetensors"])
    {
        assert!(out.join(file).is_file(), "missing {file}");
        assert!(stdout.contains(file), "the demo does not print {file}");
    }
    // Seven columns of 64x64 scenes zoomed 3x, three rows (absolute, signed, overlay).
    let figure = smoothgrad_viz::load(out.join("methods.png")).unwrap();
    assert!(
        figure.width() > 7 * 192 && figure.height() > 3 * 192,
        "{}x{}",
        figure.width(),
        figure.height()
    );
    assert_report_embeds(&out, &pictures);

    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let methods = [
        "gradient",
        "smoothgrad",
        "smoothgrad_sq",
        "vargrad",
        "integrated_gradients",
        "guided_smoothgrad",
    ];
    for m in methods {
        for key in [
            "energy_in_mask",
            "pointing_game",
            "deletion_auc",
            "insertion_auc",
            "randomization_spearman",
            "scatter",
        ] {
            let v = metrics[m][key]
                .as_f64()
                .unwrap_or_else(|| panic!("{m}.{key} missing"));
            assert!(v.is_finite(), "{m}.{key} = {v}");
        }
        let unit = [
            "energy_in_mask",
            "pointing_game",
            "deletion_auc",
            "insertion_auc",
        ];
        assert!(
            unit.iter()
                .all(|k| (0.0..=1.0).contains(&metrics[m][k].as_f64().unwrap())),
            "{m}"
        );
    }
    assert_eq!(metrics.as_object().unwrap().len(), methods.len());

    // The localization sweep: every level, and at the demo's default (10%) the SmoothGrad scores
    // of metrics.json (the same maps), at 0% the gradient's.
    let sweep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("noise_metrics.json")).unwrap())
            .unwrap();
    let levels: Vec<f64> = serde_json::from_value(sweep["noise_percent"].clone()).unwrap();
    assert_eq!(levels, [0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0]);
    for metric in ["energy_in_mask", "pointing_game", "scatter"] {
        let seed0: Vec<f64> = serde_json::from_value(sweep[metric]["seed 0"].clone()).unwrap();
        assert_eq!(seed0.len(), levels.len());
        // Shares in [0, 1]; the scatter is a non-negative ratio (2 for a checkerboard).
        let range = if metric == "scatter" {
            0.0..=4.0
        } else {
            0.0..=1.0
        };
        assert!(seed0.iter().all(|v| range.contains(v)), "{seed0:?}");
        assert_eq!(seed0[2], metrics["smoothgrad"][metric].as_f64().unwrap());
        assert_eq!(seed0[0], metrics["gradient"][metric].as_f64().unwrap());
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("at 10% noise"),
        "the report names the noise level"
    );

    // The saved model carries its spec and explains an image of the right shape.
    let model: smoothgrad_nn::Sequential =
        smoothgrad_nn::weights::load(out.join("model.safetensors")).unwrap();
    assert_eq!(
        smoothgrad_nn::Module::output_shape(&model, &[1, 3, 64, 64]).unwrap(),
        vec![1, 4]
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn demo_noise_sets_smoothgrads_level_and_rejects_levels_outside_0_to_100() {
    // At 0% SmoothGrad averages copies of the gradient: the same localization scores.
    let out = temp_dir("demo-noise0");
    let run = bin()
        .args(["demo", "--quick", "--threads", "2", "--noise", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in ["energy_in_mask", "pointing_game"] {
        let (g, sg) = (
            metrics["gradient"][key].as_f64().unwrap(),
            metrics["smoothgrad"][key].as_f64().unwrap(),
        );
        assert!(
            (g - sg).abs() < 1e-6,
            "{key}: gradient {g}, SmoothGrad at 0% {sg}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("at 0% noise"));
    let _ = std::fs::remove_dir_all(&out);

    for bad in ["150", "-1", "NaN", "inf"] {
        let out = temp_dir("demo-bad-noise");
        let run = bin()
            .args(["demo", "--quick", "--out"])
            .arg(&out)
            .arg(format!("--noise={bad}"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "--noise {bad}: {stderr}");
        assert!(
            stderr.contains("--noise: expected a percentage of the input range from 0 to 100"),
            "{stderr}"
        );
        assert!(!out.exists(), "nothing written for --noise {bad}");
    }
}

/// The report is one page with every picture inlined as a PNG data URI (no file references).
fn assert_report_embeds(out: &std::path::Path, pictures: &[&str]) {
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("src=\"data:image/png;base64,iVBORw0KGgo")
            .count(),
        pictures.len(),
        "every picture embedded as a PNG"
    );
    assert!(
        !html.contains(".png\""),
        "no picture referenced by file name"
    );
    assert!(html.contains("<table>") && html.contains("smoothgrad"));
}

#[test]
fn demo_on_an_onnx_model_and_a_folder_of_images() {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("onnx/tests/fixtures/resnet18.onnx");
    let photos = temp_dir("demo-photos");
    std::fs::create_dir_all(&photos).unwrap();
    for k in 0..3usize {
        // 32x32 RGB gradients with a bright square, different per image.
        let mut data = vec![0.0f32; 3 * 32 * 32];
        for (i, v) in data.iter_mut().enumerate() {
            let (c, y, x) = (i / 1024, (i / 32) % 32, i % 32);
            let square = (8 + 4 * k..20 + 4 * k).contains(&y) && (6..18).contains(&x);
            *v = if square {
                1.0
            } else {
                ((x + y * c + k) % 32) as f32 / 40.0
            };
        }
        let image = smoothgrad_viz::Image::new(3, 32, 32, data).unwrap();
        smoothgrad_viz::save_png(photos.join(format!("photo-{k}.png")), &image).unwrap();
    }
    std::fs::write(photos.join("notes.txt"), "not an image: skipped").unwrap();
    // A photo of another size, in a subfolder: found as `explain --input DIR` finds it, and
    // brought to the model's 32x32 by --resize.
    std::fs::create_dir_all(photos.join("more")).unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/photo.jpg"),
        photos.join("more/photo.jpg"),
    )
    .unwrap();
    let out = temp_dir("demo-onnx");
    let run = bin()
        .args(["demo", "--quick", "--threads", "2", "--model"])
        .arg(&fixture)
        .arg("--input")
        .arg(&photos)
        .args(["--resize", "32x32", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("explaining 4 images"), "{stdout}");
    let pictures = [
        "methods.png",
        "noise_sweep.png",
        "samples_sweep.png",
        "std_error.png",
        "deletion_insertion.png",
    ];
    assert_report_embeds(&out, &pictures);
    assert!(!out.join("model.safetensors").exists());
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let sg = &metrics["smoothgrad"];
    assert!(
        sg.get("energy_in_mask").is_none(),
        "no masks, no energy score"
    );
    for key in ["deletion_auc", "insertion_auc"] {
        assert!((0.0..=1.0).contains(&sg[key].as_f64().unwrap()), "{key}");
    }
    assert!(sg["randomization_spearman"].as_f64().unwrap().abs() <= 1.0);
    // The scatter needs no masks: it is a property of the map alone.
    assert!(sg["scatter"].as_f64().unwrap() > 0.0);

    // A folder without images is one clear line and exit status 2.
    let empty = temp_dir("demo-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = bin()
        .args(["demo", "--model"])
        .arg(&fixture)
        .arg("--input")
        .arg(&empty)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("found none in"), "{stderr}");

    // Preprocessing describes the user's images: without --model it is refused, before
    // anything is trained or written.
    let unused = temp_dir("demo-unused");
    let run = bin()
        .args(["demo", "--quick", "--preprocess", "imagenet", "--out"])
        .arg(&unused)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("need --model and --input"), "{stderr}");
    assert!(!unused.exists(), "nothing written");
    for dir in [out, photos, empty] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
