//! Model weights (`smoothgrad_nn::weights`): a file that describes its own model (`arch` or
//! `graph` metadata), and weights loaded into a fixed model, as `explain --model` (with and
//! without `--arch`) reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smoothgrad_nn::{weights, Module, Sequential};

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = weights::load_bytes::<Box<dyn Module<f32>>>(data) {
        let _ = model.output_shape(&[1, 1, 4, 4]);
        let _ = model.output_shape(&[1, 3, 8, 8]);
    }
    // The fixture nn/tests/fixtures/model_f32.safetensors is saved from this spec.
    let mut fixed = Sequential::<f32>::from_spec("conv2d(1,2,3), relu, flatten, linear(8,3)")
        .expect("a valid spec");
    let _ = weights::load_into_bytes(&mut fixed, data);
});
