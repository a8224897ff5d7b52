//! Deletion and insertion curves with their area under the curve (Petsiuk, Das & Saenko 2018,
//! "RISE: Randomized Input Sampling for Explanation of Black-box Models", BMVC, section 4.1).
//!
//! Pixels are ranked by the saliency map, most salient first (ties by flat index, so the order is
//! deterministic). **Deletion** starts from the image and replaces the top-ranked pixels, all
//! channels at once, by a baseline, in `steps` equal increments; **insertion** starts from the
//! baseline and puts the top-ranked pixels of the image back. After each step (step 0 included:
//! the intact image for deletion, the baseline for insertion; the last step is the fully deleted or
//! fully restored image) the model's score for the target class is recorded; RISE's score is the
//! softmax probability, our default ([`Operator::Probability`]).
//!
//! A good map makes the score fall fast under deletion and rise fast under insertion: **lower
//! deletion AUC and higher insertion AUC are better.**

use rayon::prelude::*;
use smoothgrad_autograd::{Scalar, Tape, Tensor};

use crate::error::{ExplainError, Result};
use crate::model::Model;
use crate::operator::Operator;

/// What replaces deleted pixels, or where insertion starts. (Not to be confused with
/// [`crate::Baseline`], the reference point of integrated gradients.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// Zeros (black for images in `[0, 1]`): RISE's deletion baseline, and our deletion default.
    Zeros,
    /// Each channel's mean over the image: a grey that keeps the image's average colour.
    ChannelMean,
    /// A box-blurred copy of the image: each pixel becomes the mean of the `(2r+1) x (2r+1)`
    /// window around it (per channel, averaging only the pixels inside the image). It keeps the
    /// image's low frequencies and erases the object's shape, so insertion does not start from a
    /// distribution shift as drastic as a black image. RISE blurs with a Gaussian (kernel 11,
    /// sigma 5) on 224-pixel images; we use a box for simplicity. Our insertion default is radius
    /// 4, which suits 32x32 images; scale it with the image.
    Blur {
        /// The half-width of the window, in pixels (0 leaves the image unchanged).
        radius: usize,
    },
}

impl Baseline {
    /// The baseline image for `image` `[C, H, W]` (flat, row-major).
    pub fn apply<T: Scalar>(
        &self,
        image: &[T],
        channels: usize,
        height: usize,
        width: usize,
    ) -> Vec<T> {
        let plane = height * width;
        assert_eq!(
            image.len(),
            channels * plane,
            "baseline: the image has {} values, expected {channels}x{height}x{width}",
            image.len()
        );
        match *self {
            Baseline::Zeros => vec![T::zero(); image.len()],
            Baseline::ChannelMean => image
                .chunks(plane.max(1))
                .flat_map(|ch| {
                    let mean =
                        ch.iter().map(|v| v.to_f64_lossless()).sum::<f64>() / plane.max(1) as f64;
                    vec![T::from_f64_lossy(mean); ch.len()]
                })
                .collect(),
            Baseline::Blur { radius } => image
                .chunks(plane.max(1))
                .flat_map(|ch| box_blur(ch, height, width, radius))
                .collect(),
        }
    }
}

/// A box blur of one `[H, W]` plane: two separable passes of a clipped moving average, which is
/// exactly the mean over the clipped `(2r+1) x (2r+1)` window.
fn box_blur<T: Scalar>(plane: &[T], height: usize, width: usize, radius: usize) -> Vec<T> {
    let horizontal: Vec<f64> = (0..height)
        .flat_map(|r| {
            let row = &plane[r * width..(r + 1) * width];
            (0..width).map(move |c| {
                let (lo, hi) = (c.saturating_sub(radius), (c + radius).min(width - 1));
                row[lo..=hi]
                    .iter()
                    .map(|v| v.to_f64_lossless())
                    .sum::<f64>()
                    / (hi - lo + 1) as f64
            })
        })
        .collect();
    let mut out = Vec::with_capacity(plane.len());
    for r in 0..height {
        let (lo, hi) = (r.saturating_sub(radius), (r + radius).min(height - 1));
        for c in 0..width {
            let sum: f64 = (lo..=hi).map(|rr| horizontal[rr * width + c]).sum();
            out.push(T::from_f64_lossy(sum / (hi - lo + 1) as f64));
        }
    }
    out
}

