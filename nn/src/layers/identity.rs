//! `Identity`: returns its input (PyTorch's `nn.Identity`, a placeholder where a layer was
//! removed, e.g. a classifier head or a folded BatchNorm).

use std::fmt;

use smoothgrad_autograd::{Scalar, Var};

use crate::error::Result;
use crate::module::{Context, Module};

/// `y = x`, any shape. Spec: `identity`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<T: Scalar> Module<T> for Identity {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
        x
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("identity")
    }
}
