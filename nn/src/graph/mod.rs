//! [`Graph`]: a model that is a DAG over named values, whose nodes are modules (with state, named
//! as in the source model) or parameter-free [`TensorOp`]s. [`crate::Sequential`] is its simplest
//! case; ResNet's skip connections, DenseNet's concatenations and squeeze-and-excitation's channel
//! scaling are graphs.
//!
//! Build one with [`GraphBuilder`]: a ResNet basic block in a few lines,
//!
//! ```
//! use smoothgrad_autograd::{Conv2dOptions, Tape, Tensor};
//! use smoothgrad_nn::{BatchNorm2d, Conv2d, Context, GraphBuilder, Module, ReLU, TensorOp};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let same = Conv2dOptions::default().padding(1);
//! let mut conv = |c| Conv2d::<f32>::new(c, c, [3, 3], same, false, &mut rng).unwrap();
//! let mut g = GraphBuilder::<f32>::new();
//! let x = g.input();
//! let h = g.module("conv1", conv(4), x);
//! let h = g.module("bn1", BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap(), h);
//! let h = g.module("relu", ReLU, h);
//! let h = g.module("conv2", conv(4), h);
//! let h = g.module("bn2", BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap(), h);
//! let s = g.op("add", TensorOp::Add, &[h, x]);
//! let y = g.module("relu2", ReLU, s);
//! let block = g.finish(y).unwrap();
//!
//! assert_eq!(block.output_shape(&[2, 4, 8, 8]).unwrap(), vec![2, 4, 8, 8]);
//! let names: Vec<String> = block.state_dict().into_iter().map(|(n, ..)| n).collect();
//! assert_eq!(names[0], "conv1.weight");
//! let tape = Tape::new();
//! let out = block.forward(tape.var(Tensor::zeros(&[2, 4, 8, 8])), &mut Context::inference(&tape));
//! assert_eq!(out.shape(), vec![2, 4, 8, 8]);
//! ```
//!
//! State names are the node names joined to the module's own (`layer1.0.conv1.weight`), so a
//! graph built with torchvision's module names loads its `state_dict` unchanged.
//!
//! A bare learned tensor of the source model (an `nn.Parameter` attribute such as ConvNeXt's
//! `layer_scale` or ViT's `class_token`) is a parameter node, [`GraphBuilder::param`]: it has no
//! inputs, its value is the tensor, and its state name is the node's name alone (`layer_scale`).
//! A node rather than a module, because a module's state is always named under its node
//! (`layer_scale.weight`), which would not match the source's keys.

mod builder;
mod description;
pub(crate) mod fold;
mod op_text;
mod tensor_op;

use std::fmt;

use smoothgrad_autograd::{Scalar, Tensor, Var};

pub use builder::GraphBuilder;
pub use tensor_op::TensorOp;

use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind, Structure};

/// A value of a graph: the output of one node (the input is value 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueId(pub(crate) usize);

impl ValueId {
    /// The position of the node that computes this value.
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a node computes.
pub enum NodeKind<T: Scalar = f32> {
    /// The graph's input.
    Input,
    /// A module applied to one value; its state is named under the node's name.
    Module(Box<dyn Module<T>>),
    /// A parameter-free op of its inputs.
    Op(TensorOp),
    /// A learned tensor with no inputs, stored under the node's name alone (a PyTorch
    /// `nn.Parameter` attribute: ConvNeXt's `layer_scale`, ViT's `class_token`). Its value has
    /// the tensor's own shape (no batch axis); broadcasting ops combine it with batched values.
    Param(Tensor<T>),
}

/// One node: its name, what it computes, and the values it reads (all computed before it).
pub struct Node<T: Scalar = f32> {
    pub(crate) name: String,
    pub(crate) kind: NodeKind<T>,
    pub(crate) inputs: Vec<ValueId>,
}

impl<T: Scalar> Node<T> {
    /// The node's name (the prefix of its module's state names).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it computes.
    pub fn kind(&self) -> &NodeKind<T> {
        &self.kind
    }

