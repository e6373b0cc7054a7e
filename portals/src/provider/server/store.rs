//! The provider's tables: reading and writing subscribers, tariffs, processing contracts,
//! transactions and the gateway log. Money-moving writes live in `billing`.

use shared::money::Kopecks;

use super::contract_audit::contract_object;
use crate::provider::domain::{ProviderKind, Service};
pub use crate::provider::model::{
    ContractRow, CreditedPayment, GatewayLogRow, SubscriberRow, SubscriberView, Tariff,
    TransactionRow, split_services,
};
use crate::server::audit::{self, AuditKind, Change};
use crate::server::clock::{self, Stamp};
use crate::server::db::{self, Db, Exec};

pub fn join_services(services: &[Service]) -> String {
    services
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The account for the subscriber with this id. Ids map to accounts one to one: mobile
/// numbers are scattered (`9` + the id scaled by 3^18 mod 10^9, a permutation because
/// 3^18 shares no factor with 10^9) so they look like real numbers; contract numbers are
/// sequential from 10000001. Unique by construction: no retries, no collisions.
/// `offset` shifts a mobile operator's numbers so that two operators do not issue the same
/// ones (it derives from the operator's name: [`numbering_offset`]).
pub fn account_for(kind: ProviderKind, id: i64, offset: i64) -> String {
    match kind {
        ProviderKind::Mobile => {
            let scattered = (i128::from(id) * 387_420_489 + i128::from(offset)) % 1_000_000_000;
            format!("9{scattered:09}")
        }
        ProviderKind::Internet => format!("{:08}", 10_000_000 + id),
    }
}

/// A stable number below 10^9 from the operator's name (FNV-1a), for [`account_for`].
pub fn numbering_offset(name: &str) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::try_from(hash % 1_000_000_000).unwrap_or(0)
}

/// `SELECT <every subscriber column> FROM subscribers <rest>`, as one static string.
macro_rules! select_subscribers {
    ($rest:literal) => {
        concat!(
            "SELECT id, account, full_name, passport, email, services, balance, status, created_at, updated_at, closed_at FROM subscribers ",
            $rest
        )
    };
}

pub async fn subscriber_by_account<'a>(
    on: impl Into<Exec<'a>>,
    account: &str,
) -> Result<Option<SubscriberRow>, sqlx::Error> {
    db::query_as(select_subscribers!("WHERE account = $1"))
        .bind(account)
        .lookup()
        .fetch_optional(on)
        .await
}

pub async fn subscriber_by_id(pool: &Db, id: i64) -> Result<Option<SubscriberRow>, sqlx::Error> {
    db::query_as(select_subscribers!("WHERE id = $1"))
        .bind(id)
        .lookup()
        .fetch_optional(pool)
        .await
}

pub async fn tariffs(pool: &Db) -> Result<Vec<Tariff>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        db::query_as("SELECT service, unit_price FROM tariffs ORDER BY service")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(service, price)| {
            let unit = Service::parse(&service)?.unit().to_owned();
            Some(Tariff {
                service,
                unit,
                unit_price: Kopecks::new(price),
            })
        })
        .collect())
}

pub async fn unit_price(pool: &Db, service: Service) -> Result<Option<Kopecks>, sqlx::Error> {
    let price: Option<(i64,)> = db::query_as("SELECT unit_price FROM tariffs WHERE service = $1")
        .bind(service.as_str())
        .lookup()
        .fetch_optional(pool)
        .await?;
    Ok(price.map(|(p,)| Kopecks::new(p)))
}

/// The prices as the audit log shows them: service → roubles.
async fn price_list(
    tx: &mut db::Tx,
) -> Result<std::collections::BTreeMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        db::query_as("SELECT service, unit_price FROM tariffs ORDER BY service")
            .fetch_all(tx)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(service, price)| (service, Kopecks::new(price).to_string()))
        .collect())
}

