//! `Flatten`: joins axes `start_dim..=end_dim` into one, in CHW order (PyTorch's `nn.Flatten`).

use std::fmt;

use smoothgrad_autograd::{Scalar, Var};

use super::shape_error;
use crate::error::Result;
use crate::module::{Context, Module};

/// Flattens axes `start_dim..=end_dim` (PyTorch's defaults 1 and -1: everything but the batch).
/// Spec: `flatten(start_dim=1, end_dim=-1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten {
    /// The first axis flattened.
    pub start_dim: usize,
    /// The last axis flattened, counted from the end when negative (-1: the last).
    pub end_dim: isize,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten {
            start_dim: 1,
            end_dim: -1,
        }
    }
}

impl Flatten {
    /// The resolved `(start, end)` axes for a rank, or `None` if they do not fit it.
    fn axes(&self, rank: usize) -> Option<(usize, usize)> {
        let end = if self.end_dim < 0 {
            rank.checked_sub(self.end_dim.unsigned_abs())?
        } else {
            self.end_dim as usize
        };
        (self.start_dim <= end && end < rank).then_some((self.start_dim, end))
    }
}

impl<T: Scalar> Module<T> for Flatten {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
        let shape = Module::<T>::output_shape(self, &x.shape()).unwrap_or_else(|e| panic!("{e}"));
        x.reshape(&shape)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let (s, e) = self.axes(input.len()).ok_or_else(|| {
            shape_error(
                self,
                format!(
                    "axes {}..={} do not fit input {input:?}",
                    self.start_dim, self.end_dim
                ),
            )
        })?;
        let mut out = input[..s].to_vec();
        out.push(input[s..=e].iter().product());
        out.extend(&input[e + 1..]);
        Ok(out)
    }
}

impl fmt::Display for Flatten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.start_dim, self.end_dim) {
            (1, -1) => f.write_str("flatten"),
            (s, -1) => write!(f, "flatten(start_dim={s})"),
            (1, e) => write!(f, "flatten(end_dim={e})"),
            (s, e) => write!(f, "flatten(start_dim={s},end_dim={e})"),
        }
    }
}
