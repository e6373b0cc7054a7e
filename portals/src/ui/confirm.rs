//! The one way every portal asks before a destructive or money-moving action: the action's
//! button only opens a panel that says what will happen, with "yes, do it" and "cancel".
//!
//! How it holds:
//! * Before hydration too: the button is a `<details>` summary, the panel its body, and
//!   "yes" the form's submit button carrying `confirm=yes` — plain HTML, no script needed.
//! * Whoever sends the form: the server function refuses a request without `confirm=yes`
//!   ([`require_confirmed`]), so a forged or replayed post without it does nothing.
//! * Enter in one of the form's fields submits nothing: the form's first submit button
//!   (its "default button") is a disabled, hidden one, and a disabled default button
//!   blocks implicit submission.

use leptos::html::Details;
use leptos::prelude::*;

use crate::ui::i18n::{Lang, use_lang};

/// An action that asks first. Each names what will happen and what "yes" says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// A provider ends a processing center's contract.
    CloseProcessingContract,
    /// A provider suspends a processing center's contract.
    SuspendProcessingContract,
    /// A provider re-opens a closed processing contract.
    ReopenProcessingContract,
    /// A provider closes a subscriber's contract.
    CloseSubscriber,
    /// Processing stops sending payments to a provider.
    DisableProvider,
    /// The consumer forgets one of its contracts.
    DeleteConsumerContract,
    /// Processing credits an agent's deposit.
    TopUpAgent,
    /// The agent's operator pays unresolved cash to its payee again.
    PayClaimAgain,
    /// The agent's operator refunds unresolved cash to the customer.
    RefundClaim,
    /// The agent's operator writes unresolved cash off.
    WriteOffClaim,
    /// The agent's operator records the cash box as collected.
    RecordCollection,
    /// Processing suspends an agent contract.
    SuspendAgent,
    /// Processing resumes a suspended agent contract.
    ResumeAgent,
    /// Processing gives an agent's login a new password.
    RotateAgentPassword,
    /// A provider gives a processing center's login a new password.
    RotateProcessingPassword,
    /// A provider moves its payments switch (open, paused, closed).
    ChangePaymentsSwitch,
    /// Processing replaces a provider's endpoint URL, login or password.
    ChangeProviderCredentials,
    /// An administrator disables a staff login.
    DisableStaff,
    /// Processing sends a pending payment to its provider now, not at its next attempt.
    RetryPaymentNow,
}

/// What the panel says for one action.
pub struct Question {
    /// What will happen, in a sentence or two.
    pub will: &'static str,
    /// The label of the button that does it.
    pub yes: &'static str,
}

struct Texts {
    cancel: &'static str,
    questions: fn(Asked) -> Question,
}

static RU: Texts = Texts {
    cancel: "Отмена",
    questions: ru_question,
};

static EN: Texts = Texts {
    cancel: "Cancel",
    questions: en_question,
};

