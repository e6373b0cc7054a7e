//! Staff accounts (issue #19): several operator logins per participant, each with a role
//! ([`StaffRole`]). The `admin` of the password file stays the first administrator; the
//! others live in the `credentials` table under the `operator` realm, their role as the
//! row's subject, disabled by revoking the row. Passwords are generated and argon2-hashed
//! as contract logins' are, and verified through the same hashing pool and throttle.
//!
//! * [`OperatorLogins`] — the operator realm's credential store: `admin`, then staff.
//! * [`access`] — which role a request needs, and the middleware that refuses the rest.
//! * [`directory`] — creating, disabling and listing staff logins, audited.
//! * [`api`] — `/api/admin/v1/staff` and `/api/admin/v1/audit` (docs/security.md).

pub mod access;
pub mod api;
pub mod directory;

use std::sync::Arc;

use shared::auth::{BoxFuture, CredentialStore, Principal, SingleLogin, VerifyError};

use super::credentials::DbCredentials;
use super::db::Db;
pub use crate::ui::staff::model::StaffRole;
pub use directory::{StaffDirectory, StaffError};

/// The realm of every operator login, `admin` and staff alike.
pub const OPERATOR_REALM: &str = "operator";

/// The role a signed-in operator login acts with. Staff rows carry their role as the
/// subject; `admin` (subject `admin`) is an administrator. A subject that names no role
/// (a row written by hand, a newer version's role) gets the least: viewer.
pub fn role_of(principal: &Principal) -> StaffRole {
    if let Some(role) = StaffRole::parse(&principal.subject) {
        return role;
    }
    if principal.login == super::ADMIN_LOGIN && principal.subject == super::ADMIN_LOGIN {
        return StaffRole::Administrator;
    }
    StaffRole::Viewer
}

/// The operator realm: the password file's `admin`, then the staff logins of the
/// database (none on the consumer, which keeps no database).
pub struct OperatorLogins {
    admin: SingleLogin,
    staff: Option<Arc<DbCredentials>>,
}

impl OperatorLogins {
    pub fn new(admin: SingleLogin, pool: Option<&Db>) -> Self {
        OperatorLogins {
            admin,
            staff: pool.map(|pool| DbCredentials::new(pool.clone(), OPERATOR_REALM)),
        }
    }

    /// The staff logins' store, for the directory that creates and disables them.
    pub fn staff(&self) -> Option<Arc<DbCredentials>> {
        self.staff.clone()
    }
}

impl CredentialStore for OperatorLogins {
    fn realm(&self) -> &'static str {
        OPERATOR_REALM
    }

    fn verify<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<Principal>, VerifyError>> {
        // `admin` is never looked up in the table: a staff row named `admin` (refused
        // when created, but a database is editable) cannot shadow the password file.
        if login == super::ADMIN_LOGIN {
            return self.admin.verify(login, password);
        }
        match &self.staff {
            Some(staff) => staff.verify(login, password),
            None => Box::pin(async { Ok(None) }),
        }
    }
}

/// What the staff and audit pages and handlers find in their context.
#[derive(Clone)]
pub struct StaffContext {
    pub directory: Arc<StaffDirectory>,
}
