//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay,
//! exactly as PyTorch's `torch.optim.SGD`.

use std::collections::HashMap;

use smoothgrad_autograd::{Scalar, Tensor};

use super::{check_shapes, non_negative, Optimizer};
use crate::error::{NnError, Result};

/// The hyper-parameters of [`Sgd`], with PyTorch's names and defaults (except `lr`, which has no
/// good default and is always given).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// The learning rate `lr`.
    pub lr: f64,
    /// The momentum factor `mu` (0: plain SGD).
    pub momentum: f64,
    /// The dampening `tau` of the gradient added to the momentum buffer.
    pub dampening: f64,
    /// The L2 penalty `lambda`, added to the gradient as `lambda * p`.
    pub weight_decay: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`: no momentum, dampening or weight decay.
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Sets the L2 weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

/// SGD, with PyTorch's update for a parameter `p` with gradient `g` (`torch.optim.SGD`):
///
/// ```text
/// g <- g + lambda p                          if weight_decay lambda != 0
/// if momentum mu != 0:
///     b <- g                                 on the parameter's first step
///     b <- mu b + (1 - tau) g                afterwards
///     g <- g + mu b  if nesterov  else  b
/// p <- p - lr g
/// ```
///
/// The momentum buffers `b` are kept per parameter name. (This is PyTorch's form, where the
/// learning rate multiplies the whole buffer; it differs from Sutskever et al.'s only when `lr`
/// changes during training.)
pub struct Sgd<T: Scalar = f32> {
    config: SgdConfig,
    buffers: HashMap<String, Vec<T>>,
}

impl<T: Scalar> Sgd<T> {
    /// An optimizer with these settings.
    ///
    /// # Errors
    /// [`NnError::Config`] if a setting is negative or not finite, or Nesterov momentum is asked
    /// for without momentum or with dampening (PyTorch's checks).
    pub fn new(config: SgdConfig) -> Result<Self> {
        non_negative("sgd", "lr", config.lr)?;
        non_negative("sgd", "momentum", config.momentum)?;
        non_negative("sgd", "dampening", config.dampening)?;
        non_negative("sgd", "weight_decay", config.weight_decay)?;
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(NnError::Config(format!(
                "sgd: Nesterov momentum requires momentum > 0 and dampening = 0, found momentum \
                 {} and dampening {}",
                config.momentum, config.dampening
            )));
        }
        Ok(Sgd {
            config,
            buffers: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The momentum buffer of a parameter, once it has taken a step with momentum.
    pub fn momentum_buffer(&self, name: &str) -> Option<&[T]> {
        self.buffers.get(name).map(Vec::as_slice)
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn update(&mut self, name: &str, param: &mut Tensor<T>, grad: &Tensor<T>) {
        check_shapes("sgd", name, param, grad);
        let c = &self.config;
        let lr = T::from_f64_lossy(c.lr);
        let wd = T::from_f64_lossy(c.weight_decay);
        let mu = T::from_f64_lossy(c.momentum);
        let keep = T::from_f64_lossy(1.0 - c.dampening);
        let mut p = param.to_vec();
        let mut g = grad.to_vec();
        if c.weight_decay != 0.0 {
            for (g, &p) in g.iter_mut().zip(&p) {
                *g = *g + wd * p;
            }
        }
        if c.momentum != 0.0 {
            if let Some(b) = self.buffers.get_mut(name) {
                for (b, &g) in b.iter_mut().zip(&g) {
                    *b = mu * *b + keep * g;
                }
            } else {
                self.buffers.insert(name.to_string(), g.clone());
            }
            let b = &self.buffers[name];
            if c.nesterov {
                for (g, &b) in g.iter_mut().zip(b) {
                    *g = *g + mu * b;
                }
            } else {
                g.copy_from_slice(b);
            }
        }
        for (p, &g) in p.iter_mut().zip(&g) {
            *p = *p - lr * g;
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

    fn run(config: SgdConfig, p0: &[f64], grads: &[&[f64]]) -> Vec<Vec<f64>> {
        let mut opt = Sgd::<f64>::new(config).unwrap();
        let mut p = Tensor::from_slice(p0, &[p0.len()]).unwrap();
        grads
            .iter()
            .map(|g| {
                let g = Tensor::from_slice(g, &[g.len()]).unwrap();
                opt.update("w", &mut p, &g);
                p.to_vec()
            })
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12),
            "{a:?} != {b:?}"
        );
    }

    #[test]
    fn plain_sgd() {
        let out = run(
            SgdConfig::new(0.1),
            &[1.0, -2.0],
            &[&[1.0, 2.0], &[-3.0, 0.5]],
        );
        close(&out[0], &[0.9, -2.2]);
        close(&out[1], &[1.2, -2.25]);
    }

    #[test]
    fn momentum_with_dampening_and_weight_decay() {
        // p = 1, lr 0.1, mu 0.9, tau 0.5, lambda 0.1; gradients 1, 1.
        // Step 1: g = 1 + 0.1 = 1.1; b = 1.1 (no dampening on the first step); p = 1 - 0.11 = 0.89.
        // Step 2: g = 1 + 0.089 = 1.089; b = 0.99 + 0.5 * 1.089 = 1.5345; p = 0.89 - 0.15345.
        let config = SgdConfig::new(0.1)
            .momentum(0.9)
            .dampening(0.5)
            .weight_decay(0.1);
        let out = run(config, &[1.0], &[&[1.0], &[1.0]]);
        close(&out[0], &[0.89]);
        close(&out[1], &[0.73655]);
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(Sgd::<f32>::new(SgdConfig::new(-0.1)).is_err());
        assert!(Sgd::<f32>::new(SgdConfig::new(0.1).nesterov(true)).is_err());
        let e = Sgd::<f32>::new(
            SgdConfig::new(0.1)
                .momentum(0.9)
                .dampening(0.1)
                .nesterov(true),
        );
        assert!(e.err().unwrap().to_string().contains("dampening = 0"));
        assert!(Sgd::<f32>::new(SgdConfig::new(0.1).weight_decay(f64::NAN)).is_err());
    }
}
