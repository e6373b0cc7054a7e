//! A participant's time zone (`--time-zone`, default `Europe/Moscow`): what its people
//! call "now" and "today". Instants stay UTC in the databases and on the JSON wire
//! (wire.md); the zone only decides how an instant is shown — pages, the kiosk's receipt
//! — and where a day begins and ends for report and registry days.
//!
//! The zone rules are jiff's copy of the IANA database compiled into the binary
//! (`tzdb-bundle-always`), not the host's `/usr/share/zoneinfo`: a container or a kiosk
//! without tzdata shows the same times as a full system, and two participants with the
//! same zone name always agree on a day's bounds.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The zone of a participant that names none: where paymesh's customers live.
pub const DEFAULT_ZONE: &str = "Europe/Moscow";

/// An IANA time zone, by name and rules.
#[derive(Clone)]
pub struct Zone {
    name: String,
    rules: TimeZone,
}

/// The name is not in the bundled IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}: an IANA name like Europe/Moscow or Asia/Yekaterinburg")]
pub struct UnknownZone(pub String);

impl Zone {
    /// The zone named `name` (`Europe/Moscow`, `Asia/Vladivostok`, `UTC`).
    pub fn named(name: &str) -> Result<Zone, UnknownZone> {
        let name = name.trim();
        let rules = TimeZone::get(name).map_err(|_| UnknownZone(name.to_owned()))?;
        Ok(Zone {
            name: name.to_owned(),
            rules,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offset from UTC in this zone at a Unix instant, in seconds (east positive).
    pub fn offset_seconds_at(&self, unix_seconds: i64) -> i32 {
        Timestamp::new(unix_seconds, 0)
            .map(|at| self.rules.to_offset(at).seconds())
            .unwrap_or(0)
    }

    /// An RFC 3339 instant (any offset, as stored or sent) shown as this zone's wall
    /// clock with its offset: `2026-12-02T10:06:17.123456Z` → `2026-12-02T13:06:17+03:00`
    /// (whole seconds: people read no further). `None` when the text is not an instant.
    pub fn local(&self, instant: &str) -> Option<String> {
        let at: Timestamp = instant.trim().parse().ok()?;
        let zoned = at.to_zoned_datetime(self.rules.clone());
        let offset = zoned.offset().seconds();
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        Some(format!(
            "{}{sign}{:02}:{:02}",
            zoned.datetime().strftime("%Y-%m-%dT%H:%M:%S"),
            offset / 3600,
            offset % 3600 / 60
        ))
    }

    /// The Unix seconds where the local day `year-month-day` begins in this zone (its
    /// first instant: midnight, or later where a transition skips midnight).
    pub fn day_start(&self, year: i16, month: i8, day: i8) -> Option<i64> {
        let date = Date::new(year, month, day).ok()?;
        let zoned = date.to_zoned_datetime(self.rules.clone()).ok()?;
        Some(zoned.start_of_day().ok()?.timestamp().as_second())
    }

    /// The local date (year, month, day) at a Unix instant.
    pub fn date_at(&self, unix_seconds: i64) -> Option<(i16, i8, i8)> {
        let at = Timestamp::new(unix_seconds, 0).ok()?;
        let date = at.to_zoned_datetime(self.rules.clone()).date();
        Some((date.year(), date.month(), date.day()))
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone::named(DEFAULT_ZONE).expect("the bundled IANA database has Europe/Moscow")
    }
}

impl FromStr for Zone {
    type Err = UnknownZone;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Zone::named(name)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moscow_is_three_hours_ahead_all_year() {
        let moscow = Zone::default();
        assert_eq!(moscow.name(), "Europe/Moscow");
        assert_eq!(
            moscow.local("2026-12-02T10:06:17.123456Z").as_deref(),
            Some("2026-12-02T13:06:17+03:00")
        );
        // Summer too: Moscow has kept +03:00 since 2014.
        assert_eq!(
            moscow.local("2026-07-01T21:30:00Z").as_deref(),
            Some("2026-07-02T00:30:00+03:00")
        );
        assert_eq!(moscow.local("yesterday"), None);
    }

    #[test]
    fn a_moscow_day_starts_at_21_00_utc_the_evening_before() {
        let moscow = Zone::default();
        // 2026-12-02T00:00+03:00 = 2026-12-01T21:00Z.
        assert_eq!(moscow.day_start(2026, 12, 2), Some(1_796_158_800));
        assert_eq!(moscow.date_at(1_796_158_800), Some((2026, 12, 2)));
        assert_eq!(moscow.date_at(1_796_158_799), Some((2026, 12, 1)));
        assert_eq!(moscow.day_start(2026, 2, 30), None);
    }

    #[test]
    fn zones_with_summer_time_follow_it() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.local("2026-01-15T12:00:00Z").as_deref(),
            Some("2026-01-15T13:00:00+01:00")
        );
        assert_eq!(
            berlin.local("2026-07-15T12:00:00Z").as_deref(),
            Some("2026-07-15T14:00:00+02:00")
        );
        let utc = Zone::named("UTC").unwrap();
        assert_eq!(
            utc.local("2026-12-02T10:06:17+03:00").as_deref(),
            Some("2026-12-02T07:06:17+00:00")
        );
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(Zone::named("Mars/Olympus").is_err());
        assert!(Zone::named("").is_err());
        assert!("Asia/Yekaterinburg".parse::<Zone>().is_ok());
    }
}
