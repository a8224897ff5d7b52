//! `bench`: the workloads and `--model` print one report line each.

mod common;

use common::smoothgrad;

/// The explanations/s figure of a report line.
fn rate(stdout: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("a report line");
    let (value, _) = line
        .split_once(" explanations/s")
        .expect("an explanations/s figure");
    value.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn bench_times_an_onnx_model_on_inputs_of_the_given_shape() {
    let onnx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/onnx/tests/fixtures/resnet18.onnx"
    );
    let out = smoothgrad(&[
        "bench",
        "--model",
        onnx,
        "--input-shape",
        "3,32,32",
        "--images",
        "2",
        "--samples",
        "2",
        "--threads",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("smoothgrad-rs resnet18: "), "{text}");
    assert!(
        !text.contains("GFLOP/s"),
        "no FLOP count for an arbitrary model: {text}"
    );
    assert!(rate(&out.stdout) > 0.0);
}

#[test]
fn bench_reports_a_workload_with_its_effective_flops() {
    let out = smoothgrad(&[
        "bench",
        "--workload",
        "mlp",
        "--images",
        "2",
        "--samples",
        "2",
        "--threads",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("smoothgrad-rs mlp: ") && text.contains("GFLOP/s effective"),
        "{text}"
    );
    assert!(rate(&out.stdout) > 0.0);
}
