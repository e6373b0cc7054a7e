//! Timestamps as stored and sent: RFC 3339 UTC with a fixed width
//! (`2026-11-26T06:42:15.123456Z`), so that text order is time order in every database.

use time::macros::format_description;
use time::{Date, OffsetDateTime};

const STORED: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Now, for a database column or a JSON field.
pub fn now() -> String {
    stamp(OffsetDateTime::now_utc())
}

pub fn stamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(STORED)
        .unwrap_or_default()
}

/// A `YYYY-MM-DD` date from a query parameter.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// The text bounds `[from, to)` of stored timestamps for the days `from..=to`.
pub fn day_bounds(from: Option<Date>, to: Option<Date>) -> (String, String) {
    let low = from
        .map(|d| d.to_string())
        .unwrap_or_else(|| "0000".to_owned());
    let high = to
        .and_then(|d| d.next_day())
        .map(|d| d.to_string())
        .unwrap_or_else(|| "9999".to_owned());
    (low, high)
}

/// The stored-timestamp bounds for optional `from`/`to` day filters (`YYYY-MM-DD`, empty
/// meaning unbounded); `Err` names the filter that is not a date.
pub fn filter_bounds(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, String), &'static str> {
    let day = |name: &'static str, text: Option<&str>| match text
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Ok(None),
        Some(t) => parse_day(t).map(Some).ok_or(name),
    };
    Ok(day_bounds(day("from", from)?, day("to", to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_day_bounds() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_674_962).unwrap();
        assert_eq!(stamp(at), "2026-11-26T06:36:02.000000Z");
        let day = parse_day("2026-11-26").unwrap();
        assert_eq!(
            day_bounds(Some(day), Some(day)),
            ("2026-11-26".into(), "2026-11-27".into())
        );
        assert_eq!(day_bounds(None, None), ("0000".into(), "9999".into()));
        assert!(parse_day("26.11.2026").is_none());
        assert_eq!(
            filter_bounds(Some(""), None),
            Ok(("0000".into(), "9999".into()))
        );
        assert_eq!(filter_bounds(Some("2026-11-26"), Some("x")), Err("to"));
    }
}
