//! The post-processing pipeline: attribution maps in, displayable heat maps out.
//!
//! The steps always run in this order (see [`Pipeline::run`]):
//!
//! ```text
//!  [N, C, H, W] f32
//!     │  1. sign         abs | positive | negative | signed            (value by value)
//!     │  2. reduction    sum | mean | max | max-abs | L2 over C        -> [N, H, W]
//!     │  3. capping      none | percentile (one-, two-sided, symmetric) | Captum outlier_perc
//!     │  4. normalization min-max to [0, 1] | symmetric to [-1, 1] | PAIR diverging
//!     ▼
//!  [N, H, W] f32  (Heatmaps)
//! ```
//!
//! Steps 1 and 2 swap when [`SignPlacement::AfterReduction`] is chosen (Captum's order). Steps 3 and
//! 4 compute their statistics (percentiles, minimum, maximum) over each map separately by default,
//! or over the whole batch with [`Scope::PerBatch`], so that maps can be compared with each other.
//! All arithmetic is done in `f64`; the result is rounded to `f32` once, at the end.

use crate::capping::Capping;
use crate::error::{Result, VizError};
use crate::map::{Heatmaps, MapView};
use crate::normalize::{min_max, Normalization};
use crate::reduce::{reduce_channels, Reduction};
use crate::sign::{Sign, SignPlacement};

/// Over which values the capping and normalization statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Each map on its own: every map uses its full colour range (the default, as in PAIR and
    /// Captum, which see one image at a time).
    #[default]
    PerImage,
    /// All `N` maps together: one percentile, one minimum and one maximum for the batch, so that
    /// a brighter map means a larger attribution.
    PerBatch,
}

/// The four post-processing steps and their settings. Build one from a preset and adjust the
/// public fields with struct-update syntax, e.g.
/// `Pipeline { capping: Capping::Upper { percentile: 95.0 }, ..Pipeline::pair_grayscale() }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pipeline {
    /// Step 1: which sign of the attribution to keep.
    pub sign: Sign,
    /// Whether step 1 runs before step 2 (the default) or after it (Captum).
    pub sign_placement: SignPlacement,
    /// Step 2: how the channels are combined.
    pub reduction: Reduction,
    /// Step 3: how outliers are capped.
    pub capping: Capping,
    /// Step 4: how the values are brought to a fixed interval.
    pub normalization: Normalization,
    /// Whether steps 3 and 4 look at each map or at the whole batch.
    pub scope: Scope,
}

impl Default for Pipeline {
    /// [`Pipeline::pair_grayscale`].
    fn default() -> Self {
        Pipeline::pair_grayscale()
    }
}

impl Pipeline {
    /// PAIR saliency's `VisualizeImageGrayscale(image_3d, percentile=99)`, exactly:
    ///
    /// ```text
    /// m    = sum_c |x_c|                        abs, sum
    /// vmax = P_99(m),  vmin = min(m)            upper 99th-percentile cap
    /// out  = clip((m - vmin) / (vmax - vmin), 0, 1)    min-max (zeros if vmax == vmin)
    /// ```
    pub fn pair_grayscale() -> Self {
        Pipeline {
            sign: Sign::Abs,
            sign_placement: SignPlacement::BeforeReduction,
            reduction: Reduction::Sum,
            capping: Capping::Upper { percentile: 99.0 },
            normalization: Normalization::MinMax,
            scope: Scope::PerImage,
        }
    }

    /// PAIR saliency's `VisualizeImageDiverging(image_3d, percentile=99)`, exactly:
    ///
    /// ```text
    /// m    = sum_c x_c                          signed, sum
    /// span = |P_99(m)|
    /// out  = clip((m + span) / (2 span), -1, 1)    (zeros if span == 0)
    /// ```
    ///
    /// PAIR displays it with `vmin=-1, vmax=1`, so the heat maps' range is `(-1, 1)`.
    pub fn pair_diverging() -> Self {
        Pipeline {
            sign: Sign::Signed,
            sign_placement: SignPlacement::BeforeReduction,
            reduction: Reduction::Sum,
            capping: Capping::None,
            normalization: Normalization::PairDiverging { percentile: 99.0 },
            scope: Scope::PerImage,
        }
    }

