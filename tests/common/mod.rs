//! Helpers shared by the command-line integration tests: running the built binary, scratch
//! folders and paths as arguments.

// Each test binary compiles this module and uses only a subset of it.
#![allow(dead_code)]

pub mod dataset;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The test model: 3x8x8 inputs, 3 classes.
pub const SPEC: &str = "conv2d(3,4,3,padding=1), relu, flatten, linear(256,3)";

/// A fresh folder under the system's temporary folder, removed when dropped.
///
/// Its name holds the test binary's name, the process id and `name`, so test binaries and tests
/// running at the same time never share one.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates (or empties) the folder for the test called `name`.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "smoothgrad-{}-{}-{name}",
            env!("CARGO_CRATE_NAME").replace('_', "-"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// The path of the file `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Runs the binary with `args`, whatever its outcome.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smoothgrad"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs the binary and asserts it succeeded.
pub fn smoothgrad(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "smoothgrad {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
