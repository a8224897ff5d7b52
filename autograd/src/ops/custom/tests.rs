//! A user-defined op runs like a built-in one, and a wrong gradient shape names it.

use super::CustomOp;
use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

/// `y = x^3`, with `dx = 3 x^2 dy`, or (if `wrong`) a gradient of the wrong shape.
struct Cube {
    wrong: bool,
}

impl CustomOp<f64> for Cube {
    fn name(&self) -> &str {
        "cube"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].map(|x| x * x * x)
    }

    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        grad_output: &Tensor<f64>,
    ) -> Vec<Option<Tensor<f64>>> {
        if self.wrong {
            return vec![Some(Tensor::zeros(&[1]))];
        }
        vec![Some(inputs[0].zip_map(grad_output, |x, g| 3.0 * x * x * g))]
    }
}

#[test]
fn custom_op_values_gradients_and_name() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, -2.0], &[2]));
    let y = tape.custom(Cube { wrong: false }, &[x]);
    close(y.value().data(), &[1.0, -8.0]);
    close(tape.backward(y.sum()).wrt(x).data(), &[3.0, 12.0]);
    assert!(tape.to_dot().contains("#1 cube [2]"));
}

#[test]
#[should_panic(expected = "backward of cube: gradient shape [1] differs from value shape [2]")]
fn a_wrong_gradient_shape_names_the_op() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, -2.0], &[2]));
    let y = tape.custom(Cube { wrong: true }, &[x]).sum();
    tape.backward(y);
}
