//! What processing's audit entries show of its contracts (docs/staff.md "The audit log"):
//! a provider's terms, its endpoint and credentials — the password only as issued,
//! changed or not, never its value — and an agent's fee. The entries themselves are
//! written by the store steps, in their transactions.

use serde::Serialize;
use shared::money::Kopecks;
use shared::wire::agent::Field;

use super::store::ProviderRow;
pub use crate::server::audit::Fee;
use crate::server::audit::Secret;

/// The audit log's name of a provider contract.
pub fn provider_object(id: i64) -> String {
    format!("provider {id}")
}

/// The audit log's name of an agent contract.
pub fn agent_object(id: i64) -> String {
    format!("agent {id}")
}

/// A provider contract's terms: everything but where it is reached, the credentials and
/// the on/off switch, which have entries of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderTerms {
    pub name: String,
    pub service_kind: String,
    pub protocol: String,
    pub fields: Vec<Field>,
    /// Roubles, as the portal shows them.
    pub min_amount: String,
    pub max_amount: String,
}

impl ProviderTerms {
    pub fn new(
        name: &str,
        service_kind: &str,
        protocol: &str,
        fields: Vec<Field>,
        limits: (Kopecks, Kopecks),
    ) -> Self {
        ProviderTerms {
            name: name.trim().to_owned(),
            service_kind: service_kind.trim().to_owned(),
            protocol: protocol.to_owned(),
            fields,
            min_amount: limits.0.to_string(),
            max_amount: limits.1.to_string(),
        }
    }

    pub fn of(row: &ProviderRow) -> Self {
        ProviderTerms::new(
            &row.name,
            &row.service_kind,
            row.protocol.as_str(),
            row.fields(),
            (Kopecks::new(row.min_amount), Kopecks::new(row.max_amount)),
        )
    }
}

/// Where processing reaches a provider and with which login; the password as a mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderAccess {
    pub endpoint_url: String,
    pub login: String,
    /// Absent in a "before": what it was is never recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl ProviderAccess {
    pub fn of(row: &ProviderRow) -> Self {
        ProviderAccess {
            endpoint_url: row.endpoint_url.clone(),
            login: row.login.clone(),
            password: None,
        }
    }
}

/// A new provider contract as its entry shows it.
#[derive(Debug, Serialize)]
pub struct NewProvider {
    #[serde(flatten)]
    pub terms: ProviderTerms,
    #[serde(flatten)]
    pub access: ProviderAccess,
    pub active: bool,
}

/// Whether a provider takes payments, as its on/off entry shows it.
#[derive(Debug, Serialize)]
pub struct Switch {
    pub active: bool,
}

/// An agent's balance as a top-up's entry shows it.
#[derive(Debug, Serialize)]
pub struct Balance {
    pub balance: String,
}

/// What a top-up added, beside the balance after it.
#[derive(Debug, Serialize)]
pub struct ToppedUp {
    pub balance: String,
    pub amount: String,
    pub reference: String,
}
