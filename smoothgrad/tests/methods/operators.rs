//! Operators, against closed forms on a linear model `z = W x + b` and finite differences.

use super::*;

/// `p = softmax(z)`: `dp_c/dx = p_c (W_c - sum_k p_k W_k)`, `d log p_c/dx = W_c - sum_k p_k W_k`,
/// `dz_k/dx = W_k`, and for the custom score `z_t z_{t+1}`: `z_{t+1} W_t + z_t W_{t+1}`.
#[test]
fn operators_match_closed_forms_on_a_linear_model() {
    let (k, d) = (4usize, 3usize);
    let w = Tensor::<f64>::randn_seeded(&[k, d], 20);
    let b = Tensor::<f64>::randn_seeded(&[k], 21);
    let model = Sequential::new().with(linear(&w, &b));
    let inputs = Tensor::<f64>::randn_seeded(&[3, d], 22);
    let classes = vec![2usize, 0, 3];
    let t = Targets::Classes(classes.clone());
    let next = |c: usize| (c + 1) % k;
    let custom = Operator::custom(move |z: Var<'_, f64>, targets: &[usize]| {
        let shifted: Vec<usize> = targets.iter().map(|&c| (c + 1) % 4).collect();
        z.pick(targets) * z.pick(&shifted)
    });
    let wrow = |c: usize| &w.data()[c * d..(c + 1) * d];
    for (n, &c) in classes.iter().enumerate() {
        let x = &inputs.data()[n * d..(n + 1) * d];
        let z: Vec<f64> = matvec(w.data(), k, d, x)
            .iter()
            .zip(b.data())
            .map(|(a, b)| a + b)
            .collect();
        let zmax = z.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - zmax).exp()).collect();
        let p: Vec<f64> = e.iter().map(|v| v / e.iter().sum::<f64>()).collect();
        let avg_w: Vec<f64> = (0..d)
            .map(|i| (0..k).map(|j| p[j] * w.data()[j * d + i]).sum())
            .collect();
        let dlogp: Vec<f64> = (0..d).map(|i| wrow(c)[i] - avg_w[i]).collect();
        let cases: Vec<(&str, Operator<f64>, Vec<f64>)> = vec![
            ("logit", Operator::Logit, wrow(c).to_vec()),
            (
                "probability",
                Operator::Probability,
                dlogp.iter().map(|g| p[c] * g).collect(),
            ),
            ("log-probability", Operator::LogProbability, dlogp.clone()),
            ("output(1)", Operator::Output(1), wrow(1).to_vec()),
            (
                "custom",
                custom.clone(),
                (0..d)
                    .map(|i| z[next(c)] * wrow(c)[i] + z[c] * wrow(next(c))[i])
                    .collect(),
            ),
        ];
        for (name, op, expect) in cases {
            let a = Gradient
                .explain(&model, &inputs, &t, &op, 2)
                .unwrap()
                .values;
            assert_close(
                &a.data()[n * d..(n + 1) * d],
                &expect,
                1e-12,
                1e-14,
                &format!("{name}, input {n}"),
            );
        }
    }
}

/// The same operators on a nonlinear model, against central finite differences of the score.
#[test]
fn operators_match_finite_differences_on_a_tanh_mlp() {
    let model = tanh_mlp(23, 4, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 24);
    let classes = [1usize, 2];
    let ops = [
        Operator::Logit,
        Operator::Probability,
        Operator::LogProbability,
        Operator::Output(0),
        Operator::custom(|z: Var<'_, f64>, _: &[usize]| z.square().sum_axes(&[1], false)),
    ];
    for op in ops {
        let a = Gradient
            .explain(&model, &inputs, &Targets::Classes(classes.to_vec()), &op, 2)
            .unwrap()
            .values;
        for (n, &c) in classes.iter().enumerate() {
            let x = row(&inputs, n);
            let h = 1e-5;
            let fd: Vec<f64> = (0..4)
                .map(|i| {
                    let shift = |s: f64| {
                        x.zip_map(
                            &Tensor::from_fn(&[1, 4], |j| if j == i { s } else { 0.0 }),
                            |a, b| a + b,
                        )
                    };
                    let f = |x: &Tensor<f64>| score_of(&model, x, |o| op.score(o, &[c]));
                    (f(&shift(h)) - f(&shift(-h))) / (2.0 * h)
                })
                .collect();
            assert_close(
                &a.data()[n * 4..(n + 1) * 4],
                &fd,
                1e-6,
                1e-8,
                &format!("{op:?}, input {n}"),
            );
        }
    }
}

#[test]
fn output_operator_ignores_the_target() {
    let model = relu_mlp(25, 4, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 26);
    let op = Operator::Output(2);
    assert!(op.ignores_target() && !Operator::<f64>::Logit.ignores_target());
    let a = Gradient
        .explain(&model, &inputs, &Targets::Classes(vec![0, 1]), &op, 2)
        .unwrap();
    let b = Gradient
        .explain(&model, &inputs, &Targets::Classes(vec![2, 2]), &op, 2)
        .unwrap();
    let c = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![2, 2]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}
