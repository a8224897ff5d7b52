//! `Dropout`: the masks, their seed, and the identity in eval.

use super::*;

#[test]
fn dropout_training_zeroes_about_p_and_scales_the_rest() {
    for p in [0.2, 0.5, 0.8] {
        let mut layer = Dropout::new(p).unwrap();
        Module::<f64>::set_training(&mut layer, true);
        assert!(Module::<f64>::is_training(&layer));
        let x = Tensor::from_fn(&[4, 5000], |i| 1.0 + (i % 13) as f64);
        let tape = Tape::new();
        let y = layer
            .forward(tape.constant(x.clone()), &mut Context::training(&tape, 42))
            .value();
        let mut zeros = 0;
        for (yi, xi) in y.data().iter().zip(x.data()) {
            if *yi == 0.0 {
                zeros += 1;
            } else {
                assert!((yi - xi / (1.0 - p)).abs() < 1e-12, "p {p}: {yi} from {xi}");
            }
        }
        let frac = zeros as f64 / x.numel() as f64;
        // 20000 draws: the standard error is at most 0.0036; allow 5 of them.
        assert!((frac - p).abs() < 0.018, "p {p}: dropped fraction {frac}");
        // The expectation is kept: the mean of y is close to the mean of x.
        let (my, mx) = (
            y.data().iter().sum::<f64>() / y.numel() as f64,
            x.data().iter().sum::<f64>() / x.numel() as f64,
        );
        assert!((my - mx).abs() < 0.1 * mx, "p {p}: mean {my} vs {mx}");
    }
}

#[test]
fn dropout_masks_depend_on_the_context_seed_only() {
    let mut layer = Dropout::new(0.5).unwrap();
    Module::<f64>::set_training(&mut layer, true);
    let x = Tensor::<f64>::ones(&[64]);
    let mask = |seed: u64| {
        let tape = Tape::new();
        layer
            .forward(
                tape.constant(x.clone()),
                &mut Context::training(&tape, seed),
            )
            .value()
    };
    assert_eq!(mask(1), mask(1));
    assert_ne!(mask(1), mask(2));
    // Inference contexts use a fixed seed too: dropout still runs in training mode (as PyTorch's
    // module mode decides, not the context) and is reproducible.
    let inf = |_: ()| {
        let tape = Tape::new();
        layer
            .forward(tape.constant(x.clone()), &mut Context::inference(&tape))
            .value()
    };
    assert_eq!(inf(()), inf(()));
    // The gradient is the mask: a constant, scaled by 1 / (1 - p).
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = layer.forward(xv, &mut Context::training(&tape, 1));
    let g = tape.backward(y.sum()).wrt(xv);
    assert_eq!(g.to_vec(), mask(1).to_vec());
}

#[test]
fn dropout_eval_and_p_zero_are_the_identity() {
    let x = Tensor::<f64>::randn_seeded(&[3, 4, 5], 9);
    let layer = Dropout::new(0.9).unwrap();
    let tape = Tape::new();
    let y = layer
        .forward(tape.constant(x.clone()), &mut Context::training(&tape, 0))
        .value();
    assert_eq!(y, x);
    let mut zero = Dropout::new(0.0).unwrap();
    Module::<f64>::set_training(&mut zero, true);
    assert_eq!(run(&zero, &x), x);
}
