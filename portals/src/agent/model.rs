//! The agent's records as the API and the pages show them (both builds).

use serde::{Deserialize, Serialize};
use shared::fee::FeeRule;
use shared::money::{Kopecks, Money};
use shared::wire::agent::{CatalogProvider, Extra};

/// The terminal as the operator and the kiosk see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub balance: Money,
    pub available: Money,
    pub blocked: bool,
    /// Why it is blocked: `no_contract`, `empty_catalog`, `no_funds`, `validator_fault`.
    pub blocked_reasons: Vec<String>,
    pub contract_number: Option<String>,
    pub catalog_version: Option<String>,
    pub catalog_fetched_at: Option<String>,
    pub catalog_error: Option<String>,
    pub balance_fetched_at: Option<String>,
    pub balance_error: Option<String>,
    pub outbox_pending: i64,
}

/// What the kiosk shows on its first screen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KioskState {
    pub status: Status,
    pub providers: Vec<CatalogProvider>,
    pub fee: FeeRule,
    /// `--kiosk-dev`: the page explains how to get simulated banknotes (kiosk-shell's
    /// simulator) when it runs without kiosk-shell.
    pub dev_mode: bool,
    /// Seconds without a touch before the kiosk shows its attract screen (or, with cash
    /// inserted, pays it): `--kiosk-idle-s`.
    #[serde(default = "KioskTiming::default_idle_s")]
    pub idle_s: u32,
    /// The providers with a logo in `DIR/kiosk-logos` (served at `/kiosk/logos/{id}`);
    /// the others' tiles show their initials.
    #[serde(default)]
    pub logos: Vec<i64>,
}

/// How long the kiosk waits for a customer (`paymesh agent --kiosk-idle-s N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::Args))]
pub struct KioskTiming {
    /// Seconds without a touch before the kiosk goes to its attract screen — from the
    /// provider choice, or from a payment left half-way with no cash in; with cash in,
    /// it pays instead (money is never left on a screen). 2 to 600: well below the
    /// 15 minutes after which the server's sweep takes an open session with cash for
    /// abandoned.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long = "kiosk-idle-s",
            env = "PAYMESH_KIOSK_IDLE_S",
            default_value_t = KioskTiming::DEFAULT_IDLE_S,
            value_parser = clap::value_parser!(u32).range(2..=600)
        )
    )]
    pub idle_s: u32,
}

impl KioskTiming {
    pub const DEFAULT_IDLE_S: u32 = 90;

    fn default_idle_s() -> u32 {
        Self::DEFAULT_IDLE_S
    }
}

impl Default for KioskTiming {
    fn default() -> Self {
        KioskTiming {
            idle_s: Self::DEFAULT_IDLE_S,
        }
    }
}

/// A session as the kiosk sees it: the cash so far and what it credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub account: String,
    /// The payment fields after `account`, by name.
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
    pub status: String,
    pub min_amount: Kopecks,
    pub max_amount: Kopecks,
    /// Принято: the cash inserted.
    pub cash: Kopecks,
    /// Комиссия: the agent's fee on that cash.
    pub agent_fee: Kopecks,
    /// К зачислению: what the subscriber gets.
    pub amount: Kopecks,
    /// The most cash the validator may still take for this session: the provider's
    /// maximum less the cash in it, bounded by what the agent's deposit can cover.
    #[serde(default)]
    pub acceptable: Kopecks,
}

/// What bounds the cash a session still takes, as the cash screen explains it to the
/// customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReason {
    /// The provider's maximum for one payment, less the cash already in.
    Provider,
    /// Less than that: the terminal's prepaid deposit at processing, less the payments
    /// still on their way, covers no more after the fees.
    Terminal,
}

impl SessionView {
    /// Why [`SessionView::acceptable`] is what it is: the agent takes the smaller of the
    /// provider's room and the deposit's, so a figure below the provider's room is the
    /// deposit's.
    pub fn limit_reason(&self) -> LimitReason {
        let provider_room = self
            .max_amount
            .checked_sub(self.cash)
            .filter(|room| !room.is_negative())
            .unwrap_or(Kopecks::ZERO);
        if self.acceptable >= provider_room {
            LimitReason::Provider
        } else {
            LimitReason::Terminal
        }
    }
}

