//! `/`: the subscriber's contracts with the balance each provider gave with its last
//! charge, and the latest charges across them.

use leptos::prelude::*;
use shared::money::Kopecks;

use crate::consumer::figures::{ContractLine, Dashboard, RecentUse};
use crate::dashboard::{DashTexts, Tile, dash_texts};
use crate::ui::i18n::use_lang;
use crate::ui::rub;
use crate::ui::when::date_time;

#[server(prefix = "/ui", endpoint = "consumer/dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, ServerFnError> {
    let state: crate::consumer::server::ConsumerState = crate::ui::server_fn::role_state()?;
    Ok(crate::consumer::server::dashboard::dashboard(&state).await)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    crate::dashboard::page(dash_texts().cons_title, load_dashboard, |d| {
        view! { <Figures d=d/> }.into_any()
    })
}

/// A service's name for people.
fn service_name(service: &str, t: &DashTexts) -> String {
    match service {
        "call" => t.svc_call.to_owned(),
        "internet" => t.svc_internet.to_owned(),
        "sms" => t.svc_sms.to_owned(),
        other => other.to_owned(),
    }
}

#[component]
fn Figures(d: Dashboard) -> impl IntoView {
    let t = dash_texts();
    if d.contracts.is_empty() {
        return view! {
            <p class="empty-state">{t.cons_none}</p>
            <p><a href="/contracts">{t.cons_add}</a></p>
        }
        .into_any();
    }
    let total_charged: i64 = d.contracts.iter().map(|c| c.charged_total).sum();
    let count = d.contracts.len() as i64;
    let cards = d
        .contracts
        .into_iter()
        .map(|c| view! { <ContractCard c=c/> })
        .collect_view();
    view! {
        <div class="tiles">
            <Tile id="tile-contracts" label=t.cons_contracts figure=count.to_string() count=count/>
            <Tile id="tile-charged" label=t.cons_charged figure=rub(Kopecks::new(total_charged)) kopecks=total_charged/>
        </div>
        <div class="dash-columns">{cards}</div>
        <section class="card" id="recent-uses" aria-labelledby="recent-h">
            <h2 id="recent-h">{t.cons_recent}</h2>
            <RecentTable rows=d.recent/>
        </section>
    }
    .into_any()
}

#[component]
fn ContractCard(c: ContractLine) -> impl IntoView {
    let t = dash_texts();
    let services = c
        .services
        .iter()
        .map(|s| service_name(s, t))
        .collect::<Vec<_>>()
        .join(", ");
    let balance = c
        .balance
        .map(|b| rub(Kopecks::new(b)))
        .unwrap_or_else(|| t.cons_balance_unknown.to_owned());
    let balance_at = c
        .balance_at
        .as_deref()
        .map(|at| format!("{} {}", t.cons_balance_as_of, date_time(use_lang(), at)))
        .unwrap_or_else(|| t.cons_balance_after_use.to_owned());
    view! {
        <section class="card tile-card" data-contract-id=c.id data-kopecks=c.balance>
            <h2>{c.provider_name}</h2>
            <dl class="pairs">
                <dt>{t.col_account}</dt><dd>{c.account}</dd>
                <dt>{t.cons_services}</dt><dd>{services}</dd>
                <dt>{t.col_balance}</dt><dd><strong class="balance">{balance}</strong><br/><span class="hint">{balance_at}</span></dd>
                <dt>{t.cons_charged}</dt><dd>{format!("{} · {}: {}", rub(Kopecks::new(c.charged_total)), t.cons_uses_n, c.uses)}</dd>
            </dl>
        </section>
    }
}

#[component]
fn RecentTable(rows: Vec<RecentUse>) -> impl IntoView {
    let t = dash_texts();
    if rows.is_empty() {
        return view! { <p class="hint">{t.cons_recent_none}</p> }.into_any();
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            let when = date_time(use_lang(), &r.use_.at);
            let outcome = match (&r.use_.charged, &r.use_.refusal) {
                (Some(charged), _) => rub(charged.amount),
                (None, Some(_)) => t.cons_refused.to_owned(),
                (None, None) => String::new(),
            };
            view! {
                <tr>
                    <td>{when}</td>
                    <td>{r.provider_name}</td>
                    <td>{service_name(&r.use_.service, t)}</td>
                    <td class="num">{r.use_.quantity}</td>
                    <td class="num">{outcome}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_when}</th>
                <th scope="col">{t.col_provider}</th>
                <th scope="col">{t.cons_services}</th>
                <th scope="col" class="num">{t.cons_quantity}</th>
                <th scope="col" class="num">{t.cons_charged}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
