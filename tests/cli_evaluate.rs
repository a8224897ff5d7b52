//! `smoothgrad evaluate`: its scores equal the library's metrics on the stored inputs, and it
//! re-explains with the settings the attributions file records.

mod common;

use serde_json::Value;
use smoothgrad::metrics::{
    energy_in_mask, max_sensitivity, pointing_game, reduce_abs_channels, Deletion, Insertion,
};
use smoothgrad::{Cut, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::io::{self, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Sequential};

use common::dataset::{fnv, image};
use common::{run, s, smoothgrad, Scratch, SPEC};

#[test]
fn scores_equal_the_library_metrics() {
    let dir = Scratch::new("scores");
    let net = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    let m = dir.path("model.safetensors");
    weights::save(&net, &m).unwrap();
    let data = dir.path("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..2 {
        image(&data, &format!("im{i}.png"), i);
    }
    let out = dir.path("out");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&data),
        "--output-dir",
        s(&out),
        "--samples",
        "5",
        "--noise-dist",
        "uniform",
        "--seed",
        "4",
        "--pictures",
        "none",
    ]);
    let attributions = out.join("attributions.safetensors");
    // Masks: the top half of each image.
    let mask: Vec<f32> = (0..2 * 64)
        .map(|k| if (k % 64) < 32 { 1.0 } else { 0.0 })
        .collect();
    let masks = dir.path("masks.safetensors");
    let mut w = Writer::new();
    w.tensor("mask", &Tensor::from_vec(mask.clone(), &[2, 8, 8]).unwrap());
    w.write(&masks).unwrap();
    let report = dir.path("report.json");
    smoothgrad(&[
        "evaluate",
        "--model",
        s(&m),
        "--attributions",
        s(&attributions),
        "--masks",
        s(&masks),
        "--metrics",
        "deletion,insertion,sensitivity,randomization,localization",
        "--steps",
        "8",
        "--perturbations",
        "3",
        "--radius",
        "0.1",
        "--output",
        s(&report),
    ]);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let file = io::read_file(&attributions).unwrap();
    let a: Tensor = file.get("attribution").unwrap();
    let x: Tensor = file.get("input").unwrap();
    let (t, _) = file.get_i64("target").unwrap();
    let cut = Cut::before_softmax(&net);
    let sg = SmoothGrad {
        samples: 5,
        seed: 4,
        noise: smoothgrad::Noise {
            distribution: smoothgrad::NoiseDistribution::Uniform,
            ..smoothgrad::Noise::default()
        },
        ..SmoothGrad::default()
    };
    for i in 0..2 {
        let row = &json["inputs"][i];
        let name = format!("im{i}.png");
        assert_eq!(row["name"], name.as_str());
        let ai = &a.data()[i * 192..(i + 1) * 192];
        let xi = Tensor::from_vec(x.data()[i * 192..(i + 1) * 192].to_vec(), &[3, 8, 8]).unwrap();
        let target = t[i] as usize;
        let map = reduce_abs_channels(ai, 3, 8, 8);
        let del = Deletion {
            steps: 8,
            ..Deletion::default()
        }
        .curve(&cut, &xi, &map, target)
        .unwrap();
        assert_eq!(row["deletion_auc"].as_f64().unwrap(), del.auc);
        let ins = Insertion {
            steps: 8,
            ..Insertion::default()
        }
        .curve(&cut, &xi, &map, target)
        .unwrap();
        assert_eq!(row["insertion_auc"].as_f64().unwrap(), ins.auc);
        let key = [fnv(&name)];
        let explain = |p: &Tensor| {
            let batch = Tensor::from_vec(p.data().to_vec(), &[1, 3, 8, 8]).unwrap();
            sg.explain_keyed(
                &cut,
                &batch,
                &Targets::Classes(vec![target]),
                &Operator::Logit,
                &key,
            )
            .unwrap()
            .mean
        };
        // The unperturbed re-explanation is the stored attribution.
        assert_eq!(explain(&xi).data(), ai);
        let sens = max_sensitivity(explain, &xi, 0.1, 3, 0);
        assert_eq!(row["max_sensitivity"].as_f64().unwrap(), sens);
        assert!(row["randomization_spearman"].as_f64().unwrap().abs() <= 1.0);
        let mi: Vec<bool> = mask[i * 64..(i + 1) * 64]
            .iter()
            .map(|&v| v != 0.0)
            .collect();
        assert_eq!(
            row["energy_in_mask"].as_f64().unwrap(),
            energy_in_mask(&map, &mi)
        );
        assert_eq!(
            row["pointing_hit"].as_bool().unwrap(),
            pointing_game(&map, &mi, 8, 8, 0.0)
        );
    }
    let mean = json["mean"]["deletion_auc"].as_f64().unwrap();
    let expected = (json["inputs"][0]["deletion_auc"].as_f64().unwrap()
        + json["inputs"][1]["deletion_auc"].as_f64().unwrap())
        / 2.0;
    assert!((mean - expected).abs() < 1e-15);
    assert_eq!(json["settings"]["method"], "smoothgrad");
}

#[test]
fn bad_requests_are_one_line_and_status_2() {
    let dir = Scratch::new("bad");
    let net = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    let m = dir.path("model.safetensors");
    weights::save(&net, &m).unwrap();
    let x = Tensor::<f32>::randn_seeded(&[1, 3, 8, 8], 1);
    let input = dir.path("x.safetensors");
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
        "--method",
        "gradient",
    ]);
    for (extra, expected) in [
        (
            &["--metrics", "accuracy"][..],
            "--metrics: expected some of",
        ),
        (&["--metrics", "localization"][..], "needs --masks"),
    ] {
        let o = run(&[
            &["evaluate", "--model", s(&m), "--attributions", s(&a)][..],
            extra,
        ]
        .concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{extra:?}: {err}");
    }
    // With the inputs given, an --output run is scored (gradient: re-explained exactly).
    let o = smoothgrad(&[
        "evaluate",
        "--model",
        s(&m),
        "--attributions",
        s(&a),
        "--input",
        s(&input),
        "--metrics",
        "deletion,sensitivity",
        "--perturbations",
        "0",
    ]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["inputs"][0]["max_sensitivity"].as_f64(), Some(0.0));
    assert!(json["inputs"][0]["deletion_auc"].as_f64().is_some());
}
