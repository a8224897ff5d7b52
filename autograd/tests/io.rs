//! `smoothgrad_autograd::io` on its own: reading and writing named tensors and labels, every error message
//! with its source chain, and malformed files (every truncation, huge header fields, random header
//! flips), which must give errors and never panic. Files written by Python's `safetensors` are
//! tested against models in `nn/tests/weights.rs`.

#[path = "io/sources.rs"]
mod sources;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use smoothgrad_autograd::io::{self, FileError, TensorFile, Writer};
use smoothgrad_autograd::Tensor;

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A valid file of several tensors (4-d, 1-d, scalar, F64, I64) and metadata, as a model's state
/// or an explanation is laid out.
fn sample_file() -> Vec<u8> {
    let mut w = Writer::new();
    w.tensor(
        "0.weight",
        &Tensor::<f32>::from_fn(&[2, 1, 3, 3], |i| i as f32 * 0.25 - 2.0),
    )
    .tensor(
        "0.bias",
        &Tensor::<f32>::from_vec(vec![0.5, -0.5], &[2]).unwrap(),
    )
    .tensor("1.num_batches_tracked", &Tensor::<f32>::scalar(3.0))
    .tensor("std_error", &Tensor::<f64>::full(&[2, 2], 0.125))
    .i64("target", &[1, 0], &[2])
    .unwrap()
    .metadata("arch", "conv2d(1,2,3)")
    .metadata("format", "pt");
    w.to_bytes().unwrap()
}

/// A safetensors file from header entries (JSON without the braces) and data, by hand.
fn hand_file(entries: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{{entries}}}");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn invalid(bytes: Vec<u8>) -> String {
    match TensorFile::from_bytes(bytes).unwrap_err() {
        e @ FileError::Invalid { .. } => e.to_string(),
        other => panic!("expected an invalid-file error, found {other:?}"),
    }
}

#[test]
fn half_floats_and_integers_read_exactly() {
    let entries = concat!(
        r#""b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"#,
        r#""h":{"dtype":"F16","shape":[2,1],"data_offsets":[4,8]},"#,
        r#""u":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}"#
    );
    let data = [0x80, 0x3f, 0x40, 0xc0, 0x00, 0x3c, 0x01, 0x80, 1, 2];
    let file = TensorFile::from_bytes(hand_file(entries, &data)).unwrap();
    assert_eq!(file.get::<f32>("b").unwrap().data(), [1.0, -3.0]);
    assert_eq!(
        file.get::<f64>("h").unwrap().data(),
        [1.0, -(2f64.powi(-24))]
    );
    assert_eq!(file.get_i64("u").unwrap(), (vec![1, 2], vec![2]));
    assert_eq!(
        file.get::<f32>("u").unwrap_err().to_string(),
        "the data: tensor \"u\": dtype U8 is not supported (expected F32, F64, F16 or BF16)"
    );
    assert_eq!(file.dtype("h").unwrap(), io::Dtype::F16);
}

#[test]
fn f64_values_round_to_nearest_in_an_f32_tensor() {
    let mut w = Writer::new();
    w.tensor(
        "x",
        &Tensor::<f64>::from_vec(vec![0.1, 1e300, -0.0], &[3]).unwrap(),
    );
    let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    let x = file.get::<f32>("x").unwrap();
    assert_eq!(x.data()[..2], [0.1f32, f32::INFINITY]);
    assert_eq!(x.data()[2].to_bits(), (-0.0f32).to_bits());
}

#[test]
fn tensor_files_read_and_write_inputs_and_labels() {
    let dir = scratch("tensor-files");
    let path = dir.join("batch.safetensors");
    let x = Tensor::<f32>::from_fn(&[2, 1, 2, 2], |i| i as f32 - 3.5);
    let s = Tensor::<f32>::full(&[2, 1, 2, 2], 0.25);
    io::write_file(
        &path,
        &[("attribution", &x), ("std_error", &s)],
        &[("k", "v")],
    )
    .unwrap();
    let file = io::read_file(&path).unwrap();
    assert_eq!(
        file.names().collect::<Vec<_>>(),
        ["attribution", "std_error"]
    );
    assert_eq!(file.get::<f32>("attribution").unwrap(), x);
    assert_eq!(file.get::<f64>("std_error").unwrap(), s.cast::<f64>());
    assert_eq!(file.metadata()["k"], "v");
    assert_eq!(file.source(), format!("\"{}\"", path.display()));

    let mut w = Writer::new();
    w.tensor("input", &x).i64("target", &[4, -1], &[2]).unwrap();
    let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(file.len(), 2);
    assert!(file.contains("target") && !file.is_empty());
    assert_eq!(file.get_i64("target").unwrap(), (vec![4, -1], vec![2]));
    assert_eq!(
        file.get_i64("input").unwrap_err().to_string(),
        "the data: tensor \"input\": dtype F32 is not an integer type (expected I64, I32, I16, \
         I8, U64, U32, U16 or U8)"
    );
    assert_eq!(
        file.get::<f32>("labels").unwrap_err().to_string(),
        "the data has no tensor \"labels\" (it has \"input\", \"target\")"
    );
    assert_eq!(
        w.i64("bad", &[1, 2, 3], &[2]).unwrap_err().to_string(),
        "tensor \"bad\": shape [2] does not hold 3 values"
    );
    w.tensor("input", &x);
    assert_eq!(
        w.to_bytes().unwrap_err().to_string(),
        "tensor name \"input\" is used twice"
    );
}

