//! A subscriber's report for a period: every usage charge and payment, the balance at the
//! start and the end, totals per service and per day. Read from the database in one
//! snapshot-free pass; the workbook is drawn from it by `report_xlsx`. The period's days
//! are the provider's local days (`--time-zone`, default Europe/Moscow), and the workbook
//! shows times on the same clock.

use shared::money::Kopecks;
use shared::zone::Zone;
use time::Date;

use super::store;
use crate::provider::domain::Service;
use crate::provider::model::{SubscriberRow, TransactionRow};
use crate::server::db::{self, Db};
use crate::server::period::Period;
use crate::server::workbook::{ReportError, add};

/// The longest period of a subscriber's report, in days (a report is built in memory).
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The most movements one report holds; a longer history is asked for in parts.
pub const MAX_MOVEMENTS: i64 = 200_000;

/// One service's usage in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTotal {
    pub service: Service,
    pub quantity: i64,
    pub charged: Kopecks,
}

/// One day's charges and payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotal {
    pub day: Date,
    pub charged: Kopecks,
    pub paid: Kopecks,
}

/// Everything a subscriber's report shows.
#[derive(Debug, Clone)]
pub struct SubscriberReport {
    pub provider_name: String,
    pub subscriber: SubscriberRow,
    pub period: Period,
    /// Whose days `period` names and whose clock the workbook shows: the provider's.
    pub zone: Zone,
    /// The balance before the period's first movement.
    pub opening: Kopecks,
    /// The balance after its last.
    pub closing: Kopecks,
    /// Charges, as a positive amount.
    pub charged: Kopecks,
    pub paid: Kopecks,
    /// Oldest first.
    pub movements: Vec<TransactionRow>,
    /// Every service the subscriber used in the period, in the services' order.
    pub services: Vec<ServiceTotal>,
    /// Every day of the period, movements or not (the chart shows quiet days as zero).
    pub days: Vec<DayTotal>,
}

/// Why a report was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReportRefusal {
    #[error("subscriber {0} not found")]
    NoSubscriber(String),
    #[error("more than {MAX_MOVEMENTS} movements in the period; ask for a shorter one")]
    TooLong,
    #[error(transparent)]
    Failed(#[from] ReportError),
}

impl From<sqlx::Error> for ReportRefusal {
    fn from(e: sqlx::Error) -> Self {
        ReportRefusal::Failed(e.into())
    }
}

impl From<ReportRefusal> for shared::error::ApiError {
    fn from(refusal: ReportRefusal) -> Self {
        use shared::error::ApiError;
        match refusal {
            ReportRefusal::NoSubscriber(account) => ApiError::NotFound {
                what: format!("subscriber {account}"),
            },
            too_long @ ReportRefusal::TooLong => ApiError::field("to", too_long.to_string()),
            ReportRefusal::Failed(e) => e.into(),
        }
    }
}

impl SubscriberReport {
    pub async fn load(
        pool: &Db,
        provider_name: &str,
        account: &str,
        period: Period,
        zone: &Zone,
    ) -> Result<SubscriberReport, ReportRefusal> {
        let subscriber = store::subscriber_by_account(pool, account)
            .await?
            .ok_or_else(|| ReportRefusal::NoSubscriber(account.to_owned()))?;
        let (from, to) = period.bounds(zone);
        // Every movement writes the balance after it, so the balance at the start is the
        // last one written before the period (zero for a subscriber with none: new
        // contracts start at zero).
        let opening: Option<(i64,)> = db::query_as(
            "SELECT balance_after FROM transactions WHERE subscriber_id = $1 AND created_at < $2
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(subscriber.id)
        .bind(from)
        .fetch_optional(pool)
        .await?;
        let opening = Kopecks::new(opening.map_or(0, |(b,)| b));
        let movements: Vec<TransactionRow> = db::query_as(
            "SELECT t.id, s.account, t.kind, t.service, t.quantity, t.unit_price, t.amount, t.balance_after,
                    t.payment_id AS prv_txn, p.txn_id, t.created_at, COALESCE(p.extra, '{}') AS extra
             FROM transactions t
             JOIN subscribers s ON s.id = t.subscriber_id
             LEFT JOIN payments p ON p.id = t.payment_id
             WHERE t.subscriber_id = $1 AND t.created_at >= $2 AND t.created_at < $3
             ORDER BY t.created_at, t.id LIMIT $4",
        )
        .bind(subscriber.id)
        .bind(from)
        .bind(to)
        .bind(MAX_MOVEMENTS + 1)
        .fetch_all(pool)
        .await?;
        if movements.len() as i64 > MAX_MOVEMENTS {
            return Err(ReportRefusal::TooLong);
        }
        Ok(Self::from_movements(
            provider_name,
            subscriber,
            period,
            zone,
            opening,
            movements,
        )?)
    }

    /// Totals from the movements, with checked sums.
    pub fn from_movements(
        provider_name: &str,
        subscriber: SubscriberRow,
        period: Period,
        zone: &Zone,
        opening: Kopecks,
        movements: Vec<TransactionRow>,
    ) -> Result<SubscriberReport, ReportError> {
        let mut days: Vec<DayTotal> = period
            .each_day()
            .map(|day| DayTotal {
                day,
                charged: Kopecks::ZERO,
                paid: Kopecks::ZERO,
            })
            .collect();
        let mut services: Vec<ServiceTotal> = Vec::new();
        let (mut charged, mut paid) = (Kopecks::ZERO, Kopecks::ZERO);
        for m in &movements {
            let amount = Kopecks::new(m.amount);
            // The movement's local day, as the period's bounds were drawn.
            let slot = crate::server::clock::Stamp::parse(&m.created_at)
                .map(|at| crate::server::local_time::date_of(zone, at.time()))
                .and_then(|d| days.iter_mut().find(|t| t.day == d));
            if amount.is_negative() {
                let cost = Kopecks::new(0)
                    .checked_sub(amount)
                    .ok_or(ReportError::Overflow)?;
                charged = add(charged, cost)?;
                if let Some(slot) = slot {
                    slot.charged = add(slot.charged, cost)?;
                }
                if let Some(service) = m.service.as_deref().and_then(Service::parse) {
                    match services.iter_mut().find(|s| s.service == service) {
                        Some(total) => {
                            total.quantity = total.quantity.saturating_add(m.quantity.unwrap_or(0));
                            total.charged = add(total.charged, cost)?;
                        }
                        None => services.push(ServiceTotal {
                            service,
                            quantity: m.quantity.unwrap_or(0),
                            charged: cost,
                        }),
                    }
                }
            } else {
                paid = add(paid, amount)?;
                if let Some(slot) = slot {
                    slot.paid = add(slot.paid, amount)?;
                }
            }
        }
        services.sort_by_key(|s| s.service);
        let closing = movements
            .last()
            .map_or(opening, |m| Kopecks::new(m.balance_after));
        Ok(SubscriberReport {
            provider_name: provider_name.to_owned(),
            subscriber,
            period,
            zone: zone.clone(),
            opening,
            closing,
            charged,
            paid,
            movements,
            services,
            days,
        })
    }

    /// `report-9161234567-2026-11-01_2026-11-30.xlsx`.
    pub fn file_name(&self) -> String {
        format!(
            "report-{}-{}.xlsx",
            self.subscriber.account,
            self.period.slug()
        )
    }
}
