//! The subscriber list: a search that folds Russian case and `ё`, sorted on the server by
//! a closed set of columns, paged by keyset; and the keys that make it work.
//!
//! Each subscriber row carries two keys computed in Rust (`server::search_key`):
//! `search_key` (name, e-mail and account, folded, one per line) for the search and
//! `name_key` (the folded name) for the order by name. The statements that write the
//! fields write the keys with them ([`write_keys`], in the same transaction). Rows from
//! before the keys existed have `search_key` NULL: [`fill_search_keys`] fills them at
//! start-up, and until it has, the search matches those rows by their raw columns (as
//! before: ASCII case only), so none drops out of a search meanwhile.

use crate::provider::listing::SubscriberSort;
use crate::provider::model::SubscriberRow;
use crate::server::db::{self, Db, Exec};
use crate::server::listing::Cursor;
use crate::server::search_key::{contains_pattern, fold, key_of};
use crate::ui::sort::SortDir;

/// What one request of the list asks for, checked.
#[derive(Debug, Clone)]
pub struct SubscriberQuery {
    /// The search as typed (folded here); empty: every subscriber.
    pub q: String,
    pub sort: SubscriberSort,
    pub dir: SortDir,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// A subscriber with its name key: the cursor of a list sorted by name.
#[derive(Debug, Clone, sqlx::FromRow, crate::server::db::LiteRow)]
pub struct ListedSubscriber {
    #[sqlx(flatten)]
    pub row: SubscriberRow,
    pub name_key: String,
}

impl ListedSubscriber {
    /// The cursor that starts the page after this row, in `sort`'s order.
    fn cursor(&self, sort: SubscriberSort) -> Cursor {
        let row = &self.row;
        match sort {
            SubscriberSort::Created => Cursor::new(row.id, row.id),
            SubscriberSort::Account => Cursor::new(row.id, &row.account),
            SubscriberSort::Name => Cursor::new(row.id, &self.name_key),
            SubscriberSort::Balance => Cursor::new(row.id, row.balance),
        }
    }
}

/// The column a sort orders by, as SQL this module wrote (never text from a request),
/// and whether its key is a number.
fn order_column(sort: SubscriberSort) -> (&'static str, bool) {
    match sort {
        SubscriberSort::Created => ("id", true),
        SubscriberSort::Account => ("account", false),
        SubscriberSort::Name => ("name_key", false),
        SubscriberSort::Balance => ("balance", true),
    }
}

/// The statement of one page: the search, the keyset condition (`after`: whether there is
/// a cursor) and the order. The page after a cursor is a separate statement rather than
/// `($4 IS NULL OR …)`: with that wrapper SQLite walks the index from its start instead of
/// seeking to the cursor (a page deep in 100 000 subscribers by name: 9 ms against
/// 0.15 ms, docs/provider.md).
fn page_sql(sort: SubscriberSort, dir: SortDir, after: bool) -> String {
    let (column, _) = order_column(sort);
    let (op, order) = (dir.after_sql(), dir.sql());
    let keyset = if after {
        format!("AND ({column} {op} $4 OR ({column} = $4 AND id {op} $5))")
    } else {
        String::new()
    };
    format!(
        "SELECT id, account, full_name, passport, email, services, balance, status, created_at,
                updated_at, closed_at, name_key
         FROM subscribers
         WHERE ($1 IS NULL OR search_key LIKE $1 ESCAPE '\\'
                OR (search_key IS NULL AND (account LIKE $2 ESCAPE '\\' OR full_name LIKE $2 ESCAPE '\\'
                                            OR email LIKE $2 ESCAPE '\\')))
           {keyset}
         ORDER BY {column} {order}, id {order}
         LIMIT $3"
    )
}

/// One page of the list and, when more rows follow, the cursor of the next page.
pub async fn page(
    pool: &Db,
    query: &SubscriberQuery,
) -> Result<(Vec<SubscriberRow>, Option<Cursor>), sqlx::Error> {
    let typed = query.q.trim();
    let (_, numeric) = order_column(query.sort);
    let sql = page_sql(query.sort, query.dir, query.after.is_some());
    // One more than a page: whether a next page exists, without counting them all.
    let statement = db::query_as::<ListedSubscriber>(sqlx::AssertSqlSafe(sql))
        .bind(contains_pattern(&fold(typed)))
        .bind(contains_pattern(typed))
        .bind(query.limit + 1);
    let statement = match (&query.after, numeric) {
        (None, _) => statement,
        // A number key that is not a number matches nothing rather than everything.
        (Some(cursor), true) => statement
            .bind(cursor.int_key().unwrap_or(i64::MAX))
            .bind(cursor.id),
        (Some(cursor), false) => statement.bind(cursor.key.clone()).bind(cursor.id),
    };
    let mut rows = statement.fetch_all(pool).await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(usize::try_from(query.limit).unwrap_or(0));
    let next = rows
        .last()
        .filter(|_| more)
        .map(|last| last.cursor(query.sort));
    Ok((rows.into_iter().map(|l| l.row).collect(), next))
}

/// The keys of a subscriber: (`name_key`, `search_key`).
pub fn keys(full_name: &str, email: &str, account: &str) -> (String, String) {
    (fold(full_name), key_of(&[full_name, email, account]))
}

/// Writes subscriber `id`'s keys from its fields, in the transaction that wrote them.
pub async fn write_keys<'a>(
    on: impl Into<Exec<'a>>,
    id: i64,
    full_name: &str,
    email: &str,
    account: &str,
) -> Result<(), sqlx::Error> {
    let (name_key, search_key) = keys(full_name, email, account);
    db::query("UPDATE subscribers SET name_key = $1, search_key = $2 WHERE id = $3")
        .bind(name_key)
        .bind(search_key)
        .bind(id)
        .execute(on)
        .await
        .map(|_| ())
}

