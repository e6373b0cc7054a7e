//! Calls to providers in their protocol: OSMP (`GET endpoint?command=…`, XML answer) or
//! JSON (`POST endpoint/check|pay`). Whatever the protocol, the caller gets a
//! [`ProviderAnswer`]: a result code, or "no answer" (network error, timeout, an HTTP
//! status other than 200, an unreadable body) — which is never final.
//!
//! An answer counts only as the answer to what was sent ([`Sent::bind`]): it must echo
//! the `txn_id` (OSMP `osmp_txn_id`) and, for a pay, carry the sum that was sent. Anything
//! else — a proxy's cached page, another payment's answer, a forged credit — is "no
//! answer": the payment stays pending and is asked again, and the mismatch is logged.

use shared::money::Kopecks;
use shared::outbound::{self, PROVIDER_ANSWER_MAX_BYTES};
use shared::wire::agent::Extra;
use shared::wire::osmp::{Answer, ResultCode, TxnDate, format_sum};
use shared::wire::provider::{JsonAnswer, PaymentProtocol};

/// Where and how to reach a provider.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub protocol: PaymentProtocol,
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

/// The OSMP query of a command: its own parameters, then each extra field as a
/// parameter of the same name (wire.md). The names were matched against the provider's
/// fields, whose names are never OSMP's own (`osmp::reserved_field_names`).
fn osmp_query<'a>(own: &[(&'a str, &'a str)], extra: &'a Extra) -> Vec<(&'a str, &'a str)> {
    let mut query = own.to_vec();
    query.extend(
        extra
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    query
}

/// The JSON body of a command, with `"extra"` when there are extra fields.
fn json_body(mut body: serde_json::Value, extra: &Extra) -> serde_json::Value {
    if !extra.is_empty() {
        body["extra"] = serde_json::json!(extra);
    }
    body
}

/// `check`: may this account take this sum? `extra` are the payment fields after
/// `account`, sent along in the provider's protocol.
pub async fn check(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    txn_id: &str,
    account: &str,
    extra: &Extra,
    sum: Kopecks,
) -> ProviderAnswer {
    let reply = match endpoint.protocol {
        PaymentProtocol::Json => {
            let body = json_body(
                serde_json::json!({"txn_id": txn_id, "account": account, "amount": sum}),
                extra,
            );
            json_call(client, endpoint, "check", &body).await
        }
        PaymentProtocol::Osmp => {
            let sum = format_sum(sum);
            let query = osmp_query(
                &[
                    ("command", "check"),
                    ("txn_id", txn_id),
                    ("account", account),
                    ("sum", &sum),
                ],
                extra,
            );
            osmp_call(client, endpoint, &query).await
        }
    };
    Sent { txn_id, sum: None }.bind(reply)
}

/// `pay`: credit this sum to this account under `txn_id` (the provider credits it once),
/// with the payment fields after `account`.
pub async fn pay(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    txn_id: &str,
    account: &str,
    extra: &Extra,
    sum: Kopecks,
    txn_date: &time::OffsetDateTime,
) -> ProviderAnswer {
    let date = txn_date.to_offset(time::UtcOffset::UTC);
    let reply = match endpoint.protocol {
        PaymentProtocol::Json => {
            let stamp = date
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let body = json_body(
                serde_json::json!({"txn_id": txn_id, "account": account, "amount": sum, "txn_date": stamp}),
                extra,
            );
            json_call(client, endpoint, "pay", &body).await
        }
        PaymentProtocol::Osmp => {
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
            let query = osmp_query(
                &[
                    ("command", "pay"),
                    ("txn_id", txn_id),
                    ("account", account),
                    ("sum", &sum),
                    ("txn_date", &wire_date),
                ],
                extra,
            );
            osmp_call(client, endpoint, &query).await
        }
    };
    Sent {
        txn_id,
        sum: Some(sum),
    }
    .bind(reply)
}

/// What a provider said, before it is held against the request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    /// `osmp_txn_id` (OSMP) or `txn_id` (JSON), as echoed.
    txn_id: Option<String>,
    /// `sum` (OSMP) or `amount` (JSON), when the answer carries one.
    sum: Option<Kopecks>,
    result: u16,
    message: String,
    prv_txn: Option<String>,
}

/// The request an answer must belong to.
#[derive(Debug, Clone, Copy)]
struct Sent<'a> {
    txn_id: &'a str,
    /// The sum of a `pay`; `None` for a `check`, whose answer carries no sum.
    sum: Option<Kopecks>,
}

impl Sent<'_> {
    /// The provider's answer if it is the answer to this request, else "no answer".
    /// A credit (result 0 on a pay) must state its sum; any stated sum must be the one sent.
    fn bind(self, reply: Result<Reply, String>) -> ProviderAnswer {
        let reply = match reply {
            Ok(reply) => reply,
            Err(why) => return ProviderAnswer::NoAnswer(why),
        };
        let mismatch = if reply.txn_id.as_deref() != Some(self.txn_id) {
            Some(format!(
                "the answer is for txn_id {}, not {}",
                shown(reply.txn_id.as_deref()),
                self.txn_id
            ))
        } else {
            match self.sum {
                Some(sent)
                    if reply.sum != Some(sent) && (reply.result == 0 || reply.sum.is_some()) =>
                {
                    Some(format!(
                        "the answer states sum {}, not {sent}",
                        reply
                            .sum
                            .map_or_else(|| "nothing".to_owned(), |s| s.to_string())
                    ))
                }
                _ => None,
            }
        };
        match mismatch {
            Some(why) => {
                tracing::warn!(
                    txn_id = self.txn_id,
                    result = reply.result,
                    why = %why,
                    "provider answer does not match the request; counted as no answer"
                );
                ProviderAnswer::NoAnswer(format!("answer not counted: {why}"))
            }
            None => ProviderAnswer::Answered {
                result: reply.result,
                message: reply.message,
                prv_txn: reply.prv_txn,
            },
        }
    }
}

