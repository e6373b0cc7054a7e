//! The encashment report: one collection of the cash box as a workbook — the collection
//! (who, when, expected, counted, discrepancy), every bill it took, and the sessions those
//! bills went into with their payments, so the cassette can be reconciled bill by bill.
//! Times are on the terminal's wall clock (`--time-zone`), the zone named on the summary.

use rust_xlsxwriter::{Workbook, Worksheet};
use shared::money::Kopecks;
use shared::zone::Zone;
use sqlx::SqlitePool;

use super::encashment::{self, CollectedBill, CoveredSession};
use crate::agent::model::Encashment;
use crate::server::workbook::{self, Formats, ReportError, excel_local_datetime, money};

pub const SHEET_SUMMARY: &str = "Инкассация";
pub const SHEET_BILLS: &str = "Купюры";
pub const SHEET_SESSIONS: &str = "Сессии";
pub const LABEL_TOTAL: &str = "Итого";

/// What the workbook shows, read before the blocking writer starts.
struct Report {
    encashment: Encashment,
    bills: Vec<CollectedBill>,
    sessions: Vec<CoveredSession>,
    zone: Zone,
}

/// The file name of collection `id`.
pub fn file_name(id: i64) -> String {
    format!("encashment-{id}.xlsx")
}

/// The workbook's bytes (one collection is a cassette's worth of rows: small).
pub async fn build(
    pool: &SqlitePool,
    zone: &Zone,
    id: i64,
) -> Result<Vec<u8>, shared::error::ApiError> {
    let report = Report {
        encashment: encashment::get(pool, id).await?,
        bills: encashment::bills_of(pool, id)
            .await
            .map_err(ReportError::from)?,
        sessions: encashment::sessions_of(pool, id)
            .await
            .map_err(ReportError::from)?,
        zone: zone.clone(),
    };
    let file = workbook::build_in_file(move |book| write(book, &report)).await?;
    Ok(
        tokio::task::spawn_blocking(move || workbook::read_all(file))
            .await
            .map_err(|e| ReportError::Writer(e.to_string()))??,
    )
}

fn write(book: &mut Workbook, r: &Report) -> Result<(), ReportError> {
    let f = Formats::new();
    let created = time::OffsetDateTime::now_utc().date();
    book.set_properties(&workbook::properties(
        &format!("Инкассация №{}", r.encashment.encashment_id),
        created,
    )?);
    summary(book.add_worksheet(), &r.encashment, &r.zone, &f)?;
    bills(book.add_worksheet(), &r.bills, &r.zone, &f)?;
    sessions(book.add_worksheet(), &r.sessions, &r.zone, &f)?;
    Ok(())
}

fn datetime(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    stamp: &str,
    zone: &Zone,
    f: &Formats,
) -> Result<(), ReportError> {
    match excel_local_datetime(zone, stamp) {
        Some(at) => sheet.write_datetime_with_format(row, col, &at, &f.datetime)?,
        None => sheet.write_string(row, col, stamp)?,
    };
    Ok(())
}

fn summary(
    sheet: &mut Worksheet,
    e: &Encashment,
    zone: &Zone,
    f: &Formats,
) -> Result<(), ReportError> {
    sheet.set_name(SHEET_SUMMARY)?;
    sheet.set_column_width(0, 34)?;
    sheet.set_column_width(1, 24)?;
    sheet.write_string_with_format(0, 0, format!("Инкассация №{}", e.encashment_id), &f.title)?;
    sheet.write_string_with_format(2, 0, "Инкассатор", &f.label)?;
    sheet.write_string(2, 1, &e.collected_by)?;
    sheet.write_string_with_format(3, 0, "Время", &f.label)?;
    datetime(sheet, 3, 1, &e.collected_at, zone, f)?;
    sheet.write_string_with_format(4, 0, "Купюр", &f.label)?;
    sheet.write_number(4, 1, e.bill_count as f64)?;
    let figures = [
        ("По купюроприёмнику, ₽", e.expected),
        ("Пересчитано, ₽", e.counted),
        ("Расхождение (пересчитано − ожидалось), ₽", e.discrepancy),
        ("Наличные сессий, ₽", e.sessions_cash),
    ];
    for (row, (label, amount)) in (5u32..).zip(figures) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_number_with_format(row, 1, money(amount), &f.money)?;
    }
    sheet.write_string_with_format(9, 0, "Примечание", &f.label)?;
    sheet.write_string(9, 1, e.note.as_deref().unwrap_or(""))?;
    sheet.write_string_with_format(10, 0, "Часовой пояс", &f.label)?;
    sheet.write_string(10, 1, crate::server::period::zone_note(zone))?;
    Ok(())
}

