//! Cutting the model before its softmax, or at an explicit layer.

use super::*;

/// `linear, relu, linear` with fixed weights, followed by `tail`.
fn with_tail(tail: &[&str]) -> Sequential<f64> {
    let (w1, b1) = (
        Tensor::<f64>::randn_seeded(&[6, 4], 30),
        Tensor::<f64>::randn_seeded(&[6], 31),
    );
    let (w2, b2) = (
        Tensor::<f64>::randn_seeded(&[3, 6], 32),
        Tensor::<f64>::randn_seeded(&[3], 33),
    );
    let mut s = Sequential::new()
        .with(linear(&w1, &b1))
        .with(nn::ReLU)
        .with(linear(&w2, &b2));
    for t in tail {
        match *t {
            "softmax" => s.push(nn::Softmax::default()),
            "logsoftmax" => s.push(nn::LogSoftmax::default()),
            "tanh" => s.push(nn::Tanh),
            _ => unreachable!(),
        }
    }
    s
}

#[test]
fn cut_before_softmax_explains_the_logits() {
    let logits = with_tail(&[]);
    let inputs = Tensor::<f64>::randn_seeded(&[4, 4], 34);
    let sg = SmoothGrad {
        samples: 8,
        ..SmoothGrad::default()
    };
    let reference = sg
        .explain(&logits, &inputs, &Targets::Predicted, &Operator::Logit)
        .unwrap();
    let gradient = Gradient
        .explain(
            &logits,
            &inputs,
            &Targets::Classes(vec![0, 1, 2, 0]),
            &Operator::Logit,
            3,
        )
        .unwrap();
    for tail in [
        &["softmax"][..],
        &["logsoftmax"],
        &["softmax", "logsoftmax"],
    ] {
        let full = with_tail(tail);
        let cut = Cut::before_softmax(&full);
        assert_eq!(cut.len(), 3, "{tail:?}");
        assert!(!cut.is_empty());
        assert_eq!(
            sg.explain(&cut, &inputs, &Targets::Predicted, &Operator::Logit)
                .unwrap(),
            reference,
            "{tail:?}"
        );
        assert_eq!(
            Gradient
                .explain(
                    &cut,
                    &inputs,
                    &Targets::Classes(vec![0, 1, 2, 0]),
                    &Operator::Logit,
                    3
                )
                .unwrap(),
            gradient,
            "{tail:?}"
        );
    }
    // Nothing to cut: the whole model; a softmax that is not last stays.
    assert_eq!(Cut::before_softmax(&logits).len(), 3);
    let inner = with_tail(&["softmax", "tanh"]);
    assert_eq!(Cut::before_softmax(&inner).len(), 5);
}

/// Explaining the logit of a softmax model is explaining the probability of the cut model.
#[test]
fn logit_of_a_softmax_model_is_probability_of_its_cut() {
    let full = with_tail(&["softmax"]);
    let cut = Cut::before_softmax(&full);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 4], 35);
    let t = Targets::Classes(vec![2, 0, 1]);
    let a = Gradient
        .explain(&full, &inputs, &t, &Operator::Logit, 3)
        .unwrap()
        .values;
    let b = Gradient
        .explain(&cut, &inputs, &t, &Operator::Probability, 3)
        .unwrap()
        .values;
    assert_close(
        a.data(),
        b.data(),
        1e-12,
        1e-15,
        "softmax model vs probability of the cut",
    );
}

#[test]
fn cut_at_an_explicit_layer() {
    let full = with_tail(&["softmax"]);
    let hidden = Cut::new(&full, 2).unwrap();
    assert_eq!(hidden.len(), 2);
    // The cut model's outputs are the 6 hidden units: explain unit 5.
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 36);
    let a = Gradient
        .explain(
            &hidden,
            &inputs,
            &Targets::Classes(vec![5, 5]),
            &Operator::Logit,
            2,
        )
        .unwrap()
        .values;
    for n in 0..2 {
        let g = tape_gradient(&hidden, &row(&inputs, n), |o| o.pick(&[5]));
        assert_eq!(&a.data()[n * 4..(n + 1) * 4], g.data());
    }
    assert!(Cut::new(&full, 0).unwrap().is_empty());
    let err = Cut::new(&full, 5).err().unwrap();
    assert_eq!(err, "cannot cut before layer 5: the model has 4 layers");
}
