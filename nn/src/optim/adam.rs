//! Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), exactly as PyTorch's
//! `torch.optim.Adam` and `torch.optim.AdamW` (without `amsgrad`).

use std::collections::HashMap;

use smoothgrad_autograd::{Scalar, Tensor};

use super::{check_shapes, non_negative, Optimizer};
use crate::error::{NnError, Result};

/// The hyper-parameters of [`Adam`], with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// The learning rate `lr` (default `1e-3`).
    pub lr: f64,
    /// The decay rates `(beta1, beta2)` of the moment estimates (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator for stability (default `1e-8`).
    pub eps: f64,
    /// The weight decay `lambda` (default 0 for Adam, `1e-2` for AdamW).
    pub weight_decay: f64,
    /// `false`: Adam's L2 penalty, `lambda p` added to the gradient. `true`: AdamW's decoupled
    /// decay, `p <- p (1 - lr lambda)` before the Adam step.
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    /// PyTorch's `Adam()` defaults.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamConfig {
    /// Adam with learning rate `lr` and PyTorch's other defaults (no weight decay).
    pub fn new(lr: f64) -> Self {
        AdamConfig {
            lr,
            ..Self::default()
        }
    }

    /// AdamW with learning rate `lr` and PyTorch's other defaults (decoupled weight decay
    /// `1e-2`).
    pub fn adamw(lr: f64) -> Self {
        AdamConfig {
            lr,
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..Self::default()
        }
    }

    /// Sets `(beta1, beta2)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the weight decay, keeping its kind (L2 for [`AdamConfig::new`], decoupled for
    /// [`AdamConfig::adamw`]).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

/// One parameter's state: the step count and the first and second moment estimates.
struct Moments<T> {
    step: i32,
    m: Vec<T>,
    v: Vec<T>,
}

/// Adam, or AdamW with [`AdamConfig::adamw`]. PyTorch's update for a parameter `p` with gradient
/// `g` at its step `t = 1, 2, ...`:
///
/// ```text
/// p <- p (1 - lr lambda)                    AdamW (decoupled decay)
/// g <- g + lambda p                         Adam with weight_decay lambda != 0 (L2)
/// m <- beta1 m + (1 - beta1) g              (m, v start at 0)
/// v <- beta2 v + (1 - beta2) g^2
/// m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
/// p <- p - lr m_hat / (sqrt(v_hat) + eps)
/// ```
///
/// The bias corrections make the first step `p - lr g / (|g| + eps)`, about `lr` against the sign
/// of each gradient. The step count `t` and the moments are kept per parameter name.
pub struct Adam<T: Scalar = f32> {
    config: AdamConfig,
    state: HashMap<String, Moments<T>>,
}

impl<T: Scalar> Adam<T> {
    /// An optimizer with these settings.
    ///
    /// # Errors
    /// [`NnError::Config`] if `lr`, `eps` or the weight decay is negative or not finite, or a beta
    /// is outside `[0, 1)` (PyTorch's checks).
    pub fn new(config: AdamConfig) -> Result<Self> {
        non_negative("adam", "lr", config.lr)?;
        non_negative("adam", "eps", config.eps)?;
        non_negative("adam", "weight_decay", config.weight_decay)?;
        let (b1, b2) = config.betas;
        if !(0.0..1.0).contains(&b1) || !(0.0..1.0).contains(&b2) {
            return Err(NnError::Config(format!(
                "adam: betas must be in [0, 1), found ({b1}, {b2})"
            )));
        }
        Ok(Adam {
            config,
            state: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// How many steps a parameter has taken (0 before its first).
    pub fn steps(&self, name: &str) -> usize {
        self.state.get(name).map_or(0, |s| s.step as usize)
    }
}

impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn update(&mut self, name: &str, param: &mut Tensor<T>, grad: &Tensor<T>) {
        check_shapes("adam", name, param, grad);
        let c = &self.config;
        let n = param.numel();
        let s = self
            .state
            .entry(name.to_string())
            .or_insert_with(|| Moments {
                step: 0,
                m: vec![T::zero(); n],
                v: vec![T::zero(); n],
            });
        s.step = s.step.saturating_add(1);
        let (b1, b2) = c.betas;
        let bc1 = T::from_f64_lossy(1.0 - b1.powi(s.step));
        let bc2 = T::from_f64_lossy(1.0 - b2.powi(s.step));
        let (one, lr) = (T::one(), T::from_f64_lossy(c.lr));
        let (b1, b2) = (T::from_f64_lossy(b1), T::from_f64_lossy(b2));
        let eps = T::from_f64_lossy(c.eps);
        let wd = T::from_f64_lossy(c.weight_decay);
        let decay = if c.decoupled_weight_decay {
            one - lr * wd
        } else {
            one
        };
        let l2 = if c.decoupled_weight_decay {
            T::zero()
        } else {
            wd
        };
        let mut p = param.to_vec();
        let iter = p
            .iter_mut()
            .zip(grad.data())
            .zip(s.m.iter_mut().zip(&mut s.v));
        for ((p, &g), (m, v)) in iter {
            *p = *p * decay;
            let g = g + l2 * *p;
            *m = b1 * *m + (one - b1) * g;
            *v = b2 * *v + (one - b2) * g * g;
            let m_hat = *m / bc1;
            let v_hat = *v / bc2;
            *p = *p - lr * m_hat / (v_hat.sqrt() + eps);
        }
        *param = Tensor::from_vec(p, param.shape()).expect("same length as the parameter");
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_errors() {
        assert!(Adam::<f32>::new(AdamConfig::new(1e-3)).is_ok());
        assert!(Adam::<f32>::new(AdamConfig::new(1e-3).betas(1.0, 0.999)).is_err());
        assert!(Adam::<f32>::new(AdamConfig::new(1e-3).eps(-1.0)).is_err());
        let e = Adam::<f32>::new(AdamConfig::adamw(f64::INFINITY))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "adam: lr must be a finite number >= 0, found inf"
        );
    }

    #[test]
    fn step_counts_are_per_parameter() {
        let mut opt = Adam::<f64>::new(AdamConfig::new(0.1)).unwrap();
        let mut a = Tensor::zeros(&[2]);
        let mut b = Tensor::zeros(&[1]);
        opt.update("a", &mut a, &Tensor::ones(&[2]));
        opt.update("a", &mut a, &Tensor::ones(&[2]));
        opt.update("b", &mut b, &Tensor::ones(&[1]));
        assert_eq!((opt.steps("a"), opt.steps("b"), opt.steps("c")), (2, 1, 0));
        // A constant gradient keeps m_hat = v_hat^(1/2) = 1: every step moves by lr.
        assert!((a.data()[0] + 0.2).abs() < 1e-6 && (b.data()[0] + 0.1).abs() < 1e-6);
    }
}
