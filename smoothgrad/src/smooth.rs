//! [`SmoothGrad`]: the mean, mean of squares and variance of any base method over noisy copies of
//! the input, in one streaming pass, batched and parallel, reproducible from a seed.
//!
//! For input `x`, class `c` and base method `M_c` (default: the gradient),
//! `SG(x) = (1/S) sum_{s=1..S} M_c(x + e_s)` with `e_s ~ N(0, sigma^2)` (Smilkov et al. 2017);
//! SmoothGrad-squared averages `M_c(x + e_s)^2` and VarGrad takes their variance (Adebayo et al.
//! 2018).
//!
//! Samples go through the model in waves of at most `batch_size` samples, split evenly into one
//! chunk (one tape) per thread; the chunks of a wave run in parallel on rayon, and their results
//! are folded into the statistics in sample order, so memory is bounded by `batch_size` samples
//! whatever `samples` and the thread count are (a chunk never grows with `samples`: 50 samples and
//! 2000 samples both run as chunks of `ceil(batch_size / threads)`), and the result depends only
//! on the seed.

use rayon::prelude::*;
use smoothgrad_autograd::{Scalar, Tensor};

use crate::differentiable::Differentiable;
use crate::error::{ExplainError, Result};
use crate::explanation::{arrange, Explanation};
use crate::method::{Gradient, Method};
use crate::noise::Noise;
use crate::operator::Operator;
use crate::progress::Progress;
use crate::stats::Welford;
use crate::target::Targets;
use crate::threads;
use crate::validate::Request;

/// SmoothGrad over a base method. Defaults follow the paper (about 50 samples, noise of 10-20%
/// of the input range): 50 samples, Gaussian noise with `sigma = 0.15 (max - min)` (PAIR
/// `saliency`'s `stdev_spread`).
///
/// | here | Captum `NoiseTunnel.attribute` | Xplique `SmoothGrad` | PAIR `saliency` `GetSmoothedMask` |
/// |---|---|---|---|
/// | `samples` (50) | `nt_samples` (5) | `nb_samples` (50) | `nsamples` (25) |
/// | `noise.level` `Relative(0.15)` | `stdevs` (1.0, absolute) | `noise` (0.2, absolute) | `stdev_spread` (0.15, relative) |
/// | `batch_size` (32) | `nt_samples_batch_size` (all samples at once) | `batch_size` (32) | none: one sample per call |
/// | `seed` (0) | - (global RNG) | - (global RNG) | - (NumPy's global RNG) |
/// | all three statistics | `nt_type` (`"smoothgrad"`) | one class each: `SmoothGrad`, `SquareGrad`, `VarGrad` | `magnitude` (`True`: SmoothGrad-squared) |
///
/// So PAIR's default output is SmoothGrad-squared over 25 samples ([`Explanation::mean_of_squares`]
/// here), not SmoothGrad.
#[derive(Clone, Debug)]
pub struct SmoothGrad<M = Gradient> {
    /// The base method averaged over noisy inputs.
    pub method: M,
    /// Noisy samples per input (at most, with a tolerance).
    pub samples: usize,
    /// The noise.
    pub noise: Noise,
    /// Samples in flight at once: each wave of up to `batch_size` samples is split evenly
    /// across the threads, one forward/backward pass each (Captum's `nt_samples_batch_size`
    /// with a thread pool).
    pub batch_size: usize,
    /// The seed of the noise streams.
    pub seed: u64,
    /// Worker threads: a pool of its own ([`crate::threads::run_in_pool`]), or for `None` the
    /// current rayon pool (rayon's global pool, one per core, unless called inside a pool).
    pub threads: Option<usize>,
    /// Stop early, after at least `min_samples`, once `||std error|| / ||mean|| < tolerance`.
    pub tolerance: Option<f64>,
    /// The fewest samples an early stop may use.
    pub min_samples: usize,
    /// Told the samples finished after every wave (none by default; results never depend on it).
    pub progress: Progress,
}

impl Default for SmoothGrad<Gradient> {
    fn default() -> Self {
        SmoothGrad::new(Gradient)
    }
}

