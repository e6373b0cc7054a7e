//! Fee rules: a percentage in basis points plus a fixed part, clamped to a minimum and an
//! optional maximum. Processing charges agents by one; an agent charges the public by one.
//!
//! # Rounding
//!
//! The percentage part is `base × percent_bp / 10 000` kopecks, rounded **half up** to a
//! whole kopeck (0.5 kopeck and more rounds up, less rounds down) — the commercial
//! rounding a customer checks with a calculator. The computation is done in `i128`, so it
//! cannot overflow for any `i64` base. Then `fixed` is added and the sum is clamped to
//! `[min, max]`. A fee is never negative and the rule refuses a negative base.

use serde::{Deserialize, Serialize};

use crate::money::Kopecks;

/// 100 % in basis points. A fee above 100 % of the payment is refused as a typing error.
pub const MAX_PERCENT_BP: u32 = 10_000;

/// A fee rule as it travels on the wire: `{"percent_bp","fixed","min","max"}`.
/// `max` may be `null` or absent: no upper limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeeRule {
    /// Percentage of the base in basis points (1 bp = 0.01 %).
    pub percent_bp: u32,
    /// Fixed part in kopecks, added to the percentage part.
    #[serde(default)]
    pub fixed: Kopecks,
    /// The fee is never lower than this.
    #[serde(default)]
    pub min: Kopecks,
    /// The fee is never higher than this; `None` means no cap.
    #[serde(default)]
    pub max: Option<Kopecks>,
}

/// Why a fee rule is not acceptable; each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeRuleError {
    #[error("percent_bp must be between 0 and 10000 (100 %)")]
    PercentOutOfRange,
    #[error("fixed must not be negative")]
    NegativeFixed,
    #[error("min must not be negative")]
    NegativeMin,
    #[error("max must not be lower than min")]
    MaxBelowMin,
}

impl FeeRuleError {
    /// The wire field this error is about, for `validation_failed` bodies.
    pub fn field(&self) -> &'static str {
        match self {
            FeeRuleError::PercentOutOfRange => "percent_bp",
            FeeRuleError::NegativeFixed => "fixed",
            FeeRuleError::NegativeMin => "min",
            FeeRuleError::MaxBelowMin => "max",
        }
    }
}

/// Why no fee could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("a fee is computed on a non-negative amount")]
    NegativeBase,
    #[error("the fee does not fit in the money range")]
    Overflow,
}

impl FeeRule {
    /// A rule with no fee at all.
    pub const FREE: FeeRule = FeeRule {
        percent_bp: 0,
        fixed: Kopecks::ZERO,
        min: Kopecks::ZERO,
        max: None,
    };

    /// Checks a rule that came from outside (a form, an API body).
    pub fn validate(&self) -> Result<(), FeeRuleError> {
        if self.percent_bp > MAX_PERCENT_BP {
            return Err(FeeRuleError::PercentOutOfRange);
        }
        if self.fixed.is_negative() {
            return Err(FeeRuleError::NegativeFixed);
        }
        if self.min.is_negative() {
            return Err(FeeRuleError::NegativeMin);
        }
        if let Some(max) = self.max
            && max < self.min
        {
            return Err(FeeRuleError::MaxBelowMin);
        }
        Ok(())
    }

    /// The fee on `base`, rounded and clamped as the module documentation says.
    pub fn fee(&self, base: Kopecks) -> Result<Kopecks, FeeError> {
        if base.is_negative() {
            return Err(FeeError::NegativeBase);
        }
        let percent_part = (i128::from(base.get()) * i128::from(self.percent_bp) + 5_000) / 10_000;
        let mut fee = percent_part + i128::from(self.fixed.get());
        fee = fee.max(i128::from(self.min.get()));
        if let Some(max) = self.max {
            fee = fee.min(i128::from(max.get()));
        }
        let fee = i64::try_from(fee).map_err(|_| FeeError::Overflow)?;
        Ok(Kopecks::new(fee.max(0)))
    }

    /// Splits `cash` into this rule's fee (never more than the cash) and what is left to
    /// credit. A fee that cannot be computed is an error, never a zero fee: a zero would
    /// quietly give the whole sum away.
    pub fn split(&self, cash: Kopecks) -> Result<(Kopecks, Kopecks), FeeError> {
        let fee = self.fee(cash)?.min(cash);
        let rest = cash.checked_sub(fee).ok_or(FeeError::Overflow)?;
        Ok((fee, rest))
    }

