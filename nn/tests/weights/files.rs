//! Loading hand-built and malformed files into a model: integer and half-float tensors, I/O
//! errors, every truncation, random byte flips. All must give errors, never panic, and leave the
//! model unchanged. (The file layer alone: `autograd/tests/io.rs`.)

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::io::TensorFile;
use smoothgrad_nn::weights;
use smoothgrad_nn::{Linear, NnError, Sequential};

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
fn io_errors_name_the_path_and_leave_no_file() {
    let dir = scratch("io-errors");
    let missing = dir.join("missing.safetensors");
    let mut model = small_model::<f32>(0, false);
    let e = weights::load_into(&mut model, &missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot read \"{}\": No such file or directory",
            missing.display()
        )
    );
    assert!(matches!(e, NnError::Io { path, .. } if path == missing));

    let target = dir.join("no-such-dir").join("m.safetensors");
    let e = weights::save(&model, &target).unwrap_err();
    let want = format!(
        "cannot write \"{}\": No such file or directory",
        target.display()
    );
    assert_eq!(e.to_string(), want);
    assert!(matches!(e, NnError::Io { .. }), "{e:?}");
    // A directory where the file should go: the rename fails, the temporary file is removed.
    let occupied = dir.join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), b"x").unwrap();
    assert!(matches!(
        weights::save(&model, &occupied),
        Err(NnError::Io { .. })
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
    let mut model = small_model::<f32>(11, true);
    let before = bits(&model);
    for len in 0..bytes.len() {
        let msg = weights_message(weights::load_into_bytes(&mut model, &bytes[..len]).unwrap_err());
        assert!(
            msg.starts_with("the data is not a valid safetensors file: "),
            "{len}: {msg}"
        );
    }
    assert_eq!(bits(&model), before);
    let mut longer = bytes.clone();
    longer.push(0);
    let msg = weights_message(weights::load_into_bytes(&mut model, &longer).unwrap_err());
    assert!(msg.ends_with("(truncated, or trailing bytes)"), "{msg}");
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
            Err(NnError::Weights { .. }) => {
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
}