impl<M> SmoothGrad<M> {
    /// SmoothGrad over `method` with the default settings.
    pub fn new(method: M) -> Self {
        SmoothGrad {
            method,
            samples: 50,
            noise: Noise::default(),
            batch_size: 32,
            seed: 0,
            threads: None,
            tolerance: None,
            min_samples: 10,
            progress: Progress::default(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(ExplainError::parameter(
                "samples",
                "samples must be at least 1, found 0",
            ));
        }
        threads::check(self.threads)?;
        if let Some(t) = self.tolerance {
            if !(t > 0.0 && t.is_finite()) {
                return Err(ExplainError::parameter(
                    "tolerance",
                    format!("tolerance must be a finite number > 0, found {t}"),
                ));
            }
        }
        self.noise.validate()
    }

    /// Explains `inputs` `[N, ...]` for `targets`, scoring outputs with `operator`.
    ///
    /// The results have the inputs' shape, or `[N, M, ...]` for `M > 1` classes per input.
    ///
    /// `model` is any [`Differentiable`] model the base method accepts: every [`crate::Model`]
    /// (our tape), or a model of another framework for the methods that need only input
    /// gradients.
    ///
    /// # Errors
    /// [`ExplainError`] for an input shape the model rejects, non-finite inputs, targets out of
    /// range, zero samples, negative noise, a batch size or thread count of 0.
    pub fn explain<T: Scalar, D: Differentiable<T> + ?Sized>(
        &self,
        model: &D,
        inputs: &Tensor<T>,
        targets: &Targets,
        operator: &Operator<T>,
    ) -> Result<Explanation<T>>
    where
        M: Method<T, D>,
    {
        self.validate()?;
        let req = Request::new(model, inputs, targets, operator, self.batch_size)?;
        self.method.validate(&req.input_shape())?;
        threads::run_in_pool(self.threads, || self.run(model, &req, operator, None))?
    }

    /// As [`SmoothGrad::explain`], with input `n`'s noise drawn from the streams keyed by
    /// `keys[n]` instead of its position `n`: `(seed, keys[n], sample, 0)`. A caller that keys
    /// each input by a stable identity (a hash of its file name, its row in a file) gets the
    /// same result for it whatever batch, shard or order it comes in.
    /// `explain_keyed(.., &[0, 1, .., N-1])` equals `explain`.
    ///
    /// # Errors
    /// As [`SmoothGrad::explain`], and [`ExplainError::Parameter`] (`keys`) if there is not
    /// exactly one key per input.
    pub fn explain_keyed<T: Scalar, D: Differentiable<T> + ?Sized>(
        &self,
        model: &D,
        inputs: &Tensor<T>,
        targets: &Targets,
        operator: &Operator<T>,
        keys: &[u64],
    ) -> Result<Explanation<T>>
    where
        M: Method<T, D>,
    {
        self.validate()?;
        let req = Request::new(model, inputs, targets, operator, self.batch_size)?;
        if keys.len() != req.n() {
            return Err(ExplainError::parameter(
                "keys",
                format!(
                    "expected one stream key per input ({}), found {}",
                    req.n(),
                    keys.len()
                ),
            ));
        }
        self.method.validate(&req.input_shape())?;
        threads::run_in_pool(self.threads, || self.run(model, &req, operator, Some(keys)))?
    }

    fn run<T: Scalar, D: Differentiable<T> + ?Sized>(
        &self,
        model: &D,
        req: &Request<'_, T>,
        operator: &Operator<T>,
        keys: Option<&[u64]>,
    ) -> Result<Explanation<T>>
    where
        M: Method<T, D>,
    {
        let (len, slots) = (req.input_len(), req.slots());
        let mut finished: Vec<[Vec<T>; 4]> = Vec::new();
        let mut counts = Vec::with_capacity(req.n());
        let mut shape = vec![req.n()];
        shape.extend(req.input_shape());
        for n in 0..req.n() {
            let key = keys.map_or(n as u64, |k| k[n]);
            let stats = self.explain_one(model, req, operator, n, key);
            counts.push(stats[0].count());
            finished.extend(stats.iter().map(Welford::finish::<T>));
        }
        // finished[n * slots + j] holds input n, slot j; regroup by statistic and slot.
        let pick = |k: usize| -> Tensor<T> {
            let per_slot: Vec<Vec<T>> = (0..slots)
                .map(|j| {
                    (0..req.n())
                        .flat_map(|n| finished[n * slots + j][k].iter().copied())
                        .collect()
                })
                .collect();
            arrange(&per_slot, req.n(), &req.input_shape())
        };
        debug_assert!(finished.iter().all(|f| f[0].len() == len));
        Ok(Explanation {
            mean: pick(0),
            mean_of_squares: pick(1),
            variance: pick(2),
            std_error: pick(3),
            samples: counts,
        })
    }

    /// The statistics of every slot of input `n` (noise streams keyed by `key`), fed sample by
    /// sample in order.
    fn explain_one<T: Scalar, D: Differentiable<T> + ?Sized>(
        &self,
        model: &D,
        req: &Request<'_, T>,
        operator: &Operator<T>,
        n: usize,
        key: u64,
    ) -> Vec<Welford>
    where
        M: Method<T, D>,
    {
        let x = req.input(n);
        let sigma = self.noise.sigma(x);
        let targets = &req.targets()[n];
        let mut stats = vec![Welford::new(x.len()); req.slots()];
        let threads = rayon::current_num_threads().max(1);
        let mut done = 0;
        while done < self.samples {
            // One wave: at most `batch_size` samples, split evenly into up to `threads` chunks.
            let wave = self.batch_size.min(self.samples - done);
            let chunk = wave.div_ceil(threads);
            let ranges: Vec<(usize, usize)> = (done..done + wave)
                .step_by(chunk)
                .map(|s| (s, (s + chunk).min(done + wave)))
                .collect();
            let results: Vec<Vec<Tensor<T>>> = ranges
                .par_iter()
                .map(|&(s, e)| {
                    let mut data = Vec::with_capacity((e - s) * x.len());
                    for i in s..e {
                        self.noise
                            .extend_noisy_keyed(x, sigma, self.seed, key, i, &mut data);
                    }
                    let mut shape = vec![e - s];
                    shape.extend(req.input_shape());
                    let batch = Tensor::from_vec(data, &shape).expect("noisy batch");
                    self.method
                        .attribute(model, &batch, &vec![targets.clone(); e - s], operator)
                })
                .collect();
            for (&(s, e), per_slot) in ranges.iter().zip(&results) {
                for r in 0..e - s {
                    for (st, a) in stats.iter_mut().zip(per_slot) {
                        st.push(&a.data()[r * x.len()..(r + 1) * x.len()]);
                    }
                    if self.should_stop(&stats) {
                        self.progress.advance(self.samples - done);
                        return stats;
                    }
                }
            }
            done += wave;
            self.progress.advance(wave);
        }
        stats
    }

    /// Whether the tolerance is met (checked after every sample, so the stopping point does not
    /// depend on batching).
    fn should_stop(&self, stats: &[Welford]) -> bool {
        match self.tolerance {
            Some(tol) if stats[0].count() >= self.min_samples.max(2) => {
                stats.iter().all(|s| s.relative_std_error() < tol)
            }
            _ => false,
        }
    }
}
