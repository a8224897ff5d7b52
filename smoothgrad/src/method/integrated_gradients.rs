//! Integrated gradients (Sundararajan, Taly & Yan 2017).

use smoothgrad_autograd::{Scalar, Tensor};

use super::{gradients, Method};
use crate::differentiable::Differentiable;
use crate::operator::Operator;

/// The reference point `x'` the path starts from.
#[derive(Clone, Debug, PartialEq)]
pub enum Baseline<T: Scalar = f32> {
    /// All zeros (black image), the usual choice.
    Zeros,
    /// Every element equal to a constant.
    Constant(T),
    /// One input-shaped tensor (`[C, H, W]` for image inputs), used for every input.
    Tensor(Tensor<T>),
}

/// How the path integral is approximated with `steps` evaluations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `alpha_k = k / m`, `k = 0..m-1`, weights `1/m`.
    RiemannLeft,
    /// `alpha_k = k / m`, `k = 1..=m`, weights `1/m`.
    RiemannRight,
    /// `alpha_k = (k + 1/2) / m`, `k = 0..m-1`, weights `1/m`.
    RiemannMiddle,
    /// `alpha_k = k / (m - 1)`, `k = 0..m-1`, weights `1/(m-1)`, halved at both ends.
    Trapezoid,
}

/// Integrated gradients: `IG_i(x) = (x_i - x'_i) int_0^1 dS_c/dx_i(x' + a (x - x')) da`, so that
/// (completeness) `sum_i IG_i(x) = S_c(x) - S_c(x')`, up to the quadrature error.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegratedGradients<T: Scalar = f32> {
    /// The path's start.
    pub baseline: Baseline<T>,
    /// The number of points on the path (Captum's `n_steps`, default 50).
    pub steps: usize,
    /// The quadrature rule.
    pub rule: Rule,
    /// How many path points go through the model at once (Captum's `internal_batch_size`).
    pub internal_batch_size: usize,
}

impl<T: Scalar> Default for IntegratedGradients<T> {
    fn default() -> Self {
        IntegratedGradients {
            baseline: Baseline::Zeros,
            steps: 50,
            rule: Rule::RiemannMiddle,
            internal_batch_size: 64,
        }
    }
}

/// The most path points a request may ask for: far past any use (Captum's default is 50, the
/// integrated-gradients paper used 20 to 300), and small enough that the points' table and the
/// work are bounded before anything runs (10^11 steps once aborted on a 1.6 TB allocation).
pub const MAX_STEPS: usize = 100_000;

impl<T: Scalar> IntegratedGradients<T> {
    /// The path points `alpha_k` and weights `w_k` of the rule.
    pub fn nodes(&self) -> Vec<(f64, f64)> {
        let m = self.steps.max(1);
        let mf = m as f64;
        match self.rule {
            Rule::RiemannLeft => (0..m).map(|k| (k as f64 / mf, 1.0 / mf)).collect(),
            Rule::RiemannRight => (1..=m).map(|k| (k as f64 / mf, 1.0 / mf)).collect(),
            Rule::RiemannMiddle => (0..m).map(|k| ((k as f64 + 0.5) / mf, 1.0 / mf)).collect(),
            Rule::Trapezoid if m == 1 => vec![(1.0, 1.0)],
            Rule::Trapezoid => {
                let h = 1.0 / (mf - 1.0);
                (0..m)
                    .map(|k| {
                        let w = if k == 0 || k == m - 1 { h / 2.0 } else { h };
                        // k / (m - 1), not k * h: the last node is exactly 1.
                        (k as f64 / (mf - 1.0), w)
                    })
                    .collect()
            }
        }
    }

    /// The baseline for one input of `len` elements.
    fn baseline_row(&self, len: usize) -> Vec<T> {
        match &self.baseline {
            Baseline::Zeros => vec![T::zero(); len],
            Baseline::Constant(c) => vec![*c; len],
            Baseline::Tensor(t) => {
                assert_eq!(t.numel(), len, "integrated gradients: baseline of shape {:?} does not fit inputs of {len} elements", t.shape());
                t.to_vec()
            }
        }
    }
}

impl<T: Scalar, D: Differentiable<T> + ?Sized> Method<T, D> for IntegratedGradients<T> {
    fn name(&self) -> String {
        "integrated_gradients".into()
    }

    fn validate(&self, input_shape: &[usize]) -> crate::error::Result<()> {
        let err = |setting, m: String| Err(crate::error::ExplainError::parameter(setting, m));
        if self.steps == 0 {
            return err(
                "steps",
                "integrated gradients: steps must be at least 1, found 0".into(),
            );
        }
        if self.steps > MAX_STEPS {
            return err(
                "steps",
                format!(
                    "integrated gradients: steps must be at most {MAX_STEPS}, found {}",
                    self.steps
                ),
            );
        }
        if self.internal_batch_size == 0 {
            return err(
                "internal_batch_size",
                "integrated gradients: internal batch size must be at least 1, found 0".into(),
            );
        }
        if let Baseline::Tensor(t) = &self.baseline {
            let len: usize = input_shape.iter().product();
            if t.numel() != len {
                return err("baseline", format!(
                    "integrated gradients: the baseline of shape {:?} does not fit inputs of shape {input_shape:?}",
                    t.shape()
                ));
            }
        }
        Ok(())
    }

    fn attribute(
        &self,
        model: &D,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        let b = x.shape()[0];
        let len = x.numel() / b.max(1);
        let base = self.baseline_row(len);
        let slots = targets.first().map_or(0, Vec::len);
        // Path points of every row, laid out as [step][row], fed `chunk` rows at a time.
        let nodes = self.nodes();
        let points: Vec<(usize, usize)> = (0..nodes.len())
            .flat_map(|k| (0..b).map(move |r| (k, r)))
            .collect();
        let mut sums: Vec<Vec<T>> = vec![vec![T::zero(); x.numel()]; slots];
        for chunk in points.chunks(self.internal_batch_size.max(1)) {
            let mut data = Vec::with_capacity(chunk.len() * len);
            for &(k, r) in chunk {
                let a = T::from_f64_lossy(nodes[k].0);
                let row = &x.data()[r * len..(r + 1) * len];
                data.extend(row.iter().zip(&base).map(|(&xi, &bi)| bi + a * (xi - bi)));
            }
            let mut shape = x.shape().to_vec();
            shape[0] = chunk.len();
            let xs = Tensor::from_vec(data, &shape).expect("path points fill the batch");
            let ts: Vec<Vec<usize>> = chunk.iter().map(|&(_, r)| targets[r].clone()).collect();
            let grads = gradients(model, &xs, &ts, operator);
            for (j, g) in grads.iter().enumerate() {
                for (c, &(k, r)) in chunk.iter().enumerate() {
                    let w = T::from_f64_lossy(nodes[k].1);
                    let src = &g.data()[c * len..(c + 1) * len];
                    for (s, &gi) in sums[j][r * len..(r + 1) * len].iter_mut().zip(src) {
                        *s = *s + w * gi;
                    }
                }
            }
        }
        sums.into_iter()
            .map(|s| {
                let out: Vec<T> = s
                    .iter()
                    .enumerate()
                    .map(|(i, &avg)| (x.data()[i] - base[i % len]) * avg)
                    .collect();
                Tensor::from_vec(out, x.shape()).expect("same shape as the inputs")
            })
            .collect()
    }
}
