//! HTTP Basic Authentication, one realm per kind of counterpart.
//!
//! A participant answers every path except its public ones (`/healthz`) with a 401 unless
//! the request carries a login/password of the realm that owns that path: the operator on
//! `/api/admin/v1` and the UI, agents on `/api/agent/v1`, subscribers on `/api/usage/v1`,
//! and so on. A [`Gate`] maps path prefixes to the credential stores allowed there;
//! anything it does not know is refused (deny by default), and a login of one realm is
//! worth nothing on another realm's path.
//!
//! Stored passwords are argon2id PHC strings. Argon2 is deliberately slow (tens of
//! milliseconds of CPU), so verified credentials are remembered for a few minutes in a
//! [`VerifiedCache`] under a keyed SHA-256 digest compared in constant time, and at most
//! [`MAX_CONCURRENT_HASHES`] hashes run at once so a password-guessing flood cannot take
//! every core.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::HeaderMap;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// A boxed future, so credential stores can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Argon2 hashes allowed to run at the same time in one process.
pub const MAX_CONCURRENT_HASHES: usize = 2;
/// How long a verified login/password pair is trusted without hashing again.
pub const VERIFIED_TTL: Duration = Duration::from_secs(300);
/// Entries a [`VerifiedCache`] holds before it starts over (a bound on memory).
pub const VERIFIED_CACHE_MAX_ENTRIES: usize = 10_000;
/// Length of generated passwords; 20 characters of a 56-letter alphabet ≈ 116 bits.
pub const GENERATED_PASSWORD_LEN: usize = 20;

static HASH_PERMITS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// Who a request was authenticated as; handlers take it from the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The realm that accepted the credentials: `operator`, `kiosk`, `subscriber`, …
    pub realm: &'static str,
    /// The login as sent.
    pub login: String,
    /// What the login stands for in the realm's own terms (an account, a contract id).
    pub subject: String,
}

/// A credential store could not answer (its database is down, say). Distinct from "wrong
/// password": the request gets a 500, not a 401, and the cause goes to the log.
#[derive(Debug, thiserror::Error)]
#[error("credential store failed: {0}")]
pub struct StoreError(pub String);

/// A set of logins that may use some paths.
pub trait CredentialStore: Send + Sync {
    /// The realm's short name, e.g. `operator`.
    fn realm(&self) -> &'static str;
    /// `Some(principal)` when `login`/`password` are valid here, `None` otherwise.
    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, StoreError>>;
}

/// Hashes a password into an argon2id PHC string for storage.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError(format!("hashing failed: {e}")))
}

/// Checks a password against a stored PHC string, off the async runtime and under the
/// process-wide limit of concurrent hashes. A malformed stored hash verifies nothing.
pub async fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(_permit) = HASH_PERMITS.acquire().await else {
        return false;
    };
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

/// A fresh random password of letters and digits, without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut password = String::with_capacity(GENERATED_PASSWORD_LEN);
    let mut buf = [0u8; 64];
    while password.len() < GENERATED_PASSWORD_LEN {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            // Rejection sampling keeps every letter equally likely.
            let limit = 256 - (256 % ALPHABET.len());
            if usize::from(b) < limit && password.len() < GENERATED_PASSWORD_LEN {
                password.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    password
}

/// The login and password of an `Authorization: Basic …` header, if there is a well-formed one.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_owned(), password.to_owned()))
}

/// Remembers login/password pairs that passed argon2 recently, so that a client sending
/// the same Basic header on every request pays for one hash, not one per request.
pub struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, Verified>>,
}

/// When a login was verified, the digest it was verified with, and who it is.
type Verified = (Instant, [u8; 32], Principal);

impl Default for VerifiedCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        VerifiedCache {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl VerifiedCache {
    fn digest(&self, login: &str, stored_hash: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        for part in [login, stored_hash] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// The principal for this pair if it was verified against `stored_hash` less than
    /// [`VERIFIED_TTL`] ago. Passing the hash as stored *now* means a changed password or
    /// a revoked login (no hash) misses the cache at once, whichever process changed it.
    pub fn get(&self, login: &str, stored_hash: &str, password: &str) -> Option<Principal> {
        let digest = self.digest(login, stored_hash, password);
        let entries = self.entries.lock().ok()?;
        let (verified_at, stored, principal) = entries.get(login)?;
        let fresh = verified_at.elapsed() < VERIFIED_TTL;
        (fresh && bool::from(stored.ct_eq(&digest))).then(|| principal.clone())
    }

    /// Records a pair that just passed argon2.
    pub fn insert(&self, login: &str, stored_hash: &str, password: &str, principal: Principal) {
        let digest = self.digest(login, stored_hash, password);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= VERIFIED_CACHE_MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(login.to_owned(), (Instant::now(), digest, principal));
        }
    }

