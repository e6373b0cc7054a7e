//! The transactions workbook: every payment of the period with both ids, the account,
//! the amounts and fees, the status and the timestamps — on processing's wall clock, the
//! zone named in a note row under the totals.
//!
//! It is built for any size in flat memory: an async task streams rows from the database
//! into a bounded channel, and a blocking thread writes them into constant-memory sheets
//! (each row goes to a temporary file as soon as the next one starts). A sheet holds at
//! most [`ROWS_PER_SHEET`] payments; more continue on the next sheet.

use futures::TryStreamExt;
use rust_xlsxwriter::{Workbook, Worksheet};
use shared::money::Kopecks;
use tokio::sync::mpsc;

use super::{Names, ReportFilter};
use crate::server::db::{self, Db};
use crate::server::workbook::{self, Formats, ReportError, excel_local_datetime, money};

/// Excel's last row is 1 048 576; one is the header, one the totals, one the zone's note.
pub const ROWS_PER_SHEET: u32 = 1_048_573;
/// Rows in flight between the database and the writer.
const CHANNEL_ROWS: usize = 1_024;

pub const SHEET_NAME: &str = "Платежи";
pub const LABEL_TOTAL: &str = "Итого проведено";

/// One payment as the workbook shows it.
#[derive(Debug, Clone, sqlx::FromRow, crate::server::db::LiteRow)]
pub struct PaymentLine {
    pub id: i64,
    pub agent_txn_id: String,
    pub prv_txn: Option<String>,
    pub agent_id: i64,
    pub provider_id: i64,
    pub account: String,
    pub cash: i64,
    pub agent_fee: i64,
    pub amount: i64,
    pub processing_fee: i64,
    pub status: String,
    pub result: Option<i64>,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub accepted_at: String,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub created_at: String,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub updated_at: String,
}

/// The columns: (header, width).
const COLUMNS: [(&str, f64); 17] = [
    ("Платёж № (txn_id)", 12.0),
    ("Номер у агента (agent_txn_id)", 22.0),
    ("Номер у провайдера (prv_txn)", 16.0),
    ("Агент №", 8.0),
    ("Агент", 20.0),
    ("Провайдер №", 10.0),
    ("Провайдер", 18.0),
    ("Счёт", 14.0),
    ("Наличные, ₽", 12.0),
    ("Комиссия агента, ₽", 12.0),
    ("Сумма провайдеру, ₽", 13.0),
    ("Комиссия процессинга, ₽", 13.0),
    ("Статус", 11.0),
    ("Код результата", 9.0),
    ("Принят", 19.0),
    ("Создан", 19.0),
    ("Изменён", 19.0),
];

/// Money columns, by index, in [`COLUMNS`].
const CASH: u16 = 8;
const AMOUNT: u16 = 10;
const FEE: u16 = 11;

/// Status words of the sheet.
pub fn status_name(status: &str) -> &'static str {
    match status {
        "completed" => "проведён",
        "pending" => "в обработке",
        "failed" => "отказ провайдера",
        _ => "отклонён",
    }
}

/// Sums of the completed payments (the money that moved).
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    count: i64,
    cash: Kopecks,
    agent_fee: Kopecks,
    amount: Kopecks,
    fee: Kopecks,
}

impl Totals {
    fn add(&mut self, p: &PaymentLine) -> Result<(), ReportError> {
        if p.status != "completed" {
            return Ok(());
        }
        self.count += 1;
        self.cash = workbook::add(self.cash, Kopecks::new(p.cash))?;
        self.agent_fee = workbook::add(self.agent_fee, Kopecks::new(p.agent_fee))?;
        self.amount = workbook::add(self.amount, Kopecks::new(p.amount))?;
        self.fee = workbook::add(self.fee, Kopecks::new(p.processing_fee))?;
        Ok(())
    }
}

/// Builds the workbook into a temporary file.
pub async fn build(pool: Db, filter: ReportFilter) -> Result<std::fs::File, ReportError> {
    let names = Names::load(&pool).await?;
    let (sender, mut receiver) = mpsc::channel::<Result<PaymentLine, sqlx::Error>>(CHANNEL_ROWS);
    let (from, to, provider_id, agent_id) = filter.binds();
    // The reader stops on its own when the writer hangs up (a failed write).
    let reader = tokio::spawn(async move {
        let mut rows = db::query_as::<PaymentLine>(
            "SELECT id, agent_txn_id, prv_txn, agent_id, provider_id, account, cash, agent_fee, amount,
                    processing_fee, status, result, accepted_at, created_at, updated_at
             FROM payments
             WHERE accepted_at >= $1 AND accepted_at < $2 AND ($3 IS NULL OR provider_id = $3) AND ($4 IS NULL OR agent_id = $4)
             ORDER BY accepted_at, id",
        )
        .bind(from)
        .bind(to)
        .bind(provider_id)
        .bind(agent_id)
        .fetch(&pool);
        loop {
            match rows.try_next().await {
                Ok(Some(row)) => {
                    if sender.send(Ok(row)).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    break;
                }
            }
        }
    });
    let written = workbook::build_in_file(move |book| {
        let rows = std::iter::from_fn(|| receiver.blocking_recv());
        write(book, &filter, &names, rows)
    })
    .await;
    // A reader that failed has already sent its error to the writer; this only reaps it.
    let _ = reader.await;
    written
}

