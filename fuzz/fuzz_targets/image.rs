//! Image inputs: the bytes of one `--input` file through the function `explain` loads its
//! inputs with (`smoothgrad_cli::fuzzing::load_inputs`, which picks the decoder from the file
//! itself), then the preprocessing. The first byte picks the file name's extension (its low
//! bits), `--resize 9 --center-crop 7` (bit 6) and `--normalize` (bit 7).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() {
            base
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("smoothgrad-fuzz-image-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary folder");
        d
    })
}

const EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "ppm", "pgm", "bmp", "webp"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let path = dir().join(format!(
        "input.{}",
        EXTENSIONS[(pick & 0x3f) as usize % EXTENSIONS.len()]
    ));
    std::fs::write(&path, bytes).expect("a temporary file");
    let normalize = (pick & 0x80 != 0).then_some("0.5,0.25");
    let resize = pick & 0x40 != 0;
    let _ = smoothgrad_cli::fuzzing::load_inputs(&[path.clone()], normalize, resize);
    let _ = std::fs::remove_file(&path);
});
