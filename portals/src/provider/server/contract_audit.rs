//! What the provider's audit entries show of its contracts (docs/staff.md "The audit
//! log"): a subscriber's contract terms, a processing contract's terms and status, its
//! login with the password only as issued or changed. The store steps write the entries
//! in their own transactions.

use serde::Serialize;
use shared::fields::Field;
use shared::money::Kopecks;

use super::store::{ContractRow, SubscriberRow};
use crate::server::audit::Secret;

/// The audit log's name of a subscriber's contract.
pub fn subscriber_object(account: &str) -> String {
    format!("subscriber {account}")
}

/// The audit log's name of a processing center's contract.
pub fn contract_object(id: i64) -> String {
    format!("processing contract {id}")
}

/// A subscriber's contract as its entries show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriberTerms {
    pub full_name: String,
    pub passport: String,
    pub email: String,
    pub services: String,
    pub status: String,
}

impl SubscriberTerms {
    pub fn of(row: &SubscriberRow) -> Self {
        SubscriberTerms {
            full_name: row.full_name.clone(),
            passport: row.passport.clone(),
            email: row.email.clone(),
            services: row.services.clone(),
            status: row.status.clone(),
        }
    }
}

/// A processing contract as its entries show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractTerms {
    pub processing_name: String,
    pub protocol: String,
    pub login: String,
    /// Roubles, as the portal shows them.
    pub min_amount: String,
    pub max_amount: String,
    pub fields: Vec<Field>,
    pub status: String,
    /// Only in a "created" or "re-opened" entry: that a password was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl ContractTerms {
    pub fn of(row: &ContractRow) -> Self {
        ContractTerms {
            processing_name: row.processing_name.clone(),
            protocol: row.protocol.as_str().to_owned(),
            login: row.login.clone(),
            min_amount: Kopecks::new(row.min_amount).to_string(),
            max_amount: Kopecks::new(row.max_amount).to_string(),
            fields: row.fields.0.clone(),
            status: row.status.clone(),
            password: None,
        }
    }
}

/// A status as a status change's entry shows it.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub status: &'a str,
}

/// A login whose password was issued or replaced.
#[derive(Debug, Serialize)]
pub struct Access<'a> {
    pub login: &'a str,
    pub password: Secret,
}
