//! Safetensors tensor files (`smoothgrad_autograd::io`): parse the header, then read every
//! tensor as f32 and as integers, as `explain` and `render` read their inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smoothgrad_autograd::io::TensorFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = TensorFile::from_bytes(data.to_vec()) else {
        return;
    };
    let names: Vec<String> = file.names().map(str::to_string).collect();
    for name in &names {
        let _ = file.dtype(name);
        let _ = file.shape(name);
        let _ = file.get::<f32>(name);
        let _ = file.get::<f64>(name);
        let _ = file.get_i64(name);
    }
    let _ = file.get::<f32>("no such tensor");
});
