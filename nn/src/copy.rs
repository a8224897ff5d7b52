//! Copies of models: each layer rebuilt from its spec and given the original's state (every
//! parameter and buffer, by name) and mode, so a copy computes exactly what the original does and
//! can be changed (folded) without touching it.

use std::collections::HashMap;

use smoothgrad_autograd::{Scalar, Tensor};

use crate::error::{NnError, Result};
use crate::graph::{Graph, Node, NodeKind};
use crate::module::Module;
use crate::sequential::Sequential;
use crate::spec::describe::rebuild;

/// A copy of `m`, rebuilt from its spec, with its state and training mode.
///
/// # Errors
/// [`NnError::Config`] if `m` prints no spec this crate parses (a custom layer, a graph nested
/// as a module) or the rebuilt layer's state does not have the same names and shapes.
pub(crate) fn copy_module<T: Scalar>(m: &dyn Module<T>) -> Result<Box<dyn Module<T>>> {
    let spec = m.spec().unwrap_or_else(|| "<no spec>".to_string());
    let fail = |why: &str| {
        NnError::Config(format!(
            "cannot copy the layer {spec:?} to prepare the model: {why}"
        ))
    };
    let mut copy =
        rebuild::<T>(&spec).ok_or_else(|| fail("it prints no spec this crate parses"))?;
    let mut state: HashMap<String, Tensor<T>> = HashMap::new();
    m.visit_state(&mut |name, _, t| {
        state.insert(name.to_string(), t.clone());
    });
    let mut mismatch = false;
    copy.visit_state_mut(&mut |name, _, t| match state.remove(name) {
        Some(v) if v.shape() == t.shape() => *t = v,
        _ => mismatch = true,
    });
    if mismatch || !state.is_empty() {
        return Err(fail("the layer its spec builds has other state"));
    }
    copy.set_training(m.is_training());
    Ok(copy)
}

/// A copy of every layer of `model`.
///
/// # Errors
/// As [`copy_module`], for the first layer that cannot be copied.
pub(crate) fn copy_sequential<T: Scalar>(model: &Sequential<T>) -> Result<Sequential<T>> {
    let mut copy = Sequential::new();
    for (i, layer) in model.layers().iter().enumerate() {
        let layer = copy_module(layer.as_ref())?;
        let name = model.name(i);
        if name == i.to_string() {
            copy.push_boxed(layer);
        } else {
            copy.push_named(&name, layer)?;
        }
    }
    Ok(copy)
}

/// A copy of every node of `graph`, same names and wiring.
///
/// # Errors
/// As [`copy_module`], for the first module that cannot be copied.
pub(crate) fn copy_graph<T: Scalar>(graph: &Graph<T>) -> Result<Graph<T>> {
    let nodes = graph
        .nodes()
        .iter()
        .map(|n| {
            let kind = match n.kind() {
                NodeKind::Input => NodeKind::Input,
                NodeKind::Module(m) => NodeKind::Module(copy_module(m.as_ref())?),
                NodeKind::Op(op) => NodeKind::Op(op.clone()),
                NodeKind::Param(t) => NodeKind::Param(t.clone()),
            };
            Ok(Node {
                name: n.name().to_string(),
                kind,
                inputs: n.inputs().to_vec(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Graph::from_parts(nodes, graph.output()))
}
