//! SmoothGrad over arbitrary models (see the `smoothgrad` issue).
