//! [`TensorFile`], [`Writer`] and I/O on their own, and malformed files: every truncation,
//! huge header fields, random byte flips. All must give errors, never panic.

use autograd::Tensor;
use nn::weights::{self, TensorFile, Writer};
use nn::{Linear, NnError, Sequential};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{bits, scratch, small_model, weights_message};

/// A safetensors file from header entries (JSON without the braces) and data, by hand.
fn hand_file(entries: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{{entries}}}");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn integer_weights_are_refused_and_half_floats_load_exactly() {
    let mut model = Sequential::<f32>::new().with(Linear::new(1, 2, true, &mut rng()));
    let entries = concat!(
        r#""0.bias":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"#,
        r#""0.weight":{"dtype":"F16","shape":[2,1],"data_offsets":[2,6]}"#
    );
    let bytes = hand_file(entries, &[1, 2, 0x00, 0x3c, 0x01, 0x80]);
    let file = TensorFile::from_bytes(bytes.clone()).unwrap();
    assert_eq!(file.get_i64("0.bias").unwrap(), (vec![1, 2], vec![2]));
    assert_eq!(
        weights_message(weights::load_into_bytes(&mut model, &bytes).unwrap_err()),
        "the data does not match the model: tensor \"0.bias\": dtype U8 is not supported \
         (expected F32, F64, F16 or BF16)"
    );
    // With a BF16 bias [1, -3] the F16 weight [1, -2^-24] loads exactly.
    let entries = concat!(
        r#""0.bias":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"#,
        r#""0.weight":{"dtype":"F16","shape":[2,1],"data_offsets":[4,8]}"#
    );
    let bytes = hand_file(entries, &[0x80, 0x3f, 0x40, 0xc0, 0x00, 0x3c, 0x01, 0x80]);
    weights::load_into_bytes(&mut model, &bytes).unwrap();
    let state = model.state_dict();
    assert_eq!(state[0].2.data(), [1.0, -(2f32.powi(-24))]);
    assert_eq!(state[1].2.data(), [1.0, -3.0]);
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
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
    weights::write_file(
        &path,
        &[("attribution", &x), ("std_error", &s)],
        &[("k", "v")],
    )
    .unwrap();
    let file = weights::read_file(&path).unwrap();
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
    let msg = weights_message(file.get_i64("input").unwrap_err());
    assert_eq!(
        msg,
        "the data: tensor \"input\": dtype F32 is not an integer type (expected I64, I32, I16, \
         I8, U64, U32, U16 or U8)"
    );
    let msg = weights_message(file.get::<f32>("labels").unwrap_err());
    assert_eq!(
        msg,
        "the data has no tensor \"labels\" (it has \"input\", \"target\")"
    );
    let msg = weights_message(w.i64("bad", &[1, 2, 3], &[2]).unwrap_err());
    assert_eq!(msg, "tensor \"bad\": shape [2] does not hold 3 values");
    w.tensor("input", &x);
    let msg = weights_message(w.to_bytes().unwrap_err());
    assert_eq!(msg, "tensor name \"input\" is used twice");
}

#[test]
fn io_errors_name_the_path_and_leave_no_file() {
    let dir = scratch("io-errors");
    let missing = dir.join("missing.safetensors");
    let e = weights::read_file(&missing).unwrap_err();
    let want = format!(
        "cannot read \"{}\": No such file or directory",
        missing.display()
    );
    assert_eq!(e, NnError::Io(want));
    let mut model = small_model::<f32>(0, false);
    assert!(matches!(
        weights::load_into(&mut model, &missing),
        Err(NnError::Io(_))
    ));

    let target = dir.join("no-such-dir").join("m.safetensors");
    let e = weights::save(&model, &target).unwrap_err();
    let want = format!(
        "cannot write \"{}\": No such file or directory",
        target.display()
    );
    assert_eq!(e, NnError::Io(want));
    // A directory where the file should go: the rename fails, the temporary file is removed.
    let occupied = dir.join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), b"x").unwrap();
    assert!(matches!(
        weights::save(&model, &occupied),
        Err(NnError::Io(_))
    ));
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["occupied"]);
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    let bytes = weights::to_bytes(&small_model::<f32>(10, true)).unwrap();
    for len in 0..bytes.len() {
        let e = TensorFile::from_bytes(bytes[..len].to_vec()).unwrap_err();
        let msg = weights_message(e);
        assert!(
            msg.starts_with("the data is not a valid safetensors file: "),
            "{len}: {msg}"
        );
        let mut model = small_model::<f32>(11, true);
        assert!(weights::load_into_bytes(&mut model, &bytes[..len]).is_err());
    }
    assert_eq!(
        weights_message(TensorFile::from_bytes(bytes[..5].to_vec()).unwrap_err()),
        "the data is not a valid safetensors file: it is 5 bytes long, shorter than the 8-byte \
         header length"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    let msg = weights_message(TensorFile::from_bytes(longer).unwrap_err());
    assert!(msg.ends_with("(truncated, or trailing bytes)"), "{msg}");
}