/// Who took the cash, as the receipt prints it: the agent's own settings
/// (`paymesh agent --legal-name … --inn … --address … --terminal-id … --support-phone …`).
/// An unset one is left off the receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::Args))]
pub struct ReceiptIssuer {
    /// The agent's legal name on receipts, e.g. «ООО «Платёжный сервис»».
    #[cfg_attr(feature = "ssr", arg(long, env = "PAYMESH_LEGAL_NAME"))]
    pub legal_name: Option<String>,
    /// The agent's taxpayer number (ИНН) on receipts.
    #[cfg_attr(feature = "ssr", arg(long, env = "PAYMESH_INN"))]
    pub inn: Option<String>,
    /// Where the terminal stands, on receipts.
    #[cfg_attr(feature = "ssr", arg(long, env = "PAYMESH_ADDRESS"))]
    pub address: Option<String>,
    /// The terminal's number on receipts (the agent's own numbering).
    #[cfg_attr(feature = "ssr", arg(long, env = "PAYMESH_TERMINAL_ID"))]
    pub terminal_id: Option<String>,
    /// The phone a customer calls about a payment, on receipts.
    #[cfg_attr(feature = "ssr", arg(long, env = "PAYMESH_SUPPORT_PHONE"))]
    pub support_phone: Option<String>,
}

/// A receipt: what the customer takes away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(default)]
    pub issuer: ReceiptIssuer,
    /// A number a customer can read aloud to support: `123-456-7890` (the terminal's
    /// payment number and a Luhn check digit; `agent::server::receipt`).
    #[serde(default)]
    pub operation_number: String,
    /// `accepted_at` on the terminal's wall clock (`--time-zone`), with its offset:
    /// `2026-12-02T13:06:17+03:00`.
    #[serde(default)]
    pub local_time: String,
    pub agent: String,
    pub terminal: String,
    pub provider: String,
    pub account: String,
    /// The payment fields after `account`, by name (the page labels them from the catalog).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
    pub cash: Kopecks,
    pub agent_fee: Kopecks,
    pub amount: Kopecks,
    pub agent_txn_id: String,
    pub payment_id: Option<i64>,
    pub accepted_at: String,
    /// `queued`/`pending` (on its way), `completed`, `failed`, `rejected`.
    pub status: String,
    pub message: Option<String>,
    /// With `failed` or `rejected`: the code of the unresolved cash (`K-4821-73`) the
    /// customer gives the terminal's operator to get the cash paid again or refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_code: Option<String>,
}

/// Where cash that did not become a credited payment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashOrigin {
    /// A paid session whose payment ended `failed` or `rejected`.
    Payment,
    /// A session holding cash whose page went away and never paid.
    AbandonedSession,
    /// A stacked bill that could go into no session (docs/agent.md "Unassigned cash").
    UnassignedBill,
}

/// What the operator did with unresolved cash; each claim gets one, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Paid to the same or a corrected account as a new payment.
    PaidAgain,
    /// Handed back to the customer.
    Refunded,
    /// Written off, with a reason.
    WrittenOff,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::PaidAgain => "paid_again",
            Resolution::Refunded => "refunded",
            Resolution::WrittenOff => "written_off",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        [
            Resolution::PaidAgain,
            Resolution::Refunded,
            Resolution::WrittenOff,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// One step in the life of unresolved cash, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    /// A bill stacked (into the session, or unassigned).
    BillStacked,
    /// The session was paid: its payment went to the outbox.
    PaymentAccepted,
    /// Processing's final answer on the payment.
    PaymentRefused,
    /// The sweep found the session's page gone.
    SessionAbandoned,
    /// The claim code was given.
    ClaimOpened,
    PaidAgain,
    Refunded,
    WrittenOff,
}

/// A line of a claim's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub at: String,
    pub event: HistoryEvent,
    /// Amount, status, result, who: what the event carried.
    pub detail: String,
}

