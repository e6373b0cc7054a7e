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
//! [`VerifiedCache`] under a keyed SHA-256 digest compared in constant time. Hashes run
//! on a fixed pool with a bounded queue ([`hash_pool`]): a password-guessing flood can
//! take neither every core nor unbounded memory, and what does not fit is refused with a
//! `503` at once. Failed logins are counted per login and client address, and a login
//! that failed too often from one address is refused with a `429` before any hashing
//! ([`throttle`]).

pub mod hash_pool;
pub mod throttle;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::HeaderMap;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
pub use hash_pool::HashBusy;
use throttle::LoginThrottle;

/// A boxed future, so credential stores can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a verified login/password pair is trusted without hashing again.
pub const VERIFIED_TTL: Duration = Duration::from_secs(300);
/// Entries a [`VerifiedCache`] holds before it starts over (a bound on memory).
pub const VERIFIED_CACHE_MAX_ENTRIES: usize = 10_000;
/// Length of generated passwords; 20 characters of a 56-letter alphabet ≈ 116 bits.
pub const GENERATED_PASSWORD_LEN: usize = 20;

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

/// Why a credential store gave no yes-or-no answer.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store itself failed: a 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password would have to be hashed and the hashing queue is full: a 503 with
    /// `Retry-After`, and not a failed login (the password was never looked at).
    #[error(transparent)]
    Busy(#[from] HashBusy),
}

/// A set of logins that may use some paths.
pub trait CredentialStore: Send + Sync {
    /// The realm's short name, e.g. `operator`.
    fn realm(&self) -> &'static str;
    /// `Some(principal)` when `login`/`password` are valid here, `None` otherwise.
    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>>;

    /// [`verify`](Self::verify), and, when the login is valid, whatever the store read
    /// about it on the way that the request's handlers need too (the contract behind the
    /// login), put into `extensions`: one read of the database where there would be two.
    /// Nothing is put there for a login that is refused. By default, `verify` alone.
    fn verify_attaching<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
        extensions: &'a mut http::Extensions,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        let _ = extensions;
        self.verify(login, password)
    }
}

/// Hashes a password into an argon2id PHC string for storage.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError(format!("hashing failed: {e}")))
}

/// Checks a password against a stored PHC string on the process-wide hashing pool (off
/// the async runtime). A malformed stored hash verifies nothing; a full queue is
/// [`HashBusy`], refused at once, never waited out.
///
/// Concurrent checks of the same password against the same stored hash share one argon2
/// run: a client that opens a hundred connections at once with its (not yet cached)
/// credentials costs one queue slot, not a hundred, and is not refused as a flood.
pub async fn verify_password(password: &str, phc: &str) -> Result<bool, HashBusy> {
    let Some((digest, shared)) = in_flight().join(phc, password) else {
        return hash_once(password, phc).await;
    };
    let result = *shared.get_or_init(|| hash_once(password, phc)).await;
    in_flight().leave(&digest, &shared);
    result
}

/// SHA-256 under a random per-process key, over length-framed parts: how the verified
/// cache, the verifications in flight and the login throttle name a login or a password
/// without keeping it, and without an attacker being able to aim at a digest.
pub(crate) struct SecretDigest {
    key: [u8; 32],
}

impl Default for SecretDigest {
    fn default() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        SecretDigest { key }
    }
}

impl SecretDigest {
    /// The digest of `parts`, each framed by its length so that no two lists collide.
    pub(crate) fn of(&self, parts: &[&str]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The verifications under way, by a secret digest of (stored hash, password).
struct InFlight {
    digest: SecretDigest,
    verifications: Mutex<HashMap<[u8; 32], SharedVerification>>,
}

/// The one argon2 run that concurrent checks of the same credentials wait for.
type SharedVerification = Arc<tokio::sync::OnceCell<Result<bool, HashBusy>>>;

fn in_flight() -> &'static InFlight {
    static IN_FLIGHT: std::sync::OnceLock<InFlight> = std::sync::OnceLock::new();
    IN_FLIGHT.get_or_init(|| InFlight {
        digest: SecretDigest::default(),
        verifications: Mutex::new(HashMap::new()),
    })
}

impl InFlight {
    /// The verification of these credentials to wait for (a new one if none is under
    /// way). `None` if the table is unusable (a poisoned lock): the caller hashes alone.
    /// The table holds only verifications in flight, so it is bounded by the requests a
    /// process serves at once (the connection cap).
    fn join(&self, phc: &str, password: &str) -> Option<([u8; 32], SharedVerification)> {
        let digest = self.digest.of(&[phc, password]);
        let mut verifications = self.verifications.lock().ok()?;
        let shared = verifications.entry(digest).or_default().clone();
        Some((digest, shared))
    }

