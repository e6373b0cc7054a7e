//! `/payments/{agent_txn_id}`: one payment of the terminal — the customer's sums, its
//! times on the terminal's clock (`--time-zone`, put there by the server), where the
//! outbox stands with it and processing's answer in words.
//!
//! The outbox keeps one row per payment: the number of delivery attempts, the last
//! attempt's error and when the next is due, not each attempt; the page says so.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use super::answer_texts::answer_texts;
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::rub;
use crate::ui::when::local_date_time;

/// The longest `agent_txn_id` looked up: the terminal's own are far shorter.
#[cfg(feature = "ssr")]
const MAX_TXN_ID_LEN: usize = 64;

/// One payment as the operator reads it; times already on the terminal's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub agent_txn_id: String,
    pub provider_name: String,
    pub account: String,
    pub cash: Kopecks,
    pub agent_fee: Kopecks,
    pub amount: Kopecks,
    pub processing_fee: Option<Kopecks>,
    pub status: String,
    pub result: Option<i64>,
    pub message: Option<String>,
    pub processing_payment_id: Option<i64>,
    pub prv_txn: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub accepted_at: String,
    pub updated_at: String,
}

/// `Ok(None)`: the terminal has no payment with that number.
#[server(prefix = "/ui", endpoint = "agent/payment")]
pub async fn load_payment(agent_txn_id: String) -> Result<Option<PaymentView>, ServerFnError> {
    use crate::ui::server_fn::failed;
    let agent_txn_id = agent_txn_id.trim();
    if agent_txn_id.is_empty() || agent_txn_id.len() > MAX_TXN_ID_LEN {
        return Ok(None);
    }
    let state: crate::agent::server::AgentState = crate::ui::server_fn::role_state()?;
    let row = crate::agent::server::store::payment_by_txn(&state.pool, agent_txn_id)
        .await
        .map_err(failed)?;
    // Stored instants are UTC; the operator reads the terminal's wall clock.
    let local = |at: String| state.zone.local(&at).unwrap_or(at);
    Ok(row.map(|p| PaymentView {
        agent_txn_id: p.agent_txn_id,
        provider_name: p.provider_name,
        account: p.account,
        cash: Kopecks::new(p.cash),
        agent_fee: Kopecks::new(p.agent_fee),
        amount: Kopecks::new(p.amount),
        processing_fee: p.processing_fee.map(Kopecks::new),
        status: p.status,
        result: p.result,
        message: p.message,
        processing_payment_id: p.processing_payment_id,
        prv_txn: p.prv_txn,
        attempts: p.attempts,
        next_attempt_at: p.next_attempt_at.map(local),
        last_error: p.last_error,
        accepted_at: local(p.accepted_at),
        updated_at: local(p.updated_at),
    }))
}

struct DetailTexts {
    title: &'static str,
    back: &'static str,
    not_found: &'static str,
    provider: &'static str,
    account: &'static str,
    cash: &'static str,
    agent_fee: &'static str,
    amount: &'static str,
    processing_fee: &'static str,
    accepted_at: &'static str,
    updated_at: &'static str,
    status: &'static str,
    delivery: &'static str,
    attempts: &'static str,
    next_attempt: &'static str,
    last_error: &'static str,
    only_last: &'static str,
    answer: &'static str,
    processing_number: &'static str,
    provider_number: &'static str,
    no_receipt_page: &'static str,
}

static RU: DetailTexts = DetailTexts {
    title: "Платёж",
    back: "← Все платежи",
    not_found: "Такого платежа на терминале нет.",
    provider: "Поставщик",
    account: "Лицевой счёт",
    cash: "Внесено наличными",
    agent_fee: "Комиссия терминала",
    amount: "К зачислению",
    processing_fee: "Комиссия процессинга",
    accepted_at: "Принят терминалом",
    updated_at: "Последнее изменение",
    status: "Состояние",
    delivery: "Отправка в процессинг",
    attempts: "Попыток отправки",
    next_attempt: "Следующая попытка",
    last_error: "Ошибка последней попытки",
    only_last: "Терминал хранит не каждую попытку, а их число, ошибку последней и время следующей.",
    answer: "Ответ процессинга",
    processing_number: "Номер в процессинге",
    provider_number: "Номер у поставщика",
    no_receipt_page: "Чек печатает киоск; отдельной страницы чека у оператора нет.",
};

static EN: DetailTexts = DetailTexts {
    title: "Payment",
    back: "← All payments",
    not_found: "The terminal has no such payment.",
    provider: "Provider",
    account: "Account",
    cash: "Cash paid in",
    agent_fee: "Terminal's fee",
    amount: "To be credited",
    processing_fee: "Processing's fee",
    accepted_at: "Accepted by the terminal",
    updated_at: "Last changed",
    status: "State",
    delivery: "Delivery to processing",
    attempts: "Delivery attempts",
    next_attempt: "Next attempt",
    last_error: "Last attempt's error",
    only_last: "The terminal keeps not each attempt but their number, the last one's error and when the next is due.",
    answer: "Processing's answer",
    processing_number: "Processing's number",
    provider_number: "Provider's number",
    no_receipt_page: "The kiosk prints the receipt; the operator has no receipt page.",
};

