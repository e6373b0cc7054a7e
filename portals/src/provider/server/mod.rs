//! The provider's server side: realms for subscribers (`/api/usage/v1`) and processing
//! centers (`/osmp`, `/api/processing/v1`), whose logins contracts will issue.

use std::sync::Arc;

use axum::Router;
use shared::auth::CredentialStore;

use crate::server::credentials::DbCredentials;
use crate::server::{RoleContext, RoleParts};

/// Realm of subscribers' logins (usage API).
pub const SUBSCRIBER_REALM: &str = "subscriber";
/// Realm of processing centers' logins (OSMP and JSON endpoints).
pub const PROCESSING_REALM: &str = "processing";

pub fn parts(context: &RoleContext) -> RoleParts {
    let mut realms: Vec<(&'static str, Vec<Arc<dyn CredentialStore>>)> = Vec::new();
    if let Some(pool) = &context.pool {
        let subscribers: Arc<dyn CredentialStore> =
            DbCredentials::new(pool.clone(), SUBSCRIBER_REALM);
        let processing: Arc<dyn CredentialStore> =
            DbCredentials::new(pool.clone(), PROCESSING_REALM);
        realms.push(("/api/usage/v1", vec![subscribers]));
        realms.push(("/osmp", vec![processing.clone()]));
        realms.push(("/api/processing/v1", vec![processing]));
    }
    RoleParts {
        api: Router::new(),
        realms,
        generated: Vec::new(),
    }
}
