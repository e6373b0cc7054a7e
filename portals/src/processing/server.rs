//! The processing center's server side: the agents' realm (`/api/agent/v1`), whose
//! logins agent contracts will issue.

use std::sync::Arc;

use axum::Router;
use shared::auth::CredentialStore;

use crate::server::credentials::DbCredentials;
use crate::server::{RoleContext, RoleParts};

/// Realm of agents' logins.
pub const AGENT_REALM: &str = "agent";

pub fn parts(context: &RoleContext) -> RoleParts {
    let mut realms: Vec<(&'static str, Vec<Arc<dyn CredentialStore>>)> = Vec::new();
    if let Some(pool) = &context.pool {
        let agents: Arc<dyn CredentialStore> = DbCredentials::new(pool.clone(), AGENT_REALM);
        realms.push(("/api/agent/v1", vec![agents]));
    }
    RoleParts {
        api: Router::new(),
        ui_context: None,
        realms,
        generated: Vec::new(),
    }
}
