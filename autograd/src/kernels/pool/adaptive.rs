//! Adaptive average pooling (PyTorch's `adaptive_avg_pool2d`): a requested output size, and
//! windows that tile the input as evenly as integers allow.
//!
//! Along a dimension of `size` inputs and `out` outputs, output `i` averages inputs
//! `floor(i * size / out) .. ceil((i + 1) * size / out)`. The windows cover every input; they
//! overlap by one when `out` does not divide `size`, and repeat inputs when `out > size`.

use crate::scalar::Scalar;

/// The validated shapes of one adaptive average pooling: input `[n, c, h, w]`, output
/// `[n, c, out_h, out_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptivePool2dGeometry {
    /// The input shape `[n, c, h, w]`.
    pub input: [usize; 4],
    /// The output size `[out_h, out_w]`.
    pub output: [usize; 2],
}

impl AdaptivePool2dGeometry {
    /// Validates an input shape and an output size.
    ///
    /// # Errors
    /// A message naming `adaptive_avg_pool2d` if the input is not of rank 4, its channels, height
    /// or width is 0, or an output size is 0 (a batch of 0 is accepted).
    pub fn new(input_shape: &[usize], output: [usize; 2]) -> Result<Self, String> {
        let err = |what: &str| {
            Err(format!(
                "adaptive_avg_pool2d: input {input_shape:?} to output size {output:?}: {what}"
            ))
        };
        let &[n, c, h, w] = input_shape else {
            return err("the input must have rank 4 (NCHW)");
        };
        if c == 0 || h == 0 || w == 0 {
            return err("channels, height and width must be >= 1");
        }
        if output.contains(&0) {
            return err("the output size must be >= 1");
        }
        Ok(AdaptivePool2dGeometry {
            input: [n, c, h, w],
            output,
        })
    }

    /// The output shape `[n, c, out_h, out_w]`.
    pub fn output_shape(&self) -> [usize; 4] {
        let [n, c, ..] = self.input;
        [n, c, self.output[0], self.output[1]]
    }

    fn planes(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn check_len(&self, op: &str, what: &str, len: usize, shape: [usize; 4]) {
        let expected: usize = shape.iter().product();
        assert!(
            len == expected,
            "{op}: {what} has {len} elements but shape {shape:?} needs {expected} (input {:?}, \
             output size {:?})",
            self.input,
            self.output
        );
    }
}

/// PyTorch's windows along one dimension: output `i` of `out` covers
/// `floor(i * size / out) .. ceil((i + 1) * size / out)`, never empty for `size, out >= 1`.
pub fn adaptive_windows(size: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|i| (i * size / out, ((i + 1) * size).div_ceil(out)))
        .collect()
}

/// `y[n, c, i, j] = mean of x[n, c, r, s]` over rows `r` of window `i` and columns `s` of window
/// `j` (see [`adaptive_windows`]). An output of `[1, 1]` (global average pooling) takes a plain
/// per-plane sum.
///
/// # Panics
/// If `x.len()` does not match the geometry.
pub fn adaptive_avg_pool2d_forward<T: Scalar>(g: &AdaptivePool2dGeometry, x: &[T]) -> Vec<T> {
    g.check_len("adaptive_avg_pool2d_forward", "x", x.len(), g.input);
    let [_, _, h, w] = g.input;
    if g.output == [1, 1] {
        let count = T::from_f64_lossy((h * w) as f64);
        return x
            .chunks_exact(h * w)
            .map(|p| p.iter().fold(T::zero(), |a, &v| a + v) / count)
            .collect();
    }
    let (rows, cols) = (
        adaptive_windows(h, g.output[0]),
        adaptive_windows(w, g.output[1]),
    );
    let mut y = Vec::with_capacity(g.planes() * g.output[0] * g.output[1]);
    for xp in x.chunks_exact(h * w) {
        for &(r0, r1) in &rows {
            for &(c0, c1) in &cols {
                let sum = (r0..r1).fold(T::zero(), |acc, r| {
                    xp[r * w + c0..r * w + c1].iter().fold(acc, |a, &v| a + v)
                });
                y.push(sum / T::from_f64_lossy(((r1 - r0) * (c1 - c0)) as f64));
            }
        }
    }
    y
}

