//! The property-test kit for explainers (feature `proptest`): checks that any explainer can run,
//! whatever its model ([`Differentiable`]: ours, or one of another framework) and its base
//! method, and proptest strategies to drive them.
//!
//! Each check returns `Ok(())` or one line saying what was expected and what was found, so it
//! reads the same in a plain test (`.unwrap()`) and in a property (`prop_assert!`):
//!
//! - [`zero_noise_is_base_method`]: with noise 0, SmoothGrad is the base method, and its
//!   variance is 0;
//! - [`linear_smoothgrad_is_gradient`]: on a model linear in its input, SmoothGrad equals the
//!   gradient at the input for any noise;
//! - [`variance_falls_as_one_over_n`]: the estimate's variance across seeds falls as `1/N`;
//! - [`noise_level_matters`]: on a nonlinear model, changing the noise level changes the result;
//! - [`independent_of_batching`]: the result does not depend on the batch size or the threads.
//!
//! ```
//! use proptest::prelude::*;
//! use smoothgrad::kit::{self, Case};
//! use smoothgrad::{Operator, SmoothGrad, Targets};
//! use smoothgrad_nn::Sequential;
//!
//! let model: Sequential<f64> = Sequential::from_spec_seeded("linear(4,8), tanh, linear(8,3)", 7).unwrap();
//! let sg = SmoothGrad { samples: 6, ..SmoothGrad::default() };
//! let targets = Targets::Multiple(vec![vec![0, 2]; 2]);
//! proptest!(ProptestConfig::with_cases(4), |(inputs in kit::inputs::<f64>(&[2, 4], -1.0..1.0))| {
//!     let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
//!     let r = kit::zero_noise_is_base_method(&sg, &case, 1e-12);
//!     prop_assert!(r.is_ok(), "{}", r.unwrap_err());
//!     let r = kit::independent_of_batching(&sg, &case, &[1, 4], &[1, 3], 0.0);
//!     prop_assert!(r.is_ok(), "{}", r.unwrap_err());
//! });
//! ```

use std::ops::Range;

use proptest::collection::vec;
use proptest::prelude::*;
use smoothgrad_autograd::{Scalar, Tensor};

use crate::differentiable::Differentiable;
use crate::explanation::Explanation;
use crate::method::{Gradient, Method};
use crate::noise::NoiseLevel;
use crate::operator::Operator;
use crate::smooth::SmoothGrad;
use crate::target::Targets;

/// What a check explains: a model, a batch of inputs `[N, ...]`, their targets and the score.
pub struct Case<'a, T: Scalar, D: ?Sized> {
    /// The model.
    pub model: &'a D,
    /// The inputs `[N, ...]`.
    pub inputs: &'a Tensor<T>,
    /// The classes to explain.
    pub targets: &'a Targets,
    /// The score.
    pub operator: &'a Operator<T>,
}

/// Batches of the given shape (`[N, ...]`) with elements drawn uniformly from `range`.
pub fn inputs<T: Scalar>(shape: &[usize], range: Range<f64>) -> impl Strategy<Value = Tensor<T>> {
    let shape = shape.to_vec();
    let n: usize = shape.iter().product();
    vec(range, n).prop_map(move |data| {
        let data = data.into_iter().map(T::from_f64_lossy).collect();
        Tensor::from_vec(data, &shape).expect("length matches")
    })
}

/// Noise levels (absolute standard deviations) drawn from `range`.
pub fn noise_levels(range: Range<f64>) -> impl Strategy<Value = NoiseLevel> {
    range.prop_map(NoiseLevel::Absolute)
}

/// `|a - b| <= tol * (1 + |b|)` elementwise, or the first element that is not.
fn close<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>, tol: f64, what: &str) -> Result<(), String> {
    if a.shape() != b.shape() {
        return Err(format!(
            "{what}: expected shape {:?}, found {:?}",
            b.shape(),
            a.shape()
        ));
    }
    for (i, (&p, &q)) in a.data().iter().zip(b.data()).enumerate() {
        let (p, q) = (p.to_f64_lossless(), q.to_f64_lossless());
        let within = (p - q).abs() <= tol * (1.0 + q.abs());
        if !within {
            return Err(format!(
                "{what}: element {i} expected {q}, found {p} (tolerance {tol} relative to 1 + |expected|)"
            ));
        }
    }
    Ok(())
}

