//! Loss functions on the tape, with PyTorch's default reduction: the mean over the batch.
//!
//! | function          | input                        | value                                          |
//! |-------------------|------------------------------|------------------------------------------------|
//! | [`cross_entropy`] | logits `z: [B, K]`, `y: [B]` | `-(1/B) sum_b log softmax(z_b)[y_b]`           |
//! | [`nll_loss`]      | log-probs `l: [B, K]`, `y`   | `-(1/B) sum_b l[b, y_b]`                       |
//! | [`mse_loss`]      | `p`, `t` of one shape        | `(1/n) sum_i (p_i - t_i)^2` over all elements  |
//!
//! Each returns a scalar [`Var`] (shape `[]`), so `tape.backward(loss)` gives the gradients.
//!
//! Bad arguments (a target out of range, mismatched shapes, an empty batch) are programming
//! errors inside a training loop, so these functions **panic** with a message naming the loss,
//! the offending target or shapes and what was expected. Labels that come from users should be
//! validated where they are loaded; [`crate::train::fit`] and [`crate::train::evaluate`] do so and
//! return an error instead.
//!
//! ```
//! use smoothgrad_autograd::{Tape, Tensor};
//! use smoothgrad_nn::loss::cross_entropy;
//!
//! let tape = Tape::<f64>::new();
//! let logits = tape.var(Tensor::from_vec(vec![0.0, 0.0, 1000.0, 0.0], &[2, 2]).unwrap());
//! let loss = cross_entropy(logits, &[0, 1]);
//! // Row 0: ln 2. Row 1: logsumexp(1000, 0) - 0 = 1000 + ln(1 + e^-1000), without overflow.
//! assert!((loss.item() - (2f64.ln() + 1000.0) / 2.0).abs() < 1e-9);
//! ```

use smoothgrad_autograd::{Scalar, Var};

/// Checks that `scores` is `[B, K]` with `B = targets.len() > 0` and every target `< K`,
/// panicking with a message that names `loss`.
fn check_targets<T: Scalar>(loss: &str, scores: &Var<'_, T>, targets: &[usize]) {
    let shape = scores.shape();
    assert!(
        shape.len() == 2 && shape[0] == targets.len(),
        "{loss}: expected scores [B, K] with B = {} (one row per target), found shape {shape:?}",
        targets.len()
    );
    assert!(
        !targets.is_empty(),
        "{loss}: the batch is empty, so the mean loss is undefined"
    );
    let classes = shape[1];
    if let Some((i, &t)) = targets.iter().enumerate().find(|(_, &t)| t >= classes) {
        panic!(
            "{loss}: target {t} (sample {i}) is out of range for {classes} classes \
             (expected 0..{classes})"
        );
    }
}

/// Cross-entropy of raw scores (logits) against class indices, averaged over the batch:
///
/// `loss = -(1/B) sum_b log softmax(z_b)[y_b] = (1/B) sum_b (logsumexp(z_b) - z_b[y_b])`,
///
/// as PyTorch's `F.cross_entropy(z, y)`. It goes through [`Var::log_softmax`], which subtracts
/// each row's maximum before exponentiating, so large logits neither overflow nor lose the loss
/// to `ln 0`. Gradient: `dz_b = (softmax(z_b) - onehot(y_b)) / B`.
///
/// # Panics
/// If `logits` is not `[targets.len(), K]`, the batch is empty, or a target is `>= K` (the message
/// names the target, its sample and the class count).
pub fn cross_entropy<'t, T: Scalar>(logits: Var<'t, T>, targets: &[usize]) -> Var<'t, T> {
    check_targets("cross_entropy", &logits, targets);
    nll_unchecked(logits.log_softmax(1), targets)
}

/// Negative log-likelihood of log-probabilities (the output of a `logsoftmax` layer) against class
/// indices, averaged over the batch:
///
/// `loss = -(1/B) sum_b l[b, y_b]`,
///
/// as PyTorch's `F.nll_loss(l, y)`; `nll_loss(z.log_softmax(1), y) == cross_entropy(z, y)`.
/// Gradient: `dl[b, k] = -[k = y_b] / B`.
///
/// # Panics
/// As [`cross_entropy`].
pub fn nll_loss<'t, T: Scalar>(log_probs: Var<'t, T>, targets: &[usize]) -> Var<'t, T> {
    check_targets("nll_loss", &log_probs, targets);
    nll_unchecked(log_probs, targets)
}

/// `-mean_b l[b, y_b]` for already validated arguments.
fn nll_unchecked<'t, T: Scalar>(log_probs: Var<'t, T>, targets: &[usize]) -> Var<'t, T> {
    -log_probs.pick(targets).mean()
}

