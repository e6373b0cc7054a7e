//! The summary workbook: for the period and scope, the payments counted by status and
//! the completed ones summed (cash, agent fees, amounts owed to providers, processing
//! fees) — in total, per day (with a chart), per provider and per agent.
//!
//! Sums are the database's (`GROUP BY`), so the workbook is small whatever the period.

use rust_xlsxwriter::{Chart, ChartType, Workbook, Worksheet};
use shared::money::Kopecks;

use super::{Names, ReportFilter};
use crate::server::db::{self, Db};
use crate::server::workbook::{self, Formats, ReportError, excel_date, money};

pub const SHEET_SUMMARY: &str = "Сводка";
pub const SHEET_DAYS: &str = "По дням";
pub const SHEET_PROVIDERS: &str = "По провайдерам";
pub const SHEET_AGENTS: &str = "По агентам";
pub const LABEL_TOTAL: &str = "Итого";

/// Counts by status and sums of the completed payments of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, crate::server::db::LiteRow)]
pub struct Tally {
    /// The day (`YYYY-MM-DD`), provider id or agent id, as text.
    pub key: String,
    pub completed: i64,
    pub pending: i64,
    pub failed: i64,
    pub rejected: i64,
    pub cash: i64,
    pub agent_fee: i64,
    pub amount: i64,
    pub processing_fee: i64,
}

impl Tally {
    fn absorb(&mut self, other: &Tally) -> Result<(), ReportError> {
        // Counts and kopecks alike: a sum that does not fit fails the report.
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or(ReportError::Overflow);
        self.completed = sum(self.completed, other.completed)?;
        self.pending = sum(self.pending, other.pending)?;
        self.failed = sum(self.failed, other.failed)?;
        self.rejected = sum(self.rejected, other.rejected)?;
        self.cash = sum(self.cash, other.cash)?;
        self.agent_fee = sum(self.agent_fee, other.agent_fee)?;
        self.amount = sum(self.amount, other.amount)?;
        self.processing_fee = sum(self.processing_fee, other.processing_fee)?;
        Ok(())
    }
}

/// The counts by status and sums of the completed payments, after a group's key.
/// Portable SQL (CASE rather than SQLite's boolean sums) so that PostgreSQL runs it too.
macro_rules! tally_columns {
    () => {
        "CAST(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed,
         CAST(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
         CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed,
         CAST(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS BIGINT) AS rejected,
         CAST(SUM(CASE WHEN status = 'completed' THEN cash ELSE 0 END) AS BIGINT) AS cash,
         CAST(SUM(CASE WHEN status = 'completed' THEN agent_fee ELSE 0 END) AS BIGINT) AS agent_fee,
         CAST(SUM(CASE WHEN status = 'completed' THEN amount ELSE 0 END) AS BIGINT) AS amount,
         CAST(SUM(CASE WHEN status = 'completed' THEN processing_fee ELSE 0 END) AS BIGINT) AS processing_fee
         FROM payments
         WHERE accepted_at >= $1 AND accepted_at < $2 AND ($3 IS NULL OR provider_id = $3) AND ($4 IS NULL OR agent_id = $4)"
    };
}

/// `SELECT <key>, <counts and sums> … GROUP BY <key>`, as one static string.
macro_rules! tally_by {
    ($key:literal) => {
        concat!(
            "SELECT ",
            $key,
            " AS key, ",
            tally_columns!(),
            " GROUP BY ",
            $key,
            " ORDER BY ",
            $key
        )
    };
}

/// Local days one by-day statement tallies: a bind per day (see [`crate::server::buckets`]).
const DAYS_PER_STATEMENT: usize = crate::server::buckets::BUCKETS_MAX;

/// The statement that tallies `days` consecutive local days: the day's index in the chunk
/// is the key, found by a `CASE` over the days' first instants (`$5`… for the second day
/// on; `$1` is the first day's start and `$2` the chunk's end). The bounds come from Rust
/// (`Period::day_starts`), so neither database does time-zone arithmetic.
fn tally_by_day_sql(days: usize) -> String {
    // One day needs no CASE (and SQL has no CASE without a WHEN).
    let key = if days <= 1 {
        "0".to_owned()
    } else {
        let cases: String = (1..days)
            .rev()
            .map(|i| format!("WHEN accepted_at >= ${} THEN {i} ", i + 4))
            .collect();
        format!("CASE {cases}ELSE 0 END")
    };
    format!(
        "SELECT CAST({key} AS TEXT) AS key, {} GROUP BY 1",
        tally_columns!()
    )
}

/// Everything the summary shows.
#[derive(Debug, Clone)]
pub struct Summary {
    pub filter: ReportFilter,
    pub names: Names,
    pub total: Tally,
    /// Every day of the period, quiet ones as zero.
    pub days: Vec<Tally>,
    pub providers: Vec<Tally>,
    pub agents: Vec<Tally>,
}

impl Summary {
    pub async fn load(pool: &Db, filter: ReportFilter) -> Result<Summary, ReportError> {
        let (from, to, provider_id, agent_id) = filter.binds();
        let group = |sql: &'static str| {
            db::query_as::<Tally>(sql)
                .bind(from)
                .bind(to)
                .bind(provider_id)
                .bind(agent_id)
                .fetch_all(pool)
        };
        let days = tally_days(pool, &filter).await?;
        let providers = group(tally_by!("CAST(provider_id AS TEXT)")).await?;
        let agents = group(tally_by!("CAST(agent_id AS TEXT)")).await?;
        let mut total = Tally::default();
        for day in &days {
            total.absorb(day)?;
        }
        let order = |mut v: Vec<Tally>| {
            v.sort_by_key(|t| t.key.parse::<i64>().unwrap_or(i64::MAX));
            v
        };
        Ok(Summary {
            names: Names::load(pool).await?,
            filter,
            total,
            days,
            providers: order(providers),
            agents: order(agents),
        })
    }
}

