//! Forward values on hand cases, against PyTorch.

use super::*;

#[test]
fn linear_computes_x_w_transposed_plus_b() {
    let w = t(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3]);
    let b = t(&[0.5, -1.0], &[2]);
    let layer = Linear::from_weights(w, Some(b)).unwrap();
    let y = run(&layer, &t(&[1.0, 1.0, 1.0, 2.0, 0.0, -2.0], &[2, 3]));
    // [1+2+3+0.5, -1+0+0.5-1], [2-6+0.5, -2-1-1]
    assert_close(y.data(), &[6.5, -1.5, -3.5, -4.0], 1e-12);
}

#[test]
fn conv2d_is_pytorchs_cross_correlation() {
    // A direct loop over PyTorch's definition, with stride, padding, dilation, groups and bias.
    let opts = Conv2dOptions::default()
        .stride2([2, 1])
        .padding2([1, 2])
        .dilation2([1, 2])
        .groups(2);
    let layer = conv(4, 6, [2, 3], opts, true, 11);
    let x = Tensor::<f64>::randn_seeded(&[2, 4, 5, 6], 12);
    let y = run(&layer, &x);
    let (w, b) = (&layer.weight, layer.bias.as_ref().unwrap());
    let (oh, ow) = (
        torch_conv_out(5, 2, 2, 1, 1).unwrap(),
        torch_conv_out(6, 3, 1, 2, 2).unwrap(),
    );
    assert_eq!(y.shape(), [2, 6, oh, ow]);
    let mut expected = Vec::new();
    for n in 0..2 {
        for o in 0..6 {
            let g = o / 3;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.data()[o];
                    for c in 0..2 {
                        for p in 0..2 {
                            for q in 0..3 {
                                let r = (i * 2 + p) as i64 - 1;
                                let s = (j + q * 2) as i64 - 2;
                                if r < 0 || s < 0 || r >= 5 || s >= 6 {
                                    continue;
                                }
                                let xv = x.get(&[n, g * 2 + c, r as usize, s as usize]).unwrap();
                                acc += w.get(&[o, c, p, q]).unwrap() * xv;
                            }
                        }
                    }
                    expected.push(acc);
                }
            }
        }
    }
    assert_close(y.data(), &expected, 1e-12);
}

#[test]
fn pooling_values_follow_pytorch() {
    // Max pool pads with -inf: an all-negative image keeps its own values at the border.
    let x = t(
        &[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0],
        &[1, 1, 3, 3],
    );
    let y = run(&maxpool(Pool2dOptions::new(3).stride(1).padding(1)), &x);
    assert_eq!(
        y.to_vec(),
        [-1.0, -1.0, -2.0, -1.0, -1.0, -2.0, -4.0, -4.0, -5.0]
    );
    // Average pool counts the padding (count_include_pad=True): corners 4/9, edges 6/9.
    let y = run(
        &avgpool(Pool2dOptions::new(3).stride(1).padding(1)),
        &Tensor::ones(&[1, 1, 3, 3]),
    );
    let (c, e) = (4.0 / 9.0, 6.0 / 9.0);
    assert_close(y.data(), &[c, e, c, e, 1.0, e, c, e, c], 1e-12);
    // 2x2 windows, the default stride; the odd last row and column are dropped.
    let x = Tensor::from_fn(&[1, 1, 3, 5], |i| i as f64);
    assert_eq!(
        run(&maxpool(Pool2dOptions::new(2)), &x).to_vec(),
        [6.0, 8.0]
    );
    assert_close(
        run(&avgpool(Pool2dOptions::new(2)), &x).data(),
        &[3.0, 5.0],
        1e-12,
    );
}

#[test]
fn activations_follow_pytorch_on_hand_values() {
    let x = t(&[-2.0, -0.5, 0.0, 1.5], &[1, 4]);
    assert_eq!(run(&ReLU, &x).to_vec(), [0.0, 0.0, 0.0, 1.5]);
    assert_close(
        run(
            &LeakyReLU {
                negative_slope: 0.2,
            },
            &x,
        )
        .data(),
        &[-0.4, -0.1, 0.0, 1.5],
        1e-15,
    );
    assert_close(
        run(&LeakyReLU::default(), &x).data(),
        &[-0.02, -0.005, 0.0, 1.5],
        1e-15,
    );
    let sig: Vec<f64> = x.data().iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    assert_close(run(&Sigmoid, &x).data(), &sig, 1e-15);
    let tanh: Vec<f64> = x.data().iter().map(|v| v.tanh()).collect();
    assert_close(run(&Tanh, &x).data(), &tanh, 1e-15);

    // Softmax along dim 0 of a [2, 3] tensor normalizes each column.
    let x = t(&[1.0, 2.0, 3.0, 1.0, 0.0, 5.0], &[2, 3]);
    let e = f64::exp;
    let col = |a: f64, b: f64| [e(a) / (e(a) + e(b)), e(b) / (e(a) + e(b))];
    let (c0, c1, c2) = (col(1.0, 1.0), col(2.0, 0.0), col(3.0, 5.0));
    let expected = [c0[0], c1[0], c2[0], c0[1], c1[1], c2[1]];
    assert_close(run(&Softmax { dim: 0 }, &x).data(), &expected, 1e-15);
    let logs: Vec<f64> = expected.iter().map(|p| p.ln()).collect();
    assert_close(run(&LogSoftmax { dim: 0 }, &x).data(), &logs, 1e-14);
    // Along dim 1 each row sums to 1.
    let y = run(&Softmax::default(), &x);
    assert_close(
        &[y.data()[..3].iter().sum(), y.data()[3..].iter().sum()],
        &[1.0, 1.0],
        1e-15,
    );
}

#[test]
fn flatten_keeps_chw_order() {
    let x = Tensor::from_fn(&[2, 2, 2, 3], |i| i as f64);
    let y = run(&Flatten::default(), &x);
    assert_eq!(y.shape(), [2, 12]);
    assert_eq!(y.to_vec(), x.to_vec());
    assert_eq!(y.get(&[1, 7]).unwrap(), x.get(&[1, 1, 0, 1]).unwrap());
}
