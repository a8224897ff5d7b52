//! ONNX graphs built from structured input: nodes over a small pool of value names (so cycles,
//! dangling inputs, unused and doubly defined values all occur), real op types with wrong or
//! missing inputs (arity), attributes with huge or negative values, initializers whose data
//! disagrees with their dimensions, and huge or negative dimensions on the graph input. Each
//! model is encoded and decoded, then validated and converted (`smoothgrad_onnx::import_model`)
//! and its output shape asked for, as `explain --model m.onnx` does.
#![no_main]

use std::path::Path;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use smoothgrad_nn::Module;
use smoothgrad_onnx::proto::{
    attribute_proto::AttributeType, tensor_shape_proto::dimension::Value as Dim,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

const OPS: [&str; 32] = [
    "Conv",
    "Relu",
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Reshape",
    "Flatten",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Concat",
    "Softmax",
    "Transpose",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Constant",
    "Identity",
    "Sigmoid",
    "Slice",
    "Cast",
    "ReduceMean",
    "Pad",
    "Clip",
    "HardSwish",
    "Dropout",
    "NoSuchOp",
];
const NAMES: [&str; 10] = ["x", "a", "b", "c", "d", "w0", "w1", "w2", "s", "y"];
const ATTRS: [&str; 12] = [
    "kernel_shape",
    "strides",
    "pads",
    "axis",
    "axes",
    "perm",
    "transB",
    "group",
    "dilations",
    "value",
    "epsilon",
    "to",
];

#[derive(Arbitrary, Debug)]
enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Tensor(Init),
}

#[derive(Arbitrary, Debug)]
struct Node {
    op: u8,
    inputs: Vec<u8>,
    outputs: Vec<u8>,
    attrs: Vec<(u8, Attr)>,
}

#[derive(Arbitrary, Debug)]
enum Data {
    Floats(Vec<f32>),
    Int64s(Vec<i64>),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Init {
    name: u8,
    dims: Vec<i64>,
    data_type: u8,
    data: Data,
}

#[derive(Arbitrary, Debug)]
struct Model {
    opset: u8,
    input_dims: Vec<i64>,
    nodes: Vec<Node>,
    inits: Vec<Init>,
    output: u8,
}

fn name(i: u8) -> String {
    NAMES[i as usize % NAMES.len()].to_string()
}

fn tensor(t: &Init) -> TensorProto {
    let mut p = TensorProto {
        name: Some(name(t.name)),
        dims: t.dims.iter().take(6).copied().collect(),
        data_type: Some(i32::from(t.data_type % 17)),
        ..Default::default()
    };
    match &t.data {
        Data::Floats(v) => p.float_data = v.clone(),
        Data::Int64s(v) => p.int64_data = v.clone(),
        Data::Raw(v) => p.raw_data = Some(v.clone()),
    }
    p
}

fn attribute(key: u8, a: &Attr) -> AttributeProto {
    let mut p = AttributeProto {
        name: Some(ATTRS[key as usize % ATTRS.len()].into()),
        ..Default::default()
    };
    match a {
        Attr::Int(i) => {
            p.i = Some(*i);
            p.r#type = Some(AttributeType::Int as i32);
        }
        Attr::Ints(v) => {
            p.ints = v.iter().take(8).copied().collect();
            p.r#type = Some(AttributeType::Ints as i32);
        }
        Attr::Float(f) => {
            p.f = Some(*f);
            p.r#type = Some(AttributeType::Float as i32);
        }
        Attr::Tensor(t) => {
            p.t = Some(tensor(t));
            p.r#type = Some(AttributeType::Tensor as i32);
        }
    }
    p
}

fn value(name: String, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(Dim::DimValue(d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn build(m: &Model) -> ModelProto {
    let node = m
        .nodes
        .iter()
        .take(12)
        .enumerate()
        .map(|(k, n)| NodeProto {
            op_type: Some(OPS[n.op as usize % OPS.len()].into()),
            name: Some(format!("n{k}")),
            input: n.inputs.iter().take(4).map(|&i| name(i)).collect(),
            output: n.outputs.iter().take(2).map(|&i| name(i)).collect(),
            attribute: n
                .attrs
                .iter()
                .take(4)
                .map(|(k, a)| attribute(*k, a))
                .collect(),
            ..Default::default()
        })
        .collect();
    let dims: Vec<i64> = m.input_dims.iter().take(5).copied().collect();
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(i64::from(m.opset % 24)),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node,
            initializer: m.inits.iter().take(4).map(tensor).collect(),
            input: vec![value("x".into(), &dims)],
            output: vec![value(name(m.output), &[])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fuzz_target!(|m: Model| {
    let bytes = build(&m).encode_to_vec();
    let Ok(model) = smoothgrad_onnx::decode_model(&bytes) else {
        return;
    };
    if let Ok(graph) = smoothgrad_onnx::import_model::<f32>(&model, Path::new("/nonexistent")) {
        let dims: Vec<usize> = m
            .input_dims
            .iter()
            .take(5)
            .map(|&d| usize::try_from(d).unwrap_or(1).clamp(1, 8))
            .collect();
        let _ = graph.output_shape(&dims);
    }
});