/// Sets the prices given, all in one transaction with the audit entry that names `by`
/// and the price list before and after.
pub async fn set_tariffs(
    pool: &Db,
    prices: &[(Service, Kopecks)],
    by: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let before = price_list(&mut tx).await?;
    let now = clock::now();
    for (service, price) in prices {
        db::query("UPDATE tariffs SET unit_price = $1, updated_at = $2 WHERE service = $3")
            .bind(price.get())
            .bind(now)
            .bind(service.as_str())
            .execute(&mut tx)
            .await?;
    }
    let after = price_list(&mut tx).await?;
    if after != before {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::TariffChanged, "tariffs")
                .before(&before)
                .after(&after),
        )
        .await?;
    }
    tx.commit().await
}

/// A [`ContractRow`]'s columns, of `processing_contracts k`.
macro_rules! contract_columns {
    () => {
        "k.id, k.processing_name, k.protocol, k.login, k.min_amount, k.max_amount, k.status, k.created_at, k.fields"
    };
}

macro_rules! select_contracts {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            contract_columns!(),
            " FROM processing_contracts k ",
            $rest
        )
    };
}

/// The live processing login `$2` of realm `$1` and the contract that has it, in one read
/// (a [`WithContract`](crate::server::credentials::WithContract) statement): who sent a
/// request of the processing centers' API. The contract is as stored:
/// [`with_default_fields`] gives it its kind's fields.
pub const CONTRACT_LOGIN: &str = concat!(
    "SELECT c.password_hash, c.subject, ",
    contract_columns!(),
    " FROM credentials c JOIN processing_contracts k ON k.login = c.login
     WHERE c.realm = $1 AND c.login = $2 AND c.revoked_at IS NULL"
);

/// A contract signed before fields existed has none stored: it carries the kind's
/// default `account` field.
pub fn with_default_fields(mut row: ContractRow, kind: ProviderKind) -> ContractRow {
    if row.fields.0.is_empty() {
        row.fields.0 = kind.default_fields();
    }
    row
}

pub async fn contract<'a>(
    on: impl Into<Exec<'a>>,
    kind: ProviderKind,
    id: i64,
) -> Result<Option<ContractRow>, sqlx::Error> {
    let row: Option<ContractRow> = db::query_as(select_contracts!("WHERE id = $1"))
        .bind(id)
        .lookup()
        .fetch_optional(on)
        .await?;
    Ok(row.map(|r| with_default_fields(r, kind)))
}

pub async fn contracts(pool: &Db, kind: ProviderKind) -> Result<Vec<ContractRow>, sqlx::Error> {
    let rows: Vec<ContractRow> = db::query_as(select_contracts!("ORDER BY id DESC"))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| with_default_fields(r, kind))
        .collect())
}

