//! `/payments/{payment_id}`: one payment in full — its status and sums, every pay sent to
//! the provider with the answer, the ledger postings with their totals, the audit
//! entries — and "retry now" for a pending payment (an operator's action, asked first).
//! Times are the participant's (`--time-zone`), put on its clock by the server.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;
use shared::wire::osmp::ResultCode;

use crate::processing::detail::{PaymentDetail, Posting, ProviderCall, RetryRefusal, Side, totals};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::rub;
use crate::ui::staff::refusal::failure_text;
use crate::ui::when::{date_time, local_date_time};

struct Texts {
    back: &'static str,
    title: &'static str,
    not_found: &'static str,
    amount: &'static str,
    processing_fee: &'static str,
    agent_fee: &'static str,
    cash: &'static str,
    accepted_at: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
    next_attempt: &'static str,
    provider_txn: &'static str,
    calls_title: &'static str,
    calls_hint: &'static str,
    calls_none: &'static str,
    calls_shown: &'static str,
    col_attempt: &'static str,
    col_command: &'static str,
    col_sent: &'static str,
    col_answered: &'static str,
    col_result: &'static str,
    col_message: &'static str,
    col_next: &'static str,
    command_pay: &'static str,
    command_check: &'static str,
    outcome_credited: &'static str,
    outcome_refused: &'static str,
    outcome_retry: &'static str,
    postings_title: &'static str,
    postings_none: &'static str,
    debit: &'static str,
    credit: &'static str,
    total: &'static str,
    balanced: &'static str,
    unbalanced: &'static str,
    audit_title: &'static str,
    audit_none: &'static str,
    col_when: &'static str,
    col_who: &'static str,
    col_what: &'static str,
    col_before: &'static str,
    col_after: &'static str,
    actions_title: &'static str,
    retry: &'static str,
    retry_hint: &'static str,
    retry_wait: &'static str,
    retry_done: &'static str,
    refused_not_pending: &'static str,
    refused_underway: &'static str,
    unconfirmed: &'static str,
    failed: &'static str,
    oldest_pending: &'static str,
}

static RU: Texts = Texts {
    back: "← Платежи",
    title: "Платёж №",
    not_found: "Такого платежа нет.",
    amount: "Сумма",
    processing_fee: "Комиссия процессинга",
    agent_fee: "Комиссия агента",
    cash: "Внесено наличными",
    accepted_at: "Принят агентом",
    created_at: "Поступил в процессинг",
    updated_at: "Изменён",
    next_attempt: "Следующая попытка",
    provider_txn: "Номер у поставщика",
    calls_title: "Обращения к поставщику",
    calls_hint: "Каждая отправка платежа поставщику и его ответ. Проверки счёта делаются до платежа и здесь не показаны.",
    calls_none: "К поставщику ещё не обращались.",
    calls_shown: "Показаны последние обращения; всего",
    col_attempt: "Попытка",
    col_command: "Команда",
    col_sent: "Отправлено",
    col_answered: "Ответ",
    col_result: "Итог",
    col_message: "Ответ поставщика",
    col_next: "Повтор",
    command_pay: "Платёж",
    command_check: "Проверка",
    outcome_credited: "Зачислено",
    outcome_refused: "Отказ",
    outcome_retry: "Повторить позже",
    postings_title: "Проводки",
    postings_none: "Проводок нет: деньги проводятся, когда поставщик зачислит платёж.",
    debit: "Дебет",
    credit: "Кредит",
    total: "Итого",
    balanced: "Дебет равен кредиту: проводка сбалансирована.",
    unbalanced: "Дебет не равен кредиту: проводка не сбалансирована!",
    audit_title: "Журнал изменений",
    audit_none: "Записей о действиях с этим платежом нет.",
    col_when: "Когда",
    col_who: "Кто",
    col_what: "Что",
    col_before: "До",
    col_after: "После",
    actions_title: "Действия",
    retry: "Повторить сейчас",
    retry_hint: "Платёж ждёт следующей попытки. Его можно отправить поставщику сейчас, не дожидаясь её.",
    retry_wait: "Попытка идёт сейчас или платёж уже в очереди: он будет отправлен и без повтора.",
    retry_done: "Платёж поставлен в очередь: он будет отправлен поставщику в течение секунды.",
    refused_not_pending: "Платёж уже проведён или отклонён: повторять нечего.",
    refused_underway: "Попытка уже идёт или платёж уже в очереди: повторять не нужно.",
    unconfirmed: "Действие не подтверждено: нажмите кнопку и подтвердите.",
    failed: "Не получилось",
    oldest_pending: "Дольше всех ждёт платёж №",
};

