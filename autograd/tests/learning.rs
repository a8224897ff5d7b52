//! Small learning problems end to end: a micrograd-style scalar expression, and a two-layer MLP
//! that learns XOR with plain SGD.

use smoothgrad_autograd::{Tape, Tensor};

#[test]
fn micrograd_scalar_example() {
    // micrograd's README example, in scalars (shape []).
    let tape = Tape::<f64>::new();
    let s = |v: f64| tape.var(Tensor::scalar(v));
    let (a, b) = (s(-4.0), s(2.0));
    let mut c = a + b;
    let mut d = a * b + b.powf(3.0);
    c = c + c + 1.0;
    c = c + 1.0 + c + (-a);
    d = d + d * 2.0 + (b + a).relu();
    d = d + 3.0 * d + (b - a).relu();
    let e = c - d;
    let f = e.square();
    let mut g = f / 2.0;
    g = g + 10.0 / f;
    assert!(
        (g.item() - 24.704_081_632_653_06).abs() < 1e-12,
        "{}",
        g.item()
    );
    let grads = tape.backward(g);
    assert!((grads.wrt(a).item() - 138.833_819_241_982_5).abs() < 1e-9);
    assert!((grads.wrt(b).item() - 645.577_259_475_218_7).abs() < 1e-9);
}

#[test]
fn mlp_learns_xor_with_sgd() {
    let x = Tensor::<f32>::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let targets = [0usize, 1, 1, 0];
    let mut w1 = Tensor::<f32>::randn_seeded(&[8, 2], 0).map(|v| v * 0.8);
    let mut b1 = Tensor::<f32>::zeros(&[8]);
    let mut w2 = Tensor::<f32>::randn_seeded(&[2, 8], 1).map(|v| v * 0.5);
    let mut b2 = Tensor::<f32>::zeros(&[2]);
    let lr = 0.5;
    let step = |p: &Tensor<f32>, g: &Tensor<f32>| p.zip_map(g, |p, g| p - lr * g);
    let mut loss = f32::INFINITY;
    for _ in 0..500 {
        let tape = Tape::new();
        let (vw1, vb1, vw2, vb2) = (
            tape.var(w1.clone()),
            tape.var(b1.clone()),
            tape.var(w2.clone()),
            tape.var(b2.clone()),
        );
        let h = (tape.constant(x.clone()).matmul_t(vw1) + vb1).tanh();
        let logits = h.matmul_t(vw2) + vb2;
        let l = -logits.log_softmax(1).pick(&targets).mean();
        loss = l.item();
        let g = tape.backward(l);
        w1 = step(&w1, &g.wrt(vw1));
        b1 = step(&b1, &g.wrt(vb1));
        w2 = step(&w2, &g.wrt(vw2));
        b2 = step(&b2, &g.wrt(vb2));
    }
    let tape = Tape::new();
    let h = (tape.constant(x).matmul_t(tape.constant(w1)) + tape.constant(b1)).tanh();
    let logits = (h.matmul_t(tape.constant(w2)) + tape.constant(b2)).value();
    let predicted: Vec<usize> = (0..4)
        .map(|i| usize::from(logits.data()[2 * i + 1] > logits.data()[2 * i]))
        .collect();
    assert_eq!(predicted, targets, "loss {loss}");
    assert!(loss < 0.05, "loss {loss}");
}
