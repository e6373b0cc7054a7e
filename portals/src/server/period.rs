//! The period of a report: whole local days `from..=to` in the participant's zone
//! (`--time-zone`), both given as `YYYY-MM-DD`. Its bounds are UTC instants worked out in
//! Rust from the local midnights (`server::local_time`), so a day across a daylight-saving
//! change is 23 or 25 hours long and the SQL compares plain instants on both databases.

use shared::error::ApiError;
use shared::zone::Zone;
use time::Date;

use super::clock::{self, Stamp};
use super::local_time;

/// Days `from..=to`, `from` not after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    /// Reads `from` and `to` query parameters. Both are required: a report names its
    /// period on its first page and in its file name, so it never guesses one.
    /// `max_days` bounds reports that are built in memory.
    pub fn parse(from: Option<&str>, to: Option<&str>, max_days: i64) -> Result<Period, ApiError> {
        let day = |name: &str, text: Option<&str>| {
            text.and_then(clock::parse_day)
                .ok_or_else(|| ApiError::field(name, "a date is YYYY-MM-DD"))
        };
        let period = Period {
            from: day("from", from)?,
            to: day("to", to)?,
        };
        if period.from > period.to {
            return Err(ApiError::field("to", "the period ends before it starts"));
        }
        if period.days() > max_days {
            return Err(ApiError::field(
                "to",
                format!("a period is {max_days} days at most"),
            ));
        }
        Ok(period)
    }

    /// The number of days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// Every day of the period in order.
    pub fn each_day(&self) -> impl Iterator<Item = Date> + use<> {
        let to = self.to;
        std::iter::successors(Some(self.from), move |d| d.next_day().filter(|n| *n <= to))
    }

    /// The stored-instant bounds `[start of from, start of to + 1 day)`, the days local to
    /// `zone`.
    pub fn bounds(&self, zone: &Zone) -> (Stamp, Stamp) {
        (
            day_start(zone, self.from),
            day_start(zone, next_day(self.to)),
        )
    }

    /// Every day of the period with the instant it begins, then the instant the period
    /// ends: `days + 1` instants, ascending, so day `i` runs from `starts[i].1` to
    /// `starts[i + 1].1` (the last element's date is the day after the period).
    pub fn day_starts(&self, zone: &Zone) -> Vec<(Date, Stamp)> {
        self.each_day()
            .chain(std::iter::once(next_day(self.to)))
            .map(|day| (day, day_start(zone, day)))
            .collect()
    }

    /// `2026-11-01_2026-11-30`, for file names.
    pub fn slug(&self) -> String {
        format!("{}_{}", self.from, self.to)
    }

    /// `01.11.2026 — 30.11.2026`, as a Russian reader writes a period.
    pub fn russian(&self) -> String {
        format!("{} — {}", russian_date(self.from), russian_date(self.to))
    }
}

fn next_day(day: Date) -> Date {
    day.next_day().unwrap_or(day)
}

fn day_start(zone: &Zone, day: Date) -> Stamp {
    Stamp::at(local_time::start_of_day(zone, day))
}

/// «дни и время — по часовому поясу Europe/Moscow», for a report's heading: the reader
/// of a workbook must know whose days and clock it shows.
pub fn zone_note(zone: &Zone) -> String {
    format!("дни и время — по часовому поясу {}", zone.name())
}

/// `DD.MM.YYYY`.
pub fn russian_date(day: Date) -> String {
    format!(
        "{:02}.{:02}.{}",
        day.day(),
        u8::from(day.month()),
        day.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_days_in_order() {
        let p = Period::parse(Some("2026-11-29"), Some("2026-12-01"), 31).unwrap();
        assert_eq!(p.days(), 3);
        assert_eq!(p.each_day().count(), 3);
        let (from, to) = p.bounds(&Zone::named("UTC").unwrap());
        assert_eq!(
            (from.to_string(), to.to_string()),
            (
                "2026-11-29T00:00:00.000000Z".to_owned(),
                "2026-12-02T00:00:00.000000Z".to_owned()
            )
        );
        assert_eq!(p.russian(), "29.11.2026 — 01.12.2026");
        assert!(Period::parse(Some("2026-12-02"), Some("2026-12-01"), 31).is_err());
        assert!(Period::parse(None, Some("2026-12-01"), 31).is_err());
        assert!(Period::parse(Some("2026-01-01"), Some("2026-12-31"), 31).is_err());
    }

    #[test]
    fn moscow_days_begin_at_21_utc_the_evening_before() {
        let p = Period::parse(Some("2026-12-02"), Some("2026-12-03"), 31).unwrap();
        let (from, to) = p.bounds(&Zone::named("Europe/Moscow").unwrap());
        assert_eq!(from.to_string(), "2026-12-01T21:00:00.000000Z");
        assert_eq!(to.to_string(), "2026-12-03T21:00:00.000000Z");
    }

    #[test]
    fn a_period_across_daylight_saving_keeps_the_wall_clock_midnights() {
        // Berlin: +01:00 until 01:00 UTC on 2026-03-29, +02:00 after; the clocks go back
        // at 01:00 UTC on 2026-10-25.
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let spring = Period::parse(Some("2026-03-28"), Some("2026-03-29"), 31).unwrap();
        let starts: Vec<String> = spring
            .day_starts(&berlin)
            .iter()
            .map(|(_, at)| at.to_string())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-03-27T23:00:00.000000Z",
                "2026-03-28T23:00:00.000000Z",
                "2026-03-29T22:00:00.000000Z"
            ]
        );
        let autumn = Period::parse(Some("2026-10-25"), Some("2026-10-25"), 31).unwrap();
        let (from, to) = autumn.bounds(&berlin);
        assert_eq!(to.time() - from.time(), time::Duration::hours(25));
    }
}