/// Every local day of the period, quiet ones as zero, keyed `YYYY-MM-DD`: the days' UTC
/// bounds are worked out in Rust from the processing center's zone and tallied
/// [`DAYS_PER_STATEMENT`] days a statement.
async fn tally_days(pool: &Db, filter: &ReportFilter) -> Result<Vec<Tally>, ReportError> {
    let starts = filter.period.day_starts(&filter.zone);
    let mut days = Vec::with_capacity(starts.len().saturating_sub(1));
    // `starts` ends with the instant after the last day, so each window of a chunk plus
    // one holds its days and the chunk's end.
    for chunk_start in (0..starts.len().saturating_sub(1)).step_by(DAYS_PER_STATEMENT) {
        let chunk_end = (chunk_start + DAYS_PER_STATEMENT).min(starts.len() - 1);
        let chunk = &starts[chunk_start..chunk_end];
        let mut query = db::query_as::<Tally>(sqlx::AssertSqlSafe(tally_by_day_sql(chunk.len())))
            .bind(chunk[0].1)
            .bind(starts[chunk_end].1)
            .bind(filter.provider_id)
            .bind(filter.agent_id);
        for (_, start) in &chunk[1..] {
            query = query.bind(*start);
        }
        let found = query.fetch_all(pool).await?;
        for (i, (day, _)) in chunk.iter().enumerate() {
            let key = i.to_string();
            let tally = found
                .iter()
                .find(|t| t.key == key)
                .cloned()
                .unwrap_or_default();
            days.push(Tally {
                key: day.to_string(),
                ..tally
            });
        }
    }
    Ok(days)
}

/// Builds the workbook into a temporary file.
pub async fn build(pool: Db, filter: ReportFilter) -> Result<std::fs::File, ReportError> {
    let summary = Summary::load(&pool, filter).await?;
    workbook::build_in_file(move |book| write(book, &summary)).await
}

/// The columns every tally sheet shares after its key columns.
const TALLY_COLUMNS: [&str; 8] = [
    "Проведено",
    "В обработке",
    "Отказ провайдера",
    "Отклонено",
    "Наличные, ₽",
    "Комиссия агентов, ₽",
    "Сумма провайдерам, ₽",
    "Комиссия процессинга, ₽",
];

fn write_tally(
    sheet: &mut Worksheet,
    row: u32,
    first: u16,
    t: &Tally,
    total: bool,
    f: &Formats,
) -> Result<(), ReportError> {
    let count_format = if total { &f.total_label } else { &f.label };
    for (i, n) in [t.completed, t.pending, t.failed, t.rejected]
        .into_iter()
        .enumerate()
    {
        if total {
            sheet.write_number_with_format(row, first + i as u16, n as f64, count_format)?;
        } else {
            sheet.write_number(row, first + i as u16, n as f64)?;
        }
    }
    let money_format = if total { &f.money_total } else { &f.money };
    for (i, k) in [t.cash, t.agent_fee, t.amount, t.processing_fee]
        .into_iter()
        .enumerate()
    {
        sheet.write_number_with_format(
            row,
            first + 4 + i as u16,
            money(Kopecks::new(k)),
            money_format,
        )?;
    }
    Ok(())
}

/// A sheet of tallies: key columns, then [`TALLY_COLUMNS`], a frozen header and a total.
fn tally_sheet(
    sheet: &mut Worksheet,
    name: &str,
    keys: &[(&str, f64)],
    rows: &[(Vec<KeyCell>, &Tally)],
    total: &Tally,
    f: &Formats,
) -> Result<(), ReportError> {
    sheet.set_name(name)?;
    let first = keys.len() as u16;
    for (col, (title, width)) in keys.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, &f.header)?;
        sheet.set_column_width(col as u16, *width)?;
    }
    for (i, title) in TALLY_COLUMNS.into_iter().enumerate() {
        sheet.write_string_with_format(0, first + i as u16, title, &f.header)?;
        sheet.set_column_width(first + i as u16, 14)?;
    }
    sheet.set_row_height(0, 32)?;
    sheet.set_freeze_panes(1, 0)?;
    for (row, (cells, tally)) in (1u32..).zip(rows) {
        for (col, cell) in cells.iter().enumerate() {
            match cell {
                KeyCell::Date(day) => {
                    sheet.write_datetime_with_format(row, col as u16, excel_date(*day)?, &f.date)?
                }
                KeyCell::Number(n) => sheet.write_number(row, col as u16, *n as f64)?,
                KeyCell::Text(t) => sheet.write_string(row, col as u16, t)?,
            };
        }
        write_tally(sheet, row, first, tally, false, f)?;
    }
    let last = rows.len() as u32 + 1;
    sheet.write_string_with_format(last, 0, LABEL_TOTAL, &f.total_label)?;
    write_tally(sheet, last, first, total, true, f)?;
    Ok(())
}

