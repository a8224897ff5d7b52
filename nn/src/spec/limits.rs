//! What every layer construction shares: the size guard on weights, and constructor errors as
//! spec messages.
//!
//! Two guards run before any weight is allocated: each weight tensor has at most
//! [`MAX_ELEMENTS`] elements, and, while a model is rebuilt from a file's metadata
//! ([`with_budget`]), all of them together have no more elements than the file holds: every
//! weight a saved model has is stored in its file, so a few bytes of metadata can never make the
//! loader allocate gigabytes.

use std::cell::Cell;

use crate::error::NnError;

/// The most elements one weight tensor may have (2^30, 4 GiB of `f32`): a guard against specs
/// whose sizes would overflow or exhaust memory, far above any real layer.
pub(super) const MAX_ELEMENTS: usize = 1 << 30;

thread_local! {
    /// The elements the weights built so far may still take, inside [`with_budget`].
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// The running account of [`with_budget`].
#[derive(Clone, Copy)]
struct Budget {
    /// Elements the file holds.
    limit: usize,
    /// Elements the weights built so far take.
    used: usize,
}

/// Runs `build` (the construction of a model from a file's metadata) with every weight it
/// creates counted against `limit`, the elements of all the file's tensors: a weight that would
/// take the total past it is refused before it is allocated (see the module doc).
pub(crate) fn with_budget<R>(limit: usize, build: impl FnOnce() -> R) -> R {
    let outer = BUDGET.with(|b| b.replace(Some(Budget { limit, used: 0 })));
    let result = build();
    BUDGET.with(|b| b.set(outer));
    result
}

/// Refuses a weight of shape `dims` with more than [`MAX_ELEMENTS`] elements, or, inside
/// [`with_budget`], one that would take the weights past the elements the file holds.
pub(crate) fn check_elements(layer: &str, dims: &[usize]) -> Result<(), String> {
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let n = match count {
        Some(n) if n <= MAX_ELEMENTS => n,
        _ => {
            return Err(format!(
                "{layer}: a weight of shape {dims:?} is larger than the limit of {MAX_ELEMENTS} \
                 elements"
            ))
        }
    };
    BUDGET.with(|b| match b.get() {
        Some(budget) if budget.used + n > budget.limit => Err(format!(
            "{layer}: a weight of shape {dims:?} takes the model past the {} elements its file \
             holds (the metadata describes more weights than the file stores)",
            budget.limit
        )),
        Some(budget) => {
            b.set(Some(Budget {
                used: budget.used + n,
                ..budget
            }));
            Ok(())
        }
        None => Ok(()),
    })
}

/// The message of a constructor's error (already prefixed with the layer's name).
pub(super) fn config_message(e: NnError) -> String {
    match e {
        NnError::Config(message) => message,
        other => other.to_string(),
    }
}
