//! CSV cells that a spreadsheet reads as text, whatever they hold.
//!
//! Registries carry values that come from outside — a provider's `prv_txn`, an account
//! typed at a kiosk under a provider's regex — and are opened in Excel or LibreOffice. Two
//! things can go wrong there: a value with the separator, a quote or a line break splits
//! or shifts the row, and a value starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return is run as a formula ("CSV injection"). So every cell is neutralised (a leading
//! `'`, which spreadsheets show as the start of text) and then quoted per RFC 4180 (the
//! whole cell in `"`, an inner `"` doubled) when it holds the separator, a quote, CR or LF.

/// The separator of our registries (wire.md: `txn_id;prv_txn;account;sum;txn_date`).
pub const SEPARATOR: char = ';';

/// Characters that make a spreadsheet treat a cell as a formula when they come first.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One cell, safe to put between separators.
pub fn cell(value: &str) -> String {
    let neutral = if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if neutral.contains([SEPARATOR, '"', '\r', '\n']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// A whole line: the cells joined by the separator, ended by `\n`.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(&SEPARATOR.to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_as_they_are() {
        assert_eq!(cell("9161234567"), "9161234567");
        assert_eq!(cell("150.00"), "150.00");
        assert_eq!(cell(""), "");
        assert_eq!(line(&["1", "2", "3"]), "1;2;3\n");
    }

    #[test]
    fn formulas_are_neutralised() {
        // A formula with quotes is neutralised, then quoted for its quotes.
        assert_eq!(
            cell("=HYPERLINK(\"http://evil\")"),
            "\"'=HYPERLINK(\"\"http://evil\"\")\""
        );
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+79161234567"), "'+79161234567");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted_per_rfc_4180() {
        assert_eq!(cell("a;b"), "\"a;b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(cell("=a;b"), "\"'=a;b\"");
    }
}
