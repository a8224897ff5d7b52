//! [`Model`]: anything that maps a batch `[B, ...]` to outputs `[B, K]` on a tape.
//!
//! Implemented for every [`smoothgrad_nn::Module`] (a [`smoothgrad_nn::Sequential`], a [`smoothgrad_nn::Graph`], a layer), for a
//! module cut before its output ([`Cut`]: the logits of a network that ends in softmax, a layer
//! of a chain, a named node of a graph), and for closures ([`FnModel`]).

use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

use smoothgrad_autograd::{Scalar, Tape, Tensor, Var};
use smoothgrad_nn::{Context, Graph, Module, NodeKind, Sequential, ValueId};

/// A differentiable model: a batch in, one row of `K` outputs per sample out.
///
/// Models are shared by reference across threads, one tape per thread, so they must be `Sync`;
/// their weights go on each tape as constants, so explaining never computes weight gradients.
pub trait Model<T: Scalar = f32>: Sync {
    /// Maps `x` `[B, ...]` to `[B, K]` on `x`'s tape.
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T>;

    /// The output shape for an input batch shape, or why the model rejects it.
    ///
    /// The default runs the model once on zeros of that shape and turns a panic inside an op (a
    /// shape mismatch) into an error; models that know their shapes override it.
    ///
    /// # Errors
    /// Why the model rejects the shape, saying what it expected and what it was given: any error
    /// (a `String` converts with `.into()`), kept as the source of the
    /// [`ExplainError::InputRejected`](crate::ExplainError::InputRejected) it becomes.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        let probe = AssertUnwindSafe(|| {
            let tape = Tape::<T>::new();
            self.forward(tape.constant(Tensor::zeros(input))).shape()
        });
        catch_unwind(probe).map_err(|payload| {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the model panicked".to_string());
            format!("the model rejects input of shape {input:?}: {msg}").into()
        })
    }

    /// Whether the model is in training mode (dropout active, batch statistics): such a model
    /// mixes the samples of a batch and changes as it runs, so explanations refuse it.
    fn is_training(&self) -> bool {
        false
    }
}

/// Implements [`Model`] for module types: the forward pass with the weights as constants (so
/// explaining never computes weight gradients), and the module's own shape rule.
macro_rules! module_model {
    ($($ty:ty),* $(,)?) => {$(
        impl<T: Scalar> Model<T> for $ty {
            fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
                Module::forward(self, x, &mut Context::inference(x.tape()))
            }

            fn output_shape(
                &self,
                input: &[usize],
            ) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
                Ok(Module::output_shape(self, input)?)
            }

            fn is_training(&self) -> bool {
                Module::is_training(self)
            }
        }
    )*};
}

module_model!(
    Sequential<T>,
    Graph<T>,
    dyn Module<T> + '_,
    Box<dyn Module<T> + '_>
);

/// Any [`Module`] as a [`Model`] (the model types of `nn` are models themselves: a
/// [`Sequential`], a [`Graph`], a `Box<dyn Module>`; this adapter is for a layer or a module of
/// your own): `sg.explain(&ModuleModel(&layer), ...)`.
pub struct ModuleModel<'a, M: ?Sized>(pub &'a M);

impl<T: Scalar, M: Module<T> + ?Sized> Model<T> for ModuleModel<'_, M> {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        self.0.forward(x, &mut Context::inference(x.tape()))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        Ok(self.0.output_shape(input)?)
    }

    fn is_training(&self) -> bool {
        self.0.is_training()
    }
}

/// A model cut before its output: its logits (the value before a trailing softmax, which
/// SmoothGrad's authors recommend explaining), the first layers of a [`Sequential`], or a named
/// node of a [`Graph`].
pub struct Cut<'a, T: Scalar = f32> {
    to: To<'a, T>,
}