#[test]
fn huge_header_lengths_and_sizes_are_errors_without_allocation() {
    let valid = weights::to_bytes(&small_model::<f32>(12, false)).unwrap();
    for n in [
        u64::MAX,
        1 << 62,
        1 << 40,
        100_000_001,
        valid.len() as u64 - 7,
    ] {
        let mut bytes = valid.clone();
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        let msg = weights_message(TensorFile::from_bytes(bytes).unwrap_err());
        let want = format!("the header length field says {n} bytes, but only");
        assert!(msg.contains(&want), "{msg}");
    }
    // Offsets and shapes near usize::MAX, which overflow the safetensors crate's size check.
    let n = usize::MAX - 4;
    let entry = format!(r#""a":{{"dtype":"U8","shape":[{n}],"data_offsets":[0,{n}]}}"#);
    let msg = weights_message(TensorFile::from_bytes(hand_file(&entry, &[])).unwrap_err());
    assert!(
        msg.contains("the header holds the number 18446744073709551611"),
        "{msg}"
    );
    let entry = r#""a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}"#;
    assert!(TensorFile::from_bytes(hand_file(entry, &[])).is_err());
    let entry = r#""a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#;
    let msg = weights_message(TensorFile::from_bytes(hand_file(entry, &[0; 12])).unwrap_err());
    assert!(msg.ends_with("the data offsets of tensor \"a\" do not follow the previous tensor's"));
    for header in ["[]", "{\"a\":1}", "not json", "{\"a\":{\"dtype\":\"F99\"}}"] {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        let msg = weights_message(TensorFile::from_bytes(bytes).unwrap_err());
        assert!(
            msg.contains("the header is not a JSON object of tensor entries"),
            "{msg}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random byte flips anywhere in a valid file give a file that loads or an error: no panic.
    #[test]
    fn byte_flips_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6)) {
        let mut bytes = weights::to_bytes(&small_model::<f32>(13, true)).unwrap();
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let mut model = small_model::<f32>(14, true);
        let before = bits(&model);
        match weights::load_into_bytes(&mut model, &bytes) {
            // A flip in the data: the model holds exactly what the file now says.
            Ok(()) => {
                let file = TensorFile::from_bytes(bytes).unwrap();
                for (name, _, t) in model.state_dict() {
                    let stored = file.get::<f32>(&name).unwrap();
                    let same = t.data().iter().zip(stored.data()).all(|(a, b)| a.to_bits() == b.to_bits());
                    prop_assert!(same, "{}", name);
                }
            }
            Err(NnError::Weights(_)) => {
                prop_assert_eq!(bits(&model), before);
                if let Ok(file) = TensorFile::from_bytes(bytes) {
                    for name in file.names() {
                        let _ = file.get::<f64>(name);
                        let _ = file.get_i64(name);
                    }
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }

    /// Flips inside the JSON header, where nearly every flip makes the file invalid.
    #[test]
    fn header_flips_never_panic(at in any::<prop::sample::Index>(), x in 1..=255u8, n in any::<u64>()) {
        let mut bytes = weights::to_bytes(&small_model::<f32>(15, true)).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        bytes[8 + at.index(header_len)] ^= x;
        let _ = TensorFile::from_bytes(bytes.clone());
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        let parsed = TensorFile::from_bytes(bytes);
        prop_assert!(n == header_len as u64 || parsed.is_err());
    }
}
