//! [`Sequential`]: layers applied one after another, named `0.`, `1.`, ... as PyTorch's
//! `nn.Sequential`, or by the names they were given ([`Sequential::push_named`]).

use std::fmt;
use std::ops::Range;

use smoothgrad_autograd::{Scalar, Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind, Structure};

/// A chain of modules. Its `state_dict` names are the children's prefixed by their index
/// (`0.weight`, `3.bias`), so a PyTorch `nn.Sequential` with the same layers loads unchanged; a
/// child added with [`Sequential::push_named`] is prefixed by its name instead (`conv1.weight`),
/// as a PyTorch module's attributes are.
///
/// Its spec ([`Module::spec`], also printed by `Display`) is its layers' specs joined by `", "`
/// (`conv2d(1,16,3,padding=1), relu, maxpool2d(2)`), which [`Sequential::from_spec`] parses back;
/// named children print as `conv1: conv2d(3,8,7)` and a `Sequential` inside another as a group in
/// parentheses. A chain with a layer that has no spec has none (`Display` prints that layer as
/// `<no spec>`).
pub struct Sequential<T: Scalar = f32> {
    layers: Vec<Box<dyn Module<T>>>,
    /// Each layer's name, `None` for its index.
    names: Vec<Option<String>>,
}

impl<T: Scalar> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> Sequential<T> {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Module<T> + 'static) {
        self.push_boxed(Box::new(layer));
    }

    /// Appends a boxed layer.
    pub fn push_boxed(&mut self, layer: Box<dyn Module<T>>) {
        self.layers.push(layer);
        self.names.push(None);
    }

    /// Appends a layer under `name` instead of its index: its state is named `name.weight`, ...
    ///
    /// # Errors
    /// [`NnError::Config`] if `name` is not an identifier (an ASCII letter or `_`, then letters,
    /// digits and `_`: unnamed layers own the integers) or another layer already has it.
    pub fn push_named(&mut self, name: &str, layer: Box<dyn Module<T>>) -> Result<()> {
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !identifier {
            return Err(NnError::Config(format!(
                "layer name {name:?} is not an identifier (a letter or _, then letters, digits \
                 and _)"
            )));
        }
        if self.names.iter().flatten().any(|n| n == name) {
            return Err(NnError::Config(format!("two layers are named {name:?}")));
        }
        self.layers.push(layer);
        self.names.push(Some(name.to_string()));
        Ok(())
    }

    /// The name of layer `i`: the one it was given, or its index.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    pub fn name(&self, i: usize) -> String {
        self.names[i].clone().unwrap_or_else(|| i.to_string())
    }

    /// Appends a layer, builder style.
    pub fn with(mut self, layer: impl Module<T> + 'static) -> Self {
        self.push(layer);
        self
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        &self.layers
    }

    /// The layers, by value.
    pub fn into_layers(self) -> Vec<Box<dyn Module<T>>> {
        self.layers
    }

    /// How many layers give the logits: the layers before the trailing normalizers (softmax,
    /// log-softmax: [`Module::is_normalizer`]), all of them if there is none.
    pub fn logits_len(&self) -> usize {
        let trailing = self
            .layers
            .iter()
            .rev()
            .take_while(|l| l.is_normalizer())
            .count();
        self.layers.len() - trailing
    }

    /// Applies layers `range` only: `forward_range(x, cx, 0..k)` is the model cut before layer
    /// `k` (for example the logits, before a final softmax).
    ///
    /// # Panics
    /// If the range is out of bounds, or the input shape is one the layers reject (check it first
    /// with [`Sequential::output_shape_range`]).
    pub fn forward_range<'t>(
        &self,
        x: Var<'t, T>,
        cx: &mut Context<'t, T>,
        range: Range<usize>,
    ) -> Var<'t, T> {
        let mut h = x;
        for i in range {
            h = cx.scoped(&self.name(i), |cx| self.layers[i].forward(h, cx));
        }
        h
    }

    /// The output shape of layers `range` for an input shape.
    ///
    /// # Errors
    /// [`NnError::Shape`] naming the first layer (with its index) that rejects its input, or
    /// [`NnError::Config`] for a range beyond the model.
    pub fn output_shape_range(&self, input: &[usize], range: Range<usize>) -> Result<Vec<usize>> {
        if range.end > self.layers.len() || range.start > range.end {
            return Err(NnError::Config(format!(
                "layer range {range:?} is outside a model of {} layers",
                self.layers.len()
            )));
        }
        let mut shape = input.to_vec();
        for i in range {
            shape = self.layers[i].output_shape(&shape).map_err(|e| match e {
                NnError::Shape { layer, message } => NnError::Shape {
                    layer: nested_label(&self.name(i), &layer),
                    message,
                },
                other => other,
            })?;
        }
        Ok(shape)
    }

    /// The `state_dict`: every stored tensor with its full name, in order.
    pub fn state_dict(&self) -> Vec<(String, StateKind, Tensor<T>)> {
        let mut out = Vec::new();
        self.visit_state(&mut |name, kind, t| out.push((name.to_string(), kind, t.clone())));
        out
    }

    /// The number of learned parameters (elements).
    pub fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_state(&mut |_, kind, t| {
            if kind == StateKind::Parameter {
                n += t.numel();
            }
        });
        n
    }
}

