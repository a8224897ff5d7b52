//! `Dropout`: in training, zeroes each element with probability `p` and scales the rest by
//! `1 / (1 - p)`; the identity in evaluation mode.

use std::fmt;

use rand::Rng;
use smoothgrad_autograd::{Scalar, Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Context, Module};

/// Inverted dropout (Srivastava et al. 2014), as PyTorch. Spec: `dropout(p=0.5)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
    training: bool,
}

impl Dropout {
    /// A dropout layer, in evaluation mode until [`Module::set_training`].
    ///
    /// # Errors
    /// [`NnError::Config`] unless `0 <= p < 1`.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::Config(format!(
                "dropout: p must be in [0, 1), found {p}"
            )));
        }
        Ok(Dropout { p, training: false })
    }
}

impl<T: Scalar> Module<T> for Dropout {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        if !self.training || self.p == 0.0 {
            return x;
        }
        let keep = T::from_f64_lossy(1.0 / (1.0 - self.p));
        let p = self.p;
        let rng = cx.rng();
        let mask = Tensor::from_fn(&x.shape(), |_| {
            if rng.gen::<f64>() < p {
                T::zero()
            } else {
                keep
            }
        });
        x * cx.tape().constant(mask)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }
}

impl fmt::Display for Dropout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.p == 0.5 {
            f.write_str("dropout")
        } else {
            write!(f, "dropout(p={})", self.p)
        }
    }
}
