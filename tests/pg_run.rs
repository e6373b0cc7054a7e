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
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PAYMESH_TEST_POSTGRES={server}: {e}"));
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&admin)
        .await
        .expect("pg_database");
    if exists.is_none() {
        // CREATE DATABASE takes no bind parameters; the name is hex digits and a role.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("CREATE DATABASE");
    }
    admin.close().await;
    format!("{server}/{name}")
}