    /// Forgets a login, e.g. after its password changed or its contract closed.
    pub fn forget(&self, login: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(login);
        }
    }
}

/// A realm with exactly one login, whose password comes from the command line or a file
/// in the data directory: the operator's `admin`, the agent's `kiosk`.
pub struct SingleLogin {
    realm: &'static str,
    login: String,
    phc: String,
    cache: VerifiedCache,
}

impl SingleLogin {
    /// Hashes `password` once, at start-up.
    pub fn new(realm: &'static str, login: &str, password: &str) -> Result<Self, StoreError> {
        Ok(SingleLogin {
            realm,
            login: login.to_owned(),
            phc: hash_password(password)?,
            cache: VerifiedCache::default(),
        })
    }
}

impl CredentialStore for SingleLogin {
    fn realm(&self) -> &'static str {
        self.realm
    }

    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, StoreError>> {
        Box::pin(async move {
            if login != self.login {
                return Ok(None);
            }
            if let Some(principal) = self.cache.get(login, &self.phc, password) {
                return Ok(Some(principal));
            }
            if !verify_password(password, &self.phc).await {
                return Ok(None);
            }
            let principal = Principal {
                realm: self.realm,
                login: login.to_owned(),
                subject: login.to_owned(),
            };
            self.cache
                .insert(login, &self.phc, password, principal.clone());
            Ok(Some(principal))
        })
    }
}

/// Which credential stores may use which paths. Build it with [`Gate::new`], then
/// [`Gate::public`] and [`Gate::protect`]; put it in front of the whole router with
/// `axum::middleware::from_fn_with_state(Arc::new(gate), require_auth)`.
pub struct Gate {
    challenge: http::HeaderValue,
    realm_name: String,
    public_paths: Vec<(http::Method, String)>,
    rules: Vec<(String, Vec<Arc<dyn CredentialStore>>)>,
}

