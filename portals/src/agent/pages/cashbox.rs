//! The operator's cash pages: unresolved cash (each claim with its history and the three
//! actions: pay again, refund, write off) and the cash box (what the cassette holds since
//! the last collection, recording a collection, past collections with their reports); and
//! the receipt's claim notice the kiosk shows when a payment was not credited.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::answer_texts::answer_texts;
use super::cashbox_texts::cash_texts;
use super::texts::texts;
use crate::agent::model::{CashBox, Encashment, UnresolvedCash};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::rub;

#[cfg(feature = "ssr")]
fn agent_state() -> Result<crate::agent::server::AgentState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

/// A refusal the operator can act on becomes `Ok(Some(why))`; anything else is an error.
#[cfg(feature = "ssr")]
fn outcome<T>(result: Result<T, shared::error::ApiError>) -> Result<Option<String>, ServerFnError> {
    use shared::error::ApiError;
    match result {
        Ok(_) => Ok(None),
        Err(ApiError::Validation { fields }) => Ok(Some(
            fields
                .iter()
                .map(|(f, why)| format!("{f}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(
            e @ (ApiError::ClaimResolved { .. }
            | ApiError::EncashmentConflict
            | ApiError::NotFound { .. }
            | ApiError::ProviderUnavailable { .. }
            | ApiError::TerminalBlocked { .. }),
        ) => Ok(Some(e.to_string())),
        Err(e) => Err(crate::ui::server_fn::failed(e)),
    }
}

/// Claim cards on one page of unresolved cash: each card holds its forms, so fewer than a
/// table's rows.
pub const CLAIMS_A_PAGE: i64 = 20;
/// Collections on one page of the cash box's history.
pub const COLLECTIONS_A_PAGE: i64 = 50;

/// Where a page's «Далее» and «Назад» lead (keyset paging, newest first): the id the older
/// page starts before, and for any page but the newest, where the newer one starts
/// (`Some(None)`: the newest page itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pager {
    pub older: Option<i64>,
    pub newer: Option<Option<i64>>,
}

/// A page's `before=` from its address: an id, or nothing (the newest page).
#[cfg(feature = "ssr")]
fn cursor(text: &str) -> Option<i64> {
    text.trim().parse().ok().filter(|id| *id > 0)
}

#[server(prefix = "/ui", endpoint = "agent/unresolved-cash")]
pub async fn load_unresolved(
    resolved: bool,
    before: String,
) -> Result<(Vec<UnresolvedCash>, Pager), ServerFnError> {
    use crate::agent::server::claims::{self, ClaimFilter};
    let filter = if resolved {
        ClaimFilter::Resolved
    } else {
        ClaimFilter::Open
    };
    let pool = &agent_state()?.pool;
    let before = cursor(&before);
    let (rows, older) = claims::list(pool, filter, before, CLAIMS_A_PAGE)
        .await
        .map_err(crate::ui::server_fn::failed)?;
    let newer = match before {
        Some(before) => Some(
            claims::newer_page_start(pool, filter, before, CLAIMS_A_PAGE)
                .await
                .map_err(crate::ui::server_fn::failed)?,
        ),
        None => None,
    };
    Ok((rows, Pager { older, newer }))
}

/// Pay again: empty fields keep the original payment's values.
#[server(prefix = "/ui", endpoint = "agent/claim-pay-again")]
pub async fn claim_pay_again(
    code: String,
    provider_id: String,
    account: String,
    extra: String,
    confirm: Option<String>,
) -> Result<Option<String>, ServerFnError> {
    use crate::agent::server::claims::{self, PayAgain};
    crate::ui::confirm::require_confirmed(confirm.as_deref())
        .map_err(crate::ui::server_fn::failed)?;
    let provider_id = match provider_id.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return Ok(Some("provider_id: a number".into())),
        },
    };
    let extra = match extra.trim() {
        "" => None,
        text => match serde_json::from_str(text) {
            Ok(extra) => Some(extra),
            Err(_) => {
                return Ok(Some(
                    "extra: a JSON object of field names and values, {\"city\": \"Пермь\"}".into(),
                ));
            }
        },
    };
    let account = Some(account.trim().to_owned()).filter(|a| !a.is_empty());
    let request = PayAgain {
        provider_id,
        account,
        extra,
    };
    let operator = crate::ui::server_fn::signed_in_login();
    outcome(claims::pay_again(&agent_state()?, &code, request, &operator).await)
}

