//! The PostgreSQL pass of the suites: when `PAYMESH_TEST_POSTGRES` names a running cluster
//! (`./paymesh test` starts a throwaway one with `scripts/pg-cluster.sh` and runs the
//! processing and provider suites again against it), every processing and provider the
//! harness starts gets a database of its own on it instead of a SQLite file.

use std::hash::{Hash, Hasher};
use std::path::Path;

use portals::role::Role;

/// The cluster of this run, if the run has one: `postgres://USER@HOST:PORT`.
pub fn server_url() -> Option<String> {
    std::env::var("PAYMESH_TEST_POSTGRES")
        .ok()
        .map(|url| url.trim_end_matches('/').to_owned())
        .filter(|url| !url.is_empty())
}

/// The database of `role` started in `dir`, created the first time: a participant
/// restarted on the same directory finds its data again, as it would in its file.
pub async fn database_for(server: &str, role: Role, dir: &Path) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("t{:016x}_{role}", hasher.finish());
    portals::demo::postgres::ensure_database(server, &name)
        .await
        .unwrap_or_else(|e| panic!("PAYMESH_TEST_POSTGRES: {e}"))
}