/// A deletion or insertion curve: the score after deleting (or inserting) each fraction of the
/// pixels, and its normalized area.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The fraction of pixels deleted or inserted at each step, from 0 to 1.
    pub fractions: Vec<f64>,
    /// The model's score for the target class at each step.
    pub scores: Vec<f64>,
    /// The area under the curve, [`auc`] of the two.
    pub auc: f64,
}

/// The area under a curve by the trapezoid rule, normalized by the width of the `x` range:
/// `AUC = sum_i (x_{i+1} - x_i)(y_i + y_{i+1}) / 2 / (x_last - x_first)`, so a constant score `s`
/// gives `s`. For equally spaced points over `[0, 1]` this is RISE's
/// `(sum(y) - y_0 / 2 - y_last / 2) / (n - 1)`. A single point gives its `y`; no point gives 0.
///
/// # Panics
/// If `x` and `y` differ in length.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(
        x.len(),
        y.len(),
        "auc: {} x values but {} y values",
        x.len(),
        y.len()
    );
    match (x.first(), x.last()) {
        (Some(&first), Some(&last)) if last > first => {
            let area: f64 = x
                .windows(2)
                .zip(y.windows(2))
                .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
                .sum();
            area / (last - first)
        }
        _ => y.first().copied().unwrap_or(0.0),
    }
}

/// The order in which pixels are deleted or inserted: the map descending, ties by index; NaN last.
pub fn pixel_order<M: Scalar>(map: &[M]) -> Vec<usize> {
    let key = |i: usize| {
        let v = map[i].to_f64_lossless();
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    };
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&i, &j| key(j).total_cmp(&key(i)).then(i.cmp(&j)));
    order
}

/// The deletion curve (Petsiuk, Das & Saenko 2018, "RISE", BMVC, section 4.1): the target's
/// score as the most salient pixels are replaced by a baseline. **Lower AUC is better**: a good
/// map makes the score fall fast.
///
/// Pixels are ranked by the map, most salient first, ties by flat index ([`pixel_order`]). Step
/// `k = 0..=steps` replaces the top `n_k = round(k P / steps)` of the `P = H W` pixels, all
/// channels at once, by the baseline, so step 0 is the intact image and the last step is the
/// baseline. Each step's image goes through the model (`batch_size` images per forward pass,
/// chunks in parallel) and the score for the target is recorded against the fraction `n_k / P`;
/// the AUC is [`auc`] of the two (a constant score `s` gives `s`). RISE's score is the softmax
/// probability, our default.
#[derive(Clone, Debug)]
pub struct Deletion<T: Scalar = f32> {
    /// The number of equal increments from the intact image to the fully deleted one (the curve
    /// has `steps + 1` points). RISE deletes one row's worth of pixels per step; the default 32
    /// does that on 32x32 images.
    pub steps: usize,
    /// What deleted pixels become (default [`Baseline::Zeros`], as RISE).
    pub baseline: Baseline,
    /// The score recorded at each step (default [`Operator::Probability`], as RISE; use
    /// [`Operator::Logit`] for a model that already ends in softmax).
    pub operator: Operator<T>,
    /// How many perturbed images go through the model at once (default 64).
    pub batch_size: usize,
}

/// The insertion curve (Petsiuk, Das & Saenko 2018, "RISE", BMVC, section 4.1): the target's
/// score as the most salient pixels of the image are put back into a baseline. **Higher AUC is
/// better**: a good map makes the score rise fast.
///
/// The mirror of [`Deletion`]: step `k = 0..=steps` starts from the baseline (step 0) and restores
/// the top `round(k P / steps)` pixels of the image, all channels, until the last step is the
/// image itself. RISE starts from a blurred copy, so that the first pixels inserted are judged
/// against an image of natural statistics rather than a black one; our default is a box blur.
#[derive(Clone, Debug)]
pub struct Insertion<T: Scalar = f32> {
    /// The number of equal increments from the baseline to the full image (default 32).
    pub steps: usize,
    /// Where insertion starts (default [`Baseline::Blur`] with radius 4, as RISE starts from a
    /// blurred image).
    pub baseline: Baseline,
    /// The score recorded at each step (default [`Operator::Probability`]).
    pub operator: Operator<T>,
    /// How many perturbed images go through the model at once (default 64).
    pub batch_size: usize,
}

