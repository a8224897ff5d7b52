//! Reading a node's attributes by name, with ONNX's defaults.

use crate::proto::{AttributeProto, NodeProto, TensorProto};

fn find<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name() == name)
}

/// Integer attribute `name`, or `default`.
pub fn int(n: &NodeProto, name: &str, default: i64) -> i64 {
    find(n, name).map_or(default, |a| a.i())
}

/// Float attribute `name`, or `default`.
pub fn float(n: &NodeProto, name: &str, default: f32) -> f32 {
    find(n, name).map_or(default, |a| a.f())
}

/// Integer-list attribute `name`, if present.
pub fn ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    find(n, name).map(|a| a.ints.clone())
}

/// String attribute `name`, or `default`.
pub fn string(n: &NodeProto, name: &str, default: &str) -> String {
    find(n, name).map_or(default.to_string(), |a| {
        String::from_utf8_lossy(a.s()).into_owned()
    })
}

/// Tensor attribute `name`, if present.
pub fn tensor<'a>(n: &'a NodeProto, name: &str) -> Option<&'a TensorProto> {
    find(n, name).and_then(|a| a.t.as_ref())
}
