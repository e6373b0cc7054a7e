//! The consumer's dashboard, read from its contracts file (the consumer's store): the
//! balances are the providers' own answers to the latest charges, so nothing is fetched.

use super::ConsumerState;
use super::contracts_file::Contracts;
use crate::consumer::figures::{ContractLine, Dashboard, RECENT_MAX, RecentUse};

pub async fn dashboard(state: &ConsumerState) -> Dashboard {
    let contracts = state.contracts.lock().await;
    overview(&contracts)
}

/// The figures of `contracts` as they are.
pub fn overview(contracts: &Contracts) -> Dashboard {
    let lines = contracts
        .contracts
        .iter()
        .map(|c| {
            let last_balance = c.uses.iter().rev().find(|u| u.balance.is_some());
            ContractLine {
                id: c.id,
                provider_name: c.provider_name.clone(),
                account: c.account.clone(),
                services: c.services.clone(),
                balance: last_balance
                    .and_then(|u| u.balance.as_ref())
                    .map(|m| m.amount.get()),
                balance_at: last_balance.map(|u| u.at.clone()),
                uses: c.uses.len(),
                charged_total: c
                    .uses
                    .iter()
                    .filter_map(|u| u.charged.as_ref())
                    .map(|m| m.amount.get())
                    .fold(0i64, i64::saturating_add),
            }
        })
        .collect();
    let mut recent: Vec<RecentUse> = contracts
        .contracts
        .iter()
        .flat_map(|c| {
            c.uses.iter().map(|u| RecentUse {
                provider_name: c.provider_name.clone(),
                account: c.account.clone(),
                use_: u.clone(),
            })
        })
        .collect();
    // Instants are fixed-width UTC text: text order is time order.
    recent.sort_by(|a, b| b.use_.at.cmp(&a.use_.at));
    recent.truncate(RECENT_MAX);
    Dashboard {
        contracts: lines,
        recent,
    }
}
