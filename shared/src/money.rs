//! Money as an integer number of kopecks (1 RUB = 100 kopecks), never a float.
//!
//! On the JSON wire a [`Kopecks`] is a bare integer and a [`Money`] is
//! `{"amount": <kopecks>, "currency": "RUB"}`; on the OSMP wire it is a decimal with a dot
//! and two fraction digits (`10.45`), which [`Kopecks::parse`] and `Display` handle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Kopecks in one rouble: the scale of every amount in paymesh.
pub const KOPECKS_PER_RUBLE: i64 = 100;

/// An amount of money in kopecks. The inner value is private so that every amount that
/// enters the system goes through a checked constructor or [`Kopecks::parse`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Kopecks(i64);

/// Why a decimal string is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    #[error("the amount is empty")]
    Empty,
    #[error(
        "the amount must be digits with an optional dot and at most two fraction digits, like 10.45"
    )]
    Malformed,
    #[error("the amount is too large")]
    Overflow,
}

impl Kopecks {
    /// Zero kopecks.
    pub const ZERO: Kopecks = Kopecks(0);
    /// The largest amount (about 92 quadrillion roubles): arithmetic beyond it fails.
    pub const MAX: Kopecks = Kopecks(i64::MAX);

    /// The largest single amount accepted anywhere money enters paymesh — a banknote, a
    /// payment, a fee, a top-up, a tariff, a provider's limit: one billion roubles. With
    /// every input this small, no sum of them (a session, a day, a ledger account) comes
    /// near `i64` overflow, so a hostile number is refused at the door instead of
    /// wrapping, saturating or turning a SQLite column into REAL further in.
    pub const MAX_INPUT: Kopecks = Kopecks(100_000_000_000);

    /// Wraps a number of kopecks.
    pub const fn new(kopecks: i64) -> Self {
        Kopecks(kopecks)
    }

    /// Whole roubles, e.g. `Kopecks::from_rubles(100)` is 100.00 RUB.
    pub const fn from_rubles(rubles: i64) -> Option<Self> {
        match rubles.checked_mul(KOPECKS_PER_RUBLE) {
            Some(k) => Some(Kopecks(k)),
            None => None,
        }
    }

    /// The number of kopecks.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether this is an amount an input may carry: zero up to [`Kopecks::MAX_INPUT`].
    pub const fn is_acceptable_input(self) -> bool {
        self.0 >= 0 && self.0 <= Self::MAX_INPUT.0
    }

    pub fn checked_add(self, other: Kopecks) -> Option<Kopecks> {
        self.0.checked_add(other.0).map(Kopecks)
    }

    pub fn checked_sub(self, other: Kopecks) -> Option<Kopecks> {
        self.0.checked_sub(other.0).map(Kopecks)
    }

    /// Price × quantity, e.g. a tariff's unit price times the minutes used.
    pub fn checked_mul(self, factor: i64) -> Option<Kopecks> {
        self.0.checked_mul(factor).map(Kopecks)
    }

    /// Parses a decimal amount of roubles: an optional `-`, digits, and optionally a dot
    /// followed by one or two digits (`10`, `10.4`, `10.45`, `-5.00`). Everything else —
    /// commas, exponents, spaces, signs in the middle, a third fraction digit — is
    /// refused rather than guessed at, because a guessed amount is a wrong amount.
    pub fn parse(text: &str) -> Result<Kopecks, MoneyParseError> {
        if text.is_empty() {
            return Err(MoneyParseError::Empty);
        }
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) {
            return Err(MoneyParseError::Malformed);
        }
        let fraction_kopecks = match fraction {
            None => 0,
            Some(f) if all_digits(f) && f.len() <= 2 => {
                let digits: i64 = f.parse().map_err(|_| MoneyParseError::Malformed)?;
                if f.len() == 1 { digits * 10 } else { digits }
            }
            Some(_) => return Err(MoneyParseError::Malformed),
        };
        let rubles: i64 = whole.parse().map_err(|_| MoneyParseError::Overflow)?;
        let magnitude = rubles
            .checked_mul(KOPECKS_PER_RUBLE)
            .and_then(|k| k.checked_add(fraction_kopecks))
            .ok_or(MoneyParseError::Overflow)?;
        Ok(Kopecks(if negative { -magnitude } else { magnitude }))
    }
}