fn header(sheet: &mut Worksheet, columns: &[(&str, f64)], f: &Formats) -> Result<(), ReportError> {
    for (col, (title, width)) in (0u16..).zip(columns) {
        sheet.write_string_with_format(0, col, *title, &f.header)?;
        sheet.set_column_width(col, *width)?;
    }
    Ok(())
}

fn bills(
    sheet: &mut Worksheet,
    rows: &[CollectedBill],
    zone: &Zone,
    f: &Formats,
) -> Result<(), ReportError> {
    sheet.set_name(SHEET_BILLS)?;
    header(
        sheet,
        &[
            ("Событие (event_id)", 26.0),
            ("Тип купюры", 10.0),
            ("Номинал, ₽", 12.0),
            ("Уложена", 20.0),
            ("Получена", 20.0),
            ("Сессия", 10.0),
            ("Без сессии", 18.0),
        ],
        f,
    )?;
    let mut total = Kopecks::ZERO;
    let mut row = 1u32;
    for b in rows {
        sheet.write_string(row, 0, &b.event_id)?;
        if let Some(t) = b.bill_type {
            sheet.write_number(row, 1, t as f64)?;
        }
        sheet.write_number_with_format(row, 2, money(Kopecks::new(b.amount)), &f.money)?;
        datetime(sheet, row, 3, &b.stacked_at, zone, f)?;
        datetime(sheet, row, 4, &b.received_at, zone, f)?;
        if let Some(s) = b.session_id {
            sheet.write_number(row, 5, s as f64)?;
        }
        sheet.write_string(row, 6, b.unassigned.as_deref().unwrap_or(""))?;
        total = workbook::add(total, Kopecks::new(b.amount))?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, LABEL_TOTAL, &f.total_label)?;
    sheet.write_number_with_format(row, 2, money(total), &f.money_total)?;
    Ok(())
}

fn sessions(
    sheet: &mut Worksheet,
    rows: &[CoveredSession],
    zone: &Zone,
    f: &Formats,
) -> Result<(), ReportError> {
    sheet.set_name(SHEET_SESSIONS)?;
    header(
        sheet,
        &[
            ("Сессия", 10.0),
            ("Открыта", 20.0),
            ("Провайдер", 18.0),
            ("Счёт", 16.0),
            ("Купюры в этой инкассации, ₽", 14.0),
            ("Платёж (agent_txn_id)", 24.0),
            ("Наличные платежа, ₽", 14.0),
            ("Статус", 12.0),
        ],
        f,
    )?;
    for (row, s) in (1u32..).zip(rows) {
        sheet.write_number(row, 0, s.session_id as f64)?;
        datetime(sheet, row, 1, &s.created_at, zone, f)?;
        sheet.write_string(row, 2, &s.provider_name)?;
        sheet.write_string(row, 3, &s.account)?;
        sheet.write_number_with_format(row, 4, money(Kopecks::new(s.bills_cash)), &f.money)?;
        sheet.write_string(row, 5, s.agent_txn_id.as_deref().unwrap_or(""))?;
        if let Some(cash) = s.payment_cash {
            sheet.write_number_with_format(row, 6, money(Kopecks::new(cash)), &f.money)?;
        }
        let status = match (&s.payment_status, &s.abandoned_at) {
            (Some(status), _) => status.as_str(),
            (None, Some(_)) => "abandoned",
            (None, None) => "open",
        };
        sheet.write_string(row, 7, status)?;
    }
    Ok(())
}
