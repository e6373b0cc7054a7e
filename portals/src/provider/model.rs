//! The provider's records as the API and the pages show them (both builds: the pages'
//! server functions send them to the browser).

use serde::{Deserialize, Serialize};
use shared::fields::Field;
use shared::money::{Kopecks, Money};
use shared::wire::agent::Extra;

use crate::json_column::JsonColumn;

pub fn split_services(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A subscriber as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct SubscriberRow {
    pub id: i64,
    pub account: String,
    pub full_name: String,
    pub passport: String,
    pub email: String,
    pub services: String,
    pub balance: i64,
    pub status: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub updated_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::OptStamp"))]
    pub closed_at: Option<String>,
}

/// The JSON shape of a subscriber (`GET /subscribers/{account}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberView {
    pub subscriber_id: i64,
    pub account: String,
    pub full_name: String,
    pub passport: String,
    pub email: String,
    pub services: Vec<String>,
    pub balance: Money,
    pub status: String,
    pub created_at: String,
    pub closed_at: Option<String>,
}

impl From<SubscriberRow> for SubscriberView {
    fn from(row: SubscriberRow) -> Self {
        SubscriberView {
            subscriber_id: row.id,
            services: split_services(&row.services),
            balance: Money::rub(Kopecks::new(row.balance)),
            account: row.account,
            full_name: row.full_name,
            passport: row.passport,
            email: row.email,
            status: row.status,
            created_at: row.created_at,
            closed_at: row.closed_at,
        }
    }
}

/// A tariff: the price of one unit of a service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tariff {
    pub service: String,
    pub unit: String,
    /// Kopecks per unit.
    pub unit_price: Kopecks,
}

/// A processing contract as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct ContractRow {
    pub id: i64,
    pub processing_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub protocol: shared::wire::provider::PaymentProtocol,
    pub login: String,
    pub min_amount: i64,
    pub max_amount: i64,
    pub status: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
    /// The payment fields issued with the contract, `account` first. Empty only for a
    /// contract signed before fields existed, until the store fills in the kind's default.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub fields: JsonColumn<Vec<Field>>,
}

/// A payment credited from a processing center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct CreditedPayment {
    /// The prv_txn.
    pub id: i64,
    pub txn_id: String,
    pub account: String,
    pub amount: i64,
    pub txn_date: String,
}

/// One row of a subscriber's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct TransactionRow {
    pub id: i64,
    pub account: String,
    pub kind: String,
    pub service: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price: Option<i64>,
    /// Signed kopecks: negative for a usage charge, positive for a payment.
    pub amount: i64,
    pub balance_after: i64,
    pub prv_txn: Option<i64>,
    pub txn_id: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
    /// A payment's fields after `account` (`{"city":"Пермь"}`); empty for usage.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub extra: JsonColumn<Extra>,
}

/// One check or pay as the gateway saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct GatewayLogRow {
    pub id: i64,
    pub contract_id: Option<i64>,
    pub processing_name: Option<String>,
    pub protocol: String,
    pub command: String,
    pub txn_id: Option<String>,
    pub account: Option<String>,
    pub sum: Option<String>,
    pub result: i64,
    pub prv_txn: Option<i64>,
    pub comment: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
}

/// An e-mail in the provider's outbox, as the operator sees it (the attachment stays in
/// the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct OutgoingMailView {
    pub mail_id: i64,
    pub account: String,
    pub recipient: String,
    pub subject: String,
    pub attachment_name: String,
    /// `queued` (waiting for its first or next attempt), `sent`, or `failed` (refused for
    /// good or out of attempts; the operator can send it again).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::OptStamp"))]
    pub next_attempt_at: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::Stamp"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::clock::OptStamp"))]
    pub sent_at: Option<String>,
}
