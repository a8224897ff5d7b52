//! What every layer construction shares: the size guard on weights, and constructor errors as
//! spec messages.

use crate::error::NnError;

/// The most elements one weight tensor may have (2^30, 4 GiB of `f32`): a guard against specs
/// whose sizes would overflow or exhaust memory, far above any real layer.
pub(super) const MAX_ELEMENTS: usize = 1 << 30;

/// Refuses a weight of shape `dims` with more than [`MAX_ELEMENTS`] elements.
pub(super) fn check_elements(layer: &str, dims: &[usize]) -> Result<(), String> {
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    match count {
        Some(n) if n <= MAX_ELEMENTS => Ok(()),
        _ => Err(format!(
            "{layer}: a weight of shape {dims:?} is larger than the limit of {MAX_ELEMENTS} \
             elements"
        )),
    }
}

/// The message of a constructor's error (already prefixed with the layer's name).
pub(super) fn config_message(e: NnError) -> String {
    match e {
        NnError::Config(message) => message,
        other => other.to_string(),
    }
}
