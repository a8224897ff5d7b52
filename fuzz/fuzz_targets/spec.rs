//! The spec grammar (`Sequential::from_spec`, `explain --arch`) and graph descriptions
//! (`Graph::from_description`, a saved graph's `graph` metadata).
//!
//! Specs whose integers exceed 64 are skipped: the grammar legitimately builds weights of up
//! to 2^30 elements (4 GiB, the size guard tested in nn's spec tests), which would only
//! exhaust the fuzzer's memory; with every size at most 64 each weight stays under 64 MiB.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smoothgrad_nn::{Graph, Module, Sequential};

/// Whether every run of digits in `text` is a number of at most 64.
fn small_numbers(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .all(|run| {
            run.trim_start_matches('0').len() <= 2 && run.parse::<u32>().is_ok_and(|n| n <= 64)
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 512 || !small_numbers(text) {
        return;
    }
    if let Ok(model) = Sequential::<f32>::from_spec(text) {
        let _ = model.output_shape(&[1, 3, 8, 8]);
        let _ = model.to_string();
    }
    if let Ok(graph) = Graph::<f32>::from_description(text) {
        let _ = graph.output_shape(&[1, 3, 8, 8]);
    }
});
