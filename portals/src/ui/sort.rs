//! Lists sorted on the server: the direction, the closed set of columns a list offers,
//! and the column header that asks for an order.
//!
//! The order travels as `sort=<column>&dir=asc|desc` in the page's address and in the
//! API's query string. Both name a column of a closed set ([`SortColumn`]); the server
//! turns it into SQL it wrote itself, so no text from a request ever reaches a statement.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Which way a list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    /// `asc` or `desc`; anything else is `None` (the API answers 422).
    pub fn parse(text: &str) -> Option<SortDir> {
        match text {
            "asc" => Some(SortDir::Asc),
            "desc" => Some(SortDir::Desc),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }

    pub fn flip(self) -> SortDir {
        match self {
            SortDir::Asc => SortDir::Desc,
            SortDir::Desc => SortDir::Asc,
        }
    }

    /// SQL's word for it.
    pub fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }

    /// The comparison that reads "comes after" in this direction (for keyset paging).
    pub fn after_sql(self) -> &'static str {
        match self {
            SortDir::Asc => ">",
            SortDir::Desc => "<",
        }
    }

    /// `aria-sort`'s value for a header sorted this way.
    fn aria(self) -> &'static str {
        match self {
            SortDir::Asc => "ascending",
            SortDir::Desc => "descending",
        }
    }
}

/// The columns one list can be sorted by: a closed set, parsed from the request.
pub trait SortColumn: Copy + PartialEq + Send + Sync + 'static {
    /// Every column, for parsing and for the documentation.
    const ALL: &'static [Self];
    /// The column when none is asked for.
    const DEFAULT: Self;
    /// The name in `sort=`.
    fn as_str(self) -> &'static str;
    /// The direction a list sorted by this column starts in (money and time: largest and
    /// newest first; names and numbers: from the start of the alphabet).
    fn first_dir(self) -> SortDir;

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }
}

/// The order a page was asked for: its `sort` and `dir` parameters read leniently (an
/// unknown value shows the default order; the API is the one that refuses them).
pub fn order_of<C: SortColumn>(sort: &str, dir: &str) -> (C, SortDir) {
    let column = C::parse(sort).unwrap_or(C::DEFAULT);
    let dir = SortDir::parse(dir).unwrap_or(column.first_dir());
    (column, dir)
}

/// The page's address with `params` (empty values left out), percent-encoded.
pub fn query_string(params: &[(&str, String)]) -> String {
    let joined = params
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", super::encode_query_value(value)))
        .collect::<Vec<_>>()
        .join("&");
    format!("?{joined}")
}

/// Where a link that sorts by `column` leads, and the arrow that shows the current order:
/// the same list, its filters (`keep`) kept and its paging reset, sorted by `column` —
/// the other way round when it already is.
fn sort_target<C: SortColumn>(
    column: C,
    current: (C, SortDir),
    keep: &[(&'static str, String)],
) -> (String, &'static str) {
    let (sorted_by, dir) = current;
    let active = sorted_by == column;
    let next_dir = if active {
        dir.flip()
    } else {
        column.first_dir()
    };
    let mut params = keep.to_vec();
    params.push(("sort", column.as_str().to_owned()));
    params.push(("dir", next_dir.as_str().to_owned()));
    let arrow = match (active, dir) {
        (false, _) => "",
        (true, SortDir::Asc) => " ▲",
        (true, SortDir::Desc) => " ▼",
    };
    (query_string(&params), arrow)
}

/// A column header that sorts the list by `column` (see [`sort_target`]). A whole page
/// load (`rel="external"`): the server renders the sorted table, and the address is one
/// to bookmark or send.
pub fn sort_header<C: SortColumn>(
    column: C,
    label: &'static str,
    current: (C, SortDir),
    keep: &[(&'static str, String)],
    numeric: bool,
) -> impl IntoView + use<C> {
    let (href, arrow) = sort_target(column, current, keep);
    let aria = (current.0 == column).then(|| current.1.aria());
    let class = if numeric { "num sortable" } else { "sortable" };
    let id = format!("sort-{}", column.as_str());
    view! {
        <th scope="col" class=class aria-sort=aria>
            <a id=id rel="external" href=href>{label}{arrow}</a>
        </th>
    }
}

/// The same as a link, for a list shown as cards rather than a table.
pub fn sort_link<C: SortColumn>(
    column: C,
    label: &'static str,
    current: (C, SortDir),
    keep: &[(&'static str, String)],
) -> impl IntoView + use<C> {
    let (href, arrow) = sort_target(column, current, keep);
    let aria = (current.0 == column).then_some("true");
    let id = format!("sort-{}", column.as_str());
    view! { <a id=id rel="external" href=href aria-current=aria>{label}{arrow}</a> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Col {
        Name,
        Balance,
    }

    impl SortColumn for Col {
        const ALL: &'static [Col] = &[Col::Name, Col::Balance];
        const DEFAULT: Col = Col::Name;
        fn as_str(self) -> &'static str {
            match self {
                Col::Name => "name",
                Col::Balance => "balance",
            }
        }
        fn first_dir(self) -> SortDir {
            match self {
                Col::Name => SortDir::Asc,
                Col::Balance => SortDir::Desc,
            }
        }
    }

    #[test]
    fn only_known_columns_and_directions_parse() {
        assert_eq!(Col::parse("balance"), Some(Col::Balance));
        assert_eq!(Col::parse("balance; DROP TABLE x"), None);
        assert_eq!(SortDir::parse("DESC"), None);
        assert_eq!(
            order_of::<Col>("balance", ""),
            (Col::Balance, SortDir::Desc)
        );
        assert_eq!(order_of::<Col>("nonsense", "up"), (Col::Name, SortDir::Asc));
    }

    #[test]
    fn a_query_string_leaves_out_empty_values_and_encodes() {
        assert_eq!(
            query_string(&[("q", "петров иван".into()), ("after", String::new())]),
            "?q=%D0%BF%D0%B5%D1%82%D1%80%D0%BE%D0%B2%20%D0%B8%D0%B2%D0%B0%D0%BD"
        );
    }
}