#[test]
fn a_missing_tensor_lists_the_first_ten_names() {
    let mut w = Writer::new();
    for i in 0..12 {
        w.tensor(&format!("t{i:02}"), &Tensor::<f32>::scalar(0.0));
    }
    let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    let msg = file.shape("x").unwrap_err().to_string();
    assert!(
        msg.starts_with("the data has no tensor \"x\" (it has \"t00\", "),
        "{msg}"
    );
    assert!(msg.ends_with("\"t09\", ...)"), "{msg}");
    let empty = TensorFile::from_bytes(Writer::new().to_bytes().unwrap()).unwrap();
    assert_eq!(
        empty.dtype("x").unwrap_err().to_string(),
        "the data has no tensor \"x\" (it has none)"
    );
}

#[test]
fn io_errors_name_the_path_and_leave_no_file() {
    let dir = scratch("io-errors");
    let missing = dir.join("missing.safetensors");
    let e = io::read_file(&missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot read \"{}\": No such file or directory",
            missing.display()
        )
    );
    assert_eq!(e.path(), Some(missing.as_path()));

    let x = Tensor::<f32>::zeros(&[2]);
    let target = dir.join("no-such-dir").join("x.safetensors");
    let e = io::write_file(&target, &[("x", &x)], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot write \"{}\": No such file or directory",
            target.display()
        )
    );
    assert_eq!(
        io::write_file(Path::new(".."), &[("x", &x)], &[])
            .unwrap_err()
            .to_string(),
        "cannot write \"..\": not a file name"
    );
    // A directory where the file should go: the rename fails, the temporary file is removed.
    let occupied = dir.join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), b"x").unwrap();
    assert!(matches!(
        io::write_file(&occupied, &[("x", &x)], &[]),
        Err(FileError::Io { .. })
    ));
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["occupied"]);
    // A successful write leaves only the file.
    let written = dir.join("ok.safetensors");
    io::write_file(&written, &[("x", &x)], &[]).unwrap();
    assert_eq!(io::read_file(&written).unwrap().get::<f32>("x").unwrap(), x);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    let bytes = sample_file();
    for len in 0..bytes.len() {
        let msg = invalid(bytes[..len].to_vec());
        assert!(
            msg.starts_with("the data is not a valid safetensors file: "),
            "{len}: {msg}"
        );
    }
    assert_eq!(
        invalid(bytes[..5].to_vec()),
        "the data is not a valid safetensors file: it is 5 bytes long, shorter than the 8-byte \
         header length"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    let msg = invalid(longer);
    assert!(msg.ends_with("(truncated, or trailing bytes)"), "{msg}");
}

#[test]
fn huge_header_lengths_and_sizes_are_errors_without_allocation() {
    let valid = sample_file();
    for n in [
        u64::MAX,
        1 << 62,
        1 << 40,
        100_000_001,
        valid.len() as u64 - 7,
    ] {
        let mut bytes = valid.clone();
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        let msg = invalid(bytes);
        let want = format!("the header length field says {n} bytes, but only");
        assert!(msg.contains(&want), "{msg}");
    }
    // Offsets and shapes near usize::MAX, which overflow the safetensors crate's size check.
    let n = usize::MAX - 4;
    let entry = format!(r#""a":{{"dtype":"U8","shape":[{n}],"data_offsets":[0,{n}]}}"#);
    let msg = invalid(hand_file(&entry, &[]));
    assert!(
        msg.contains("the header holds the number 18446744073709551611"),
        "{msg}"
    );
    let entry = r#""a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}"#;
    assert!(TensorFile::from_bytes(hand_file(entry, &[])).is_err());
    let entry = r#""a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#;
    let msg = invalid(hand_file(entry, &[0; 12]));
    assert!(msg.ends_with("the data offsets of tensor \"a\" do not follow the previous tensor's"));
    for header in ["[]", "{\"a\":1}", "not json", "{\"a\":{\"dtype\":\"F99\"}}"] {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        let msg = invalid(bytes);
        assert!(
            msg.contains("the header is not a JSON object of tensor entries"),
            "{msg}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random byte flips anywhere in a valid file give a file that reads or an error: no panic.
    #[test]
    fn byte_flips_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6)) {
        let mut bytes = sample_file();
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Ok(file) = TensorFile::from_bytes(bytes) {
            for name in file.names() {
                let _ = file.get::<f64>(name);
                let _ = file.get::<f32>(name);
                let _ = file.get_i64(name);
            }
        }
    }

    /// Flips inside the JSON header, where nearly every flip makes the file invalid.
    #[test]
    fn header_flips_never_panic(at in any::<prop::sample::Index>(), x in 1..=255u8, n in any::<u64>()) {
        let mut bytes = sample_file();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        bytes[8 + at.index(header_len)] ^= x;
        let _ = TensorFile::from_bytes(bytes.clone());
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        let parsed = TensorFile::from_bytes(bytes);
        prop_assert!(n == header_len as u64 || parsed.is_err());
    }
}
