//! Bilinear resizing exactly as PIL's `Image.resize(size, Image.BILINEAR)` (what torchvision's
//! `Resize` calls on PIL images), on 8-bit interleaved pixels.
//!
//! PIL's `ImagingResample` (`Resample.c`) filters each axis separately with the triangle filter
//! `f(t) = max(0, 1 - |t|)`, widened by the downscale factor so that downscaling averages
//! (antialiasing). For an axis of `n_in` samples resized to `n_out`, with `scale = n_in / n_out`
//! and `fs = max(scale, 1)`, output sample `i` is
//!
//! ```text
//! center = (i + 0.5) * scale,   support = fs (the filter's support 1, scaled)
//! j in [trunc(center - support + 0.5), trunc(center + support + 0.5)) clamped to [0, n_in)
//! w_j = f((j - center + 0.5) / fs) / sum_j f(...)
//! ```
//!
//! The weights are then rounded to fixed point with 22 fractional bits (`PRECISION_BITS = 32 -
//! 8 - 2`), and each output is `clip8((2^21 + sum_j w_j x_j) >> 22)`. The horizontal pass runs
//! first (when the width changes) and its result is rounded to 8 bits before the vertical pass
//! (when the height changes), so the output matches PIL's byte for byte.

/// PIL's fixed-point precision of 8-bit resampling weights.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The triangle (bilinear) filter, support 1.
fn triangle(t: f64) -> f64 {
    let t = t.abs();
    if t < 1.0 {
        1.0 - t
    } else {
        0.0
    }
}

/// One axis' filter: for each output sample, the first input sample and the fixed-point weights.
struct Taps {
    /// `(first input index, weights)` per output sample.
    taps: Vec<(usize, Vec<i32>)>,
}

impl Taps {
    /// PIL's `precompute_coeffs` and `normalize_coeffs_8bpc` for `n_in -> n_out` samples.
    fn new(n_in: usize, n_out: usize) -> Self {
        let scale = n_in as f64 / n_out as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale;
        let taps = (0..n_out)
            .map(|i| {
                let center = (i as f64 + 0.5) * scale;
                // C's (int) truncates toward zero; PIL then clamps to the image.
                let lo = ((center - support + 0.5) as i64).max(0) as usize;
                let hi = ((center + support + 0.5) as i64).clamp(0, n_in as i64) as usize;
                let raw: Vec<f64> = (lo..hi)
                    .map(|j| triangle((j as f64 - center + 0.5) / filterscale))
                    .collect();
                let total: f64 = raw.iter().sum();
                let fixed = raw
                    .iter()
                    .map(|&w| {
                        let w = if total != 0.0 { w / total } else { w };
                        let w = w * f64::from(1u32 << PRECISION_BITS);
                        // PIL rounds half away from zero: (int)(w +/- 0.5).
                        (if w < 0.0 { w - 0.5 } else { w + 0.5 }) as i32
                    })
                    .collect();
                (lo, fixed)
            })
            .collect();
        Taps { taps }
    }

    /// The filtered value of the samples `at(lo), at(lo + 1), ...` for output `i`.
    fn apply(&self, i: usize, at: impl Fn(usize) -> u8) -> u8 {
        let (lo, weights) = &self.taps[i];
        let sum = weights
            .iter()
            .enumerate()
            .fold(1i64 << (PRECISION_BITS - 1), |acc, (k, &w)| {
                acc + i64::from(w) * i64::from(at(lo + k))
            });
        (sum >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

/// Resizes interleaved 8-bit pixels `[h, w, c]` to `[out_h, out_w, c]` as PIL's bilinear
/// `resize` does (module docs); a same-size resize returns the pixels unchanged, as PIL's does.
///
/// # Panics
/// If `data.len() != h * w * c` or an output size is 0 (the caller checks both).
pub fn resize_bilinear(
    data: &[u8],
    (h, w, c): (usize, usize, usize),
    (out_h, out_w): (usize, usize),
) -> Vec<u8> {
    assert_eq!(data.len(), h * w * c, "pixels of the announced size");
    assert!(out_h > 0 && out_w > 0, "a non-empty output");
    let mut pixels = data.to_vec();
    if out_w != w {
        let taps = Taps::new(w, out_w);
        let mut out = vec![0u8; h * out_w * c];
        for y in 0..h {
            let row = &pixels[y * w * c..(y + 1) * w * c];
            for x in 0..out_w {
                for ch in 0..c {
                    out[(y * out_w + x) * c + ch] = taps.apply(x, |j| row[j * c + ch]);
                }
            }
        }
        pixels = out;
    }
    if out_h != h {
        let taps = Taps::new(h, out_h);
        let mut out = vec![0u8; out_h * out_w * c];
        let line = out_w * c;
        for y in 0..out_h {
            for k in 0..line {
                out[y * line + k] = taps.apply(y, |j| pixels[j * line + k]);
            }
        }
        pixels = out;
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_the_identity_and_flat_stays_flat() {
        let data: Vec<u8> = (0..24).map(|i| (i * 11) as u8).collect();
        assert_eq!(resize_bilinear(&data, (2, 4, 3), (2, 4)), data);
        let flat = vec![77u8; 5 * 7 * 3];
        assert!(resize_bilinear(&flat, (5, 7, 3), (3, 2))
            .iter()
            .all(|&v| v == 77));
        assert!(resize_bilinear(&flat, (5, 7, 3), (11, 13))
            .iter()
            .all(|&v| v == 77));
    }

    #[test]
    fn halving_averages_pairs_and_weights_sum_to_one() {
        // 4 -> 2: scale 2, support 2; output 0 is centred at 1.0 and takes inputs 0, 1, 2 with
        // weights f((j - 1 + 0.5) / 2) = 0.75, 0.75, 0.25, divided by their sum 1.75.
        let row = [0u8, 100, 200, 255];
        let out = resize_bilinear(&row, (1, 4, 1), (1, 2));
        let expected: f64 = (0.75 * 0.0 + 0.75 * 100.0 + 0.25 * 200.0) / 1.75;
        assert_eq!(out[0], expected.round() as u8);
        for n_in in 1..40 {
            for n_out in 1..40 {
                let taps = Taps::new(n_in, n_out);
                for (lo, w) in &taps.taps {
                    assert!(lo + w.len() <= n_in);
                    let total: i32 = w.iter().sum();
                    assert!((total - (1 << PRECISION_BITS)).abs() <= w.len() as i32);
                }
            }
        }
    }
}
