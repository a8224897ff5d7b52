//! Asymmetric and `SAME_*` convolution padding (tf2onnx's "SAME" of a strided layer), checked
//! against a direct evaluation of the padded convolution, values and input gradient.

mod common;

use std::path::Path;

use common::*;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};
use smoothgrad_onnx::proto::{attribute_proto::AttributeType, AttributeProto};

fn auto_pad(mode: &str) -> AttributeProto {
    AttributeProto {
        name: Some("auto_pad".into()),
        s: Some(mode.as_bytes().to_vec()),
        r#type: Some(AttributeType::String as i32),
        ..Default::default()
    }
}

/// `x` (h x w, one channel) padded by `[top, left, bottom, right]`, convolved with the k x k
/// kernel `w` at `stride`.
fn direct(x: &[f64], hw: usize, w: &[f64], k: usize, pads: [usize; 4], stride: usize) -> Vec<f64> {
    let (ph, pw) = (hw + pads[0] + pads[2], hw + pads[1] + pads[3]);
    let at = |i: usize, j: usize| {
        let (i, j) = (i as isize - pads[0] as isize, j as isize - pads[1] as isize);
        if i < 0 || j < 0 || i >= hw as isize || j >= hw as isize {
            0.0
        } else {
            x[i as usize * hw + j as usize]
        }
    };
    let mut out = Vec::new();
    for oi in (0..=ph - k).step_by(stride) {
        for oj in (0..=pw - k).step_by(stride) {
            let mut s = 0.0;
            for a in 0..k {
                for b in 0..k {
                    s += w[a * k + b] * at(oi + a, oj + b);
                }
            }
            out.push(s);
        }
    }
    out
}

fn check(attrs: Vec<AttributeProto>, k: usize, stride: usize, pads: [usize; 4]) {
    let hw = 5;
    let wv: Vec<f32> = (0..k * k).map(|i| 0.5 + i as f32 * 0.25).collect();
    let w = floats("c.weight", &[1, 1, k as i64, k as i64], wv.clone());
    let mut attrs = attrs;
    attrs.push(ints("strides", &[stride as i64, stride as i64]));
    let conv = node("Conv", "/c/Conv", &["x", "c.weight"], &["y"], attrs);
    let m = model(&[1, 1, hw as i64, hw as i64], vec![conv], vec![w]);
    let g = smoothgrad_onnx::import_model::<f64>(&m, Path::new(".")).unwrap();
    let x: Vec<f64> = (0..hw * hw).map(|i| (i as f64 * 0.7).sin()).collect();
    let wv: Vec<f64> = wv.iter().map(|&v| f64::from(v)).collect();
    let want = direct(&x, hw, &wv, k, pads, stride);
    let tape = Tape::new();
    let xv = tape.var(Tensor::from_vec(x.clone(), &[1, 1, hw, hw]).unwrap());
    let y = g.forward(xv, &mut Context::inference(&tape));
    assert_eq!(y.value().data().len(), want.len());
    for (a, b) in y.value().data().iter().zip(&want) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // d(sum y)/dx by finite differences of the direct evaluation (linear: exact up to rounding)
    let grads = tape.backward(y.sum());
    let gx = grads.wrt(xv);
    for i in 0..hw * hw {
        let mut xp = x.clone();
        xp[i] += 1.0;
        let d: f64 =
            direct(&xp, hw, &wv, k, pads, stride).iter().sum::<f64>() - want.iter().sum::<f64>();
        assert!(
            (gx.data()[i] - d).abs() < 1e-9,
            "pixel {i}: {} vs {d}",
            gx.data()[i]
        );
    }
}

#[test]
fn explicit_asymmetric_pads() {
    check(vec![ints("pads", &[0, 1, 1, 0])], 2, 1, [0, 1, 1, 0]);
}

#[test]
fn same_upper_and_same_lower() {
    // 5 -> 3 at stride 2 with a 3x3 kernel: 2 rows of padding, split evenly
    check(vec![auto_pad("SAME_UPPER")], 3, 2, [1, 1, 1, 1]);
    // 5 -> 5 at stride 1 with a 2x2 kernel: one row, at the end (UPPER) or the start (LOWER)
    check(vec![auto_pad("SAME_UPPER")], 2, 1, [0, 0, 1, 1]);
    check(vec![auto_pad("SAME_LOWER")], 2, 1, [1, 1, 0, 0]);
}
