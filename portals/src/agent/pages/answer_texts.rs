//! Processing's answer on a terminal payment in the operator's words, one catalogue per
//! language: each result code of the payment links' registry (`shared::wire::osmp::
//! ResultCode`: OSMP's table plus paymesh's 215 and 220, wire.md) and each state of the
//! outbox without an answer yet. The message processing sent comes in English (or as the
//! provider wrote it), so the pages show these words first and the message as it came
//! only as a detail, when it says more than the code.

use shared::wire::osmp::ResultCode;

use crate::ui::i18n::{Lang, use_lang};

pub struct AnswerTexts {
    pub ok: &'static str,
    pub temporary_error: &'static str,
    pub bad_account_format: &'static str,
    pub account_not_found: &'static str,
    pub forbidden_by_provider: &'static str,
    pub forbidden_technical: &'static str,
    pub account_not_active: &'static str,
    pub not_finished: &'static str,
    pub idempotency_conflict: &'static str,
    pub insufficient_funds: &'static str,
    pub sum_too_small: &'static str,
    pub sum_too_large: &'static str,
    pub cannot_check: &'static str,
    pub other: &'static str,
    /// A code outside the registry; the number follows.
    pub unknown_code: &'static str,
    /// Stored, not sent yet.
    pub waiting_to_send: &'static str,
    /// Sent; processing has not answered finally yet.
    pub waiting_for_answer: &'static str,
    /// The last attempt did not reach processing (or its answer did not come back); the
    /// outbox tries again.
    pub not_delivered: &'static str,
    /// Processing refused the request itself (HTTP 409/422), with no result code.
    pub refused_by_processing: &'static str,
}

pub fn answer_texts() -> &'static AnswerTexts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// A payment's answer as shown: the words, and the message as it came when it adds to
/// them (a delivery error, a provider's own comment, processing's refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerWords {
    pub text: String,
    pub detail: Option<String>,
}

impl AnswerTexts {
    /// The words for a result code of the registry.
    pub fn result(&self, code: ResultCode) -> &'static str {
        match code {
            ResultCode::Ok => self.ok,
            ResultCode::TemporaryError => self.temporary_error,
            ResultCode::BadAccountFormat => self.bad_account_format,
            ResultCode::AccountNotFound => self.account_not_found,
            ResultCode::ForbiddenByProvider => self.forbidden_by_provider,
            ResultCode::ForbiddenTechnical => self.forbidden_technical,
            ResultCode::AccountNotActive => self.account_not_active,
            ResultCode::NotFinished => self.not_finished,
            ResultCode::IdempotencyConflict => self.idempotency_conflict,
            ResultCode::InsufficientFunds => self.insufficient_funds,
            ResultCode::SumTooSmall => self.sum_too_small,
            ResultCode::SumTooLarge => self.sum_too_large,
            ResultCode::CannotCheck => self.cannot_check,
            ResultCode::Other => self.other,
        }
    }

    /// What a payment in `status` with `result`, processing's `message` and the outbox's
    /// `delivery_error` (set while an attempt failed to reach processing) comes to.
    pub fn describe(
        &self,
        status: &str,
        result: Option<i64>,
        message: Option<&str>,
        delivery_error: Option<&str>,
    ) -> AnswerWords {
        let known = result
            .and_then(|r| u16::try_from(r).ok())
            .and_then(ResultCode::from_code);
        let still_going = matches!(status, "queued" | "pending");
        if let (true, Some(error)) = (still_going, delivery_error) {
            return AnswerWords {
                text: self.not_delivered.to_owned(),
                detail: Some(error.to_owned()),
            };
        }
        let text = match (result, known) {
            (_, Some(code)) => self.result(code).to_owned(),
            (Some(other), None) => format!("{} {other}", self.unknown_code),
            (None, None) => match status {
                "queued" => self.waiting_to_send.to_owned(),
                "pending" => self.waiting_for_answer.to_owned(),
                "rejected" => self.refused_by_processing.to_owned(),
                _ => String::new(),
            },
        };
        // The code's standard comment says nothing the words do not.
        let detail = message
            .or(delivery_error)
            .map(str::trim)
            .filter(|m| !m.is_empty() && known.is_none_or(|code| *m != code.comment()))
            .map(str::to_owned);
        AnswerWords { text, detail }
    }
}

