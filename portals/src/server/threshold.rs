//! Money thresholds a participant's administrator sets for its dashboard: processing's
//! low agent deposit, the provider's low subscriber balance. Each lives in the
//! `participant` key/value table under its key (kopecks as text), with a default until
//! someone sets it; a change is written with its audit entry (`setting_changed`, before
//! and after in roubles) in one transaction.
//!
//! `GET|PUT /api/admin/v1/settings/thresholds` reads and sets the participant's one
//! threshold as `{"<key>": <kopecks>}` (docs/dashboards.md). Setting is an
//! administrator's (server::staff::access: a change not listed as an operator's).

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};
use shared::auth::Principal;
use shared::error::ApiError;
use shared::extract::JsonBody;
use shared::money::Kopecks;

use crate::server::audit::{self, AuditKind, Change};
use crate::server::db::{self, Db};

/// The largest threshold anyone may set: 10 000 000 ₽, far above any deposit or balance
/// worth watching, and far below where sums of kopecks could overflow.
pub const THRESHOLD_MAX: Kopecks = Kopecks::new(1_000_000_000);

/// One participant's threshold: where it is kept and what it is when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// The `participant` key and the JSON field name.
    pub key: &'static str,
    /// The audit entry's object (the audit page names it in words: ui::staff::texts).
    pub object: &'static str,
    pub default: Kopecks,
}

/// A threshold typed or sent, checked: from 0 (only what is below zero is listed) to
/// [`THRESHOLD_MAX`]; the refusal names `field`.
pub fn checked(field: &str, value: Kopecks) -> Result<Kopecks, ApiError> {
    if value < Kopecks::ZERO {
        return Err(ApiError::field(field, "zero or more"));
    }
    if value > THRESHOLD_MAX {
        return Err(ApiError::field(
            field,
            format!(
                "at most {THRESHOLD_MAX} roubles ({} kopecks)",
                THRESHOLD_MAX.get()
            ),
        ));
    }
    Ok(value)
}

/// The threshold as set, or its default; a stored value that does not read as a number in
/// bounds (a hand edit) is the default too.
pub async fn read(pool: &Db, threshold: &Threshold) -> Result<Kopecks, sqlx::Error> {
    let set: Option<(String,)> = db::query_as("SELECT value FROM participant WHERE key = $1")
        .bind(threshold.key)
        .fetch_optional(pool)
        .await?;
    Ok(set
        .and_then(|(value,)| value.trim().parse::<i64>().ok())
        .and_then(|kopecks| checked(threshold.key, Kopecks::new(kopecks)).ok())
        .unwrap_or(threshold.default))
}

/// Sets `threshold` to `value` (already [`checked`]) with the audit entry naming `by`, in
/// one transaction; setting the value it has records nothing.
pub async fn set(
    pool: &Db,
    threshold: &Threshold,
    value: Kopecks,
    by: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The write first: SQLite takes its write lock at once, so two administrators saving
    // at the same time each see the other's value as "before".
    let before: Option<(String,)> =
        db::query_as("UPDATE participant SET value = value WHERE key = $1 RETURNING value")
            .bind(threshold.key)
            .fetch_optional(&mut tx)
            .await?;
    let before = before
        .and_then(|(v,)| v.trim().parse::<i64>().ok())
        .map_or(threshold.default, Kopecks::new);
    db::query(
        "INSERT INTO participant (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = $2",
    )
    .bind(threshold.key)
    .bind(value.get().to_string())
    .execute(&mut tx)
    .await?;
    if before != value {
        let state = |amount: Kopecks| serde_json::json!({ threshold.key: amount.to_string() });
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::SettingChanged, threshold.object)
                .before(&state(before))
                .after(&state(value)),
        )
        .await?;
    }
    tx.commit().await
}

/// The endpoint pair for one participant's `threshold`.
pub fn router(pool: Db, threshold: &'static Threshold) -> Router {
    Router::new()
        .route(
            "/api/admin/v1/settings/thresholds",
            get(get_threshold).put(put_threshold),
        )
        .with_state((pool, threshold))
}

type Shared = (Db, &'static Threshold);

fn body(threshold: &Threshold, value: Kopecks) -> Json<Value> {
    let mut object = Map::new();
    object.insert(threshold.key.to_owned(), Value::from(value.get()));
    Json(Value::Object(object))
}

async fn get_threshold(State((pool, threshold)): State<Shared>) -> Result<Json<Value>, ApiError> {
    let value = read(&pool, threshold).await.map_err(ApiError::internal)?;
    Ok(body(threshold, value))
}

/// `{"<key>": <kopecks>}`, a whole number; anything else is `422` naming the field, and
/// nothing is written.
async fn put_threshold(
    State((pool, threshold)): State<Shared>,
    Extension(principal): Extension<Principal>,
    JsonBody(request): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let kopecks = request
        .get(threshold.key)
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::field(threshold.key, "a whole number of kopecks"))?;
    let value = checked(threshold.key, Kopecks::new(kopecks))?;
    set(&pool, threshold, value, &principal.login)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(key = threshold.key, kopecks, by = %principal.login, "threshold changed");
    Ok(body(threshold, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_bounded_and_not_negative() {
        assert_eq!(checked("t", Kopecks::ZERO).ok(), Some(Kopecks::ZERO));
        assert_eq!(checked("t", THRESHOLD_MAX).ok(), Some(THRESHOLD_MAX));
        assert!(checked("t", Kopecks::new(-1)).is_err());
        assert!(checked("t", Kopecks::new(THRESHOLD_MAX.get() + 1)).is_err());
    }
}
