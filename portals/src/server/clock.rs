//! Instants as stored and sent. On SQLite an instant is RFC 3339 UTC text of a fixed width
//! (`2026-11-26T06:42:15.123456Z`), so that text order is time order; on PostgreSQL it is a
//! `timestamptz`. [`Stamp`] is the one type the code binds and reads for both, and its
//! text is what JSON and the pages show.

use std::fmt;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

const STORED: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// An instant in UTC, to the microsecond (what both databases keep).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(OffsetDateTime);

/// As stored: a log line shows `2026-11-26T06:42:15.123456Z`, not the struct.
impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Stamp {
    pub fn at(at: OffsetDateTime) -> Stamp {
        let utc = at.to_offset(time::UtcOffset::UTC);
        let micros = utc.microsecond();
        Stamp(utc.replace_microsecond(micros).unwrap_or(utc))
    }

    /// Midnight UTC starting `day`.
    pub fn day_start(day: Date) -> Stamp {
        Stamp(day.midnight().assume_utc())
    }

    /// An RFC 3339 instant (any offset), as stored or sent.
    pub fn parse(text: &str) -> Option<Stamp> {
        OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Stamp::at)
    }

    pub fn time(self) -> OffsetDateTime {
        self.0
    }
}

impl fmt::Display for Stamp {
    /// Digits written into a fixed buffer: every instant bound on SQLite passes here
    /// (several per payment), and `time`'s general formatter, which interprets the format
    /// description item by item into a new `String`, was ~1 % of a payment's CPU. Years
    /// outside 0–9999 (never stored) take that formatter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.0;
        let year = match u32::try_from(at.year()) {
            Ok(year) if year <= 9999 => year,
            _ => return f.write_str(&at.format(STORED).map_err(|_| fmt::Error)?),
        };
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut text[0..4], year);
        put_digits(&mut text[5..7], u32::from(u8::from(at.month())));
        put_digits(&mut text[8..10], u32::from(at.day()));
        put_digits(&mut text[11..13], u32::from(at.hour()));
        put_digits(&mut text[14..16], u32::from(at.minute()));
        put_digits(&mut text[17..19], u32::from(at.second()));
        put_digits(&mut text[20..26], at.microsecond());
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// `value`'s last `into.len()` decimal digits, zero-padded, into `into`.
fn put_digits(into: &mut [u8], mut value: u32) {
    for digit in into.iter_mut().rev() {
        // A remainder after dividing by 10 is below 10: the cast cannot truncate.
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl From<Stamp> for String {
    fn from(stamp: Stamp) -> String {
        stamp.to_string()
    }
}

impl Type<Sqlite> for Stamp {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Stamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::sqlite::SqliteArgumentsBuffer,
    ) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.to_string(), buf)
    }
}

impl Decode<'_, Sqlite> for Stamp {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Stamp::parse(text).ok_or_else(|| format!("not an RFC 3339 instant: {text:?}").into())
    }
}

impl Type<Postgres> for Stamp {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Stamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl Decode<'_, Postgres> for Stamp {
    fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, BoxDynError> {
        <OffsetDateTime as Decode<Postgres>>::decode(value).map(Stamp::at)
    }
}

/// An instant column that may be NULL, read into an `Option<String>` field
/// (`#[sqlx(try_from = "OptStamp")]`): the instant-typed twin of `Option<String>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptStamp(pub Option<Stamp>);

impl From<OptStamp> for Option<String> {
    fn from(stamp: OptStamp) -> Option<String> {
        stamp.0.map(String::from)
    }
}

impl<DB: sqlx::Database> Type<DB> for OptStamp
where
    Stamp: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Stamp as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Stamp as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> Decode<'r, DB> for OptStamp
where
    Stamp: Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        use sqlx::ValueRef;
        if value.is_null() {
            return Ok(OptStamp(None));
        }
        Stamp::decode(value).map(|s| OptStamp(Some(s)))
    }
}

/// Now, for a database column.
pub fn now() -> Stamp {
    Stamp::at(OffsetDateTime::now_utc())
}

/// Now, as the text JSON and pages show.
pub fn now_text() -> String {
    now().to_string()
}

pub fn stamp(at: OffsetDateTime) -> Stamp {
    Stamp::at(at)
}

/// An instant as text, for the roles that keep instants as text (the agent on SQLite).
pub fn stamp_text(at: OffsetDateTime) -> String {
    Stamp::at(at).to_string()
}

