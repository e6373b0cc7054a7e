//! Helpers every role's server functions share (server build only).

use std::fmt::Display;

use leptos::prelude::*;

/// The calling role's state, which its router provides to every page and server function.
/// Another participant's server function reached on this one finds none and says so.
pub fn role_state<T: Clone + Send + Sync + 'static>() -> Result<T, ServerFnError> {
    use_context::<T>()
        .ok_or_else(|| ServerFnError::new("this page belongs to another kind of participant"))
}

/// Logs a failure of ours and turns it into the page's error.
pub fn failed(error: impl Display) -> ServerFnError {
    tracing::error!(error = %error, "page request failed");
    ServerFnError::new(error.to_string())
}

/// The login of whoever signed in for this request (the operator's `admin`), for the log
/// lines that record who changed what. The auth gate put it in the request's extensions.
pub fn signed_in_login() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .extensions
                .get::<shared::auth::Principal>()
                .map(|p| p.login.clone())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// An amount typed into a page's form, read as the language the page was shown in writes
/// numbers (`ui::money`); the refusal is in that language too.
pub fn typed_amount(text: &str) -> Result<shared::money::Kopecks, String> {
    let lang = crate::server::ui::request_lang();
    super::money::parse_amount(lang, text).map_err(|e| e.message(lang.t()).to_owned())
}

/// A percent typed with up to two decimals (`1,5` or `1.5`) as basis points (150).
pub fn typed_percent_bp(text: &str) -> Option<u32> {
    let hundredths = typed_amount(text).ok()?;
    u32::try_from(hundredths.get()).ok()
}
