//! The operation number on a receipt: something a customer can read aloud to support over
//! a noisy phone line. The terminal's own payment number (every payment has one from the
//! moment it is stored, before processing has answered) with a Luhn check digit, in
//! groups of three and four digits: payment 12345 → `000-012-3455`. The check digit
//! catches a misheard digit or two swapped neighbours before support looks anything up.

/// The digits of the payment number before the check digit; larger numbers grow the first
/// group.
const WIDTH: usize = 9;

/// `payment_id` as a receipt shows it: `ddd-ddd-dddd`.
pub fn operation_number(payment_id: i64) -> String {
    let digits = format!("{:0WIDTH$}", payment_id.unsigned_abs());
    let with_check = format!("{digits}{}", luhn_check_digit(&digits));
    let (head, tail) = with_check.split_at(with_check.len() - 7);
    format!("{head}-{}-{}", &tail[..3], &tail[3..])
}

/// Reads a number a customer dictated (`000-012-3455`, `0000123455`, spaces allowed)
/// back into the payment number; `None` when the check digit does not match.
pub fn payment_of(operation_number: &str) -> Option<i64> {
    let digits: String = operation_number
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{a0}'))
        .collect();
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (number, check) = digits.split_at(digits.len() - 1);
    (luhn_check_digit(number).to_string() == check)
        .then(|| number.parse().ok())
        .flatten()
}

/// The digit that makes `digits` followed by it pass the Luhn check.
fn luhn_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_groups_with_a_check_digit() {
        assert_eq!(operation_number(12345), "000-012-3455");
        assert_eq!(operation_number(1), "000-000-0018");
        assert_eq!(operation_number(987_654_321), "987-654-3217");
        // Past a billion payments the first group grows; nothing is cut off.
        assert_eq!(operation_number(1_234_567_890).len(), "1234-567-8903".len());
    }

    #[test]
    fn a_dictated_number_reads_back_and_a_misheard_one_does_not() {
        for id in [1, 12345, 987_654_321, 1_234_567_890] {
            assert_eq!(payment_of(&operation_number(id)), Some(id));
        }
        assert_eq!(payment_of("0000123455"), Some(12345));
        assert_eq!(payment_of("000 012 3455"), Some(12345));
        assert_eq!(payment_of("000-012-3465"), None, "one digit misheard");
        assert_eq!(payment_of("000-021-3455"), None, "two neighbours swapped");
        assert_eq!(payment_of("abc"), None);
    }
}
