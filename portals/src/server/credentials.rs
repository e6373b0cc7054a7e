//! Logins kept in the participant's database: subscribers at a provider, processing
//! centers at a provider, agents at processing. One table (`credentials`) for every
//! realm; contracts create rows, closing a contract revokes them.

use std::sync::Arc;

use shared::auth::{
    BoxFuture, CredentialStore, Principal, StoreError, VerifiedCache, VerifyError, hash_password,
    verify_password,
};

use crate::server::db::{self, Db, Tx};

/// A realm whose logins live in the `credentials` table.
pub struct DbCredentials {
    pool: Db,
    realm: &'static str,
    cache: VerifiedCache,
}

impl DbCredentials {
    pub fn new(pool: Db, realm: &'static str) -> Arc<Self> {
        Arc::new(DbCredentials {
            pool,
            realm,
            cache: VerifiedCache::default(),
        })
    }

    /// Stores a login made with [`new_credential`] inside the caller's transaction, so the
    /// login exists exactly when the contract it belongs to does.
    pub async fn store(
        &self,
        conn: &mut Tx,
        login: &str,
        subject: &str,
        credential: &NewCredential,
    ) -> Result<(), sqlx::Error> {
        db::query(
            "INSERT INTO credentials (realm, login, password_hash, subject, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.realm)
        .bind(login)
        .bind(&credential.hash)
        .bind(subject)
        .bind(super::clock::now())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Issues a login with a fresh generated password for `subject` (an account, a
    /// contract id) and returns the password — the only time it exists in clear text.
    pub async fn issue(&self, login: &str, subject: &str) -> Result<String, StoreError> {
        let credential = new_credential().await?;
        let failed = |e: sqlx::Error| StoreError(e.to_string());
        let mut tx = self.pool.begin().await.map_err(failed)?;
        self.store(&mut tx, login, subject, &credential)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(credential.password)
    }

    /// Replaces a live login's password with `credential`'s (made with
    /// [`new_credential`]) inside the caller's transaction, so that the change and its
    /// audit entry commit together. False when the login is unknown or revoked.
    ///
    /// The old password stops working once this commits: this process forgets the login,
    /// and any other process serving the same database misses its own cache, because
    /// cached entries are keyed on the stored hash, which has just changed.
    pub async fn rotate(
        &self,
        conn: &mut Tx,
        login: &str,
        credential: &NewCredential,
    ) -> Result<bool, sqlx::Error> {
        let changed = db::query(
            "UPDATE credentials SET password_hash = $1 WHERE realm = $2 AND login = $3 AND revoked_at IS NULL",
        )
        .bind(&credential.hash)
        .bind(self.realm)
        .bind(login)
        .execute(conn)
        .await?
        .rows_affected()
            == 1;
        self.cache.forget(login);
        Ok(changed)
    }

    /// Brings a revoked login back inside the caller's transaction, with a fresh password
    /// (made with [`new_credential`]): the old one, revoked with it, does not come back.
    /// False when the login is unknown or not revoked.
    pub async fn reinstate(
        &self,
        conn: &mut Tx,
        login: &str,
        credential: &NewCredential,
    ) -> Result<bool, sqlx::Error> {
        let changed = db::query(
            "UPDATE credentials SET password_hash = $1, revoked_at = NULL WHERE realm = $2 AND login = $3 AND revoked_at IS NOT NULL",
        )
        .bind(&credential.hash)
        .bind(self.realm)
        .bind(login)
        .execute(conn)
        .await?
        .rows_affected()
            == 1;
        self.cache.forget(login);
        Ok(changed)
    }

    /// Revokes a login inside the caller's transaction; it stops working at once.
    pub async fn revoke(&self, conn: &mut Tx, login: &str) -> Result<(), sqlx::Error> {
        db::query("UPDATE credentials SET revoked_at = $1 WHERE realm = $2 AND login = $3 AND revoked_at IS NULL")
            .bind(super::clock::now())
            .bind(self.realm)
            .bind(login)
            .execute(conn)
            .await?;
        self.cache.forget(login);
        Ok(())
    }
}

/// A generated password and its argon2 hash.
pub struct NewCredential {
    pub password: String,
    hash: String,
}

/// Generates a password and hashes it off the async runtime (hashing takes tens of ms).
pub async fn new_credential() -> Result<NewCredential, StoreError> {
    tokio::task::spawn_blocking(|| {
        let password = shared::auth::generate_password();
        let hash = hash_password(&password)?;
        Ok(NewCredential { password, hash })
    })
    .await
    .map_err(|e| StoreError(e.to_string()))?
}

impl CredentialStore for DbCredentials {
    fn realm(&self) -> &'static str {
        self.realm
    }

    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        Box::pin(async move {
            // The row is read on every request (an indexed lookup, no hashing), so a
            // revoked or changed login stops working at once, in every process.
            let row: Option<(String, String)> = db::query_as(
                "SELECT password_hash, subject FROM credentials WHERE realm = $1 AND login = $2 AND revoked_at IS NULL",
            )
            .bind(self.realm)
            .bind(login)
            .lookup()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
            match row {
                Some((hash, subject)) => self.judge(login, password, &hash, subject).await,
                None => Ok(None),
            }
        })
    }
}

impl DbCredentials {
    /// Whether `password` opens `login`, whose live row (read by the caller on this
    /// request, with anything else it needs from the same read) holds `hash` and
    /// `subject`: the verified cache first, argon2 on a miss.
    pub async fn judge(
        &self,
        login: &str,
        password: &str,
        hash: &str,
        subject: String,
    ) -> Result<Option<Principal>, VerifyError> {
        if let Some(principal) = self.cache.get(login, hash, password) {
            return Ok(Some(principal));
        }
        if !verify_password(password, hash).await? {
            return Ok(None);
        }
        let principal = Principal {
            realm: self.realm,
            login: login.to_owned(),
            subject,
        };
        self.cache.insert(login, hash, password, principal.clone());
        Ok(Some(principal))
    }
}

/// The contract behind the request's login (an agent, a processing contract), read with
/// the login itself and put into the request's extensions by [`WithContract`].
pub struct LoggedIn<T>(pub Arc<T>);

impl<T> Clone for LoggedIn<T> {
    fn clone(&self) -> Self {
        LoggedIn(self.0.clone())
    }
}

/// One row of `SELECT c.password_hash, c.subject, <the contract's columns> FROM credentials c
/// JOIN <contracts> ON … login = c.login`, as a [`WithContract`] reads it.
#[derive(sqlx::FromRow, crate::server::db::LiteRow)]
struct LoginRow<T: crate::server::db::lite::LiteRow> {
    password_hash: String,
    subject: String,
    #[sqlx(flatten)]
    contract: T,
}

/// A realm of [`DbCredentials`] whose check also reads the contract behind the login,
/// in the same statement: every request of the realm's API needs both, and read apart
/// they were two lookups a request. Both are still read on every request, so a changed
/// password, a revoked login or a changed contract counts at once, in every process.
pub struct WithContract<T> {
    pool: Db,
    logins: Arc<DbCredentials>,
    /// The [`LoginRow`] statement: `$1` is the realm, `$2` the login; no row when the
    /// login is not live or no contract has it.
    read: &'static str,
    /// The contract's id, which a login of this realm has as its subject.
    id_of: fn(&T) -> i64,
}

impl<T> WithContract<T> {
    pub fn new(
        pool: Db,
        logins: Arc<DbCredentials>,
        read: &'static str,
        id_of: fn(&T) -> i64,
    ) -> Arc<Self> {
        Arc::new(WithContract {
            pool,
            logins,
            read,
            id_of,
        })
    }
}

impl<T: db::query::Row + Sync + 'static> CredentialStore for WithContract<T> {
    fn realm(&self) -> &'static str {
        self.logins.realm()
    }

    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        self.logins.verify(login, password)
    }

    fn verify_attaching<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
        extensions: &'a mut http::Extensions,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        Box::pin(async move {
            let found: Option<LoginRow<T>> = db::query_as(self.read)
                .bind(self.realm())
                .bind(login)
                .lookup()
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            // A login whose subject is not the contract of the same login (which no
            // contract writes) is checked the plain way; its handlers read the contract
            // by the subject, as without this store.
            let found = found.filter(|f| f.subject.parse::<i64>() == Ok((self.id_of)(&f.contract)));
            let Some(found) = found else {
                return self.logins.verify(login, password).await;
            };
            let principal = self
                .logins
                .judge(login, password, &found.password_hash, found.subject)
                .await?;
            if principal.is_some() {
                extensions.insert(LoggedIn(Arc::new(found.contract)));
            }
            Ok(principal)
        })
    }
}