#[server(prefix = "/ui", endpoint = "agent/claim-refund")]
pub async fn claim_refund(
    code: String,
    confirm: Option<String>,
) -> Result<Option<String>, ServerFnError> {
    crate::ui::confirm::require_confirmed(confirm.as_deref())
        .map_err(crate::ui::server_fn::failed)?;
    let operator = crate::ui::server_fn::signed_in_login();
    outcome(crate::agent::server::claims::refund(&agent_state()?.pool, &code, &operator).await)
}

#[server(prefix = "/ui", endpoint = "agent/claim-write-off")]
pub async fn claim_write_off(
    code: String,
    reason: String,
    confirm: Option<String>,
) -> Result<Option<String>, ServerFnError> {
    crate::ui::confirm::require_confirmed(confirm.as_deref())
        .map_err(crate::ui::server_fn::failed)?;
    let operator = crate::ui::server_fn::signed_in_login();
    outcome(
        crate::agent::server::claims::write_off(&agent_state()?.pool, &code, &operator, &reason)
            .await,
    )
}

fn stamp(at: &str) -> String {
    at.get(..19).unwrap_or_default().replace('T', " ")
}

fn extra_text(extra: &shared::wire::agent::Extra) -> String {
    extra
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// «← Назад» and «Далее →» under a paged list: whole page loads (rel="external"), as the
/// other paged tables, with `keep` (the list's other parameters) in both addresses.
#[component]
fn PagerNav(pager: Pager, keep: Vec<(&'static str, String)>, label: &'static str) -> impl IntoView {
    let c = cash_texts();
    let href = move |before: Option<i64>| {
        let mut params: Vec<String> = keep
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        params.extend(before.map(|id| format!("before={id}")));
        format!("?{}", params.join("&"))
    };
    let newer = pager.newer.map(&href);
    let older = pager.older.map(|start| href(Some(start)));
    view! {
        <nav class="pager" aria-label=label>
            {newer.map(|href| view! { <a id="previous-page" rel="external" href=href>{c.newer_page}</a> })}
            {older.map(|href| view! { <a id="next-page" rel="external" href=href>{c.older_page}</a> })}
        </nav>
    }
}

#[component]
pub fn UnresolvedCashPage() -> impl IntoView {
    let c = cash_texts();
    let t = texts();
    let query = leptos_router::hooks::use_query_map();
    // The address names the list and the page (the pager's links load whole pages); the
    // buttons switch lists in place, from the newest page.
    let (state, before) = query.with_untracked(|q| {
        (
            q.get("state").unwrap_or_default(),
            q.get("before").unwrap_or_default(),
        )
    });
    let resolved = RwSignal::new(state == "resolved");
    let before = RwSignal::new(before);
    let show = move |list: bool| {
        resolved.set(list);
        before.set(String::new());
    };
    let pay = ServerAction::<ClaimPayAgain>::new();
    let refund = ServerAction::<ClaimRefund>::new();
    let write_off = ServerAction::<ClaimWriteOff>::new();
    let claims = Resource::new(
        move || {
            (
                resolved.get(),
                before.get(),
                pay.version().get() + refund.version().get() + write_off.version().get(),
            )
        },
        |(resolved, before, _)| load_unresolved(resolved, before),
    );
    let said = move |value: Option<Result<Option<String>, ServerFnError>>| {
        value.map(|r| match r {
            Ok(None) => view! { <p class="ok" role="status">{c.done}</p> }.into_any(),
            Ok(Some(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }
                .into_any(),
        })
    };
    view! {
        <h1>{c.unresolved_title}</h1>
        <p class="intro">{c.unresolved_intro}</p>
        <div class="actions" role="group">
            <button type="button" aria-pressed=move || (!resolved.get()).to_string() on:click=move |_| show(false)>{c.show_open}</button>
            <button type="button" aria-pressed=move || resolved.get().to_string() on:click=move |_| show(true)>{c.show_resolved}</button>
        </div>
        <div id="claim-outcome">
            {move || said(pay.value().get())}
            {move || said(refund.value().get())}
            {move || said(write_off.value().get())}
        </div>
        <Transition fallback=|| ()>
            {move || claims.get().map(|result| match result {
                Ok((list, _)) if list.is_empty() => view! {
                    <p class="empty-state">{if resolved.get_untracked() { c.none_resolved } else { c.none_open }}</p>
                }.into_any(),
                Ok((list, pager)) => {
                    let keep = vec![("state", if resolved.get_untracked() { "resolved".to_owned() } else { String::new() })];
                    view! {
                        <div id="claims">
                            {list.into_iter().map(|claim| view! {
                                <ClaimCard claim pay refund write_off/>
                            }).collect_view()}
                        </div>
                        <PagerNav pager keep label=c.claims_pager/>
                    }.into_any()
                }
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ClaimCard(
    claim: UnresolvedCash,
    pay: ServerAction<ClaimPayAgain>,
    refund: ServerAction<ClaimRefund>,
    write_off: ServerAction<ClaimWriteOff>,
) -> impl IntoView {
    let c = cash_texts();
    let code = claim.claim_code.clone();
    let [provider_input, account_input, extra_input, reason_input] =
        ["provider", "account", "extra", "reason"].map(|what| format!("{what}-{code}"));
    let payee = format!(
        "{}{} {}",
        claim.provider_name.clone().unwrap_or_default(),
        claim
            .provider_id
            .map(|p| format!(" (№{p})"))
            .unwrap_or_default(),
        [
            claim.account.clone().unwrap_or_default(),
            extra_text(&claim.extra)
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
    );
    // Processing's answer in the operator's words, its message as it came under them.
    let answer = claim.payment_status.as_deref().map(|status| {
        let words = answer_texts().describe(status, claim.result, claim.message.as_deref(), None);
        let code = claim.result.map(|r| format!(" ({r})")).unwrap_or_default();
        (format!("{}{code}", words.text), words.detail)
    });
    let history = claim
        .history
        .iter()
        .map(|h| view! { <li><time>{stamp(&h.at)}</time>{" "}{c.event(h.event)}{" — "}{h.detail.clone()}</li> })
        .collect_view();
    let decided = claim.resolution.map(|r| {
        let mut line = format!(
            "{}: {} {}",
            c.resolution(r),
            claim.resolved_by.clone().unwrap_or_default(),
            claim.resolved_at.as_deref().map(stamp).unwrap_or_default()
        );
        if let Some(reason) = &claim.reason {
            line.push_str(&format!(" — {reason}"));
        }
        if let Some(p) = &claim.new_payment {
            line.push_str(&format!(
                " — {} {} → {} ({}, {})",
                c.new_payment,
                p.agent_txn_id,
                p.account,
                rub(p.amount),
                p.status
            ));
        }
        line
    });
    let actions = claim.resolution.is_none().then(move || {
        let (code_pay, code_refund, code_off) = (code.clone(), code.clone(), code);
        view! {
            <ActionForm action=pay>
                <input type="hidden" name="code" value=code_pay.clone()/>
                <p class="hint">{c.pay_again_hint}</p>
                <div class="fields">
                    <div class="field"><label for=provider_input.clone()>{c.provider_id}</label>
                        <input id=provider_input name="provider_id" inputmode="numeric" placeholder=claim.provider_id.map(|p| p.to_string()).unwrap_or_default()/></div>
                    <div class="field"><label for=account_input.clone()>{c.account}</label>
                        <input id=account_input name="account" autocomplete="off" placeholder=claim.account.clone().unwrap_or_default()/></div>
                    <div class="field"><label for=extra_input.clone()>{c.extra}</label>
                        <input id=extra_input name="extra" autocomplete="off" placeholder=serde_json::to_string(&claim.extra).unwrap_or_default()/></div>
                </div>
                <ConfirmButton id=format!("pay-again-{code_pay}") label=c.pay_again asked=Asked::PayClaimAgain busy=Signal::derive(move || pay.pending().get())/>
            </ActionForm>
            <ActionForm action=refund>
                <input type="hidden" name="code" value=code_refund.clone()/>
                <ConfirmButton id=format!("refund-{code_refund}") label=c.refund asked=Asked::RefundClaim busy=Signal::derive(move || refund.pending().get())/>
            </ActionForm>
            <ActionForm action=write_off>
                <input type="hidden" name="code" value=code_off.clone()/>
                <div class="field"><label for=reason_input.clone()>{c.reason}</label>
                    <input id=reason_input name="reason" required maxlength="500" autocomplete="off"/></div>
                <ConfirmButton id=format!("write-off-{code_off}") label=c.write_off asked=Asked::WriteOffClaim danger=true busy=Signal::derive(move || write_off.pending().get())/>
            </ActionForm>
        }
    });
    view! {
        <section class="card claim" id=format!("claim-{}", claim.claim_code)>
            <h2><code>{claim.claim_code.clone()}</code>{" · "}{rub(claim.cash)}</h2>
            <dl class="pairs">
                <dt>{c.origin}</dt><dd>{c.origin(claim.origin)}</dd>
                <dt>{c.opened_at}</dt><dd>{stamp(&claim.opened_at)}</dd>
                <dt>{c.payee}</dt><dd>{payee}</dd>
                {answer.map(|(text, detail)| view! {
                    <dt>{c.answer}</dt>
                    <dd>{text}{detail.map(|d| view! { <br/><small class="hint"><code>{d}</code></small> })}</dd>
                })}
                {decided.map(|d| view! { <dt>{c.outcome}</dt><dd class="outcome">{d}</dd> })}
            </dl>
            <details>
                <summary>{c.history}</summary>
                <ol class="history">{history}</ol>
            </details>
            {actions}
        </section>
    }
}

/// The cash box now and one page of past collections (older than `before`, an id; the
/// newest when empty).
#[server(prefix = "/ui", endpoint = "agent/cash-box")]
pub async fn load_cash_box(
    before: String,
) -> Result<(CashBox, Vec<Encashment>, Pager), ServerFnError> {
    use crate::agent::server::encashment;
    let pool = &agent_state()?.pool;
    let now = encashment::cash_box(pool)
        .await
        .map_err(crate::ui::server_fn::failed)?;
    let before = cursor(&before);
    let (past, older) = encashment::list(pool, before, COLLECTIONS_A_PAGE)
        .await
        .map_err(crate::ui::server_fn::failed)?;
    let newer = match before {
        Some(before) => Some(
            encashment::newer_page_start(pool, before, COLLECTIONS_A_PAGE)
                .await
                .map_err(crate::ui::server_fn::failed)?,
        ),
        None => None,
    };
    Ok((now, past, Pager { older, newer }))
}

/// `previous`: the collection the count follows, as the page showed it ("" for none).
#[server(prefix = "/ui", endpoint = "agent/encashment")]
pub async fn record_collection(
    previous: String,
    counted: String,
    note: String,
    confirm: Option<String>,
) -> Result<Option<String>, ServerFnError> {
    use crate::agent::server::encashment::{self, NewEncashment};
    crate::ui::confirm::require_confirmed(confirm.as_deref())
        .map_err(crate::ui::server_fn::failed)?;
    let previous = match previous.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return Ok(Some("previous: a number".into())),
        },
    };
    let counted = match crate::ui::server_fn::typed_amount(&counted) {
        Ok(counted) => counted,
        Err(why) => return Ok(Some(why)),
    };
    let request = NewEncashment {
        previous,
        counted,
        note: Some(note),
    };
    let operator = crate::ui::server_fn::signed_in_login();
    outcome(encashment::record(&agent_state()?.pool, &request, &operator).await)
}

#[component]
pub fn CashBoxPage() -> impl IntoView {
    let c = cash_texts();
    let t = texts();
    let record = ServerAction::<RecordCollection>::new();
    let query = leptos_router::hooks::use_query_map();
    let before = move || query.read().get("before").unwrap_or_default();
    let data = Resource::new(
        move || (record.version().get(), before()),
        |(_, before)| load_cash_box(before),
    );
    let form =
        crate::ui::forms::cleared_when(move || matches!(record.value().get(), Some(Ok(None))));
    view! {
        <h1>{c.box_title}</h1>
        <p class="intro">{c.box_intro}</p>
        <Transition fallback=|| ()>
            {move || data.get().map(|result| match result {
                Ok((now, past, pager)) => {
                    let rows = now.denominations.iter().map(|d| view! {
                        <tr><td class="num">{rub(d.amount)}</td><td class="num">{d.count}</td><td class="num">{rub(d.sum)}</td></tr>
                    }).collect_view();
                    let differs = now.difference != shared::money::Kopecks::ZERO;
                    let history = past.iter().map(|e| {
                        let off = e.discrepancy != shared::money::Kopecks::ZERO;
                        view! {
                            <tr>
                                <td>{e.encashment_id}</td>
                                <td>{stamp(&e.collected_at)}</td>
                                <td>{e.collected_by.clone()}</td>
                                <td class="num">{e.bill_count}</td>
                                <td class="num">{rub(e.expected)}</td>
                                <td class="num">{rub(e.counted)}</td>
                                <td class=if off { "num error" } else { "num" }>{rub(e.discrepancy)}</td>
                                <td><a href=format!("/api/admin/v1/encashments/{}/report.xlsx", e.encashment_id) download>{c.report}</a></td>
                            </tr>
                        }
                    }).collect_view();
                    view! {
                        <section class="card" id="cash-box">
                            <p>{match &now.since {
                                Some(at) => format!("{}: {}", c.since, stamp(at)),
                                None => c.since_never.to_owned(),
                            }}</p>
                            <table class="grid" id="cash-box-denominations">
                                <thead><tr>
                                    <th scope="col" class="num">{c.denomination}</th>
                                    <th scope="col" class="num">{c.count}</th>
                                    <th scope="col" class="num">{c.sum}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <dl class="pairs">
                                <dt>{c.bills_total}</dt><dd id="cash-box-expected">{format!("{} ({} {})", rub(now.expected), now.bill_count, c.count.to_lowercase())}</dd>
                                <dt>{c.sessions_cash}</dt><dd>{rub(now.sessions_cash)}</dd>
                                <dt>{c.unassigned_cash}</dt><dd>{rub(now.unassigned_cash)}</dd>
                                <dt>{c.difference}</dt>
                                <dd class=if differs { "error" } else { "" } id="cash-box-difference">
                                    {rub(now.difference)}{differs.then(|| format!(" — {}", c.difference_hint))}
                                </dd>
                            </dl>
                        </section>
                        <section class="card">
                            <h2>{c.collect_title}</h2>
                            <ActionForm action=record node_ref=form>
                                <input type="hidden" name="previous" value=now.previous.map(|p| p.to_string()).unwrap_or_default()/>
                                <div class="fields">
                                    <div class="field"><label for="counted">{c.counted}</label>
                                        <input id="counted" name="counted" inputmode="decimal" required autocomplete="off"/></div>
                                    <div class="field"><label for="note">{c.note}</label>
                                        <input id="note" name="note" maxlength="500" autocomplete="off"/></div>
                                </div>
                                <ConfirmButton id="record-collection".to_owned() label=c.collect asked=Asked::RecordCollection busy=Signal::derive(move || record.pending().get())/>
                            </ActionForm>
                            {move || record.value().get().map(|r| match r {
                                Ok(None) => view! { <p class="ok" role="status">{c.collected}</p> }.into_any(),
                                Ok(Some(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                            })}
                        </section>
                        <section class="card">
                            <h2>{c.history_title}</h2>
                            {if past.is_empty() {
                                view! { <p class="empty-state">{c.none_collected}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="grid" id="encashments">
                                        <thead><tr>
                                            <th scope="col">"№"</th>
                                            <th scope="col">{c.collected_at}</th>
                                            <th scope="col">{c.collected_by}</th>
                                            <th scope="col" class="num">{c.count}</th>
                                            <th scope="col" class="num">{c.expected}</th>
                                            <th scope="col" class="num">{c.counted}</th>
                                            <th scope="col" class="num">{c.discrepancy}</th>
                                            <th scope="col">{c.report}</th>
                                        </tr></thead>
                                        <tbody>{history}</tbody>
                                    </table>
                                    <PagerNav pager keep=Vec::new() label=c.collections_pager/>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                }
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// The receipt's notice for cash that was not credited: the claim code, read aloud to
/// the operator to get the cash paid again or returned. Nothing when there is no code.
#[component]
pub fn ClaimNotice(code: Option<String>) -> impl IntoView {
    let c = cash_texts();
    code.map(|code| {
        view! {
            <section class="claim-notice" id="receipt-claim" role="alert">
                <h3>{c.claim_title}</h3>
                <p>{c.claim_body}</p>
                <p class="claim-code">{c.claim_code}{": "}<strong id="receipt-claim-code">{code}</strong></p>
            </section>
        }
    })
}
