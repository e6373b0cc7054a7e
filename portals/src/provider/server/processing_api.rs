//! The endpoints processing centers call: `GET|POST /osmp` (OSMP XML, osmp.md) and
//! `POST /api/processing/v1/{check,pay}` (the same in JSON). Business outcomes are always
//! HTTP 200 with a result code; only credentials get a 401 (from the auth gate).

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::money::Kopecks;
use shared::wire::osmp::{self, Answer, ResultCode, TxnDate, VerifiedPayment};
use shared::wire::provider::{JsonAnswer, JsonCheck, JsonPay, PaymentProtocol};

use super::ProviderState;
use super::gateway::{self, Command, Outcome, Request};
use super::store::{self, ContractRow};
use crate::server::credentials::LoggedIn;

/// Largest OSMP request body read; a bigger one is answered 300 without being parsed.
pub const MAX_OSMP_BODY_BYTES: usize = 8 * 1024;
/// Largest JSON request body read.
pub const MAX_JSON_BODY_BYTES: usize = 8 * 1024;

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, osmp::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

fn osmp_answer(outcome: &Outcome) -> Response {
    let mut answer = Answer::new(outcome.txn_id.clone(), outcome.result);
    answer.prv_txn = outcome.prv_txn;
    answer.sum = outcome.sum;
    xml(answer.to_xml())
}

/// The contract behind the authenticated login (its subject is the contract id): as the
/// realm's store read it with the login, or read now.
async fn contract_of(
    state: &ProviderState,
    principal: &Principal,
    with_login: Option<Extension<LoggedIn<ContractRow>>>,
) -> Result<ContractRow, ApiError> {
    let id: i64 = principal
        .subject
        .parse()
        .map_err(|_| ApiError::internal("processing login without a contract id"))?;
    if let Some(Extension(LoggedIn(contract))) = with_login.filter(|c| c.0.0.id == id) {
        return Ok(store::with_default_fields(
            ContractRow::clone(&contract),
            state.kind,
        ));
    }
    store::contract(&state.pool, state.kind, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("processing contract {id} is missing")))
}

