//! What the operator APIs' sorted, paged lists share: the page size, the keyset cursor
//! and the `Link` header that names the next page.
//!
//! Keyset paging: a page is "the next `limit` rows after this one in this order", and the
//! cursor is the last row's sort key and id (the id breaks ties, so the order is total).
//! A page costs the same however deep it is, and rows arriving meanwhile shift nothing.
//! The cursor carries the key's value, not only the row's id: a row whose key changes
//! between two pages (a balance moves with every payment) would otherwise make the next
//! page skip or repeat rows.

use axum::http::HeaderValue;
use shared::error::ApiError;

use crate::ui::sort::SortColumn;

/// Rows a page holds at most.
pub const MAX_PAGE_ROWS: i64 = 500;
/// The longest text key a cursor carries (a folded name; far above any real one).
pub const MAX_CURSOR_KEY_BYTES: usize = 1_024;

/// `limit=` checked: 1 to [`MAX_PAGE_ROWS`], `default` when absent.
pub fn checked_limit(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(l) if (1..=MAX_PAGE_ROWS).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::field(
            "limit",
            format!("1 to {MAX_PAGE_ROWS} rows"),
        )),
    }
}

/// `sort=` checked against the list's columns.
pub fn checked_sort<C: SortColumn>(sort: Option<&str>) -> Result<C, ApiError> {
    match sort.filter(|s| !s.is_empty()) {
        None => Ok(C::DEFAULT),
        Some(text) => C::parse(text).ok_or_else(|| {
            let names: Vec<&str> = C::ALL.iter().map(|c| c.as_str()).collect();
            ApiError::field("sort", format!("one of {}", names.join(", ")))
        }),
    }
}

/// `dir=` checked; absent: the column's own first direction.
pub fn checked_dir<C: SortColumn>(
    column: C,
    dir: Option<&str>,
) -> Result<crate::ui::sort::SortDir, ApiError> {
    match dir.filter(|d| !d.is_empty()) {
        None => Ok(column.first_dir()),
        Some(text) => crate::ui::sort::SortDir::parse(text)
            .ok_or_else(|| ApiError::field("dir", "asc or desc")),
    }
}

/// Where a page starts: after the row with this sort key and id. Written `ID:KEY` in the
/// `after=` parameter (the id first: digits, so the first `:` ends it and the key may
/// hold any character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub id: i64,
    pub key: String,
}

impl Cursor {
    pub fn new(id: i64, key: impl ToString) -> Cursor {
        Cursor {
            id,
            key: key.to_string(),
        }
    }

    pub fn parse(text: &str) -> Option<Cursor> {
        let (id, key) = text.split_once(':')?;
        let id = id.parse().ok()?;
        (key.len() <= MAX_CURSOR_KEY_BYTES).then(|| Cursor::new(id, key))
    }

    /// The key as a number, for lists sorted by a number (`None`: not one).
    pub fn int_key(&self) -> Option<i64> {
        self.key.parse().ok()
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.id, self.key)
    }
}

/// `after=` checked.
pub fn checked_cursor(after: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    match after.filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(text) => Cursor::parse(text)
            .map(Some)
            .ok_or_else(|| ApiError::field("after", "the cursor of a page's Link header")),
    }
}

/// A `Link: <path?query>; rel="next"` value (RFC 8288), for an API that answers a page
/// as a bare JSON array: the body keeps its shape, and a client follows the header until
/// there is none.
pub fn next_link(path: &str, params: &[(&str, String)]) -> Option<HeaderValue> {
    let query = crate::ui::sort::query_string(params);
    HeaderValue::from_str(&format!("<{path}{query}>; rel=\"next\"")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor::new(42, "петров: иван");
        assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        assert_eq!(Cursor::parse("x:1"), None);
        assert_eq!(Cursor::parse("17"), None);
        assert_eq!(Cursor::parse(&format!("1:{}", "я".repeat(600))), None);
        assert_eq!(Cursor::parse("7:-1500").unwrap().int_key(), Some(-1500));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(checked_limit(None, 50).unwrap(), 50);
        assert!(checked_limit(Some(0), 50).is_err());
        assert!(checked_limit(Some(501), 50).is_err());
        assert_eq!(checked_limit(Some(500), 50).unwrap(), 500);
    }
}