/// A value from a provider's answer, fit for a log line and the operator's page: control
/// characters escaped, at most 24 characters.
fn shown(value: Option<&str>) -> String {
    match value {
        None => "none".to_owned(),
        Some(v) => {
            let short: String = v.chars().take(24).collect();
            format!("{short:?}")
        }
    }
}

async fn osmp_call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    params: &[(&str, &str)],
) -> Result<Reply, String> {
    let response = client
        .get(&endpoint.url)
        .query(params)
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await;
    let response = response.map_err(|e| outbound::describe_error(&e))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("HTTP {}", response.status()));
    }
    let text = outbound::read_text_capped(response, PROVIDER_ANSWER_MAX_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let answer =
        Answer::parse_xml(&text).ok_or_else(|| "the answer is not an OSMP document".to_owned())?;
    Ok(Reply {
        txn_id: answer.osmp_txn_id,
        sum: answer.sum,
        result: answer.result,
        message: answer.comment,
        prv_txn: answer.prv_txn.map(|p| p.to_string()),
    })
}

async fn json_call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    command: &str,
    body: &serde_json::Value,
) -> Result<Reply, String> {
    let url = format!("{}/{command}", endpoint.url.trim_end_matches('/'));
    let response = client
        .post(url)
        .json(body)
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await;
    let response = response.map_err(|e| outbound::describe_error(&e))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = outbound::read_capped(response, PROVIDER_ANSWER_MAX_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let answer = serde_json::from_slice::<JsonAnswer>(&body)
        .map_err(|e| format!("unreadable answer: {e}"))?;
    Ok(Reply {
        txn_id: answer.txn_id,
        sum: answer.amount,
        result: answer.result,
        message: answer.message,
        prv_txn: answer.prv_txn.map(|p| p.to_string()),
    })
}

/// One payment in a provider's `verify` answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderPayment {
    pub txn_id: String,
    pub prv_txn: String,
    pub account: String,
    pub amount: Kopecks,
    /// The answer's `date` (`dd.mm.YYYY HH:MM:SS`; ours echo `txn_date`, UTC), when given.
    pub date: Option<String>,
}

/// `command=verify&date=YYYYMMDD`: the provider's own list of the day's credited payments
/// (OSMP providers only; the JSON protocol has no verify). `date` is a day of `txn_date`,
/// which processing sends in UTC (see `registry` for how a local day is asked for).
pub async fn verify(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    date: &str,
) -> Result<Vec<ProviderPayment>, String> {
    if endpoint.protocol != PaymentProtocol::Osmp {
        return Err("the provider's protocol has no verify command".into());
    }
    let response = client
        .get(&endpoint.url)
        .query(&[("command", "verify"), ("date", date)])
        .basic_auth(&endpoint.login, Some(&endpoint.password))
        .send()
        .await
        .map_err(|e| outbound::describe_error(&e))?;
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
            date: attribute(element, "date"),
        });
    }
    Ok(payments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(txn_id: Option<&str>, sum: Option<i64>, result: u16) -> Result<Reply, String> {
        Ok(Reply {
            txn_id: txn_id.map(str::to_owned),
            sum: sum.map(Kopecks::new),
            result,
            message: "OK".into(),
            prv_txn: Some("7".into()),
        })
    }

    const PAY: Sent<'static> = Sent {
        txn_id: "12",
        sum: Some(Kopecks::new(1_000)),
    };
    const CHECK: Sent<'static> = Sent {
        txn_id: "12",
        sum: None,
    };

    fn counted(answer: &ProviderAnswer) -> bool {
        matches!(answer, ProviderAnswer::Answered { .. })
    }

    #[test]
    fn an_answer_to_what_was_sent_counts() {
        assert!(counted(&PAY.bind(reply(Some("12"), Some(1_000), 0))));
        assert!(counted(&CHECK.bind(reply(Some("12"), None, 0))));
        // A refusal need not state a sum; a check answer carries none.
        assert!(counted(&PAY.bind(reply(Some("12"), None, 5))));
    }

    #[test]
    fn an_answer_for_another_txn_id_or_sum_is_no_answer() {
        for (txn_id, sum, result) in [
            (Some("13"), Some(1_000), 0),
            (None, Some(1_000), 0),
            (Some("012"), Some(1_000), 0),
            (Some("12"), Some(1_001), 0),
            (Some("12"), None, 0),
            (Some("12"), Some(999), 5),
        ] {
            let answer = PAY.bind(reply(txn_id, sum, result));
            assert!(!counted(&answer), "{txn_id:?} {sum:?} {result}");
            assert!(!answer.is_final());
        }
        assert!(!counted(&CHECK.bind(reply(Some("1"), None, 0))));
    }

    #[test]
    fn a_forged_value_is_shown_escaped_and_short() {
        let answer = CHECK.bind(reply(
            Some("1\n2026-12-02 INFO forged line and more"),
            None,
            0,
        ));
        let ProviderAnswer::NoAnswer(why) = answer else {
            panic!("counted a forged answer");
        };
        assert!(!why.contains('\n'), "{why}");
        assert!(why.len() < 120, "{why}");
    }
}