/// Rows one fill step reads and writes in one transaction.
const FILL_BATCH: i64 = 500;

/// Computes the keys of every row that has none (rows from before migration 0007 /
/// PostgreSQL 0004), a batch per transaction; the number of rows filled. Safe beside
/// traffic and beside another process doing the same: a row's keys are written only while
/// still NULL, so a change that wrote fresh keys meanwhile is never overwritten with keys
/// of the old fields.
pub async fn fill_search_keys(pool: &Db) -> Result<u64, sqlx::Error> {
    let mut filled = 0;
    let mut after = 0;
    loop {
        let rows: Vec<(i64, String, String, String)> = db::query_as(
            "SELECT id, full_name, email, account FROM subscribers
             WHERE search_key IS NULL AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(FILL_BATCH)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(filled);
        };
        after = last.0;
        let mut tx = pool.begin().await?;
        for (id, full_name, email, account) in &rows {
            let (name_key, search_key) = keys(full_name, email, account);
            filled += db::query(
                "UPDATE subscribers SET name_key = $1, search_key = $2
                 WHERE id = $3 AND search_key IS NULL",
            )
            .bind(name_key)
            .bind(search_key)
            .bind(*id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
}

/// Runs [`fill_search_keys`] in the background at start-up and logs what it did: the
/// portal answers at once (the search covers unfilled rows meanwhile, see the module).
pub fn spawn_fill(pool: Db) {
    tokio::spawn(async move {
        match fill_search_keys(&pool).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "subscribers' search keys filled"),
            Err(e) => {
                tracing::error!(error = %e, "filling subscribers' search keys failed; the next start tries again")
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_names_its_own_column_and_direction() {
        for &sort in <SubscriberSort as crate::ui::sort::SortColumn>::ALL {
            for dir in [SortDir::Asc, SortDir::Desc] {
                let (column, _) = order_column(sort);
                let order = format!("ORDER BY {column} {}, id {}", dir.sql(), dir.sql());
                let first = page_sql(sort, dir, false);
                assert!(first.contains(&order), "{first}");
                assert!(
                    !first.contains("$4"),
                    "the first page has no cursor: {first}"
                );
                let after = page_sql(sort, dir, true);
                assert!(after.contains(&order), "{after}");
                assert!(
                    after.contains(&format!("{column} {} $4 OR", dir.after_sql())),
                    "{after}"
                );
            }
        }
    }

    #[test]
    fn keys_fold_the_name_and_keep_the_fields_apart() {
        let (name, search) = keys("Пётр  ИВАНОВ", "Petr@Mail.RU", "9161234567");
        assert_eq!(name, "петр иванов");
        assert_eq!(search, "петр иванов\npetr@mail.ru\n9161234567");
    }
}
