//! The period of a report: whole UTC days `from..=to`, both given as `YYYY-MM-DD`.

use shared::error::ApiError;
use time::Date;

use super::clock;

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

    /// The stored-timestamp bounds `[from, to + 1 day)`.
    pub fn bounds(&self) -> (clock::Stamp, clock::Stamp) {
        clock::day_bounds(Some(self.from), Some(self.to))
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
        let (from, to) = p.bounds();
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
}
