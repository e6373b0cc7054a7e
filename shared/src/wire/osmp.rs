//! The OSMP provider protocol (../shared/spec/osmp.md): result codes, the request
//! parameters' formats, and the XML answer, byte for byte. Both ends use this module: the
//! provider writes answers, processing reads them.

use std::fmt::Write;

use crate::money::{Kopecks, MoneyParseError};

/// Longest `txn_id` the protocol allows (decimal digits).
pub const MAX_TXN_ID_DIGITS: usize = 20;
/// The `Content-Type` of every answer.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// The request parameters OSMP itself defines. Payment fields after `account` travel as
/// parameters of their own names, so no field may take one of these names.
pub const PARAMETERS: [&str; 6] = ["command", "txn_id", "account", "sum", "txn_date", "date"];

/// Refuses payment field definitions whose names are OSMP's own parameters (`sum`,
/// `txn_id`…): sent as query parameters they would collide. Keys as `FieldSet::compile`'s.
pub fn reserved_field_names(fields: &[crate::fields::Field]) -> crate::fields::Refusals {
    fields
        .iter()
        .filter(|f| f.name != crate::fields::ACCOUNT && PARAMETERS.contains(&f.name.as_str()))
        .map(|f| {
            (
                format!("fields.{}", f.name),
                "this name is an OSMP parameter; choose another".to_owned(),
            )
        })
        .collect()
}
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// A result code of the payment links: OSMP's table plus paymesh's 215 and 220.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 0 — OK.
    Ok,
    /// 1 — temporary error, repeat later.
    TemporaryError,
    /// 4 — the account fails the provider's format (regex).
    BadAccountFormat,
    /// 5 — no such account.
    AccountNotFound,
    /// 7 — payments forbidden by the provider.
    ForbiddenByProvider,
    /// 8 — payments forbidden for technical reasons.
    ForbiddenTechnical,
    /// 79 — the account is not active.
    AccountNotActive,
    /// 90 — payment not finished yet; repeat `pay`.
    NotFinished,
    /// 215 — the same idempotency key with different data (paymesh).
    IdempotencyConflict,
    /// 220 — the agent's funds are insufficient (paymesh).
    InsufficientFunds,
    /// 241 — sum too small.
    SumTooSmall,
    /// 242 — sum too large.
    SumTooLarge,
    /// 243 — the account's state cannot be checked.
    CannotCheck,
    /// 300 — any other error (also a missing or malformed parameter).
    Other,
}

impl ResultCode {
    pub const ALL: [ResultCode; 14] = [
        ResultCode::Ok,
        ResultCode::TemporaryError,
        ResultCode::BadAccountFormat,
        ResultCode::AccountNotFound,
        ResultCode::ForbiddenByProvider,
        ResultCode::ForbiddenTechnical,
        ResultCode::AccountNotActive,
        ResultCode::NotFinished,
        ResultCode::IdempotencyConflict,
        ResultCode::InsufficientFunds,
        ResultCode::SumTooSmall,
        ResultCode::SumTooLarge,
        ResultCode::CannotCheck,
        ResultCode::Other,
    ];

    pub const fn code(self) -> u16 {
        match self {
            ResultCode::Ok => 0,
            ResultCode::TemporaryError => 1,
            ResultCode::BadAccountFormat => 4,
            ResultCode::AccountNotFound => 5,
            ResultCode::ForbiddenByProvider => 7,
            ResultCode::ForbiddenTechnical => 8,
            ResultCode::AccountNotActive => 79,
            ResultCode::NotFinished => 90,
            ResultCode::IdempotencyConflict => 215,
            ResultCode::InsufficientFunds => 220,
            ResultCode::SumTooSmall => 241,
            ResultCode::SumTooLarge => 242,
            ResultCode::CannotCheck => 243,
            ResultCode::Other => 300,
        }
    }

