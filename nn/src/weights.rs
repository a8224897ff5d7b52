//! safetensors weights (being written).
