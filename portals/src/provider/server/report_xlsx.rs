//! The subscriber's report as a workbook, in Russian (the reader is the subscriber):
//!
//! * «Сводка» — who, which period, balances at its start and end, totals, totals per
//!   service and a chart of spending per day;
//! * «Операции» — every movement, header row frozen;
//! * «По дням» — spending and payments per day (the chart's data).
//!
//! Labels sit in column A and their values in column B, so a program reading the sheet
//! finds a figure by its label rather than by a fixed row.

use rust_xlsxwriter::{Chart, ChartType, Workbook, Worksheet};
use shared::money::Kopecks;

use super::report::SubscriberReport;
use crate::provider::domain::Service;
use crate::server::workbook::{
    self, Formats, ReportError, excel_date, excel_local_datetime, money,
};

pub const SHEET_SUMMARY: &str = "Сводка";
pub const SHEET_MOVEMENTS: &str = "Операции";
pub const SHEET_DAYS: &str = "По дням";

/// The labels of the summary's figures (what tests and readers look for).
pub const LABEL_OPENING: &str = "Баланс на начало периода, ₽";
pub const LABEL_CHARGED: &str = "Списано за услуги, ₽";
pub const LABEL_PAID: &str = "Оплачено, ₽";
pub const LABEL_CLOSING: &str = "Баланс на конец периода, ₽";
pub const LABEL_TOTAL: &str = "Итого";

pub fn service_name(service: Service) -> &'static str {
    match service {
        Service::Call => "Звонки",
        Service::Internet => "Мобильный интернет",
        Service::Sms => "SMS",
    }
}

pub fn service_unit(service: Service) -> &'static str {
    match service {
        Service::Call => "мин",
        Service::Internet => "МБ",
        Service::Sms => "шт",
    }
}

/// The workbook's bytes (a subscriber's report is small enough to hold and to mail).
pub async fn build(report: SubscriberReport) -> Result<Vec<u8>, ReportError> {
    let file = workbook::build_in_file(move |book| write(book, &report)).await?;
    tokio::task::spawn_blocking(move || workbook::read_all(file))
        .await
        .map_err(|e| ReportError::Writer(e.to_string()))?
}

fn write(book: &mut Workbook, report: &SubscriberReport) -> Result<(), ReportError> {
    let formats = Formats::new();
    book.set_properties(&workbook::properties(
        &format!("Отчёт по счёту {}", report.subscriber.account),
        report.period.to,
    )?);
    summary(book.add_worksheet(), report, &formats)?;
    movements(book.add_worksheet(), report, &formats)?;
    days(book.add_worksheet(), report, &formats)?;
    Ok(())
}

fn summary(sheet: &mut Worksheet, r: &SubscriberReport, f: &Formats) -> Result<(), ReportError> {
    sheet.set_name(SHEET_SUMMARY)?;
    sheet.set_column_width(0, 34)?;
    sheet.set_column_width(1, 28)?;
    sheet.set_column_width(2, 12)?;
    sheet.set_column_width(3, 16)?;
    sheet.write_string_with_format(0, 0, "Отчёт абонента за период", &f.title)?;
    let facts = [
        ("Оператор", r.provider_name.as_str()),
        ("Абонент", r.subscriber.full_name.as_str()),
        ("Лицевой счёт", r.subscriber.account.as_str()),
        ("Электронная почта", r.subscriber.email.as_str()),
    ];
    for (row, (label, value)) in (2u32..).zip(facts) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_string(row, 1, value)?;
    }
    sheet.write_string_with_format(6, 0, "Период", &f.label)?;
    sheet.write_string(6, 1, r.period.russian())?;
    sheet.write_string_with_format(7, 0, "Часовой пояс", &f.label)?;
    sheet.write_string(7, 1, crate::server::period::zone_note(&r.zone))?;
    let figures = [
        (LABEL_OPENING, r.opening),
        (LABEL_CHARGED, r.charged),
        (LABEL_PAID, r.paid),
        (LABEL_CLOSING, r.closing),
    ];
    for (row, (label, amount)) in (8u32..).zip(figures) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_number_with_format(row, 1, money(amount), &f.money)?;
    }

    let top = 13u32;
    for (col, title) in ["Услуга", "Количество", "Единица", "Сумма, ₽"]
        .into_iter()
        .enumerate()
    {
        sheet.write_string_with_format(top, col as u16, title, &f.header)?;
    }
    let mut row = top + 1;
    let mut total = Kopecks::ZERO;
    for s in &r.services {
        sheet.write_string(row, 0, service_name(s.service))?;
        sheet.write_number(row, 1, s.quantity as f64)?;
        sheet.write_string(row, 2, service_unit(s.service))?;
        sheet.write_number_with_format(row, 3, money(s.charged), &f.money)?;
        total = workbook::add(total, s.charged)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, LABEL_TOTAL, &f.total_label)?;
    sheet.write_number_with_format(row, 3, money(total), &f.money_total)?;

    let mut chart = Chart::new(ChartType::Column);
    let last = r.days.len() as u32;
    chart
        .add_series()
        .set_name("Расходы, ₽")
        .set_categories((SHEET_DAYS, 1, 0, last, 0))
        .set_values((SHEET_DAYS, 1, 1, last, 1));
    chart.title().set_name("Расходы по дням");
    chart.x_axis().set_name("День");
    chart
        .y_axis()
        .set_name("₽")
        .set_num_format(workbook::MONEY_FORMAT);
    chart.legend().set_hidden();
    sheet.insert_chart(1, 5, &chart)?;
    Ok(())
}

