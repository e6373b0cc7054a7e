//! Amounts as people read and type them, per interface language — the one place the UI
//! turns [`Kopecks`] into text and text into [`Kopecks`]. The JSON and OSMP wires keep
//! their own forms (integer kopecks, `10.45`): see `shared::money`.
//!
//! * Russian: `15 000,00 ₽`, `-100 000,00 ₽`; English: `15,000.00 ₽`.
//! * Digit groups are split by a no-break space (U+00A0), and the minus is ASCII `-`:
//!   both exist in every font and in the code pages of receipt printers (CP866 has
//!   U+00A0; neither it nor older kiosk fonts have the narrow U+202F or U+2212), a
//!   figure never wraps between its groups, and a copied figure pastes back into an
//!   input as it is.
//! * Typed amounts: in Russian `50 000,00`, `50000,00`, `50 000.00`, `50000`; in English
//!   `50,000.00`, `50 000.00`, `50000`. Anything the parser would have to guess at
//!   (`1.000` — a thousand or one rouble?, `5 0000`, three kopeck digits) is refused with
//!   a reason the page can say in its language.

use shared::money::{KOPECKS_PER_RUBLE, Kopecks};

use super::i18n::{Catalogue, Lang, use_lang};

/// The group separator of displayed amounts (see the module's note on why not U+202F).
const GROUP_SPACE: char = '\u{00A0}';

/// Spaces a person or a copied figure may put between digit groups.
const SPACES: [char; 4] = [' ', '\u{00A0}', '\u{202F}', '\u{2009}'];

/// How `lang` writes numbers: the group and decimal separators.
const fn separators(lang: Lang) -> (char, char) {
    match lang {
        Lang::Ru => (GROUP_SPACE, ','),
        Lang::En => (',', '.'),
    }
}

/// An amount with its currency sign: `15 000,00 ₽` (Russian), `15,000.00 ₽` (English).
pub fn format_amount(lang: Lang, amount: Kopecks) -> String {
    format!("{}\u{00A0}₽", format_number(lang, amount))
}

/// An amount without the currency sign, as an input shows it back: `15 000,00`.
pub fn format_number(lang: Lang, amount: Kopecks) -> String {
    let (group, decimal) = separators(lang);
    let sign = if amount.is_negative() { "-" } else { "" };
    // unsigned_abs: i64::MIN has no positive counterpart.
    let magnitude = amount.get().unsigned_abs();
    let per_ruble = KOPECKS_PER_RUBLE as u64;
    let whole = (magnitude / per_ruble).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}{decimal}{:02}", magnitude % per_ruble)
}

/// An amount in the current page's language.
pub fn rub(amount: Kopecks) -> String {
    format_amount(use_lang(), amount)
}

/// Why typed text is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    Empty,
    /// Not digits, separators and at most a leading minus.
    Malformed,
    /// Digit groups that are not threes after the first (`5 0000`), or a separator the
    /// language reads both ways (`1.000` in Russian, `50,00` in English).
    Ambiguous,
    /// More than two kopeck digits.
    TooPrecise,
    TooLarge,
}

impl AmountError {
    /// What to tell the person who typed it, in their language.
    pub fn message(self, t: &Catalogue) -> &'static str {
        match self {
            AmountError::Empty => t.amount_empty,
            AmountError::Malformed => t.amount_malformed,
            AmountError::Ambiguous => t.amount_ambiguous,
            AmountError::TooPrecise => t.amount_too_precise,
            AmountError::TooLarge => t.amount_too_large,
        }
    }
}

/// Reads an amount typed in `lang` (see the module's note for what each accepts).
pub fn parse_amount(lang: Lang, text: &str) -> Result<Kopecks, AmountError> {
    let text = text.trim_matches(|c: char| c.is_whitespace() || SPACES.contains(&c));
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, unsigned) = match text.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = split_decimal(lang, unsigned)?;
    let rubles = join_groups(lang, whole)?;
    let kopecks = match fraction {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(AmountError::Malformed);
        }
        Some(f) if f.len() > 2 => return Err(AmountError::TooPrecise),
        Some(f) => {
            f.parse::<i64>().map_err(|_| AmountError::Malformed)? * 10_i64.pow(2 - f.len() as u32)
        }
    };
    let magnitude = rubles
        .parse::<i64>()
        .ok()
        .and_then(|r| r.checked_mul(KOPECKS_PER_RUBLE))
        .and_then(|k| k.checked_add(kopecks))
        .ok_or(AmountError::TooLarge)?;
    Ok(Kopecks::new(if negative { -magnitude } else { magnitude }))
}

/// The whole part and the fraction after the language's decimal separator. Russian also
/// takes a dot (what a Latin keypad offers), unless it reads as a thousands dot: `1.000`.
fn split_decimal(lang: Lang, text: &str) -> Result<(&str, Option<&str>), AmountError> {
    let decimals: &[char] = match lang {
        Lang::Ru => &[',', '.'],
        Lang::En => &['.'],
    };
    let mut found = text.match_indices(decimals);
    let Some((at, mark)) = found.next() else {
        return Ok((text, None));
    };
    if found.next().is_some() {
        return Err(AmountError::Ambiguous);
    }
    let (whole, fraction) = (&text[..at], &text[at + mark.len()..]);
    if lang == Lang::Ru && mark == "." && fraction.len() == 3 {
        return Err(AmountError::Ambiguous);
    }
    if whole.is_empty() {
        return Err(AmountError::Malformed);
    }
    Ok((whole, Some(fraction)))
}

