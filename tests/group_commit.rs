//! SQLite group commit (`portals::server::db::group`), on a real database file: writers
//! that arrive together share a COMMIT, each member's failure stays its own, and a
//! transaction dropped unfinished leaves nothing behind.

use portals::role::Role;
use portals::server::db::{self, Db};

async fn provider_db(dir: &tempfile::TempDir) -> Db {
    db::open(Role::Provider, dir.path(), None, db::Synchronous::Full)
        .await
        .expect("the database opens")
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let (n,): (i64,) = db::query_as(sql).fetch_one(db).await.unwrap();
    n
}

/// 64 transactions at once, every other one rolled back after its write: the 32 that
/// committed are there, the 32 others left nothing, and they took fewer COMMITs than
/// transactions.
#[tokio::test]
async fn concurrent_transactions_share_commits_and_keep_their_own_rollbacks() {
    let dir = tempfile::tempdir().unwrap();
    let db = provider_db(&dir).await;
    let before = db
        .group_commits()
        .expect("a provider on SQLite has a writer");
    let tasks: Vec<_> = (0..64i64)
        .map(|k| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                db::query("INSERT INTO participant (key, value) VALUES ($1, 'v')")
                    .bind(format!("k{k}"))
                    .execute(&mut tx)
                    .await
                    .unwrap();
                if k % 2 == 0 {
                    tx.commit().await.unwrap();
                } else {
                    tx.rollback().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM participant WHERE key LIKE 'k%'").await,
        32
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM participant WHERE key LIKE 'k%' AND CAST(SUBSTR(key, 2) AS INTEGER) % 2 = 1"
        )
        .await,
        0,
        "a rolled-back member's write is gone"
    );
    let (groups, members) = db.group_commits().unwrap();
    let (groups, members) = (groups - before.0, members - before.1);
    assert_eq!(members, 64, "every transaction waited for a COMMIT");
    assert!(
        groups < members,
        "{groups} COMMITs for {members} transactions"
    );
    // What was answered is on disk: a fresh connection reads it after the pool closes.
    db.close().await;
    let again = provider_db(&dir).await;
    assert_eq!(
        count(
            &again,
            "SELECT COUNT(*) FROM participant WHERE key LIKE 'k%'"
        )
        .await,
        32
    );
}

/// A transaction dropped without commit or rollback (an early `?`, a request that went
/// away) is undone, and the writer goes on serving the next one.
#[tokio::test]
async fn a_dropped_transaction_leaves_nothing_and_frees_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = provider_db(&dir).await;
    {
        let mut tx = db.begin().await.unwrap();
        db::query("INSERT INTO participant (key, value) VALUES ('dropped', 'v')")
            .execute(&mut tx)
            .await
            .unwrap();
    }
    // A write through the pool (its own transaction on the writer) still goes through.
    db::query("INSERT INTO participant (key, value) VALUES ('next', 'v')")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM participant WHERE key = 'dropped'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM participant WHERE key = 'next'").await,
        1
    );
}
