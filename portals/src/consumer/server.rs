//! The consumer's server side: for now only the operator realm (its contracts API comes
//! with the consumer issue).

use axum::Router;

use crate::server::{RoleContext, RoleParts};

pub fn parts(_context: &RoleContext) -> RoleParts {
    RoleParts {
        api: Router::new(),
        ui_context: None,
        realms: Vec::new(),
        generated: Vec::new(),
    }
}
