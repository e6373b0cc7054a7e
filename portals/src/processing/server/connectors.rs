//! Calls to providers in their protocol: OSMP (`GET endpoint?command=…`, XML answer) or
//! JSON (`POST endpoint/check|pay`). Whatever the protocol, the caller gets a
//! [`ProviderAnswer`]: a result code, or "no answer" (network error, timeout, an HTTP
//! status other than 200, an unreadable body) — which is never final.

use std::time::Duration;

use shared::money::Kopecks;
use shared::outbound::{self, PROVIDER_ANSWER_MAX_BYTES, Trust};
use shared::wire::osmp::{Answer, ResultCode, TxnDate, format_sum};
use shared::wire::provider::JsonAnswer;

/// Where and how to reach a provider.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub protocol: String,
    pub url: String,
    pub login: String,
    pub password: String,
}

/// What a provider said, or that it said nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAnswer {
    Answered {
        result: u16,
        message: String,
        prv_txn: Option<String>,
    },
    NoAnswer(String),
}

impl ProviderAnswer {
    /// Whether the answer settles the question for good (a result code that is final).
    pub fn is_final(&self) -> bool {
        match self {
            ProviderAnswer::Answered { result, .. } => {
                ResultCode::from_code(*result).is_none_or(|r| r.is_final())
            }
            ProviderAnswer::NoAnswer(_) => false,
        }
    }

    /// A short text for the operator's "last provider answer".
    pub fn describe(&self) -> String {
        match self {
            ProviderAnswer::Answered {
                result,
                message,
                prv_txn,
            } => match prv_txn {
                Some(prv) => format!("result {result}: {message} (prv_txn {prv})"),
                None => format!("result {result}: {message}"),
            },
            ProviderAnswer::NoAnswer(why) => format!("no answer: {why}"),
        }
    }
}

/// The HTTP client for providers (HTTP or HTTPS; the system's roots plus `--ca-file`),
/// with the longest wait for one answer.
pub fn client(trust: &Trust, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    trust.client(timeout)
}

/// `check`: may this account take this sum?
pub async fn check(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    txn_id: &str,
    account: &str,
    sum: Kopecks,
) -> ProviderAnswer {
    match endpoint.protocol.as_str() {
        "json" => {
            let body = serde_json::json!({"txn_id": txn_id, "account": account, "amount": sum});
            json_call(client, endpoint, "check", &body).await
        }
        _ => {
            let sum = format_sum(sum);
            osmp_call(
                client,
                endpoint,
                &[
                    ("command", "check"),
                    ("txn_id", txn_id),
                    ("account", account),
                    ("sum", &sum),
                ],
            )
            .await
        }
    }
}

/// `pay`: credit this sum to this account under `txn_id` (the provider credits it once).
pub async fn pay(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    txn_id: &str,
    account: &str,
    sum: Kopecks,
    txn_date: &time::OffsetDateTime,
) -> ProviderAnswer {
    let date = txn_date.to_offset(time::UtcOffset::UTC);
    match endpoint.protocol.as_str() {
        "json" => {
            let stamp = date
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let body = serde_json::json!({"txn_id": txn_id, "account": account, "amount": sum, "txn_date": stamp});
            json_call(client, endpoint, "pay", &body).await
        }
        _ => {
            let wire_date = TxnDate {
                year: u16::try_from(date.year()).unwrap_or(0),
                month: u8::from(date.month()),
                day: date.day(),
                hour: date.hour(),
                minute: date.minute(),
                second: date.second(),
            }
            .to_wire();
            let sum = format_sum(sum);
            osmp_call(
                client,
                endpoint,
                &[
                    ("command", "pay"),
                    ("txn_id", txn_id),
                    ("account", account),
                    ("sum", &sum),
                    ("txn_date", &wire_date),
                ],
            )
            .await
        }
    }
}

async fn osmp_call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    params: &[(&str, &str)],
) -> ProviderAnswer {
    let response = client
        .get(&endpoint.url)
        .query(params)
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return ProviderAnswer::NoAnswer(describe_error(&e)),
    };
    if response.status() != reqwest::StatusCode::OK {
        return ProviderAnswer::NoAnswer(format!("HTTP {}", response.status()));
    }
    match outbound::read_text_capped(response, PROVIDER_ANSWER_MAX_BYTES).await {
        Ok(text) => match Answer::parse_xml(&text) {
            Some(answer) => ProviderAnswer::Answered {
                result: answer.result,
                message: answer.comment,
                prv_txn: answer.prv_txn.map(|p| p.to_string()),
            },
            None => ProviderAnswer::NoAnswer("the answer is not an OSMP document".into()),
        },
        Err(e) => ProviderAnswer::NoAnswer(e.to_string()),
    }
}

async fn json_call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    command: &str,
    body: &serde_json::Value,
) -> ProviderAnswer {
    let url = format!("{}/{command}", endpoint.url.trim_end_matches('/'));
    let response = client
        .post(url)
        .json(body)
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return ProviderAnswer::NoAnswer(describe_error(&e)),
    };
    if response.status() != reqwest::StatusCode::OK {
        return ProviderAnswer::NoAnswer(format!("HTTP {}", response.status()));
    }
    let body = match outbound::read_capped(response, PROVIDER_ANSWER_MAX_BYTES).await {
        Ok(body) => body,
        Err(e) => return ProviderAnswer::NoAnswer(e.to_string()),
    };
    match serde_json::from_slice::<JsonAnswer>(&body) {
        Ok(answer) => ProviderAnswer::Answered {
            result: answer.result,
            message: answer.message,
            prv_txn: answer.prv_txn.map(|p| p.to_string()),
        },
        Err(e) => ProviderAnswer::NoAnswer(format!("unreadable answer: {e}")),
    }
}

/// What went wrong, naming a certificate problem when there is one.
fn describe_error(error: &reqwest::Error) -> String {
    outbound::describe_error(error)
}

/// One payment in a provider's `verify` answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderPayment {
    pub txn_id: String,
    pub prv_txn: String,
    pub account: String,
    pub amount: Kopecks,
}

/// `command=verify&date=YYYYMMDD`: the provider's own list of the day's credited payments
/// (OSMP providers only; the JSON protocol has no verify).
pub async fn verify(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    date: &str,
) -> Result<Vec<ProviderPayment>, String> {
    if endpoint.protocol != "osmp" {
        return Err("the provider's protocol has no verify command".into());
    }
    let response = client
        .get(&endpoint.url)
        .query(&[("command", "verify"), ("date", date)])
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("HTTP {}", response.status()));
    }
    let text = outbound::read_text_capped(response, PROVIDER_ANSWER_MAX_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    if !text.contains("<result>0</result>") {
        return Err("the provider did not answer verify with result 0".into());
    }
    let attribute = |element: &str, name: &str| -> Option<String> {
        let start = element.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + element[start..].find('"')?;
        Some(
            element[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    let mut payments = Vec::new();
    for element in text.split("<payment ").skip(1) {
        let element = element.split("/>").next().unwrap_or_default();
        let (Some(txn_id), Some(prv_txn), Some(account), Some(amount)) = (
            attribute(element, "txn_id"),
            attribute(element, "prv_txn"),
            attribute(element, "account"),
            attribute(element, "amount").and_then(|a| Kopecks::parse(&a).ok()),
        ) else {
            return Err(format!("unreadable payment in verify: {element}"));
        };
        payments.push(ProviderPayment {
            txn_id,
            prv_txn,
            account,
            amount,
        });
    }
    Ok(payments)
}
