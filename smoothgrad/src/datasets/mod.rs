//! Synthetic datasets with ground truth for evaluating explanations.

pub mod shapes;
