fn main() {
    let fds = protox::compile(["onnx.proto"], ["../proto"]).unwrap();
    let out = std::path::PathBuf::from("../src/proto");
    std::fs::create_dir_all(&out).unwrap();
    prost_build::Config::new()
        .out_dir(&out)
        .compile_fds(fds)
        .unwrap();
}
