//! Payments counted into time buckets whose bounds Rust worked out (local days and hours,
//! `server::local_time`): one portable statement, a `CASE` over the bound instants, so
//! SQLite and PostgreSQL bucket alike and neither needs time-zone functions.

use super::clock::Stamp;
use super::db::{self, Db};

/// The most buckets one statement takes (a chart's bars; a bind per bucket).
pub const BUCKETS_MAX: usize = 64;

/// Rows of `payments` (with `filter`, a fixed SQL condition such as
/// `status = 'completed'`) counted per bucket: bucket `i` runs from `starts[i]` to
/// `starts[i + 1]`, the last one open-ended. Returns `(count, sum of amount)` per bucket,
/// in the order of `starts` (ascending), every bucket present.
pub async fn payments_per_bucket(
    pool: &Db,
    filter: &'static str,
    starts: &[Stamp],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let starts = &starts[..starts.len().min(BUCKETS_MAX)];
    let mut tally = vec![(0, 0); starts.len()];
    if starts.is_empty() {
        return Ok(tally);
    }
    // Newest bound first: the first `WHEN` an instant passes is its bucket.
    let cases: String = (1..starts.len())
        .rev()
        .map(|i| format!("WHEN created_at >= ${} THEN {i} ", i + 1))
        .collect();
    let sql = format!(
        "SELECT CAST(CASE {cases}ELSE 0 END AS BIGINT) AS bucket,
                CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT)
         FROM payments WHERE {filter} AND created_at >= $1 GROUP BY 1"
    );
    let mut query = db::query_as::<(i64, i64, i64)>(sqlx::AssertSqlSafe(sql));
    for start in starts {
        query = query.bind(*start);
    }
    for (bucket, count, amount) in query.fetch_all(pool).await? {
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|b| tally.get_mut(b)) {
            *slot = (count, amount);
        }
    }
    Ok(tally)
}
