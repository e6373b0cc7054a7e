//! The payment gateway: `check` and `pay` from processing centers, whatever the protocol
//! (OSMP XML or JSON). Decides the result code, credits through `billing`, and logs every
//! request with the contract that made it.
//!
//! Order of decisions, each answering at the first failure:
//! 1. `txn_id` (1–20 digits) and `sum` (positive decimal, at most `Kopecks::MAX_INPUT`)
//!    are readable — else 300.
//! 2. `pay` only: a payment under this contract and txn_id exists → the stored answer
//!    (0, same prv_txn) when account, sum and extra fields match, 300 when not. Idempotency comes before
//!    every state check, so a repeat gets the first answer even after the state changed.
//! 3. The contract is suspended → 7; the provider's payments switch is `closed` → 8,
//!    `paused` → 1.
//! 4. The account or another of the contract's payment fields fails its regex (matched
//!    whole), a field is missing, or an unknown one is sent → 4; the sum is outside the
//!    contract's limits → 241/242.
//! 5. No such account → 5; a closed account → 79.
//! 6. `check` → 0. `pay` needs a valid `txn_date` — a real date, 2000–2099, at most a day
//!    ahead of this provider's clock — (else 300) and is credited → 0.
//!
//! What steps 2, 3 and 5 look at — an earlier payment, the switch, the subscriber — is
//! read in one statement once step 1 passed ([`billing::standing`]). A database failure
//! answers 243 to a check and 1 (temporary, repeat) to a pay. 90 is never answered: a pay
//! is credited before its answer is sent.

use shared::fields::FieldSet;
use shared::money::Kopecks;
use shared::wire::agent::Extra;
use shared::wire::osmp::{ResultCode, TxnDate, is_valid_txn_id, parse_sum};
use shared::wire::provider::PaymentProtocol;

use super::billing::{self, Credit, IncomingPayment};
use super::store::{self, ContractRow};
use crate::server::clock;
use crate::server::db::{self, Db};

/// Longest account string looked at; longer ones fail the format check at once.
pub const MAX_ACCOUNT_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Check,
    Pay,
}

impl Command {
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::Check => "check",
            Command::Pay => "pay",
        }
    }
}

/// A request as read from the wire, not yet validated.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub txn_id: Option<String>,
    pub account: Option<String>,
    /// `sum` as text (OSMP) …
    pub sum_text: Option<String>,
    /// … or already in kopecks (JSON).
    pub amount: Option<Kopecks>,
    pub txn_date: Option<TxnDate>,
    /// The payment fields after `account` (OSMP: the other query parameters; JSON:
    /// `extra`), matched against the contract's fields.
    pub extra: Extra,
}

/// The gateway's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: ResultCode,
    /// Echo of a valid txn_id.
    pub txn_id: Option<String>,
    pub prv_txn: Option<i64>,
    pub sum: Option<Kopecks>,
}

impl Outcome {
    fn code(result: ResultCode, txn_id: Option<&str>) -> Outcome {
        Outcome {
            result,
            txn_id: txn_id.map(str::to_owned),
            prv_txn: None,
            sum: None,
        }
    }
}

/// Decides, credits and logs one request.
pub async fn handle(
    pool: &Db,
    contract: &ContractRow,
    protocol: PaymentProtocol,
    command: Command,
    request: &Request,
) -> Outcome {
    let sum_text = request
        .sum_text
        .clone()
        .or_else(|| request.amount.map(|a| a.to_string()));
    let line = store::GatewayLine {
        protocol: protocol.as_str(),
        command: command.as_str(),
        txn_id: request.txn_id.as_deref().map(|t| truncate(t, 64)),
        account: request.account.as_deref().map(|a| truncate(a, 64)),
        sum: sum_text.as_deref().map(|s| truncate(s, 32)),
    };
    let mut logged = false;
    let outcome = decide(pool, contract, command, request, &line, &mut logged).await;
    tracing::info!(
        contract = contract.id,
        processing = %contract.processing_name,
        protocol = protocol.as_str(),
        command = command.as_str(),
        txn_id = request.txn_id.as_deref().unwrap_or("-"),
        account = request.account.as_deref().unwrap_or("-"),
        extra = ?request.extra,
        sum = sum_text.as_deref().unwrap_or("-"),
        result = outcome.result.code(),
        prv_txn = outcome.prv_txn.unwrap_or(0),
        "gateway"
    );
    if !logged {
        let written = store::log_gateway(
            pool,
            contract.id,
            &line,
            i64::from(outcome.result.code()),
            outcome.prv_txn,
            outcome.result.comment(),
        )
        .await;
        if let Err(e) = written {
            tracing::error!(error = %e, "gateway log row not written");
        }
    }
    outcome
}

