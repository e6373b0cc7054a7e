//! Everything that changes a subscriber's balance or a contract, each in one database
//! transaction. Transactions start with a write, so SQLite takes its write lock at once
//! and concurrent writers queue (busy_timeout) instead of failing on a lock upgrade; the
//! same statements run on PostgreSQL.

use shared::fields::Field;
use shared::money::Kopecks;
use shared::wire::agent::Extra;
use shared::wire::provider::PaymentProtocol;

use super::contract_audit::{
    Access, ContractTerms, Status, SubscriberTerms, contract_object, subscriber_object,
};
use super::store::{self, account_for, join_services};
use super::subscriber_list;
use crate::provider::domain::{ContractChanges, ContractData, ProviderKind, Service};
use crate::server::audit::{self, AuditKind, Change, Secret};
use crate::server::clock;
use crate::server::credentials::{DbCredentials, NewCredential};
use crate::server::db::{self, Db};

/// The largest quantity of one use (a bound against typing errors and overflow).
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Creates the subscriber, its account, its login and the audit entry naming `by` in one
/// transaction.
pub async fn sign(
    pool: &Db,
    kind: ProviderKind,
    offset: i64,
    logins: &DbCredentials,
    subscriber: &ContractData,
    credential: &NewCredential,
    by: &str,
) -> Result<(i64, String), sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    // The account derives from the id, which exists only after the insert: insert with a
    // placeholder unique to this transaction, then set the real account.
    let (id,): (i64,) = db::query_as(
        "INSERT INTO subscribers (account, full_name, passport, email, services, created_at, updated_at)
         VALUES ($6, $1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(&subscriber.full_name)
    .bind(&subscriber.passport)
    .bind(&subscriber.email)
    .bind(join_services(&subscriber.services))
    .bind(now)
    .bind(placeholder())
    .fetch_one(&mut tx)
    .await?;
    let account = account_for(kind, id, offset);
    db::query("UPDATE subscribers SET account = $1 WHERE id = $2")
        .bind(&account)
        .bind(id)
        .execute(&mut tx)
        .await?;
    subscriber_list::write_keys(
        &mut tx,
        id,
        &subscriber.full_name,
        &subscriber.email,
        &account,
    )
    .await?;
    logins
        .store(&mut tx, &account, &id.to_string(), credential)
        .await?;
    if let Some(row) = store::subscriber_by_account(&mut tx, &account).await? {
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::ContractCreated, subscriber_object(&account))
                .after(&SubscriberTerms::of(&row)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((id, account))
}

/// A stand-in for a unique column whose real value derives from the row's id, replaced
/// in the same transaction: random, so that concurrent inserts from any number of
/// processes never collide on it.
fn placeholder() -> String {
    format!("pending-{}", shared::auth::generate_password())
}

/// Applies changes to an active subscriber, and its search keys with them (one
/// transaction); `false` when it is not active (or absent).
///
/// The audit entry naming `by` holds the contract before and after (none when the
/// changes changed nothing).
pub async fn update(
    pool: &Db,
    account: &str,
    changes: &ContractChanges,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Read in the transaction that writes: the entry's "before" is what was replaced.
    let before = store::subscriber_by_account(&mut tx, account).await?;
    let changed: Option<(i64, String, String)> = db::query_as(
        "UPDATE subscribers SET
            full_name = COALESCE($1, full_name),
            passport = COALESCE($2, passport),
            email = COALESCE($3, email),
            services = COALESCE($4, services),
            updated_at = $5
         WHERE account = $6 AND status = 'active'
         RETURNING id, full_name, email",
    )
    .bind(&changes.full_name)
    .bind(&changes.passport)
    .bind(&changes.email)
    .bind(changes.services.as_deref().map(join_services))
    .bind(clock::now())
    .bind(account)
    .fetch_optional(&mut tx)
    .await?;
    let Some((id, full_name, email)) = changed else {
        return Ok(false);
    };
    subscriber_list::write_keys(&mut tx, id, &full_name, &email, account).await?;
    let after = store::subscriber_by_account(&mut tx, account).await?;
    if let (Some(before), Some(after)) = (before, after) {
        let (before, after) = (SubscriberTerms::of(&before), SubscriberTerms::of(&after));
        if before != after {
            audit::record(
                &mut tx,
                Change::new(by, AuditKind::ContractChanged, subscriber_object(account))
                    .before(&before)
                    .after(&after),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Closes a contract: the account stops taking payments (OSMP 79) and its login stops
/// working; the history stays. `false` when it was not active. Audited with `by`.
pub async fn close(
    pool: &Db,
    logins: &DbCredentials,
    account: &str,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    let closed = db::query(
        "UPDATE subscribers SET status = 'closed', closed_at = $1, updated_at = $1 WHERE account = $2 AND status = 'active'",
    )
    .bind(now)
    .bind(account)
    .execute(&mut tx)
    .await?
    .rows_affected()
        == 1;
    if closed {
        logins.revoke(&mut tx, account).await?;
        audit::record(
            &mut tx,
            Change::new(
                by,
                AuditKind::ContractTerminated,
                subscriber_object(account),
            )
            .before(&Status { status: "active" })
            .after(&Status { status: "closed" }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(closed)
}

/// How a use of a service ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Charge {
    Charged {
        usage_id: i64,
        charged: Kopecks,
        balance: Kopecks,
    },
    InsufficientFunds {
        needed: Kopecks,
        balance: Kopecks,
    },
    NotActive,
}

/// Charges `quantity` units at `unit_price`: the balance falls and a transaction row is
/// written, or nothing happens at all.
pub async fn charge(
    pool: &Db,
    subscriber_id: i64,
    service: Service,
    quantity: i64,
    unit_price: Kopecks,
    cost: Kopecks,
) -> Result<Charge, sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    let balance: Option<(i64,)> = db::query_as(
        "UPDATE subscribers SET balance = balance - $1, updated_at = $2
         WHERE id = $3 AND status = 'active' AND balance >= $1 RETURNING balance",
    )
    .bind(cost.get())
    .bind(now)
    .bind(subscriber_id)
    .fetch_optional(&mut tx)
    .await?;
    let Some((balance,)) = balance else {
        tx.rollback().await?;
        let state: Option<(String, i64)> =
            db::query_as("SELECT status, balance FROM subscribers WHERE id = $1")
                .bind(subscriber_id)
                .lookup()
                .fetch_optional(pool)
                .await?;
        return Ok(match state {
            Some((status, balance)) if status == "active" => Charge::InsufficientFunds {
                needed: cost,
                balance: Kopecks::new(balance),
            },
            _ => Charge::NotActive,
        });
    };
    let (usage_id,): (i64,) = db::query_as(
        "INSERT INTO transactions (subscriber_id, kind, service, quantity, unit_price, amount, balance_after, created_at)
         VALUES ($1, 'usage', $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(subscriber_id)
    .bind(service.as_str())
    .bind(quantity)
    .bind(unit_price.get())
    .bind(-cost.get())
    .bind(balance)
    .bind(now)
    .fetch_one(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(Charge::Charged {
        usage_id,
        charged: cost,
        balance: Kopecks::new(balance),
    })
}

/// A payment as a processing center sent it, validated.
pub struct IncomingPayment<'a> {
    pub contract_id: i64,
    pub txn_id: &'a str,
    pub account: &'a str,
    /// The values of the contract's fields after `account`, already matched.
    pub extra: &'a Extra,
    pub amount: Kopecks,
    /// `YYYYMMDDHHMMSS`, UTC.
    pub txn_date: String,
    /// The day of `txn_date`.
    pub txn_day: time::Date,
}

/// How crediting a payment ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Credit {
    /// Credited now, or earlier under the same txn_id with the same account and sum.
    Credited { prv_txn: i64, repeated: bool },
    /// The txn_id was used before with another account, sum or extra fields.
    Conflict,
    /// The account was closed (OSMP 79).
    NotActive,
}

/// A payment credited earlier under a contract and txn_id: what a repeat must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierPayment {
    pub prv_txn: i64,
    pub account: String,
    pub amount: i64,
    pub extra: Extra,
}

impl EarlierPayment {
    /// Whether a repeat asks for the same credit: account, sum and every extra field.
    pub fn same_as(&self, account: &str, amount: Kopecks, extra: &Extra) -> bool {
        self.account == account && self.amount == amount.get() && &self.extra == extra
    }
}

/// An earlier payment under this contract and txn_id.
pub async fn earlier_payment<'a>(
    on: impl Into<db::Exec<'a>>,
    contract_id: i64,
    txn_id: &str,
) -> Result<Option<EarlierPayment>, sqlx::Error> {
    let row: Option<(i64, String, i64, String)> = db::query_as(
        "SELECT id, account, amount, extra FROM payments WHERE contract_id = $1 AND txn_id = $2",
    )
    .bind(contract_id)
    .bind(txn_id)
    .lookup()
    .fetch_optional(on)
    .await?;
    row.map(|(prv_txn, account, amount, extra)| {
        let extra = serde_json::from_str(&extra).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(EarlierPayment {
            prv_txn,
            account,
            amount,
            extra,
        })
    })
    .transpose()
}

/// What the gateway decides a request on, read in one statement: the payments switch, an
/// earlier payment under this contract and txn_id, and the account's subscriber (id and
/// status). One read where there were three: each read on a reader connection starts a
/// read transaction and, under load, re-reads its pages (SQLite drops a reader's cache
/// when the WAL has changed since its last read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// `open`, `paused` or `closed`: the provider-wide switch (`open` when never set).
    pub switch: String,
    pub earlier: Option<EarlierPayment>,
    /// The subscriber with this account: its id and status.
    pub subscriber: Option<(i64, String)>,
}

/// The [`Standing`] of a request for `txn_id` under `contract_id` to `account` (`None`:
/// an account no subscriber can have, not looked up).
pub async fn standing(
    pool: &Db,
    contract_id: i64,
    txn_id: &str,
    account: Option<&str>,
) -> Result<Standing, sqlx::Error> {
    type Row = (
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    // One row whatever matches: each table joins by its unique key (participant's key,
    // payments' (contract_id, txn_id), subscribers' account) or contributes NULLs.
    let (switch, prv_txn, earlier_account, amount, extra, subscriber_id, status): Row =
        db::query_as(
            "SELECT (SELECT value FROM participant WHERE key = 'payments'),
                    p.id, p.account, p.amount, p.extra, s.id, s.status
             FROM (SELECT 1 AS one) AS here
             LEFT JOIN payments p ON p.contract_id = $1 AND p.txn_id = $2
             LEFT JOIN subscribers s ON s.account = $3",
        )
        .bind(contract_id)
        .bind(txn_id)
        .bind(account)
        .lookup()
        .fetch_one(pool)
        .await?;
    let earlier = match (prv_txn, earlier_account, amount, extra) {
        (Some(prv_txn), Some(account), Some(amount), Some(extra)) => Some(EarlierPayment {
            prv_txn,
            account,
            amount,
            extra: serde_json::from_str(&extra).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        }),
        _ => None,
    };
    Ok(Standing {
        switch: switch.unwrap_or_else(|| "open".to_owned()),
        earlier,
        subscriber: subscriber_id.zip(status),
    })
}

fn judge_repeat(earlier: EarlierPayment, payment: &IncomingPayment<'_>) -> Credit {
    if earlier.same_as(payment.account, payment.amount, payment.extra) {
        Credit::Credited {
            prv_txn: earlier.prv_txn,
            repeated: true,
        }
    } else {
        Credit::Conflict
    }
}

/// Credits a payment exactly once per (contract, txn_id): the payment row, the balance,
/// the transaction row and the gateway's log row of the request are one transaction, and the unique key on (contract_id,
/// txn_id) makes concurrent repeats wait for the first and then find it.
pub async fn credit(
    pool: &Db,
    subscriber_id: i64,
    payment: &IncomingPayment<'_>,
    log: &super::store::GatewayLine,
) -> Result<Credit, sqlx::Error> {
    let now = clock::now();
    let mut tx = pool.begin().await?;
    let inserted: Option<(i64,)> = db::query_as(
        "INSERT INTO payments (contract_id, txn_id, account, amount, txn_date, txn_day, created_at, extra)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (contract_id, txn_id) DO NOTHING RETURNING id",
    )
    .bind(payment.contract_id)
    .bind(payment.txn_id)
    .bind(payment.account)
    .bind(payment.amount.get())
    .bind(&payment.txn_date)
    .bind(payment.txn_day)
    .bind(now)
    .bind(crate::json_column::to_text(payment.extra))
    .fetch_optional(&mut tx)
    .await?;
    let Some((prv_txn,)) = inserted else {
        // The first pay's row, read in this transaction: it may not be committed yet (it
        // can share this one's group commit); the rollback returns once it is.
        let earlier = earlier_payment(&mut tx, payment.contract_id, payment.txn_id).await?;
        tx.rollback().await?;
        return Ok(match earlier {
            Some(earlier) => judge_repeat(earlier, payment),
            // The conflicting row vanished: impossible without deleting payments.
            None => Credit::Conflict,
        });
    };
    // The bound keeps SQLite from silently turning an overflowing integer into a float.
    let balance: Option<(i64,)> = db::query_as(
        "UPDATE subscribers SET balance = balance + $1, updated_at = $2
         WHERE id = $3 AND status = 'active' AND balance <= 9223372036854775807 - $1 RETURNING balance",
    )
    .bind(payment.amount.get())
    .bind(now)
    .bind(subscriber_id)
    .fetch_optional(&mut tx)
    .await?;
    let Some((balance,)) = balance else {
        tx.rollback().await?;
        return Ok(Credit::NotActive);
    };
    db::query(
        "INSERT INTO transactions (subscriber_id, kind, amount, balance_after, payment_id, created_at)
         VALUES ($1, 'payment', $2, $3, $4, $5)",
    )
    .bind(subscriber_id)
    .bind(payment.amount.get())
    .bind(balance)
    .bind(prv_txn)
    .bind(now)
    .execute(&mut tx)
    .await?;
    // The gateway's log row of this request, in the same transaction: the credit and
    // its record are one write.
    let ok = shared::wire::osmp::ResultCode::Ok;
    super::store::log_gateway(
        &mut tx,
        payment.contract_id,
        log,
        i64::from(ok.code()),
        Some(prv_txn),
        ok.comment(),
    )
    .await?;
    tx.commit().await?;
    Ok(Credit::Credited {
        prv_txn,
        repeated: false,
    })
}

/// A new processing contract: its limits and payment fields, validated.
pub struct NewContract {
    pub processing_name: String,
    pub protocol: PaymentProtocol,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
    /// Checked with `FieldSet::compile`; `account` first.
    pub fields: Vec<Field>,
}

/// Creates a processing contract, its login (`processing-<id>`) and the audit entry
/// naming `by` in one transaction.
pub async fn create_contract(
    pool: &Db,
    kind: ProviderKind,
    logins: &DbCredentials,
    contract: &NewContract,
    credential: &NewCredential,
    by: &str,
) -> Result<(i64, String), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO processing_contracts (processing_name, protocol, login, min_amount, max_amount, created_at, fields)
         VALUES ($1, $2, $7, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&contract.processing_name)
    .bind(contract.protocol.as_str())
    .bind(contract.min_amount.get())
    .bind(contract.max_amount.get())
    .bind(clock::now())
    .bind(crate::json_column::to_text(&contract.fields))
    .bind(placeholder())
    .fetch_one(&mut tx)
    .await?;
    let login = format!("processing-{id}");
    db::query("UPDATE processing_contracts SET login = $1 WHERE id = $2")
        .bind(&login)
        .bind(id)
        .execute(&mut tx)
        .await?;
    logins
        .store(&mut tx, &login, &id.to_string(), credential)
        .await?;
    if let Some(row) = store::contract(&mut tx, kind, id).await? {
        let terms = ContractTerms {
            password: Some(Secret::Issued),
            ..ContractTerms::of(&row)
        };
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::ContractCreated, contract_object(id)).after(&terms),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((id, login))
}

/// Re-opens a closed contract: active again, its login reinstated with `credential`'s
/// password, in one transaction. The contract's login, or `None` when it is not closed
/// (or its login was never revoked, which closing always does: nothing is changed then).
pub async fn reopen_contract(
    pool: &Db,
    logins: &DbCredentials,
    id: i64,
    credential: &NewCredential,
    by: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let login: Option<(String,)> = db::query_as(
        "UPDATE processing_contracts SET status = 'active' WHERE id = $1 AND status = 'closed' RETURNING login",
    )
    .bind(id)
    .fetch_optional(&mut tx)
    .await?;
    let Some((login,)) = login else {
        tx.rollback().await?;
        return Ok(None);
    };
    if !logins.reinstate(&mut tx, &login, credential).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::ContractReopened, contract_object(id))
            .before(&Status { status: "closed" })
            .after(&serde_json::json!({
                "status": "active",
                "login": login,
                "password": Secret::Issued,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(login))
}

/// Sets a contract's status (`active`, `suspended`, `closed`); closing revokes its login.
/// A change of status is audited with `by`. `false` when the contract is closed (or
/// absent): a closed contract comes back only through [`reopen_contract`].
pub async fn set_contract_status(
    pool: &Db,
    logins: &DbCredentials,
    id: i64,
    status: &str,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Read in the transaction that writes: the entry's "before" is what was replaced.
    let before: Option<(String,)> =
        db::query_as("SELECT status FROM processing_contracts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut tx)
            .await?;
    let login: Option<(String,)> = db::query_as(
        "UPDATE processing_contracts SET status = $1 WHERE id = $2 AND status <> 'closed' RETURNING login",
    )
    .bind(status)
    .bind(id)
    .fetch_optional(&mut tx)
    .await?;
    let (Some((login,)), Some((before,))) = (login, before) else {
        tx.rollback().await?;
        return Ok(false);
    };
    if status == "closed" {
        logins.revoke(&mut tx, &login).await?;
    }
    if let Some(kind) = AuditKind::of_status_change(&before, status) {
        audit::record(
            &mut tx,
            Change::new(by, kind, contract_object(id))
                .before(&Status { status: &before })
                .after(&Status { status }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Gives a live contract's login `credential`'s password with its audit entry naming
/// `by`, in one transaction: the login, or `None` when the contract is closed (its login
/// stays revoked) or absent.
pub async fn rotate_contract_password(
    pool: &Db,
    logins: &DbCredentials,
    id: i64,
    credential: &NewCredential,
    by: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let login: Option<(String,)> =
        db::query_as("SELECT login FROM processing_contracts WHERE id = $1 AND status <> 'closed'")
            .bind(id)
            .fetch_optional(&mut tx)
            .await?;
    let Some((login,)) = login else {
        tx.rollback().await?;
        return Ok(None);
    };
    if !logins.rotate(&mut tx, &login, credential).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    audit::record(
        &mut tx,
        Change::new(by, AuditKind::CredentialsRotated, contract_object(id)).after(&Access {
            login: &login,
            password: Secret::Changed,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(login))
}
