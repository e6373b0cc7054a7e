//! JSON bodies of the provider's APIs (wire.md "Provider"): what the provider answers and
//! what consumers and processing centers send it.

use serde::{Deserialize, Serialize};

use crate::money::{Kopecks, Money};
use crate::wire::agent::Extra;

/// The protocol a subscriber contract speaks.
pub const USAGE_PROTOCOL: &str = "paymesh-usage/1";

/// How a processing center asks a provider to check and credit (wire.md `"protocol"`):
/// OSMP's XML over GET, or its JSON twin. One type, matched exhaustively, so a third
/// protocol cannot be half-added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentProtocol {
    Osmp,
    Json,
}

impl PaymentProtocol {
    /// The wire and database spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentProtocol::Osmp => "osmp",
            PaymentProtocol::Json => "json",
        }
    }

    /// From the wire or database spelling; anything else is `None`.
    pub fn parse(text: &str) -> Option<PaymentProtocol> {
        match text {
            "osmp" => Some(PaymentProtocol::Osmp),
            "json" => Some(PaymentProtocol::Json),
            _ => None,
        }
    }
}

impl std::fmt::Display for PaymentProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored spelling (`#[sqlx(try_from = "String")]`): a row with any other value is a
/// decoding error, not a silent default.
impl TryFrom<String> for PaymentProtocol {
    type Error = String;

    fn try_from(text: String) -> Result<PaymentProtocol, String> {
        PaymentProtocol::parse(&text).ok_or_else(|| format!("unknown payment protocol {text:?}"))
    }
}

/// `POST /api/admin/v1/subscribers` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignSubscriber {
    pub full_name: String,
    pub passport: String,
    pub email: String,
    pub services: Vec<String>,
}

/// A signed subscriber contract, as the provider issues it (the consumer stores it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberContract {
    pub subscriber_id: i64,
    pub account: String,
    pub usage_url: String,
    pub protocol: String,
    pub login: String,
    pub password: String,
    pub services: Vec<String>,
    pub balance: Money,
}

/// `POST /api/usage/v1/usage` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseService {
    pub service: String,
    pub quantity: i64,
}

/// The answer to a use of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCharged {
    pub usage_id: i64,
    pub service: String,
    pub quantity: i64,
    pub charged: Money,
    pub balance: Money,
}

/// `GET /api/usage/v1/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account: String,
    pub balance: Money,
    pub status: String,
}

/// `GET /api/usage/v1/transactions` (docs/provider.md; not in wire.md): the subscriber's
/// own balance movements, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub account: String,
    /// The subscriber's name as the contract has it: the consumer's header shows it.
    pub full_name: String,
    pub transactions: Vec<HistoryEntry>,
}

/// One balance movement: a usage charge (negative) or a payment (positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    /// `usage` or `payment`.
    pub kind: String,
    pub service: Option<String>,
    pub quantity: Option<i64>,
    pub amount: Money,
    pub balance_after: Money,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// `POST /api/processing/v1/check` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonCheck {
    pub txn_id: String,
    pub account: String,
    pub amount: Kopecks,
    /// The contract's payment fields after `account` (wire.md `extra`).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// `POST /api/processing/v1/pay` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPay {
    pub txn_id: String,
    pub account: String,
    pub amount: Kopecks,
    /// RFC 3339.
    pub txn_date: String,
    /// The contract's payment fields after `account` (wire.md `extra`).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

/// The answer of the JSON processing protocol (`prv_txn` and `amount` on a `pay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonAnswer {
    /// The request's `txn_id`, echoed: processing counts an answer only for the `txn_id`
    /// it sent (wire.md "A provider's answer is bound to its request").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn_id: Option<String>,
    pub result: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prv_txn: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Kopecks>,
    pub message: String,
}