impl<T: Scalar> Default for Deletion<T> {
    fn default() -> Self {
        Deletion {
            steps: 32,
            baseline: Baseline::Zeros,
            operator: Operator::Probability,
            batch_size: 64,
        }
    }
}

impl<T: Scalar> Default for Insertion<T> {
    fn default() -> Self {
        Insertion {
            steps: 32,
            baseline: Baseline::Blur { radius: 4 },
            operator: Operator::Probability,
            batch_size: 64,
        }
    }
}

impl<T: Scalar> Deletion<T> {
    /// The deletion curve of `image` (`[C, H, W]` or `[1, C, H, W]`) for class `target`, deleting
    /// pixels in the order of `map` (`[H, W]`, e.g. [`super::reduce_abs_channels`]).
    ///
    /// # Errors
    /// [`ExplainError`] if the model rejects the image, the target is out of range, the image is
    /// not finite, the map does not have `H * W` values, or `steps` or `batch_size` is 0.
    pub fn curve<M: Scalar>(
        &self,
        model: &dyn Model<T>,
        image: &Tensor<T>,
        map: &[M],
        target: usize,
    ) -> Result<Curve> {
        let settings = Settings {
            steps: self.steps,
            baseline: self.baseline,
            operator: &self.operator,
            batch_size: self.batch_size,
        };
        settings.curve(model, image, map, target, false)
    }
}

impl<T: Scalar> Insertion<T> {
    /// The insertion curve of `image` (`[C, H, W]` or `[1, C, H, W]`) for class `target`,
    /// inserting pixels in the order of `map` (`[H, W]`).
    ///
    /// # Errors
    /// As [`Deletion::curve`].
    pub fn curve<M: Scalar>(
        &self,
        model: &dyn Model<T>,
        image: &Tensor<T>,
        map: &[M],
        target: usize,
    ) -> Result<Curve> {
        let settings = Settings {
            steps: self.steps,
            baseline: self.baseline,
            operator: &self.operator,
            batch_size: self.batch_size,
        };
        settings.curve(model, image, map, target, true)
    }
}

/// What deletion and insertion share.
struct Settings<'a, T: Scalar> {
    steps: usize,
    baseline: Baseline,
    operator: &'a Operator<T>,
    batch_size: usize,
}

