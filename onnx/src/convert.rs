//! Conversion of a validated ONNX graph to a [`Graph`]: one loop over the nodes in order,
//! folding nodes whose inputs are all constants and adding a module or [`TensorOp`] node for
//! the rest (see [`crate::layers`]).
//!
//! Naming: a layer whose weight initializer is named `P.weight` (and bias, if any, `P.bias`) is
//! the node `P`, so its state keys are the initializer names (`fc.weight`, `fc.bias`); other
//! layers (weights the exporter folded, named `onnx::Conv_193`) are named after their ONNX node
//! (`/layer1/layer1.0/conv1/Conv`, state `/layer1/layer1.0/conv1/Conv.weight`). A constant
//! operand of an elementwise op is a parameter node named after its initializer.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_nn::{Graph, GraphBuilder, Module, TensorOp, ValueId};

use crate::constant::{self, Const};
use crate::error::{OnnxError, Result};
use crate::fold;
use crate::layers;
use crate::proto::{GraphProto, NodeProto};
use crate::validate::node_label;

/// A value during conversion: known at import time, or computed by a graph node (with its
/// shape for the model's example input).
pub enum Val {
    /// A constant.
    Const(Const),
    /// A graph value and its shape.
    Node(ValueId, Vec<usize>),
}

/// The conversion state: the builder, every ONNX value by name, and the node names used.
pub struct Converter<T: Scalar> {
    /// The graph being built.
    pub g: GraphBuilder<T>,
    /// ONNX values by name; initializers are constants.
    pub vals: HashMap<String, Val>,
    /// The parameter node of each constant some node reads as a graph value, by the constant's
    /// name: made once and shared, while the constant stays a constant in `vals` for the nodes
    /// that need it as one (an exporter may share one initializer between an `Add` operand and
    /// a `LayerNormalization` bias).
    params: HashMap<String, (ValueId, Vec<usize>)>,
    used: HashSet<String>,
    /// The model's opset.
    pub opset: i64,
    /// Where the batch is in values whose batch is not axis 0.
    pub layouts: crate::batch_layout::Layouts,
}

/// `c` as a tensor of `T`.
pub fn tensor<T: Scalar>(c: &Const) -> Tensor<T> {
    let v = c.as_floats().into_iter().map(T::from_f64_lossy).collect();
    Tensor::from_vec(v, &c.dims).expect("a constant's values match its dimensions")
}

impl<T: Scalar> Converter<T> {
    /// A unique node name: `preferred` if free, else it with a numeric suffix.
    pub fn name(&mut self, preferred: &str) -> String {
        let mut name = preferred.to_string();
        let mut k = 1;
        while self.used.contains(&name) {
            name = format!("{preferred}_{k}");
            k += 1;
        }
        self.used.insert(name.clone());
        name
    }

    /// The preferred name of a layer whose weight and bias initializers are `w` and `b`: their
    /// common prefix `P` if they are `P.weight` and `P.bias` and `P` is free, else `label`
    /// (made unique when the node is added).
    pub fn layer_name(&self, w: &str, b: Option<&str>, label: &str) -> String {
        if let Some(p) = w.strip_suffix(".weight") {
            let bias_ok = b.is_none_or(|b| b.strip_suffix(".bias") == Some(p));
            if bias_ok && !p.is_empty() && !self.used.contains(p) {
                return p.to_string();
            }
        }
        label.to_string()
    }

    /// Adds a module node reading `x` and records its output shape.
    pub fn module(
        &mut self,
        name: &str,
        m: Box<dyn Module<T>>,
        x: (ValueId, &[usize]),
    ) -> std::result::Result<Val, String> {
        let shape = m.output_shape(x.1).map_err(|e| e.to_string())?;
        let name = self.name(name);
        Ok(Val::Node(self.g.module_boxed(&name, m, x.0), shape))
    }