/// A `YYYY-MM-DD` date from a query parameter.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// The earliest and latest instants a day filter can name (both databases hold them).
fn unbounded() -> (Stamp, Stamp) {
    let low = Date::from_calendar_date(1970, time::Month::January, 1).unwrap_or(Date::MIN);
    let high = Date::from_calendar_date(9999, time::Month::December, 31).unwrap_or(Date::MAX);
    (Stamp::day_start(low), Stamp::day_start(high))
}

/// The bounds `[from, to)` of stored instants for the days `from..=to` (UTC).
pub fn day_bounds(from: Option<Date>, to: Option<Date>) -> (Stamp, Stamp) {
    let (low, high) = unbounded();
    (
        from.map(Stamp::day_start).unwrap_or(low),
        to.and_then(|d| d.next_day())
            .map(Stamp::day_start)
            .unwrap_or(high),
    )
}

/// The stored-instant bounds for optional `from`/`to` day filters (`YYYY-MM-DD`, empty
/// meaning unbounded); `Err` names the filter that is not a date.
pub fn filter_bounds(from: Option<&str>, to: Option<&str>) -> Result<(Stamp, Stamp), &'static str> {
    let day = |name: &'static str, text: Option<&str>| match text
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Ok(None),
        Some(t) => parse_day(t).map(Some).ok_or(name),
    };
    Ok(day_bounds(day("from", from)?, day("to", to)?))
}

/// [`filter_bounds`] with the days local to `zone` (a participant's `--time-zone`): a
/// list filtered `from=2026-12-03` in Moscow starts at 2026-12-02T21:00Z.
pub fn filter_bounds_in(
    zone: &shared::zone::Zone,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Stamp, Stamp), &'static str> {
    let day = |name: &'static str, text: Option<&str>| match text
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Ok(None),
        Some(t) => parse_day(t).map(Some).ok_or(name),
    };
    let (low, high) = unbounded();
    let start = |d: Date| Stamp::at(super::local_time::start_of_day(zone, d));
    Ok((
        day("from", from)?.map(start).unwrap_or(low),
        day("to", to)?
            .and_then(|d| d.next_day())
            .map(start)
            .unwrap_or(high),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_digits_are_what_the_format_description_gives() {
        let instants = [
            0_i64,
            1_795_674_962,
            951_782_400,     // 2000-02-29
            253_402_300_799, // 9999-12-31T23:59:59
            -62_167_219_200, // 0000-01-01
        ];
        for seconds in instants {
            for micros in [0, 1, 9, 10, 123_456, 999_999] {
                let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                    + time::Duration::microseconds(micros);
                let stamp = stamp(at);
                assert_eq!(
                    stamp.to_string(),
                    at.format(STORED).unwrap(),
                    "{seconds} {micros}"
                );
                assert_eq!(Stamp::parse(&stamp.to_string()), Some(stamp));
            }
        }
    }

    #[test]
    fn fixed_width_and_day_bounds() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_674_962).unwrap();
        assert_eq!(stamp(at).to_string(), "2026-11-26T06:36:02.000000Z");
        let text = |(a, b): (Stamp, Stamp)| (a.to_string(), b.to_string());
        let day = parse_day("2026-11-26").unwrap();
        assert_eq!(
            text(day_bounds(Some(day), Some(day))),
            (
                "2026-11-26T00:00:00.000000Z".into(),
                "2026-11-27T00:00:00.000000Z".into()
            )
        );
        assert_eq!(
            text(day_bounds(None, None)),
            (
                "1970-01-01T00:00:00.000000Z".into(),
                "9999-12-31T00:00:00.000000Z".into()
            )
        );
        assert!(parse_day("26.11.2026").is_none());
        assert_eq!(
            filter_bounds(Some(""), None).map(text),
            Ok(text(day_bounds(None, None)))
        );
        assert_eq!(filter_bounds(Some("2026-11-26"), Some("x")), Err("to"));
        let moscow = shared::zone::Zone::named("Europe/Moscow").unwrap();
        assert_eq!(
            filter_bounds_in(&moscow, Some("2026-11-26"), Some("2026-11-26")).map(text),
            Ok((
                "2026-11-25T21:00:00.000000Z".into(),
                "2026-11-26T21:00:00.000000Z".into()
            ))
        );
        assert_eq!(
            filter_bounds_in(&moscow, None, Some("")).map(text),
            Ok(text(day_bounds(None, None)))
        );
    }

    #[test]
    fn a_stamp_reads_back_what_it_wrote_and_keeps_microseconds() {
        let stamp = Stamp::parse("2026-11-26T09:36:02.1234567+03:00").unwrap();
        assert_eq!(stamp.to_string(), "2026-11-26T06:36:02.123456Z");
        assert_eq!(Stamp::parse(&stamp.to_string()), Some(stamp));
        assert!(Stamp::parse("yesterday").is_none());
    }
}