/// A key cell of a tally row.
enum KeyCell {
    Date(time::Date),
    Number(i64),
    Text(String),
}

fn write(book: &mut Workbook, s: &Summary) -> Result<(), ReportError> {
    let f = Formats::new();
    book.set_properties(&workbook::properties(
        "Сводка платежей за период",
        s.filter.period.to,
    )?);
    overview(book.add_worksheet(), s, &f)?;

    let days: Vec<(Vec<KeyCell>, &Tally)> = s
        .days
        .iter()
        .filter_map(|t| {
            Some((
                vec![KeyCell::Date(crate::server::clock::parse_day(&t.key)?)],
                t,
            ))
        })
        .collect();
    tally_sheet(
        book.add_worksheet(),
        SHEET_DAYS,
        &[("День", 12.0)],
        &days,
        &s.total,
        &f,
    )?;

    let providers: Vec<(Vec<KeyCell>, &Tally)> = s
        .providers
        .iter()
        .map(|t| {
            let id = t.key.parse().unwrap_or(0);
            (
                vec![
                    KeyCell::Number(id),
                    KeyCell::Text(s.names.provider(id).to_owned()),
                ],
                t,
            )
        })
        .collect();
    tally_sheet(
        book.add_worksheet(),
        SHEET_PROVIDERS,
        &[("Провайдер №", 11.0), ("Провайдер", 22.0)],
        &providers,
        &s.total,
        &f,
    )?;

    let agents: Vec<(Vec<KeyCell>, &Tally)> = s
        .agents
        .iter()
        .map(|t| {
            let id = t.key.parse().unwrap_or(0);
            (
                vec![
                    KeyCell::Number(id),
                    KeyCell::Text(s.names.agent(id).to_owned()),
                ],
                t,
            )
        })
        .collect();
    tally_sheet(
        book.add_worksheet(),
        SHEET_AGENTS,
        &[("Агент №", 9.0), ("Агент", 22.0)],
        &agents,
        &s.total,
        &f,
    )?;
    Ok(())
}

/// The first sheet: the scope, the totals and the chart of the days.
fn overview(sheet: &mut Worksheet, s: &Summary, f: &Formats) -> Result<(), ReportError> {
    sheet.set_name(SHEET_SUMMARY)?;
    sheet.set_column_width(0, 30)?;
    sheet.set_column_width(1, 24)?;
    sheet.write_string_with_format(0, 0, "Сводка платежей", &f.title)?;
    sheet.write_string_with_format(2, 0, "Период", &f.label)?;
    sheet.write_string(2, 1, s.filter.period.russian())?;
    for (row, (label, value)) in (3u32..).zip(s.names.scope(&s.filter)) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_string(row, 1, value)?;
    }
    sheet.write_string_with_format(5, 0, "Часовой пояс", &f.label)?;
    sheet.write_string(5, 1, crate::server::period::zone_note(&s.filter.zone))?;
    let t = &s.total;
    let counts = [
        ("Проведено платежей", t.completed),
        ("В обработке", t.pending),
        ("Отказ провайдера", t.failed),
        ("Отклонено (нет средств)", t.rejected),
    ];
    for (row, (label, n)) in (6u32..).zip(counts) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_number(row, 1, n as f64)?;
    }
    let sums = [
        ("Принято наличных, ₽", t.cash),
        ("Комиссия агентов, ₽", t.agent_fee),
        ("Сумма провайдерам, ₽", t.amount),
        ("Комиссия процессинга, ₽", t.processing_fee),
    ];
    for (row, (label, k)) in (11u32..).zip(sums) {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        sheet.write_number_with_format(row, 1, money(Kopecks::new(k)), &f.money)?;
    }

    let last = s.days.len() as u32;
    let mut chart = Chart::new(ChartType::Column);
    chart
        .add_series()
        .set_name("Сумма провайдерам, ₽")
        .set_categories((SHEET_DAYS, 1, 0, last, 0))
        .set_values((SHEET_DAYS, 1, 7, last, 7));
    chart
        .add_series()
        .set_name("Комиссия процессинга, ₽")
        .set_categories((SHEET_DAYS, 1, 0, last, 0))
        .set_values((SHEET_DAYS, 1, 8, last, 8));
    chart.title().set_name("Платежи по дням");
    chart.y_axis().set_num_format(workbook::MONEY_FORMAT);
    sheet.insert_chart(1, 3, &chart)?;
    Ok(())
}