/// Replaces a contract's payment fields (already checked with `FieldSet::compile`) with
/// the audit entry naming `by`, in one transaction; `false` when there is no such
/// contract or it is closed.
pub async fn set_contract_fields(
    pool: &Db,
    kind: ProviderKind,
    id: i64,
    fields: &[shared::fields::Field],
    by: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(before) = contract(&mut tx, kind, id).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let changed = db::query(
        "UPDATE processing_contracts SET fields = $1 WHERE id = $2 AND status <> 'closed'",
    )
    .bind(crate::json_column::to_text(&fields))
    .bind(id)
    .execute(&mut tx)
    .await?
    .rows_affected()
        == 1;
    if !changed {
        tx.rollback().await?;
        return Ok(false);
    }
    if before.fields.0 != fields {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::ContractChanged, contract_object(id))
                .before(&serde_json::json!({"fields": before.fields.0}))
                .after(&serde_json::json!({"fields": fields})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// A contract's payments whose `txn_date` falls on `day` (`YYYY-MM-DD`), in credit order.
pub async fn credited_on(
    pool: &Db,
    contract_id: i64,
    day: time::Date,
) -> Result<Vec<CreditedPayment>, sqlx::Error> {
    db::query_as(
        "SELECT id, txn_id, account, amount, txn_date FROM payments WHERE contract_id = $1 AND txn_day = $2 ORDER BY id",
    )
    .bind(contract_id)
    .bind(day)
    .fetch_all(pool)
    .await
}

/// Transactions, newest first, optionally of one account and within days `[from, to]`:
/// `limit` of them older than the transaction `before` (keyset paging on the id).
pub async fn transactions(
    pool: &Db,
    account: Option<&str>,
    from_to: (Stamp, Stamp),
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<TransactionRow>, sqlx::Error> {
    db::query_as(
        "SELECT t.id, s.account, t.kind, t.service, t.quantity, t.unit_price, t.amount, t.balance_after,
                t.payment_id AS prv_txn, p.txn_id, t.created_at, COALESCE(p.extra, '{}') AS extra
         FROM transactions t
         JOIN subscribers s ON s.id = t.subscriber_id
         LEFT JOIN payments p ON p.id = t.payment_id
         WHERE ($1 IS NULL OR s.account = $1) AND t.created_at >= $2 AND t.created_at < $3
           AND ($5 IS NULL OR t.id < $5)
         ORDER BY t.id DESC LIMIT $4",
    )
    .bind(account)
    .bind(from_to.0)
    .bind(from_to.1)
    .bind(limit)
    .bind(before)
    .fetch_all(pool)
    .await
}

pub async fn gateway_log(pool: &Db, limit: i64) -> Result<Vec<GatewayLogRow>, sqlx::Error> {
    db::query_as(
        "SELECT g.id, g.contract_id, c.processing_name, g.protocol, g.command, g.txn_id, g.account, g.sum,
                g.result, g.prv_txn, g.comment, g.created_at
         FROM gateway_log g LEFT JOIN processing_contracts c ON c.id = g.contract_id
         ORDER BY g.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The provider-wide payments switch: `open`, `paused` (answers 1) or `closed` (answers 8).
pub async fn payments_switch(pool: &Db) -> Result<String, sqlx::Error> {
    let row: Option<(String,)> =
        db::query_as("SELECT value FROM participant WHERE key = 'payments'")
            .lookup()
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(v,)| v).unwrap_or_else(|| "open".to_owned()))
}

/// Sets the payments switch with the audit entry naming `by` (none when it stays).
pub async fn set_payments_switch(pool: &Db, value: &str, by: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The write first: SQLite takes its write lock at once (see `billing`).
    let before: Option<(String,)> =
        db::query_as("UPDATE participant SET value = value WHERE key = 'payments' RETURNING value")
            .fetch_optional(&mut tx)
            .await?;
    let before = before.map_or_else(|| "open".to_owned(), |(v,)| v);
    db::query("INSERT INTO participant (key, value) VALUES ('payments', $1) ON CONFLICT (key) DO UPDATE SET value = $1")
        .bind(value)
        .execute(&mut tx)
        .await?;
    if before != value {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::SettingChanged, "payments switch")
                .before(&serde_json::json!({"payments": before}))
                .after(&serde_json::json!({"payments": value})),
        )
        .await?;
    }
    tx.commit().await
}

/// One gateway request as its log row keeps it (values already truncated and cleaned).
pub struct GatewayLine {
    pub protocol: &'static str,
    pub command: &'static str,
    pub txn_id: Option<String>,
    pub account: Option<String>,
    pub sum: Option<String>,
}

/// Writes `line`'s row with its result: on the pool, or inside the transaction that
/// credits the payment (one write, one commit, for the credit and its log).
pub async fn log_gateway<'a>(
    on: impl Into<Exec<'a>>,
    contract_id: i64,
    line: &GatewayLine,
    result: i64,
    prv_txn: Option<i64>,
    comment: &str,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO gateway_log (contract_id, protocol, command, txn_id, account, sum, result, prv_txn, comment, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(contract_id)
    .bind(line.protocol)
    .bind(line.command)
    .bind(line.txn_id.as_deref())
    .bind(line.account.as_deref())
    .bind(line.sum.as_deref())
    .bind(result)
    .bind(prv_txn)
    .bind(comment)
    .bind(clock::now())
    .execute(on)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for id in 1..20_000 {
            let account = account_for(ProviderKind::Mobile, id, numbering_offset("Megafon"));
            assert!(ProviderKind::Mobile.is_account(&account), "{account}");
            assert!(seen.insert(account));
            assert!(ProviderKind::Internet.is_account(&account_for(ProviderKind::Internet, id, 0)));
        }
        assert_eq!(account_for(ProviderKind::Internet, 1, 0), "10000001");
        assert_ne!(
            account_for(ProviderKind::Mobile, 1, numbering_offset("Megafon")),
            account_for(ProviderKind::Mobile, 1, numbering_offset("Tele2"))
        );
    }
}