impl<T: Scalar> Module<T> for Sequential<T> {
    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        self.forward_range(x, cx, 0..self.layers.len())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.output_shape_range(input, 0..self.layers.len())
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            let prefix = self.name(i);
            layer.visit_state(&mut |name, kind, t| f(&format!("{prefix}.{name}"), kind, t));
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        for (i, (layer, name)) in self.layers.iter_mut().zip(&self.names).enumerate() {
            let prefix = name.clone().unwrap_or_else(|| i.to_string());
            layer.visit_state_mut(&mut |name, kind, t| f(&format!("{prefix}.{name}"), kind, t));
        }
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.layers.iter().any(|l| l.is_training())
    }

    /// The layers' specs joined by `", "` (`name: ` before a named layer, a nested `Sequential`
    /// in parentheses), or `None` if a layer has none.
    fn spec(&self) -> Option<String> {
        let entries: Option<Vec<String>> = (0..self.layers.len()).map(|i| self.entry(i)).collect();
        entries.map(|e| e.join(", "))
    }

    /// Layers `0..logits_len()` ([`Sequential::logits_len`]).
    fn forward_logits<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        self.forward_range(x, cx, 0..self.logits_len())
    }

    fn logits_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.output_shape_range(input, 0..self.logits_len())
    }

    /// The layers, under their names (their index unless named).
    fn named_children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.layers
            .iter()
            .zip(&self.names)
            .enumerate()
            .map(|(i, (l, n))| (n.clone().unwrap_or_else(|| i.to_string()), &**l))
            .collect()
    }

    /// [`Structure::Sequential`] of its spec.
    fn structure(&self) -> Result<Structure> {
        let spec = self.spec().ok_or_else(|| {
            let i = self.layers.iter().position(|l| l.spec().is_none());
            NnError::Config(format!(
                "layer {} has no spec, so the model's structure cannot be saved",
                i.unwrap_or_default()
            ))
        })?;
        Ok(Structure::Sequential(spec))
    }

    fn as_sequential(&self) -> Option<&Sequential<T>> {
        Some(self)
    }
}

impl<T: Scalar> Sequential<T> {
    /// Layer `i` as a spec entry: `name: ` if named, then its spec, in parentheses if it is
    /// itself a `Sequential` (a group); `None` if it has no spec.
    fn entry(&self, i: usize) -> Option<String> {
        let layer = &self.layers[i];
        let spec = match layer.structure() {
            Ok(Structure::Sequential(spec)) => format!("({spec})"),
            Ok(Structure::Layer(spec)) => spec,
            _ => layer.spec()?,
        };
        Some(match &self.names[i] {
            Some(name) => format!("{name}: {spec}"),
            None => spec,
        })
    }
}

impl<T: Scalar> fmt::Display for Sequential<T> {
    /// The spec; a layer without one prints as `<no spec>`. The alternate form (`{:#}`) wraps the
    /// whole in parentheses, as a group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = f.alternate();
        if group {
            f.write_str("(")?;
        }
        for i in 0..self.layers.len() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match self.entry(i) {
                Some(entry) => f.write_str(&entry)?,
                None => match &self.names[i] {
                    Some(name) => write!(f, "{name}: <no spec>")?,
                    None => f.write_str("<no spec>")?,
                },
            }
        }
        if group {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl<T: Scalar> fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sequential({self})")
    }
}

/// The label of a shape error from child `name` whose own label is `label`: `3 (conv2d(1,16,3))`
/// for a layer, and the joined path `layer1.0.conv1 (conv2d(8,8,3))` when the child is itself a
/// container whose label is already `path (layer)`.
pub(crate) fn nested_label(name: &str, label: &str) -> String {
    let is_path = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    };
    match label.split_once(" (") {
        Some((path, _)) if is_path(path) && label.ends_with(')') => format!("{name}.{label}"),
        _ => format!("{name} ({label})"),
    }
}
