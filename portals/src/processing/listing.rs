//! The orders of processing's contract lists (agents, providers), as the API and the
//! pages share them (both builds), and the sorting itself.
//!
//! These lists hold one row per contract — tens, a few hundred at most — and are read
//! whole, so they are sorted on the server in Rust (the same fold of names as the
//! provider's search keys, `server::search_key`) rather than in SQL, and need no paging.

use serde::{Deserialize, Serialize};

use crate::processing::model::{AgentView, ProviderView};
use crate::ui::sort::{SortColumn, SortDir};

/// What the agent list can be sorted by (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentSort {
    /// Contract order (the id); the default.
    Id,
    Name,
    Balance,
    /// What the agent can still spend (balance less reserved).
    Available,
}

impl SortColumn for AgentSort {
    const ALL: &'static [AgentSort] = &[
        AgentSort::Id,
        AgentSort::Name,
        AgentSort::Balance,
        AgentSort::Available,
    ];
    const DEFAULT: AgentSort = AgentSort::Id;

    fn as_str(self) -> &'static str {
        match self {
            AgentSort::Id => "id",
            AgentSort::Name => "name",
            AgentSort::Balance => "balance",
            AgentSort::Available => "available",
        }
    }

    fn first_dir(self) -> SortDir {
        match self {
            AgentSort::Id | AgentSort::Name => SortDir::Asc,
            AgentSort::Balance | AgentSort::Available => SortDir::Desc,
        }
    }
}

/// What the provider list can be sorted by (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderSort {
    /// Contract order (the id); the default.
    Id,
    Name,
    /// The service kind, then the name.
    Kind,
}

impl SortColumn for ProviderSort {
    const ALL: &'static [ProviderSort] =
        &[ProviderSort::Id, ProviderSort::Name, ProviderSort::Kind];
    const DEFAULT: ProviderSort = ProviderSort::Id;

    fn as_str(self) -> &'static str {
        match self {
            ProviderSort::Id => "id",
            ProviderSort::Name => "name",
            ProviderSort::Kind => "kind",
        }
    }

    fn first_dir(self) -> SortDir {
        SortDir::Asc
    }
}

/// Sorts `rows` by `key`, ties by the id, in `dir` (both reversed for `Desc`).
fn sort_by<T, K: Ord>(rows: &mut [T], dir: SortDir, key: impl Fn(&T) -> K) {
    rows.sort_by(|a, b| {
        let order = key(a).cmp(&key(b));
        match dir {
            SortDir::Asc => order,
            SortDir::Desc => order.reverse(),
        }
    });
}

/// The agents in the order asked; `fold` makes a name's sort key (case and ё aside).
pub fn sort_agents(
    rows: &mut [AgentView],
    (sort, dir): (AgentSort, SortDir),
    fold: fn(&str) -> String,
) {
    match sort {
        AgentSort::Id => sort_by(rows, dir, |a| a.agent_id),
        AgentSort::Name => sort_by(rows, dir, |a| (fold(&a.name), a.agent_id)),
        AgentSort::Balance => sort_by(rows, dir, |a| (a.balance.amount, a.agent_id)),
        AgentSort::Available => sort_by(rows, dir, |a| (a.available.amount, a.agent_id)),
    }
}

/// The providers in the order asked; `fold` as for [`sort_agents`].
pub fn sort_providers(
    rows: &mut [ProviderView],
    (sort, dir): (ProviderSort, SortDir),
    fold: fn(&str) -> String,
) {
    match sort {
        ProviderSort::Id => sort_by(rows, dir, |p| p.provider_id),
        ProviderSort::Name => sort_by(rows, dir, |p| (fold(&p.name), p.provider_id)),
        ProviderSort::Kind => sort_by(rows, dir, |p| {
            (p.service_kind.clone(), fold(&p.name), p.provider_id)
        }),
    }
}
