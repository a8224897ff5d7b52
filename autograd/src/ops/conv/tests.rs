//! Convolution on a hand example, PyTorch's output shapes, and shape errors.

use crate::kernels::conv::Conv2dOptions;
use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

#[test]
fn conv2d_on_a_hand_example() {
    // A 3x3 image, a 2x2 kernel of ones with bias 1: each output is its window's sum plus 1.
    let tape = Tape::new();
    let x = tape.var(Tensor::arange(9).reshape(&[1, 1, 3, 3]).unwrap());
    let w = tape.var(Tensor::ones(&[1, 1, 2, 2]));
    let b = tape.var(t(&[1.0], &[1]));
    let y = x.conv2d(w, Some(b), Conv2dOptions::default());
    close(y.value().data(), &[9.0, 13.0, 21.0, 25.0]);
    let g = tape.backward(y.sum());
    // Each input pixel counts once per window that covers it.
    close(
        g.wrt(x).data(),
        &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0],
    );
    close(g.wrt(w).data(), &[8.0, 12.0, 20.0, 24.0]);
    close(g.wrt(b).data(), &[4.0]);
}

#[test]
fn conv_output_shapes_follow_pytorch() {
    // out = (in + 2 pad - dilation (k - 1) - 1) / stride + 1
    /// Input shape, weight shape, options, expected output shape.
    type Case = ([usize; 4], [usize; 4], Conv2dOptions, [usize; 4]);
    let cases: [Case; 4] = [
        (
            [1, 1, 28, 28],
            [16, 1, 3, 3],
            Conv2dOptions::default().padding(1),
            [1, 16, 28, 28],
        ),
        (
            [2, 3, 32, 32],
            [8, 3, 3, 3],
            Conv2dOptions::default().stride(2).padding(1),
            [2, 8, 16, 16],
        ),
        (
            [1, 2, 7, 7],
            [4, 2, 3, 3],
            Conv2dOptions::default().dilation(2),
            [1, 4, 3, 3],
        ),
        (
            [1, 4, 5, 6],
            [6, 2, 2, 3],
            Conv2dOptions::default().groups(2),
            [1, 6, 4, 4],
        ),
    ];
    for (xs, ws, opts, out) in cases {
        let tape = Tape::<f32>::new();
        let x = tape.var(Tensor::zeros(&xs));
        let w = tape.constant(Tensor::zeros(&ws));
        assert_eq!(
            x.conv2d(w, None, opts).shape(),
            out.to_vec(),
            "{xs:?} {ws:?} {opts:?}"
        );
    }
}

#[test]
#[should_panic(expected = "conv2d: input [1, 3, 8, 8]")]
fn conv2d_rejects_mismatched_channels() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[1, 3, 8, 8]));
    let w = tape.var(Tensor::zeros(&[4, 2, 3, 3]));
    x.conv2d(w, None, Conv2dOptions::default());
}
