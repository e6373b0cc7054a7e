//! Creating, disabling and listing staff logins. Each change writes its audit entry in
//! the same transaction.

use std::sync::Arc;

use shared::auth::StoreError;
use shared::error::ApiError;

use super::StaffRole;
use crate::server::audit::{self, AuditKind, Change};
use crate::server::clock::Stamp;
use crate::server::credentials::{DbCredentials, new_credential};
use crate::server::db::{self, Db};
use crate::ui::staff::model::{IssuedStaffAccount, StaffAccount};

/// Longest staff login.
pub const MAX_LOGIN_LEN: usize = 32;

/// Why a staff change was refused.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(
        "a login is 2 to 32 lower-case Latin letters, digits, dots, dashes or underscores, starting with a letter"
    )]
    BadLogin,
    #[error("this login is taken")]
    Taken,
    #[error("no staff login {0}")]
    NotFound(String),
    #[error("the admin of the password file cannot be disabled here")]
    FileAdmin,
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] StoreError),
}

impl From<StaffError> for ApiError {
    fn from(e: StaffError) -> ApiError {
        match e {
            StaffError::BadLogin | StaffError::Taken => ApiError::field("login", e.to_string()),
            StaffError::FileAdmin => ApiError::field("login", e.to_string()),
            StaffError::NotFound(login) => ApiError::NotFound {
                what: format!("staff login {login}"),
            },
            StaffError::Store(e) => ApiError::internal(e),
            StaffError::Hash(e) => ApiError::internal(e),
        }
    }
}

/// Whether `login` may name a staff account: short, plain, and never `admin`.
pub fn valid_login(login: &str) -> bool {
    let mut chars = login.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    (2..=MAX_LOGIN_LEN).contains(&login.len())
        && starts_with_letter
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && login != crate::server::ADMIN_LOGIN
}

/// The staff logins of one participant, and its audit log.
pub struct StaffDirectory {
    pool: Db,
    logins: Arc<DbCredentials>,
}

type AccountRow = (String, String, Stamp, Option<Stamp>);

fn account((login, subject, created_at, revoked_at): AccountRow) -> StaffAccount {
    StaffAccount {
        login,
        role: StaffRole::parse(&subject).unwrap_or(StaffRole::Viewer),
        created_at: created_at.to_string(),
        disabled_at: revoked_at.map(|s| s.to_string()),
    }
}

impl StaffDirectory {
    pub fn new(pool: Db, logins: Arc<DbCredentials>) -> Self {
        StaffDirectory { pool, logins }
    }

    pub fn pool(&self) -> &Db {
        &self.pool
    }

    /// Every staff login, enabled first, then by login.
    pub async fn list(&self) -> Result<Vec<StaffAccount>, sqlx::Error> {
        let rows: Vec<AccountRow> = db::query_as(
            "SELECT login, subject, created_at, revoked_at FROM credentials WHERE realm = $1
             ORDER BY revoked_at IS NOT NULL, login",
        )
        .bind(super::OPERATOR_REALM)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(account).collect())
    }

    async fn find(&self, login: &str) -> Result<Option<StaffAccount>, sqlx::Error> {
        let row: Option<AccountRow> = db::query_as(
            "SELECT login, subject, created_at, revoked_at FROM credentials WHERE realm = $1 AND login = $2",
        )
        .bind(super::OPERATOR_REALM)
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(account))
    }

    /// Creates `login` with `role` and a generated password, returned once. A login
    /// used before (even disabled) stays taken: the audit log names it.
    pub async fn create(
        &self,
        by: &str,
        login: &str,
        role: StaffRole,
    ) -> Result<IssuedStaffAccount, StaffError> {
        let login = login.trim();
        if !valid_login(login) {
            return Err(StaffError::BadLogin);
        }
        if self.find(login).await?.is_some() {
            return Err(StaffError::Taken);
        }
        let credential = new_credential().await?;
        let mut tx = self.pool.begin().await?;
        self.logins
            .store(&mut tx, login, role.as_str(), &credential)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StaffError::Taken,
                _ => StaffError::Store(e),
            })?;
        let after = serde_json::json!({"login": login, "role": role});
        audit::record(
            &mut tx,
            Change::new(by, AuditKind::StaffCreated, format!("staff {login}")).after(&after),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(login, role = role.as_str(), by, "staff login created");
        Ok(IssuedStaffAccount {
            login: login.to_owned(),
            role,
            password: credential.password,
        })
    }

    /// Disables `login`: it stops working at once, in every process. Disabling a
    /// disabled login changes nothing and records nothing.
    pub async fn disable(&self, by: &str, login: &str) -> Result<StaffAccount, StaffError> {
        if login == crate::server::ADMIN_LOGIN {
            return Err(StaffError::FileAdmin);
        }
        let current = self
            .find(login)
            .await?
            .ok_or_else(|| StaffError::NotFound(login.to_owned()))?;
        if current.disabled_at.is_none() {
            let mut tx = self.pool.begin().await?;
            self.logins.revoke(&mut tx, login).await?;
            let before = serde_json::json!({"login": login, "role": current.role, "enabled": true});
            let after = serde_json::json!({"login": login, "role": current.role, "enabled": false});
            audit::record(
                &mut tx,
                Change::new(by, AuditKind::StaffDisabled, format!("staff {login}"))
                    .before(&before)
                    .after(&after),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(login, by, "staff login disabled");
        }
        self.find(login)
            .await?
            .ok_or_else(|| StaffError::NotFound(login.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_plain_and_never_admin() {
        for good in ["anna", "cashier.2", "v_petrov", "op-1"] {
            assert!(valid_login(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "admin",
            "Anna",
            "1anna",
            "анна",
            "a b",
            &"x".repeat(33),
        ] {
            assert!(!valid_login(bad), "{bad}");
        }
    }
}
