//! [`Targets`]: which class to explain for each input.

use autograd::{Scalar, Tape, Tensor};

use crate::error::{ExplainError, Result};
use crate::model::Model;

/// The classes to explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// The model's predicted class (arg max of the outputs) for each input.
    Predicted,
    /// One class per input.
    Classes(Vec<usize>),
    /// Several classes per input, explained in one pass: one forward per noisy batch and one
    /// backward per class. Every input must list the same number of classes.
    Multiple(Vec<Vec<usize>>),
}

impl From<Vec<usize>> for Targets {
    fn from(classes: Vec<usize>) -> Self {
        Targets::Classes(classes)
    }
}

impl Targets {
    /// Resolves to `classes[n]` for each input `n` (all of one length), checking the count and the
    /// range against a model with `k` outputs. `Predicted` runs the model once on `inputs`.
    pub(crate) fn resolve<T: Scalar>(
        &self,
        model: &dyn Model<T>,
        inputs: &Tensor<T>,
        k: usize,
    ) -> Result<Vec<Vec<usize>>> {
        let n = inputs.shape()[0];
        let lists = match self {
            Targets::Predicted => predicted(model, inputs, k)
                .into_iter()
                .map(|c| vec![c])
                .collect(),
            Targets::Classes(c) => c.iter().map(|&c| vec![c]).collect(),
            Targets::Multiple(m) => m.clone(),
        };
        if lists.len() != n {
            return Err(ExplainError::Targets(format!(
                "expected one entry per input ({n}), found {}",
                lists.len()
            )));
        }
        if let Some(i) = lists.iter().position(Vec::is_empty) {
            return Err(ExplainError::Targets(format!(
                "input {i} lists no class to explain (expected at least one)"
            )));
        }
        let per_input = lists.first().map_or(0, Vec::len);
        if let Some((i, l)) = lists.iter().enumerate().find(|(_, l)| l.len() != per_input) {
            return Err(ExplainError::Targets(format!(
                "every input needs the same number of classes: input 0 has {per_input}, input {i} has {}",
                l.len()
            )));
        }
        for (input, l) in lists.iter().enumerate() {
            if let Some(&target) = l.iter().find(|&&c| c >= k) {
                return Err(ExplainError::TargetOutOfRange {
                    input,
                    target,
                    classes: k,
                });
            }
        }
        Ok(lists)
    }
}

/// The arg max of the model's outputs for each input (the first maximum on ties).
pub fn predicted<T: Scalar>(model: &dyn Model<T>, inputs: &Tensor<T>, k: usize) -> Vec<usize> {
    let tape = Tape::new();
    let out = model.forward(tape.constant(inputs.clone())).value();
    out.data()
        .chunks(k)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, T::neg_infinity()), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}