static EN: Texts = Texts {
    back: "← Payments",
    title: "Payment No.",
    not_found: "There is no such payment.",
    amount: "Amount",
    processing_fee: "Processing's fee",
    agent_fee: "Agent's fee",
    cash: "Cash paid in",
    accepted_at: "Accepted by the agent",
    created_at: "Received by processing",
    updated_at: "Changed",
    next_attempt: "Next attempt",
    provider_txn: "Provider's number",
    calls_title: "Calls to the provider",
    calls_hint: "Every pay sent to the provider and its answer. Account checks happen before the payment and are not shown here.",
    calls_none: "The provider has not been called yet.",
    calls_shown: "The latest calls are shown; in all",
    col_attempt: "Attempt",
    col_command: "Command",
    col_sent: "Sent",
    col_answered: "Answered",
    col_result: "Outcome",
    col_message: "Provider's answer",
    col_next: "Retry at",
    command_pay: "Pay",
    command_check: "Check",
    outcome_credited: "Credited",
    outcome_refused: "Refused",
    outcome_retry: "Try again later",
    postings_title: "Ledger postings",
    postings_none: "No postings: the money is posted once the provider credits the payment.",
    debit: "Debit",
    credit: "Credit",
    total: "Total",
    balanced: "Debits equal credits: the entry balances.",
    unbalanced: "Debits differ from credits: the entry does not balance!",
    audit_title: "Audit log",
    audit_none: "No actions on this payment were recorded.",
    col_when: "When",
    col_who: "Who",
    col_what: "What",
    col_before: "Before",
    col_after: "After",
    actions_title: "Actions",
    retry: "Retry now",
    retry_hint: "The payment waits for its next attempt. It can be sent to the provider now instead.",
    retry_wait: "An attempt is under way or the payment is queued already: it is sent without you.",
    retry_done: "The payment is queued: it is sent to the provider within a second.",
    refused_not_pending: "The payment is settled already: there is nothing to retry.",
    refused_underway: "An attempt is under way or the payment is queued already: no retry needed.",
    unconfirmed: "Not confirmed: press the button and confirm.",
    failed: "Failed",
    oldest_pending: "Waiting longest: payment No.",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// The payment `payment_id` with every instant on the participant's clock; `None` for
/// an id that names no payment (or is no number).
#[server(prefix = "/ui", endpoint = "processing/payment-detail")]
pub async fn load_payment_detail(
    payment_id: String,
) -> Result<Option<PaymentDetail>, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::payment_detail_api::parse_payment_id;
    use crate::processing::server::store::payment_detail;
    let state = processing_state()?;
    let Ok(id) = parse_payment_id(payment_id.trim()) else {
        return Ok(None);
    };
    let detail = payment_detail::payment_detail(&state.pool, id)
        .await
        .map_err(failed)?;
    Ok(detail.map(|d| on_clock(d, &state.zone)))
}

/// `detail` with its instants as `zone`'s wall clock (`2026-12-02T13:06:17+03:00`).
#[cfg(feature = "ssr")]
fn on_clock(mut d: PaymentDetail, zone: &shared::zone::Zone) -> PaymentDetail {
    let local = |at: &mut String| {
        if let Some(shown) = zone.local(at) {
            *at = shown;
        }
    };
    let p = &mut d.payment;
    for at in [&mut p.accepted_at, &mut p.created_at, &mut p.updated_at] {
        local(at);
    }
    p.next_attempt_at.as_mut().map(local);
    for call in &mut d.calls {
        local(&mut call.sent_at);
        local(&mut call.answered_at);
        call.next_attempt_at.as_mut().map(local);
    }
    for posting in &mut d.postings {
        local(&mut posting.posted_at);
    }
    for entry in &mut d.audit {
        local(&mut entry.at);
    }
    d
}

/// What "retry now" came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryOutcome {
    Queued,
    Refused(RetryRefusal),
    NotFound,
    Unconfirmed,
}