/// Mean squared error over all elements:
///
/// `loss = (1/n) sum_i (p_i - t_i)^2`,
///
/// as PyTorch's `F.mse_loss(p, t)`. Gradient: `dp = 2 (p - t) / n` (and `-dp` for `t`, if it is a
/// variable). The shapes must match exactly: PyTorch only warns when they broadcast, which is
/// almost always a bug (`[B]` against `[B, 1]` silently becomes `[B, B]`), so here it is an error.
///
/// # Panics
/// If the shapes differ or are empty.
pub fn mse_loss<'t, T: Scalar>(pred: Var<'t, T>, target: Var<'t, T>) -> Var<'t, T> {
    let (ps, ts) = (pred.shape(), target.shape());
    assert_eq!(
        ps, ts,
        "mse_loss: prediction shape {ps:?} differs from target shape {ts:?}"
    );
    assert!(
        pred.numel() > 0,
        "mse_loss: the input of shape {ps:?} is empty, so the mean is undefined"
    );
    (pred - target).square().mean()
}

#[cfg(test)]
mod tests {
    use smoothgrad_autograd::{Tape, Tensor};

    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_slice(data, shape).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn cross_entropy_matches_the_formula_and_its_gradient() {
        let z = [1.0, 2.0, 0.5, -1.0, 0.0, 3.0];
        let y = [1, 2];
        let tape = Tape::new();
        let logits = tape.var(t(&z, &[2, 3]));
        let loss = cross_entropy(logits, &y);
        assert_eq!(loss.shape(), Vec::<usize>::new());
        let mut expected = 0.0;
        let mut grad = vec![0.0; 6];
        for b in 0..2 {
            let row = &z[b * 3..b * 3 + 3];
            let lse = row.iter().map(|v: &f64| v.exp()).sum::<f64>().ln();
            expected += (lse - row[y[b]]) / 2.0;
            for k in 0..3 {
                let p = (row[k] - lse).exp();
                grad[b * 3 + k] = (p - f64::from(u8::from(k == y[b]))) / 2.0;
            }
        }
        close(loss.item(), expected);
        let g = tape.backward(loss).wrt(logits);
        for (a, b) in g.data().iter().zip(&grad) {
            close(*a, *b);
        }
    }

    #[test]
    fn cross_entropy_is_stable_for_huge_logits() {
        let tape = Tape::<f32>::new();
        let logits = tape.var(Tensor::from_vec(vec![1e4, -1e4, 0.0, 1e4], &[2, 2]).unwrap());
        let loss = cross_entropy(logits, &[0, 0]);
        // Row 0 is certain (loss 0); row 1 costs 1e4.
        assert!((loss.item() - 5e3).abs() < 1e-2, "{}", loss.item());
        let g = tape.backward(loss).wrt(logits);
        assert!(g.data().iter().all(|v| v.is_finite()));
        assert_eq!(g.data(), &[0.0, 0.0, -0.5, 0.5]);
    }

    #[test]
    fn nll_of_log_softmax_equals_cross_entropy() {
        let tape = Tape::new();
        let z = tape.var(t(&[0.3, -0.2, 1.5, 0.0, 2.0, -1.0], &[3, 2]));
        let a = cross_entropy(z, &[0, 1, 1]).item();
        let b = nll_loss(z.log_softmax(1), &[0, 1, 1]).item();
        close(a, b);
        let l = tape.var(t(&[-0.1, -2.0, -3.0, -0.5], &[2, 2]));
        close(nll_loss(l, &[0, 1]).item(), (0.1 + 0.5) / 2.0);
    }

    #[test]
    fn mse_is_the_mean_of_squares_with_gradient() {
        let tape = Tape::new();
        let p = tape.var(t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
        let q = tape.constant(t(&[0.0, 2.0, 5.0, 3.0], &[2, 2]));
        let loss = mse_loss(p, q);
        close(loss.item(), (1.0 + 0.0 + 4.0 + 1.0) / 4.0);
        let g = tape.backward(loss).wrt(p);
        assert_eq!(g.data(), &[0.5, 0.0, -1.0, 0.5]);
    }

    #[test]
    #[should_panic(expected = "cross_entropy: target 3 (sample 1) is out of range for 3 classes")]
    fn out_of_range_target_panics_with_names() {
        let tape = Tape::<f32>::new();
        cross_entropy(tape.var(Tensor::zeros(&[2, 3])), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "nll_loss: expected scores [B, K] with B = 3")]
    fn target_count_must_match_the_batch() {
        let tape = Tape::<f32>::new();
        nll_loss(tape.var(Tensor::zeros(&[2, 3])), &[0, 1, 2]);
    }

    #[test]
    #[should_panic(expected = "mse_loss: prediction shape [2] differs from target shape [2, 1]")]
    fn mse_rejects_broadcasting() {
        let tape = Tape::<f32>::new();
        mse_loss(
            tape.var(Tensor::zeros(&[2])),
            tape.constant(Tensor::zeros(&[2, 1])),
        );
    }
}
