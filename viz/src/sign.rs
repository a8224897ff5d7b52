//! Step 1 of the pipeline: which sign of the attribution to keep.
//!
//! Gradients are signed: a positive value means "increasing this pixel increases the class score".
//! Most published figures (PAIR's `VisualizeImageGrayscale`, the SmoothGrad paper, the seeds'
//! tutorial) show the magnitude, `|x|`; Captum can also show only the positive or only the negative
//! evidence.

/// Which part of each attribution value is kept. Applied value by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sign {
    /// `|x|`: the magnitude, whatever the direction. PAIR's and the tutorial's choice.
    #[default]
    Abs,
    /// `max(x, 0)`: only the evidence for the class.
    Positive,
    /// `max(-x, 0)`: only the evidence against the class, **as a magnitude** (non-negative), so
    /// that the result reads like the other non-negative maps. This is what Captum's
    /// `sign="negative"` displays: it divides the negative values by a negative threshold.
    Negative,
    /// `x` unchanged: keep both signs (for diverging colormaps).
    Signed,
}

impl Sign {
    /// Applies the sign to one value (see each variant for its formula). NaN stays NaN.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Sign::Abs => x.abs(),
            Sign::Positive if x > 0.0 || x.is_nan() => x,
            Sign::Negative if x < 0.0 || x.is_nan() => -x,
            Sign::Positive | Sign::Negative => 0.0,
            Sign::Signed => x,
        }
    }

    /// `true` if every value this sign produces is `>= 0` (all but [`Sign::Signed`]).
    pub fn is_non_negative(self) -> bool {
        self != Sign::Signed
    }
}

/// Where the sign step sits relative to the channel reduction.
///
/// The default, [`SignPlacement::BeforeReduction`], is PAIR's and the tutorial's order
/// (`sum_c |x_c|`). Captum reduces first and applies the sign to the sum (`|sum_c x_c|`), which
/// [`SignPlacement::AfterReduction`] reproduces. The two differ whenever channels disagree in sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignPlacement {
    /// sign -> reduce: `reduce_c(sign(x_c))`.
    #[default]
    BeforeReduction,
    /// reduce -> sign: `sign(reduce_c(x_c))` (Captum's `_normalize_attr`).
    AfterReduction,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sign_on_hand_picked_values() {
        let xs = [-2.5, -0.0, 0.0, 1.5];
        let apply = |s: Sign| xs.map(|x| s.apply(x));
        assert_eq!(apply(Sign::Abs), [2.5, 0.0, 0.0, 1.5]);
        assert_eq!(apply(Sign::Positive), [0.0, 0.0, 0.0, 1.5]);
        assert_eq!(apply(Sign::Negative), [2.5, 0.0, 0.0, 0.0]);
        assert_eq!(apply(Sign::Signed), [-2.5, -0.0, 0.0, 1.5]);
    }

    #[test]
    fn nan_is_kept_and_signedness_is_reported() {
        for s in [Sign::Abs, Sign::Positive, Sign::Negative, Sign::Signed] {
            assert!(s.apply(f64::NAN).is_nan(), "{s:?}");
            assert_eq!(s.is_non_negative(), s != Sign::Signed);
        }
    }
}
