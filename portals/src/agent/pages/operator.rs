//! The agent operator's pages: status with "sync now", the contract with processing, the
//! terminal's payments (pending and rejected ones with their cash), and the fee.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::fee::FeeRule;
use shared::money::Kopecks;

use super::answer_texts::answer_texts;
use super::texts::texts;
use crate::agent::model::Status;
use crate::ui::rub;

#[cfg(feature = "ssr")]
fn agent_state() -> Result<crate::agent::server::AgentState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

#[cfg(feature = "ssr")]
use crate::ui::server_fn::failed;

#[server(prefix = "/ui", endpoint = "agent/status")]
pub async fn load_status() -> Result<Status, ServerFnError> {
    crate::agent::server::sync::status(&agent_state()?)
        .await
        .map_err(failed)
}

#[server(prefix = "/ui", endpoint = "agent/sync")]
pub async fn sync_now() -> Result<Status, ServerFnError> {
    use crate::agent::server::sync;
    let state = agent_state()?;
    let _ = sync::sync_catalog(&state).await;
    let _ = sync::sync_balance(&state).await;
    sync::status(&state).await.map_err(failed)
}

fn age(at: &Option<String>) -> String {
    at.as_deref()
        .map(|a| a.get(..19).unwrap_or_default().replace('T', " "))
        .unwrap_or_default()
}