#[server(prefix = "/ui", endpoint = "processing/retry-payment")]
pub async fn retry_payment(
    payment_id: i64,
    confirm: Option<String>,
) -> Result<RetryOutcome, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::store::payment_detail;
    if crate::ui::confirm::require_confirmed(confirm.as_deref()).is_err() {
        return Ok(RetryOutcome::Unconfirmed);
    }
    let state = processing_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    let outcome = payment_detail::retry_now(&state.pool, payment_id, &by)
        .await
        .map_err(failed)?;
    Ok(match outcome {
        None => RetryOutcome::NotFound,
        Some(Err(refusal)) => RetryOutcome::Refused(refusal),
        Some(Ok(())) => {
            tracing::warn!(payment_id, by, "payment retry requested by an operator");
            RetryOutcome::Queued
        }
    })
}

#[component]
pub fn PaymentDetailPage() -> impl IntoView {
    let t = texts();
    let params = use_params_map();
    let id = move || params.read().get("payment_id").unwrap_or_default();
    let retry = ServerAction::<RetryPayment>::new();
    let detail = Resource::new(
        move || (id(), retry.version().get()),
        |(id, _)| load_payment_detail(id),
    );
    view! {
        <p><a href="/payments" id="back-to-payments">{t.back}</a></p>
        <Transition fallback=move || view! { <p>{super::texts::texts().loading}</p> }>
            {move || detail.get().map(|result| match result {
                Ok(Some(d)) => view! { <Detail d retry/> }.into_any(),
                Ok(None) => view! {
                    <h1>{format!("{} {}", t.title, id())}</h1>
                    <p class="empty-state" id="payment-not-found">{t.not_found}</p>
                }.into_any(),
                Err(e) => view! { <p class="error">{failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// The status badge as the list draws it.
fn badge_class(status: &str) -> &'static str {
    match status {
        "completed" => "badge badge-active",
        "pending" => "badge badge-suspended",
        _ => "badge badge-closed",
    }
}

#[component]
fn Detail(d: PaymentDetail, retry: ServerAction<RetryPayment>) -> impl IntoView {
    let t = texts();
    let pt = super::texts::texts();
    let p = d.payment.clone();
    let status = view! {
        <span class=badge_class(&p.status) id="payment-status" data-status=p.status.clone()>{pt.status(&p.status)}</span>
        {p.result.map(|r| format!(" ({r})"))}
    };
    let next = (p.status == "pending")
        .then(|| p.next_attempt_at.clone())
        .flatten()
        .map(|at| view! { <div class="figure"><span>{t.next_attempt}</span><span>{local_date_time(&at)}</span></div> });
    let prv = p.prv_txn.clone().map(|prv| {
        view! { <div class="figure"><span>{t.provider_txn}</span><code>{prv}</code></div> }
    });
    let actions = (p.status == "pending").then(|| {
        view! { <Actions payment_id=p.id possible=d.retry_possible retry/> }
    });
    view! {
        <h1>{format!("{} {}", t.title, p.id)}</h1>
        <div class="summary" id="payment-summary">
            <div class="figure"><span>{pt.status}</span><span>{status}</span></div>
            <div class="figure"><span>{t.amount}</span><strong id="payment-amount">{rub(Kopecks::new(p.amount))}</strong></div>
            <div class="figure"><span>{t.processing_fee}</span><strong id="payment-fee">{rub(Kopecks::new(p.processing_fee))}</strong></div>
            <div class="figure"><span>{t.cash}</span><span>{rub(Kopecks::new(p.cash))}</span></div>
            <div class="figure"><span>{t.agent_fee}</span><span>{rub(Kopecks::new(p.agent_fee))}</span></div>
        </div>
        <div class="summary">
            <div class="figure"><span>{pt.agent}</span><span id="payment-agent">{d.agent_name.clone()}" · № "{p.agent_id}" · "<code>{p.agent_txn_id.clone()}</code></span></div>
            <div class="figure"><span>{pt.provider}</span><span id="payment-provider">{d.provider_name.clone()}</span></div>
            <div class="figure"><span>{pt.account}</span><span>{p.account.clone()}</span></div>
            {prv}
        </div>
        <div class="summary">
            <div class="figure"><span>{t.accepted_at}</span><span id="payment-accepted">{local_date_time(&p.accepted_at)}</span></div>
            <div class="figure"><span>{t.created_at}</span><span id="payment-created">{local_date_time(&p.created_at)}</span></div>
            <div class="figure"><span>{t.updated_at}</span><span>{local_date_time(&p.updated_at)}</span></div>
            {next}
        </div>
        {actions}
        <section class="card" aria-labelledby="calls-h">
            <h2 id="calls-h">{t.calls_title}</h2>
            <p class="hint">{t.calls_hint}</p>
            <Calls calls=d.calls total=d.calls_total/>
        </section>
        <section class="card" aria-labelledby="postings-h">
            <h2 id="postings-h">{t.postings_title}</h2>
            <Postings postings=d.postings/>
        </section>
        <section class="card" aria-labelledby="payment-audit-h">
            <h2 id="payment-audit-h">{t.audit_title}</h2>
            <Audit entries=d.audit/>
        </section>
    }
}

/// "Retry now", when the payment can take it; otherwise why it needs none.
#[component]
fn Actions(payment_id: i64, possible: bool, retry: ServerAction<RetryPayment>) -> impl IntoView {
    let t = texts();
    let said = move || {
        retry.value().get().map(|outcome| {
            let (class, line) = match outcome {
                Ok(RetryOutcome::Queued) => ("ok", t.retry_done.to_owned()),
                Ok(RetryOutcome::Refused(RetryRefusal::NotPending)) => {
                    ("error", t.refused_not_pending.to_owned())
                }
                Ok(RetryOutcome::Refused(RetryRefusal::AttemptUnderway)) => {
                    ("error", t.refused_underway.to_owned())
                }
                Ok(RetryOutcome::NotFound) => ("error", t.not_found.to_owned()),
                Ok(RetryOutcome::Unconfirmed) => ("error", t.unconfirmed.to_owned()),
                Err(e) => ("error", failure_text(t.failed, &e)),
            };
            view! { <p class=class role="status" id="retry-said">{line}</p> }
        })
    };
    view! {
        <section class="card" aria-labelledby="actions-h" id="payment-actions">
            <h2 id="actions-h">{t.actions_title}</h2>
            // The form stays for any pending payment: whether an attempt holds it can
            // change before the click, and the server says so if it does.
            <p class="hint" id="retry-hint">{if possible { t.retry_hint } else { t.retry_wait }}</p>
            <ActionForm action=retry>
                <input type="hidden" name="payment_id" value=payment_id.to_string()/>
                <ConfirmButton id="retry".to_owned() label=t.retry asked=Asked::RetryPaymentNow busy=retry.pending()/>
            </ActionForm>
            {said}
        </section>
    }
}

/// What a call came to, in words, and the badge it wears.
fn call_outcome(t: &Texts, call: &ProviderCall) -> (String, &'static str) {
    let dash = crate::dashboard::dash_texts();
    match call.result {
        Some(0) => (format!("{} (0)", t.outcome_credited), "badge badge-active"),
        Some(code) => {
            let final_ = u16::try_from(code)
                .ok()
                .and_then(ResultCode::from_code)
                .is_none_or(|r| r.is_final());
            if final_ {
                (
                    format!("{} ({code})", t.outcome_refused),
                    "badge badge-closed",
                )
            } else {
                (
                    format!("{} ({code})", t.outcome_retry),
                    "badge badge-suspended",
                )
            }
        }
        None => {
            let kind = crate::processing::figures::AnswerKind::of(&format!(
                "no answer: {}",
                call.error.as_deref().unwrap_or_default()
            ));
            (
                super::dashboard::answer_text(Some(kind), dash),
                "badge badge-bad",
            )
        }
    }
}

#[component]
fn Calls(calls: Vec<ProviderCall>, total: i64) -> impl IntoView {
    let t = texts();
    let lang = use_lang();
    if calls.is_empty() {
        return view! { <p class="empty-state" id="calls-none">{t.calls_none}</p> }.into_any();
    }
    let more = (total > calls.len() as i64)
        .then(|| view! { <p class="hint">{format!("{} {total}.", t.calls_shown)}</p> });
    let rows = calls
        .into_iter()
        .map(|call| {
            let (outcome, class) = call_outcome(t, &call);
            let command = if call.command == "check" { t.command_check } else { t.command_pay };
            // The provider's comment and a transport error are shown as they came: data
            // from outside, set apart as such.
            let said = call.message.clone().or(call.error.clone()).unwrap_or_default();
            view! {
                <tr data-attempt=call.attempt data-result=call.result.map(|r| r.to_string()).unwrap_or_default()>
                    <td class="num">{call.attempt}</td>
                    <td>{command}</td>
                    <td>{date_time(lang, &call.sent_at)}</td>
                    <td>{date_time(lang, &call.answered_at)}</td>
                    <td><span class=class>{outcome}</span></td>
                    <td><code>{said}</code>{call.prv_txn.clone().map(|prv| view! { " · "<code>{prv}</code> })}</td>
                    <td>{call.next_attempt_at.as_deref().map(|at| date_time(lang, at)).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {more}
        <table class="grid" id="payment-calls">
            <thead><tr>
                <th scope="col" class="num">{t.col_attempt}</th>
                <th scope="col">{t.col_command}</th>
                <th scope="col">{t.col_sent}</th>
                <th scope="col">{t.col_answered}</th>
                <th scope="col">{t.col_result}</th>
                <th scope="col">{t.col_message}</th>
                <th scope="col">{t.col_next}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A ledger account in words: its kind in this language, its id as the ledger has it.
fn account_view(account: &str) -> impl IntoView + use<> {
    let kind = account.split(':').next().unwrap_or(account);
    view! { {super::texts::texts().account_kind(kind)}" · "<code>{account.to_owned()}</code> }
}

#[component]
fn Postings(postings: Vec<Posting>) -> impl IntoView {
    let t = texts();
    if postings.is_empty() {
        return view! { <p class="empty-state" id="postings-none">{t.postings_none}</p> }
            .into_any();
    }
    let (debit, credit) = totals(&postings);
    let rows = postings
        .into_iter()
        .map(|p| {
            let (d, c) = match p.side {
                Side::Debit => (rub(Kopecks::new(p.size())), String::new()),
                Side::Credit => (String::new(), rub(Kopecks::new(p.size()))),
            };
            view! {
                <tr data-account=p.account.clone() data-kopecks=p.amount>
                    <td>{account_view(&p.account)}</td>
                    <td class="num">{d}</td>
                    <td class="num">{c}</td>
                </tr>
            }
        })
        .collect_view();
    let (note_class, note) = if debit == credit {
        ("ok", t.balanced)
    } else {
        ("error", t.unbalanced)
    };
    view! {
        <table class="grid" id="payment-postings">
            <thead><tr>
                <th scope="col">{super::texts::texts().col_account}</th>
                <th scope="col" class="num">{t.debit}</th>
                <th scope="col" class="num">{t.credit}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
            <tfoot><tr id="postings-total">
                <th scope="row">{t.total}</th>
                <td class="num" data-kopecks=debit><strong>{rub(Kopecks::new(debit))}</strong></td>
                <td class="num" data-kopecks=credit><strong>{rub(Kopecks::new(credit))}</strong></td>
            </tr></tfoot>
        </table>
        <p class=note_class id="postings-balance">{note}</p>
    }
    .into_any()
}

#[component]
fn Audit(entries: Vec<crate::ui::staff::model::AuditEntry>) -> impl IntoView {
    let t = texts();
    let lang = use_lang();
    if entries.is_empty() {
        return view! { <p class="empty-state" id="payment-audit-none">{t.audit_none}</p> }
            .into_any();
    }
    let staff = crate::ui::staff::texts::texts();
    let rows = entries
        .into_iter()
        .map(|e| {
            view! {
                <tr data-kind=e.kind.as_str()>
                    <td>{date_time(lang, &e.at)}</td>
                    <td>{e.login.clone()}</td>
                    <td>{staff.kind(e.kind)}</td>
                    <td><code>{e.before.clone().unwrap_or_default()}</code></td>
                    <td><code>{e.after.clone().unwrap_or_default()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid" id="payment-audit">
            <thead><tr>
                <th scope="col">{t.col_when}</th>
                <th scope="col">{t.col_who}</th>
                <th scope="col">{t.col_what}</th>
                <th scope="col">{t.col_before}</th>
                <th scope="col">{t.col_after}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The dashboard's way to the payment waiting longest for its provider: its detail page.
#[component]
pub fn OldestPendingLink(payment_id: i64) -> impl IntoView {
    let t = texts();
    view! {
        <p class="hint" id="oldest-pending">
            <a rel="external" href=format!("/payments/{payment_id}")>{format!("{} {payment_id} →", t.oldest_pending)}</a>
        </p>
    }
}
