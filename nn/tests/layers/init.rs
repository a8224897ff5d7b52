//! Default initialisation, and the constructors' checks.

use super::*;

/// The largest `|w|` of a tensor.
fn max_abs(t: &Tensor<f64>) -> f64 {
    t.data().iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn default_init_is_pytorchs_uniform_within_one_over_sqrt_fan_in() {
    let cases: Vec<(Box<dyn Module<f64>>, f64)> = vec![
        (
            Box::new(Linear::<f64>::new(100, 64, true, &mut rng(1))),
            100.0,
        ),
        (
            Box::new(Linear::<f64>::new(784, 32, true, &mut rng(2))),
            784.0,
        ),
        // fan_in = in_channels * kH * kW.
        (
            Box::new(conv(3, 64, [3, 5], Conv2dOptions::default(), true, 3)),
            45.0,
        ),
        // With groups, fan_in counts the channels of one group: 8 / 4 * 3 * 3.
        (
            Box::new(conv(
                8,
                64,
                [3, 3],
                Conv2dOptions::default().groups(4),
                true,
                4,
            )),
            18.0,
        ),
    ];
    for (layer, fan_in) in &cases {
        let bound = 1.0 / f64::sqrt(*fan_in);
        layer.visit_state(&mut |name, _, t| {
            let m = max_abs(t);
            assert!(m <= bound, "{layer} {name}: max |w| {m} > bound {bound}");
            if t.numel() >= 64 {
                // Uniform over the whole interval: close to the bound, mean near 0.
                assert!(
                    m > 0.9 * bound,
                    "{layer} {name}: max |w| {m} far below {bound}"
                );
                let mean = t.data().iter().sum::<f64>() / t.numel() as f64;
                assert!(mean.abs() < 0.2 * bound, "{layer} {name}: mean {mean}");
            }
        });
    }
    // The same seed gives the same weights; another seed others.
    let a = Linear::<f64>::new(10, 5, true, &mut rng(7));
    let b = Linear::<f64>::new(10, 5, true, &mut rng(7));
    let c = Linear::<f64>::new(10, 5, true, &mut rng(8));
    assert_eq!(a.weight, b.weight);
    assert_eq!(a.bias, b.bias);
    assert_ne!(a.weight, c.weight);
}

#[test]
fn constructors_reject_impossible_settings() {
    let d = Conv2dOptions::default;
    let bad_convs = [
        (3, 8, [3, 3], d().groups(2)),
        (4, 6, [3, 3], d().groups(4)),
        (0, 8, [3, 3], d()),
        (3, 8, [0, 3], d()),
        (3, 8, [3, 3], d().stride(0)),
        (3, 8, [3, 3], d().dilation(0)),
    ];
    for (cin, cout, k, opts) in bad_convs {
        let r = Conv2d::<f64>::new(cin, cout, k, opts, true, &mut rng(0));
        assert!(
            matches!(r, Err(NnError::Config(_))),
            "{cin} {cout} {k:?} {opts:?}"
        );
    }
    // PyTorch: "pad should be at most half of effective kernel size".
    assert!(matches!(
        MaxPool2d::new(Pool2dOptions::new(2).padding(2)),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        AvgPool2d::new(Pool2dOptions::new(3).padding(2)),
        Err(NnError::Config(_))
    ));
    assert!(MaxPool2d::new(Pool2dOptions::new(2).padding(1)).is_ok());
    assert!(matches!(
        MaxPool2d::new(Pool2dOptions::new(0)),
        Err(NnError::Config(_))
    ));
    assert!(matches!(Dropout::new(-0.1), Err(NnError::Config(_))));
    assert!(matches!(Dropout::new(f64::NAN), Err(NnError::Config(_))));
    assert!(matches!(
        BatchNorm2d::<f64>::new(0, 1e-5, 0.1, true),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        BatchNorm2d::<f64>::new(4, 0.0, 0.1, true),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        BatchNorm2d::<f64>::new(4, 1e-5, 1.5, true),
        Err(NnError::Config(_))
    ));
    let w = Tensor::<f64>::zeros(&[3, 2]);
    assert!(matches!(
        Linear::from_weights(w.clone(), Some(Tensor::zeros(&[2]))),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        Linear::from_weights(Tensor::<f64>::zeros(&[6]), None),
        Err(NnError::Config(_))
    ));
    let lin = Linear::from_weights(w, Some(Tensor::zeros(&[3]))).unwrap();
    assert_eq!((lin.in_features(), lin.out_features()), (2, 3));
}
