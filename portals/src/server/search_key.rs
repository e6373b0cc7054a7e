//! Search keys: text folded once in Rust, so that a search is case-insensitive in Russian
//! on both databases.
//!
//! SQLite's `lower()` and `LIKE` fold ASCII only ("петров" does not find "Петров"), and
//! PostgreSQL's `lower()` folds what the database's `LC_CTYPE` says (nothing beyond ASCII
//! under `C`). So a table keeps a key column written with the fields it comes from, and
//! a query is folded the same way before it is matched: one code path, the same answer on
//! both backends. The fold:
//!
//! * Unicode lower case (`Петров` → `петров`, `ÉCOLE` → `école`);
//! * `ё` as `е` — Russian writes `Пётр` and `Петр` for one name, and people type the
//!   second;
//! * every run of white space as one space, none at the ends — a name pasted with a double
//!   space or a tab is still found.

/// The folded form of `text` (see the module's comment).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars().flat_map(char::to_lowercase) {
            out.push(if c == 'ё' { 'е' } else { c });
        }
    }
    out
}

/// Separates the fields of a key that holds several: a line break, which a folded query
/// never contains (the fold turns it into a space), so no match spans two fields.
pub const FIELD_SEPARATOR: char = '\n';

/// One key of several fields, each folded.
pub fn key_of(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| fold(f))
        .collect::<Vec<_>>()
        .join(&FIELD_SEPARATOR.to_string())
}

/// A `LIKE … ESCAPE '\'` pattern that matches `text` anywhere, `%` and `_` taken as
/// themselves; `None` when `text` is empty (no filter).
pub fn contains_pattern(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| {
        format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_yo_and_spaces() {
        assert_eq!(fold("  Петров   Иван\tПётрович "), "петров иван петрович");
        assert_eq!(fold("ЁЛКИН"), "елкин");
        assert_eq!(fold("Ivanov@Example.RU"), "ivanov@example.ru");
        assert_eq!(fold("ÉCOLE"), "école");
        assert_eq!(fold(""), "");
        assert_eq!(fold(" \n "), "");
    }

    #[test]
    fn a_key_keeps_fields_apart() {
        let key = key_of(&["Петров Иван", "P@X.ru", "9161234567"]);
        assert_eq!(key, "петров иван\np@x.ru\n9161234567");
        // A query spanning two fields is folded into a space, never a line break.
        assert!(!key.contains(&fold("иван\np@x")));
    }

    #[test]
    fn patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("a%b_c\\").unwrap(), "%a\\%b\\_c\\\\%");
        assert_eq!(contains_pattern(""), None);
    }
}
