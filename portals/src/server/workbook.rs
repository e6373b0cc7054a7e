//! What every role's Excel reports share: cell formats, the one place where kopecks become
//! a spreadsheet number, stored timestamps as Excel dates, and a workbook built in a
//! temporary file on a blocking thread and streamed to the client from there.
//!
//! Workbooks go through a file rather than a buffer so that a million-row report costs
//! disk, not memory, and a failure half-way is still answered with a proper error (the
//! status is sent only once the file is complete).

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, XlsxError,
};
use shared::error::ApiError;
use shared::money::{KOPECKS_PER_RUBLE, Kopecks};
use time::Date;

/// The MIME type of an `.xlsx` file.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Excel's money format: thousands grouped, two kopeck digits.
pub const MONEY_FORMAT: &str = "#,##0.00";
/// Bytes read from the finished file per chunk of the response body.
const CHUNK_BYTES: usize = 64 * 1024;

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("workbook: {0}")]
    Workbook(#[from] XlsxError),
    #[error("file: {0}")]
    File(#[from] std::io::Error),
    #[error("the workbook writer stopped: {0}")]
    Writer(String),
    #[error("a total does not fit in 64 bits of kopecks")]
    Overflow,
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        ApiError::internal(e)
    }
}

/// A money cell's value: the only conversion of kopecks to a float, made at the cell so
/// that every sum before it stays exact. Excel keeps 15 significant digits, which holds
/// any amount below 10^13 roubles exactly to the kopeck.
pub fn money(amount: Kopecks) -> f64 {
    amount.get() as f64 / KOPECKS_PER_RUBLE as f64
}

/// Adds two amounts, failing the report rather than wrapping.
pub fn add(total: Kopecks, amount: Kopecks) -> Result<Kopecks, ReportError> {
    total.checked_add(amount).ok_or(ReportError::Overflow)
}

/// The cell formats of paymesh workbooks.
pub struct Formats {
    pub title: Format,
    pub header: Format,
    pub label: Format,
    pub money: Format,
    pub money_total: Format,
    pub datetime: Format,
    pub date: Format,
    pub total_label: Format,
}

impl Formats {
    pub fn new() -> Formats {
        let header = Format::new()
            .set_bold()
            .set_background_color("#DDE6F0")
            .set_border_bottom(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header,
            label: Format::new().set_bold(),
            money: Format::new().set_num_format(MONEY_FORMAT),
            money_total: Format::new()
                .set_num_format(MONEY_FORMAT)
                .set_bold()
                .set_border_top(FormatBorder::Thin),
            datetime: Format::new().set_num_format("dd.mm.yyyy hh:mm:ss"),
            date: Format::new().set_num_format("dd.mm.yyyy"),
            total_label: Format::new().set_bold().set_border_top(FormatBorder::Thin),
        }
    }
}

impl Default for Formats {
    fn default() -> Self {
        Self::new()
    }
}

/// An Excel date of a day.
pub fn excel_date(day: Date) -> Result<ExcelDateTime, XlsxError> {
    let year =
        u16::try_from(day.year()).map_err(|_| XlsxError::DateTimeRangeError(day.to_string()))?;
    ExcelDateTime::from_ymd(year, u8::from(day.month()), day.day())
}

/// An Excel date-time of a stored timestamp (`2026-11-26T06:42:15.123456Z`, UTC), or
/// `None` when the text is not one (the cell then shows the text as it is).
pub fn excel_datetime(stamp: &str) -> Option<ExcelDateTime> {
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<u16>().ok();
    let seconds: f64 = stamp.get(17..19)?.parse::<f64>().ok()?;
    let fraction: f64 = stamp
        .get(19..)
        .map(|rest| rest.trim_end_matches('Z'))
        .filter(|rest| rest.starts_with('.'))
        .and_then(|rest| format!("0{rest}").parse().ok())
        .unwrap_or(0.0);
    ExcelDateTime::from_ymd(
        number(0..4)?,
        u8::try_from(number(5..7)?).ok()?,
        u8::try_from(number(8..10)?).ok()?,
    )
    .ok()?
    .and_hms(
        number(11..13)?,
        u8::try_from(number(14..16)?).ok()?,
        seconds + fraction,
    )
    .ok()
}