    /// Forgets a finished verification, so a later request verifies afresh (a changed
    /// stored hash is a different digest anyway).
    fn leave(&self, digest: &[u8; 32], shared: &SharedVerification) {
        if let Ok(mut verifications) = self.verifications.lock()
            && verifications
                .get(digest)
                .is_some_and(|current| Arc::ptr_eq(current, shared))
        {
            verifications.remove(digest);
        }
    }
}

/// One argon2 verification on the hashing pool.
async fn hash_once(password: &str, phc: &str) -> Result<bool, HashBusy> {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    let pending = hash_pool::shared()?.try_run(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })?;
    Ok(pending.wait().await.unwrap_or(false))
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
    digest: SecretDigest,
    entries: Mutex<HashMap<String, Verified>>,
}

/// When a login was verified, the digest it was verified with, and who it is.
type Verified = (Instant, [u8; 32], Principal);

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            digest: SecretDigest::default(),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl VerifiedCache {
    fn digest(&self, login: &str, stored_hash: &str, password: &str) -> [u8; 32] {
        self.digest.of(&[login, stored_hash, password])
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
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        Box::pin(async move {
            if login != self.login {
                return Ok(None);
            }
            if let Some(principal) = self.cache.get(login, &self.phc, password) {
                return Ok(Some(principal));
            }
            if !verify_password(password, &self.phc).await? {
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
    throttle: LoginThrottle,
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
            throttle: LoginThrottle::default(),
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
///
/// A login throttled for the client's address is refused (429) before any store is
/// asked; a refused credential counts against it. The address is the peer's, from the
/// `ConnectInfo<SocketAddr>` extension the serving loop inserts.
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
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Err(retry_after_seconds) = gate.throttle.check(client, &login) {
        return ApiError::TooManyAttempts {
            retry_after_seconds,
        }
        .into_response();
    }
    for store in stores {
        match store
            .verify_attaching(&login, &password, request.extensions_mut())
            .await
        {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
                return next.run(request).await;
            }
            Ok(None) => {}
            Err(VerifyError::Busy(_)) => {
                return ApiError::Overloaded {
                    retry_after_seconds: hash_pool::BUSY_RETRY_AFTER_SECONDS,
                }
                .into_response();
            }
            Err(VerifyError::Store(e)) => return ApiError::internal(e).into_response(),
        }
    }
    let path = request.uri().path();
    match gate.throttle.record_failure(client, &login) {
        Some(lockout) => tracing::warn!(
            login = %login, path = %path, client = ?client,
            lockout_seconds = lockout.as_secs(), "credentials refused; login locked for this address"
        ),
        None => tracing::info!(login = %login, path = %path, "credentials refused"),
    }
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
        assert_eq!(verify_password("s3cret", &phc).await, Ok(true));
        assert_eq!(verify_password("s3creT", &phc).await, Ok(false));
        assert_eq!(
            verify_password("s3cret", "not a phc string").await,
            Ok(false)
        );
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

    /// A store with one login that counts how often it was asked, and can be told to
    /// answer "busy" as a full hashing queue does.
    struct Counting {
        inner: SingleLogin,
        asked: std::sync::atomic::AtomicUsize,
        busy: std::sync::atomic::AtomicBool,
    }

    impl CredentialStore for Counting {
        fn realm(&self) -> &'static str {
            self.inner.realm()
        }
        fn verify<'a>(
            &'a self,
            login: &'a str,
            password: &'a str,
        ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
            use std::sync::atomic::Ordering;
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.busy.load(Ordering::SeqCst) {
                return Box::pin(async { Err(VerifyError::Busy(HashBusy)) });
            }
            self.inner.verify(login, password)
        }
    }

    /// Status, `Retry-After` and error code of one request from `peer` (`None`: no
    /// `ConnectInfo`, as when a router is driven in-process).
    async fn attempt(
        gate: Arc<Gate>,
        peer: Option<[u8; 4]>,
        login: &str,
        password: &str,
    ) -> (u16, Option<u64>, Option<String>) {
        let app = axum::Router::new()
            .fallback(get(|| async { "inside" }))
            .layer(axum::middleware::from_fn_with_state(gate, require_auth));
        let mut request = http::Request::get("/api/admin/v1/participant")
            .header(http::header::AUTHORIZATION, basic(login, password))
            .body(Body::empty())
            .unwrap();
        if let Some(ip) = peer {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
        }
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        (status, retry_after, code)
    }

    fn counting_gate() -> (Arc<Gate>, Arc<Counting>) {
        let store = Arc::new(Counting {
            inner: SingleLogin::new("operator", "admin", "right").unwrap(),
            asked: Default::default(),
            busy: Default::default(),
        });
        let gate = Gate::new("agent").protect("/", vec![store.clone() as Arc<dyn CredentialStore>]);
        (Arc::new(gate), store)
    }

    #[tokio::test]
    async fn ten_failures_then_even_the_right_password_gets_429_without_hashing() {
        use std::sync::atomic::Ordering;
        let (gate, store) = counting_gate();
        let attacker = Some([192, 0, 2, 1]);
        for _ in 0..throttle::MAX_FAILURES {
            assert_eq!(
                attempt(gate.clone(), attacker, "admin", "guess").await.0,
                401
            );
        }
        let asked = store.asked.load(Ordering::SeqCst);
        let (status, retry_after, code) = attempt(gate.clone(), attacker, "admin", "right").await;
        assert_eq!(status, 429, "the right password too, from that address");
        assert!(
            retry_after.is_some_and(|s| (1..=300).contains(&s)),
            "{retry_after:?}"
        );
        assert_eq!(code.as_deref(), Some("too_many_attempts"));
        assert_eq!(
            store.asked.load(Ordering::SeqCst),
            asked,
            "a throttled attempt reaches no store (no argon2)"
        );
        let neighbour = Some([192, 0, 2, 2]);
        assert_eq!(
            attempt(gate.clone(), neighbour, "admin", "right").await.0,
            200
        );
        assert_eq!(
            attempt(gate.clone(), attacker, "someone-else", "x").await.0,
            401,
            "another login from that address is still judged on its password"
        );
    }

    #[tokio::test]
    async fn without_a_peer_address_the_throttle_still_holds() {
        let (gate, _) = counting_gate();
        for _ in 0..throttle::MAX_FAILURES {
            assert_eq!(attempt(gate.clone(), None, "admin", "guess").await.0, 401);
        }
        assert_eq!(attempt(gate.clone(), None, "admin", "right").await.0, 429);
        assert_eq!(
            attempt(gate, Some([192, 0, 2, 3]), "admin", "right")
                .await
                .0,
            200
        );
    }

    /// A client opening many connections at once with credentials not yet cached (a
    /// processing center's burst after a restart) shares one argon2 run: none of its
    /// requests is refused as if it were a flood.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_of_the_same_credentials_share_one_hash() {
        let phc = hash_password("burst-password").unwrap();
        let checks = (0..300).map(|_| {
            let phc = phc.clone();
            tokio::spawn(async move { verify_password("burst-password", &phc).await })
        });
        for check in futures_join(checks.collect()).await {
            assert_eq!(check, Ok(true));
        }
    }

    async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_full_hashing_queue_is_503_and_no_failed_login() {
        use std::sync::atomic::Ordering;
        let (gate, store) = counting_gate();
        let client = Some([192, 0, 2, 1]);
        store.busy.store(true, Ordering::SeqCst);
        for _ in 0..3 * throttle::MAX_FAILURES {
            let (status, retry_after, code) = attempt(gate.clone(), client, "admin", "right").await;
            assert_eq!((status, code.as_deref()), (503, Some("overloaded")));
            assert_eq!(retry_after, Some(hash_pool::BUSY_RETRY_AFTER_SECONDS));
        }
        store.busy.store(false, Ordering::SeqCst);
        assert_eq!(
            attempt(gate, client, "admin", "right").await.0,
            200,
            "busy answers are not failed logins"
        );
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
