//! The Gaussian blur of `--ig-baseline blur`: each channel of an image `[C, H, W]` convolved
//! with a normalized Gaussian of standard deviation `sigma` pixels, separably (rows, then
//! columns), the border extended by its edge pixels, the kernel cut at `ceil(3 sigma)`:
//! `k(d) = exp(-d^2 / (2 sigma^2)) / sum_{|e| <= r} exp(-e^2 / (2 sigma^2))`.

use smoothgrad_autograd::Scalar;

/// The blurred copy of `image` `[c, h, w]` (row-major, `c * h * w` values), the sums taken in
/// `f64` and each pass rounded to `T`.
pub fn gaussian_blur<T: Scalar>(image: &[T], [c, h, w]: [usize; 3], sigma: f64) -> Vec<T> {
    debug_assert_eq!(image.len(), c * h * w);
    let r = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f64> = (-r..=r)
        .map(|d| (-((d * d) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let kernel: Vec<f64> = weights.iter().map(|k| k / total).collect();
    let tap = |get: &dyn Fn(isize) -> T, at: isize, len: usize| -> T {
        let sum: f64 = kernel
            .iter()
            .zip(-r..=r)
            .map(|(k, d)| k * get((at + d).clamp(0, len as isize - 1)).to_f64_lossless())
            .sum();
        T::from_f64_lossy(sum)
    };
    let mut rows = vec![T::zero(); image.len()];
    for plane in 0..c {
        let p = plane * h * w;
        for y in 0..h {
            for x in 0..w {
                let get = |i: isize| image[p + y * w + i as usize];
                rows[p + y * w + x] = tap(&get, x as isize, w);
            }
        }
    }
    let mut out = vec![T::zero(); image.len()];
    for plane in 0..c {
        let p = plane * h * w;
        for y in 0..h {
            for x in 0..w {
                let get = |i: isize| rows[p + i as usize * w + x];
                out[p + y * w + x] = tap(&get, y as isize, h);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_stay_and_an_impulse_spreads_as_the_kernel() {
        let flat = gaussian_blur(&[0.5f32; 2 * 4 * 5], [2, 4, 5], 1.0);
        assert!(flat.iter().all(|v| (v - 0.5).abs() < 1e-6));
        // An impulse in the middle of a 1x1x9 row with sigma 1: the normalized kernel.
        let mut row = vec![0f32; 9];
        row[4] = 1.0;
        let out = gaussian_blur(&row, [1, 1, 9], 1.0);
        let k: Vec<f64> = (-3..=3i32).map(|d| (-(d * d) as f64 / 2.0).exp()).collect();
        let s: f64 = k.iter().sum();
        for (d, kd) in (-3..=3i32).zip(&k) {
            let got = f64::from(out[(4 + d) as usize]);
            assert!((got - kd / s).abs() < 1e-6, "offset {d}: {got}");
        }
        assert_eq!(out[0], 0.0);
        // Mass is kept away from the border.
        assert!((out.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-6);
    }
}
