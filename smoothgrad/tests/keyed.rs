//! [`SmoothGrad::explain_keyed`]: an input's noise follows its key, not its place in the batch.

use smoothgrad::{Operator, SmoothGrad, Targets};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::Sequential;

/// A model whose gradient depends on the input (ReLU), so noise changes the result.
fn model() -> Sequential {
    Sequential::from_spec_seeded("flatten, linear(12,8), relu, linear(8,3)", 3).unwrap()
}

fn sg() -> SmoothGrad {
    SmoothGrad {
        samples: 7,
        batch_size: 3,
        ..SmoothGrad::default()
    }
}

/// Rows `rows` of `x` `[N, 3, 2, 2]`, as a batch.
fn rows(x: &Tensor, rows: &[usize]) -> Tensor {
    let data: Vec<f32> = rows
        .iter()
        .flat_map(|&r| x.data()[r * 12..(r + 1) * 12].iter().copied())
        .collect();
    Tensor::from_vec(data, &[rows.len(), 3, 2, 2]).unwrap()
}

#[test]
fn positions_as_keys_are_the_default() {
    let x = Tensor::<f32>::randn_seeded(&[3, 3, 2, 2], 5);
    let t = Targets::Classes(vec![0, 1, 2]);
    let plain = sg().explain(&model(), &x, &t, &Operator::Logit).unwrap();
    let keyed = sg()
        .explain_keyed(&model(), &x, &t, &Operator::Logit, &[0, 1, 2])
        .unwrap();
    assert_eq!(plain.mean.data(), keyed.mean.data());
    assert_eq!(plain.std_error.data(), keyed.std_error.data());
}

#[test]
fn an_input_keeps_its_result_in_any_batch() {
    let x = Tensor::<f32>::randn_seeded(&[3, 3, 2, 2], 5);
    let keys = [0xdead_beef_u64, 17, u64::MAX];
    let t = Targets::Classes(vec![1, 1, 1]);
    let all = sg()
        .explain_keyed(&model(), &x, &t, &Operator::Logit, &keys)
        .unwrap();
    // Input 2 alone, then first of a reordered pair: the same bits as in the full batch.
    let alone = sg()
        .explain_keyed(
            &model(),
            &rows(&x, &[2]),
            &Targets::Classes(vec![1]),
            &Operator::Logit,
            &keys[2..],
        )
        .unwrap();
    assert_eq!(alone.mean.data(), &all.mean.data()[24..36]);
    let pair = sg()
        .explain_keyed(
            &model(),
            &rows(&x, &[2, 0]),
            &Targets::Classes(vec![1, 1]),
            &Operator::Logit,
            &[keys[2], keys[0]],
        )
        .unwrap();
    assert_eq!(&pair.mean.data()[..12], &all.mean.data()[24..36]);
    assert_eq!(&pair.mean.data()[12..], &all.mean.data()[..12]);
    // And the key matters: input 2 under key 0 differs.
    let other = sg()
        .explain_keyed(
            &model(),
            &rows(&x, &[2]),
            &Targets::Classes(vec![1]),
            &Operator::Logit,
            &[0],
        )
        .unwrap();
    assert_ne!(other.mean.data(), alone.mean.data());
}

#[test]
fn one_key_per_input() {
    let x = Tensor::<f32>::randn_seeded(&[2, 3, 2, 2], 5);
    let e = sg()
        .explain_keyed(&model(), &x, &Targets::Predicted, &Operator::Logit, &[1])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected one stream key per input (2), found 1"
    );
}