impl FromStr for Kopecks {
    type Err = MoneyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kopecks::parse(s)
    }
}

/// Formats as roubles with a dot and exactly two fraction digits: `10.45`, `-0.05`.
impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        // unsigned_abs: i64::MIN has no positive counterpart in i64.
        let magnitude = self.0.unsigned_abs();
        let per_ruble = KOPECKS_PER_RUBLE as u64;
        write!(
            f,
            "{sign}{}.{:02}",
            magnitude / per_ruble,
            magnitude % per_ruble
        )
    }
}

/// The only currency paymesh moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    #[serde(rename = "RUB")]
    Rub,
}

/// An amount with its currency, as it appears where wire.md shows `Money`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Money {
    /// Kopecks.
    pub amount: Kopecks,
    /// Always `"RUB"`.
    pub currency: Currency,
}

impl Money {
    pub const fn rub(amount: Kopecks) -> Self {
        Money {
            amount,
            currency: Currency::Rub,
        }
    }
}

impl From<Kopecks> for Money {
    fn from(amount: Kopecks) -> Self {
        Money::rub(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_osmp_form() {
        assert_eq!(Kopecks::parse("10.45"), Ok(Kopecks::new(1045)));
        assert_eq!(Kopecks::parse("0.05"), Ok(Kopecks::new(5)));
        assert_eq!(Kopecks::parse("10"), Ok(Kopecks::new(1000)));
        assert_eq!(Kopecks::parse("10.4"), Ok(Kopecks::new(1040)));
        assert_eq!(Kopecks::parse("-5.00"), Ok(Kopecks::new(-500)));
        assert_eq!(Kopecks::parse("007.10"), Ok(Kopecks::new(710)));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        for bad in [
            "", "10,45", "1e3", "10.456", ".5", "5.", "+5", "--5", " 5", "5 ", "1_000", "١٠",
            "0x10", "-", "-.5",
        ] {
            assert!(Kopecks::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            Kopecks::parse("92233720368547758.08"),
            Err(MoneyParseError::Overflow)
        );
        assert_eq!(
            Kopecks::parse("99999999999999999999"),
            Err(MoneyParseError::Overflow)
        );
        assert_eq!(Kopecks::parse("92233720368547758.07"), Ok(Kopecks::MAX));
    }

    #[test]
    fn formats_with_two_fraction_digits() {
        assert_eq!(Kopecks::new(1045).to_string(), "10.45");
        assert_eq!(Kopecks::new(5).to_string(), "0.05");
        assert_eq!(Kopecks::new(-5).to_string(), "-0.05");
        assert_eq!(Kopecks::new(-1000).to_string(), "-10.00");
        assert_eq!(Kopecks::new(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Kopecks::new(1).checked_add(Kopecks::new(2)),
            Some(Kopecks::new(3))
        );
        assert_eq!(Kopecks::MAX.checked_add(Kopecks::new(1)), None);
        assert_eq!(Kopecks::new(i64::MIN).checked_sub(Kopecks::new(1)), None);
        assert_eq!(Kopecks::new(150).checked_mul(3), Some(Kopecks::new(450)));
        assert_eq!(Kopecks::MAX.checked_mul(2), None);
    }

    #[test]
    fn serde_uses_integers_and_rub() {
        assert_eq!(serde_json::to_string(&Kopecks::new(1045)).unwrap(), "1045");
        assert_eq!(
            serde_json::to_string(&Money::rub(Kopecks::new(1045))).unwrap(),
            r#"{"amount":1045,"currency":"RUB"}"#
        );
        let m: Money = serde_json::from_str(r#"{"amount":-3,"currency":"RUB"}"#).unwrap();
        assert_eq!(m.amount, Kopecks::new(-3));
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"USD"}"#).is_err());
        assert!(
            serde_json::from_str::<Kopecks>("10.45").is_err(),
            "floats are not kopecks"
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(k in any::<i64>().prop_filter("MIN has no parsable form", |k| *k != i64::MIN)) {
            prop_assert_eq!(Kopecks::parse(&Kopecks::new(k).to_string()), Ok(Kopecks::new(k)));
        }
    }
}
