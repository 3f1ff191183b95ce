//! CPU `resource.Quantity` parsing with exact apimachinery semantics (pure core).
//!
//! PLACEHOLDER INTERFACE: the real parser is being written (issue 3). Do not rely on the
//! behaviour of this file until this line is gone.

use crate::units::MilliCpu;

/// An exact quantity, in nano-units (10^-9), rounded up at nano scale as apimachinery does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    /// Value × 10^9.
    pub nanos: i128,
}

impl Quantity {
    /// `MilliValue()`: ceil(value × 1000).
    pub fn milli_value(&self) -> i64 {
        let q = self.nanos.div_euclid(1_000_000);
        let r = self.nanos.rem_euclid(1_000_000);
        (q + i128::from(r != 0)) as i64
    }
    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
    /// Millicores.
    pub fn millicpu(&self) -> MilliCpu {
        MilliCpu(self.milli_value())
    }
}

/// Why a quantity does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: String,
    /// A suggestion (`did you mean 1.5 or 1500m?`).
    pub hint: Option<String>,
}

/// Parses a quantity exactly as `resource.ParseQuantity` does.
pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
    Err(QuantityError { input: input.into(), reason: "parser not implemented yet".into(), hint: None })
}
