//! The demo end to end, in its `--quick` form: every figure, the metrics with every method key,
//! and a model that `explain` can use.

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
    for file in [
        "methods.png",
        "noise_sweep.png",
        "samples_sweep.png",
        "metrics.json",
        "model.safetensors",
    ] {
        assert!(out.join(file).is_file(), "missing {file}");
        assert!(stdout.contains(file), "the demo does not print {file}");
    }
    let figure = smoothgrad_viz::load(out.join("methods.png")).unwrap();
    assert!(figure.width() > 7 * 32 && figure.height() > 2 * 32);

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

    // The saved model carries its spec and explains an image of the right shape.
    let model: smoothgrad_nn::Sequential =
        smoothgrad_nn::weights::load(out.join("model.safetensors")).unwrap();
    assert_eq!(
        smoothgrad_nn::Module::output_shape(&model, &[1, 3, 32, 32]).unwrap(),
        vec![1, 4]
    );
    let _ = std::fs::remove_dir_all(&out);
}