    /// The values it reads.
    pub fn inputs(&self) -> &[ValueId] {
        &self.inputs
    }
}

/// A model that is a DAG of nodes in topological order: node 0 is the input, every node reads
/// only earlier nodes' values, and one node's value is the output.
///
/// A forward pass is one loop over the nodes, each value kept only while a later node reads it.
pub struct Graph<T: Scalar = f32> {
    nodes: Vec<Node<T>>,
    output: ValueId,
    /// For each node, the last node that reads its value (so the loop can drop it after).
    last_use: Vec<usize>,
}

impl<T: Scalar> Graph<T> {
    /// The nodes, in evaluation order.
    pub fn nodes(&self) -> &[Node<T>] {
        &self.nodes
    }

    /// The value the graph returns.
    pub fn output(&self) -> ValueId {
        self.output
    }

    /// The node named `name`, if any.
    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.nodes.iter().position(|n| n.name == name).map(ValueId)
    }

    /// The same graph returning another node's value (Xplique's `output_layer`): the nodes after
    /// it that it does not need are dropped.
    ///
    /// # Errors
    /// [`NnError::Config`] if `output` is not a node of this graph.
    pub fn with_output(mut self, output: ValueId) -> Result<Self> {
        if output.0 >= self.nodes.len() {
            return Err(NnError::Config(format!(
                "node {} is not in a graph of {} nodes",
                output.0,
                self.nodes.len()
            )));
        }
        self.nodes.truncate(output.0 + 1);
        Ok(Self::from_parts(self.nodes, output))
    }

    /// The graph's structure as text, one node per line (see [`Graph::from_description`] for the
    /// format): what [`crate::weights::save`] records in a file's `graph` metadata.
    ///
    /// ```
    /// use smoothgrad_nn::{GraphBuilder, Linear, ReLU, TensorOp};
    /// use smoothgrad_autograd::Tensor;
    ///
    /// let mut g = GraphBuilder::<f32>::new();
    /// let x = g.input();
    /// let h = g.module("fc", Linear::from_weights(Tensor::zeros(&[2, 2]), None).unwrap(), x);
    /// let h = g.module("act", ReLU, h);
    /// let y = g.op("skip", TensorOp::Add, &[h, x]);
    /// let graph = g.finish(y).unwrap();
    /// let text = graph.description().unwrap();
    /// assert_eq!(text, "input \"input\"\n\
    ///                   module \"fc\" (\"input\") linear(2,2,bias=False)\n\
    ///                   module \"act\" (\"fc\") relu\n\
    ///                   op \"skip\" (\"act\", \"input\") add\n\
    ///                   output \"skip\"");
    /// let again = smoothgrad_nn::Graph::<f32>::from_description(&text).unwrap();
    /// assert_eq!(again.description().unwrap(), text);
    /// ```
    ///
    /// # Errors
    /// [`NnError::Config`] naming the first module node without a spec (or a nested graph): such
    /// a graph cannot be described.
    pub fn description(&self) -> Result<String> {
        description::describe(self)
    }

    /// Rebuilds a graph from its [`Graph::description`]. Module weights are PyTorch's default
    /// initialisation (seed 0), for a weights file to replace.
    ///
    /// One node per line, in evaluation order, then the output; names are double-quoted:
    ///
    /// ```text
    /// input "input"
    /// module "conv1" ("input") conv2d(4,4,3,padding=1,bias=False)
    /// sequential "head" ("conv1") flatten, linear(64,10)
    /// op "cat" ("conv1", "input") concat(axis=1)
    /// output "cat"
    /// ```
    ///
    /// `module` is one layer (state `conv1.weight`), `sequential` a [`crate::Sequential`] of the
    /// spec's layers (state `head.1.weight`), `op` a [`TensorOp`] as it prints.
    ///
    /// # Errors
    /// [`NnError::Config`] with the line and column of the first problem, what was expected and
    /// found, the line and a caret: an unknown keyword, a name used twice, an input that is not
    /// an earlier node, a wrong number of inputs, an invalid spec or op, a missing output.
    pub fn from_description(text: &str) -> Result<Self> {
        description::parse(text)
    }

