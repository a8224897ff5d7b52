//! One ONNX node with a runtime input to graph nodes: the dispatch over op types. The layers
//! themselves are in the `layers_*` files by family (convolution, pooling, linear, shape,
//! activations).

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::{Hardswish, Module, ReLU, Sigmoid, TensorOp, ValueId};

use crate::constant::Const;
use crate::convert::{Converter, Val};
use crate::proto::NodeProto;
use crate::{layers_activation as act, layers_conv, layers_linear, layers_pool, layers_shape};

/// A conversion result; the error is the reason, completed with the node by the caller.
pub type R<T> = std::result::Result<T, String>;

/// A runtime value and its shape for the example input.
pub type X = (ValueId, Vec<usize>);

/// The constant input `i` of `n`, if present.
pub fn konst<'a, T: Scalar>(c: &'a Converter<T>, n: &NodeProto, i: usize) -> R<Option<&'a Const>> {
    match n.input.get(i).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => match c.vals.get(x) {
            Some(Val::Const(k)) => Ok(Some(k)),
            _ => Err(format!(
                "input {i} ({x:?}) must be a constant (an initializer or folded)"
            )),
        },
    }
}

/// Converts `n` (whose first input is computed at run time), named `label`: its outputs'
/// values, in order (several for `Split`).
pub fn node<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str) -> R<Vec<Val>> {
    // Transformer-era and batch-following conversions first: they must see a constant first
    // input (a class token) before it becomes a parameter node.
    if let Some(v) = crate::layers_transformer::node(c, n, label)? {
        return Ok(vec![v]);
    }
    let x = c.node_value(&n.input[0])?;
    match n.op_type() {
        "Split" => layers_shape::split(c, n, label, x),
        _ => single(c, n, label, x).map(|v| vec![v]),
    }
}

/// Converts a node with one output.
fn single<T: Scalar>(c: &mut Converter<T>, n: &NodeProto, label: &str, x: X) -> R<Val> {
    let op = n.op_type();
    let unit = |m: Box<dyn Module<T>>, c: &mut Converter<T>| c.module(label, m, (x.0, &x.1));
    match op {
        "Relu" => unit(Box::new(ReLU), c),
        "Sigmoid" => unit(Box::new(Sigmoid), c),
        "HardSwish" => unit(Box::new(Hardswish), c),
        "HardSigmoid" => unit(act::hard_sigmoid(n)?, c),
        "Clip" => unit(act::clip(c, n)?, c),
        "Softmax" | "LogSoftmax" => unit(act::softmax(c, n, x.1.len())?, c),
        "Identity" | "Dropout" => Ok(Val::Node(x.0, x.1)),
        "Add" | "Sub" | "Mul" | "Div" => {
            let y = c.node_value(&n.input[1])?;
            let t = match op {
                "Add" => TensorOp::Add,
                "Sub" => TensorOp::Sub,
                "Mul" => TensorOp::Mul,
                _ => TensorOp::Div,
            };
            c.op(label, t, &[x, y])
        }
        "Concat" => layers_shape::concat(c, n, label, x),
        "Flatten" => layers_shape::flatten(c, n, label, x),
        "Reshape" => layers_shape::reshape(c, n, label, x),
        "Transpose" => layers_shape::transpose(c, n, label, x),
        "Slice" => layers_shape::slice(c, n, label, x),
        "ReduceMean" => layers_pool::reduce_mean(c, n, label, x),
        "GlobalAveragePool" => layers_pool::global_average_pool(c, label, x),
        "MaxPool" | "AveragePool" => layers_pool::pool(c, n, label, x),
        "MatMul" => layers_linear::matmul(c, n, label, x),
        "Gemm" => layers_linear::gemm(c, n, label, x),
        "Conv" => layers_conv::conv(c, n, label, x),
        "BatchNormalization" => layers_conv::batchnorm(c, n, label, x),
        other => Err(format!("{other} is not supported with a runtime input")),
    }
}
