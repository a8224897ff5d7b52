//! Training loop (being written).
