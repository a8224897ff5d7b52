//! What the two kinds of `Context` differentiate, and `forward_range`.

use super::*;

#[test]
fn inference_context_binds_parameters_as_constants_and_gives_them_no_gradient() {
    let model = pytorch_order_model();
    let tape = Tape::new();
    let x = tape.var(Tensor::randn_seeded(&[2, 1, 4, 4], 3));
    let mut cx = Context::inference(&tape);
    let y = model.forward(x, &mut cx);
    let grads = tape.backward(y.sum());
    let names: Vec<&str> = cx.bound().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    for (name, var) in cx.bound() {
        assert!(!var.requires_grad(), "{name} is a variable");
        assert!(grads.get(*var).is_none(), "{name} received a gradient");
    }
    // The input still gets its gradient.
    let gx = grads.get(x).expect("input gradient");
    assert_eq!(gx.shape(), [2, 1, 4, 4]);
    assert!(gx.data().iter().any(|g| *g != 0.0));
}

#[test]
fn training_context_gives_every_parameter_a_gradient_under_its_state_dict_name() {
    let mut model = pytorch_order_model();
    model.set_training(true);
    let tape = Tape::new();
    let x = tape.constant(Tensor::randn_seeded(&[2, 1, 4, 4], 3));
    let mut cx = Context::training(&tape, 0);
    let y = model.forward(x, &mut cx);
    // Weighted so that the batch norm's parameters get a non-zero gradient.
    let u = tape.constant(Tensor::randn_seeded(&[2, 3], 4));
    let grads = tape.backward((y * u).sum());
    assert!(grads.get(x).is_none(), "a constant input gets no gradient");
    let state = model.state_dict();
    let params: Vec<&(String, StateKind, Tensor<f64>)> = state
        .iter()
        .filter(|(_, k, _)| *k == StateKind::Parameter)
        .collect();
    assert_eq!(cx.bound().len(), params.len());
    for ((name, var), (state_name, _, value)) in cx.bound().iter().zip(params) {
        assert_eq!(name, state_name);
        assert!(var.requires_grad(), "{name}");
        let g = grads
            .get(*var)
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert_eq!(g.shape(), value.shape(), "{name}");
        assert!(
            g.data().iter().any(|v| *v != 0.0),
            "{name}: gradient is all zeros"
        );
    }
    // The linear bias's gradient is the cotangent summed over the batch.
    let gb = grads.get(cx.bound()[5].1).unwrap();
    let u = Tensor::<f64>::randn_seeded(&[2, 3], 4);
    let expected: Vec<f64> = (0..3).map(|j| u.data()[j] + u.data()[3 + j]).collect();
    assert_close(gb.data(), &expected, 1e-12);
}

#[test]
fn forward_range_equals_the_first_layers_applied_in_turn() {
    let mut model = pytorch_order_model();
    // Non-trivial running statistics so that the batch norm is not the identity.
    model.visit_state_mut(&mut |name, _, t| {
        if name == "2.running_mean" {
            *t = Tensor::from_slice(&[0.1, -0.2, 0.3, 0.0], &[4]).unwrap();
        }
    });
    let x = Tensor::<f64>::randn_seeded(&[2, 1, 4, 4], 5);
    let mut expected = x.clone();
    for k in 0..=model.len() {
        let tape = Tape::new();
        let mut cx = Context::inference(&tape);
        let y = model
            .forward_range(tape.constant(x.clone()), &mut cx, 0..k)
            .value();
        assert_eq!(y, expected, "forward_range(0..{k})");
        assert_eq!(
            y.shape(),
            model.output_shape_range(x.shape(), 0..k).unwrap()
        );
        // The rest of the model from there gives the whole model's output.
        let rest = model
            .forward_range(tape.constant(y.clone()), &mut cx, k..model.len())
            .value();
        assert_eq!(rest, run(&model, &x), "forward_range({k}..)");
        if k < model.len() {
            expected = run(model.layers()[k].as_ref(), &expected);
        }
    }
    assert_eq!(
        model.forward_range_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
}

/// The names `forward_range(0..3)` binds: those of the first three layers, prefixed by index.
trait RangeNames {
    fn forward_range_names(&self) -> Vec<String>;
}

impl RangeNames for Sequential<f64> {
    fn forward_range_names(&self) -> Vec<String> {
        let tape = Tape::new();
        let mut cx = Context::inference(&tape);
        self.forward_range(tape.constant(Tensor::zeros(&[1, 1, 4, 4])), &mut cx, 0..3);
        cx.bound().iter().map(|(n, _)| n.clone()).collect()
    }
}

#[test]
fn context_names_parameters_with_scopes() {
    let tape = Tape::<f64>::new();
    let mut cx = Context::training(&tape, 0);
    assert_eq!(cx.full_name("weight"), "weight");
    cx.scoped("3", |cx| {
        assert_eq!(cx.full_name("bias"), "3.bias");
        cx.scoped("1", |cx| {
            cx.param("weight", &Tensor::zeros(&[1]));
        });
    });
    assert_eq!(cx.full_name("weight"), "weight");
    assert_eq!(cx.bound()[0].0, "3.1.weight");
    // Nested Sequentials name as PyTorch's: "1.0.weight".
    let inner = Sequential::new().with(Linear::<f64>::new(2, 2, true, &mut rng(0)));
    let outer = Sequential::new().with(ReLU).with(inner);
    let names: Vec<String> = outer.state_dict().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["1.0.weight", "1.0.bias"]);
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    outer.forward(tape.constant(Tensor::zeros(&[1, 2])), &mut cx);
    let bound: Vec<&str> = cx.bound().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(bound, ["1.0.weight", "1.0.bias"]);
}