/// Logs a request refused before it reached the gateway (unknown command, unreadable
/// parameters), so the operator sees those too.
pub async fn log_refusal(
    pool: &Db,
    contract_id: i64,
    protocol: PaymentProtocol,
    command: &str,
    why: &str,
) {
    tracing::info!(
        contract = contract_id,
        protocol = protocol.as_str(),
        command,
        why,
        result = 300,
        "gateway refused"
    );
    let logged = db::query(
        "INSERT INTO gateway_log (contract_id, protocol, command, result, comment, created_at) VALUES ($1, $2, $3, 300, $4, $5)",
    )
    .bind(contract_id)
    .bind(protocol.as_str())
    .bind(truncate(command, 32))
    .bind(truncate(why, 200))
    .bind(clock::now())
    .execute(pool)
    .await;
    if let Err(e) = logged {
        tracing::error!(error = %e, "gateway log row not written");
    }
}

/// A value from the request as the log keeps it: at most `max_chars`, control characters
/// shown as U+FFFD — the log is read on a page, and PostgreSQL's text can't hold a NUL
/// byte a hostile request may carry (the row would be lost, not the request refused).
/// The calendar day of a `txn_date` (already checked to be a real date).
fn calendar_day(date: shared::wire::osmp::TxnDate) -> Option<time::Date> {
    let month = time::Month::try_from(date.month).ok()?;
    time::Date::from_calendar_date(i32::from(date.year), month, date.day).ok()
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// The outcome; `logged` is set when its log row was written already, with the credit.
async fn decide(
    pool: &Db,
    contract: &ContractRow,
    command: Command,
    request: &Request,
    line: &store::GatewayLine,
    logged: &mut bool,
) -> Outcome {
    // 1. txn_id and sum
    let txn_id = match request.txn_id.as_deref() {
        Some(t) if is_valid_txn_id(t) => t,
        _ => return Outcome::code(ResultCode::Other, None),
    };
    let sum = match (&request.sum_text, request.amount) {
        (Some(text), None) => match parse_sum(text) {
            Ok(sum) => sum,
            Err(_) => return Outcome::code(ResultCode::Other, Some(txn_id)),
        },
        (None, Some(amount)) if amount.is_positive() && amount.is_acceptable_input() => amount,
        _ => return Outcome::code(ResultCode::Other, Some(txn_id)),
    };
    let Some(account) = request.account.as_deref() else {
        return Outcome::code(ResultCode::BadAccountFormat, Some(txn_id));
    };
    let failed = match command {
        Command::Check => ResultCode::CannotCheck,
        Command::Pay => ResultCode::TemporaryError,
    };

    // An account no subscriber can have — over 64 bytes, or with a NUL byte — is not looked
    // up: PostgreSQL's text cannot hold the NUL a hostile request may carry, and the failed
    // read would answer it as a database failure. Step 4 refuses it (too long, or the
    // contract's pattern), or step 5 finds no subscriber.
    let looked_up =
        (account.len() <= MAX_ACCOUNT_LEN && !account.contains('\0')).then_some(account);
    let standing = match billing::standing(pool, contract.id, txn_id, looked_up).await {
        Ok(standing) => standing,
        Err(e) => return database_failure(e, failed, txn_id),
    };

    // 2. a repeated pay gets its first answer
    if command == Command::Pay
        && let Some(earlier) = &standing.earlier
    {
        return if earlier.same_as(account, sum, &request.extra) {
            credited(txn_id, earlier.prv_txn, sum)
        } else {
            Outcome::code(ResultCode::Other, Some(txn_id))
        };
    }

    // 3. switches
    if contract.status != "active" {
        return Outcome::code(ResultCode::ForbiddenByProvider, Some(txn_id));
    }
    match standing.switch.as_str() {
        "closed" => return Outcome::code(ResultCode::ForbiddenTechnical, Some(txn_id)),
        "paused" => return Outcome::code(ResultCode::TemporaryError, Some(txn_id)),
        _ => {}
    }

    // 4. the payment fields, and the limits
    let fields = match FieldSet::compile_cached(&contract.fields.0) {
        Ok(fields) => fields,
        Err(refused) => {
            // Definitions are checked when saved; one that no longer compiles is this
            // provider's fault, answered like a database failure until it is fixed.
            tracing::error!(
                contract = contract.id,
                ?refused,
                "stored payment fields do not compile"
            );
            return Outcome::code(failed, Some(txn_id));
        }
    };
    if account.len() > MAX_ACCOUNT_LEN {
        return Outcome::code(ResultCode::BadAccountFormat, Some(txn_id));
    }
    if let Err(refused) = fields.validate(account, &request.extra) {
        tracing::info!(
            contract = contract.id,
            txn_id,
            ?refused,
            "payment fields refused"
        );
        return Outcome::code(ResultCode::BadAccountFormat, Some(txn_id));
    }
    if sum.get() < contract.min_amount {
        return Outcome::code(ResultCode::SumTooSmall, Some(txn_id));
    }
    if sum.get() > contract.max_amount {
        return Outcome::code(ResultCode::SumTooLarge, Some(txn_id));
    }

    // 5. the account
    let Some((subscriber_id, status)) = &standing.subscriber else {
        return Outcome::code(ResultCode::AccountNotFound, Some(txn_id));
    };
    if status != "active" {
        return Outcome::code(ResultCode::AccountNotActive, Some(txn_id));
    }

    // 6. check, or credit
    if command == Command::Check {
        return Outcome::code(ResultCode::Ok, Some(txn_id));
    }
    let Some((date, day)) = request
        .txn_date
        .filter(|d| plausible_txn_date(*d))
        .and_then(|d| Some((d, calendar_day(d)?)))
    else {
        return Outcome::code(ResultCode::Other, Some(txn_id));
    };
    let payment = IncomingPayment {
        contract_id: contract.id,
        txn_id,
        account,
        extra: &request.extra,
        amount: sum,
        txn_date: date.to_wire(),
        txn_day: day,
    };
    match billing::credit(pool, *subscriber_id, &payment, line).await {
        Ok(Credit::Credited { prv_txn, repeated }) => {
            *logged = !repeated;
            credited(txn_id, prv_txn, sum)
        }
        Ok(Credit::Conflict) => Outcome::code(ResultCode::Other, Some(txn_id)),
        Ok(Credit::NotActive) => Outcome::code(ResultCode::AccountNotActive, Some(txn_id)),
        Err(e) => database_failure(e, failed, txn_id),
    }
}

/// How far ahead of this provider's clock a `txn_date` may be (clocks drift; a day more
/// is not a drift but a wrong date, and it would land the payment in a future registry).
const TXN_DATE_AHEAD_MAX: time::Duration = time::Duration::days(1);

/// Whether a `txn_date` (UTC) is a real date of the years 2000–2099 (the JSON protocol's
/// RFC 3339 dates arrive without `TxnDate::parse`'s checks) not later than now plus a day.
fn plausible_txn_date(date: TxnDate) -> bool {
    let Ok(month) = time::Month::try_from(date.month) else {
        return false;
    };
    if !(2000..=2099).contains(&date.year) {
        return false;
    }
    let at = time::Date::from_calendar_date(i32::from(date.year), month, date.day)
        .and_then(|day| day.with_hms(date.hour, date.minute, date.second));
    match at {
        Ok(at) => at.assume_utc() <= time::OffsetDateTime::now_utc() + TXN_DATE_AHEAD_MAX,
        Err(_) => false,
    }
}

fn credited(txn_id: &str, prv_txn: i64, sum: Kopecks) -> Outcome {
    Outcome {
        result: ResultCode::Ok,
        txn_id: Some(txn_id.to_owned()),
        prv_txn: Some(prv_txn),
        sum: Some(sum),
    }
}

fn database_failure(error: sqlx::Error, answer: ResultCode, txn_id: &str) -> Outcome {
    tracing::error!(error = %error, txn_id, "gateway: database failure");
    Outcome::code(answer, Some(txn_id))
}
