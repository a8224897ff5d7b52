//! Neural-network layers on `autograd`, laid out exactly as PyTorch's so its weights load
//! unchanged: NCHW activations, OIHW convolution weights, `[out, in]` linear weights, flatten in
//! CHW order, `state_dict` names like `0.weight`.
//!
//! ```
//! use smoothgrad_autograd::{Tape, Tensor};
//! use smoothgrad_nn::{Context, Module, Sequential};
//!
//! let model: Sequential = Sequential::from_spec_seeded(
//!     "conv2d(1,4,3,padding=1), relu, maxpool2d(2), flatten, linear(64,10)", 0).unwrap();
//! assert_eq!(model.output_shape(&[2, 1, 8, 8]).unwrap(), vec![2, 10]);
//! let tape = Tape::new();
//! let mut cx = Context::inference(&tape);
//! let logits = model.forward(tape.var(Tensor::zeros(&[2, 1, 8, 8])), &mut cx);
//! assert_eq!(logits.shape(), vec![2, 10]);
//! assert_eq!(model.to_string(), "conv2d(1,4,3,padding=1), relu, maxpool2d(2), flatten, linear(64,10)");
//! ```

#![warn(missing_docs)]

mod copy;
mod error;
pub mod fold;
mod graph;
pub mod init;
pub mod layers;
pub mod loss;
pub mod models;
mod module;
pub mod optim;
pub mod prepare;
mod residual;
mod sequential;
mod spec;
pub mod train;
#[cfg(feature = "safetensors")]
pub mod weights;

pub use error::{NnError, Result};
pub use graph::{Graph, GraphBuilder, Node, NodeKind, TensorOp, ValueId};
pub use layers::{
    AdaptiveAvgPool2d, Approximate, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Hardsigmoid,
    Hardswish, Identity, LayerNorm, LayerNorm2d, LeakyReLU, Linear, LogSoftmax, MaxPool2d,
    MultiheadAttention, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Tanh, GELU,
};
pub use module::{Context, Module, StateKind, Structure};
pub use residual::Residual;
pub use sequential::Sequential;