    pub fn from_code(code: u16) -> Option<ResultCode> {
        ResultCode::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether the answer is final: a retry with the same data cannot change it.
    /// Only 1 and 90 invite a repeat.
    pub const fn is_final(self) -> bool {
        !matches!(self, ResultCode::TemporaryError | ResultCode::NotFinished)
    }

    /// The `comment` of an answer with this code.
    pub const fn comment(self) -> &'static str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::TemporaryError => "Temporary error, repeat later",
            ResultCode::BadAccountFormat => "Account format is wrong",
            ResultCode::AccountNotFound => "Account not found",
            ResultCode::ForbiddenByProvider => "Payments are forbidden by the provider",
            ResultCode::ForbiddenTechnical => "Payments are forbidden for technical reasons",
            ResultCode::AccountNotActive => "Account is not active",
            ResultCode::NotFinished => "Payment is not finished yet",
            ResultCode::IdempotencyConflict => "The same id was used with different data",
            ResultCode::InsufficientFunds => "Insufficient funds",
            ResultCode::SumTooSmall => "Sum is too small",
            ResultCode::SumTooLarge => "Sum is too large",
            ResultCode::CannotCheck => "Account state cannot be checked",
            ResultCode::Other => "Other provider error",
        }
    }
}

/// Why a `sum` parameter is refused (the provider answers result 300).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumError {
    #[error("sum is malformed: {0}")]
    Malformed(#[from] MoneyParseError),
    #[error("sum must be positive")]
    NotPositive,
    #[error("sum is larger than any payment paymesh accepts")]
    TooLarge,
}

/// Reads the `sum` of a `check` or `pay`: a decimal with a dot and at most two fraction
/// digits (`10.45`; `10` and `10.5` are read as 10.00 and 10.50), strictly positive.
/// Commas, exponents, signs and a third fraction digit are refused.
pub fn parse_sum(text: &str) -> Result<Kopecks, SumError> {
    let sum = Kopecks::parse(text)?;
    if !sum.is_positive() {
        return Err(SumError::NotPositive);
    }
    if !sum.is_acceptable_input() {
        return Err(SumError::TooLarge);
    }
    Ok(sum)
}

/// Writes a sum the way the protocol wants it: `10.45`.
pub fn format_sum(sum: Kopecks) -> String {
    sum.to_string()
}

/// The number of days of a month of the Gregorian calendar (0 for a month that isn't one).
fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether `text` is a valid `txn_id`: 1 to 20 decimal digits.
pub fn is_valid_txn_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TXN_ID_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
}

/// A `txn_date` (`YYYYMMDDHHMMSS`) split into its fields: a real calendar date (no
/// 31 February) of the years 2000–2099, a time of day without leap seconds. Whether it is
/// plausible *now* (not in the future) is for whoever holds a clock to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl TxnDate {
    pub fn parse(text: &str) -> Option<TxnDate> {
        if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let field = |range: std::ops::Range<usize>| text[range].parse::<u16>().ok();
        let date = TxnDate {
            year: field(0..4)?,
            month: u8::try_from(field(4..6)?).ok()?,
            day: u8::try_from(field(6..8)?).ok()?,
            hour: u8::try_from(field(8..10)?).ok()?,
            minute: u8::try_from(field(10..12)?).ok()?,
            second: u8::try_from(field(12..14)?).ok()?,
        };
        let in_range = (2000..=2099).contains(&date.year)
            && (1..=12).contains(&date.month)
            && (1..=days_in_month(date.year, date.month)).contains(&date.day)
            && date.hour < 24
            && date.minute < 60
            && date.second < 60;
        in_range.then_some(date)
    }

    /// Back to `YYYYMMDDHHMMSS`.
    pub fn to_wire(self) -> String {
        // Digit by digit: every payment writes its date twice (processing's pay, the
        // provider's gateway log), and `format!`'s padding cost more than the date.
        let mut text = String::with_capacity(14);
        push_padded(&mut text, u32::from(self.year), 4);
        for two in [self.month, self.day, self.hour, self.minute, self.second] {
            push_padded(&mut text, u32::from(two), 2);
        }
        text
    }
}