    /// Adds an op node reading `xs` and records its output shape.
    pub fn op(
        &mut self,
        name: &str,
        op: TensorOp,
        xs: &[(ValueId, Vec<usize>)],
    ) -> std::result::Result<Val, String> {
        let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.1.clone()).collect();
        let shape = op.output_shape(&shapes)?;
        let ids: Vec<ValueId> = xs.iter().map(|x| x.0).collect();
        let name = self.name(name);
        Ok(Val::Node(self.g.op(&name, op, &ids), shape))
    }

    /// The value `name` as a graph value: a constant's is its parameter node, made on first
    /// use (and kept a constant in [`Converter::vals`]).
    ///
    /// # Errors
    /// A name the conversion has no value for: a second graph input, or an output of a node
    /// other than its first (which the importer does not compute).
    pub fn node_value(&mut self, name: &str) -> std::result::Result<(ValueId, Vec<usize>), String> {
        let Some(val) = self.vals.get(name) else {
            return Err(format!(
                "input {name:?} is not a value the importer computes (only the first graph input \
                 and the outputs of converted nodes are)"
            ));
        };
        Ok(match val {
            Val::Node(id, s) => (*id, s.clone()),
            Val::Const(c) => {
                if let Some(p) = self.params.get(name) {
                    return Ok(p.clone());
                }
                let t = tensor::<T>(c);
                let shape = c.dims.clone();
                let pname = self.name(name);
                let id = self.g.param(&pname, t);
                self.params.insert(name.to_string(), (id, shape.clone()));
                (id, shape)
            }
        })
    }
}

/// Converts `g` (already validated) to a graph of `T`; external data is read under `dir`.
///
/// # Errors
/// [`OnnxError::Tensor`]/[`OnnxError::ExternalData`] for bad constants, [`OnnxError::Convert`]
/// for a node that cannot be converted, [`OnnxError::Graph`] for a missing input or output.
/// `given` is the actual input's shape, for the model's symbolic dimensions.
pub fn convert<T: Scalar>(
    g: &GraphProto,
    dir: &Path,
    opset: i64,
    given: Option<&[usize]>,
) -> Result<Graph<T>> {
    let mut c = Converter {
        g: GraphBuilder::new(),
        vals: HashMap::new(),
        params: HashMap::new(),
        used: HashSet::new(),
        opset,
        layouts: Default::default(),
    };
    for t in &g.initializer {
        c.vals
            .insert(t.name().to_string(), Val::Const(constant::decode(t, dir)?));
    }
    let input = g
        .input
        .iter()
        .find(|i| !c.vals.contains_key(i.name()))
        .ok_or_else(|| {
            OnnxError::Graph("the graph has no input that is not an initializer".into())
        })?;
    let shape = input_shape(input, given).map_err(OnnxError::Graph)?;
    // Shape arithmetic on the example input must not overflow: at most 2^32 elements.
    if shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_none_or(|n| n > 1 << 32)
    {
        return Err(OnnxError::Graph(format!(
            "graph input {:?} has dimensions {shape:?}, more than 2^32 elements",
            input.name()
        )));
    }
    c.layouts.batch = shape.first().copied().unwrap_or(1).max(1);
    let id = c.g.input();
    c.used.insert("input".into());
    c.vals
        .insert(input.name().to_string(), Val::Node(id, shape));
    let read: HashSet<&str> = g
        .node
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .chain(g.output.iter().map(|o| o.name()))
        .collect();
    for (i, n) in g.node.iter().enumerate() {
        let label = node_label(n.name(), i);
        let err = |reason: String| OnnxError::Convert {
            node: label.clone(),
            op: n.op_type().to_string(),
            reason,
        };
        let outs = if n.op_type() == "Constant" {
            let t = crate::attr::tensor(n, "value")
                .ok_or_else(|| err("only a `value` tensor constant is supported".into()))?;
            vec![Val::Const(constant::decode(t, dir)?)]
        } else {
            let all_const = n
                .input
                .iter()
                .all(|x| x.is_empty() || matches!(c.vals.get(x), Some(Val::Const(_))));
            if n.op_type() == "Shape" {
                vec![shape_of(&c, n).map_err(err)?]
            } else if all_const
                && !n.input.is_empty()
                && !matches!(
                    n.op_type(),
                    "Conv" | "Gemm" | "MatMul" | "BatchNormalization"
                )
            {
                let xs: Vec<Option<Const>> = n
                    .input
                    .iter()
                    .map(|x| match c.vals.get(x) {
                        Some(Val::Const(k)) => Some(k.clone()),
                        _ => None,
                    })
                    .collect();
                vec![Val::Const(fold::fold(n, &xs, opset).map_err(err)?)]
            } else {
                layers::node(&mut c, n, &label).map_err(err)?
            }
        };
        if n.output.is_empty() {
            return Err(OnnxError::Graph(format!("node {label:?} has no output")));
        }
        record_outputs(&mut c, n, outs, &read).map_err(err)?;
    }
    let out_name = g
        .output
        .first()
        .map(|o| o.name())
        .ok_or_else(|| OnnxError::Graph("the graph has no output".into()))?;
    let out = match c.vals.get(out_name) {
        Some(Val::Node(id, _)) => *id,
        _ => {
            return Err(OnnxError::Graph(format!(
                "output {out_name:?} is a constant, not computed from the input"
            )))
        }
    };
    c.g.finish(out).map_err(|e| OnnxError::Graph(e.to_string()))
}

