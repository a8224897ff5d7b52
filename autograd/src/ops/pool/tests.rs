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

#[test]
fn ceil_mode_and_count_include_pad_follow_pytorch() {
    // One row 1..6, window 3, stride 2, padding 1, ceil_mode: windows (in padded columns)
    // [0, 3), [2, 5), [4, 7), [6, 9); the last hangs past the end padding (padded width 8).
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 1, 1, 6]));
    let o = Pool2dOptions::new2([1, 3])
        .stride2([1, 2])
        .padding2([0, 1])
        .ceil_mode(true);
    let m = x.max_pool2d(o);
    close(m.value().data(), &[2.0, 4.0, 6.0, 6.0]);
    // count_include_pad: divisors 3, 3, 3 and 2 (clipped to the padded input).
    let a = x.avg_pool2d(o);
    close(a.value().data(), &[1.0, 3.0, 5.0, 3.0]);
    let third = 1.0 / 3.0;
    let g = [third, 2.0 * third, third, 2.0 * third, third, third + 0.5];
    close(tape.backward(a.sum()).wrt(x).data(), &g);
    // Without: divisors 2, 3, 3, 1 (the in-image part).
    let a = x.avg_pool2d(o.count_include_pad(false));
    close(a.value().data(), &[1.5, 3.0, 5.0, 6.0]);
    let g = [0.5, 0.5 + third, third, 2.0 * third, third, third + 1.0];
    close(tape.backward(a.sum()).wrt(x).data(), &g);
    // PyTorch: 7x9 with window 3, stride 2 gives 3x4 in floor mode and 3x4 in ceil mode (the
    // extra row would start in the bottom padding), 4x4 for 8x9.
    let z = tape.var(Tensor::zeros(&[1, 1, 7, 9]));
    let ceil = Pool2dOptions::new(3).stride(2).ceil_mode(true);
    assert_eq!(z.max_pool2d(ceil).shape(), vec![1, 1, 3, 4]);
    let z = tape.var(Tensor::zeros(&[1, 1, 8, 9]));
    assert_eq!(z.max_pool2d(ceil).shape(), vec![1, 1, 4, 4]);
}

#[test]
fn asymmetric_pads() {
    // 1x4 row, window 2, stride 2, pads left 1 right 0: windows [-1, 1), [1, 3); the element at 3
    // is dropped (floor mode).
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 1, 4]));
    let o = Pool2dOptions::new2([1, 2]).pads([0, 1, 0, 0]);
    assert_eq!(o.symmetric_padding(), None);
    close(x.max_pool2d(o).value().data(), &[1.0, 3.0]);
    close(x.avg_pool2d(o).value().data(), &[0.5, 2.5]);
    let a = x.avg_pool2d(o.pads([0, 1, 0, 1]).count_include_pad(false));
    close(a.value().data(), &[1.0, 2.5, 4.0]);
    close(tape.backward(a.sum()).wrt(x).data(), &[1.0, 0.5, 0.5, 1.0]);
}

#[test]
fn adaptive_average_pooling() {
    // A 3x2 plane [[1, 2], [3, 4], [5, 6]] to 2x1: rows [0, 2) and [1, 3).
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 1, 3, 2]));
    let y = x.adaptive_avg_pool2d([2, 1]);
    assert_eq!(y.shape(), vec![1, 1, 2, 1]);
    close(y.value().data(), &[2.5, 4.5]);
    close(
        tape.backward(y.sum()).wrt(x).data(),
        &[0.25, 0.25, 0.5, 0.5, 0.25, 0.25],
    );
    let g = x.adaptive_avg_pool2d([1, 1]);
    close(g.value().data(), &[3.5]);
    close(tape.backward(g.sum()).wrt(x).data(), &[1.0 / 6.0; 6]);
}

#[test]
#[should_panic(expected = "adaptive_avg_pool2d: input [1, 1, 3, 2] to output size [0, 1]")]
fn adaptive_pool_rejects_zero_output() {
    let tape = Tape::<f32>::new();
    tape.var(Tensor::zeros(&[1, 1, 3, 2]))
        .adaptive_avg_pool2d([0, 1]);
}
