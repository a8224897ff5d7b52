//! How a model is prepared for explaining: [`for_explaining`] returns a new model, computing
//! the same function as the original in evaluation mode, made cheaper to differentiate.
//!
//! Preparing a model means, in order:
//!
//! 1. **copy** it: every layer rebuilt from its spec with the original's parameters and buffers,
//!    so the original (what weights are loaded into and saved from, with PyTorch's `state_dict`
//!    names) is never changed;
//! 2. switch the copy to **evaluation mode** (PyTorch's `model.eval()`: dropout off, BatchNorm on
//!    its running statistics), as every explanation of a trained classifier assumes;
//! 3. **fold** each BatchNorm into the convolution before it ([`crate::fold`]): the same outputs
//!    up to rounding (1e-12 relative in `f64`, about 1e-6 in `f32`), one layer less on the tape.
//!
//! Layer indices and node names are kept (a folded BatchNorm becomes an `identity`), so a layer
//! or node chosen on the original (a logits cut, an output layer) means the same in the prepared
//! model.
//!
//! ```
//! use smoothgrad_nn::{prepare, Module, Sequential};
//!
//! let mut model: Sequential<f64> =
//!     Sequential::from_spec("conv2d(1,4,3), batchnorm2d(4), relu, dropout, flatten").unwrap();
//! model.set_training(true);
//! let ready = prepare::for_explaining(&model).unwrap();
//! assert_eq!(ready.to_string(), "conv2d(1,4,3), identity, relu, dropout, flatten");
//! assert!(!ready.is_training());
//! assert!(model.is_training()); // the original is untouched
//! ```

use smoothgrad_autograd::Scalar;

use crate::copy::{copy_graph, copy_sequential};
use crate::error::Result;
use crate::fold::{fold_batchnorm, fold_batchnorm_graph};
use crate::graph::Graph;
use crate::module::Module;
use crate::sequential::Sequential;

/// A model kind that can be prepared for explaining ([`Sequential`] and [`Graph`]).
pub trait Prepare<T: Scalar>: Module<T> + Sized {
    /// The prepared copy: see [`for_explaining`].
    ///
    /// # Errors
    /// [`crate::NnError::Config`] if a layer cannot be copied (it prints no spec this crate
    /// parses, e.g. a custom layer or a graph nested as a module).
    fn prepared(&self) -> Result<Self>;
}

impl<T: Scalar> Prepare<T> for Sequential<T> {
    fn prepared(&self) -> Result<Self> {
        let mut copy = copy_sequential(self)?;
        copy.set_training(false);
        fold_batchnorm(&copy)
    }
}

impl<T: Scalar> Prepare<T> for Graph<T> {
    fn prepared(&self) -> Result<Self> {
        let mut copy = copy_graph(self)?;
        copy.set_training(false);
        fold_batchnorm_graph(&copy)
    }
}

/// `model` prepared for explaining: a copy in evaluation mode with every BatchNorm folded into
/// the convolution before it (see the [module docs](self)). The original is unchanged.
///
/// # Errors
/// [`crate::NnError::Config`] if a layer cannot be copied (see [`Prepare::prepared`]).
pub fn for_explaining<T: Scalar, M: Prepare<T>>(model: &M) -> Result<M> {
    model.prepared()
}
