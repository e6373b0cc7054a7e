//! Staff accounts and the audit log in the interface (issue #19): the shared model, the
//! strings, the `/audit` page every participant with a database shows, and the header's
//! signed-in login.

pub mod audit_page;
pub mod model;
pub mod refusal;
pub mod staff_page;
pub mod texts;
pub mod who;

use crate::ui::NavItem;

/// The audit log's entry in a portal's navigation.
pub const AUDIT_NAV: NavItem = NavItem {
    href: "/audit",
    label: |t| texts::texts_for(t).nav_audit,
};

/// The staff accounts' entry in a portal's navigation.
pub const STAFF_NAV: NavItem = NavItem {
    href: "/staff",
    label: |t| texts::texts_for(t).nav_staff,
};
