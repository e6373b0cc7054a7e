//! The consumer's history: each contract's charges and payments as its provider keeps
//! them (`GET /api/usage/v1/transactions`, docs/provider.md), read with the contract's
//! own login. The subscriber's name comes with it and is remembered for the header.

use shared::outbound;
use shared::wire::provider::History;

use super::ConsumerState;
use super::contracts_file::{self, Contract};
use crate::consumer::server_types::{ContractHistory, HistoryOutcome};

/// The largest history answer read from a provider: 200 movements of ~250 bytes each,
/// with room to spare.
const HISTORY_ANSWER_MAX_BYTES: usize = 512 * 1024;

/// The history URL next to a contract's usage URL: `…/api/usage/v1/usage` →
/// `…/api/usage/v1/transactions`. `None` for a usage URL of another shape.
pub fn history_url(usage_url: &str) -> Option<String> {
    let base = usage_url.trim().strip_suffix("/usage")?;
    Some(format!("{base}/transactions"))
}

async fn fetch(state: &ConsumerState, contract: &Contract) -> (HistoryOutcome, Option<String>) {
    let Some(url) = history_url(&contract.usage_url) else {
        return (
            HistoryOutcome::Unreachable(format!(
                "the usage URL {} does not end in /usage",
                contract.usage_url
            )),
            None,
        );
    };
    let response = match state
        .client
        .get(&url)
        .basic_auth(&contract.login, Some(&contract.password))
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) => {
            return (
                HistoryOutcome::Unreachable(outbound::describe_error(&e)),
                None,
            );
        }
    };
    let status = response.status();
    if !status.is_success() {
        return (HistoryOutcome::Refused(status.as_u16()), None);
    }
    let body = match outbound::read_capped(response, HISTORY_ANSWER_MAX_BYTES).await {
        Ok(body) => body,
        Err(e) => return (HistoryOutcome::Unreachable(e.to_string()), None),
    };
    match serde_json::from_slice::<History>(&body) {
        Ok(history) => (
            HistoryOutcome::Entries(history.transactions),
            Some(history.full_name),
        ),
        Err(e) => (
            HistoryOutcome::Unreachable(format!("an unreadable answer: {e}")),
            None,
        ),
    }
}

/// Every contract's history, in the contracts' order; the names learned are kept.
pub async fn all(state: &ConsumerState) -> Vec<ContractHistory> {
    let contracts = state.contracts.lock().await.contracts.clone();
    let mut blocks = Vec::with_capacity(contracts.len());
    let mut learned = Vec::new();
    for contract in &contracts {
        let (outcome, name) = fetch(state, contract).await;
        if let Some(name) = name.filter(|n| contract.subscriber_name.as_ref() != Some(n)) {
            learned.push((contract.id, name));
        }
        blocks.push(ContractHistory {
            contract_id: contract.id,
            provider_name: contract.provider_name.clone(),
            account: contract.account.clone(),
            outcome,
        });
    }
    if !learned.is_empty() {
        remember_names(state, &learned).await;
    }
    blocks
}

/// Writes learned subscriber names into the contracts file. A failure to write loses
/// only the header's name until the next visit: logged, not shown.
async fn remember_names(state: &ConsumerState, learned: &[(u64, String)]) {
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    for (id, name) in learned {
        if let Some(c) = next.contracts.iter_mut().find(|c| c.id == *id) {
            c.subscriber_name = Some(name.clone());
        }
    }
    match contracts_file::save(&state.dir, &next) {
        Ok(()) => *contracts = next,
        Err(e) => tracing::warn!(error = %e, "cannot keep the subscriber's name"),
    }
}

/// Who the consumer's header names: the subscriber's name as a provider gave it, else
/// the accounts (`None` with no contracts).
pub async fn subscriber_label(state: &ConsumerState) -> Option<String> {
    let contracts = state.contracts.lock().await;
    if let Some(name) = contracts
        .contracts
        .iter()
        .find_map(|c| c.subscriber_name.clone())
    {
        return Some(name);
    }
    let accounts: Vec<&str> = contracts
        .contracts
        .iter()
        .map(|c| c.account.as_str())
        .collect();
    (!accounts.is_empty()).then(|| accounts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_url_sits_beside_the_usage_url() {
        assert_eq!(
            history_url("http://h:8402/api/usage/v1/usage").as_deref(),
            Some("http://h:8402/api/usage/v1/transactions")
        );
        assert_eq!(history_url("http://h/elsewhere"), None);
    }
}