fn detail_texts() -> &'static DetailTexts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

#[component]
pub fn PaymentDetailPage() -> impl IntoView {
    let t = detail_texts();
    let params = use_params_map();
    let id = move || params.read().get("agent_txn_id").unwrap_or_default();
    let payment = Resource::new(id, load_payment);
    view! {
        <p><a href="/payments" rel="external" id="back-to-payments">{t.back}</a></p>
        <Transition fallback=|| ()>
            {move || payment.get().map(|result| match result {
                Ok(Some(p)) => view! { <Detail p/> }.into_any(),
                Ok(None) => {
                    // The route renders async (whole page at once), so the status still counts.
                    #[cfg(feature = "ssr")]
                    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                        response.set_status(http::StatusCode::NOT_FOUND);
                    }
                    view! {
                        <h1>{t.title}" "<code>{id()}</code></h1>
                        <p class="empty-state" id="payment-not-found">{t.not_found}</p>
                    }.into_any()
                }
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(super::texts::texts().failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Detail(p: PaymentView) -> impl IntoView {
    let t = detail_texts();
    let st = super::texts::texts();
    let answer = answer_texts().describe(
        &p.status,
        p.result,
        p.message.as_deref(),
        p.last_error.as_deref(),
    );
    let badge = match p.status.as_str() {
        "completed" => "badge badge-active",
        "queued" | "pending" => "badge badge-suspended",
        _ => "badge badge-closed",
    };
    let waiting = matches!(p.status.as_str(), "queued" | "pending");
    let next = p
        .next_attempt_at
        .clone()
        .filter(|_| waiting)
        .map(|at| view! { <dt>{t.next_attempt}</dt><dd>{local_date_time(&at)}</dd> });
    let last_error = p
        .last_error
        .clone()
        .map(|e| view! { <dt>{t.last_error}</dt><dd><code>{e}</code></dd> });
    let processing_number = p
        .processing_payment_id
        .map(|n| view! { <dt>{t.processing_number}</dt><dd><code>{n}</code></dd> });
    let provider_number = p
        .prv_txn
        .clone()
        .map(|n| view! { <dt>{t.provider_number}</dt><dd><code>{n}</code></dd> });
    let processing_fee = p.processing_fee.map(|fee| {
        view! { <div class="figure"><span>{t.processing_fee}</span><strong id="payment-processing-fee">{rub(fee)}</strong></div> }
    });
    view! {
        <h1>{t.title}" "<code>{p.agent_txn_id.clone()}</code></h1>
        <div class="summary" id="payment-summary">
            <div class="figure"><span>{t.status}</span><span class=badge id="payment-status" data-status=p.status.clone()>{st.status(&p.status)}</span></div>
            <div class="figure"><span>{t.cash}</span><strong id="payment-cash">{rub(p.cash)}</strong></div>
            <div class="figure"><span>{t.agent_fee}</span><strong id="payment-agent-fee">{rub(p.agent_fee)}</strong></div>
            <div class="figure"><span>{t.amount}</span><strong id="payment-amount">{rub(p.amount)}</strong></div>
            {processing_fee}
        </div>
        <section class="card">
            <dl class="pairs">
                <dt>{t.provider}</dt><dd>{p.provider_name.clone()}</dd>
                <dt>{t.account}</dt><dd><code>{p.account.clone()}</code></dd>
                <dt>{t.accepted_at}</dt><dd id="payment-accepted">{local_date_time(&p.accepted_at)}</dd>
                <dt>{t.updated_at}</dt><dd>{local_date_time(&p.updated_at)}</dd>
            </dl>
        </section>
        <section class="card" id="payment-delivery">
            <h2>{t.delivery}</h2>
            <dl class="pairs">
                <dt>{t.status}</dt><dd id="payment-outbox-state">{st.status(&p.status)}{p.result.map(|r| format!(" ({r})"))}</dd>
                <dt>{t.attempts}</dt><dd id="payment-attempts">{p.attempts}</dd>
                {next}
                {last_error}
                <dt>{t.answer}</dt>
                <dd id="payment-answer">{answer.text}{answer.detail.map(|d| view! { <br/><small class="hint"><code>{d}</code></small> })}</dd>
                {processing_number}
                {provider_number}
            </dl>
            <p class="hint">{t.only_last}</p>
            <p class="hint">{t.no_receipt_page}</p>
        </section>
    }
}