fn sheet<'b>(
    book: &'b mut Workbook,
    number: u32,
    f: &Formats,
) -> Result<&'b mut Worksheet, ReportError> {
    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name(if number == 1 {
        SHEET_NAME.to_owned()
    } else {
        format!("{SHEET_NAME} ({number})")
    })?;
    // Column widths and panes before the first cell: a constant-memory sheet writes its
    // rows out as it goes.
    for (col, (title, width)) in COLUMNS.into_iter().enumerate() {
        sheet.set_column_width(col as u16, width)?;
        sheet.write_string_with_format(0, col as u16, title, &f.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

fn write_line(
    sheet: &mut Worksheet,
    row: u32,
    p: &PaymentLine,
    names: &Names,
    zone: &shared::zone::Zone,
    f: &Formats,
) -> Result<(), ReportError> {
    sheet.write_number(row, 0, p.id as f64)?;
    sheet.write_string(row, 1, &p.agent_txn_id)?;
    if let Some(prv_txn) = &p.prv_txn {
        sheet.write_string(row, 2, prv_txn)?;
    }
    sheet.write_number(row, 3, p.agent_id as f64)?;
    sheet.write_string(row, 4, names.agent(p.agent_id))?;
    sheet.write_number(row, 5, p.provider_id as f64)?;
    sheet.write_string(row, 6, names.provider(p.provider_id))?;
    sheet.write_string(row, 7, &p.account)?;
    sheet.write_number_with_format(row, CASH, money(Kopecks::new(p.cash)), &f.money)?;
    sheet.write_number_with_format(row, 9, money(Kopecks::new(p.agent_fee)), &f.money)?;
    sheet.write_number_with_format(row, AMOUNT, money(Kopecks::new(p.amount)), &f.money)?;
    sheet.write_number_with_format(row, FEE, money(Kopecks::new(p.processing_fee)), &f.money)?;
    sheet.write_string(row, 12, status_name(&p.status))?;
    if let Some(result) = p.result {
        sheet.write_number(row, 13, result as f64)?;
    }
    for (col, stamp) in [
        (14u16, &p.accepted_at),
        (15, &p.created_at),
        (16, &p.updated_at),
    ] {
        match excel_local_datetime(zone, stamp) {
            Some(at) => sheet.write_datetime_with_format(row, col, at, &f.datetime)?,
            None => sheet.write_string(row, col, stamp)?,
        };
    }
    Ok(())
}

fn write(
    book: &mut Workbook,
    filter: &ReportFilter,
    names: &Names,
    rows: impl Iterator<Item = Result<PaymentLine, sqlx::Error>>,
) -> Result<(), ReportError> {
    let f = Formats::new();
    book.set_properties(&workbook::properties(
        "Платежи за период",
        filter.period.to,
    )?);
    let mut number = 1;
    let mut current = sheet(book, number, &f)?;
    let mut row = 0u32;
    let mut totals = Totals::default();
    for line in rows {
        let line = line?;
        if row == ROWS_PER_SHEET {
            number += 1;
            current = sheet(book, number, &f)?;
            row = 0;
        }
        row += 1;
        write_line(current, row, &line, names, &filter.zone, &f)?;
        totals.add(&line)?;
    }
    let last = row + 1;
    current.write_string_with_format(last, 0, LABEL_TOTAL, &f.total_label)?;
    current.write_number_with_format(last, 1, totals.count as f64, &f.total_label)?;
    current.write_number_with_format(last, CASH, money(totals.cash), &f.money_total)?;
    current.write_number_with_format(last, 9, money(totals.agent_fee), &f.money_total)?;
    current.write_number_with_format(last, AMOUNT, money(totals.amount), &f.money_total)?;
    current.write_number_with_format(last, FEE, money(totals.fee), &f.money_total)?;
    // The days of the period and the times above are processing's local ones.
    current.write_string(last + 1, 0, crate::server::period::zone_note(&filter.zone))?;
    Ok(())
}
