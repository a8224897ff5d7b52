//! Pooling: `MaxPool` and `AveragePool` become [`MaxPool2d`]/[`AvgPool2d`],
//! `GlobalAveragePool` a [`TensorOp::Mean`] over the spatial axes.

use smoothgrad_autograd::{Pool2dOptions, Scalar};
use smoothgrad_nn::{AvgPool2d, MaxPool2d, Module, TensorOp};

use crate::attr;
use crate::convert::{Converter, Val};
use crate::layers::{R, X};
use crate::layers_conv::{pads, pair};
use crate::proto::NodeProto;

/// With `ceil_mode`, a window larger than the padded input still gives one output along that
/// axis when the overhang is under a stride (ONNX's and PyTorch's `ceil((in - k) / s) + 1`),
/// and that window is the whole padded input: the kernel is clipped to it, which gives the
/// same maximum and, with the divisor counting only elements inside, the same average.
fn clipped_kernel(o: &Pool2dOptions, shape: &[usize]) -> [usize; 2] {
    let mut k = o.kernel;
    for a in 0..2 {
        let Some(&size) = shape.get(2 + a) else {
            return k;
        };
        let padded = size + o.pads[a] + o.pads[a + 2];
        if k[a] > padded && k[a] - padded < o.stride[a] && o.pads[a] + o.pads[a + 2] == 0 {
            k[a] = padded;
        }
    }
    k
}

/// `GlobalAveragePool`: the mean over every axis after the channels, kept.
pub fn global_average_pool<T: Scalar>(c: &mut Converter<T>, label: &str, x: X) -> R<Val> {
    let axes = (2..x.1.len()).collect();
    c.op(
        label,
        TensorOp::Mean {
            axes,
            keepdim: true,
        },
        &[x],
    )
}

pub fn pool<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let kernel = pair(
        &attr::ints(n, "kernel_shape").unwrap_or_default(),
        "kernel_shape",
    )?;
    if attr::ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
        return Err("dilated pooling is not supported".into());
    }
    let mut o = Pool2dOptions::new2(kernel);
    o.stride = pair(&attr::ints(n, "strides").unwrap_or(vec![1, 1]), "strides")?;
    o.pads = pads(n)?;
    o.ceil_mode = attr::int(n, "ceil_mode", 0) != 0;
    o.count_include_pad = attr::int(n, "count_include_pad", 0) != 0;
    if o.ceil_mode {
        o.kernel = clipped_kernel(&o, &x.1);
    }
    let m: Box<dyn Module<T>> = if n.op_type() == "MaxPool" {
        if n.output.len() > 1 {
            return Err("MaxPool's Indices output is not supported".into());
        }
        Box::new(MaxPool2d::new(o).map_err(|e| e.to_string())?)
    } else {
        Box::new(AvgPool2d::new(o).map_err(|e| e.to_string())?)
    };
    c.module(label, m, (x.0, &x.1))
}

/// `ReduceMean` over non-batch axes (the axes an attribute before opset 18, an input from 18;
/// none given: every axis, which would average the batch, so refused) as [`TensorOp::Mean`].
/// Dynamo exports `AdaptiveAvgPool2d((1, 1))` this way.
pub fn reduce_mean<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let given = if c.opset >= 18 {
        crate::layers::konst(c, n, 1)?.map(crate::constant::Const::as_ints)
    } else {
        attr::ints(n, "axes")
    };
    let rank = x.1.len();
    let axes = match given {
        Some(a) if !a.is_empty() => a,
        _ if attr::int(n, "noop_with_empty_axes", 0) != 0 => return Ok(Val::Node(x.0, x.1)),
        _ => return Err("a mean over every axis (including the batch) is not supported".into()),
    };
    let mut axes = axes
        .iter()
        .map(|&a| crate::fold::axis(a, rank))
        .collect::<R<Vec<usize>>>()?;
    axes.sort_unstable();
    axes.dedup();
    if axes.first() == Some(&0) {
        return Err("a mean over the batch axis is not supported".into());
    }
    let keepdim = attr::int(n, "keepdims", 1) != 0;
    c.op(label, TensorOp::Mean { axes, keepdim }, &[x])
}