    /// The value of the graph's logits: its output, or, if the output is a normalizer module
    /// (softmax, log-softmax: [`Module::is_normalizer`]), the value it normalizes (repeatedly).
    pub fn logits_value(&self) -> ValueId {
        let mut v = self.output;
        while let NodeKind::Module(m) = &self.nodes[v.0].kind {
            if !m.is_normalizer() {
                break;
            }
            v = self.nodes[v.0].inputs[0];
        }
        v
    }

    /// The value `value` for input `x`, computing only the nodes it depends on: the graph cut at
    /// a node (Xplique's `output_layer`) without changing the graph.
    ///
    /// # Panics
    /// If `value` is not a node of this graph, or the input shape is one the nodes reject (check
    /// it first with [`Graph::shape_of`]).
    pub fn forward_to<'t>(
        &self,
        x: Var<'t, T>,
        cx: &mut Context<'t, T>,
        value: ValueId,
    ) -> Var<'t, T> {
        let mut needed = vec![false; value.0 + 1];
        needed[value.0] = true;
        for i in (0..=value.0).rev() {
            if needed[i] {
                for v in &self.nodes[i].inputs {
                    needed[v.0] = true;
                }
            }
        }
        self.run_to(x, cx, value, &needed)
    }

    /// The shape of value `value` for an input shape.
    ///
    /// # Errors
    /// [`NnError::Shape`] naming the first node that rejects its inputs, by name;
    /// [`NnError::Config`] if `value` is not a node of this graph.
    pub fn shape_of(&self, input: &[usize], value: ValueId) -> Result<Vec<usize>> {
        if value.0 >= self.nodes.len() {
            return Err(NnError::Config(format!(
                "node {} is not in a graph of {} nodes",
                value.0,
                self.nodes.len()
            )));
        }
        let mut shapes = self.shapes_through(input, value.0 + 1)?;
        Ok(shapes.swap_remove(value.0))
    }

    /// Assembles a graph from checked parts: topological order was checked by the builder.
    pub(crate) fn from_parts(nodes: Vec<Node<T>>, output: ValueId) -> Self {
        let mut last_use: Vec<usize> = (0..nodes.len()).collect();
        for (i, node) in nodes.iter().enumerate() {
            for v in &node.inputs {
                last_use[v.0] = i;
            }
        }
        last_use[output.0] = usize::MAX;
        Graph {
            nodes,
            output,
            last_use,
        }
    }

    /// Runs the nodes up to the output, dropping each value after its last reader.
    fn run<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        self.run_to(x, cx, self.output, &vec![true; self.output.0 + 1])
    }

    /// Runs the `needed` nodes up to `target`, dropping each value after its last reader.
    fn run_to<'t>(
        &self,
        x: Var<'t, T>,
        cx: &mut Context<'t, T>,
        target: ValueId,
        needed: &[bool],
    ) -> Var<'t, T> {
        let mut values: Vec<Option<Var<'t, T>>> = vec![None; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate().take(target.0 + 1) {
            if !needed[i] {
                continue;
            }
            let value = match &node.kind {
                NodeKind::Input => x,
                NodeKind::Module(m) => {
                    let input = values[node.inputs[0].0].expect("graph: value read after its drop");
                    cx.scoped(&node.name, |cx| m.forward(input, cx))
                }
                NodeKind::Op(op) => {
                    let args: Vec<Var<'t, T>> = node
                        .inputs
                        .iter()
                        .map(|v| values[v.0].expect("graph: value read after its drop"))
                        .collect();
                    op.forward(&args)
                }
                NodeKind::Param(t) => cx.param(&node.name, t),
            };
            values[i] = Some(value);
            for v in &node.inputs {
                if self.last_use[v.0] == i {
                    values[v.0] = None;
                }
            }
        }
        values[target.0].expect("graph: the output was not computed")
    }

    /// The `state_dict`: every stored tensor with its full name, in node order.
    pub fn state_dict(&self) -> Vec<(String, StateKind, Tensor<T>)> {
        let mut out = Vec::new();
        self.visit_state(&mut |name, kind, t| out.push((name.to_string(), kind, t.clone())));
        out
    }

    /// The shapes of every node's value for an input shape, or the first node that rejects its
    /// inputs, by name.
    ///
    /// # Errors
    /// [`NnError::Shape`] naming the node and what it expected.
    pub fn shapes(&self, input: &[usize]) -> Result<Vec<Vec<usize>>> {
        self.shapes_through(input, self.nodes.len())
    }

    /// The shapes of the first `n` nodes' values.
    fn shapes_through(&self, input: &[usize], n: usize) -> Result<Vec<Vec<usize>>> {
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(n);
        for node in &self.nodes[..n] {
            let ins: Vec<Vec<usize>> = node.inputs.iter().map(|v| shapes[v.0].clone()).collect();
            let shape = match &node.kind {
                NodeKind::Input => input.to_vec(),
                NodeKind::Module(m) => m.output_shape(&ins[0]).map_err(|e| match e {
                    NnError::Shape { layer, message } => NnError::Shape {
                        layer: format!("{} ({layer})", node.name),
                        message,
                    },
                    other => other,
                })?,
                NodeKind::Op(op) => op.output_shape(&ins).map_err(|message| NnError::Shape {
                    layer: format!("{} ({op})", node.name),
                    message,
                })?,
                NodeKind::Param(t) => t.shape().to_vec(),
            };
            shapes.push(shape);
        }
        Ok(shapes)
    }
}