impl<T: Scalar> Settings<'_, T> {
    fn curve<M: Scalar>(
        &self,
        model: &dyn Model<T>,
        image: &Tensor<T>,
        map: &[M],
        target: usize,
        insert: bool,
    ) -> Result<Curve> {
        let [c, h, w] = self.validate(model, image, map, target)?;
        let plane = h * w;
        let order = pixel_order(map);
        let intact = image.data();
        let base = self.baseline.apply(intact, c, h, w);
        // Deletion moves pixels from the image to the baseline; insertion the other way.
        let (start, source) = if insert {
            (&base[..], intact)
        } else {
            (intact, &base[..])
        };
        // Step k has changed the top round(k P / steps) pixels.
        let counts: Vec<usize> = (0..=self.steps)
            .map(|k| (2 * k * plane + self.steps) / (2 * self.steps))
            .collect();
        let chunks: Vec<&[usize]> = counts.chunks(self.batch_size).collect();
        let scores: Vec<f64> = chunks
            .par_iter()
            .map(|chunk| {
                let mut data = Vec::with_capacity(chunk.len() * start.len());
                for &n in chunk.iter() {
                    let offset = data.len();
                    data.extend_from_slice(start);
                    for &p in &order[..n] {
                        for ch in 0..c {
                            data[offset + ch * plane + p] = source[ch * plane + p];
                        }
                    }
                }
                let batch = Tensor::from_vec(data, &[chunk.len(), c, h, w])
                    .expect("perturbed images fill the batch");
                let tape = Tape::new();
                let outputs = model.forward(tape.constant(batch));
                let scores = self
                    .operator
                    .score(outputs, &vec![target; chunk.len()])
                    .value();
                scores
                    .data()
                    .iter()
                    .map(|s| s.to_f64_lossless())
                    .collect::<Vec<f64>>()
            })
            .flatten()
            .collect();
        let fractions: Vec<f64> = counts.iter().map(|&n| n as f64 / plane as f64).collect();
        let auc = auc(&fractions, &scores);
        Ok(Curve {
            fractions,
            scores,
            auc,
        })
    }

    /// Checks the request and returns `[C, H, W]`.
    fn validate<M: Scalar>(
        &self,
        model: &dyn Model<T>,
        image: &Tensor<T>,
        map: &[M],
        target: usize,
    ) -> Result<[usize; 3]> {
        if self.steps == 0 || self.batch_size == 0 {
            let setting = if self.steps == 0 {
                "steps"
            } else {
                "batch_size"
            };
            return Err(ExplainError::parameter(
                setting,
                format!(
                    "steps and batch size must be at least 1, found {} and {}",
                    self.steps, self.batch_size
                ),
            ));
        }
        let [c, h, w] = match *image.shape() {
            [c, h, w] | [1, c, h, w] if c * h * w > 0 => [c, h, w],
            ref s => {
                return Err(ExplainError::InputShape(format!(
                    "expected one non-empty image [C, H, W] or [1, C, H, W], found {s:?}"
                )))
            }
        };
        if let Some(element) = image.data().iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::NonFinite { input: 0, element });
        }
        if map.len() != h * w {
            return Err(ExplainError::parameter(
                "map",
                format!(
                "the saliency map has {} values, expected {h}x{w} = {} (reduce the channels first)",
                map.len(),
                h * w
            ),
            ));
        }
        let out = model
            .output_shape(&[1, c, h, w])
            .map_err(|e| ExplainError::rejected(e, ""))?;
        match out[..] {
            [1, k] if target < k => Ok([c, h, w]),
            [1, k] => Err(ExplainError::TargetOutOfRange {
                input: 0,
                target,
                classes: k,
            }),
            _ => Err(ExplainError::OutputShape(format!(
                "expected [1, K] for input [1, {c}, {h}, {w}], found {out:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_blur_averages_the_clipped_window() {
        // 1x3 plane [0, 3, 6] with radius 1: [1.5, 3, 4.5].
        assert_eq!(box_blur(&[0.0f64, 3.0, 6.0], 1, 3, 1), vec![1.5, 3.0, 4.5]);
        // 2x2 plane with radius 1 averages everything.
        assert_eq!(box_blur(&[1.0f64, 2.0, 3.0, 6.0], 2, 2, 1), vec![3.0; 4]);
        assert_eq!(
            box_blur(&[1.0f64, 2.0, 3.0, 6.0], 2, 2, 0),
            vec![1.0, 2.0, 3.0, 6.0]
        );
    }

    #[test]
    fn channel_mean_is_per_channel() {
        let img = [1.0f32, 3.0, 10.0, 20.0];
        assert_eq!(
            Baseline::ChannelMean.apply(&img, 2, 1, 2),
            vec![2.0, 2.0, 15.0, 15.0]
        );
    }

    #[test]
    fn order_is_descending_with_ties_by_index_and_nan_last() {
        assert_eq!(
            pixel_order(&[1.0, f64::NAN, 3.0, 1.0, 3.0]),
            vec![2, 4, 0, 3, 1]
        );
    }

    #[test]
    fn trapezoid_hand_case() {
        // Triangle from (0, 0) to (0.5, 1) to (1, 0): area 0.5.
        assert_eq!(auc(&[0.0, 0.5, 1.0], &[0.0, 1.0, 0.0]), 0.5);
        // Uneven spacing: (0,0)-(0.25,1)-(1,1) has area 0.125 + 0.75.
        assert_eq!(auc(&[0.0, 0.25, 1.0], &[0.0, 1.0, 1.0]), 0.875);
        assert_eq!(auc(&[0.3], &[0.7]), 0.7);
        assert_eq!(auc(&[], &[]), 0.0);
    }
}
