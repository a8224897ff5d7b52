//! SmoothGrad (Smilkov et al. 2017) over arbitrary models, operators and base methods:
//! SmoothGrad, SmoothGrad-squared and VarGrad from one streaming pass, with the Monte-Carlo
//! standard error, batched, parallel, and reproducible from a seed whatever the threads or batch
//! size.
//!
//! ```
//! use smoothgrad_autograd::Tensor;
//! use smoothgrad_nn::Sequential;
//! use smoothgrad::{Operator, SmoothGrad, Targets};
//!
//! let model: Sequential = Sequential::from_spec_seeded("flatten, linear(12,3)", 0).unwrap();
//! let inputs = Tensor::randn_seeded(&[2, 3, 2, 2], 1);
//! let sg = SmoothGrad { samples: 20, ..SmoothGrad::default() };
//! let e = sg.explain(&model, &inputs, &Targets::Classes(vec![0, 2]), &Operator::Logit).unwrap();
//! assert_eq!(e.mean.shape(), &[2, 3, 2, 2]);
//! // A linear model's gradient does not depend on the input: no noise can change it.
//! assert!(e.variance.data().iter().all(|v| v.abs() < 1e-10));
//! ```

#![warn(missing_docs)]

pub mod datasets;
pub mod differentiable;
mod error;
mod explanation;
#[cfg(feature = "proptest")]
pub mod kit;
pub mod memory;
pub mod method;
pub mod metrics;
mod model;
pub mod noise;
mod operator;
mod progress;
mod smooth;
mod stats;
mod streams;
mod target;
pub mod threads;
mod validate;

pub use differentiable::{Differentiable, Scored};
pub use error::{ExplainError, Result};
pub use explanation::{Aggregation, Attribution, Explanation};
pub use method::{
    Baseline, Gradient, GradientXInput, GuidedBackprop, IntegratedGradients, Method, Rule,
};
pub use model::{Cut, FnModel, Model, ModuleModel};
pub use noise::{Noise, NoiseDistribution, NoiseLevel};
pub use operator::{Operator, ScoreFn};
pub use progress::Progress;
pub use smooth::SmoothGrad;
pub use target::{predicted, Targets};

/// The README's `rust` examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
