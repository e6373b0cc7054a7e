//! Which staff role a request needs, and the middleware that refuses the others with
//! `403 forbidden_role`. One table for every participant, deny by default: a request
//! that reads (GET/HEAD, or a page's listed read-only server function) needs a viewer;
//! the money operations listed in [`OPERATOR_ACTIONS`] need an operator; anything else
//! that changes state — contracts, credentials, tariffs, fees, settings, staff, and any
//! action added later and not listed here — needs an administrator. The matrix is in
//! docs/security.md "Staff roles".

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;
use shared::auth::Principal;
use shared::error::ApiError;

use super::{OPERATOR_REALM, StaffRole, role_of};

/// Leptos server functions live under this prefix (`#[server(prefix = "/ui", …)]`).
const SERVER_FN_PREFIX: &str = "/ui/";

/// Server functions that only read: a viewer may call them. Pages load their data
/// through these with a POST, so the method alone cannot tell.
pub const READ_ONLY_SERVER_FNS: &[&str] = &[
    "provider/transactions",
    "provider/gateway-log",
    "provider/outbox",
    "provider/contract",
    "provider/contracts",
    "provider/tariffs",
    "provider/subscribers",
    "provider/subscriber",
    "consumer/contracts",
    "agent/unresolved-cash",
    "agent/cash-box",
    "agent/status",
    "agent/contract",
    "agent/payments",
    "agent/fee",
    "processing/ledger",
    "processing/payments",
    "processing/providers",
    "processing/agents",
    "processing/payment-choices",
    "processing/payment-detail",
    "provider/dashboard",
    "processing/dashboard",
    "agent/dashboard",
    "consumer/dashboard",
    "consumer/history",
    "consumer/subscriber",
    "staff/audit",
    "staff/accounts",
    "staff/whoami",
    "provider/zone",
    "processing/zone",
    "agent/payment",
];

/// Server functions only an administrator may call (every change not an operator's).
/// Listed, not assumed, so that the test below catches a new server function nobody
/// has classified; one missing here is still an administrator's (deny by default).
pub const ADMINISTRATOR_SERVER_FNS: &[&str] = &[
    "provider/contract-fields",
    "provider/issue-contract",
    "provider/contract-status",
    "provider/payments-switch",
    "provider/set-tariffs",
    "provider/contract-access",
    "processing/provider-credentials",
    "consumer/add",
    "consumer/edit",
    "consumer/delete",
    "consumer/use",
    "agent/save-contract",
    "agent/save-fee",
    "processing/agent-status",
    "processing/agent-credentials",
    "processing/create-provider",
    "processing/provider-active",
    "processing/create-agent",
    "staff/create",
    "staff/disable",
    "processing/save-threshold",
    "provider/save-threshold",
];

/// Money operations and day-to-day work an operator (cashier) may do: (method, path
/// pattern), `{}` standing for one segment; `*` as the method for any that changes.
pub const OPERATOR_ACTIONS: &[(&str, &str)] = &[
    // processing: balance top-ups, probing a provider, reconciling a registry.
    ("POST", "/api/admin/v1/agents/{}/topups"),
    ("POST", "/api/admin/v1/providers/{}/test"),
    ("POST", "/ui/processing/topup"),
    ("POST", "/ui/processing/test-provider"),
    ("POST", "/ui/processing/registry"),
    // processing: "retry now" of a pending payment (the retrier sends it).
    ("POST", "/api/admin/v1/payments/{}/retry"),
    ("POST", "/ui/processing/retry-payment"),
    // agent: unresolved cash, encashments, a sync with processing.
    ("POST", "/api/admin/v1/unresolved-cash/{}/pay-again"),
    ("POST", "/api/admin/v1/unresolved-cash/{}/refund"),
    ("POST", "/api/admin/v1/unresolved-cash/{}/write-off"),
    ("POST", "/api/admin/v1/encashments"),
    ("POST", "/api/admin/v1/sync"),
    ("POST", "/ui/agent/claim-pay-again"),
    ("POST", "/ui/agent/claim-refund"),
    ("POST", "/ui/agent/claim-write-off"),
    ("POST", "/ui/agent/encashment"),
    ("POST", "/ui/agent/sync"),
    // provider: subscribers' contracts, their reports and mail.
    ("*", "/api/admin/v1/subscribers"),
    ("*", "/api/admin/v1/subscribers/{}"),
    ("POST", "/api/admin/v1/subscribers/{}/report"),
    ("POST", "/api/admin/v1/mail/{}/retry"),
    ("POST", "/ui/provider/sign"),
    ("POST", "/ui/provider/change"),
    ("POST", "/ui/provider/close"),
    ("POST", "/ui/provider/mail-report"),
    ("POST", "/ui/provider/mail-retry"),
];

