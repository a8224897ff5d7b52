//! `BatchNorm2d`: batch statistics in training, running statistics in eval.

use super::*;

/// `[N=2, C=2, H=1, W=2]`: channel 0 holds 1, 2, 3, 6 (mean 3, biased variance 3.5, unbiased
/// 14/3), channel 1 holds 0, 0, 2, 2 (mean 1, biased variance 1, unbiased 4/3).
fn bn_batch() -> Tensor<f64> {
    t(&[1.0, 2.0, 0.0, 0.0, 3.0, 6.0, 2.0, 2.0], &[2, 2, 1, 2])
}

/// The elements of channel `c` of an `[N, C, H, W]` tensor.
fn channel(x: &Tensor<f64>, c: usize) -> Vec<f64> {
    let s = x.shape();
    let hw = s[2] * s[3];
    (0..s[0])
        .flat_map(|n| x.data()[(n * s[1] + c) * hw..(n * s[1] + c + 1) * hw].to_vec())
        .collect()
}

#[test]
fn batchnorm2d_training_normalizes_each_channel_with_batch_statistics() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, true).unwrap();
    assert!(!bn.is_training(), "starts in evaluation mode");
    bn.set_training(true);
    assert!(bn.is_training());
    let y = run(&bn, &bn_batch());
    let s0 = (3.5f64 + 1e-5).sqrt();
    let s1 = (1.0f64 + 1e-5).sqrt();
    assert_close(
        &channel(&y, 0),
        &[-2.0 / s0, -1.0 / s0, 0.0, 3.0 / s0],
        1e-12,
    );
    assert_close(
        &channel(&y, 1),
        &[-1.0 / s1, -1.0 / s1, 1.0 / s1, 1.0 / s1],
        1e-12,
    );
    // Mean 0 and (biased) variance var / (var + eps) ~ 1 per channel.
    for (c, var) in [(0, 3.5), (1, 1.0)] {
        let v = channel(&y, c);
        let mean = v.iter().sum::<f64>() / 4.0;
        let biased = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-12, "channel {c}: mean {mean}");
        assert!(
            (biased - var / (var + 1e-5)).abs() < 1e-12,
            "channel {c}: variance {biased}"
        );
    }

    // With an affine transform: y * weight + bias per channel.
    bn.visit_state_mut(&mut |name, _, t| match name {
        "weight" => *t = Tensor::from_slice(&[2.0, -1.0], &[2]).unwrap(),
        "bias" => *t = Tensor::from_slice(&[0.5, 3.0], &[2]).unwrap(),
        _ => {}
    });
    let y = run(&bn, &bn_batch());
    assert_close(
        &channel(&y, 0),
        &[-4.0 / s0 + 0.5, -2.0 / s0 + 0.5, 0.5, 6.0 / s0 + 0.5],
        1e-12,
    );
    assert_close(
        &channel(&y, 1),
        &[
            1.0 / s1 + 3.0,
            1.0 / s1 + 3.0,
            3.0 - 1.0 / s1,
            3.0 - 1.0 / s1,
        ],
        1e-12,
    );
}

#[test]
fn batchnorm2d_running_statistics_move_by_momentum_with_unbiased_variance() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, true).unwrap();
    bn.set_training(true);
    run(&bn, &bn_batch());
    let (mean, var) = bn.running_stats();
    // 0.9 * init + 0.1 * batch; init mean 0, variance 1; unbiased variance (n / (n - 1)).
    assert_close(mean.data(), &[0.1 * 3.0, 0.1 * 1.0], 1e-12);
    assert_close(
        var.data(),
        &[0.9 + 0.1 * 14.0 / 3.0, 0.9 + 0.1 * 4.0 / 3.0],
        1e-12,
    );
    let batches = bn.state_dict_value("num_batches_tracked");
    assert_eq!(batches.to_vec(), [1.0]);
    assert_eq!(batches.shape(), [] as [usize; 0]);

    // A second batch moves them again, from where they are.
    let x2 = t(&[0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0, 3.0], &[2, 2, 1, 2]);
    // Channel 0: 0, 0, 2, 2 -> mean 1, unbiased 4/3; channel 1: 1, 1, 1, 3 -> mean 1.5,
    // unbiased 1.
    run(&bn, &x2);
    let (mean2, var2) = bn.running_stats();
    assert_close(
        mean2.data(),
        &[0.9 * 0.3 + 0.1 * 1.0, 0.9 * 0.1 + 0.1 * 1.5],
        1e-12,
    );
    assert_close(
        var2.data(),
        &[
            0.9 * var.data()[0] + 0.1 * 4.0 / 3.0,
            0.9 * var.data()[1] + 0.1 * 1.0,
        ],
        1e-12,
    );
    assert_eq!(bn.state_dict_value("num_batches_tracked").to_vec(), [2.0]);

    // Another momentum: 0.5.
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.5, false).unwrap();
    bn.set_training(true);
    run(&bn, &bn_batch());
    let (mean, var) = bn.running_stats();
    assert_close(mean.data(), &[1.5, 0.5], 1e-12);
    assert_close(
        var.data(),
        &[0.5 + 0.5 * 14.0 / 3.0, 0.5 + 0.5 * 4.0 / 3.0],
        1e-12,
    );
}

