//! What the staff and audit pages and the server agree on (both builds): the staff roles,
//! the kinds of audited change, and the rows the pages show.

use serde::{Deserialize, Serialize};

/// What an operator login may do. Ordered: each role may do everything the one before it
/// may (docs/security.md "Staff roles" has the matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Reads every page and the API; changes nothing.
    Viewer,
    /// A cashier: money operations (top-ups, unresolved cash, encashments, subscribers,
    /// reconciliation), but not contracts, credentials, tariffs, fees or staff.
    Operator,
    /// Everything, staff accounts included. The `admin` of the password file is one.
    Administrator,
}

impl StaffRole {
    pub const ALL: [StaffRole; 3] = [
        StaffRole::Administrator,
        StaffRole::Operator,
        StaffRole::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Viewer => "viewer",
            StaffRole::Operator => "operator",
            StaffRole::Administrator => "administrator",
        }
    }

    pub fn parse(text: &str) -> Option<StaffRole> {
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
    }
}

/// What kind of change an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    ContractCreated,
    ContractSuspended,
    ContractTerminated,
    ContractReopened,
    /// A suspended contract (or a disabled provider) made active again; a closed one
    /// coming back is [`AuditKind::ContractReopened`].
    ContractResumed,
    ContractChanged,
    CredentialsRotated,
    /// Credentials typed in by staff (a provider's login and password at processing, the
    /// agent's processing login): the entry says they changed, never what they are.
    CredentialsChanged,
    TariffChanged,
    FeeChanged,
    BalanceTopUp,
    CashPaidAgain,
    CashRefunded,
    CashWrittenOff,
    /// The agent's cash box recorded as collected (an encashment).
    CashCollected,
    SettingChanged,
    StaffCreated,
    StaffDisabled,
    /// An operator asked for a pending payment to be sent again now (processing's
    /// payment detail); the retrier sends it.
    PaymentRetryRequested,
}

impl AuditKind {
    pub const ALL: [AuditKind; 19] = [
        AuditKind::ContractCreated,
        AuditKind::ContractSuspended,
        AuditKind::ContractTerminated,
        AuditKind::ContractReopened,
        AuditKind::ContractResumed,
        AuditKind::ContractChanged,
        AuditKind::CredentialsRotated,
        AuditKind::CredentialsChanged,
        AuditKind::TariffChanged,
        AuditKind::FeeChanged,
        AuditKind::BalanceTopUp,
        AuditKind::CashPaidAgain,
        AuditKind::CashRefunded,
        AuditKind::CashWrittenOff,
        AuditKind::CashCollected,
        AuditKind::SettingChanged,
        AuditKind::StaffCreated,
        AuditKind::StaffDisabled,
        AuditKind::PaymentRetryRequested,
    ];

    /// The stored and exported code.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ContractCreated => "contract_created",
            AuditKind::ContractSuspended => "contract_suspended",
            AuditKind::ContractTerminated => "contract_terminated",
            AuditKind::ContractReopened => "contract_reopened",
            AuditKind::ContractResumed => "contract_resumed",
            AuditKind::ContractChanged => "contract_changed",
            AuditKind::CredentialsRotated => "credentials_rotated",
            AuditKind::CredentialsChanged => "credentials_changed",
            AuditKind::TariffChanged => "tariff_changed",
            AuditKind::FeeChanged => "fee_changed",
            AuditKind::BalanceTopUp => "balance_top_up",
            AuditKind::CashPaidAgain => "cash_paid_again",
            AuditKind::CashRefunded => "cash_refunded",
            AuditKind::CashWrittenOff => "cash_written_off",
            AuditKind::CashCollected => "cash_collected",
            AuditKind::SettingChanged => "setting_changed",
            AuditKind::StaffCreated => "staff_created",
            AuditKind::StaffDisabled => "staff_disabled",
            AuditKind::PaymentRetryRequested => "payment_retry_requested",
        }
    }

    pub fn parse(text: &str) -> Option<AuditKind> {
        AuditKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
    }

    /// The kind a contract's change of status from `before` to `after` stands for;
    /// `None` when the status stays (nothing to record).
    pub fn of_status_change(before: &str, after: &str) -> Option<AuditKind> {
        if before == after {
            return None;
        }
        Some(match (before, after) {
            ("closed" | "terminated", "active") => AuditKind::ContractReopened,
            (_, "active") => AuditKind::ContractResumed,
            (_, "suspended" | "blocked") => AuditKind::ContractSuspended,
            (_, "closed" | "terminated") => AuditKind::ContractTerminated,
            _ => AuditKind::ContractChanged,
        })
    }
}

/// One audit entry as listed and exported. `before`/`after` are JSON text (absent when
/// the object did not exist before, or has no state to show after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339 UTC.
    pub at: String,
    pub login: String,
    pub kind: AuditKind,
    /// What was changed, e.g. `tariffs`, `agent 3`, `processing contract 2`.
    pub object: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditEntry {
    /// The time as the page shows it (and the CSV export writes it): `YYYY-MM-DD
    /// HH:MM:SS`, UTC.
    pub fn shown_at(&self) -> String {
        self.at.get(..19).unwrap_or_default().replace('T', " ")
    }
}

/// An operator login as the staff page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub login: String,
    pub role: StaffRole,
    pub created_at: String,
    /// When it was disabled; `None` while it works.
    pub disabled_at: Option<String>,
}

/// A new staff login with its password, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedStaffAccount {
    pub login: String,
    pub role: StaffRole,
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_owned())
            );
        }
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(AuditKind::of_status_change("active", "active"), None);
        assert_eq!(
            AuditKind::of_status_change("suspended", "active"),
            Some(AuditKind::ContractResumed)
        );
        assert_eq!(
            AuditKind::of_status_change("closed", "active"),
            Some(AuditKind::ContractReopened)
        );
        assert_eq!(
            AuditKind::of_status_change("active", "closed"),
            Some(AuditKind::ContractTerminated)
        );
        assert!(StaffRole::Viewer < StaffRole::Operator);
        assert!(StaffRole::Operator < StaffRole::Administrator);
    }
}