/// Gradient of [`adaptive_avg_pool2d_forward`]: every input of window `(i, j)` receives
/// `dy[n, c, i, j] / (window size)`; overlapping windows accumulate. For a `[1, 1]` output, each
/// plane is filled with `dy / (h w)`.
///
/// # Panics
/// If `dy.len()` does not match the geometry.
pub fn adaptive_avg_pool2d_backward<T: Scalar>(g: &AdaptivePool2dGeometry, dy: &[T]) -> Vec<T> {
    g.check_len(
        "adaptive_avg_pool2d_backward",
        "dy",
        dy.len(),
        g.output_shape(),
    );
    let [_, _, h, w] = g.input;
    let mut dx = vec![T::zero(); g.planes() * h * w];
    if g.output == [1, 1] {
        let count = T::from_f64_lossy((h * w) as f64);
        for (p, &d) in dx.chunks_exact_mut(h * w).zip(dy) {
            p.fill(d / count);
        }
        return dx;
    }
    let (rows, cols) = (
        adaptive_windows(h, g.output[0]),
        adaptive_windows(w, g.output[1]),
    );
    let out_plane = g.output[0] * g.output[1];
    for (dxp, dyp) in dx.chunks_exact_mut(h * w).zip(dy.chunks_exact(out_plane)) {
        let mut k = 0;
        for &(r0, r1) in &rows {
            for &(c0, c1) in &cols {
                let share = dyp[k] / T::from_f64_lossy(((r1 - r0) * (c1 - c0)) as f64);
                k += 1;
                for r in r0..r1 {
                    dxp[r * w + c0..r * w + c1]
                        .iter_mut()
                        .for_each(|v| *v = *v + share);
                }
            }
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_pytorch() {
        // 7 -> 3: [0, 3), [2, 5), [4, 7); 5 -> 2: [0, 3), [2, 5); 2 -> 3: [0, 1), [0, 2), [1, 2).
        assert_eq!(adaptive_windows(7, 3), [(0, 3), (2, 5), (4, 7)]);
        assert_eq!(adaptive_windows(5, 2), [(0, 3), (2, 5)]);
        assert_eq!(adaptive_windows(2, 3), [(0, 1), (0, 2), (1, 2)]);
        assert_eq!(adaptive_windows(6, 3), [(0, 2), (2, 4), (4, 6)]);
    }

    #[test]
    fn forward_and_backward_by_hand() {
        // One 3x2 plane [[1, 2], [3, 4], [5, 6]] to 2x1: rows [0, 2) and [1, 3).
        let g = AdaptivePool2dGeometry::new(&[1, 1, 3, 2], [2, 1]).unwrap();
        let y = adaptive_avg_pool2d_forward(&g, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(y, [2.5, 4.5]);
        let dx = adaptive_avg_pool2d_backward(&g, &[4.0f64, 8.0]);
        assert_eq!(dx, [1.0, 1.0, 3.0, 3.0, 2.0, 2.0]);
    }

    #[test]
    fn global_fast_path_matches_the_general_loop() {
        let x: Vec<f64> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 37) % 11) as f64 - 5.0)
            .collect();
        let g = AdaptivePool2dGeometry::new(&[2, 3, 5, 4], [1, 1]).unwrap();
        let y = adaptive_avg_pool2d_forward(&g, &x);
        for (p, &v) in x.chunks_exact(20).zip(&y) {
            let mean = p.iter().sum::<f64>() / 20.0;
            assert!((v - mean).abs() < 1e-12);
        }
        let dx = adaptive_avg_pool2d_backward(&g, &[20.0; 6]);
        assert!(dx.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn rejects_bad_shapes() {
        let e = AdaptivePool2dGeometry::new(&[1, 3, 4], [1, 1]).unwrap_err();
        assert!(e.starts_with("adaptive_avg_pool2d: input [1, 3, 4]"), "{e}");
        assert!(AdaptivePool2dGeometry::new(&[1, 3, 4, 4], [0, 1]).is_err());
        assert!(AdaptivePool2dGeometry::new(&[0, 3, 4, 4], [2, 2]).is_ok());
    }
}