/// The new payment a claim was paid again with, as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepaidWith {
    pub agent_txn_id: String,
    pub account: String,
    #[serde(default, skip_serializing_if = "shared::wire::agent::Extra::is_empty")]
    pub extra: shared::wire::agent::Extra,
    pub amount: Kopecks,
    pub status: String,
}

/// Cash the customer gave that did not become a credited payment, as the operator sees
/// it (`GET /api/admin/v1/unresolved-cash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnresolvedCash {
    pub claim_code: String,
    pub origin: CashOrigin,
    pub cash: Kopecks,
    pub opened_at: String,
    pub provider_id: Option<i64>,
    pub provider_name: Option<String>,
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "shared::wire::agent::Extra::is_empty")]
    pub extra: shared::wire::agent::Extra,
    pub session_id: Option<i64>,
    /// The refused payment (origin `payment`).
    pub agent_txn_id: Option<String>,
    pub payment_status: Option<String>,
    pub result: Option<i64>,
    pub message: Option<String>,
    /// The bill (origin `unassigned_bill`).
    pub bill_event_id: Option<String>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub reason: Option<String>,
    pub new_payment: Option<RepaidWith>,
    pub history: Vec<HistoryLine>,
}

/// Bills of one denomination in the cash box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationCount {
    pub amount: Kopecks,
    pub count: i64,
    pub sum: Kopecks,
}

/// The terminal's cash box since the last collection (`GET /api/admin/v1/cash-box`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashBox {
    /// The last collection (`null`: none yet); a new one names it as `previous`.
    pub previous: Option<i64>,
    pub since: Option<String>,
    pub denominations: Vec<DenominationCount>,
    pub bill_count: i64,
    /// What the stacked bills say the box holds.
    pub expected: Kopecks,
    /// The cash of the sessions those bills went into (a paid session by its payment).
    pub sessions_cash: Kopecks,
    /// Of the bills, those in no session (unassigned cash).
    pub unassigned_cash: Kopecks,
    /// `expected − sessions_cash`: shown, never hidden.
    pub difference: Kopecks,
}

/// A recorded collection of the cash box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encashment {
    pub encashment_id: i64,
    pub collected_by: String,
    pub collected_at: String,
    pub bill_count: i64,
    pub expected: Kopecks,
    pub counted: Kopecks,
    /// `counted − expected`: zero when the count agrees.
    pub discrepancy: Kopecks,
    pub sessions_cash: Kopecks,
    pub note: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An open session at a payee taking up to `max`, with `cash` in and `acceptable` more
    /// the terminal would take (kopecks): the limit's cases, here and on the cash screen.
    pub(crate) fn session(max: i64, cash: i64, acceptable: i64) -> SessionView {
        SessionView {
            session_id: 1,
            provider_id: 1,
            provider_name: "Megafon".into(),
            account: "9161234567".into(),
            extra: Extra::new(),
            status: "open".into(),
            min_amount: Kopecks::new(100),
            max_amount: Kopecks::new(max),
            cash: Kopecks::new(cash),
            agent_fee: Kopecks::ZERO,
            amount: Kopecks::new(cash),
            acceptable: Kopecks::new(acceptable),
        }
    }

    #[test]
    fn the_limit_is_the_providers_unless_the_deposit_covers_less() {
        assert_eq!(
            session(1_500_000, 0, 1_500_000).limit_reason(),
            LimitReason::Provider
        );
        assert_eq!(
            session(1_500_000, 50_000, 1_450_000).limit_reason(),
            LimitReason::Provider
        );
        assert_eq!(
            session(1_500_000, 0, 99_000).limit_reason(),
            LimitReason::Terminal
        );
        assert_eq!(
            session(1_500_000, 0, 0).limit_reason(),
            LimitReason::Terminal
        );
        // The provider's maximum reached: nothing more, and the provider is why.
        assert_eq!(
            session(1_500_000, 1_500_000, 0).limit_reason(),
            LimitReason::Provider
        );
    }
}
