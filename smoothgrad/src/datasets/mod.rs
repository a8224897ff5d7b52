//! Synthetic datasets with ground truth for evaluating explanations.

pub mod scenes;
pub mod shapes;