/// Parameters of an OSMP request; a name given twice makes the request ambiguous.
fn parameters(raw: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(raw) {
        let name: Cow<str> = name;
        if params.iter().any(|(n, _)| n == name.as_ref()) {
            return Err(format!("parameter {name} is given twice"));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
}

/// A check's or pay's payment fields after `account`: the parameters OSMP does not define
/// (wire.md: "extra query parameters of the same names"). The gateway matches them
/// against the contract's fields, so an unknown one is refused.
fn extra_parameters(params: &[(String, String)]) -> shared::wire::agent::Extra {
    params
        .iter()
        .filter(|(name, _)| !osmp::PARAMETERS.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// `GET|POST /osmp`.
pub async fn osmp(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    with_login: Option<Extension<LoggedIn<ContractRow>>>,
    method: Method,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let contract = contract_of(&state, &principal, with_login).await?;
    let raw: Vec<u8> = if method == Method::POST {
        match axum::body::to_bytes(body, MAX_OSMP_BODY_BYTES).await {
            Ok(bytes) if !bytes.is_empty() => bytes.to_vec(),
            Ok(_) => uri.query().unwrap_or_default().as_bytes().to_vec(),
            Err(_) => {
                gateway::log_refusal(
                    &state.pool,
                    contract.id,
                    PaymentProtocol::Osmp,
                    "-",
                    "request body too large",
                )
                .await;
                return Ok(osmp_answer(&Outcome {
                    result: ResultCode::Other,
                    txn_id: None,
                    prv_txn: None,
                    sum: None,
                }));
            }
        }
    } else {
        uri.query().unwrap_or_default().as_bytes().to_vec()
    };
    let params = match parameters(&raw) {
        Ok(params) => params,
        Err(why) => {
            gateway::log_refusal(&state.pool, contract.id, PaymentProtocol::Osmp, "-", &why).await;
            return Ok(osmp_answer(&Outcome {
                result: ResultCode::Other,
                txn_id: None,
                prv_txn: None,
                sum: None,
            }));
        }
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let command = get("command").unwrap_or_default();
    let command = match command.as_str() {
        "check" => Command::Check,
        "pay" => Command::Pay,
        "verify" => return Ok(verify(&state, &contract, get("date").as_deref()).await),
        other => {
            let why = if other.is_empty() {
                "command is missing".to_owned()
            } else {
                format!("unknown command {other:?}")
            };
            gateway::log_refusal(&state.pool, contract.id, PaymentProtocol::Osmp, other, &why)
                .await;
            let txn_id = get("txn_id").filter(|t| osmp::is_valid_txn_id(t));
            return Ok(osmp_answer(&Outcome {
                result: ResultCode::Other,
                txn_id,
                prv_txn: None,
                sum: None,
            }));
        }
    };
    let request = Request {
        txn_id: get("txn_id"),
        account: get("account"),
        sum_text: Some(get("sum").unwrap_or_default()),
        amount: None,
        txn_date: get("txn_date").and_then(|d| TxnDate::parse(&d)),
        extra: extra_parameters(&params),
    };
    let outcome = gateway::handle(
        &state.pool,
        &contract,
        PaymentProtocol::Osmp,
        command,
        &request,
    )
    .await;
    Ok(osmp_answer(&outcome))
}

/// `command=verify&date=YYYYMMDD`: this contract's payments credited for that day (by
/// `txn_date`, the processing center's own clock, so both sides count the same day).
async fn verify(state: &ProviderState, contract: &ContractRow, date: Option<&str>) -> Response {
    let day = date
        .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| {
            crate::server::clock::parse_day(&format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
        });
    let Some(day) = day else {
        gateway::log_refusal(
            &state.pool,
            contract.id,
            PaymentProtocol::Osmp,
            "verify",
            "date must be YYYYMMDD",
        )
        .await;
        return osmp_answer(&Outcome {
            result: ResultCode::Other,
            txn_id: None,
            prv_txn: None,
            sum: None,
        });
    };
    let rows = store::credited_on(&state.pool, contract.id, day).await;
    match rows {
        Ok(rows) => {
            tracing::info!(
                contract = contract.id,
                %day,
                payments = rows.len(),
                "gateway verify"
            );
            let payments: Vec<VerifiedPayment> = rows
                .into_iter()
                .map(|p| VerifiedPayment {
                    date: TxnDate::parse(&p.txn_date)
                        .map(|d| {
                            format!(
                                "{:02}.{:02}.{:04} {:02}:{:02}:{:02}",
                                d.day, d.month, d.year, d.hour, d.minute, d.second
                            )
                        })
                        .unwrap_or_else(|| p.txn_date.clone()),
                    txn_id: p.txn_id,
                    prv_txn: p.id,
                    account: p.account,
                    amount: Kopecks::new(p.amount),
                })
                .collect();
            xml(osmp::verify_xml(&payments))
        }
        Err(e) => {
            tracing::error!(error = %e, "gateway verify: database failure");
            osmp_answer(&Outcome {
                result: ResultCode::TemporaryError,
                txn_id: None,
                prv_txn: None,
                sum: None,
            })
        }
    }
}

/// The JSON protocol's answer.
fn json_answer(outcome: &Outcome) -> Response {
    let answer = JsonAnswer {
        txn_id: outcome.txn_id.clone(),
        result: outcome.result.code(),
        prv_txn: outcome.prv_txn,
        amount: outcome.sum,
        message: outcome.result.comment().to_owned(),
    };
    (StatusCode::OK, Json(answer)).into_response()
}

/// `POST /api/processing/v1/{check|pay}`.
pub async fn json(
    State(state): State<ProviderState>,
    Extension(principal): Extension<Principal>,
    with_login: Option<Extension<LoggedIn<ContractRow>>>,
    Path(command): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let contract = contract_of(&state, &principal, with_login).await?;
    if body.len() > MAX_JSON_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: MAX_JSON_BODY_BYTES,
        });
    }
    let (command, request) = match command.as_str() {
        "check" => {
            let check: JsonCheck = serde_json::from_slice(&body)
                .map_err(|e| ApiError::field("body", e.to_string()))?;
            (
                Command::Check,
                Request {
                    txn_id: Some(check.txn_id),
                    account: Some(check.account),
                    sum_text: None,
                    amount: Some(check.amount),
                    txn_date: None,
                    extra: check.extra,
                },
            )
        }
        "pay" => {
            let pay: JsonPay = serde_json::from_slice(&body)
                .map_err(|e| ApiError::field("body", e.to_string()))?;
            let txn_date = rfc3339_to_txn_date(&pay.txn_date)
                .ok_or_else(|| ApiError::field("txn_date", "must be an RFC 3339 timestamp"))?;
            (
                Command::Pay,
                Request {
                    txn_id: Some(pay.txn_id),
                    account: Some(pay.account),
                    sum_text: None,
                    amount: Some(pay.amount),
                    txn_date: Some(txn_date),
                    extra: pay.extra,
                },
            )
        }
        _ => {
            return Err(ApiError::NotFound {
                what: "command".into(),
            });
        }
    };
    let outcome = gateway::handle(
        &state.pool,
        &contract,
        PaymentProtocol::Json,
        command,
        &request,
    )
    .await;
    Ok(json_answer(&outcome))
}

fn rfc3339_to_txn_date(text: &str) -> Option<TxnDate> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let at = at.to_offset(time::UtcOffset::UTC);
    Some(TxnDate {
        year: u16::try_from(at.year()).ok()?,
        month: u8::from(at.month()),
        day: at.day(),
        hour: at.hour(),
        minute: at.minute(),
        second: at.second(),
    })
}
