//! The checker checks: layers with a deliberately wrong backward, or state that is never bound,
//! must be rejected, naming what is wrong.

use super::*;

/// `y = x * w` (w broadcast over the last axis), whose backward is wrong for `w` (`wrong_w`) or
/// for `x` (otherwise): off by a factor 2.
struct WrongScaleOp {
    wrong_w: bool,
}

impl smoothgrad_autograd::CustomOp<f64> for WrongScaleOp {
    fn name(&self) -> &str {
        "wrong_scale"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        let (x, w) = (inputs[0], inputs[1]);
        let n = w.numel();
        Tensor::from_fn(x.shape(), |i| x.data()[i] * w.data()[i % n])
    }
    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        dy: &Tensor<f64>,
    ) -> Vec<Option<Tensor<f64>>> {
        let (x, w) = (inputs[0], inputs[1]);
        let n = w.numel();
        let (fx, fw) = if self.wrong_w { (1.0, 2.0) } else { (2.0, 1.0) };
        let dx = Tensor::from_fn(x.shape(), |i| fx * dy.data()[i] * w.data()[i % n]);
        let mut dw = vec![0.0; n];
        for i in 0..x.numel() {
            dw[i % n] += fw * dy.data()[i] * x.data()[i];
        }
        vec![Some(dx), Some(Tensor::from_vec(dw, w.shape()).unwrap())]
    }
}

/// A layer around [`WrongScaleOp`]; with `bind_extra`, a second parameter is stored but never
/// bound.
struct WrongScale {
    weight: Tensor<f64>,
    extra: Tensor<f64>,
    wrong_w: bool,
    bind_extra: bool,
}

impl std::fmt::Display for WrongScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wrong_scale")
    }
}

impl Module<f64> for WrongScale {
    fn forward<'t>(
        &self,
        x: smoothgrad_autograd::Var<'t, f64>,
        cx: &mut Context<'t, f64>,
    ) -> smoothgrad_autograd::Var<'t, f64> {
        let w = cx.param("weight", &self.weight);
        let y = cx.tape().custom(
            WrongScaleOp {
                wrong_w: self.wrong_w,
            },
            &[x, w],
        );
        if self.bind_extra {
            y + cx.param("extra", &self.extra)
        } else {
            y
        }
    }
    fn output_shape(&self, input: &[usize]) -> smoothgrad_nn::Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<f64>)) {
        f("weight", StateKind::Parameter, &self.weight);
        f("extra", StateKind::Parameter, &self.extra);
    }
    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<f64>)) {
        f("weight", StateKind::Parameter, &mut self.weight);
        f("extra", StateKind::Parameter, &mut self.extra);
    }
}

fn wrong_scale(wrong_w: bool, bind_extra: bool) -> WrongScale {
    WrongScale {
        weight: uniform(&[3], 0.5, 1.5, 1),
        extra: uniform(&[3], -1.0, 1.0, 2),
        wrong_w,
        bind_extra,
    }
}

#[test]
fn check_layer_rejects_a_wrong_parameter_gradient() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(true, true), &x, 0).unwrap_err();
    assert!(err.contains("d loss / d weight["), "{err}");
}

#[test]
fn check_layer_rejects_a_wrong_input_gradient() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(false, true), &x, 0).unwrap_err();
    assert!(err.contains("d loss / d input["), "{err}");
}

#[test]
fn check_layer_rejects_a_parameter_that_is_never_bound() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(false, false), &x, 0).unwrap_err();
    assert!(
        err.contains(r#"bound parameters ["weight"] differ"#),
        "{err}"
    );
}

#[test]
fn check_layer_accepts_a_correct_layer_and_counts_every_entry() {
    // Linear with known weights: every entry of the input and both parameters compared.
    let w = uniform(&[2, 3], -1.0, 1.0, 4);
    let b = uniform(&[2], -1.0, 1.0, 5);
    let mut layer = Linear::from_weights(w, Some(b)).unwrap();
    let x = uniform(&[4, 3], -1.0, 1.0, 6);
    let report = check_layer(&mut layer, &x, 0).unwrap();
    assert_eq!(report.params, ["weight", "bias"]);
    assert_eq!(report.compared, 12 + 6 + 2);
}
