//! A throwaway PostgreSQL cluster for the tests (issue #15): `initdb` into a temp dir,
//! `pg_ctl start` on a free loopback port, a database per test, stopped and deleted when
//! the handle is dropped. No system service, no shared state between tests: nextest runs
//! every test in its own process, and a cluster takes about a second to make and start.
//!
//! PostgreSQL refuses to run as root; as root (CI here) the server runs as the `postgres`
//! user the Debian package creates, in a directory handed to it. `scripts/install-deps.sh
//! --test` installs the package; a machine without it fails the test with what to do,
//! rather than skipping: the suites that need PostgreSQL must run in CI.

use std::path::{Path, PathBuf};

use portals::demo::postgres::{Cluster, Durability};

/// A cluster in a temp dir of its own. Fields drop in order: the server stops, then its
/// files go.
pub struct Postgres {
    cluster: Cluster,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Postgres {
    /// A new cluster, running.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("paymesh-pg-")
            .tempdir()
            .expect("a temp dir for the cluster");
        // A port can be taken between our probe and the server's bind: try a few.
        let mut failed = String::new();
        for _ in 0..5 {
            match Cluster::start(dir.path(), free_port(), Durability::Throwaway) {
                Ok(cluster) => {
                    let port = cluster.port;
                    return Postgres { cluster, dir, port };
                }
                Err(e) => failed = e,
            }
        }
        panic!("PostgreSQL did not start: {failed}");
    }

    /// A new empty database, by name; its URL.
    pub async fn database(&self, name: &str) -> String {
        self.cluster.database(name).await.expect("CREATE DATABASE")
    }

    /// Whether the server still answers on its port.
    pub fn is_listening(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The harness itself: each test gets its own databases on its own cluster, which speak
/// the types the processing center's schema will use (BIGINT kopecks, timestamptz,
/// a unique constraint as the idempotency claim), and nothing is left running after it.
#[tokio::test]
async fn a_throwaway_cluster_gives_each_test_its_own_database_and_stops_with_it() {
    let pg = Postgres::start();
    let first = sqlx::PgPool::connect(&pg.database("payments_a").await)
        .await
        .unwrap();
    let second = sqlx::PgPool::connect(&pg.database("payments_b").await)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE payments (agent_txn_id TEXT PRIMARY KEY, amount BIGINT NOT NULL,
                                accepted_at TIMESTAMPTZ NOT NULL)",
    )
    .execute(&first)
    .await
    .unwrap();
    let claim = "INSERT INTO payments (agent_txn_id, amount, accepted_at)
                 VALUES ($1, $2, '2026-11-26T10:15:00Z') ON CONFLICT DO NOTHING";
    let amount = 100_000_000_000_i64; // Kopecks::MAX_INPUT (1e9 RUB): beyond 32 bits
    let claimed = sqlx::query(claim)
        .bind("A-1")
        .bind(amount)
        .execute(&first)
        .await
        .unwrap();
    let again = sqlx::query(claim)
        .bind("A-1")
        .bind(1_i64)
        .execute(&first)
        .await
        .unwrap();
    assert_eq!((claimed.rows_affected(), again.rows_affected()), (1, 0));
    let (stored, at): (i64, String) = sqlx::query_as(
        "SELECT amount, to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM payments",
    )
    .fetch_one(&first)
    .await
    .unwrap();
    assert_eq!((stored, at.as_str()), (amount, "2026-11-26 10:15"));
    // The other database of the same cluster has none of it.
    let missing = sqlx::query("SELECT 1 FROM payments").execute(&second).await;
    assert!(missing.is_err(), "the table leaked into another database");

    first.close().await;
    second.close().await;
    let dir = pg.dir.path().to_owned();
    assert!(pg.is_listening());
    let port = pg.port;
    drop(pg);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after the handle is gone"
    );
    assert!(!dir.exists(), "the cluster's files are deleted");
}

/// Columns that hold money: integer kopecks, BIGINT on PostgreSQL.
const MONEY_COLUMNS: [&str; 13] = [
    "amount",
    "cash",
    "agent_fee",
    "processing_fee",
    "balance",
    "reserved",
    "min_amount",
    "max_amount",
    "fee_fixed",
    "fee_min",
    "fee_max",
    "unit_price",
    "balance_after",
];

/// (table, column) → declared type, for every table a migration tree makes.
type Columns = std::collections::BTreeMap<(String, String), String>;

fn migrations(tree: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(tree)
}

async fn sqlite_columns(role: &str) -> Columns {
    let dir = tempfile::tempdir().unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("schema.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(migrations(role))
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p
          WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().map(|(t, c, ty)| ((t, c), ty)).collect()
}

async fn postgres_columns(pg: &Postgres, role: &str) -> Columns {
    let pool = sqlx::PgPool::connect(&pg.database(role).await)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(migrations(&format!("{role}-postgres")))
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().map(|(t, c, ty)| ((t, c), ty)).collect()
}

/// Processing and the provider keep one migration tree per dialect (SQLite, the embedded
/// default; PostgreSQL for a center at scale). The PostgreSQL tree must make every table
/// and column the SQLite one does — a migration added to one tree alone fails here — with
/// money in BIGINT kopecks and every `*_at` instant in TIMESTAMPTZ.
#[tokio::test]
async fn the_postgresql_schemas_match_the_sqlite_ones_column_for_column() {
    let pg = Postgres::start();
    for role in ["processing", "provider"] {
        let sqlite = sqlite_columns(role).await;
        let postgres = postgres_columns(&pg, role).await;
        let only = |a: &Columns, b: &Columns| -> Vec<(String, String)> {
            a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
        };
        assert_eq!(
            (only(&sqlite, &postgres), only(&postgres, &sqlite)),
            (vec![], vec![]),
            "{role}: (columns only on SQLite, columns only on PostgreSQL)"
        );
        for ((table, column), ty) in &postgres {
            if MONEY_COLUMNS.contains(&column.as_str()) {
                assert_eq!(ty, "bigint", "{role}: {table}.{column} holds money");
            }
            if column.ends_with("_at") {
                assert_eq!(
                    ty, "timestamp with time zone",
                    "{role}: {table}.{column} is an instant"
                );
            }
        }
        assert!(postgres.contains_key(&("payments".to_owned(), "extra".to_owned())));
    }
}
