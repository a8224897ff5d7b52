//! [`GraphBuilder`]: writes a [`Graph`] node by node, in evaluation order.

use smoothgrad_autograd::{Scalar, Tensor};

use super::{Graph, Node, NodeKind, TensorOp, ValueId};
use crate::error::{NnError, Result};
use crate::module::Module;

/// Adds nodes one at a time; each returns the [`ValueId`] of its output, which later nodes read.
/// Names must be unique: a module's state is named under its node's name, as in PyTorch
/// (`layer1.0.conv1` gives `layer1.0.conv1.weight`).
pub struct GraphBuilder<T: Scalar = f32> {
    nodes: Vec<Node<T>>,
    problems: Vec<String>,
}

impl<T: Scalar> Default for GraphBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> GraphBuilder<T> {
    /// A builder with no node yet.
    pub fn new() -> Self {
        GraphBuilder {
            nodes: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The graph's input (call once, first).
    pub fn input(&mut self) -> ValueId {
        if !self.nodes.is_empty() {
            self.problems
                .push("the input must be the first node".to_string());
        }
        self.push("input", NodeKind::Input, vec![])
    }

    /// A module applied to `x`, its state named under `name`.
    pub fn module(&mut self, name: &str, module: impl Module<T> + 'static, x: ValueId) -> ValueId {
        self.push(name, NodeKind::Module(Box::new(module)), vec![x])
    }

    /// A boxed module applied to `x`.
    pub fn module_boxed(&mut self, name: &str, module: Box<dyn Module<T>>, x: ValueId) -> ValueId {
        self.push(name, NodeKind::Module(module), vec![x])
    }

    /// A learned tensor stored under `name` itself (`layer_scale`, `class_token`), with no
    /// inputs: see [`NodeKind::Param`]. Combine it with batched values through broadcasting ops.
    pub fn param(&mut self, name: &str, value: Tensor<T>) -> ValueId {
        self.push(name, NodeKind::Param(value), vec![])
    }

    /// A parameter-free op of `inputs`.
    pub fn op(&mut self, name: &str, op: TensorOp, inputs: &[ValueId]) -> ValueId {
        if let Some(n) = op.arity() {
            if n != inputs.len() {
                self.problems.push(format!(
                    "node {name:?} ({op}) takes {n} inputs, given {}",
                    inputs.len()
                ));
            }
        } else if inputs.is_empty() {
            self.problems
                .push(format!("node {name:?} ({op}) needs at least one input"));
        }
        self.push(name, NodeKind::Op(op), inputs.to_vec())
    }

    /// `a + b` (a skip connection), named `name`.
    pub fn add(&mut self, name: &str, a: ValueId, b: ValueId) -> ValueId {
        self.op(name, TensorOp::Add, &[a, b])
    }

    fn push(&mut self, name: &str, kind: NodeKind<T>, inputs: Vec<ValueId>) -> ValueId {
        let id = self.nodes.len();
        if self.nodes.iter().any(|n| n.name == name) {
            self.problems
                .push(format!("node name {name:?} is used twice"));
        }
        if let Some(v) = inputs.iter().find(|v| v.0 >= id) {
            self.problems.push(format!(
                "node {name:?} reads value {} which is not computed before it",
                v.0
            ));
        }
        self.nodes.push(Node {
            name: name.to_string(),
            kind,
            inputs,
        });
        ValueId(id)
    }

    /// The graph returning `output`.
    ///
    /// # Errors
    /// [`NnError::Config`] listing every problem found while building (no input first, a name
    /// used twice, a wrong number of inputs, a value read before it is computed).
    pub fn finish(self, output: ValueId) -> Result<Graph<T>> {
        let mut problems = self.problems;
        if !matches!(
            self.nodes.first(),
            Some(Node {
                kind: NodeKind::Input,
                ..
            })
        ) {
            problems.push("the graph has no input node first".to_string());
        }
        if output.0 >= self.nodes.len() {
            problems.push(format!("the output {} is not a node", output.0));
        }
        if !problems.is_empty() {
            return Err(NnError::Config(format!(
                "invalid graph: {}",
                problems.join("; ")
            )));
        }
        Ok(Graph::from_parts(self.nodes, output))
    }
}
