//! [`Residual`]: a skip connection, `y = after(body(x) + downsample(x))`, as torchvision's
//! ResNet blocks (and dfdx's `ResidualAdd`).

use std::fmt;

use smoothgrad_autograd::{Scalar, Tensor, Var};

use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind};
use crate::sequential::{nested_label, Sequential};

/// The spec keyword (and state name prefix) of the shortcut.
pub(crate) const DOWNSAMPLE: &str = "downsample";
/// The spec keyword (and state name prefix) of the layer applied after the sum.
pub(crate) const AFTER: &str = "after";

/// A residual block: `y = after(body(x) + shortcut(x))`, where the shortcut is `downsample`
/// when given (a projection, such as torchvision's `conv1x1` + `BatchNorm2d`) and the identity
/// otherwise, and `after` (torchvision's final ReLU) is the identity when absent.
///
/// State names follow torchvision's `BasicBlock`: the body's children are the block's own
/// children (`conv1.weight`, `bn1.running_mean`, or `0.weight` when unnamed), the shortcut's
/// state is under `downsample.` (`downsample.0.weight`), and `after`'s under `after.`.
///
/// Spec: `residual(body layer, ..., downsample=(layer, ...), after=relu)`, for example
///
/// ```
/// use smoothgrad_nn::{Module, Sequential};
///
/// let block: Sequential = Sequential::from_spec(
///     "residual(conv1: conv2d(8,16,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(16), \
///      relu, conv2: conv2d(16,16,3,padding=1,bias=False), bn2: batchnorm2d(16), \
///      downsample=(conv2d(8,16,1,stride=2,bias=False), batchnorm2d(16)), after=relu)",
/// ).unwrap();
/// assert_eq!(block.output_shape(&[2, 8, 8, 8]).unwrap(), vec![2, 16, 4, 4]);
/// let names: Vec<String> = block.state_dict().into_iter().map(|(name, ..)| name).collect();
/// assert_eq!(names[0], "0.conv1.weight");
/// assert_eq!(names[12], "0.downsample.0.weight");
/// ```
pub struct Residual<T: Scalar = f32> {
    body: Sequential<T>,
    downsample: Option<Box<dyn Module<T>>>,
    after: Option<Box<dyn Module<T>>>,
}

impl<T: Scalar> Residual<T> {
    /// A block `body(x) + x` (identity shortcut, nothing after the sum).
    ///
    /// # Errors
    /// [`NnError::Config`] if the body is empty (`x + x` is no residual block).
    pub fn new(body: Sequential<T>) -> Result<Self> {
        if body.is_empty() {
            return Err(NnError::Config(
                "residual: the body needs at least one layer".to_string(),
            ));
        }
        Ok(Residual {
            body,
            downsample: None,
            after: None,
        })
    }

    /// Replaces the identity shortcut by `downsample`, builder style.
    pub fn with_downsample(mut self, downsample: Box<dyn Module<T>>) -> Self {
        self.downsample = Some(downsample);
        self
    }

    /// Applies `after` to the sum, builder style.
    pub fn with_after(mut self, after: Box<dyn Module<T>>) -> Self {
        self.after = Some(after);
        self
    }

    /// The body.
    pub fn body(&self) -> &Sequential<T> {
        &self.body
    }

    /// The shortcut, `None` for the identity.
    pub fn downsample(&self) -> Option<&dyn Module<T>> {
        self.downsample.as_deref()
    }

    /// The layer after the sum, `None` for none.
    pub fn after(&self) -> Option<&dyn Module<T>> {
        self.after.as_deref()
    }
}

/// A shape error from `module`, relabelled as coming from the child `name`.
fn within(name: &str, e: NnError) -> NnError {
    match e {
        NnError::Shape { layer, message } => NnError::Shape {
            layer: nested_label(name, &layer),
            message,
        },
        other => other,
    }
}

impl<T: Scalar> Module<T> for Residual<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let h = self.body.forward(x, cx);
        let shortcut = match &self.downsample {
            Some(d) => cx.scoped(DOWNSAMPLE, |cx| d.forward(x, cx)),
            None => x,
        };
        let sum = h + shortcut;
        match &self.after {
            Some(a) => cx.scoped(AFTER, |cx| a.forward(sum, cx)),
            None => sum,
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let body = self.body.output_shape(input)?;
        let (shortcut, what) = match &self.downsample {
            Some(d) => (
                d.output_shape(input).map_err(|e| within(DOWNSAMPLE, e))?,
                "the downsample output",
            ),
            None => (input.to_vec(), "the input (identity shortcut)"),
        };
        if body != shortcut {
            let hint = if self.downsample.is_none() {
                "; project the input with downsample=(...)"
            } else {
                ""
            };
            return Err(NnError::Shape {
                layer: "residual".to_string(),
                message: format!(
                    "the body's output {body:?} differs from {what} {shortcut:?}, and the two \
                     are added{hint}"
                ),
            });
        }
        match &self.after {
            Some(a) => a.output_shape(&body).map_err(|e| within(AFTER, e)),
            None => Ok(body),
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        self.body.visit_state(f);
        for (prefix, m) in [(DOWNSAMPLE, &self.downsample), (AFTER, &self.after)] {
            if let Some(m) = m {
                m.visit_state(&mut |name, kind, t| f(&format!("{prefix}.{name}"), kind, t));
            }
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        self.body.visit_state_mut(f);
        for (prefix, m) in [(DOWNSAMPLE, &mut self.downsample), (AFTER, &mut self.after)] {
            if let Some(m) = m {
                m.visit_state_mut(&mut |name, kind, t| f(&format!("{prefix}.{name}"), kind, t));
            }
        }
    }

    fn set_training(&mut self, training: bool) {
        self.body.set_training(training);
        for m in [&mut self.downsample, &mut self.after]
            .into_iter()
            .flatten()
        {
            m.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.body.is_training()
            || [&self.downsample, &self.after]
                .into_iter()
                .flatten()
                .any(|m| m.is_training())
    }
}

impl<T: Scalar> fmt::Display for Residual<T> {
    /// `residual(body, downsample=..., after=...)`, the body's children as a spec's (named ones
    /// as `name: layer`), a `Sequential` shortcut as a group in parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "residual({}", self.body)?;
        if let Some(d) = &self.downsample {
            write!(f, ", {DOWNSAMPLE}={d:#}")?;
        }
        if let Some(a) = &self.after {
            write!(f, ", {AFTER}={a:#}")?;
        }
        f.write_str(")")
    }
}

impl<T: Scalar> fmt::Debug for Residual<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Residual({self})")
    }
}
