//! Processing's contracts: providers and agents, as stored and as shown.

pub mod payment_detail;

use serde::{Deserialize, Serialize};

pub use crate::processing::model::{AgentStatus, ProviderView};
use shared::error::ApiError;
use shared::fee::FeeRule;
use shared::fields::FieldSet;
use shared::money::Kopecks;
use shared::wire::agent::Field;
use shared::wire::provider::PaymentProtocol;

use super::connectors::Endpoint;
use super::contract_audit::{Fee, agent_object};
use crate::server::audit::{self, AuditKind, Change};
use crate::server::db::{self, Db, Exec, Tx};

/// A provider contract as stored (the password stays here).
#[derive(Debug, Clone, sqlx::FromRow, crate::server::db::LiteRow)]
pub struct ProviderRow {
    pub id: i64,
    pub name: String,
    pub service_kind: String,
    pub endpoint_url: String,
    #[sqlx(try_from = "String")]
    pub protocol: PaymentProtocol,
    pub login: String,
    pub password: String,
    pub fields: String,
    pub min_amount: i64,
    pub max_amount: i64,
    pub active: bool,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub created_at: String,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub updated_at: String,
}

impl ProviderRow {
    pub fn fields(&self) -> Vec<Field> {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }

    /// The provider's fields, compiled to check values with. They were checked when
    /// saved; stored definitions that no longer compile are a fault of this server (500),
    /// never a reason to let a value through unchecked.
    pub fn field_set(&self) -> Result<std::sync::Arc<FieldSet>, ApiError> {
        FieldSet::compile_cached(&self.fields()).map_err(|refused| {
            ApiError::internal(format!(
                "provider {}: stored payment fields do not compile: {refused:?}",
                self.id
            ))
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            protocol: self.protocol,
            url: self.endpoint_url.clone(),
            login: self.login.clone(),
            password: self.password.clone(),
        }
    }

    pub fn view(&self) -> ProviderView {
        ProviderView {
            provider_id: self.id,
            name: self.name.clone(),
            service_kind: self.service_kind.clone(),
            endpoint_url: self.endpoint_url.clone(),
            protocol: self.protocol,
            login: self.login.clone(),
            fields: self.fields(),
            min_amount: Kopecks::new(self.min_amount),
            max_amount: Kopecks::new(self.max_amount),
            active: self.active,
            created_at: self.created_at.clone(),
        }
    }
}

macro_rules! select_providers {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, service_kind, endpoint_url, protocol, login, password, fields, min_amount, max_amount, active, created_at, updated_at FROM providers ",
            $rest
        )
    };
}

pub async fn provider<'a>(
    on: impl Into<Exec<'a>>,
    id: i64,
) -> Result<Option<ProviderRow>, sqlx::Error> {
    db::query_as(select_providers!("WHERE id = $1"))
        .bind(id)
        .lookup()
        .fetch_optional(on)
        .await
}

/// Switches a provider contract on or off inside the caller's transaction (which
/// records it): whether it was on before, or `None` when there is no such provider.
pub async fn set_provider_active(
    tx: &mut Tx,
    id: i64,
    active: bool,
) -> Result<Option<bool>, sqlx::Error> {
    let was: Option<(bool,)> = db::query_as("SELECT active FROM providers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((was,)) = was else {
        return Ok(None);
    };
    db::query("UPDATE providers SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(active)
        .bind(crate::server::clock::now())
        .bind(id)
        .execute(tx)
        .await?;
    Ok(Some(was))
}

pub async fn providers(pool: &Db) -> Result<Vec<ProviderRow>, sqlx::Error> {
    db::query_as(select_providers!("ORDER BY id"))
        .fetch_all(pool)
        .await
}

/// An agent contract as stored and shown.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, crate::server::db::LiteRow,
)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub contract_number: String,
    pub login: String,
    pub fee_percent_bp: i64,
    pub fee_fixed: i64,
    pub fee_min: i64,
    pub fee_max: Option<i64>,
    /// `active` or `suspended` (see [`AgentRow::status`]).
    #[sqlx(rename = "status")]
    pub status_word: String,
    #[sqlx(try_from = "crate::server::clock::Stamp")]
    pub created_at: String,
    pub balance: i64,
    pub reserved: i64,
}