fn ru_question(asked: Asked) -> Question {
    let (will, yes) = match asked {
        Asked::CloseProcessingContract => (
            "Договор будет расторгнут: процессинговый центр больше не сможет проводить платежи, его логин перестанет действовать. Договор можно будет возобновить с новым паролем.",
            "Да, расторгнуть",
        ),
        Asked::SuspendProcessingContract => (
            "Платежи процессингового центра будут отклоняться, пока договор не возобновят.",
            "Да, приостановить",
        ),
        Asked::ReopenProcessingContract => (
            "Договор снова станет действующим. Будет выдан новый пароль — он будет показан один раз; прежний пароль не восстановится.",
            "Да, возобновить",
        ),
        Asked::CloseSubscriber => (
            "Договор абонента будет закрыт: его логин перестанет действовать, платежи на счёт будут отклоняться. Закрытый договор не открывается снова.",
            "Да, закрыть договор",
        ),
        Asked::DisableProvider => (
            "Платежи этому поставщику перестанут приниматься у всех агентов, пока его снова не включат.",
            "Да, отключить",
        ),
        Asked::DeleteConsumerContract => (
            "Договор и его пароль будут удалены из списка. Вернуть его можно, только введя данные договора заново.",
            "Да, удалить",
        ),
        Asked::TopUpAgent => (
            "Депозит агента увеличится на введённую сумму. Пополнение проводится в учёте и не отменяется.",
            "Да, пополнить",
        ),
        Asked::PayClaimAgain => (
            "Деньги будут снова отправлены получателю выбранного платежа. Отменить это нельзя.",
            "Да, провести",
        ),
        Asked::RefundClaim => (
            "Наличные будут отмечены как возвращённые клиенту. Отменить это нельзя.",
            "Да, вернуть",
        ),
        Asked::WriteOffClaim => (
            "Наличные будут списаны с указанной причиной. Отменить списание нельзя.",
            "Да, списать",
        ),
        Asked::RecordCollection => (
            "Инкассация будет записана: кассета считается пустой с этого момента. Отменить запись нельзя.",
            "Да, записать",
        ),
        Asked::SuspendAgent => (
            "Агент не сможет проводить платежи, пока договор не возобновят; уже принятые платежи будут проведены.",
            "Да, приостановить",
        ),
        Asked::ResumeAgent => (
            "Агент снова сможет проводить платежи со своего депозита.",
            "Да, возобновить",
        ),
        Asked::RotateAgentPassword => (
            "Агенту будет выдан новый пароль — он будет показан один раз. Прежний пароль сразу перестанет действовать, и терминал не сможет платить, пока в нём не сохранят новый.",
            "Да, выдать новый пароль",
        ),
        Asked::RotateProcessingPassword => (
            "Процессинговому центру будет выдан новый пароль — он будет показан один раз. Прежний пароль сразу перестанет действовать: платежи центра будут отклоняться, пока он не сохранит новый.",
            "Да, выдать новый пароль",
        ),
        Asked::ChangePaymentsSwitch => (
            "Приём платежей от всех процессинговых центров будет переключён в выбранное положение сразу после подтверждения.",
            "Да, переключить",
        ),
        Asked::ChangeProviderCredentials => (
            "Платежи и проверки этому поставщику пойдут на новый адрес с новыми логином и паролем. Если они неверны, платежи будут ждать повтора, пока данные не исправят.",
            "Да, сохранить",
        ),
        Asked::DisableStaff => (
            "Сотрудник сразу потеряет доступ к порталу. Логин нельзя будет выдать снова: журнал изменений продолжит называть этого человека.",
            "Да, отключить",
        ),
        Asked::RetryPaymentNow => (
            "Платёж будет отправлен поставщику сейчас, не дожидаясь следующей попытки, тем же путём, что и повторы: поставщик зачтёт его не более одного раза.",
            "Да, отправить сейчас",
        ),
    };
    Question { will, yes }
}

fn en_question(asked: Asked) -> Question {
    let (will, yes) = match asked {
        Asked::CloseProcessingContract => (
            "The contract ends: the processing center can no longer make payments and its login stops working. It can be re-opened later with a new password.",
            "Yes, end it",
        ),
        Asked::SuspendProcessingContract => (
            "The processing center's payments are refused until the contract is resumed.",
            "Yes, suspend",
        ),
        Asked::ReopenProcessingContract => (
            "The contract becomes active again. A new password is issued and shown once; the old one does not come back.",
            "Yes, re-open",
        ),
        Asked::CloseSubscriber => (
            "The subscriber's contract closes: its login stops working and payments to the account are refused. A closed contract is not opened again.",
            "Yes, close the contract",
        ),
        Asked::DisableProvider => (
            "Payments to this provider stop being accepted at every agent until it is enabled again.",
            "Yes, disable",
        ),
        Asked::DeleteConsumerContract => (
            "The contract and its password are removed from the list. It comes back only if its details are typed in again.",
            "Yes, delete",
        ),
        Asked::TopUpAgent => (
            "The agent's deposit grows by the amount typed. A top-up is posted to the ledger and is not undone.",
            "Yes, top up",
        ),
        Asked::PayClaimAgain => (
            "The money is sent to the chosen payment's payee again. This cannot be undone.",
            "Yes, pay",
        ),
        Asked::RefundClaim => (
            "The cash is recorded as handed back to the customer. This cannot be undone.",
            "Yes, refund",
        ),
        Asked::WriteOffClaim => (
            "The cash is written off with the reason given. A write-off cannot be undone.",
            "Yes, write off",
        ),
        Asked::RecordCollection => (
            "The collection is recorded: the cash box counts as empty from now on. The record cannot be undone.",
            "Yes, record",
        ),
        Asked::SuspendAgent => (
            "The agent can make no payments until the contract is resumed; payments already accepted still settle.",
            "Yes, suspend",
        ),
        Asked::ResumeAgent => (
            "The agent can make payments from its deposit again.",
            "Yes, resume",
        ),
        Asked::RotateAgentPassword => (
            "The agent gets a new password, shown once. The old one stops working at once: the terminal cannot pay until the new one is saved in it.",
            "Yes, issue a new password",
        ),
        Asked::RotateProcessingPassword => (
            "The processing center gets a new password, shown once. The old one stops working at once: its payments are refused until it saves the new one.",
            "Yes, issue a new password",
        ),
        Asked::ChangePaymentsSwitch => (
            "Payments from every processing center are switched to the chosen position as soon as you confirm.",
            "Yes, switch",
        ),
        Asked::ChangeProviderCredentials => (
            "Checks and payments to this provider go to the new address with the new login and password. If they are wrong, payments wait for a retry until they are corrected.",
            "Yes, save",
        ),
        Asked::DisableStaff => (
            "The person loses access to the portal at once. The login cannot be issued again: the audit log keeps naming this person.",
            "Yes, disable",
        ),
        Asked::RetryPaymentNow => (
            "The payment is sent to its provider now instead of at its next attempt, the way retries are: the provider credits it once at most.",
            "Yes, send it now",
        ),
    };
    Question { will, yes }
}

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// What the panel of `asked` says in `lang` (for tests and for pages that show it
/// elsewhere).
pub fn question(lang: Lang, asked: Asked) -> Question {
    match lang {
        Lang::Ru => (RU.questions)(asked),
        Lang::En => (EN.questions)(asked),
    }
}

