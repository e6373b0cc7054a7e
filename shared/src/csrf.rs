//! Cross-site request forgery protection for Basic-authenticated pages.
//!
//! A browser that once logged in to a portal sends the Basic credentials by itself on
//! every later request to that origin — including a form POST that another site's page
//! makes it send. So every state-changing request (anything but GET, HEAD, OPTIONS) from a
//! browser must come from the portal's own origin:
//!
//! * `Sec-Fetch-Site` (sent by every current browser) must be `same-origin` or `none`
//!   (typed by the user). `same-site` is refused too: other participants run on other
//!   ports of the same host, which is the same *site*.
//! * Otherwise, an `Origin` header must name this host (`http(s)://<Host>`); `null` is refused.
//! * A request with neither header is not from a browser (curl, another participant's
//!   HTTP client) and cannot be forged cross-site; it passes.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method};

use crate::error::ApiError;

/// The middleware; put it inside the auth gate on the whole router.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if is_cross_site(request.method(), request.headers()) {
        tracing::warn!(
            method = %request.method(),
            path = %request.uri().path(),
            origin = ?request.headers().get(http::header::ORIGIN),
            "cross-site request refused"
        );
        return ApiError::CrossSite.into_response();
    }
    next.run(request).await
}

/// Whether a request must be refused as a possible forgery.
pub fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let Ok(origin) = origin.to_str() else {
            return true;
        };
        let Some(host) = host else { return true };
        let bare = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return bare != Some(host);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_are_never_refused() {
        assert!(!is_cross_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
    }

    #[test]
    fn browser_writes_must_be_same_origin() {
        let post = Method::POST;
        assert!(!is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "same-site")])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_cross_site(
            &post,
            &headers(&[
                ("origin", "http://127.0.0.1:8402"),
                ("host", "127.0.0.1:8402")
            ])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[
                ("origin", "http://127.0.0.1:8401"),
                ("host", "127.0.0.1:8402")
            ])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("origin", "null"), ("host", "127.0.0.1:8402")])
        ));
        assert!(is_cross_site(
            &Method::DELETE,
            &headers(&[("origin", "http://evil.example"), ("host", "a")])
        ));
    }

    #[test]
    fn non_browser_clients_pass() {
        assert!(!is_cross_site(&Method::POST, &HeaderMap::new()));
    }
}
