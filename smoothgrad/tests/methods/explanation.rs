//! What an [`smoothgrad::Explanation`] hands back.

use super::*;

#[test]
fn explanation_get_returns_each_aggregation() {
    let model = relu_mlp(37, 3, 4, 2);
    let inputs = Tensor::<f64>::randn_seeded(&[1, 3], 38);
    let sg = SmoothGrad {
        samples: 6,
        noise: Noise {
            level: NoiseLevel::Absolute(0.5),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let e = sg
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![1]),
            &Operator::Logit,
        )
        .unwrap();
    assert_eq!(e.get(Aggregation::Mean), &e.mean);
    assert_eq!(e.get(Aggregation::MeanOfSquares), &e.mean_of_squares);
    assert_eq!(e.get(Aggregation::Variance), &e.variance);
}
