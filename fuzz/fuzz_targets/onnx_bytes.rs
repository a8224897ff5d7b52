//! ONNX model bytes (`smoothgrad_onnx`): protobuf decoding, graph validation and conversion to
//! a graph, then its output shape for a small input, as `explain --model m.onnx` does. External
//! data is looked up in an empty folder, so only the refusal paths run. Inputs are capped at
//! 256 KiB (the importer's own size limit is tested in onnx/tests/malformed.rs).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smoothgrad_nn::Module;

fn empty_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("smoothgrad-fuzz-onnx-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary folder");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 256 << 10 {
        return;
    }
    let Ok(model) = smoothgrad_onnx::decode_model(data) else {
        return;
    };
    if let Ok(graph) = smoothgrad_onnx::import_model::<f32>(&model, empty_dir()) {
        let _ = graph.output_shape(&[1, 3, 8, 8]);
    }
});
