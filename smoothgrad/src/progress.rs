//! [`Progress`]: an optional callback that [`crate::SmoothGrad`] tells how many noisy samples it
//! has finished, so a caller can show a progress bar over a long explanation (the CLI draws one
//! with `indicatif`). Reporting never changes a result.

use std::fmt;
use std::sync::Arc;

/// Told the number of samples each wave of [`crate::SmoothGrad`] finished (from any worker
/// thread). Over one call, the counts sum to `inputs x samples`: an input stopped early by the
/// tolerance reports its remaining samples at once. The default reports nothing.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use smoothgrad::{Progress, SmoothGrad};
///
/// let done = Arc::new(AtomicUsize::new(0));
/// let seen = Arc::clone(&done);
/// let sg = SmoothGrad {
///     progress: Progress::new(move |n| {
///         seen.fetch_add(n, Ordering::Relaxed);
///     }),
///     ..SmoothGrad::default()
/// };
/// # let _ = (sg, done);
/// ```
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(usize) + Send + Sync>>);

impl Progress {
    /// Calls `report(samples)` after every wave of samples.
    pub fn new(report: impl Fn(usize) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(report)))
    }

    /// Reports `samples` finished samples (nothing without a callback).
    pub(crate) fn advance(&self, samples: usize) {
        if let Some(report) = &self.0 {
            if samples > 0 {
                report(samples);
            }
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
}