impl<T: Scalar> Module<T> for Graph<T> {
    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        self.run(x, cx)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let mut shapes = self.shapes(input)?;
        Ok(shapes.swap_remove(self.output.0))
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        for node in &self.nodes {
            match &node.kind {
                NodeKind::Module(m) => {
                    m.visit_state(&mut |name, kind, t| f(&format!("{}.{name}", node.name), kind, t))
                }
                NodeKind::Param(t) => f(&node.name, StateKind::Parameter, t),
                NodeKind::Input | NodeKind::Op(_) => {}
            }
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        for node in &mut self.nodes {
            let prefix = node.name.clone();
            match &mut node.kind {
                NodeKind::Module(m) => {
                    m.visit_state_mut(&mut |name, kind, t| f(&format!("{prefix}.{name}"), kind, t))
                }
                NodeKind::Param(t) => f(&prefix, StateKind::Parameter, t),
                NodeKind::Input | NodeKind::Op(_) => {}
            }
        }
    }

    fn set_training(&mut self, training: bool) {
        for node in &mut self.nodes {
            if let NodeKind::Module(m) = &mut node.kind {
                m.set_training(training);
            }
        }
    }

    fn is_training(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(&n.kind, NodeKind::Module(m) if m.is_training()))
    }

    /// The value [`Graph::logits_value`].
    fn forward_logits<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        self.forward_to(x, cx, self.logits_value())
    }

    fn logits_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.shape_of(input, self.logits_value())
    }

    /// The module nodes, by node name.
    fn named_children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Module(m) => Some((n.name.clone(), &**m)),
                _ => None,
            })
            .collect()
    }

    /// [`Structure::Graph`] of its [`Graph::description`].
    fn structure(&self) -> Result<Structure> {
        self.description().map(Structure::Graph)
    }

    fn as_graph(&self) -> Option<&Graph<T>> {
        Some(self)
    }
}

impl<T: Scalar> fmt::Display for Graph<T> {
    /// One line per node: `name = what(inputs)`, the graph's text description.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            let args: Vec<&str> = node
                .inputs
                .iter()
                .map(|v| self.nodes[v.0].name.as_str())
                .collect();
            match &node.kind {
                NodeKind::Input => write!(f, "{} = input", node.name)?,
                NodeKind::Module(m) => write!(f, "{} = {m}({})", node.name, args.join(", "))?,
                NodeKind::Op(op) => write!(f, "{} = {op}({})", node.name, args.join(", "))?,
                NodeKind::Param(t) => write!(f, "{} = parameter{:?}", node.name, t.shape())?,
            }
        }
        write!(f, "; output {}", self.nodes[self.output.0].name)
    }
}

impl<T: Scalar> fmt::Debug for Graph<T> {
    /// `Graph(<the one-line description>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph({self})")
    }
}
