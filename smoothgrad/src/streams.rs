//! The counter-based random streams behind every random draw of the crate: a ChaCha8 stream
//! whose 256-bit key is `(seed, a, b, domain)`, four little-endian `u64` words. Every draw is
//! fixed by the seed and its coordinates `(a, b)` alone, whichever batch or thread makes it, and
//! each [`Domain`] has its own streams, so no two uses of one seed ever share a draw.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Who draws from a stream: the last word of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    /// SmoothGrad's noise ([`crate::noise::stream`]): `a` the input, `b` the sample. (The
    /// `shapes` dataset's scenes also use this domain, `a` the image and `b` 0x5a, a key they
    /// had before domains existed and keep so that their images stay the same.)
    Noise = 0,
    /// Parameter re-initialisation in the randomization metrics: `a` the layer, `b` the
    /// parameter within it.
    Randomization = 1,
    /// Max-sensitivity's perturbations: `a` 0, `b` the perturbation.
    Sensitivity = 2,
}

/// The ChaCha8 stream keyed by `(seed, a, b, domain)`.
pub(crate) fn stream(seed: u64, a: u64, b: u64, domain: Domain) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    for (slot, word) in key.chunks_mut(8).zip([seed, a, b, domain as u64]) {
        slot.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn the_key_is_four_little_endian_words() {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&7u64.to_le_bytes());
        key[8..16].copy_from_slice(&2u64.to_le_bytes());
        key[16..24].copy_from_slice(&3u64.to_le_bytes());
        key[24..].copy_from_slice(&1u64.to_le_bytes());
        let expected: u64 = ChaCha8Rng::from_seed(key).gen();
        assert_eq!(
            stream(7, 2, 3, Domain::Randomization).gen::<u64>(),
            expected
        );
    }

    #[test]
    fn domains_never_share_a_stream() {
        let draw = |d| stream(1, 2, 3, d).gen::<u64>();
        assert_ne!(draw(Domain::Noise), draw(Domain::Randomization));
        assert_ne!(draw(Domain::Noise), draw(Domain::Sensitivity));
        assert_ne!(draw(Domain::Randomization), draw(Domain::Sensitivity));
    }
}
