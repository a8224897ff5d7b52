//! A finite-difference gradient checker, public so other crates can verify their own ops.
//!
//! [`check_gradients`] compares the tape's gradients of a function with central differences,
//! `(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)`, in `f64`, and accepts an entry when
//! `|analytic - numeric| <= atol + rtol |numeric|`, with PyTorch `gradcheck`'s defaults
//! (`eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`).
//!
//! Two modes, as PyTorch's:
//! - [`Mode::Full`] builds the whole Jacobian both ways (one backward per output element, two
//!   forwards per input element) and compares every entry.
//! - [`Mode::Fast`] compares random projections `u^T J v` for a few random directions `v` and
//!   cotangents `u`: one backward and two forwards per direction, whatever the sizes.
//!
//! ```
//! use smoothgrad_autograd::check::{check_gradients, CheckOptions};
//! use smoothgrad_autograd::Tensor;
//!
//! let x = Tensor::<f64>::from_vec(vec![0.3, -1.2, 2.0], &[3]).unwrap();
//! let report = check_gradients(|_, v| (v[0].tanh() * v[0]).sum(), &[x], &CheckOptions::default())
//!     .expect("tanh(x) * x has the gradient the tape computes");
//! assert!(report.max_abs_error < 1e-7);
//! ```
//!
//! Keep inputs away from kinks (ReLU at 0, ties in max) where the derivative does not exist and
//! central differences straddle two slopes.

use std::fmt;

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::var::Var;

/// Which comparison [`check_gradients`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every entry of the Jacobian.
    Full,
    /// `u^T J v` for this many random `(u, v)` pairs.
    Fast {
        /// How many random directions to try.
        directions: usize,
    },
}

/// Step and tolerances of a check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckOptions {
    /// Central-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, against the numerical value.
    pub rtol: f64,
    /// Full Jacobian or random projections.
    pub mode: Mode,
    /// Seed of the random directions (fast mode).
    pub seed: u64,
}

impl Default for CheckOptions {
    /// PyTorch `gradcheck`'s defaults, full mode.
    fn default() -> Self {
        CheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            mode: Mode::Full,
            seed: 0,
        }
    }
}

impl CheckOptions {
    /// The defaults in fast mode with `directions` random projections.
    pub fn fast(directions: usize) -> Self {
        CheckOptions {
            mode: Mode::Fast { directions },
            ..Self::default()
        }
    }
}

/// One disagreement between the tape and finite differences.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Which input (full mode) or `None` for a projection over all inputs (fast mode).
    pub input: Option<usize>,
    /// Output element and input element (full mode), or the direction number (fast mode).
    pub entry: (usize, usize),
    /// The tape's value.
    pub analytic: f64,
    /// The finite-difference value.
    pub numeric: f64,
}

/// The summary of a passing check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// How many values were compared.
    pub compared: usize,
    /// The largest `|analytic - numeric|`.
    pub max_abs_error: f64,
}

/// A failed check: what disagreed, worst first (at most 10 kept), and how many in all.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckError {
    /// The worst mismatches.
    pub mismatches: Vec<Mismatch>,
    /// How many values disagreed.
    pub count: usize,
    /// How many values were compared.
    pub compared: usize,
    /// The options used.
    pub options: CheckOptions,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "gradient check failed: {} of {} values differ by more than atol {} + rtol {} * |numeric| (eps {})",
            self.count, self.compared, o.atol, o.rtol, o.eps
        )?;
        for m in &self.mismatches {
            match m.input {
                Some(i) => write!(f, "  d output[{}] / d input{i}[{}]", m.entry.0, m.entry.1)?,
                None => write!(f, "  projection {}", m.entry.0)?,
            }
            writeln!(
                f,
                ": analytic {:.9e}, numeric {:.9e}",
                m.analytic, m.numeric
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckError {}

/// Evaluates `f` at `inputs` (as variables on a new tape), returning the output value.
fn eval<F>(f: &F, inputs: &[Tensor<f64>]) -> Tensor<f64>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|t| tape.var(t.clone())).collect();
    f(&tape, &vars).value()
}

/// The vector-Jacobian products `J_k^T u` for every input `k`, from the tape.
fn vjp<F>(f: &F, inputs: &[Tensor<f64>], u: &Tensor<f64>) -> Vec<Tensor<f64>>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|t| tape.var(t.clone())).collect();
    let out = f(&tape, &vars);
    let grads = tape.backward_with(out, u.clone());
    vars.iter().map(|&v| grads.wrt(v)).collect()
}

/// `inputs` with `step * direction_k` added to each input `k`.
fn shifted(inputs: &[Tensor<f64>], dirs: &[Tensor<f64>], step: f64) -> Vec<Tensor<f64>> {
    inputs
        .iter()
        .zip(dirs)
        .map(|(x, d)| x.zip_map(d, |a, b| a + step * b))
        .collect()
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.data().iter().zip(b.data()).map(|(x, y)| x * y).sum()
}

