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
        .with(smoothgrad_nn::ReLU)
        .with(linear(&w2, &b2));
    for t in tail {
        match *t {
            "softmax" => s.push(smoothgrad_nn::Softmax::default()),
            "logsoftmax" => s.push(smoothgrad_nn::LogSoftmax::default()),
            "tanh" => s.push(smoothgrad_nn::Tanh),
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

/// [`with_tail`]`(&["softmax"])` as a graph, node names `fc1`, `act`, `fc2`, `softmax`.
fn graph_with_softmax() -> smoothgrad_nn::Graph<f64> {
    let full = with_tail(&["softmax"]);
    let mut g = smoothgrad_nn::GraphBuilder::<f64>::new();
    let mut v = g.input();
    let names = ["fc1", "act", "fc2", "softmax"];
    for (name, layer) in names.iter().zip(full.into_layers()) {
        v = g.module_boxed(name, layer, v);
    }
    g.finish(v).unwrap()
}

#[test]
fn a_graph_is_cut_at_the_input_of_its_softmax_or_at_a_named_node() {
    let chain = with_tail(&["softmax"]);
    let graph = graph_with_softmax();
    let inputs = Tensor::<f64>::randn_seeded(&[4, 4], 37);
    let sg = SmoothGrad {
        samples: 8,
        ..SmoothGrad::default()
    };
    let explain = |m: &dyn Model<f64>| {
        sg.explain(m, &inputs, &Targets::Predicted, &Operator::Logit)
            .unwrap()
    };
    let reference = explain(&Cut::before_softmax(&chain));
    let logits = Cut::before_softmax(&graph);
    assert_eq!(logits.len(), 3);
    assert_eq!(explain(&logits), reference);
    let named = Cut::node(&graph, "fc2").unwrap();
    assert_eq!(named.len(), 3);
    assert_eq!(explain(&named), reference);
    // The whole graph is the whole chain; a boxed module is cut as what it is.
    assert_eq!(explain(&graph), explain(&chain));
    let boxed: Box<dyn smoothgrad_nn::Module<f64>> = Box::new(graph_with_softmax());
    assert_eq!(explain(&Cut::before_softmax(&*boxed)), reference);
    assert_eq!(explain(&boxed), explain(&chain));
    // A hidden node: its 6 units.
    let hidden = Cut::node(&graph, "act").unwrap();
    assert_eq!(hidden.output_shape(&[2, 4]).unwrap(), vec![2, 6]);
    assert_eq!(
        Gradient
            .explain(
                &hidden,
                &inputs,
                &Targets::Classes(vec![5; 4]),
                &Operator::Logit,
                4
            )
            .unwrap(),
        Gradient
            .explain(
                &Cut::new(&chain, 2).unwrap(),
                &inputs,
                &Targets::Classes(vec![5; 4]),
                &Operator::Logit,
                4
            )
            .unwrap()
    );
    let err = Cut::node(&graph, "fc3").err().unwrap();
    assert_eq!(
        err,
        "the graph has no node named \"fc3\" (its nodes: \"input\", \"fc1\", \"act\", \"fc2\", \
         \"softmax\")"
    );
}

#[test]
fn the_cut_is_a_property_of_the_layer_not_of_its_name() {
    /// A softmax that does not say it normalizes: the cut keeps it.
    struct Opaque;
    impl smoothgrad_nn::Module<f64> for Opaque {
        fn forward<'t>(
            &self,
            x: Var<'t, f64>,
            cx: &mut smoothgrad_nn::Context<'t, f64>,
        ) -> Var<'t, f64> {
            smoothgrad_nn::Module::<f64>::forward(&smoothgrad_nn::Softmax::default(), x, cx)
        }
        fn output_shape(&self, input: &[usize]) -> smoothgrad_nn::Result<Vec<usize>> {
            Ok(input.to_vec())
        }
        fn spec(&self) -> Option<String> {
            Some("softmax(dim=1)".to_string())
        }
    }
    let mut model = with_tail(&[]);
    model.push(Opaque);
    assert_eq!(Cut::before_softmax(&model).len(), 4);
    model.push(smoothgrad_nn::LogSoftmax::default());
    assert_eq!(Cut::before_softmax(&model).len(), 4);
}
