//! Logins kept in the participant's database: subscribers at a provider, processing
//! centers at a provider, agents at processing. One table (`credentials`) for every
//! realm; contracts create rows, closing a contract revokes them.

use std::sync::Arc;

use shared::auth::{
    BoxFuture, CredentialStore, Principal, StoreError, VerifiedCache, hash_password,
    verify_password,
};
use sqlx::SqlitePool;

/// A realm whose logins live in the `credentials` table.
pub struct DbCredentials {
    pool: SqlitePool,
    realm: &'static str,
    cache: VerifiedCache,
}

impl DbCredentials {
    pub fn new(pool: SqlitePool, realm: &'static str) -> Arc<Self> {
        Arc::new(DbCredentials {
            pool,
            realm,
            cache: VerifiedCache::default(),
        })
    }

    /// Issues a login with a fresh generated password for `subject` (an account, a
    /// contract id) and returns the password — the only time it exists in clear text.
    pub async fn issue(&self, login: &str, subject: &str) -> Result<String, StoreError> {
        let password = shared::auth::generate_password();
        let hash = hash_password(&password)?;
        sqlx::query("INSERT INTO credentials (realm, login, password_hash, subject) VALUES ($1, $2, $3, $4)")
            .bind(self.realm)
            .bind(login)
            .bind(hash)
            .bind(subject)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(password)
    }

    /// Revokes a login at once (also from the verified cache).
    pub async fn revoke(&self, login: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE credentials SET revoked_at = CURRENT_TIMESTAMP WHERE realm = $1 AND login = $2",
        )
        .bind(self.realm)
        .bind(login)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError(e.to_string()))?;
        self.cache.forget(login);
        Ok(())
    }
}

impl CredentialStore for DbCredentials {
    fn realm(&self) -> &'static str {
        self.realm
    }

    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, StoreError>> {
        Box::pin(async move {
            // The row is read on every request (an indexed lookup, no hashing), so a
            // revoked or changed login stops working at once, in every process.
            let row: Option<(String, String)> = sqlx::query_as(
                "SELECT password_hash, subject FROM credentials WHERE realm = $1 AND login = $2 AND revoked_at IS NULL",
            )
            .bind(self.realm)
            .bind(login)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
            let Some((hash, subject)) = row else {
                return Ok(None);
            };
            if let Some(principal) = self.cache.get(login, &hash, password) {
                return Ok(Some(principal));
            }
            if !verify_password(password, &hash).await {
                return Ok(None);
            }
            let principal = Principal {
                realm: self.realm,
                login: login.to_owned(),
                subject,
            };
            self.cache.insert(login, &hash, password, principal.clone());
            Ok(Some(principal))
        })
    }
}