/// `value` in decimal, zero-padded to `width` digits; a wider value keeps every digit
/// (as `{:0width$}` does).
fn push_padded(text: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width.saturating_sub(1));
    while let Some(wider) = divisor.checked_mul(10).filter(|&d| d <= value) {
        divisor = wider;
    }
    while divisor > 0 {
        let digit = u8::try_from(value / divisor % 10).unwrap_or(0);
        text.push(char::from(b'0' + digit));
        divisor /= 10;
    }
}

/// One answer document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The request's `txn_id`, echoed when it was valid.
    pub osmp_txn_id: Option<String>,
    /// The provider's own payment id (`pay` only).
    pub prv_txn: Option<i64>,
    /// The credited sum (`pay` only).
    pub sum: Option<Kopecks>,
    pub result: u16,
    pub comment: String,
}

impl Answer {
    /// An answer with the code's standard comment.
    pub fn new(osmp_txn_id: Option<String>, result: ResultCode) -> Answer {
        Answer {
            osmp_txn_id,
            prv_txn: None,
            sum: None,
            result: result.code(),
            comment: result.comment().to_owned(),
        }
    }

    /// The document of osmp.md: one element per line, no indentation, in this order.
    pub fn to_xml(&self) -> String {
        let mut xml = String::with_capacity(192);
        let _ = writeln!(xml, "{XML_DECLARATION}");
        xml.push_str("<response>\n");
        if let Some(id) = &self.osmp_txn_id {
            let _ = writeln!(xml, "<osmp_txn_id>{}</osmp_txn_id>", escape(id));
        }
        if let Some(prv_txn) = self.prv_txn {
            let _ = writeln!(xml, "<prv_txn>{prv_txn}</prv_txn>");
        }
        if let Some(sum) = self.sum {
            let _ = writeln!(xml, "<sum>{}</sum>", format_sum(sum));
        }
        let _ = writeln!(xml, "<result>{}</result>", self.result);
        let _ = writeln!(xml, "<comment>{}</comment>", escape(&self.comment));
        xml.push_str("</response>\n");
        xml
    }

    /// Reads an answer document (what processing receives). Tolerant of whitespace and
    /// element order, strict about `result` being present and numeric.
    pub fn parse_xml(text: &str) -> Option<Answer> {
        // The tags are spelt out whole: processing parses an answer for every payment.
        let element = |open: &str, close: &str| -> Option<String> {
            let start = text.find(open)? + open.len();
            let end = start + text[start..].find(close)?;
            Some(unescape(text[start..end].trim()))
        };
        Some(Answer {
            osmp_txn_id: element("<osmp_txn_id>", "</osmp_txn_id>"),
            prv_txn: element("<prv_txn>", "</prv_txn>").and_then(|v| v.parse().ok()),
            sum: element("<sum>", "</sum>").and_then(|v| Kopecks::parse(&v).ok()),
            result: element("<result>", "</result>")?.parse().ok()?,
            comment: element("<comment>", "</comment>").unwrap_or_default(),
        })
    }
}

/// One credited payment in a `verify` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayment {
    pub txn_id: String,
    pub prv_txn: i64,
    pub account: String,
    pub amount: Kopecks,
    /// `dd.mm.YYYY HH:MM:SS`.
    pub date: String,
}

/// The `command=verify` answer: result 0 and the day's credited payments.
pub fn verify_xml(payments: &[VerifiedPayment]) -> String {
    let mut xml = String::with_capacity(96 + payments.len() * 112);
    let _ = writeln!(xml, "{XML_DECLARATION}");
    xml.push_str("<response>\n<result>0</result>\n<verify>\n");
    for p in payments {
        let _ = writeln!(
            xml,
            "<payment txn_id=\"{}\" prv_txn=\"{}\" account=\"{}\" amount=\"{}\" date=\"{}\"/>",
            escape(&p.txn_id),
            p.prv_txn,
            escape(&p.account),
            format_sum(p.amount),
            escape(&p.date)
        );
    }
    xml.push_str("</verify>\n</response>\n");
    xml
}

