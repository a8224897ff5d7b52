//! The layers of modern classifiers: their specs parse and print back, their shape checks say
//! what they expected, their values are PyTorch's, and Dropout is the identity in eval.

use rand::SeedableRng;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{
    AdaptiveAvgPool2d, Context, Dropout, LayerNorm, LayerNorm2d, Module, MultiheadAttention,
    Sequential,
};

fn forward(m: &dyn Module<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    m.forward(tape.constant(x.clone()), &mut Context::inference(&tape))
        .value()
}

#[test]
fn specs_parse_and_print_back() {
    let cases = [
        ("gelu", "gelu"),
        ("gelu(approximate='none')", "gelu"),
        ("gelu(approximate='tanh')", "gelu(approximate='tanh')"),
        (
            "silu(inplace=True), hardswish, hardsigmoid(), relu6",
            "silu, hardswish, hardsigmoid, relu6",
        ),
        ("identity()", "identity"),
        ("adaptiveavgpool2d(1)", "adaptiveavgpool2d(1)"),
        ("adaptiveavgpool2d((7,7))", "adaptiveavgpool2d(7)"),
        (
            "adaptiveavgpool2d(output_size=(2, 3))",
            "adaptiveavgpool2d((2,3))",
        ),
        ("layernorm(16)", "layernorm(16)"),
        (
            "layernorm((4,5), eps=1e-6)",
            "layernorm((4,5),eps=0.000001)",
        ),
        (
            "layernorm(8, elementwise_affine=False)",
            "layernorm(8,elementwise_affine=False)",
        ),
        ("layernorm(8, bias=False)", "layernorm(8,bias=False)"),
        ("layernorm2d(8)", "layernorm2d(8)"),
        ("layernorm2d(8, eps=1e-5)", "layernorm2d(8,eps=0.00001)"),
        (
            "multiheadattention(16, 2, batch_first=True)",
            "multiheadattention(16,2,batch_first=True)",
        ),
        (
            "multiheadattention(16, 4, dropout=0.0, bias=False)",
            "multiheadattention(16,4,bias=False)",
        ),
    ];
    for (spec, printed) in cases {
        let model: Sequential<f64> =
            Sequential::from_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(model.to_string(), printed, "{spec}");
        let again: Sequential<f64> = Sequential::from_spec(printed).unwrap();
        assert_eq!(again.to_string(), printed);
    }
}

#[test]
fn specs_reject_what_is_not_supported() {
    let err = |spec: &str| Sequential::<f32>::from_spec(spec).unwrap_err().to_string();
    assert!(err("gelu(approximate='fast')").contains("approximate must be 'none' or 'tanh'"));
    assert!(err("multiheadattention(16,3)").contains("divisible by num_heads"));
    assert!(err("multiheadattention(16,2,dropout=0.1)").contains("dropout=0.1 is not supported"));
    assert!(err("adaptiveavgpool2d(0)").contains("expects a positive integer"));
    assert!(err("layernorm((4,0))").contains("normalized_shape"));
}

#[test]
fn shape_errors_say_what_was_expected() {
    let shape_err = |m: &dyn Module<f64>, s: &[usize]| m.output_shape(s).unwrap_err().to_string();
    let ln = LayerNorm::<f64>::new(&[4, 5], 1e-5, true, true).unwrap();
    assert_eq!(ln.output_shape(&[2, 3, 4, 5]).unwrap(), [2, 3, 4, 5]);
    let e = shape_err(&ln, &[2, 5, 4]);
    assert!(
        e.contains("expected input [batch, ..., 4, 5], found [2, 5, 4]"),
        "{e}"
    );
    let e = shape_err(
        &LayerNorm2d::<f64>::new(8, 1e-6, true).unwrap(),
        &[2, 4, 3, 3],
    );
    assert!(
        e.contains("expected input [N, 8, H, W], found [2, 4, 3, 3]"),
        "{e}"
    );
    let e = shape_err(&AdaptiveAvgPool2d::new([1, 1]).unwrap(), &[2, 3]);
    assert!(e.contains("rank 4"), "{e}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mha = MultiheadAttention::<f64>::new(8, 2, true, true, &mut rng).unwrap();
    let e = shape_err(&mha, &[2, 5, 6]);
    assert!(e.contains("expected input [B, S, 8]"), "{e}");
}

#[test]
fn dropout_is_the_identity_in_eval() {
    let mut layer = Dropout::new(0.5).unwrap();
    let x = Tensor::randn_seeded(&[3, 7], 1);
    assert_eq!(forward(&layer, &x), x);
    Module::<f64>::set_training(&mut layer, true);
    assert_ne!(forward(&layer, &x), x);
    Module::<f64>::set_training(&mut layer, false);
    assert_eq!(forward(&layer, &x), x);
}

#[test]
fn layernorm_values_are_pytorchs() {
    // torch.nn.functional.layer_norm(x, (3,), eps=1e-5) in float64 (torch 2.15) for x = [[1, 2, 4], [-1, 0, 0]].
    let x = Tensor::from_vec(vec![1.0, 2.0, 4.0, -1.0, 0.0, 0.0], &[2, 3]).unwrap();
    let y = forward(&LayerNorm::<f64>::new(&[3], 1e-5, true, true).unwrap(), &x);
    let expected = [
        -1.069_041_531_450_297_7,
        -0.267_260_382_862_574_53,
        1.336_301_914_312_871_8,
        -1.414_181_743_641_819_6,
        0.707_090_871_820_909_9,
        0.707_090_871_820_909_9,
    ];
    for (a, b) in y.data().iter().zip(expected) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn attention_is_batch_first_or_not_consistently() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut a = MultiheadAttention::<f64>::new(4, 2, true, true, &mut rng).unwrap();
    let mut r2 = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut b = MultiheadAttention::<f64>::new(4, 2, true, false, &mut r2).unwrap();
    a.in_proj_bias = Some(Tensor::randn_seeded(&[12], 5));
    b.in_proj_bias = a.in_proj_bias.clone();
    let x = Tensor::randn_seeded(&[2, 3, 4], 9);
    let ya = forward(&a, &x);
    let yb = forward(&b, &x.permute(&[1, 0, 2])).permute(&[1, 0, 2]);
    assert!(ya.max_abs_diff(&yb) < 1e-14);
}
