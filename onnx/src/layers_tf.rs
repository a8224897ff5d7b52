//! Padding as other tools write it: `auto_pad` `SAME_UPPER`/`SAME_LOWER` and asymmetric
//! `pads` on `Conv`, `MaxPool` and `AveragePool` (tf2onnx writes TensorFlow's "SAME" padding of
//! a strided layer as pads `[0, 0, 1, 1]`). A convolution takes the symmetric part as its own
//! padding and the rest as explicit zeros ([`TensorOp::Pad`]); pools take asymmetric pads
//! directly.

use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Scalar};
use smoothgrad_nn::{AvgPool2d, Conv2d, MaxPool2d, Module, TensorOp};

use crate::attr;
use crate::batch_layout::Layout;
use crate::convert::{tensor, Converter, Val};
use crate::layers_transformer::{first, konst, In, R};
use crate::proto::NodeProto;

fn pair(v: &[i64], what: &str) -> R<[usize; 2]> {
    match v {
        [a, b] if *a >= 1 && *b >= 1 => Ok([*a as usize, *b as usize]),
        _ => Err(format!(
            "{what} {v:?}: only 2-D (two positive values) is supported"
        )),
    }
}

/// The explicit pads `[top, left, bottom, right]` of `n` on input `hw`, kernel `k`, strides
/// `s`, dilations `d`: ONNX's rule for `SAME_*`, `total = max(0, (ceil(in / s) - 1) s +
/// (k - 1) d + 1 - in)`, the odd one at the end (`SAME_UPPER`) or the start (`SAME_LOWER`).
fn explicit_pads(
    n: &NodeProto,
    hw: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
) -> R<[usize; 4]> {
    match attr::string(n, "auto_pad", "NOTSET").as_str() {
        "NOTSET" => {
            let p = attr::ints(n, "pads").unwrap_or(vec![0; 4]);
            match p.as_slice() {
                [a, b, c, e] if p.iter().all(|&v| v >= 0) => {
                    Ok([*a as usize, *b as usize, *c as usize, *e as usize])
                }
                _ => Err(format!("pads {p:?}: expected four non-negative values")),
            }
        }
        "VALID" => Ok([0; 4]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut out = [0; 4];
            for i in 0..2 {
                let o = hw[i].div_ceil(s[i]);
                let need = (o.saturating_sub(1)) * s[i] + (k[i] - 1) * d[i] + 1;
                let total = need.saturating_sub(hw[i]);
                let small = total / 2;
                let (begin, end) = if mode == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                out[i] = begin;
                out[i + 2] = end;
            }
            Ok(out)
        }
        other => Err(format!("auto_pad {other:?} is not an ONNX mode")),
    }
}

/// Whether `n` needs this module: an `auto_pad` other than `NOTSET`/`VALID`, or asymmetric
/// convolution pads.
fn needed(n: &NodeProto) -> bool {
    let auto = attr::string(n, "auto_pad", "NOTSET");
    if auto.starts_with("SAME") {
        return true;
    }
    n.op_type() == "Conv"
        && attr::ints(n, "pads").is_some_and(|p| p.len() == 4 && (p[0] != p[2] || p[1] != p[3]))
}

