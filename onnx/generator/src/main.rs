//! Regenerates `../src/proto/onnx.rs` from `../proto/onnx.proto` with protox and prost-build,
//! keeping the "generated" header in `header.txt`. Run by hand: `cargo run`, then `cargo fmt`.

fn main() {
    let fds = protox::compile(["onnx.proto"], ["../proto"]).expect("onnx.proto compiles");
    let out = std::env::temp_dir().join("smoothgrad-onnx-generator");
    std::fs::create_dir_all(&out).unwrap();
    prost_build::Config::new().out_dir(&out).compile_fds(fds).expect("code generation");
    let code = std::fs::read_to_string(out.join("onnx.rs")).unwrap();
    let header = include_str!("../header.txt");
    std::fs::write("../src/proto/onnx.rs", format!("{header}{code}")).unwrap();
}