    /// The fee on `amount` and the total `amount + fee`, both checked: what a payer is
    /// charged must fit in the money range.
    pub fn on_top(&self, amount: Kopecks) -> Result<(Kopecks, Kopecks), FeeError> {
        let fee = self.fee(amount)?;
        let total = amount.checked_add(fee).ok_or(FeeError::Overflow)?;
        Ok((fee, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(percent_bp: u32, fixed: i64, min: i64, max: Option<i64>) -> FeeRule {
        FeeRule {
            percent_bp,
            fixed: Kopecks::new(fixed),
            min: Kopecks::new(min),
            max: max.map(Kopecks::new),
        }
    }

    #[test]
    fn percent_plus_fixed() {
        // 1.5 % of 1000.00 = 15.00, plus 0.50
        assert_eq!(
            rule(150, 50, 0, None).fee(Kopecks::new(100_000)),
            Ok(Kopecks::new(1_550))
        );
    }

    #[test]
    fn rounds_half_up() {
        // 1 % of 0.50 = 0.005 → 0.01; 1 % of 0.49 = 0.0049 → 0.00
        assert_eq!(
            rule(100, 0, 0, None).fee(Kopecks::new(50)),
            Ok(Kopecks::new(1))
        );
        assert_eq!(
            rule(100, 0, 0, None).fee(Kopecks::new(49)),
            Ok(Kopecks::new(0))
        );
        // 2.5 % of 1.00 = 0.025 → 0.03
        assert_eq!(
            rule(250, 0, 0, None).fee(Kopecks::new(100)),
            Ok(Kopecks::new(3))
        );
    }

    #[test]
    fn clamps_to_min_and_max() {
        assert_eq!(
            rule(100, 0, 1_000, Some(5_000)).fee(Kopecks::new(100)),
            Ok(Kopecks::new(1_000))
        );
        assert_eq!(
            rule(100, 0, 1_000, Some(5_000)).fee(Kopecks::new(10_000_000)),
            Ok(Kopecks::new(5_000))
        );
        assert_eq!(
            rule(0, 0, 0, None).fee(Kopecks::new(123)),
            Ok(Kopecks::ZERO)
        );
    }

    #[test]
    fn refuses_bad_rules_and_bases() {
        assert_eq!(
            rule(10_001, 0, 0, None).validate(),
            Err(FeeRuleError::PercentOutOfRange)
        );
        assert_eq!(
            rule(0, -1, 0, None).validate(),
            Err(FeeRuleError::NegativeFixed)
        );
        assert_eq!(
            rule(0, 0, -1, None).validate(),
            Err(FeeRuleError::NegativeMin)
        );
        assert_eq!(
            rule(0, 0, 10, Some(9)).validate(),
            Err(FeeRuleError::MaxBelowMin)
        );
        assert_eq!(
            rule(100, 0, 0, None).fee(Kopecks::new(-1)),
            Err(FeeError::NegativeBase)
        );
        assert_eq!(
            rule(0, i64::MAX, 0, None).fee(Kopecks::MAX),
            Ok(Kopecks::MAX)
        );
        assert_eq!(
            rule(10_000, i64::MAX, 0, None).fee(Kopecks::MAX),
            Err(FeeError::Overflow)
        );
    }

    #[test]
    fn split_keeps_the_fee_and_refuses_an_overflow() {
        // 10 % of 100.00 is 10.00; 90.00 is left to credit.
        assert_eq!(
            rule(1_000, 0, 0, None).split(Kopecks::new(10_000)),
            Ok((Kopecks::new(1_000), Kopecks::new(9_000)))
        );
        // A fixed fee above the cash takes the cash, never more.
        assert_eq!(
            rule(0, 500, 0, None).split(Kopecks::new(100)),
            Ok((Kopecks::new(100), Kopecks::ZERO))
        );
        // The fee on i64::MAX does not fit: an error, not a zero fee.
        assert_eq!(
            rule(10_000, i64::MAX, 0, None).split(Kopecks::MAX),
            Err(FeeError::Overflow)
        );
    }

    #[test]
    fn on_top_refuses_a_total_that_does_not_fit() {
        assert_eq!(
            rule(150, 0, 0, None).on_top(Kopecks::new(100_000)),
            Ok((Kopecks::new(1_500), Kopecks::new(101_500)))
        );
        assert_eq!(
            rule(100, 0, 0, None).on_top(Kopecks::MAX),
            Err(FeeError::Overflow)
        );
        assert_eq!(
            rule(0, 1, 0, None).on_top(Kopecks::new(i64::MAX - 1)),
            Ok((Kopecks::new(1), Kopecks::MAX))
        );
    }

    #[test]
    fn wire_form() {
        let r: FeeRule =
            serde_json::from_str(r#"{"percent_bp":150,"fixed":50,"min":100,"max":null}"#).unwrap();
        assert_eq!(r, rule(150, 50, 100, None));
        let r: FeeRule = serde_json::from_str(r#"{"percent_bp":150}"#).unwrap();
        assert_eq!(r, rule(150, 0, 0, None));
    }

    fn valid_rule() -> impl Strategy<Value = FeeRule> {
        (
            0..=MAX_PERCENT_BP,
            0..1_000_000i64,
            0..1_000_000i64,
            proptest::option::of(0..2_000_000i64),
        )
            .prop_map(|(bp, fixed, min, max)| rule(bp, fixed, min, max.map(|m| m.max(min))))
    }

    proptest! {
        #[test]
        fn fee_stays_within_min_and_max(r in valid_rule(), base in 0..1_000_000_000_000i64) {
            let fee = r.fee(Kopecks::new(base)).unwrap();
            prop_assert!(fee >= r.min);
            if let Some(max) = r.max { prop_assert!(fee <= max); }
        }

        #[test]
        fn fee_never_falls_as_the_amount_grows(r in valid_rule(), base in 0..1_000_000_000_000i64, step in 0..1_000_000i64) {
            prop_assert!(r.fee(Kopecks::new(base)).unwrap() <= r.fee(Kopecks::new(base + step)).unwrap());
        }

        #[test]
        fn percent_part_is_within_half_a_kopeck(bp in 0..=MAX_PERCENT_BP, base in 0..1_000_000_000_000i64) {
            let fee = rule(bp, 0, 0, None).fee(Kopecks::new(base)).unwrap().get();
            // exact = base × bp / 10 000; |fee − exact| ≤ 1/2, i.e. |fee × 10 000 − base × bp| ≤ 5 000
            let diff = i128::from(fee) * 10_000 - i128::from(base) * i128::from(bp);
            prop_assert!(diff.abs() <= 5_000, "fee {} for {} at {} bp", fee, base, bp);
            // and exactly half rounds up
            prop_assert!(diff != -5_000);
        }
    }
}