pub static RU: AnswerTexts = AnswerTexts {
    ok: "Успешно",
    temporary_error: "Временная ошибка, платёж будет повторён",
    bad_account_format: "Номер счёта в неверном формате",
    account_not_found: "Счёт не найден",
    forbidden_by_provider: "Поставщик запретил приём платежей",
    forbidden_technical: "Приём платежей запрещён по техническим причинам",
    account_not_active: "Счёт не активен",
    not_finished: "Платёж ещё проводится",
    idempotency_conflict: "Этот номер транзакции уже использован с другими данными",
    insufficient_funds: "Недостаточно средств агента в процессинге",
    sum_too_small: "Сумма слишком мала",
    sum_too_large: "Сумма слишком велика",
    cannot_check: "Состояние счёта проверить нельзя",
    other: "Другая ошибка поставщика",
    unknown_code: "Код ответа",
    waiting_to_send: "Ждёт отправки в процессинг",
    waiting_for_answer: "Ждёт окончательного ответа",
    not_delivered: "Не доставлен в процессинг, будет отправлен снова",
    refused_by_processing: "Процессинг отказал в приёме платежа",
};

pub static EN: AnswerTexts = AnswerTexts {
    ok: "Success",
    temporary_error: "Temporary error; the payment will be repeated",
    bad_account_format: "The account number has a wrong format",
    account_not_found: "Account not found",
    forbidden_by_provider: "The provider forbade payments",
    forbidden_technical: "Payments are forbidden for technical reasons",
    account_not_active: "The account is not active",
    not_finished: "The payment is still being made",
    idempotency_conflict: "This transaction id was already used with different data",
    insufficient_funds: "The agent's funds at processing are insufficient",
    sum_too_small: "The sum is too small",
    sum_too_large: "The sum is too large",
    cannot_check: "The account's state cannot be checked",
    other: "Another provider error",
    unknown_code: "Answer code",
    waiting_to_send: "Waiting to be sent to processing",
    waiting_for_answer: "Waiting for the final answer",
    not_delivered: "Not delivered to processing; it will be sent again",
    refused_by_processing: "Processing refused the payment",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_registry_has_words_in_both_languages() {
        for code in ResultCode::ALL {
            for texts in [&RU, &EN] {
                assert!(!texts.result(code).is_empty(), "{code:?}");
            }
            // The Russian words are Russian: not the English comment passed through.
            assert!(
                RU.result(code).chars().any(|c| ('а'..='я').contains(&c)),
                "{code:?}"
            );
        }
    }

    #[test]
    fn the_words_come_first_and_the_message_only_when_it_adds() {
        let ok = RU.describe("completed", Some(0), Some("OK"), None);
        assert_eq!(
            ok,
            AnswerWords {
                text: "Успешно".into(),
                detail: None
            }
        );
        let funds = RU.describe("rejected", Some(220), Some("Insufficient funds"), None);
        assert_eq!(funds.text, "Недостаточно средств агента в процессинге");
        assert_eq!(funds.detail, None);
        let own = EN.describe("failed", Some(5), Some("Абонент 42 не найден"), None);
        assert_eq!(own.text, "Account not found");
        assert_eq!(own.detail.as_deref(), Some("Абонент 42 не найден"));
        let unknown = RU.describe("failed", Some(17), None, None);
        assert_eq!(unknown.text, "Код ответа 17");
        let refused = RU.describe("rejected", None, Some("HTTP 422: {}"), Some("HTTP 422: {}"));
        assert_eq!(refused.text, "Процессинг отказал в приёме платежа");
        assert_eq!(refused.detail.as_deref(), Some("HTTP 422: {}"));
        let down = RU.describe("pending", Some(90), None, Some("connection refused"));
        assert_eq!(
            down.text,
            "Не доставлен в процессинг, будет отправлен снова"
        );
        assert_eq!(down.detail.as_deref(), Some("connection refused"));
        assert_eq!(
            RU.describe("queued", None, None, None).text,
            "Ждёт отправки в процессинг"
        );
    }
}
