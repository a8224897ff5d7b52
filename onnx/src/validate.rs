//! Checks run before any conversion: every node input is defined earlier (by a graph input, an
//! initializer or an earlier node: topological order), every supported op has its required
//! inputs and an output (`arity.rs`), and every op is supported. All
//! unsupported ops are reported in one error.

use std::collections::HashSet;

use crate::error::{OnnxError, Result};
use crate::proto::GraphProto;

/// Ops converted to graph nodes.
pub const CONVERTED: &[&str] = &[
    "Conv",
    "BatchNormalization",
    "Relu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Flatten",
    "Gemm",
    "MatMul",
    "Reshape",
    "Concat",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Dropout",
    "Split",
    "Transpose",
    "ReduceMean",
];

/// Ops evaluated at import time when their inputs are constants (shape arithmetic).
pub const FOLDED: &[&str] = &[
    "Constant",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Cast",
    "Slice",
    "ConstantOfShape",
];

/// Checks `g`'s order and op set (`opset` is named in the error).
///
/// # Errors
/// [`OnnxError::Graph`] for an input read before it is defined (naming the node and input),
/// [`OnnxError::Unsupported`] listing every unsupported op with its node name.
pub fn validate(g: &GraphProto, opset: i64) -> Result<()> {
    let mut defined: HashSet<&str> = g.input.iter().map(|i| i.name()).collect();
    defined.extend(g.initializer.iter().map(|t| t.name()));
    let mut unsupported = Vec::new();
    for (i, n) in g.node.iter().enumerate() {
        let label = node_label(n.name(), i);
        for input in &n.input {
            if !input.is_empty() && !defined.contains(input.as_str()) {
                return Err(OnnxError::Graph(format!(
                    "node {label:?} ({}) reads {input:?}, which no graph input, initializer or earlier node defines",
                    n.op_type()
                )));
            }
        }
        let op = n.op_type();
        if CONVERTED.contains(&op) || FOLDED.contains(&op) {
            if let Some(reason) = crate::arity::check(n) {
                return Err(OnnxError::Graph(format!("node {label:?}: {reason}")));
            }
        }
        defined.extend(n.output.iter().map(|o| o.as_str()));
        let domain_ok = matches!(n.domain(), "" | "ai.onnx");
        let extra = crate::layers_transformer::CONVERTED.contains(&op)
            || crate::fold_extra::FOLDED.contains(&op);
        if !domain_ok || !(CONVERTED.contains(&op) || FOLDED.contains(&op) || extra) {
            let op = if domain_ok {
                op.to_string()
            } else {
                format!("{}::{op}", n.domain())
            };
            unsupported.push(format!("{op} (node {label:?})"));
        }
    }
    for o in &g.output {
        if !defined.contains(o.name()) {
            return Err(OnnxError::Graph(format!(
                "graph output {:?} is never computed",
                o.name()
            )));
        }
    }
    if !unsupported.is_empty() {
        return Err(OnnxError::Unsupported(format!(
            "{} unsupported op(s) at opset {opset}: {}",
            unsupported.len(),
            unsupported.join(", ")
        )));
    }
    Ok(())
}

/// A node's name, or `#i` for an unnamed node.
pub fn node_label(name: &str, i: usize) -> String {
    if name.is_empty() {
        format!("#{i}")
    } else {
        name.to_string()
    }
}
