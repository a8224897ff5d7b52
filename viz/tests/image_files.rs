//! Image files: bit-exact round trips through our writers and the `image` crate's decoders
//! (feature `decode`), and corrupt or truncated files giving errors, never panics.
#![cfg(feature = "decode")]

use proptest::prelude::*;
use smoothgrad_viz::{decode, encode_ppm, Image};

/// A small image with every kind of value: 0, 255, and bytes in between.
fn sample(channels: usize) -> Image {
    let (h, w) = (3, 5);
    let bytes: Vec<u8> = (0..channels * h * w)
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    Image::from_interleaved_u8(channels, h, w, &bytes).unwrap()
}

fn any_image() -> impl Strategy<Value = (usize, usize, usize, Vec<u8>)> {
    (prop::sample::select(vec![1usize, 3]), 1usize..9, 1usize..9).prop_flat_map(|(c, h, w)| {
        (
            Just(c),
            Just(h),
            Just(w),
            prop::collection::vec(any::<u8>(), c * h * w),
        )
    })
}

#[test]
fn every_truncation_of_a_ppm_or_pgm_is_an_error() {
    for channels in [1, 3] {
        let bytes = encode_ppm(&sample(channels));
        assert!(decode(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "{channels} channels cut to {len} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[cfg(feature = "png")]
#[test]
fn every_truncation_of_a_png_is_an_error() {
    for channels in [1, 3] {
        let bytes = smoothgrad_viz::encode_png(&sample(channels)).unwrap();
        assert!(decode(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "{channels} channels cut to {len} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[cfg(feature = "png")]
#[test]
fn a_png_with_a_flipped_crc_is_an_error() {
    let mut bytes = smoothgrad_viz::encode_png(&sample(3)).unwrap();
    // The IHDR chunk's CRC sits at bytes 29..33 (8 signature + 4 length + 4 type + 13 data).
    bytes[30] ^= 0xFF;
    let e = decode(&bytes).unwrap_err();
    assert!(e.to_string().starts_with("PNG: "), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ppm_round_trips_bit_exactly((c, h, w, bytes) in any_image()) {
        let image = Image::from_interleaved_u8(c, h, w, &bytes).unwrap();
        let back = decode(&encode_ppm(&image)).unwrap();
        prop_assert_eq!(back.to_interleaved_u8(), bytes);
        prop_assert_eq!(back, image);
    }

    #[cfg(feature = "png")]
    #[test]
    fn png_round_trips_bit_exactly((c, h, w, bytes) in any_image()) {
        let image = Image::from_interleaved_u8(c, h, w, &bytes).unwrap();
        let back = decode(&smoothgrad_viz::encode_png(&image).unwrap()).unwrap();
        prop_assert_eq!(back.to_interleaved_u8(), bytes);
        prop_assert_eq!(back, image);
    }

    #[test]
    fn corrupted_ppm_never_panics(position in 0usize..80, byte in any::<u8>(), cut in 0usize..80) {
        let mut bytes = encode_ppm(&sample(3));
        let position = position % bytes.len();
        bytes[position] = byte;
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        // Ok or Err, but never a panic; a decoded image always has the announced size.
        if let Ok(image) = decode(&bytes) {
            prop_assert_eq!(image.data().len(), image.channels() * image.height() * image.width());
        }
    }
}

#[cfg(feature = "png")]
#[test]
fn every_changed_byte_of_a_png_is_an_error() {
    // Every byte is the signature or in a chunk covered by a CRC, so any change is caught.
    let bytes = smoothgrad_viz::encode_png(&sample(3)).unwrap();
    for position in 0..bytes.len() {
        for flip in [0x01u8, 0x10, 0x80, 0xFF] {
            let mut corrupt = bytes.clone();
            corrupt[position] ^= flip;
            assert!(
                decode(&corrupt).is_err(),
                "byte {position} xor {flip:#x} was accepted"
            );
        }
    }
}
