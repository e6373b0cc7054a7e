//! The figures of processing's home page (the dashboard), as the server reads them from
//! the database and the page shows them (both builds). The queries are in
//! `server::dashboard`; this is only their shape and the few rules that read them.

use serde::{Deserialize, Serialize};

use crate::processing::model::Verification;

/// Completed payments in a window: how many and how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct Turnover {
    pub count: i64,
    /// Owed to providers (kopecks): the subscribers' money.
    pub amount: i64,
    /// Processing's own fees on them (kopecks).
    pub fees: i64,
}

/// Payments still waiting for their provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub count: i64,
    pub amount: i64,
    /// How long the oldest has waited, in seconds (`None`: nothing pending).
    pub oldest_age_secs: Option<i64>,
    pub oldest_payment_id: Option<i64>,
}

/// An agent whose available deposit (balance − reserved) is below the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, crate::server::db::LiteRow))]
pub struct LowDeposit {
    pub agent_id: i64,
    pub name: String,
    pub available: i64,
    /// `active` or `suspended`.
    pub status: String,
}

/// How a provider answered its most recent attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Health {
    /// The last payment sent to it was credited.
    Healthy,
    /// The last payment sent to it is still pending after an attempt: it did not answer,
    /// answered an HTTP error (a 401 included) or a temporary code.
    Failing,
    /// The last payment sent to it was refused for good (an unknown account, say): the
    /// provider answers, but the operator should know.
    Refusing,
    /// Nothing was sent to it yet.
    Unused,
    /// Its contract is switched off.
    Off,
}

/// What a stored `last_answer` says, without its English wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnswerKind {
    /// HTTP 401 or 403: the provider refuses processing's login and password.
    Unauthorized,
    /// Another HTTP status, a timeout, a refused connection, an unreadable answer.
    NoAnswer,
    /// A result code of the provider's protocol.
    Code(u16),
}

impl AnswerKind {
    /// Reads `last_answer` as `connectors::ProviderAnswer::describe` writes it.
    pub fn of(last_answer: &str) -> AnswerKind {
        if let Some(code) = last_answer
            .strip_prefix("result ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|code| code.trim().parse().ok())
        {
            return AnswerKind::Code(code);
        }
        if last_answer.contains("HTTP 401") || last_answer.contains("HTTP 403") {
            AnswerKind::Unauthorized
        } else {
            AnswerKind::NoAnswer
        }
    }
}

/// One provider's line on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHealth {
    pub provider_id: i64,
    pub name: String,
    pub health: Health,
    /// The last attempt's answer, if it was not a credit.
    pub answer: Option<AnswerKind>,
    /// How long ago the last attempt was, in seconds.
    pub last_attempt_age_secs: Option<i64>,
    /// Its payments pending now.
    pub pending: i64,
}

/// One bar of the turnover chart: an hour or a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    /// Hours (or days) before the current one: 0 is the current hour.
    pub ago: i64,
    pub count: i64,
    pub amount: i64,
}

/// Everything processing's dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Since the local midnight of the participant's zone (`--time-zone`).
    pub today: Turnover,
    /// The last 60 minutes.
    pub hour: Turnover,
    pub pending: Pending,
    /// Below this available deposit an agent is listed (kopecks).
    pub low_deposit_threshold: i64,
    pub low_deposits: Vec<LowDeposit>,
    pub providers: Vec<ProviderHealth>,
    pub ledger: Verification,
    /// The last 24 hours, oldest first, one bar per hour.
    pub hours: Vec<Bar>,
}

impl Dashboard {
    /// Providers whose last attempt went wrong, for the headline.
    pub fn failing_providers(&self) -> usize {
        self.providers
            .iter()
            .filter(|p| p.health == Health::Failing)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_reads_as_refused_credentials_and_codes_as_codes() {
        assert_eq!(
            AnswerKind::of("no answer: HTTP 401 Unauthorized"),
            AnswerKind::Unauthorized
        );
        assert_eq!(
            AnswerKind::of("no answer: connection refused"),
            AnswerKind::NoAnswer
        );
        assert_eq!(
            AnswerKind::of("result 5: no such account"),
            AnswerKind::Code(5)
        );
        assert_eq!(
            AnswerKind::of("result 0: ok (prv_txn 7)"),
            AnswerKind::Code(0)
        );
    }
}