    /// The seeds' tutorial recipe: `max_c |x_c|`, then min-max to `[0, 1]` per image, no capping.
    pub fn max_channel() -> Self {
        Pipeline {
            sign: Sign::Abs,
            sign_placement: SignPlacement::BeforeReduction,
            reduction: Reduction::Max,
            capping: Capping::None,
            normalization: Normalization::MinMax,
            scope: Scope::PerImage,
        }
    }

    /// Captum's `visualize_image_attr(method="heat_map", sign="absolute_value", outlier_perc=2)`
    /// normalization. `absolute_value` is Captum's default sign; use [`Pipeline::captum`] for the
    /// others. See there for the formula.
    pub fn captum_heat_map() -> Self {
        Pipeline::captum(Sign::Abs, 2.0)
    }

    /// Captum's `_normalize_attr(attr, sign, outlier_perc, reduction_axis=2)`:
    ///
    /// ```text
    /// m   = sign(sum_c x_c)                     sum first, then the sign
    /// t   = cumulative_sum_threshold(|m|, 100 - outlier_perc)
    /// out = clip(m / t, -1, 1)                  (zeros if t == 0, where Captum asserts)
    /// ```
    ///
    /// Captum's sign names map as `"absolute_value"` -> [`Sign::Abs`], `"positive"` ->
    /// [`Sign::Positive`], `"negative"` -> [`Sign::Negative`] (a magnitude in `[0, 1]`, as Captum
    /// shows it), `"all"` -> [`Sign::Signed`] (range `[-1, 1]`).
    pub fn captum(sign: Sign, outlier_perc: f64) -> Self {
        Pipeline {
            sign,
            sign_placement: SignPlacement::AfterReduction,
            reduction: Reduction::Sum,
            capping: Capping::CaptumOutlier { outlier_perc },
            normalization: Normalization::Symmetric,
            scope: Scope::PerImage,
        }
    }

    /// A signed map for a diverging colormap ([`crate::Colormap::Bwr`]): sign kept, channels
    /// summed, capped to `±P_99(|m|)`, divided by that cap, so 0 stays 0 (white) and the range is
    /// `[-1, 1]`.
    pub fn diverging() -> Self {
        Pipeline {
            sign: Sign::Signed,
            sign_placement: SignPlacement::BeforeReduction,
            reduction: Reduction::Sum,
            capping: Capping::Symmetric { percentile: 99.0 },
            normalization: Normalization::Symmetric,
            scope: Scope::PerImage,
        }
    }

    /// The names [`Pipeline::preset`] accepts, e.g. for a command-line option.
    pub const PRESETS: [&'static str; 5] = [
        "pair_grayscale",
        "pair_diverging",
        "max_channel",
        "captum_heat_map",
        "diverging",
    ];

    /// The preset called `name` (one of [`Pipeline::PRESETS`], which are the constructors' names).
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "pair_grayscale" => Ok(Pipeline::pair_grayscale()),
            "pair_diverging" => Ok(Pipeline::pair_diverging()),
            "max_channel" => Ok(Pipeline::max_channel()),
            "captum_heat_map" => Ok(Pipeline::captum_heat_map()),
            "diverging" => Ok(Pipeline::diverging()),
            _ => Err(VizError::InvalidParameter {
                name: "preset",
                expected: "one of pair_grayscale, pair_diverging, max_channel, captum_heat_map, \
                           diverging",
                found: format!("{name:?}"),
            }),
        }
    }

    /// The same pipeline with steps 3 and 4 computed over `scope`.
    pub fn with_scope(self, scope: Scope) -> Self {
        Pipeline { scope, ..self }
    }

    /// Runs the four steps on `maps` (`[N, C, H, W]`) and returns `N` heat maps (`[N, H, W]`).
    ///
    /// Errors only on invalid settings (e.g. a percentile outside `[0, 100]`).
    pub fn run(&self, maps: &MapView<'_>) -> Result<Heatmaps> {
        let [n, c, h, w] = maps.shape();
        let plane = h * w;
        let mut values = Vec::with_capacity(n * plane);
        for chw in maps.data().chunks_exact(c * plane) {
            // Step 1 (unless Captum's order): the sign, value by value.
            let signed: Vec<f64> = chw
                .iter()
                .map(|&x| match self.sign_placement {
                    SignPlacement::BeforeReduction => self.sign.apply(f64::from(x)),
                    SignPlacement::AfterReduction => f64::from(x),
                })
                .collect();
            // Step 2: channels -> one value per pixel.
            let mut reduced = reduce_channels(&signed, c, self.reduction);
            // Step 1 in Captum's order: the sign of the reduced value.
            if self.sign_placement == SignPlacement::AfterReduction {
                reduced.iter_mut().for_each(|v| *v = self.sign.apply(*v));
            }
            values.extend(reduced);
        }
        // Steps 3 and 4, over each map or over the whole batch.
        let scope_len = match self.scope {
            Scope::PerImage => plane,
            Scope::PerBatch => values.len(),
        };
        for group in values.chunks_mut(scope_len) {
            self.capping.apply(group)?;
            self.normalization.apply(group)?;
        }
        let non_negative = self.sign.is_non_negative() || self.reduction == Reduction::L2;
        let range = self
            .normalization
            .output_range(non_negative)
            .unwrap_or_else(|| data_range(&values));
        let data = values.into_iter().map(|v| v as f32).collect();
        Heatmaps::new(data, [n, h, w], range)
    }

    /// [`Pipeline::run`] on a slice and its shape (`[H, W]`, `[C, H, W]` or `[N, C, H, W]`).
    pub fn run_slice(&self, data: &[f32], shape: &[usize]) -> Result<Heatmaps> {
        self.run(&MapView::new(data, shape)?)
    }
}

