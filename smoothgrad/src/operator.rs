//! [`Operator`]: the per-sample score that is differentiated, given the model's outputs and the
//! targets (Xplique's idea). The sum of the scores over a batch is differentiated once, which gives
//! every sample its own gradient because samples do not interact.

use std::fmt;
use std::sync::Arc;

use smoothgrad_autograd::{Scalar, Tape, Tensor, Var};

use crate::differentiable::Scored;

/// A user-defined score: `(outputs [B, K], targets [B]) -> scores [B]`.
pub type ScoreFn<T> = dyn for<'t> Fn(Var<'t, T>, &[usize]) -> Var<'t, T> + Send + Sync;

/// What to explain about the output.
#[derive(Clone, Default)]
pub enum Operator<T: Scalar = f32> {
    /// `S_c(x) = z_c`: the target's logit (the default; the SmoothGrad paper explains the layer
    /// before softmax).
    #[default]
    Logit,
    /// `S_c(x) = softmax(z)_c`.
    Probability,
    /// `S_c(x) = log softmax(z)_c`.
    LogProbability,
    /// `S(x) = z_k` for a fixed output `k`, whatever the target (regression).
    Output(usize),
    /// Any score.
    Custom(Arc<ScoreFn<T>>),
}

impl<T: Scalar> fmt::Debug for Operator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operator::Logit => f.write_str("Logit"),
            Operator::Probability => f.write_str("Probability"),
            Operator::LogProbability => f.write_str("LogProbability"),
            Operator::Output(k) => write!(f, "Output({k})"),
            Operator::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl<T: Scalar> Operator<T> {
    /// A custom score from a closure.
    pub fn custom(
        f: impl for<'t> Fn(Var<'t, T>, &[usize]) -> Var<'t, T> + Send + Sync + 'static,
    ) -> Self {
        Operator::Custom(Arc::new(f))
    }

    /// The scores `[B]` of `outputs` `[B, K]` for one target per row.
    pub fn score<'t>(&self, outputs: Var<'t, T>, targets: &[usize]) -> Var<'t, T> {
        match self {
            Operator::Logit => outputs.pick(targets),
            Operator::Probability => outputs.softmax(1).pick(targets),
            Operator::LogProbability => outputs.log_softmax(1).pick(targets),
            Operator::Output(k) => outputs.pick(&vec![*k; targets.len()]),
            Operator::Custom(f) => f(outputs, targets),
        }
    }

    /// The scores `[B]` of plain outputs `z` `[B, K]` (computed by any framework) and their
    /// gradients with respect to the outputs, `dS/dz` `[B, K]`, on a tape of their own: what a
    /// [`crate::Differentiable`] model of another framework pulls back to its input
    /// (`dS/dx = (dz/dx)^T dS/dz`, one vector-Jacobian product), so that every operator, custom
    /// ones included, works with every framework.
    pub fn output_gradients(&self, outputs: &Tensor<T>, targets: &[usize]) -> Scored<T> {
        let tape = Tape::new();
        let z = tape.var(outputs.clone());
        let scores = self.score(z, targets);
        let gradients = tape.backward(scores.sum()).wrt(z);
        Scored {
            scores: scores.value(),
            gradients,
        }
    }

    /// Whether the score ignores the target (then one target slot is enough).
    pub fn ignores_target(&self) -> bool {
        matches!(self, Operator::Output(_))
    }
}