/// Where a [`Cut`] ends.
enum To<'a, T: Scalar> {
    /// The model's logits ([`Module::forward_logits`]).
    Logits(&'a dyn Module<T>),
    /// Layers `0..end` of a chain.
    Layers(&'a Sequential<T>, usize),
    /// A node's value.
    Node(&'a Graph<T>, ValueId),
}

impl<'a, T: Scalar> Cut<'a, T> {
    /// Layers `0..end` of `model`.
    ///
    /// # Errors
    /// If `end` is beyond the model.
    pub fn new(model: &'a Sequential<T>, end: usize) -> std::result::Result<Self, String> {
        if end > model.len() {
            return Err(format!(
                "cannot cut before layer {end}: the model has {} layers",
                model.len()
            ));
        }
        Ok(Cut {
            to: To::Layers(model, end),
        })
    }

    /// The model's logits: without its trailing softmax or log-softmax (the whole model if it
    /// has none). The model says where they are ([`Module::forward_logits`]): a
    /// [`Sequential`] stops before its trailing layers that are normalizers
    /// ([`Module::is_normalizer`]), a [`Graph`] at the input of its trailing normalizer nodes.
    pub fn before_softmax(model: &'a dyn Module<T>) -> Self {
        Cut {
            to: To::Logits(model),
        }
    }

    /// The value of the node named `name` of a graph (Xplique's `output_layer`): explains a
    /// hidden layer, or the logits of a graph whose output is not a plain normalizer.
    ///
    /// # Errors
    /// If the graph has no node of that name (the message lists the nodes).
    pub fn node(graph: &'a Graph<T>, name: &str) -> std::result::Result<Self, String> {
        let value = graph.find(name).ok_or_else(|| {
            let names: Vec<&str> = graph.nodes().iter().map(|n| n.name()).collect();
            format!(
                "the graph has no node named {name:?} (its nodes: {})",
                some_names(&names, name)
            )
        })?;
        Ok(Cut {
            to: To::Node(graph, value),
        })
    }

    /// The output of the part of `model` named `name` (Xplique's `output_layer`, the CLI's
    /// `--output-node`): a node of a [`Graph`] ([`Cut::node`]), or a layer of a [`Sequential`] by
    /// its name ([`Module::named_children`]: its index, `"3"`, unless named), explained through
    /// that layer.
    ///
    /// # Errors
    /// If no node or layer has that name (the message lists a few that do), or the model is
    /// neither a graph nor a `Sequential`.
    pub fn output_node(model: &'a dyn Module<T>, name: &str) -> std::result::Result<Self, String> {
        if let Some(graph) = model.as_graph() {
            return Self::node(graph, name);
        }
        let Some(seq) = model.as_sequential() else {
            return Err(format!(
                "cannot explain the node {name:?}: the model has no named nodes (it is neither a \
                 graph nor a sequence of layers)"
            ));
        };
        let children = seq.named_children();
        match children.iter().position(|(n, _)| n == name) {
            Some(i) => Self::new(seq, i + 1),
            None => {
                let names: Vec<&str> = children.iter().map(|(n, _)| n.as_str()).collect();
                Err(format!(
                    "the model has no layer named {name:?} (its layers: {})",
                    some_names(&names, name)
                ))
            }
        }
    }

    /// How many of the model's children ([`Module::named_children`]) the cut keeps: for a
    /// [`Sequential`], the layers kept; for a graph, its module nodes up to the value explained.
    pub fn len(&self) -> usize {
        match &self.to {
            To::Layers(_, end) => *end,
            To::Logits(model) => {
                let children = model.named_children();
                let trailing = children
                    .iter()
                    .rev()
                    .take_while(|(_, c)| c.is_normalizer())
                    .count();
                children.len() - trailing
            }
            To::Node(graph, value) => graph.nodes()[..=value.index()]
                .iter()
                .filter(|n| matches!(n.kind(), NodeKind::Module(_)))
                .count(),
        }
    }

    /// Whether no child is kept (for a [`Sequential`], the identity).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The model the cut is of.
    fn model(&self) -> &dyn Module<T> {
        match &self.to {
            To::Logits(model) => *model,
            To::Layers(model, _) => *model,
            To::Node(graph, _) => *graph,
        }
    }
}

impl<T: Scalar> Model<T> for Cut<'_, T> {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        let cx = &mut Context::inference(x.tape());
        match &self.to {
            To::Logits(model) => model.forward_logits(x, cx),
            To::Layers(model, end) => model.forward_range(x, cx, 0..*end),
            To::Node(graph, value) => graph.forward_to(x, cx, *value),
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        Ok(match &self.to {
            To::Logits(model) => model.logits_shape(input)?,
            To::Layers(model, end) => model.output_shape_range(input, 0..*end)?,
            To::Node(graph, value) => graph.shape_of(input, *value)?,
        })
    }

    fn is_training(&self) -> bool {
        Module::is_training(self.model())
    }
}

/// Up to [`SOME_NAMES`] of `names`, quoted: those containing `query` first (so a near miss finds
/// its node in a model of hundreds), then the rest in order, and how many there are in all.
fn some_names(names: &[&str], query: &str) -> String {
    let (near, rest): (Vec<&str>, Vec<&str>) = names
        .iter()
        .copied()
        .partition(|n| !query.is_empty() && n.contains(query));
    let shown: Vec<String> = near
        .iter()
        .chain(&rest)
        .take(SOME_NAMES)
        .map(|n| format!("{n:?}"))
        .collect();
    if names.len() > SOME_NAMES {
        format!("{}, ... ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// How many names [`Cut::node`]'s error lists.
const SOME_NAMES: usize = 8;

/// A closure as a model: `FnModel::new(|x| x.matmul_t(w).relu())`.
pub struct FnModel<F>(F);

impl<F> FnModel<F> {
    /// Wraps a closure from a batch to `[B, K]` outputs. (A constructor rather than a public
    /// field, so that the compiler infers the closure's lifetime-generic signature.)
    pub fn new<T: Scalar>(f: F) -> Self
    where
        F: for<'t> Fn(Var<'t, T>) -> Var<'t, T> + Sync,
    {
        FnModel(f)
    }
}

impl<T: Scalar, F> Model<T> for FnModel<F>
where
    F: for<'t> Fn(Var<'t, T>) -> Var<'t, T> + Sync,
{
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        (self.0)(x)
    }
}

impl<T: Scalar, M: Model<T> + ?Sized> Model<T> for &M {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        (**self).forward(x)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        (**self).output_shape(input)
    }

    fn is_training(&self) -> bool {
        (**self).is_training()
    }
}
