//! Spec strings (being written).

use autograd::Scalar;

use crate::error::Result;
use crate::sequential::Sequential;

impl<T: Scalar> Sequential<T> {
    /// Parses a spec string, initialising weights from seed 0.
    ///
    /// # Errors
    /// A [`crate::NnError::Spec`] pointing at the problem.
    pub fn from_spec(spec: &str) -> Result<Self> {
        Self::from_spec_seeded(spec, 0)
    }

    /// Parses a spec string, initialising weights from `seed`.
    ///
    /// # Errors
    /// A [`crate::NnError::Spec`] pointing at the problem.
    pub fn from_spec_seeded(_spec: &str, _seed: u64) -> Result<Self> {
        todo!("spec parser")
    }
}