impl Gate {
    /// A gate for one participant; 401s carry `Basic realm="paymesh-<role>"`.
    pub fn new(role: &str) -> Self {
        let realm_name = format!("paymesh-{role}");
        let challenge = http::HeaderValue::from_str(&format!(
            "Basic realm=\"{realm_name}\", charset=\"UTF-8\""
        ))
        .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
        Gate {
            challenge,
            realm_name,
            public_paths: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// A method and exact path anyone may use (only `GET /healthz` in wire.md; a public
    /// GET is public for HEAD too).
    pub fn public(mut self, method: http::Method, path: &str) -> Self {
        self.public_paths.push((method, path.to_owned()));
        self
    }

    /// Paths under `prefix` (segment-wise: `/osmp` covers `/osmp` and `/osmp/x`, not
    /// `/osmpx`) accept any of `stores`. The longest matching prefix wins; register `/` to
    /// cover everything else.
    pub fn protect(mut self, prefix: &str, stores: Vec<Arc<dyn CredentialStore>>) -> Self {
        self.rules
            .push((prefix.trim_end_matches('/').to_owned(), stores));
        self
    }

    /// The stores for `path`, or `None` when the request is public.
    fn stores_for(&self, method: &http::Method, path: &str) -> Option<&[Arc<dyn CredentialStore>]> {
        let is_public = |(m, p): &(http::Method, String)| {
            p == path && (m == method || (*m == http::Method::GET && *method == http::Method::HEAD))
        };
        if self.public_paths.iter().any(is_public) {
            return None;
        }
        let covers = |prefix: &str| {
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        let best = self
            .rules
            .iter()
            .filter(|(prefix, _)| covers(prefix))
            .max_by_key(|(prefix, _)| prefix.len());
        Some(best.map(|(_, stores)| stores.as_slice()).unwrap_or(&[]))
    }

    fn refuse(&self) -> Response {
        let mut response = ApiError::Unauthorized {
            realm: self.realm_name.clone(),
        }
        .into_response();
        response
            .headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, self.challenge.clone());
        response
    }
}

/// The middleware: lets public paths through, and anything else only with credentials of
/// one of the stores that cover the path; the [`Principal`] goes into the extensions.
pub async fn require_auth(
    State(gate): State<Arc<Gate>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(stores) = gate.stores_for(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let Some((login, password)) = basic_credentials(request.headers()) else {
        return gate.refuse();
    };
    for store in stores {
        match store.verify(&login, &password).await {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
                return next.run(request).await;
            }
            Ok(None) => {}
            Err(e) => return ApiError::internal(e).into_response(),
        }
    }
    tracing::info!(login = %login, path = %request.uri().path(), "credentials refused");
    gate.refuse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn basic(login: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"))
        )
    }

    #[test]
    fn generated_passwords_are_long_and_different() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), GENERATED_PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let phc = hash_password("s3cret").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &phc).await);
        assert!(!verify_password("s3creT", &phc).await);
        assert!(!verify_password("s3cret", "not a phc string").await);
    }

    #[test]
    fn parses_basic_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            basic("admin", "pa:ss").parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("admin".into(), "pa:ss".into()))
        );
        for bad in ["Bearer abc", "Basic !!!", "Basic", "Basic YWRtaW4="] {
            headers.insert(http::header::AUTHORIZATION, bad.parse().unwrap());
            assert_eq!(basic_credentials(&headers), None, "{bad}");
        }
    }

    #[test]
    fn cache_matches_only_the_same_password() {
        let cache = VerifiedCache::default();
        let p = Principal {
            realm: "operator",
            login: "admin".into(),
            subject: "admin".into(),
        };
        cache.insert("admin", "$hash1", "right", p.clone());
        assert_eq!(cache.get("admin", "$hash1", "right"), Some(p));
        assert_eq!(cache.get("admin", "$hash1", "wrong"), None);
        assert_eq!(
            cache.get("admin", "$hash2", "right"),
            None,
            "password changed since"
        );
        cache.forget("admin");
        assert_eq!(cache.get("admin", "$hash1", "right"), None);
    }

    async fn status(gate: Arc<Gate>, path: &str, auth: Option<String>) -> (u16, Option<String>) {
        let app = axum::Router::new()
            .fallback(get(|| async { "inside" }))
            .layer(axum::middleware::from_fn_with_state(gate, require_auth));
        let mut request = http::Request::get(path);
        if let Some(auth) = auth {
            request = request.header(http::header::AUTHORIZATION, auth);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), challenge)
    }

    #[tokio::test]
    async fn gate_keeps_realms_apart() {
        let admin: Arc<dyn CredentialStore> =
            Arc::new(SingleLogin::new("operator", "admin", "a-pw").unwrap());
        let kiosk: Arc<dyn CredentialStore> =
            Arc::new(SingleLogin::new("kiosk", "kiosk", "k-pw").unwrap());
        let gate = Arc::new(
            Gate::new("agent")
                .public(http::Method::GET, "/healthz")
                .protect("/", vec![admin.clone()])
                .protect("/api/kiosk/v1", vec![kiosk.clone()])
                .protect("/pkg", vec![admin, kiosk]),
        );
        let a = Some(basic("admin", "a-pw"));
        let k = Some(basic("kiosk", "k-pw"));
        assert_eq!(status(gate.clone(), "/healthz", None).await.0, 200);
        let (code, challenge) = status(gate.clone(), "/", None).await;
        assert_eq!(code, 401);
        assert_eq!(
            challenge.as_deref(),
            Some("Basic realm=\"paymesh-agent\", charset=\"UTF-8\"")
        );
        assert_eq!(status(gate.clone(), "/", a.clone()).await.0, 200);
        assert_eq!(
            status(gate.clone(), "/", k.clone()).await.0,
            401,
            "kiosk login on an operator path"
        );
        assert_eq!(
            status(gate.clone(), "/", Some(basic("admin", "k-pw")))
                .await
                .0,
            401
        );
        assert_eq!(
            status(gate.clone(), "/api/kiosk/v1/catalog", k.clone())
                .await
                .0,
            200
        );
        assert_eq!(
            status(gate.clone(), "/api/kiosk/v1/catalog", a.clone())
                .await
                .0,
            401,
            "operator on kiosk path"
        );
        assert_eq!(
            status(gate.clone(), "/api/kiosk/v1x", k.clone()).await.0,
            401,
            "prefixes match whole segments"
        );
        assert_eq!(status(gate.clone(), "/pkg/paymesh.js", k).await.0, 200);
        assert_eq!(status(gate, "/pkg/paymesh.js", a).await.0, 200);
    }

    #[tokio::test]
    async fn gate_without_rules_refuses_everything_but_public_paths() {
        let gate = Arc::new(Gate::new("consumer").public(http::Method::GET, "/healthz"));
        assert_eq!(
            status(gate.clone(), "/anything", Some(basic("a", "b")))
                .await
                .0,
            401
        );
        assert_eq!(status(gate, "/healthz", None).await.0, 200);
    }

    #[tokio::test]
    async fn public_paths_are_public_for_their_method_only() {
        let gate = Arc::new(Gate::new("consumer").public(http::Method::GET, "/healthz"));
        let app = axum::Router::new()
            .fallback(get(|| async { "inside" }).post(|| async { "posted" }))
            .layer(axum::middleware::from_fn_with_state(gate, require_auth));
        let post = http::Request::post("/healthz").body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(post).await.unwrap().status(), 401);
        let head = http::Request::head("/healthz").body(Body::empty()).unwrap();
        assert_eq!(app.oneshot(head).await.unwrap().status(), 200);
    }
}
