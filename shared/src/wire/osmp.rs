//! The OSMP provider protocol (../shared/spec/osmp.md): what both ends agree on.

use crate::money::{Kopecks, MoneyParseError};

/// Why a `sum` parameter is refused (the provider answers result 300).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumError {
    #[error("sum is malformed: {0}")]
    Malformed(#[from] MoneyParseError),
    #[error("sum must be positive")]
    NotPositive,
}

/// Reads the `sum` of a `check` or `pay`: a decimal with a dot and at most two fraction
/// digits (`10.45`; `10` and `10.5` are read as 10.00 and 10.50), strictly positive.
/// Commas, exponents, signs and a third fraction digit are refused.
pub fn parse_sum(text: &str) -> Result<Kopecks, SumError> {
    let sum = Kopecks::parse(text)?;
    if !sum.is_positive() {
        return Err(SumError::NotPositive);
    }
    Ok(sum)
}

/// Writes a sum the way the protocol wants it: `10.45`.
pub fn format_sum(sum: Kopecks) -> String {
    sum.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(parse_sum("10.45"), Ok(Kopecks::new(1045)));
        assert_eq!(format_sum(Kopecks::new(1045)), "10.45");
        assert_eq!(parse_sum("-5.00"), Err(SumError::NotPositive));
        assert_eq!(parse_sum("0.00"), Err(SumError::NotPositive));
        for bad in ["10,45", "1e3", "10.456", ""] {
            assert!(
                matches!(parse_sum(bad), Err(SumError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