/// The button `label` that asks before it submits its form. Put it inside the form, in
/// place of the submit button. Elements: `#{id}` (the `<details>`), `#{id}-ask` (the
/// button), `#{id}-yes`, `#{id}-cancel`.
#[component]
pub fn ConfirmButton(
    id: String,
    label: &'static str,
    asked: Asked,
    /// Drawn as a dangerous action (red) rather than an ordinary one.
    #[prop(optional)]
    danger: bool,
    /// While true (the action is running), "yes" is disabled.
    #[prop(optional, into)]
    busy: Signal<bool>,
) -> impl IntoView {
    let t = texts();
    let q = (t.questions)(asked);
    let panel = NodeRef::<Details>::new();
    let cancel = move |_| {
        if let Some(details) = panel.get_untracked() {
            details.set_open(false);
        }
    };
    let ask_class = if danger {
        "confirm-ask danger"
    } else {
        "confirm-ask"
    };
    view! {
        <button type="submit" class="confirm-default" disabled=true hidden=true aria-hidden="true" tabindex="-1"></button>
        <details class="confirm" id=id.clone() node_ref=panel>
            <summary class=ask_class id=format!("{id}-ask")>{label}</summary>
            <div class="confirm-panel" role="alertdialog" aria-label=label>
                <p class="confirm-will">{q.will}</p>
                <button type="submit" name="confirm" value="yes" id=format!("{id}-yes")
                    class=if danger { "danger" } else { "" } disabled=move || busy.get()>{q.yes}</button>
                <button type="button" class="secondary" id=format!("{id}-cancel") on:click=cancel>{t.cancel}</button>
            </div>
        </details>
    }
}

/// Refused: the form came without `confirm=yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not confirmed: the form must carry confirm=yes (the portal's confirmation button)")]
pub struct NotConfirmed;

/// Ok when the form carried `confirm=yes`, as only [`ConfirmButton`]'s "yes" sends it.
pub fn require_confirmed(confirm: Option<&str>) -> Result<(), NotConfirmed> {
    match confirm {
        Some("yes") => Ok(()),
        _ => Err(NotConfirmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_confirms() {
        assert!(require_confirmed(Some("yes")).is_ok());
        assert_eq!(require_confirmed(None), Err(NotConfirmed));
        assert_eq!(require_confirmed(Some("on")), Err(NotConfirmed));
    }

    #[test]
    fn every_question_is_said_in_both_languages() {
        use Asked::*;
        for asked in [
            CloseProcessingContract,
            SuspendProcessingContract,
            ReopenProcessingContract,
            CloseSubscriber,
            DisableProvider,
            DeleteConsumerContract,
            TopUpAgent,
            PayClaimAgain,
            RefundClaim,
            WriteOffClaim,
            RecordCollection,
            SuspendAgent,
            ResumeAgent,
            RotateAgentPassword,
            RotateProcessingPassword,
            ChangePaymentsSwitch,
            ChangeProviderCredentials,
            DisableStaff,
            RetryPaymentNow,
        ] {
            let (ru, en) = (question(Lang::Ru, asked), question(Lang::En, asked));
            assert!(
                ru.will.chars().any(|c| ('а'..='я').contains(&c)),
                "{asked:?}"
            );
            assert!(en.will.is_ascii(), "{asked:?}");
            assert_ne!(ru.yes, en.yes);
        }
    }
}