impl AgentRow {
    pub fn fee_rule(&self) -> FeeRule {
        FeeRule {
            percent_bp: u32::try_from(self.fee_percent_bp).unwrap_or(0),
            fixed: Kopecks::new(self.fee_fixed),
            min: Kopecks::new(self.fee_min),
            max: self.fee_max.map(Kopecks::new),
        }
    }

    pub fn available(&self) -> Kopecks {
        Kopecks::new(self.balance - self.reserved)
    }

    pub fn status(&self) -> AgentStatus {
        AgentStatus::from_stored(&self.status_word)
    }
}

/// An [`AgentRow`]'s columns, of `agents g` and its account `a`.
macro_rules! agent_columns {
    () => {
        "g.id, g.name, g.contract_number, g.login, g.fee_percent_bp, g.fee_fixed, g.fee_min, g.fee_max, g.status, g.created_at,
         a.balance, a.reserved"
    };
}

macro_rules! select_agents {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            agent_columns!(),
            " FROM agents g JOIN ledger_accounts a ON a.id = 'agent:' || g.id ",
            $rest
        )
    };
}

/// The live agent login `$2` of realm `$1` and the agent contract that has it, in one read
/// (a [`WithContract`](crate::server::credentials::WithContract) statement): who sent a
/// request of the agents' API.
pub const AGENT_LOGIN: &str = concat!(
    "SELECT c.password_hash, c.subject, ",
    agent_columns!(),
    " FROM credentials c JOIN agents g ON g.login = c.login
      JOIN ledger_accounts a ON a.id = 'agent:' || g.id
     WHERE c.realm = $1 AND c.login = $2 AND c.revoked_at IS NULL"
);

pub async fn agent<'a>(on: impl Into<Exec<'a>>, id: i64) -> Result<Option<AgentRow>, sqlx::Error> {
    db::query_as(select_agents!("WHERE g.id = $1"))
        .bind(id)
        .lookup()
        .fetch_optional(on)
        .await
}

pub async fn agents(pool: &Db) -> Result<Vec<AgentRow>, sqlx::Error> {
    db::query_as(select_agents!("ORDER BY g.id"))
        .fetch_all(pool)
        .await
}

/// What `PATCH /agents/{id}` changes (its body as it is); `None` leaves a part as it is.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentChanges {
    pub status: Option<AgentStatus>,
    pub fee: Option<FeeRule>,
}

/// Applies a change to an agent contract with its audit entries (a status change, a fee
/// change, each naming `by`), in one transaction: the contract as it was, or `None` when
/// there is no such agent. The old `active` flag follows the status.
pub async fn change_agent(
    pool: &Db,
    id: i64,
    change: &AgentChanges,
    by: &str,
) -> Result<Option<AgentRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(before) = agent(&mut tx, id).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let status = change.status.map(AgentStatus::as_str);
    let fee = change.fee.as_ref();
    db::query(
        "UPDATE agents SET
            status = COALESCE($1, status),
            active = CASE COALESCE($1, status) WHEN 'active' THEN TRUE ELSE FALSE END,
            fee_percent_bp = COALESCE($2, fee_percent_bp),
            fee_fixed = COALESCE($3, fee_fixed),
            fee_min = COALESCE($4, fee_min),
            fee_max = CASE WHEN $5 THEN $6 ELSE fee_max END
         WHERE id = $7",
    )
    .bind(status)
    .bind(fee.map(|f| i64::from(f.percent_bp)))
    .bind(fee.map(|f| f.fixed.get()))
    .bind(fee.map(|f| f.min.get()))
    .bind(fee.is_some())
    .bind(fee.and_then(|f| f.max).map(Kopecks::get))
    .bind(id)
    .execute(&mut tx)
    .await?;
    let object = agent_object(id);
    if let Some(to) = change.status
        && let Some(kind) = AuditKind::of_status_change(before.status().as_str(), to.as_str())
    {
        audit::record(
            &mut tx,
            Change::new(by, kind, object.clone())
                .before(&serde_json::json!({"status": before.status().as_str()}))
                .after(&serde_json::json!({"status": to.as_str()})),
        )
        .await?;
    }
    if let Some(rule) = fee {
        let (was, now) = (Fee::from(&before.fee_rule()), Fee::from(rule));
        if was != now {
            audit::record(
                &mut tx,
                Change::new(by, AuditKind::FeeChanged, object)
                    .before(&was)
                    .after(&now),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Some(before))
}
