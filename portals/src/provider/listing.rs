//! The subscriber list's orders and pages, as the API, the page and its server function
//! share them (both builds).

use serde::{Deserialize, Serialize};

use crate::provider::model::SubscriberView;
use crate::ui::sort::{SortColumn, SortDir};

/// What the subscriber list can be sorted by (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberSort {
    /// Signing order (the id); the default, newest first.
    Created,
    Account,
    /// The folded name (`server::search_key::fold`): alphabetical, case and ё aside.
    Name,
    Balance,
}

impl SortColumn for SubscriberSort {
    const ALL: &'static [SubscriberSort] = &[
        SubscriberSort::Created,
        SubscriberSort::Account,
        SubscriberSort::Name,
        SubscriberSort::Balance,
    ];
    const DEFAULT: SubscriberSort = SubscriberSort::Created;

    fn as_str(self) -> &'static str {
        match self {
            SubscriberSort::Created => "created",
            SubscriberSort::Account => "account",
            SubscriberSort::Name => "name",
            SubscriberSort::Balance => "balance",
        }
    }

    fn first_dir(self) -> SortDir {
        match self {
            SubscriberSort::Created | SubscriberSort::Balance => SortDir::Desc,
            SubscriberSort::Account | SubscriberSort::Name => SortDir::Asc,
        }
    }
}

/// One page of the list, and the cursor of the next (`after=`) when more follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberList {
    pub rows: Vec<SubscriberView>,
    pub next: Option<String>,
}
