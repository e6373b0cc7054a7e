//! The agent's client of processing's agent API (`paymesh-agent/1`).

use reqwest::StatusCode;
use shared::outbound::{self, PROCESSING_ANSWER_MAX_BYTES};
use shared::wire::agent::{
    AgentBalance, Catalog, CheckAnswer, CheckRequest, PaymentRequest, PaymentState,
};

/// The agent's contract with processing, as the operator entered it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Contract {
    pub processing_url: String,
    pub contract_number: String,
    pub login: String,
    pub password: String,
}

/// Why a call to processing did not give an answer to act on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Network error, timeout, 5xx: try again later.
    #[error("processing unreachable: {0}")]
    Unreachable(String),
    /// 401: the contract's login or password is wrong.
    #[error("processing refused the contract's credentials")]
    Unauthorized,
    /// 4xx with a body: processing understood and refused.
    #[error("processing refused: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    /// 403 `agent_suspended`: processing has suspended this agent contract. Nothing is
    /// final about it: queued payments wait (processing resumes the contract or not), and
    /// the terminal blocks until a sync succeeds again.
    #[error("{SUSPENDED}")]
    Suspended,
}

/// What a sync records as its error while the contract is suspended; the status reads
/// it back to block the terminal with the reason `suspended`.
pub const SUSPENDED: &str = "processing has suspended this agent contract (agent_suspended)";

fn url(contract: &Contract, path: &str) -> String {
    format!("{}{path}", contract.processing_url.trim_end_matches('/'))
}

async fn judge(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, CallError> {
    let response = response.map_err(|e| CallError::Unreachable(outbound::describe_error(&e)))?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Err(CallError::Unauthorized);
    }
    if status.is_server_error() {
        // Processing's own error (e.g. `502 provider_unavailable` naming a provider's
        // certificate problem) says more than the status.
        let body = error_body(response).await;
        let message = serde_json::from_str::<shared::error::ErrorBody>(&body)
            .map(|b| b.error.message)
            .unwrap_or_default();
        return Err(CallError::Unreachable(if message.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {message}")
        }));
    }
    if status == StatusCode::FORBIDDEN {
        let body = error_body(response).await;
        let suspended = serde_json::from_str::<shared::error::ErrorBody>(&body)
            .is_ok_and(|b| b.error.code == "agent_suspended");
        return Err(if suspended {
            CallError::Suspended
        } else {
            CallError::Refused { status: 403, body }
        });
    }
    if status.is_client_error()
        && status != StatusCode::NOT_MODIFIED
        && status != StatusCode::CONFLICT
    {
        let body = error_body(response).await;
        return Err(CallError::Refused {
            status: status.as_u16(),
            body,
        });
    }
    Ok(response)
}

/// The largest refusal body kept (it is shown to the operator, not parsed).
const ERROR_BODY_MAX_BYTES: usize = 64 * 1024;

async fn error_body(response: reqwest::Response) -> String {
    outbound::read_text_capped(response, ERROR_BODY_MAX_BYTES)
        .await
        .unwrap_or_else(|e| format!("(unreadable: {e})"))
}

async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, CallError> {
    let body = outbound::read_capped(response, PROCESSING_ANSWER_MAX_BYTES)
        .await
        .map_err(|e| CallError::Unreachable(format!("unreadable answer: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| CallError::Unreachable(format!("unreadable answer: {e}")))
}

pub async fn balance(
    client: &reqwest::Client,
    contract: &Contract,
) -> Result<AgentBalance, CallError> {
    let response = client
        .get(url(contract, "/balance"))
        .basic_auth(&contract.login, Some(&contract.password))
        .send()
        .await;
    json(judge(response).await?).await
}

/// The catalog, unless it is unchanged since `etag` (`Ok(None)`); with its new ETag.
pub async fn catalog(
    client: &reqwest::Client,
    contract: &Contract,
    etag: Option<&str>,
) -> Result<Option<(Catalog, Option<String>)>, CallError> {
    let mut request = client
        .get(url(contract, "/catalog"))
        .basic_auth(&contract.login, Some(&contract.password));
    if let Some(etag) = etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    let response = judge(request.send().await).await?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Some((json(response).await?, etag)))
}

pub async fn check(
    client: &reqwest::Client,
    contract: &Contract,
    request: &CheckRequest,
) -> Result<CheckAnswer, CallError> {
    let response = client
        .post(url(contract, "/checks"))
        .basic_auth(&contract.login, Some(&contract.password))
        .json(request)
        .send()
        .await;
    json(judge(response).await?).await
}

/// Sends a payment; a 409 (the key used with other data) comes back as `Refused`.
pub async fn pay(
    client: &reqwest::Client,
    contract: &Contract,
    request: &PaymentRequest,
) -> Result<PaymentState, CallError> {
    let response = client
        .post(url(contract, "/payments"))
        .basic_auth(&contract.login, Some(&contract.password))
        .json(request)
        .send()
        .await;
    let response = judge(response).await?;
    if response.status() == StatusCode::CONFLICT {
        let body = error_body(response).await;
        return Err(CallError::Refused { status: 409, body });
    }
    json(response).await
}