#[component]
pub fn StatusPanel() -> impl IntoView {
    let t = texts();
    let sync = ServerAction::<SyncNow>::new();
    let status = Resource::new(move || sync.version().get(), |_| load_status());
    view! {
        <section class="card" aria-labelledby="status-title" id="terminal-status">
            <h2 id="status-title">{t.op_status}</h2>
            <Transition fallback=|| ()>
                {move || status.get().map(|result| match result {
                    Ok(s) => {
                        let reasons = s.blocked_reasons.iter().map(|r| view! { <li>{t.blocked(r)}</li> }).collect_view();
                        view! {
                            <p class=if s.blocked { "error" } else { "ok" } role="status">{if s.blocked { t.op_blocked } else { t.op_open }}</p>
                            <ul class="error">{reasons}</ul>
                            <dl class="pairs">
                                <dt>{t.op_balance}</dt><dd>{rub(s.balance.amount)}{format!(" ({} {})", t.op_available.to_lowercase(), rub(s.available.amount))}</dd>
                                <dt>{t.op_catalog}</dt>
                                <dd>{match &s.catalog_version {
                                    Some(v) => format!("{v}, {} {}", t.op_synced_at, age(&s.catalog_fetched_at)),
                                    None => t.op_never.to_owned(),
                                }}{s.catalog_error.clone().map(|e| format!(" — {}: {e}", t.op_last_error))}</dd>
                                <dt>{t.op_balance_sync}</dt>
                                <dd>{if s.balance_fetched_at.is_some() { format!("{} {}", t.op_synced_at, age(&s.balance_fetched_at)) } else { t.op_never.to_owned() }}
                                    {s.balance_error.clone().map(|e| format!(" — {}: {e}", t.op_last_error))}</dd>
                                <dt>{t.op_outbox}</dt><dd>{s.outbox_pending}</dd>
                            </dl>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
            <ActionForm action=sync>
                <button type="submit" disabled=move || sync.pending().get()>{t.op_sync_now}</button>
            </ActionForm>
        </section>
    }
}

/// The contract as shown: everything but the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub processing_url: String,
    pub contract_number: String,
    pub login: String,
}

#[server(prefix = "/ui", endpoint = "agent/contract")]
pub async fn load_contract() -> Result<Option<ContractView>, ServerFnError> {
    let contract = crate::agent::server::store::contract(&agent_state()?.pool)
        .await
        .map_err(failed)?;
    Ok(contract.map(|c| ContractView {
        processing_url: c.processing_url,
        contract_number: c.contract_number,
        login: c.login,
    }))
}

/// `Ok(None)` when saved; `Ok(Some(why))` when processing or the form refused it.
#[server(prefix = "/ui", endpoint = "agent/save-contract")]
pub async fn save_contract(
    processing_url: String,
    contract_number: String,
    login: String,
    password: String,
) -> Result<Option<String>, ServerFnError> {
    use crate::agent::server::{admin, processing::Contract};
    let contract = Contract {
        processing_url: processing_url.trim().to_owned(),
        contract_number: contract_number.trim().to_owned(),
        login: login.trim().to_owned(),
        password,
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::set_contract(&agent_state()?, contract, &by).await {
        Ok(()) => Ok(None),
        Err(shared::error::ApiError::Validation { fields }) => Ok(Some(
            fields
                .iter()
                .map(|(f, why)| format!("{f}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(e) => Err(failed(e)),
    }
}

#[component]
pub fn ContractPage() -> impl IntoView {
    let t = texts();
    let save = ServerAction::<SaveContract>::new();
    let current = Resource::new(move || save.version().get(), |_| load_contract());
    let field = |id: &'static str, label: &'static str, kind: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=id type=kind required autocomplete="off"/>
            </div>
        }
    };
    view! {
        <h1>{t.op_contract_title}</h1>
        <Transition fallback=|| ()>
            {move || current.get().map(|c| match c {
                Ok(Some(c)) => view! {
                    <section class="card">
                        <h2>{t.op_current_contract}</h2>
                        <dl class="pairs">
                            <dt>{t.op_contract_number}</dt><dd>{c.contract_number}</dd>
                            <dt>{t.op_processing_url}</dt><dd><code>{c.processing_url}</code></dd>
                            <dt>{t.op_login}</dt><dd><code>{c.login}</code></dd>
                        </dl>
                    </section>
                }.into_any(),
                _ => ().into_any(),
            })}
        </Transition>
        <section class="card">
            <p class="hint">{t.op_contract_hint}</p>
            <ActionForm action=save>
                <div class="fields">
                    {field("processing_url", t.op_processing_url, "url")}
                    {field("contract_number", t.op_contract_number, "text")}
                    {field("login", t.op_login, "text")}
                    {field("password", t.op_password, "password")}
                </div>
                <button type="submit" disabled=move || save.pending().get()>{t.op_save_contract}</button>
            </ActionForm>
            {move || save.value().get().map(|outcome| match outcome {
                Ok(None) => view! { <p class="ok" role="status">{t.op_contract_saved}</p> }.into_any(),
                Ok(Some(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
    }
}

/// A payment of the terminal, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    pub created_at: String,
    pub agent_txn_id: String,
    pub provider_name: String,
    pub account: String,
    pub cash: Kopecks,
    pub agent_fee: Kopecks,
    pub amount: Kopecks,
    pub status: String,
    pub result: Option<i64>,
    pub attempts: i64,
    /// Processing's message on its last answer, as it came (English or the provider's).
    pub message: Option<String>,
    /// Why the last attempt did not reach processing, while the outbox retries.
    pub delivery_error: Option<String>,
}

/// Payments on one page of the list: enough to scan, few enough to read.
pub const PAGE_ROWS: i64 = 50;

/// One page of the list (older than `before`, an id; the newest when empty), and the id
/// the next page starts before when older payments follow.
#[server(prefix = "/ui", endpoint = "agent/payments")]
pub async fn load_payments(
    before: String,
) -> Result<(Vec<PaymentLine>, Option<i64>), ServerFnError> {
    let before = before.trim().parse().ok();
    // One more than a page: whether an older page exists.
    let state = agent_state()?;
    let mut rows = crate::agent::server::store::payments(&state.pool, None, before, PAGE_ROWS + 1)
        .await
        .map_err(failed)?;
    let more = rows.len() as i64 > PAGE_ROWS;
    rows.truncate(PAGE_ROWS as usize);
    let next = rows.last().filter(|_| more).map(|p| p.id);
    let lines = rows
        .into_iter()
        .map(|p| PaymentLine {
            message: p.message,
            delivery_error: p.last_error,
            // Stored in UTC; the operator reads the terminal's wall clock.
            created_at: state.zone.local(&p.created_at).unwrap_or(p.created_at),
            agent_txn_id: p.agent_txn_id,
            provider_name: p.provider_name,
            account: p.account,
            cash: Kopecks::new(p.cash),
            agent_fee: Kopecks::new(p.agent_fee),
            amount: Kopecks::new(p.amount),
            status: p.status,
            result: p.result,
            attempts: p.attempts,
        })
        .collect();
    Ok((lines, next))
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let t = texts();
    let query = leptos_router::hooks::use_query_map();
    let before = move || query.read().get("before").unwrap_or_default();
    let rows = Resource::new(before, load_payments);
    view! {
        <h1>{t.op_payments_title}</h1>
        <section class="card">
            <Transition fallback=|| ()>
                {move || rows.get().map(|result| match result {
                    Ok((rows, _)) if rows.is_empty() => view! { <p class="empty-state">{t.op_no_payments}</p> }.into_any(),
                    Ok((rows, next)) => {
                        // Whole page loads (rel="external"), as processing's payment list.
                        let next = next.map(|id| format!("?before={id}"));
                        let first = (!before().is_empty()).then_some("?");
                        let answers = answer_texts();
                        let body = rows.into_iter().map(|p| {
                            let answer = answers.describe(&p.status, p.result, p.message.as_deref(), p.delivery_error.as_deref());
                            let badge = match p.status.as_str() {
                                "completed" => "badge badge-active",
                                "queued" | "pending" => "badge badge-suspended",
                                _ => "badge badge-closed",
                            };
                            view! {
                                <tr>
                                    <td>{crate::ui::when::local_date_time(&p.created_at)}</td>
                                    <td><a class="payment-link" rel="external" href=format!("/payments/{}", crate::ui::encode_query_value(&p.agent_txn_id))><code>{p.agent_txn_id.clone()}</code></a></td>
                                    <td>{format!("{} · {}", p.provider_name, p.account)}</td>
                                    <td class="num">{rub(p.cash)}</td>
                                    <td class="num">{rub(p.agent_fee)}</td>
                                    <td class="num">{rub(p.amount)}</td>
                                    <td><span class=badge>{t.status(&p.status)}</span>{p.result.map(|r| format!(" ({r})")).unwrap_or_default()}</td>
                                    <td class="num">{p.attempts}</td>
                                    <td>{answer.text}{answer.detail.map(|d| view! { <br/><small class="hint"><code>{d}</code></small> })}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="grid" id="terminal-payments">
                                <thead><tr>
                                    <th scope="col">{t.date_time}</th>
                                    <th scope="col">{t.agent_txn_id}</th>
                                    <th scope="col">{t.provider}</th>
                                    <th scope="col" class="num">{t.accepted}</th>
                                    <th scope="col" class="num">{t.fee}</th>
                                    <th scope="col" class="num">{t.credited}</th>
                                    <th scope="col">{t.status}</th>
                                    <th scope="col" class="num">{t.op_attempts}</th>
                                    <th scope="col">{t.op_last}</th>
                                </tr></thead>
                                <tbody>{body}</tbody>
                            </table>
                            <nav class="pager" aria-label=t.op_payments_title>
                                {first.map(|href| view! { <a id="first-page" rel="external" href=href>{t.op_first_page}</a> })}
                                {next.map(|href| view! { <a id="next-page" rel="external" href=href>{t.op_next_page}</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[server(prefix = "/ui", endpoint = "agent/fee")]
pub async fn load_fee() -> Result<FeeRule, ServerFnError> {
    crate::agent::server::store::fee_rule(&agent_state()?.pool)
        .await
        .map_err(failed)
}

/// `Ok(false)` when the rule is not valid (nothing changes).
#[server(prefix = "/ui", endpoint = "agent/save-fee")]
pub async fn save_fee(
    percent: String,
    fixed: String,
    min: String,
    max: String,
) -> Result<bool, ServerFnError> {
    let money = |text: &str| crate::ui::server_fn::typed_amount(text);
    let percent_bp = crate::ui::server_fn::typed_percent_bp(&percent);
    let max = if max.trim().is_empty() {
        Ok(None)
    } else {
        money(&max).map(Some)
    };
    let (Some(percent_bp), Ok(fixed), Ok(min), Ok(max)) =
        (percent_bp, money(&fixed), money(&min), max)
    else {
        return Ok(false);
    };
    let rule = FeeRule {
        percent_bp,
        fixed,
        min,
        max,
    };
    if rule.validate().is_err() {
        return Ok(false);
    }
    let by = crate::ui::server_fn::signed_in_login();
    crate::agent::server::store::set_fee_rule(&agent_state()?.pool, &rule, &by)
        .await
        .map_err(failed)?;
    tracing::info!(?rule, by, "agent fee changed from the portal");
    Ok(true)
}

#[component]
pub fn FeePage() -> impl IntoView {
    let t = texts();
    let save = ServerAction::<SaveFee>::new();
    let fee = Resource::new(move || save.version().get(), |_| load_fee());
    view! {
        <h1>{t.op_fee_title}</h1>
        <section class="card">
            <p class="hint">{t.op_fee_hint}</p>
            <Transition fallback=|| ()>
                {move || fee.get().map(|result| match result {
                    Ok(rule) => view! {
                        <ActionForm action=save>
                            <div class="fields">
                                <div class="field"><label for="percent">{t.op_percent}</label>
                                    <input id="percent" name="percent" inputmode="decimal" value=crate::ui::money::format_number(crate::ui::i18n::use_lang(), Kopecks::new(i64::from(rule.percent_bp)))/></div>
                                <div class="field"><label for="fixed">{t.op_fixed}</label>
                                    <input id="fixed" name="fixed" inputmode="decimal" value=crate::ui::money::format_number(crate::ui::i18n::use_lang(), rule.fixed)/></div>
                                <div class="field"><label for="min">{t.op_min}</label>
                                    <input id="min" name="min" inputmode="decimal" value=crate::ui::money::format_number(crate::ui::i18n::use_lang(), rule.min)/></div>
                                <div class="field"><label for="max">{t.op_max}</label>
                                    <input id="max" name="max" inputmode="decimal" value=rule.max.map(|m| crate::ui::money::format_number(crate::ui::i18n::use_lang(), m)).unwrap_or_default()/></div>
                            </div>
                            <button type="submit">{t.op_save}</button>
                            {move || save.value().get().map(|r| match r {
                                Ok(true) => view! { <span class="ok" role="status">{" "}{t.op_saved}</span> }.into_any(),
                                Ok(false) => view! { <span class="error" role="alert">{" "}{t.op_bad_fee}</span> }.into_any(),
                                Err(e) => view! { <span class="error" role="alert">{format!(" {}: {e}", t.failed)}</span> }.into_any(),
                            })}
                        </ActionForm>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
