//! Pooling output shapes follow PyTorch; hand cases of the kernels are in `kernels/pool/tests.rs`.

use crate::kernels::pool::Pool2dOptions;
use crate::ops::testing::{close, t};
use crate::tape::Tape;
use crate::tensor::Tensor;

#[test]
fn pool_output_shapes_follow_pytorch() {
    // out = (in + 2 pad - k) / stride + 1
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[1, 1, 7, 9]));
    assert_eq!(
        x.max_pool2d(Pool2dOptions::new(2)).shape(),
        vec![1, 1, 3, 4]
    );
    assert_eq!(
        x.max_pool2d(Pool2dOptions::new(3).stride(1).padding(1))
            .shape(),
        vec![1, 1, 7, 9]
    );
    assert_eq!(
        x.avg_pool2d(Pool2dOptions::new(3).stride(2)).shape(),
        vec![1, 1, 3, 4]
    );
}

#[test]
fn pools_route_gradients_to_their_windows() {
    // Max: each 2x2 window sends its gradient to its maximum; average: a quarter to each input.
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 7.0], &[1, 1, 2, 4]));
    let m = x.max_pool2d(Pool2dOptions::new(2));
    close(m.value().data(), &[5.0, 8.0]);
    close(
        tape.backward(m.sum()).wrt(x).data(),
        &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    );
    let a = x.avg_pool2d(Pool2dOptions::new(2));
    close(a.value().data(), &[13.0 / 4.0, 17.0 / 4.0]);
    close(tape.backward(a.sum()).wrt(x).data(), &[0.25; 8]);
}