/// An Excel date-time of a stored timestamp on `zone`'s wall clock, to the second (a
/// workbook's times are the participant's local time; its heading names the zone).
pub fn excel_local_datetime(zone: &shared::zone::Zone, stamp: &str) -> Option<ExcelDateTime> {
    excel_datetime(&zone.local(stamp)?)
}

/// Document properties with a fixed creation time (the end of the report's period), so
/// that the same report is the same bytes whenever it is built — a re-sent e-mail carries
/// exactly what the operator downloaded.
pub fn properties(title: &str, created: Date) -> Result<DocProperties, XlsxError> {
    let created = excel_date(created)?;
    Ok(DocProperties::new()
        .set_title(title)
        .set_author("paymesh")
        .set_creation_datetime(&created))
}

/// Writes a workbook into an anonymous temporary file on a blocking thread (workbook
/// writing is synchronous and CPU-bound) and hands back the finished file.
pub async fn build_in_file<F>(write: F) -> Result<std::fs::File, ReportError>
where
    F: FnOnce(&mut Workbook) -> Result<(), ReportError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut workbook = Workbook::new();
        write(&mut workbook)?;
        let mut file = tempfile::tempfile()?;
        workbook.save_to_writer(&mut file)?;
        Ok(file)
    })
    .await
    .map_err(|e| ReportError::Writer(e.to_string()))?
}

/// The bytes of a finished workbook file (for reports small enough to mail).
pub fn read_all(mut file: std::fs::File) -> Result<Vec<u8>, ReportError> {
    use std::io::{Read, Seek};
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `attachment; filename="…"` with a name made of safe ASCII only.
fn disposition(file_name: &str) -> String {
    let safe: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

/// An `.xlsx` download of bytes in memory.
pub fn xlsx_bytes(bytes: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX_MIME.to_owned()),
            (header::CONTENT_DISPOSITION, disposition(file_name)),
        ],
        bytes,
    )
        .into_response()
}

/// An `.xlsx` download streamed from a finished file in chunks, so that memory stays flat
/// however large the workbook is.
pub async fn xlsx_file(file: std::fs::File, file_name: &str) -> Result<Response, ReportError> {
    use std::io::Seek;
    use tokio::io::AsyncReadExt;
    let mut file = file;
    file.rewind()?;
    let length = file.metadata()?.len();
    let file = tokio::fs::File::from_std(file);
    // The state is `None` after a read error, which ends the body (the client sees a
    // short download rather than a loop of errors).
    let chunks = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut chunk = vec![0u8; CHUNK_BYTES];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(chunk), Some(file)))
            }
            Err(e) => {
                tracing::error!(error = %e, "reading a finished workbook failed");
                Some((Err(e), None))
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_MIME.to_owned()),
            (header::CONTENT_DISPOSITION, disposition(file_name)),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_names() {
        assert_eq!(money(Kopecks::new(10_045)), 100.45);
        assert_eq!(money(Kopecks::new(-250)), -2.5);
        assert!(excel_datetime("2026-11-26T06:42:15.500000Z").is_some());
        assert!(excel_datetime("yesterday").is_none());
        let moscow = shared::zone::Zone::named("Europe/Moscow").unwrap();
        assert_eq!(
            excel_local_datetime(&moscow, "2026-12-02T21:30:00.500000Z").map(|d| d.to_excel()),
            excel_datetime("2026-12-03T00:30:00Z").map(|d| d.to_excel())
        );
        assert_eq!(
            disposition("отчёт 1.xlsx"),
            "attachment; filename=\"______1.xlsx\""
        );
    }
}
