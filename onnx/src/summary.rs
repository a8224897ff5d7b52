//! [`Summary`]: what an ONNX model is, read from its protobuf alone (no conversion), for
//! `smoothgrad inspect`: its inputs and outputs with their shapes (symbolic dimensions by name),
//! its opsets, how many parameters it stores, how many nodes of each op type it has, and every
//! node this importer does not support, with its name and opset.
//!
//! A summary never fails on an unsupported op: it lists them, so a user sees the whole model and
//! everything that stands between it and an explanation at once.
//!
//! ```no_run
//! let model = smoothgrad_onnx::read_model("m.onnx".as_ref(), smoothgrad_onnx::DEFAULT_MAX_BYTES)?;
//! let s = smoothgrad_onnx::summary::summarize(&model);
//! println!("{} parameters, {} unsupported node(s)", s.parameters, s.unsupported.len());
//! # Ok::<(), smoothgrad_onnx::OnnxError>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use crate::proto::tensor_proto::DataType;
use crate::proto::{GraphProto, ModelProto, TensorProto, ValueInfoProto};
use crate::validate::{node_label, CONVERTED, FOLDED};

/// One dimension of a declared shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A symbolic size, by its name (`batch`, `s77`).
    Named(String),
    /// A dimension with neither a size nor a name.
    Unknown,
}

impl fmt::Display for Dim {
    /// `224`, `batch`, or `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Named(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A graph input or output as the model declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSummary {
    /// The value's name.
    pub name: String,
    /// Its element type (`FLOAT`, `DOUBLE`), or `?` if not declared.
    pub elem_type: String,
    /// Its shape, `None` if the model declares none (any rank).
    pub dims: Option<Vec<Dim>>,
}

impl fmt::Display for ValueSummary {
    /// `input: FLOAT [batch, 3, 224, 224]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ", self.name, self.elem_type)?;
        match &self.dims {
            Some(d) => {
                let d: Vec<String> = d.iter().map(Dim::to_string).collect();
                write!(f, "[{}]", d.join(", "))
            }
            None => f.write_str("(shape not declared)"),
        }
    }
}

/// A node whose op this importer does not support.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedNode {
    /// The node's name (`#i` for the `i`-th node if it has none).
    pub node: String,
    /// Its op type, `domain::Op` outside the default domain.
    pub op: String,
    /// The version of the node's op set the model imports (0 if it imports none for it).
    pub opset: i64,
}

/// What an ONNX model is: see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The tool that wrote the file (`pytorch 2.15.0`), empty if not recorded.
    pub producer: String,
    /// Every op set the model imports, `(domain, version)`; the default domain is `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    /// The graph inputs that are not initializers (what a user feeds).
    pub inputs: Vec<ValueSummary>,
    /// The graph outputs.
    pub outputs: Vec<ValueSummary>,
    /// Elements of every floating-point initializer and `Constant` tensor: the model's
    /// parameters (integer tensors, shape arithmetic, are not counted).
    pub parameters: u64,
    /// The number of nodes.
    pub nodes: usize,
    /// Nodes per op type, most frequent first (ties by name); outside the default domain the op
    /// is `domain::Op`.
    pub op_counts: Vec<(String, usize)>,
    /// Every node this importer does not support, in graph order.
    pub unsupported: Vec<UnsupportedNode>,
}