/// The whole roubles' digits without their group separators; groups, when present, must
/// be threes after the first.
fn join_groups(lang: Lang, whole: &str) -> Result<String, AmountError> {
    let is_separator = |c: char| SPACES.contains(&c) || (lang == Lang::En && c == ',');
    if whole
        .chars()
        .any(|c| !c.is_ascii_digit() && !is_separator(c))
    {
        return Err(match (lang, whole.contains(',')) {
            // A comma in a Russian whole part: a second decimal mark.
            (Lang::Ru, true) => AmountError::Ambiguous,
            _ => AmountError::Malformed,
        });
    }
    let groups: Vec<&str> = whole.split(is_separator).collect();
    let (first, rest) = groups.split_first().ok_or(AmountError::Malformed)?;
    if first.is_empty() {
        return Err(AmountError::Malformed);
    }
    if !rest.is_empty() && (first.len() > 3 || rest.iter().any(|g| g.len() != 3)) {
        return Err(AmountError::Ambiguous);
    }
    Ok(groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RU: Lang = Lang::Ru;
    const EN: Lang = Lang::En;

    fn kopecks(n: i64) -> Result<Kopecks, AmountError> {
        Ok(Kopecks::new(n))
    }

    #[test]
    fn russian_figures_have_spaced_groups_and_a_decimal_comma() {
        assert_eq!(
            format_amount(RU, Kopecks::new(1_500_000)),
            "15\u{a0}000,00\u{a0}₽"
        );
        assert_eq!(
            format_amount(RU, Kopecks::new(-10_000_000)),
            "-100\u{a0}000,00\u{a0}₽"
        );
        assert_eq!(format_amount(RU, Kopecks::new(5)), "0,05\u{a0}₽");
        assert_eq!(format_amount(RU, Kopecks::new(99_999)), "999,99\u{a0}₽");
        assert_eq!(
            format_number(RU, Kopecks::new(100_000_000)),
            "1\u{a0}000\u{a0}000,00"
        );
    }

    #[test]
    fn english_figures_have_comma_groups_and_a_decimal_point() {
        assert_eq!(
            format_amount(EN, Kopecks::new(1_500_000)),
            "15,000.00\u{a0}₽"
        );
        assert_eq!(format_amount(EN, Kopecks::new(-5)), "-0.05\u{a0}₽");
        assert_eq!(
            format_number(EN, Kopecks::new(i64::MIN)),
            "-92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn russian_input_takes_every_usual_way_of_writing_fifty_thousand() {
        for typed in [
            "50 000,00",
            "50000,00",
            "50 000.00",
            "50000",
            "50\u{a0}000",
            "50\u{202f}000,0",
            " 50 000,00 ",
        ] {
            assert_eq!(parse_amount(RU, typed), kopecks(5_000_000), "{typed:?}");
        }
        assert_eq!(parse_amount(RU, "50000."), Err(AmountError::Malformed));
        assert_eq!(parse_amount(RU, "0,5"), kopecks(50));
        assert_eq!(parse_amount(RU, "-100 000,00"), kopecks(-10_000_000));
        assert_eq!(parse_amount(RU, "−1,5"), kopecks(-150));
    }

    #[test]
    fn english_input_takes_comma_groups() {
        assert_eq!(parse_amount(EN, "50,000.00"), kopecks(5_000_000));
        assert_eq!(parse_amount(EN, "50 000.00"), kopecks(5_000_000));
        assert_eq!(parse_amount(EN, "50000"), kopecks(5_000_000));
        assert_eq!(parse_amount(EN, "1,234,567.8"), kopecks(123_456_780));
    }

    #[test]
    fn what_would_be_a_guess_is_refused_with_its_reason() {
        assert_eq!(parse_amount(RU, ""), Err(AmountError::Empty));
        assert_eq!(parse_amount(RU, "  "), Err(AmountError::Empty));
        assert_eq!(parse_amount(RU, "1.000"), Err(AmountError::Ambiguous));
        assert_eq!(parse_amount(RU, "1,000,00"), Err(AmountError::Ambiguous));
        assert_eq!(parse_amount(RU, "5 0000"), Err(AmountError::Ambiguous));
        assert_eq!(parse_amount(RU, "50 00,00"), Err(AmountError::Ambiguous));
        assert_eq!(
            parse_amount(RU, "1 000 000,001"),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(parse_amount(EN, "50,00"), Err(AmountError::Ambiguous));
        assert_eq!(
            parse_amount(EN, "50,000,00.00"),
            Err(AmountError::Ambiguous)
        );
        assert_eq!(parse_amount(EN, "5,5"), Err(AmountError::Ambiguous));
        for garbage in ["abc", "1e3", "12р", "+5", "--5", "0x10", ",5", "5,,0", "١٠"] {
            assert!(parse_amount(RU, garbage).is_err(), "{garbage:?}");
            assert!(parse_amount(EN, garbage).is_err(), "{garbage:?}");
        }
        assert_eq!(
            parse_amount(RU, "99999999999999999999"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn a_shown_figure_reads_back_as_the_same_amount() {
        for lang in [RU, EN] {
            for k in [0, 1, 99, 100, 123_456, -5, 100_000_000_000, i64::MAX] {
                let shown = format_number(lang, Kopecks::new(k));
                assert_eq!(parse_amount(lang, &shown), kopecks(k), "{shown:?}");
            }
        }
    }
}
