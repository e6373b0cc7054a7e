//! Where the participant's days and hours begin, as UTC instants: the dashboards count
//! "today", "this hour" and their chart bars between these bounds. The bounds are worked
//! out here, in Rust, from the participant's zone (`--time-zone`, `shared::zone`) and
//! bound into portable SQL as instants, because SQLite and PostgreSQL have no time-zone
//! arithmetic in common.

use shared::zone::Zone;
use time::{Date, Duration, Month, OffsetDateTime};

/// One bucket's start: the UTC instant and the local date it falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub at: OffsetDateTime,
    pub local_date: Date,
}

/// The first instant of the local day that holds `now` in `zone` (UTC midnight if the
/// zone cannot place it, which the bundled database always can).
pub fn day_start(zone: &Zone, now: OffsetDateTime) -> OffsetDateTime {
    local_date(zone, now)
        .and_then(|date| start_of(zone, date))
        .unwrap_or_else(|| now.date().midnight().assume_utc())
}

/// The starts of the last `days` local days, the oldest first and today last.
pub fn day_starts(zone: &Zone, now: OffsetDateTime, days: i64) -> Vec<Start> {
    let today = local_date(zone, now).unwrap_or(now.date());
    (0..days)
        .rev()
        .map(|ago| {
            let local_date = today - Duration::days(ago);
            let at =
                start_of(zone, local_date).unwrap_or_else(|| local_date.midnight().assume_utc());
            Start { at, local_date }
        })
        .collect()
}

/// The starts of the last `hours` local hours, the oldest first and the current one
/// last. A zone half an hour off UTC (India, say) has its hours begin at :30 UTC; across
/// a daylight-saving change an hour is where the wall clock says it is.
pub fn hour_starts(zone: &Zone, now: OffsetDateTime, hours: i64) -> Vec<Start> {
    let mut starts = Vec::new();
    let mut at = hour_start(zone, now);
    for _ in 0..hours.max(0) {
        starts.push(Start {
            at,
            local_date: local_date(zone, at).unwrap_or(at.date()),
        });
        at = hour_start(zone, at - Duration::seconds(1));
    }
    starts.reverse();
    starts
}

/// The first instant of the local hour that holds `at`.
fn hour_start(zone: &Zone, at: OffsetDateTime) -> OffsetDateTime {
    let unix = at.unix_timestamp();
    let local = unix + i64::from(zone.offset_seconds_at(unix));
    let start = unix - local.rem_euclid(3600);
    OffsetDateTime::from_unix_timestamp(start).unwrap_or(at)
}

/// The first instant of the local day `date` in `zone`: midnight, or later where a
/// transition skips midnight (UTC midnight if the zone cannot place it).
pub fn start_of_day(zone: &Zone, date: Date) -> OffsetDateTime {
    start_of(zone, date).unwrap_or_else(|| date.midnight().assume_utc())
}

/// The local date of an instant in `zone` (its UTC date if the zone cannot place it).
pub fn date_of(zone: &Zone, at: OffsetDateTime) -> Date {
    local_date(zone, at).unwrap_or(at.date())
}

fn local_date(zone: &Zone, at: OffsetDateTime) -> Option<Date> {
    let (year, month, day) = zone.date_at(at.unix_timestamp())?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()
}

fn start_of(zone: &Zone, date: Date) -> Option<OffsetDateTime> {
    let year = i16::try_from(date.year()).ok()?;
    let month = i8::try_from(u8::from(date.month())).ok()?;
    let day = i8::try_from(date.day()).ok()?;
    let unix = zone.day_start(year, month, day)?;
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn zone(name: &str) -> Zone {
        Zone::named(name).unwrap()
    }

    #[test]
    fn a_moscow_day_begins_at_21_utc_the_day_before() {
        let late = datetime!(2026-12-02 22:30 UTC);
        assert_eq!(
            day_start(&zone("Europe/Moscow"), late),
            datetime!(2026-12-02 21:00 UTC)
        );
        assert_eq!(
            day_start(&zone("UTC"), late),
            datetime!(2026-12-02 00:00 UTC)
        );
    }

    #[test]
    fn days_are_local_dates_oldest_first() {
        let days = day_starts(&zone("Europe/Moscow"), datetime!(2026-12-02 22:30 UTC), 2);
        assert_eq!(days[1].local_date, time::macros::date!(2026 - 12 - 03));
        assert_eq!(days[1].at, datetime!(2026-12-02 21:00 UTC));
        assert_eq!(days[0].at, datetime!(2026-12-01 21:00 UTC));
    }

    #[test]
    fn hours_follow_a_half_hour_zone() {
        let hours = hour_starts(&zone("Asia/Kolkata"), datetime!(2026-12-02 10:10 UTC), 3);
        assert_eq!(
            hours.iter().map(|h| h.at).collect::<Vec<_>>(),
            [
                datetime!(2026-12-02 07:30 UTC),
                datetime!(2026-12-02 08:30 UTC),
                datetime!(2026-12-02 09:30 UTC)
            ]
        );
    }

    #[test]
    fn a_daylight_saving_day_has_23_hours() {
        // Berlin goes from +01:00 to +02:00 at 01:00 UTC on 2026-03-29.
        let berlin = zone("Europe/Berlin");
        let days = day_starts(&berlin, datetime!(2026-03-30 12:00 UTC), 2);
        assert_eq!(days[1].at - days[0].at, Duration::hours(23));
    }
}