/// Whether `path` matches `pattern` segment by segment (`{}` matches any one segment).
fn matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.trim_end_matches('/').split('/');
    let mut path = path.trim_end_matches('/').split('/');
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some("{}"), Some(segment)) if !segment.is_empty() => {}
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return false,
        }
    }
}

/// The least role that may make this request.
pub fn needed_role(method: &Method, path: &str) -> StaffRole {
    if let Some(endpoint) = path.strip_prefix(SERVER_FN_PREFIX)
        && READ_ONLY_SERVER_FNS.contains(&endpoint.trim_end_matches('/'))
    {
        return StaffRole::Viewer;
    }
    if !path.starts_with(SERVER_FN_PREFIX)
        && matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
    {
        return StaffRole::Viewer;
    }
    let operator_may = OPERATOR_ACTIONS
        .iter()
        .any(|(m, pattern)| (*m == "*" || *m == method.as_str()) && matches(pattern, path));
    if operator_may {
        StaffRole::Operator
    } else {
        StaffRole::Administrator
    }
}

/// The middleware (after the auth gate): an operator-realm login whose role is below
/// what the request needs is refused before the handler runs. Other realms (kiosks,
/// subscribers, processing centers) are not staff and pass untouched.
pub async fn enforce_role(request: Request, next: Next) -> Response {
    let Some(principal) = request
        .extensions()
        .get::<Principal>()
        .filter(|p| p.realm == OPERATOR_REALM)
    else {
        return next.run(request).await;
    };
    let role = role_of(principal);
    let needed = needed_role(request.method(), request.uri().path());
    if role >= needed {
        return next.run(request).await;
    }
    tracing::info!(login = %principal.login, role = role.as_str(), needed = needed.as_str(),
        method = %request.method(), path = %request.uri().path(), "refused by staff role");
    if request.uri().path().starts_with(SERVER_FN_PREFIX) {
        return refused_server_fn();
    }
    ApiError::ForbiddenRole {
        role: role.as_str(),
        needed: needed.as_str(),
    }
    .into_response()
}

/// A page's server function refused by role: still `403`, with a body in the server
/// functions' own error encoding, so the page's client decodes it as
/// `ServerFnError::ServerError("forbidden_role")` and says so in its language
/// (`ui::staff::refusal`) rather than showing a JSON body it cannot read.
fn refused_server_fn() -> Response {
    use leptos::prelude::ServerFnError;
    use leptos::server_fn::error::FromServerFnError;
    let refused: ServerFnError =
        ServerFnError::ServerError(crate::ui::staff::refusal::FORBIDDEN_ROLE.to_owned());
    let body = refused.ser();
    (
        http::StatusCode::FORBIDDEN,
        [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_a_viewer_money_an_operator_the_rest_an_administrator() {
        use StaffRole::{Administrator, Operator, Viewer};
        let cases = [
            (Method::GET, "/tariffs", Viewer),
            (Method::GET, "/api/admin/v1/audit.csv", Viewer),
            (Method::POST, "/ui/provider/tariffs", Viewer),
            (Method::POST, "/ui/provider/set-tariffs", Administrator),
            (Method::PUT, "/api/admin/v1/tariffs", Administrator),
            (Method::POST, "/api/admin/v1/agents/3/topups", Operator),
            (
                Method::POST,
                "/api/admin/v1/agents/3/credentials",
                Administrator,
            ),
            (Method::POST, "/api/admin/v1/agents//topups", Administrator),
            (
                Method::DELETE,
                "/api/admin/v1/subscribers/9161234567",
                Operator,
            ),
            (Method::POST, "/api/admin/v1/staff", Administrator),
            // Deny by default: an action nobody classified needs an administrator.
            (Method::POST, "/ui/some/new-action", Administrator),
        ];
        for (method, path, role) in cases {
            assert_eq!(needed_role(&method, path), role, "{method} {path}");
        }
    }

    /// Every operator-realm server function in the source is classified: read-only
    /// (viewers), an operator's, or an administrator's. A new one fails here until it is
    /// put in one of the lists — otherwise a viewer's page would break on a read.
    #[test]
    fn every_server_function_is_classified() {
        fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut unclassified = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for attribute in text.split("#[server(").skip(1) {
                let attribute = attribute.split(')').next().unwrap_or_default();
                if !attribute.contains("prefix = \"/ui\"") {
                    continue; // the kiosk's functions are in the kiosk realm
                }
                let Some(endpoint) = attribute
                    .split("endpoint = \"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                else {
                    continue;
                };
                let path = format!("/ui/{endpoint}");
                let listed = READ_ONLY_SERVER_FNS.contains(&endpoint)
                    || ADMINISTRATOR_SERVER_FNS.contains(&endpoint)
                    || OPERATOR_ACTIONS.iter().any(|(_, p)| *p == path);
                if !listed {
                    unclassified.push(endpoint.to_owned());
                }
            }
        }
        assert!(
            unclassified.is_empty(),
            "classify these in staff/access.rs: {unclassified:?}"
        );
    }
}