/// The summary of `model` (an empty one if it has no graph).
pub fn summarize(model: &ModelProto) -> Summary {
    let opsets: Vec<(String, i64)> = model
        .opset_import
        .iter()
        .map(|o| {
            let d = if o.domain().is_empty() {
                "ai.onnx"
            } else {
                o.domain()
            };
            (d.to_string(), o.version())
        })
        .collect();
    let producer = [model.producer_name(), model.producer_version()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let empty = GraphProto::default();
    let g = model.graph.as_ref().unwrap_or(&empty);
    let init: HashSet<&str> = g.initializer.iter().map(|t| t.name()).collect();
    let opset_of = |domain: &str| {
        let d = if domain.is_empty() { "ai.onnx" } else { domain };
        opsets.iter().find(|(k, _)| k == d).map_or(0, |(_, v)| *v)
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut unsupported = Vec::new();
    // Counts of declared elements saturate: a malformed file may declare sizes past u64.
    let mut parameters: u64 = g
        .initializer
        .iter()
        .map(float_elements)
        .fold(0, u64::saturating_add);
    for (i, n) in g.node.iter().enumerate() {
        let default_domain = matches!(n.domain(), "" | "ai.onnx");
        let op = if default_domain {
            n.op_type().to_string()
        } else {
            format!("{}::{}", n.domain(), n.op_type())
        };
        if n.op_type() == "Constant" && default_domain {
            parameters = n
                .attribute
                .iter()
                .filter_map(|a| a.t.as_ref())
                .map(float_elements)
                .fold(parameters, u64::saturating_add);
        }
        let known = CONVERTED.contains(&n.op_type()) || FOLDED.contains(&n.op_type());
        if !default_domain || !known {
            unsupported.push(UnsupportedNode {
                node: node_label(n.name(), i),
                op: op.clone(),
                opset: opset_of(n.domain()),
            });
        }
        *counts.entry(op).or_default() += 1;
    }
    let mut op_counts: Vec<(String, usize)> = counts.into_iter().collect();
    op_counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Summary {
        producer,
        opsets,
        inputs: g
            .input
            .iter()
            .filter(|i| !init.contains(i.name()))
            .map(value)
            .collect(),
        outputs: g.output.iter().map(value).collect(),
        parameters,
        nodes: g.node.len(),
        op_counts,
        unsupported,
    }
}

/// The declared type and shape of `v`.
fn value(v: &ValueInfoProto) -> ValueSummary {
    use crate::proto::tensor_shape_proto::dimension::Value as D;
    use crate::proto::type_proto::Value as Ty;
    let tensor = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Ty::TensorType(t)) => Some(t),
        _ => None,
    };
    let elem_type = tensor
        .and_then(|t| t.elem_type)
        .map_or_else(|| "?".to_string(), type_name);
    let dims = tensor.and_then(|t| t.shape.as_ref()).map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(D::DimValue(n)) => Dim::Fixed(*n),
                Some(D::DimParam(p)) if !p.is_empty() => Dim::Named(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    ValueSummary {
        name: v.name().to_string(),
        elem_type,
        dims,
    }
}

/// The name of an ONNX element type (`FLOAT`), or its number if unknown.
fn type_name(t: i32) -> String {
    DataType::try_from(t).map_or_else(|_| format!("type {t}"), |d| d.as_str_name().to_string())
}

/// The element count of `t` if it is floating-point, else 0 (saturating at `u64::MAX` for
/// dimensions whose product does not fit).
fn float_elements(t: &TensorProto) -> u64 {
    let float = matches!(
        DataType::try_from(t.data_type.unwrap_or(0)),
        Ok(DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16)
    );
    if float {
        t.dims
            .iter()
            .fold(1u64, |p, &d| p.saturating_mul(d.max(0) as u64))
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttributeProto, NodeProto, OperatorSetIdProto};

    fn tensor(name: &str, dims: &[i64], dtype: DataType) -> TensorProto {
        TensorProto {
            name: Some(name.into()),
            dims: dims.to_vec(),
            data_type: Some(dtype as i32),
            ..Default::default()
        }
    }

    fn node(name: &str, op: &str, domain: &str) -> NodeProto {
        NodeProto {
            name: Some(name.into()),
            op_type: Some(op.into()),
            domain: Some(domain.into()),
            ..Default::default()
        }
    }

    #[test]
    fn counts_ops_parameters_and_lists_unsupported_nodes_with_their_opset() {
        let mut constant = node("c", "Constant", "");
        constant.attribute.push(AttributeProto {
            name: Some("value".into()),
            t: Some(tensor("k", &[2, 5], DataType::Float)),
            ..Default::default()
        });
        let graph = GraphProto {
            node: vec![
                node("conv", "Conv", ""),
                node("", "Relu", ""),
                node("r2", "Relu", ""),
                node("topk", "TopK", ""),
                node("custom", "Fancy", "com.example"),
                constant,
            ],
            initializer: vec![
                tensor("w", &[4, 3, 3, 3], DataType::Float),
                tensor("shape", &[4], DataType::Int64),
            ],
            ..Default::default()
        };
        let model = ModelProto {
            graph: Some(graph),
            opset_import: vec![
                OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(17),
                },
                OperatorSetIdProto {
                    domain: Some("com.example".into()),
                    version: Some(2),
                },
            ],
            ..Default::default()
        };
        let s = summarize(&model);
        assert_eq!(s.parameters, 4 * 27 + 10);
        assert_eq!(s.nodes, 6);
        assert_eq!(s.op_counts[0], ("Relu".to_string(), 2));
        assert_eq!(s.op_counts.len(), 5);
        let un: Vec<(String, String, i64)> = s
            .unsupported
            .iter()
            .map(|u| (u.node.clone(), u.op.clone(), u.opset))
            .collect();
        assert_eq!(
            un,
            vec![
                ("topk".into(), "TopK".into(), 17),
                ("custom".into(), "com.example::Fancy".into(), 2)
            ]
        );
        assert_eq!(
            s.opsets,
            vec![("ai.onnx".into(), 17), ("com.example".into(), 2)]
        );
    }

    #[test]
    fn dimensions_print_as_sizes_names_or_question_marks() {
        let v = ValueSummary {
            name: "input".into(),
            elem_type: "FLOAT".into(),
            dims: Some(vec![
                Dim::Named("batch".into()),
                Dim::Fixed(3),
                Dim::Unknown,
            ]),
        };
        assert_eq!(v.to_string(), "input: FLOAT [batch, 3, ?]");
    }
    #[test]
    fn declared_sizes_past_u64_saturate_instead_of_overflowing() {
        let huge = tensor("w", &[i64::MAX, 4], DataType::Float);
        assert_eq!(float_elements(&huge), u64::MAX);
        assert_eq!(float_elements(&tensor("w", &[3, -1], DataType::Float)), 0);
        let model = ModelProto {
            graph: Some(GraphProto {
                initializer: vec![huge.clone(), huge],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(summarize(&model).parameters, u64::MAX);
    }
}