/// Records the values `outs` a node gave for its outputs, in order (a `Split` gives several).
/// An output the conversion does not give (a `Dropout` mask, `MaxPool` indices) is an error
/// only if a later node or the graph output reads it.
fn record_outputs<T: Scalar>(
    c: &mut Converter<T>,
    n: &NodeProto,
    outs: Vec<Val>,
    read: &HashSet<&str>,
) -> std::result::Result<(), String> {
    let given = outs.len();
    for (i, name) in n.output.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        if i >= given && read.contains(name.as_str()) {
            return Err(format!(
                "output {i} ({name:?}) is read later, but only the first {given} output(s) are converted"
            ));
        }
    }
    for (name, v) in n.output.iter().zip(outs) {
        if !name.is_empty() {
            c.vals.insert(name.clone(), v);
        }
    }
    Ok(())
}

/// `Shape` of a value: its dimensions for the example input, as INT64.
fn shape_of<T: Scalar>(c: &Converter<T>, n: &NodeProto) -> std::result::Result<Val, String> {
    let dims: Vec<usize> = match c.vals.get(&n.input[0]) {
        Some(Val::Node(_, s)) => s.clone(),
        Some(Val::Const(k)) => k.dims.clone(),
        None => return Err("input is undefined".into()),
    };
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(crate::attr::int(n, "start", 0));
    let end = clamp(crate::attr::int(n, "end", rank)).max(start);
    let v: Vec<i64> = dims[start..end].iter().map(|&d| d as i64).collect();
    Ok(Val::Const(Const::ints(vec![v.len()], v)))
}

/// The input's shape: its type's dimensions, a symbolic or missing one taken from `given`
/// (the actual input's shape) or, without it, as 1. A fixed dimension after the batch must
/// equal `given`'s; the batch may differ (a batch-1 export runs on any batch), and a fixed
/// batch is kept: it is the example batch the export's constant shapes were written for
/// (a flatten's `[1, 512]`), which the importer follows to whatever batch the graph runs on.
fn input_shape(
    i: &crate::proto::ValueInfoProto,
    given: Option<&[usize]>,
) -> std::result::Result<Vec<usize>, String> {
    use crate::proto::tensor_shape_proto::dimension::Value;
    use crate::proto::type_proto::Value as Ty;
    let Some(Ty::TensorType(t)) = i.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(given.map_or(vec![1, 3, 224, 224], <[usize]>::to_vec));
    };
    let dims = t.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or(&[]);
    let fixed: Vec<Option<usize>> = dims
        .iter()
        .map(|d| match d.value {
            Some(Value::DimValue(v)) if v > 0 => Some(v as usize),
            _ => None,
        })
        .collect();
    let Some(given) = given else {
        return Ok(fixed.iter().map(|d| d.unwrap_or(1)).collect());
    };
    let model: Vec<String> = fixed
        .iter()
        .map(|d| d.map_or("?".into(), |v| v.to_string()))
        .collect();
    if given.len() != fixed.len() {
        return Err(format!(
            "the model's input {:?} has shape [{}], but the given input has {} axes ({given:?})",
            i.name(),
            model.join(", "),
            given.len()
        ));
    }
    for (a, (&g, f)) in given.iter().zip(&fixed).enumerate().skip(1) {
        if f.is_some_and(|f| f != g) {
            return Err(format!(
                "the model's input {:?} has shape [{}], but the given input is {given:?} (axis {a} differs)",
                i.name(),
                model.join(", ")
            ));
        }
    }
    let mut shape = given.to_vec();
    if let Some(&Some(b)) = fixed.first() {
        shape[0] = b;
    }
    Ok(shape)
}
