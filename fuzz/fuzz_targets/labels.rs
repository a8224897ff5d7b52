//! `--labels` files (one class name per line) and `--target` resolved against them.
//!
//! The input is split at its first NUL byte: before it the labels file's text, after it the
//! `--target` value; the byte after that (if any) sets the model's class count (0-255).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (target, outputs) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], rest.get(i + 1).copied().unwrap_or(10)),
        None => (rest, 10),
    };
    let (Ok(text), Ok(target)) = (std::str::from_utf8(text), std::str::from_utf8(target)) else {
        return;
    };
    let _ = smoothgrad_cli::fuzzing::labels(text, target, usize::from(outputs));
});
