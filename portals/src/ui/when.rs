//! Dates and times as people read them, per interface language. The server has already
//! put each instant on the participant's wall clock (`shared::zone`, `--time-zone`) as
//! `2026-12-02T13:06:17+03:00`; this only rearranges that text, so the server's render and
//! the browser's hydration show the same thing without the browser knowing any zone.

use super::i18n::{Lang, use_lang};

/// `2026-12-02T13:06:17+03:00` → `02.12.2026 13:06:17` (Russian), `2026-12-02 13:06:17`
/// (English). Text that is not such a stamp is shown as it is.
pub fn date_time(lang: Lang, stamp: &str) -> String {
    let (Some(date), Some(time)) = (stamp.get(..10), stamp.get(11..19)) else {
        return stamp.to_owned();
    };
    format!("{} {time}", date_in(lang, date))
}

/// `2026-12-02` → `02.12.2026` (Russian), unchanged in English.
pub fn date_in(lang: Lang, date: &str) -> String {
    match (lang, date.get(..4), date.get(5..7), date.get(8..10)) {
        (Lang::Ru, Some(year), Some(month), Some(day)) if date.len() == 10 => {
            format!("{day}.{month}.{year}")
        }
        _ => date.to_owned(),
    }
}

/// The stamp's offset as `UTC+3`, `UTC−5`, `UTC+5:30` (`None` without one, or for `Z`).
pub fn offset_of(stamp: &str) -> Option<String> {
    let offset = stamp.get(19..)?;
    let (sign, rest) = match offset.chars().next()? {
        '+' => ('+', &offset[1..]),
        '-' => ('-', &offset[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let hours: u8 = hours.parse().ok()?;
    Some(match minutes {
        "00" => format!("UTC{sign}{hours}"),
        _ => format!("UTC{sign}{hours}:{minutes}"),
    })
}

/// A local stamp in the current page's language, with its offset: `02.12.2026 13:06:17 (UTC+3)`.
pub fn local_date_time(stamp: &str) -> String {
    let shown = date_time(use_lang(), stamp);
    match offset_of(stamp) {
        Some(offset) => format!("{shown} ({offset})"),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_dates_are_day_month_year() {
        assert_eq!(
            date_time(Lang::Ru, "2026-12-02T13:06:17+03:00"),
            "02.12.2026 13:06:17"
        );
        assert_eq!(
            date_time(Lang::En, "2026-12-02T13:06:17+03:00"),
            "2026-12-02 13:06:17"
        );
        assert_eq!(date_in(Lang::Ru, "2026-12-02"), "02.12.2026");
        assert_eq!(date_time(Lang::Ru, "—"), "—");
    }

    #[test]
    fn offsets_read_as_utc_plus_hours() {
        assert_eq!(
            offset_of("2026-12-02T13:06:17+03:00").as_deref(),
            Some("UTC+3")
        );
        assert_eq!(
            offset_of("2026-12-02T13:06:17+05:30").as_deref(),
            Some("UTC+5:30")
        );
        assert_eq!(
            offset_of("2026-12-02T05:06:17-05:00").as_deref(),
            Some("UTC-5")
        );
        assert_eq!(offset_of("2026-12-02T10:06:17.123456Z"), None);
    }
}
