//! `state_dict` names and order, as PyTorch's, and replacing tensors by name.

use super::*;

#[test]
fn state_dict_names_follow_pytorch_order() {
    let model = pytorch_order_model();
    let state = model.state_dict();
    let names: Vec<&str> = state.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "2.weight",
            "2.bias",
            "2.running_mean",
            "2.running_var",
            "2.num_batches_tracked",
            "4.weight",
            "4.bias"
        ]
    );
    let kinds: Vec<StateKind> = state.iter().map(|(_, k, _)| *k).collect();
    use StateKind::{Buffer as B, Parameter as P};
    assert_eq!(kinds, [P, P, P, P, B, B, B, P, P]);
    let shapes: Vec<&[usize]> = state.iter().map(|(_, _, t)| t.shape()).collect();
    assert_eq!(
        shapes,
        [
            &[4, 1, 3, 3][..],
            &[4],
            &[4],
            &[4],
            &[4],
            &[4],
            &[],
            &[3, 64],
            &[3]
        ]
    );
    assert_eq!(model.num_parameters(), 36 + 4 + 4 + 4 + 192 + 3);
    // BatchNorm starts as PyTorch's: weight 1, bias 0, running mean 0, variance 1, no batches.
    assert_eq!(state[2].2.to_vec(), [1.0; 4]);
    assert_eq!(state[3].2.to_vec(), [0.0; 4]);
    assert_eq!(state[4].2.to_vec(), [0.0; 4]);
    assert_eq!(state[5].2.to_vec(), [1.0; 4]);
    assert_eq!(state[6].2.to_vec(), [0.0]);

    // Without affine, no weight or bias (as PyTorch's affine=False).
    let bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, false).unwrap();
    let mut names = Vec::new();
    bn.visit_state(&mut |n, _, _| names.push(n.to_string()));
    assert_eq!(
        names,
        ["running_mean", "running_var", "num_batches_tracked"]
    );
    // Without bias, only the weight.
    let lin = Linear::<f64>::new(3, 2, false, &mut rng(0));
    let mut names = Vec::new();
    lin.visit_state(&mut |n, _, _| names.push(n.to_string()));
    assert_eq!(names, ["weight"]);
}

#[test]
fn visit_state_mut_replaces_tensors_by_name() {
    let mut model = pytorch_order_model();
    model.visit_state_mut(&mut |name, _, t| {
        if name == "4.bias" {
            *t = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).unwrap();
        }
    });
    let state = model.state_dict();
    let bias = state.iter().find(|(n, _, _)| n == "4.bias").unwrap();
    assert_eq!(bias.2.to_vec(), [1.0, 2.0, 3.0]);
}