/// Converts a `Conv`, `MaxPool` or `AveragePool` whose padding [`crate::layers`] does not
/// take; `Ok(None)` for anything else.
///
/// # Errors
/// What the node's settings do not allow.
pub fn node<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    label: &str,
    ins: &[Option<In>],
    moved: bool,
) -> R<Option<(Val, Layout)>> {
    let op = n.op_type();
    if !matches!(op, "Conv" | "MaxPool" | "AveragePool") || !needed(n) {
        return Ok(None);
    }
    let x = first(ins)?;
    if moved || x.shape.len() != 4 {
        return Err(format!(
            "expected an NCHW input with the batch first, found {:?}",
            x.shape
        ));
    }
    let hw = [x.shape[2], x.shape[3]];
    let stride = pair(&attr::ints(n, "strides").unwrap_or(vec![1, 1]), "strides")?;
    let dilation = pair(
        &attr::ints(n, "dilations").unwrap_or(vec![1, 1]),
        "dilations",
    )?;
    if op != "Conv" {
        let kernel = pair(
            &attr::ints(n, "kernel_shape").unwrap_or_default(),
            "kernel_shape",
        )?;
        if dilation != [1, 1] {
            return Err("dilated pooling is not supported".into());
        }
        let mut o = Pool2dOptions::new2(kernel);
        o.stride = stride;
        o.pads = explicit_pads(n, hw, kernel, stride, dilation)?;
        o.ceil_mode = attr::int(n, "ceil_mode", 0) != 0;
        o.count_include_pad = attr::int(n, "count_include_pad", 0) != 0;
        let m: Box<dyn Module<T>> = if op == "MaxPool" {
            if n.output.len() > 1 {
                return Err("MaxPool's Indices output is not supported".into());
            }
            Box::new(MaxPool2d::new(o).map_err(|e| e.to_string())?)
        } else {
            Box::new(AvgPool2d::new(o).map_err(|e| e.to_string())?)
        };
        return Ok(Some((c.module(label, m, (x.id, &x.shape))?, x.layout)));
    }
    let w = konst(c, n, 1)?.ok_or("the weight is missing")?.clone();
    if w.dims.len() != 4 {
        return Err(format!(
            "only 2-D convolutions are supported, weight is {:?}",
            w.dims
        ));
    }
    let kernel = [w.dims[2], w.dims[3]];
    let p = explicit_pads(n, hw, kernel, stride, dilation)?;
    let sym = [p[0].min(p[2]), p[1].min(p[3])];
    let mut cur = x.pair();
    for (i, ax) in [(0, 2), (1, 3)] {
        let (before, after) = (p[i] - sym[i], p[i + 2] - sym[i]);
        if before + after > 0 {
            let pad = TensorOp::Pad {
                axis: ax,
                before,
                after,
            };
            let Val::Node(id, shape) = c.op(&format!("{label}/pad{ax}"), pad, &[cur])? else {
                unreachable!("an op gives a node")
            };
            cur = (id, shape);
        }
    }
    let options = Conv2dOptions {
        stride,
        padding: sym,
        dilation,
        groups: usize::try_from(attr::int(n, "group", 1))
            .map_err(|_| "negative group".to_string())?,
    };
    let weight = tensor::<T>(&w);
    let bias = konst(c, n, 2)?.map(tensor::<T>);
    let name = c.layer_name(&n.input[1], n.input.get(2).map(String::as_str), label);
    let conv = Conv2d {
        weight,
        bias,
        options,
    };
    Ok(Some((
        c.module(&name, Box::new(conv), (cur.0, &cur.1))?,
        x.layout,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{attribute_proto::AttributeType, AttributeProto};

    fn conv(auto_pad: &str) -> NodeProto {
        NodeProto {
            op_type: Some("Conv".into()),
            attribute: vec![AttributeProto {
                name: Some("auto_pad".into()),
                s: Some(auto_pad.as_bytes().to_vec()),
                r#type: Some(AttributeType::String as i32),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn same_padding_puts_the_odd_pixel_at_the_end_or_the_start() {
        // 12 -> 6 with a 3x3 kernel, stride 2: one row of padding in all
        let (hw, k, s, d) = ([12, 11], [3, 3], [2, 2], [1, 1]);
        assert_eq!(
            explicit_pads(&conv("SAME_UPPER"), hw, k, s, d),
            Ok([0, 1, 1, 1])
        );
        assert_eq!(
            explicit_pads(&conv("SAME_LOWER"), hw, k, s, d),
            Ok([1, 1, 0, 1])
        );
        assert_eq!(explicit_pads(&conv("VALID"), hw, k, s, d), Ok([0; 4]));
        assert!(needed(&conv("SAME_UPPER")) && !needed(&conv("VALID")));
    }
}