/// Runs `sg` over the case, turning an error into the check's message.
fn run<T, D, M>(sg: &SmoothGrad<M>, case: &Case<'_, T, D>) -> Result<Explanation<T>, String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
    M: Method<T, D>,
{
    sg.explain(case.model, case.inputs, case.targets, case.operator)
        .map_err(|e| format!("SmoothGrad failed: {e}"))
}

/// `sg` with an absolute noise level.
fn at_level<M: Clone>(sg: &SmoothGrad<M>, sigma: f64) -> SmoothGrad<M> {
    let mut sg = sg.clone();
    sg.noise.level = NoiseLevel::Absolute(sigma);
    sg
}

/// With noise 0, every sample is the input itself, so SmoothGrad's mean is the base method's
/// attribution, its mean of squares that attribution squared, and its variance 0, each within
/// `tol` (relative to `1 + |expected|`; 0 demands equal bits).
///
/// # Errors
/// The first statistic and element that differ.
pub fn zero_noise_is_base_method<T, D, M>(
    sg: &SmoothGrad<M>,
    case: &Case<'_, T, D>,
    tol: f64,
) -> Result<(), String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
    M: Method<T, D> + Clone,
{
    let e = run(&at_level(sg, 0.0), case)?;
    let base = sg
        .method
        .explain(
            case.model,
            case.inputs,
            case.targets,
            case.operator,
            sg.batch_size,
        )
        .map_err(|err| format!("the base method failed: {err}"))?
        .values;
    close(
        &e.mean,
        &base,
        tol,
        "noise 0: SmoothGrad vs the base method",
    )?;
    let squared = base.map(|v| v * v);
    close(
        &e.mean_of_squares,
        &squared,
        tol,
        "noise 0: SmoothGrad-squared vs the base method squared",
    )?;
    close(
        &e.variance,
        &base.map(|_| T::zero()),
        tol,
        "noise 0: VarGrad vs 0",
    )
}

/// For a model linear (affine) in its input and a linear score ([`Operator::Logit`] or
/// [`Operator::Output`]), the gradient is the same at every point, so SmoothGrad over the
/// gradient equals the gradient at the input for every noise level in `levels` (absolute), with
/// variance 0, within `tol` (relative to `1 + |expected|`).
///
/// # Errors
/// The first level, statistic and element that differ.
pub fn linear_smoothgrad_is_gradient<T, D>(
    sg: &SmoothGrad<Gradient>,
    case: &Case<'_, T, D>,
    levels: &[f64],
    tol: f64,
) -> Result<(), String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
{
    let gradient = Gradient
        .explain(
            case.model,
            case.inputs,
            case.targets,
            case.operator,
            sg.batch_size,
        )
        .map_err(|err| format!("the gradient failed: {err}"))?
        .values;
    for &sigma in levels {
        let e = run(&at_level(sg, sigma), case)?;
        close(
            &e.mean,
            &gradient,
            tol,
            &format!("linear model, noise {sigma}: SmoothGrad vs the gradient"),
        )?;
        close(
            &e.variance,
            &gradient.map(|_| T::zero()),
            tol,
            &format!("linear model, noise {sigma}: VarGrad vs 0"),
        )?;
    }
    Ok(())
}

/// The Monte-Carlo estimate's variance falls as `1/N`: over `seeds` runs with seeds
/// `sg.seed, sg.seed + 1, ...`, the spread of SmoothGrad's mean with `4 n` samples is a quarter
/// of its spread with `n` samples.
///
/// The spread is the variance across seeds, summed over all elements, `V_N`; the check passes
/// when `|V_n / (4 V_4n) - 1| <= tolerance`. With `R` seeds each `V_N` has a relative standard
/// error of at most `sqrt(2 / (R - 1))` (less when elements vary independently), so the ratio's
/// is at most about `2 / sqrt(R - 1)`: 64 seeds and a tolerance of 0.5 sit about two standard
/// errors out at worst, and reject a variance that does not fall (ratio 1/4) or falls as `1/N^2`
/// (ratio 4). Seeds are fixed, so the check gives the same answer every run. Needs a model whose
/// gradient varies under the noise (nonlinear), and no early stop.
///
/// # Errors
/// The ratio found, or a spread of 0.
pub fn variance_falls_as_one_over_n<T, D, M>(
    sg: &SmoothGrad<M>,
    case: &Case<'_, T, D>,
    n: usize,
    seeds: usize,
    tolerance: f64,
) -> Result<(), String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
    M: Method<T, D> + Clone,
{
    let spread = |samples: usize| -> Result<f64, String> {
        let means = (0..seeds as u64)
            .map(|r| {
                let mut s = sg.clone();
                s.samples = samples;
                s.tolerance = None;
                s.seed = sg.seed.wrapping_add(r);
                run(&s, case).map(|e| e.mean.to_vec())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let len = means[0].len();
        let r = seeds as f64;
        Ok((0..len)
            .map(|i| {
                let xs: Vec<f64> = means.iter().map(|m| m[i].to_f64_lossless()).collect();
                let mean = xs.iter().sum::<f64>() / r;
                xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r - 1.0)
            })
            .sum())
    };
    if seeds < 2 || n == 0 {
        return Err(format!(
            "expected n >= 1 and seeds >= 2, found n = {n}, seeds = {seeds}"
        ));
    }
    let (small, large) = (spread(n)?, spread(4 * n)?);
    if !(small > 0.0 && large > 0.0) {
        return Err(format!(
            "the estimate does not vary across seeds (spreads {small} and {large}): is the model linear, or the noise 0?"
        ));
    }
    let ratio = small / (4.0 * large);
    if (ratio - 1.0).abs() <= tolerance {
        Ok(())
    } else {
        Err(format!(
            "expected the spread with {n} samples to be 4 times the spread with {} (ratio/4 = 1 +- {tolerance}), found ratio/4 = {ratio:.4} ({small:.4e} vs {large:.4e})",
            4 * n
        ))
    }
}

/// On a model whose gradient varies with its input, SmoothGrad at noise levels `a` and `b`
/// (absolute) differs: `||mean_a - mean_b|| >= min_relative ||mean_a||`.
///
/// # Errors
/// The relative difference found.
pub fn noise_level_matters<T, D, M>(
    sg: &SmoothGrad<M>,
    case: &Case<'_, T, D>,
    (a, b): (f64, f64),
    min_relative: f64,
) -> Result<(), String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
    M: Method<T, D> + Clone,
{
    let (ea, eb) = (run(&at_level(sg, a), case)?, run(&at_level(sg, b), case)?);
    let norm = |t: &Tensor<T>| {
        t.data()
            .iter()
            .map(|v| v.to_f64_lossless().powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let diff = norm(&ea.mean.zip_map(&eb.mean, |p, q| p - q));
    let relative = diff / norm(&ea.mean);
    if relative >= min_relative {
        Ok(())
    } else {
        Err(format!(
            "expected noise {a} and {b} to give results at least {min_relative} apart (relative), found {relative:.3e}"
        ))
    }
}

/// Every statistic is the same for every batch size in `batch_sizes` and every thread count in
/// `threads` as for the first of each, within `tol` (relative to `1 + |expected|`; 0 demands
/// equal bits, which our tape gives: a framework whose kernels round differently with the
/// number of rows gets a small tolerance), and so is the number of samples used.
///
/// # Errors
/// The first setting, statistic and element that differ.
pub fn independent_of_batching<T, D, M>(
    sg: &SmoothGrad<M>,
    case: &Case<'_, T, D>,
    batch_sizes: &[usize],
    threads: &[usize],
    tol: f64,
) -> Result<(), String>
where
    T: Scalar,
    D: Differentiable<T> + ?Sized,
    M: Method<T, D> + Clone,
{
    let with = |b: usize, t: usize| {
        let mut s = sg.clone();
        s.batch_size = b;
        s.threads = Some(t);
        run(&s, case)
    };
    let (&b0, &t0) = match (batch_sizes.first(), threads.first()) {
        (Some(b), Some(t)) => (b, t),
        _ => return Err("expected at least one batch size and one thread count".into()),
    };
    let reference = with(b0, t0)?;
    for &b in batch_sizes {
        for &t in threads {
            let e = with(b, t)?;
            let what = |s: &str| {
                format!("batch size {b}, {t} threads vs batch size {b0}, {t0} threads: {s}")
            };
            if e.samples != reference.samples {
                return Err(what(&format!(
                    "expected samples {:?}, found {:?}",
                    reference.samples, e.samples
                )));
            }
            close(&e.mean, &reference.mean, tol, &what("mean"))?;
            close(
                &e.mean_of_squares,
                &reference.mean_of_squares,
                tol,
                &what("mean of squares"),
            )?;
            close(&e.variance, &reference.variance, tol, &what("variance"))?;
            close(&e.std_error, &reference.std_error, tol, &what("std error"))?;
        }
    }
    Ok(())
}