/// Compares the tape's gradients of `f` at `inputs` with central differences.
///
/// `f` receives a fresh tape and one variable per input, and returns an output of any shape.
///
/// # Errors
/// [`CheckError`] listing the worst disagreements.
pub fn check_gradients<F>(
    f: F,
    inputs: &[Tensor<f64>],
    options: &CheckOptions,
) -> Result<CheckReport, CheckError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let mut pairs: Vec<Mismatch> = Vec::new();
    match options.mode {
        Mode::Full => {
            let out_len = eval(&f, inputs).numel();
            let out_shape = eval(&f, inputs).shape().to_vec();
            // Analytic: row i of the Jacobian is J^T e_i.
            let rows: Vec<Vec<Tensor<f64>>> = (0..out_len)
                .map(|i| {
                    let e = Tensor::from_fn(&out_shape, |j| if i == j { 1.0 } else { 0.0 });
                    vjp(&f, inputs, &e)
                })
                .collect();
            for (k, x) in inputs.iter().enumerate() {
                for j in 0..x.numel() {
                    let dirs: Vec<Tensor<f64>> = inputs
                        .iter()
                        .enumerate()
                        .map(|(kk, t)| {
                            Tensor::from_fn(
                                t.shape(),
                                |jj| if kk == k && jj == j { 1.0 } else { 0.0 },
                            )
                        })
                        .collect();
                    let plus = eval(&f, &shifted(inputs, &dirs, options.eps));
                    let minus = eval(&f, &shifted(inputs, &dirs, -options.eps));
                    for (i, row) in rows.iter().enumerate() {
                        let numeric = (plus.data()[i] - minus.data()[i]) / (2.0 * options.eps);
                        pairs.push(Mismatch {
                            input: Some(k),
                            entry: (i, j),
                            analytic: row[k].data()[j],
                            numeric,
                        });
                    }
                }
            }
        }
        Mode::Fast { directions } => {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            let out_shape = eval(&f, inputs).shape().to_vec();
            for d in 0..directions {
                let mut normal =
                    |shape: &[usize]| Tensor::from_fn(shape, |_| rng.gen_range(-1.0..1.0));
                let u = normal(&out_shape);
                let dirs: Vec<Tensor<f64>> = inputs.iter().map(|t| normal(t.shape())).collect();
                let analytic: f64 = vjp(&f, inputs, &u)
                    .iter()
                    .zip(&dirs)
                    .map(|(g, v)| dot(g, v))
                    .sum();
                let plus = eval(&f, &shifted(inputs, &dirs, options.eps));
                let minus = eval(&f, &shifted(inputs, &dirs, -options.eps));
                let numeric = (dot(&u, &plus) - dot(&u, &minus)) / (2.0 * options.eps);
                pairs.push(Mismatch {
                    input: None,
                    entry: (d, 0),
                    analytic,
                    numeric,
                });
            }
        }
    }
    let compared = pairs.len();
    let max_abs_error = pairs
        .iter()
        .map(|m| (m.analytic - m.numeric).abs())
        .fold(0.0, f64::max);
    let mut bad: Vec<Mismatch> = pairs
        .into_iter()
        .filter(|m| {
            let ok =
                (m.analytic - m.numeric).abs() <= options.atol + options.rtol * m.numeric.abs();
            !ok // NaN on either side fails too
        })
        .collect();
    if bad.is_empty() {
        return Ok(CheckReport {
            compared,
            max_abs_error,
        });
    }
    let err = |m: &Mismatch| {
        let e = (m.analytic - m.numeric).abs();
        if e.is_nan() {
            f64::INFINITY
        } else {
            e
        }
    };
    bad.sort_by(|a, b| err(b).total_cmp(&err(a)));
    let count = bad.len();
    bad.truncate(10);
    Err(CheckError {
        mismatches: bad,
        count,
        compared,
        options: *options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_slice(data, shape).unwrap()
    }

    #[test]
    fn accepts_correct_gradients_in_both_modes() {
        let x = t(&[0.5, -0.7, 1.3, 2.1], &[2, 2]);
        let w = t(&[0.1, 0.2, -0.3, 0.4], &[2, 2]);
        let full = check_gradients(
            |_, v| v[0].matmul(v[1]).tanh(),
            &[x.clone(), w.clone()],
            &CheckOptions::default(),
        )
        .unwrap();
        assert_eq!(full.compared, 4 * 8);
        check_gradients(
            |_, v| v[0].matmul(v[1]).tanh(),
            &[x, w],
            &CheckOptions::fast(4),
        )
        .unwrap();
    }

    /// `y = x^2` with a deliberately wrong backward (`x` instead of `2x`).
    struct WrongSquare;

    impl crate::CustomOp<f64> for WrongSquare {
        fn name(&self) -> &str {
            "wrong_square"
        }
        fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
            inputs[0].map(|x| x * x)
        }
        fn backward(
            &self,
            inputs: &[&Tensor<f64>],
            _: &Tensor<f64>,
            dy: &Tensor<f64>,
        ) -> Vec<Option<Tensor<f64>>> {
            vec![Some(inputs[0].zip_map(dy, |x, g| x * g))]
        }
    }

    #[test]
    fn rejects_wrong_gradients_and_says_where() {
        let x = t(&[1.0, 2.0], &[2]);
        let err = check_gradients(
            |tape, v| tape.custom(WrongSquare, &[v[0]]),
            std::slice::from_ref(&x),
            &CheckOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.count, 2);
        assert_eq!(err.mismatches[0].entry, (1, 1));
        assert!((err.mismatches[0].analytic - 2.0).abs() < 1e-12);
        assert!((err.mismatches[0].numeric - 4.0).abs() < 1e-6);
        assert!(err.to_string().contains("2 of 4 values differ"));
        assert!(check_gradients(
            |tape, v| tape.custom(WrongSquare, &[v[0]]),
            &[x],
            &CheckOptions::fast(3)
        )
        .is_err());
    }
}