fn movements(sheet: &mut Worksheet, r: &SubscriberReport, f: &Formats) -> Result<(), ReportError> {
    sheet.set_name(SHEET_MOVEMENTS)?;
    let columns: [(&str, f64); 8] = [
        ("Дата и время", 20.0),
        ("Операция", 12.0),
        ("Услуга", 20.0),
        ("Количество", 12.0),
        ("Цена за единицу, ₽", 14.0),
        ("Сумма, ₽", 14.0),
        ("Баланс после, ₽", 16.0),
        ("Платёж: txn_id / prv_txn", 26.0),
    ];
    for (col, (title, width)) in columns.into_iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, title, &f.header)?;
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (row, m) in (1u32..).zip(&r.movements) {
        match excel_local_datetime(&r.zone, &m.created_at) {
            Some(at) => sheet.write_datetime_with_format(row, 0, at, &f.datetime)?,
            None => sheet.write_string(row, 0, &m.created_at)?,
        };
        let service = m.service.as_deref().and_then(Service::parse);
        if m.kind == "usage" {
            sheet.write_string(row, 1, "Списание")?;
            sheet.write_string(row, 2, service.map_or("", service_name))?;
            sheet.write_number(row, 3, m.quantity.unwrap_or(0) as f64)?;
            sheet.write_number_with_format(
                row,
                4,
                money(Kopecks::new(m.unit_price.unwrap_or(0))),
                &f.money,
            )?;
        } else {
            sheet.write_string(row, 1, "Платёж")?;
            sheet.write_string(
                row,
                7,
                format!(
                    "{} / {}",
                    m.txn_id.as_deref().unwrap_or_default(),
                    m.prv_txn.map(|p| p.to_string()).unwrap_or_default()
                ),
            )?;
        }
        sheet.write_number_with_format(row, 5, money(Kopecks::new(m.amount)), &f.money)?;
        sheet.write_number_with_format(row, 6, money(Kopecks::new(m.balance_after)), &f.money)?;
    }
    if !r.movements.is_empty() {
        sheet.autofilter(0, 0, r.movements.len() as u32, 7)?;
    }
    Ok(())
}

fn days(sheet: &mut Worksheet, r: &SubscriberReport, f: &Formats) -> Result<(), ReportError> {
    sheet.set_name(SHEET_DAYS)?;
    for (col, title) in ["День", "Расходы, ₽", "Оплачено, ₽"]
        .into_iter()
        .enumerate()
    {
        sheet.write_string_with_format(0, col as u16, title, &f.header)?;
        sheet.set_column_width(col as u16, 14)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (row, d) in (1u32..).zip(&r.days) {
        sheet.write_datetime_with_format(row, 0, excel_date(d.day)?, &f.date)?;
        sheet.write_number_with_format(row, 1, money(d.charged), &f.money)?;
        sheet.write_number_with_format(row, 2, money(d.paid), &f.money)?;
    }
    Ok(())
}
