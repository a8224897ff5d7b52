//! [`Targets`]: which class to explain for each input.

use smoothgrad_autograd::{argmax, Scalar, Tensor};

use crate::differentiable::Differentiable;
use crate::error::{ExplainError, Result};

/// The classes to explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// The model's predicted class (arg max of the outputs, [`predicted`]) for each input; an
    /// input whose outputs hold a NaN has none, and is refused with [`ExplainError::Targets`].
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
    pub(crate) fn resolve<T: Scalar, D: Differentiable<T> + ?Sized>(
        &self,
        model: &D,
        inputs: &Tensor<T>,
        k: usize,
    ) -> Result<Vec<Vec<usize>>> {
        let n = inputs.shape()[0];
        let lists = match self {
            Targets::Predicted => {
                let outputs = model.outputs(inputs);
                let mut lists = Vec::with_capacity(n);
                for (input, row) in outputs.data().chunks(k).enumerate() {
                    let class = argmax(row).expect("K >= 1 outputs");
                    if row[class].is_nan() {
                        return Err(ExplainError::Targets(format!(
                            "cannot predict the class of input {input}: its output {class} is NaN"
                        )));
                    }
                    lists.push(vec![class]);
                }
                lists
            }
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

/// The arg max of the model's outputs `[N, k]` for each input ([`argmax`]: the first maximum on
/// ties). A row holding a NaN gives the class of its first NaN, which is no prediction:
/// [`Targets::Predicted`] refuses such a row with [`ExplainError::Targets`] instead.
///
/// # Panics
/// If `k` is 0.
pub fn predicted<T: Scalar, D: Differentiable<T> + ?Sized>(
    model: &D,
    inputs: &Tensor<T>,
    k: usize,
) -> Vec<usize> {
    let out = model.outputs(inputs);
    out.data()
        .chunks(k)
        .map(|row| argmax(row).expect("a row of k >= 1 outputs"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FnModel;
    use smoothgrad_autograd::Var;

    #[test]
    fn a_nan_output_leaves_no_predicted_class() {
        // Outputs [x0, sqrt(x1)]: NaN for a negative x1.
        let model = FnModel::new(|x: Var<'_, f64>| {
            Var::concat(&[x.narrow(1, 0, 1), x.narrow(1, 1, 1).sqrt()], 1)
        });
        let inputs = Tensor::from_vec(vec![3.0, 4.0, 1.0, 9.0, 0.0, -1.0], &[3, 2]).unwrap();
        let e = Targets::Predicted.resolve(&model, &inputs, 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "targets: cannot predict the class of input 2: its output 1 is NaN"
        );
        let first_two = inputs.select_rows(0..2);
        let lists = Targets::Predicted.resolve(&model, &first_two, 2).unwrap();
        assert_eq!(lists, vec![vec![0], vec![1]]);
        assert_eq!(predicted(&model, &inputs, 2), vec![0, 1, 1]);
    }
}
