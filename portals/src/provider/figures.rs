//! The figures of the provider's home page (the dashboard), as the server reads them and
//! the page shows them (both builds). The queries are in `server::dashboard`.

use serde::{Deserialize, Serialize};

/// An active subscriber whose balance is below the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct LowBalance {
    pub subscriber_id: i64,
    pub account: String,
    pub full_name: String,
    pub balance: i64,
}

/// A processing contract and what came through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractLine {
    pub contract_id: i64,
    pub processing_name: String,
    pub protocol: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    pub payments_today: i64,
    pub amount_today: i64,
    /// How long ago its last payment came, in seconds.
    pub last_payment_age_secs: Option<i64>,
}

/// One day of the chart: days before today (0 is today), payments and their sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBar {
    pub ago: i64,
    pub day: String,
    pub count: i64,
    pub amount: i64,
}

/// Everything the provider's dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Payments credited since the local midnight of the participant's zone.
    pub payments_today: i64,
    pub amount_today: i64,
    pub active_subscribers: i64,
    /// Below this balance an active subscriber is listed (kopecks).
    pub low_balance_threshold: i64,
    pub low_balance_count: i64,
    /// The lowest few.
    pub low_balances: Vec<LowBalance>,
    pub contracts: Vec<ContractLine>,
    /// The last 14 days, oldest first.
    pub days: Vec<DayBar>,
}