/// A small extension to read one named state tensor.
trait StateValue {
    fn state_dict_value(&self, name: &str) -> Tensor<f64>;
}

impl<M: Module<f64>> StateValue for M {
    fn state_dict_value(&self, name: &str) -> Tensor<f64> {
        let mut found = None;
        self.visit_state(&mut |n, _, t| {
            if n == name {
                found = Some(t.clone());
            }
        });
        found.unwrap_or_else(|| panic!("no state named {name}"))
    }
}

#[test]
fn batchnorm2d_eval_uses_running_statistics_and_leaves_them() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-3, 0.1, true).unwrap();
    bn.visit_state_mut(&mut |name, _, t| {
        let v: &[f64] = match name {
            "weight" => &[2.0, 0.5],
            "bias" => &[1.0, -1.0],
            "running_mean" => &[1.0, -2.0],
            "running_var" => &[4.0, 0.25],
            _ => return,
        };
        *t = Tensor::from_slice(v, &[2]).unwrap();
    });
    let x = bn_batch();
    let y = run(&bn, &x);
    let (s0, s1) = ((4.0f64 + 1e-3).sqrt(), (0.25f64 + 1e-3).sqrt());
    let e0: Vec<f64> = channel(&x, 0)
        .iter()
        .map(|v| (v - 1.0) / s0 * 2.0 + 1.0)
        .collect();
    let e1: Vec<f64> = channel(&x, 1)
        .iter()
        .map(|v| (v + 2.0) / s1 * 0.5 - 1.0)
        .collect();
    assert_close(&channel(&y, 0), &e0, 1e-12);
    assert_close(&channel(&y, 1), &e1, 1e-12);
    let (mean, var) = bn.running_stats();
    assert_eq!(mean.to_vec(), [1.0, -2.0]);
    assert_eq!(var.to_vec(), [4.0, 0.25]);
    assert_eq!(bn.state_dict_value("num_batches_tracked").to_vec(), [0.0]);
    // Training then evaluation on a Sequential switches every layer.
    let mut model = Sequential::new().with(bn).with(Dropout::new(0.5).unwrap());
    assert!(!model.is_training());
    model.set_training(true);
    assert!(model.is_training());
    model.set_training(false);
    assert!(!model.is_training());
    assert_close(run(&model, &x).data(), y.data(), 0.0);
}

#[test]
fn batchnorm2d_training_rejects_one_value_per_channel() {
    let mut bn = BatchNorm2d::<f64>::new(3, 1e-5, 0.1, true).unwrap();
    bn.set_training(true);
    let err = bn.output_shape(&[1, 3, 1, 1]).unwrap_err();
    assert!(matches!(err, NnError::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("batchnorm2d(3)"), "{err}");
    assert!(err.to_string().contains("[1, 3, 1, 1]"), "{err}");
    // Two values per channel are enough, in any axis; evaluation takes one.
    assert!(bn.output_shape(&[2, 3, 1, 1]).is_ok());
    assert!(bn.output_shape(&[1, 3, 1, 2]).is_ok());
    bn.set_training(false);
    assert!(bn.output_shape(&[1, 3, 1, 1]).is_ok());
}
