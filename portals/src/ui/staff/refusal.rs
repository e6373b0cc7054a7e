//! What a page says when a server function failed: a refusal by the signed-in login's
//! role in the page's language (the server answers such a call `403` with the code
//! [`FORBIDDEN_ROLE`], `server::staff::access`), any other failure as it came.

use leptos::prelude::*;

use super::texts::texts;

/// The error text of a page's server function refused by role.
pub const FORBIDDEN_ROLE: &str = "forbidden_role";

/// Whether the call was refused because the login's role may not do it.
pub fn is_forbidden_role(error: &ServerFnError) -> bool {
    matches!(error, ServerFnError::ServerError(code) if code == FORBIDDEN_ROLE)
}

/// The line a page shows for a failed action: `failed` (the page's "it failed" word) and
/// the error, or the refusal by role alone.
pub fn failure_text(failed: &str, error: &ServerFnError) -> String {
    if is_forbidden_role(error) {
        texts().refused.to_owned()
    } else {
        format!("{failed}: {error}")
    }
}

/// A failed action's line, marked for tests and assistive technology alike.
#[component]
pub fn Failure(failed: &'static str, error: ServerFnError) -> impl IntoView {
    let refused = is_forbidden_role(&error).then_some("role");
    view! {
        <p class="error" role="alert" data-refused=refused>{failure_text(failed, &error)}</p>
    }
}