/// The range of un-normalized values: their minimum and maximum, or `(0, 1)` if there is no
/// finite value.
fn data_range(values: &[f64]) -> (f32, f32) {
    let (lo, hi) = min_max(values);
    if lo.is_finite() && hi.is_finite() {
        (lo as f32, hi as f32)
    } else {
        (0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 2-channel 2x2 map: channel 0 = (1, -2, 3, 0), channel 1 = (-1, 4, 1, 0).
    const MAP: [f32; 8] = [1.0, -2.0, 3.0, 0.0, -1.0, 4.0, 1.0, 0.0];

    fn run(p: Pipeline) -> Vec<f32> {
        p.run_slice(&MAP, &[2, 2, 2]).unwrap().into_vec()
    }

    #[test]
    fn pair_grayscale_by_hand() {
        // sum |x| = (2, 6, 4, 0); sorted 0 2 4 6; P_99: p = 2.97 -> 4 + 0.97 * 2 = 5.94.
        // (m - 0) / 5.94, clipped at 1.
        let got = run(Pipeline::pair_grayscale());
        let want = [2.0 / 5.94, 1.0, 4.0 / 5.94, 0.0];
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-7, "{got:?}");
        }
        assert_eq!(got[1], 1.0);
    }

    #[test]
    fn max_channel_by_hand() {
        // max |x| = (1, 4, 3, 0) -> / 4
        assert_eq!(run(Pipeline::max_channel()), [0.25, 1.0, 0.75, 0.0]);
    }

    #[test]
    fn pair_diverging_by_hand() {
        // sum = (0, 2, 4, 0); sorted 0 0 2 4; P_99 = 2 + 0.97 * 2 = 3.94 -> (m + 3.94) / 7.88.
        let got = run(Pipeline::pair_diverging());
        let want = [0.5, 5.94 / 7.88, 1.0, 0.5];
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-7, "{got:?}");
        }
    }

    #[test]
    fn captum_reduces_before_taking_the_sign() {
        // |sum x| = (0, 2, 4, 0), total 6, cumulative 0 0 2 6; 98% of 6 = 5.88 -> t = 4.
        assert_eq!(run(Pipeline::captum_heat_map()), [0.0, 0.5, 1.0, 0.0]);
        // Signed ("all"): the same here since the sums are >= 0.
        assert_eq!(
            run(Pipeline::captum(Sign::Signed, 2.0)),
            [0.0, 0.5, 1.0, 0.0]
        );
        // "negative" keeps nothing: zeros, not NaN.
        assert_eq!(run(Pipeline::captum(Sign::Negative, 2.0)), [0.0; 4]);
    }

    #[test]
    fn sign_placement_changes_the_result_when_channels_disagree() {
        let before = Pipeline {
            capping: Capping::None,
            normalization: Normalization::None,
            ..Pipeline::pair_grayscale()
        };
        let after = Pipeline {
            sign_placement: SignPlacement::AfterReduction,
            ..before
        };
        assert_eq!(run(before), [2.0, 6.0, 4.0, 0.0]);
        assert_eq!(run(after), [0.0, 2.0, 4.0, 0.0]);
    }

    #[test]
    fn diverging_keeps_zero_at_zero() {
        // sum = (0, 2, 4, 0); |m| sorted 0 0 2 4, P_99 = 3.94: cap, then / 3.94.
        let got = run(Pipeline::diverging());
        assert_eq!(got[0], 0.0);
        assert!((f64::from(got[1]) - 2.0 / 3.94).abs() < 1e-7);
        assert_eq!(got[2], 1.0);
    }

    #[test]
    fn per_image_versus_per_batch_scope() {
        // Two 1x2 single-channel maps: (0, 1) and (0, 4).
        let data = [0.0, 1.0, 0.0, 4.0];
        let p = Pipeline::max_channel();
        let per_image = p.run_slice(&data, &[2, 1, 1, 2]).unwrap();
        assert_eq!(per_image.data(), [0.0, 1.0, 0.0, 1.0]);
        let per_batch = p.with_scope(Scope::PerBatch);
        let per_batch = per_batch.run_slice(&data, &[2, 1, 1, 2]).unwrap();
        assert_eq!(per_batch.data(), [0.0, 0.25, 0.0, 1.0]);
        assert_eq!(per_batch.shape(), [2, 1, 2]);
    }

    #[test]
    fn constant_maps_give_zeros_never_nan() {
        let presets = [
            Pipeline::pair_grayscale(),
            Pipeline::pair_diverging(),
            Pipeline::max_channel(),
            Pipeline::captum_heat_map(),
            Pipeline::diverging(),
        ];
        for p in presets {
            let out = p.run_slice(&[0.0; 12], &[3, 2, 2]).unwrap();
            assert_eq!(out.data(), [0.0; 4], "{p:?}");
        }
        // Min-max: any constant map gives zeros.
        for p in [Pipeline::pair_grayscale(), Pipeline::max_channel()] {
            let out = p.run_slice(&[2.5; 12], &[3, 2, 2]).unwrap();
            assert_eq!(out.data(), [0.0; 4], "{p:?}");
        }
        // Scaling normalizations have no degenerate denominator for a non-zero constant c:
        // Captum's c / t and PAIR's (c + |c|) / (2 |c|) are both 1, as in the Python originals.
        for p in [Pipeline::pair_diverging(), Pipeline::captum_heat_map()] {
            let out = p.run_slice(&[2.5; 12], &[3, 2, 2]).unwrap();
            assert_eq!(out.data(), [1.0; 4], "{p:?}");
        }
        let out = Pipeline::pair_diverging().run_slice(&[-2.5; 12], &[3, 2, 2]);
        assert_eq!(out.unwrap().data(), [0.0; 4]); // (-c + c) / 2c
    }

    #[test]
    fn ranges_follow_the_normalization_and_sign() {
        let range = |p: Pipeline| p.run_slice(&MAP, &[2, 2, 2]).unwrap().range();
        assert_eq!(range(Pipeline::pair_grayscale()), (0.0, 1.0));
        assert_eq!(range(Pipeline::pair_diverging()), (-1.0, 1.0));
        assert_eq!(range(Pipeline::captum_heat_map()), (0.0, 1.0));
        assert_eq!(range(Pipeline::captum(Sign::Signed, 2.0)), (-1.0, 1.0));
        let raw = Pipeline {
            normalization: Normalization::None,
            capping: Capping::None,
            ..Pipeline::max_channel()
        };
        assert_eq!(range(raw), (0.0, 4.0));
    }

    #[test]
    fn presets_by_name() {
        for name in Pipeline::PRESETS {
            assert!(Pipeline::preset(name).is_ok(), "{name}");
        }
        assert_eq!(
            Pipeline::preset("max_channel").unwrap(),
            Pipeline::max_channel()
        );
        let e = Pipeline::preset("gradcam").unwrap_err();
        assert!(e.to_string().contains("found \"gradcam\""), "{e}");
    }

    #[test]
    fn bad_settings_and_shapes_are_errors() {
        let p = Pipeline {
            capping: Capping::Upper { percentile: 150.0 },
            ..Pipeline::pair_grayscale()
        };
        assert!(p.run_slice(&MAP, &[2, 2, 2]).is_err());
        assert!(Pipeline::default().run_slice(&MAP, &[3, 3]).is_err());
    }
}