/// XML text and attribute escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(parse_sum("10.45"), Ok(Kopecks::new(1045)));
        assert_eq!(format_sum(Kopecks::new(1045)), "10.45");
        assert_eq!(parse_sum("-5.00"), Err(SumError::NotPositive));
        assert_eq!(parse_sum("0.00"), Err(SumError::NotPositive));
        for bad in ["10,45", "1e3", "10.456", ""] {
            assert!(
                matches!(parse_sum(bad), Err(SumError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_pay_answer_of_the_spec_byte_for_byte() {
        let answer = Answer {
            osmp_txn_id: Some("1234567".into()),
            prv_txn: Some(2016),
            sum: Some(Kopecks::new(1045)),
            result: 0,
            comment: "OK".into(),
        };
        assert_eq!(
            answer.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n<osmp_txn_id>1234567</osmp_txn_id>\n<prv_txn>2016</prv_txn>\n<sum>10.45</sum>\n<result>0</result>\n<comment>OK</comment>\n</response>\n"
        );
        assert_eq!(Answer::parse_xml(&answer.to_xml()), Some(answer));
    }

    #[test]
    fn codes_and_finality() {
        for code in ResultCode::ALL {
            assert_eq!(ResultCode::from_code(code.code()), Some(code));
        }
        assert!(!ResultCode::TemporaryError.is_final());
        assert!(!ResultCode::NotFinished.is_final());
        assert!(ResultCode::AccountNotFound.is_final());
        assert_eq!(ResultCode::from_code(2), None);
    }

    #[test]
    fn txn_ids_and_dates() {
        assert!(is_valid_txn_id("1"));
        assert!(is_valid_txn_id("12345678901234567890"));
        assert!(!is_valid_txn_id("123456789012345678901"));
        assert!(!is_valid_txn_id("12a"));
        assert!(!is_valid_txn_id(""));
        assert_eq!(
            TxnDate::parse("20261126064000")
                .map(TxnDate::to_wire)
                .as_deref(),
            Some("20261126064000")
        );
        assert_eq!(TxnDate::parse("20261326064000"), None);
        // The calendar: no 31 February, 29 February only in leap years, years 2000–2099.
        assert_eq!(TxnDate::parse("20260231120000"), None);
        assert_eq!(TxnDate::parse("20260229120000"), None);
        assert!(TxnDate::parse("20280229120000").is_some());
        assert_eq!(TxnDate::parse("20000431000000"), None);
        assert_eq!(TxnDate::parse("00000101000000"), None);
        assert_eq!(TxnDate::parse("21000101000000"), None);
        assert_eq!(TxnDate::parse("2026112606400"), None);
        assert_eq!(TxnDate::parse("2026-11-26T06:"), None);
    }

    #[test]
    fn a_date_is_written_as_format_pads_it() {
        for (year, two) in [
            (2026, 7),
            (0, 0),
            (9, 59),
            (2099, 12),
            (65535, 255),
            (12345, 100),
        ] {
            let date = TxnDate {
                year,
                month: two,
                day: two,
                hour: two,
                minute: two,
                second: two,
            };
            assert_eq!(
                date.to_wire(),
                format!("{year:04}{two:02}{two:02}{two:02}{two:02}{two:02}")
            );
        }
    }

    #[test]
    fn comments_are_escaped() {
        let mut answer = Answer::new(None, ResultCode::Other);
        answer.comment = "a<b & \"c\"".into();
        assert!(
            answer
                .to_xml()
                .contains("<comment>a&lt;b &amp; &quot;c&quot;</comment>")
        );
        assert_eq!(
            Answer::parse_xml(&answer.to_xml()).unwrap().comment,
            "a<b & \"c\""
        );
    }
}
