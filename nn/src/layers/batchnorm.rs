//! `BatchNorm2d` (Ioffe & Szegedy 2015), as PyTorch: per-channel normalization of `[N, C, H, W]`.
//!
//! Training: `y = (x - mean) / sqrt(var + eps) * weight + bias` with the batch's mean and biased
//! variance over `(N, H, W)`; the running statistics move by `momentum` towards the batch's mean
//! and *unbiased* variance. Evaluation: the running statistics replace the batch's.

use std::fmt;
use std::sync::Mutex;

use smoothgrad_autograd::{Scalar, Tensor, Var};

use super::shape_error;
use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind};

/// The running statistics, updated by forward passes in training mode.
struct Running<T: Scalar> {
    mean: Tensor<T>,
    var: Tensor<T>,
    /// PyTorch's `num_batches_tracked`, stored as a float scalar.
    batches: Tensor<T>,
}

/// Batch normalization over the channels of NCHW input. Spec:
/// `batchnorm2d(num_features, eps=1e-05, momentum=0.1, affine=True)`.
pub struct BatchNorm2d<T: Scalar = f32> {
    /// Per-channel scale `[C]` (with `affine`).
    pub weight: Option<Tensor<T>>,
    /// Per-channel shift `[C]` (with `affine`).
    pub bias: Option<Tensor<T>>,
    /// Added to the variance before the square root.
    pub eps: f64,
    /// How far each training batch moves the running statistics.
    pub momentum: f64,
    num_features: usize,
    running: Mutex<Running<T>>,
    training: bool,
}

impl<T: Scalar> BatchNorm2d<T> {
    /// A layer with weight 1, bias 0, running mean 0 and running variance 1 (PyTorch's start), in
    /// evaluation mode until [`Module::set_training`].
    ///
    /// # Errors
    /// [`NnError::Config`] for zero features, a non-positive `eps` or `momentum` outside `[0, 1]`.
    pub fn new(num_features: usize, eps: f64, momentum: f64, affine: bool) -> Result<Self> {
        if num_features == 0 || eps.is_nan() || eps <= 0.0 || !(0.0..=1.0).contains(&momentum) {
            return Err(NnError::Config(format!(
                "batchnorm2d: invalid settings num_features {num_features}, eps {eps}, momentum \
                 {momentum} (expected num_features > 0, eps > 0, 0 <= momentum <= 1)"
            )));
        }
        let c = [num_features];
        Ok(BatchNorm2d {
            weight: affine.then(|| Tensor::ones(&c)),
            bias: affine.then(|| Tensor::zeros(&c)),
            eps,
            momentum,
            num_features,
            running: Mutex::new(Running {
                mean: Tensor::zeros(&c),
                var: Tensor::ones(&c),
                batches: Tensor::scalar(T::zero()),
            }),
            training: false,
        })
    }

    /// The number of channels.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// `(running_mean, running_var)`.
    pub fn running_stats(&self) -> (Tensor<T>, Tensor<T>) {
        let r = self.running.lock().expect("running statistics lock");
        (r.mean.clone(), r.var.clone())
    }

    /// Moves the running statistics towards a batch's mean and unbiased variance.
    fn update_running(&self, mean: &Tensor<T>, biased_var: &Tensor<T>, count: usize) {
        let m = T::from_f64_lossy(self.momentum);
        let unbias = T::from_f64_lossy(count as f64 / (count - 1) as f64);
        let mut r = self.running.lock().expect("running statistics lock");
        r.mean = r
            .mean
            .zip_map(mean, |old, new| (T::one() - m) * old + m * new);
        r.var = r.var.zip_map(biased_var, |old, new| {
            (T::one() - m) * old + m * new * unbias
        });
        r.batches = r.batches.map(|b| b + T::one());
    }
}

impl<T: Scalar> Module<T> for BatchNorm2d<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let c = self.num_features;
        let per_channel = [1, c, 1, 1];
        let eps = T::from_f64_lossy(self.eps);
        let normalized = if self.training {
            let shape = x.shape();
            assert!(
                shape[0] * shape[2] * shape[3] > 1,
                "batchnorm2d: expected more than 1 value per channel when training, found input {shape:?}"
            );
            let mean = x.mean_axes(&[0, 2, 3], true);
            let centered = x - mean;
            let var = centered.square().mean_axes(&[0, 2, 3], true);
            self.update_running(
                &mean
                    .value()
                    .reshape(&[c])
                    .expect("[1, C, 1, 1] holds C values"),
                &var.value()
                    .reshape(&[c])
                    .expect("[1, C, 1, 1] holds C values"),
                shape[0] * shape[2] * shape[3],
            );
            centered / (var + eps).sqrt()
        } else {
            let (mean, var) = self.running_stats();
            let tape = cx.tape();
            let mean = tape.constant(mean.reshape(&per_channel).expect("C values"));
            let inv_std = var.map(|v| (v + eps).sqrt().recip());
            let inv_std = tape.constant(inv_std.reshape(&per_channel).expect("C values"));
            (x - mean) * inv_std
        };
        match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => {
                let w = cx.param("weight", w).reshape(&per_channel);
                let b = cx.param("bias", b).reshape(&per_channel);
                normalized * w + b
            }
            _ => normalized,
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() == 4 && input[1] == self.num_features {
            if self.training && input[0] * input[2] * input[3] <= 1 {
                return Err(shape_error(
                    self,
                    format!(
                        "expected more than 1 value per channel when training, found input {input:?}"
                    ),
                ));
            }
            Ok(input.to_vec())
        } else {
            Err(shape_error(
                self,
                format!(
                    "expected input [N, {}, H, W], found {input:?}",
                    self.num_features
                ),
            ))
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            f("weight", StateKind::Parameter, w);
            f("bias", StateKind::Parameter, b);
        }
        let r = self.running.lock().expect("running statistics lock");
        f("running_mean", StateKind::Buffer, &r.mean);
        f("running_var", StateKind::Buffer, &r.var);
        f("num_batches_tracked", StateKind::Buffer, &r.batches);
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        if let (Some(w), Some(b)) = (&mut self.weight, &mut self.bias) {
            f("weight", StateKind::Parameter, w);
            f("bias", StateKind::Parameter, b);
        }
        let r = self.running.get_mut().expect("running statistics lock");
        f("running_mean", StateKind::Buffer, &mut r.mean);
        f("running_var", StateKind::Buffer, &mut r.var);
        f("num_batches_tracked", StateKind::Buffer, &mut r.batches);
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }
}

impl<T: Scalar> fmt::Display for BatchNorm2d<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batchnorm2d({}", self.num_features)?;
        if self.eps != 1e-5 {
            write!(f, ",eps={}", self.eps)?;
        }
        if self.momentum != 0.1 {
            write!(f, ",momentum={}", self.momentum)?;
        }
        if self.weight.is_none() {
            write!(f, ",affine=False")?;
        }
        write!(f, ")")
    }
}
