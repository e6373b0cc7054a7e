//! The operator's lists as tables that scale: the agent and provider lists in the order
//! asked (`sort=`, `dir=`, a closed set each), and the payment list's xlsx export of what
//! its filter selects, beside the CSV.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use rust_xlsxwriter::Workbook;
use serde::Deserialize;
use shared::error::ApiError;
use shared::money::Kopecks;

use super::ProcessingState;
use super::payment::{self, PaymentFilter};
use super::reports::Names;
use super::reports::transactions::status_name;
use crate::processing::listing::{AgentSort, ProviderSort, sort_agents, sort_providers};
use crate::processing::model::{AgentView, PaymentRow, ProviderView};
use crate::server::listing::{checked_dir, checked_sort};
use crate::server::search_key::fold;
use crate::server::workbook::{self, Formats, ReportError, money};
use crate::ui::sort::{SortColumn, SortDir};

/// `?sort=&dir=` as it arrives.
#[derive(Debug, Default, Deserialize)]
pub struct ListOrder {
    pub sort: Option<String>,
    pub dir: Option<String>,
}

impl ListOrder {
    /// The order, or a 422 naming `sort` or `dir` when it is not one the list offers.
    pub fn checked<C: SortColumn>(&self) -> Result<(C, SortDir), ApiError> {
        let column = checked_sort::<C>(self.sort.as_deref())?;
        Ok((column, checked_dir(column, self.dir.as_deref())?))
    }
}

/// Every agent in the order asked.
pub async fn agents(
    state: &ProcessingState,
    order: (AgentSort, SortDir),
) -> Result<Vec<AgentView>, sqlx::Error> {
    let mut rows: Vec<AgentView> = super::store::agents(&state.pool)
        .await?
        .iter()
        .map(AgentView::from)
        .collect();
    sort_agents(&mut rows, order, fold);
    Ok(rows)
}

/// Every provider in the order asked.
pub async fn providers(
    state: &ProcessingState,
    order: (ProviderSort, SortDir),
) -> Result<Vec<ProviderView>, sqlx::Error> {
    let mut rows: Vec<ProviderView> = super::store::providers(&state.pool)
        .await?
        .iter()
        .map(|p| p.view())
        .collect();
    sort_providers(&mut rows, order, fold);
    Ok(rows)
}

/// The export's columns: (header, width). The same as the CSV's, named in Russian as the
/// other workbooks are; agents and providers by name beside their numbers. The first, the
/// time, is on processing's clock, its zone named in the header (`created_header`).
const COLUMNS: [(&str, f64); 13] = [
    ("Создан", 19.0),
    ("Платёж №", 10.0),
    ("Агент №", 8.0),
    ("Агент", 20.0),
    ("Номер у агента", 22.0),
    ("Провайдер №", 10.0),
    ("Провайдер", 18.0),
    ("Счёт", 14.0),
    ("Сумма, ₽", 12.0),
    ("Комиссия, ₽", 12.0),
    ("Статус", 14.0),
    ("Код результата", 9.0),
    ("Попыток", 8.0),
];
/// The column after the fixed ones: the provider's last answer.
const LAST_ANSWER: (&str, f64) = ("Последний ответ", 40.0);

fn write_payments(
    book: &mut Workbook,
    rows: &[PaymentRow],
    names: &Names,
    zone: &shared::zone::Zone,
) -> Result<(), ReportError> {
    let f = Formats::new();
    let today = time::OffsetDateTime::now_utc().date();
    book.set_properties(&workbook::properties("Платежи", today)?);
    let sheet = book.add_worksheet();
    sheet.set_name("Платежи")?;
    for (col, (title, width)) in COLUMNS.into_iter().chain([LAST_ANSWER]).enumerate() {
        let col = col as u16;
        sheet.set_column_width(col, width)?;
        let title = if col == 0 {
            created_header(zone)
        } else {
            title.to_owned()
        };
        sheet.write_string_with_format(0, col, &title, &f.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (i, p) in rows.iter().enumerate() {
        // At most `EXPORT_MAX_ROWS` rows: far below a sheet's million.
        let row = u32::try_from(i + 1).map_err(|e| ReportError::Writer(e.to_string()))?;
        match workbook::excel_local_datetime(zone, &p.created_at) {
            Some(at) => sheet.write_datetime_with_format(row, 0, at, &f.datetime)?,
            None => sheet.write_string(row, 0, &p.created_at)?,
        };
        sheet.write_number(row, 1, p.id as f64)?;
        sheet.write_number(row, 2, p.agent_id as f64)?;
        sheet.write_string(row, 3, names.agent(p.agent_id))?;
        sheet.write_string(row, 4, &p.agent_txn_id)?;
        sheet.write_number(row, 5, p.provider_id as f64)?;
        sheet.write_string(row, 6, names.provider(p.provider_id))?;
        sheet.write_string(row, 7, &p.account)?;
        sheet.write_number_with_format(row, 8, money(Kopecks::new(p.amount)), &f.money)?;
        sheet.write_number_with_format(row, 9, money(Kopecks::new(p.processing_fee)), &f.money)?;
        sheet.write_string(row, 10, status_name(&p.status))?;
        if let Some(result) = p.result {
            sheet.write_number(row, 11, result as f64)?;
        }
        sheet.write_number(row, 12, p.attempts as f64)?;
        if let Some(answer) = &p.last_answer {
            sheet.write_string(row, 13, answer)?;
        }
    }
    sheet.autofilter(
        0,
        0,
        u32::try_from(rows.len()).unwrap_or(0),
        COLUMNS.len() as u16,
    )?;
    Ok(())
}

/// «Создан (Europe/Moscow)»: the page shows the time on processing's clock, and so does
/// its export, saying whose.
fn created_header(zone: &shared::zone::Zone) -> String {
    format!("{} ({})", COLUMNS[0].0, zone.name())
}

/// `GET /api/admin/v1/payments.xlsx?<the list's filter>`: what the CSV holds (every
/// payment the filter selects, from `before` on, newest first, at most
/// `EXPORT_MAX_ROWS`), as a workbook: amounts as numbers in roubles, times as Excel
/// dates, statuses in Russian. Text cells are strings to Excel, never formulas.
pub async fn export_payments_xlsx(
    State(state): State<ProcessingState>,
    Query(mut filter): Query<PaymentFilter>,
) -> Result<impl IntoResponse, ApiError> {
    use super::admin::{EXPORT_MAX_ROWS, MAX_LIST_ROWS, checked_filter};
    let bounds = checked_filter(&state.zone, &filter)?;
    let names = Names::load(&state.pool).await?;
    let mut rows = Vec::new();
    while rows.len() < EXPORT_MAX_ROWS {
        let page = payment::payments(&state.pool, &filter, bounds, MAX_LIST_ROWS)
            .await
            .map_err(ApiError::internal)?;
        let full = page.len() as i64 == MAX_LIST_ROWS;
        filter.before = page.last().map(|p| p.id);
        rows.extend(page);
        if !full {
            break;
        }
    }
    rows.truncate(EXPORT_MAX_ROWS);
    let zone = state.zone.clone();
    let file =
        workbook::build_in_file(move |book| write_payments(book, &rows, &names, &zone)).await?;
    Ok(workbook::xlsx_file(file, "payments.xlsx").await?)
}
