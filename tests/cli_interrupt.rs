//! Ctrl-C (SIGINT) and SIGTERM stop a long command at once, with status 130, one line on
//! stderr, and no output file, partial or temporary.

#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use smoothgrad_autograd::io;
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Sequential};

use common::{s, Scratch, SPEC};

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Starts the binary with `args`, sends `signal` after `after`, and returns its status and
/// stderr; the process must end within 10 seconds of the signal.
fn interrupt(args: &[&str], signal: &str, after: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smoothgrad"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(
        child.try_wait().unwrap().is_none(),
        "{args:?} ended before the signal"
    );
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{args:?} ignored {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn interrupted_explain_leaves_no_output() {
    let dir = Scratch::new("explain");
    let model = dir.path("model.safetensors");
    weights::save(
        &Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap(),
        &model,
    )
    .unwrap();
    let input = dir.path("input.safetensors");
    io::write_file(
        &input,
        &[("input", &Tensor::<f32>::randn_seeded(&[4, 3, 8, 8], 1))],
        &[],
    )
    .unwrap();
    let before = files(dir.dir());
    for (signal, output) in [("-INT", "map.png"), ("-TERM", "out.safetensors")] {
        let out = dir.path(output);
        let args = [
            "explain",
            "--model",
            s(&model),
            "--input",
            s(&input),
            "--output",
            s(&out),
            "--samples",
            "10000000",
            "--threads",
            "2",
        ];
        let (status, stderr) = interrupt(&args, signal, Duration::from_millis(1500));
        assert_eq!(status, Some(130), "{signal}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{signal}: {stderr}");
        assert_eq!(files(dir.dir()), before, "{signal} left files behind");
    }
}

#[test]
fn interrupted_demo_leaves_no_temporary_file() {
    let dir = Scratch::new("demo");
    let out = dir.path("out");
    let (status, stderr) = interrupt(
        &["demo", "--quick", "--out", s(&out), "--threads", "1"],
        "-INT",
        Duration::from_millis(800),
    );
    assert_eq!(status, Some(130), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.contains("interrupted")),
        "{stderr}"
    );
    let temporary: Vec<String> = files(dir.dir())
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "{temporary:?}");
}
