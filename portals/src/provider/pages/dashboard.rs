//! `/`: what the provider's billing staff watch — payments today, subscribers with a
//! zero or low balance, the processing contracts and what came through each, and the
//! last fortnight's payments by day.

use leptos::form::ActionForm;
use leptos::prelude::*;
use shared::money::Kopecks;

use crate::dashboard::chart::{ChartBar, ChartText, bar_chart_svg};
use crate::dashboard::threshold::{ThresholdCard, ThresholdFields, threshold_texts};
use crate::dashboard::{DashTexts, Tile, Tone, ago_text, dash_texts};
use crate::provider::figures::{ContractLine, Dashboard, DayBar, LowBalance};
use crate::ui::rub;

#[server(prefix = "/ui", endpoint = "provider/dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, ServerFnError> {
    use crate::ui::server_fn::{failed, role_state};
    let state: crate::provider::server::ProviderState = role_state()?;
    crate::provider::server::dashboard::dashboard(&state.pool, &state.zone)
        .await
        .map_err(failed)
}

/// The low-balance threshold typed on the page (`5 000,00`); an administrator's.
#[server(prefix = "/ui", endpoint = "provider/save-threshold")]
pub async fn save_threshold(threshold: String) -> Result<Option<String>, ServerFnError> {
    let state: crate::provider::server::ProviderState = crate::ui::server_fn::role_state()?;
    crate::dashboard::threshold::save_typed(
        &state.pool,
        &crate::provider::server::dashboard::LOW_BALANCE,
        &threshold,
    )
    .await
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let save = ServerAction::<SaveThreshold>::new();
    let label = threshold_texts().low_balance;
    view! {
        {crate::dashboard::page_reloaded_by(
            dash_texts().prov_title,
            load_dashboard,
            |d| view! { <Figures d=d/> }.into_any(),
            Signal::derive(move || save.version().get()),
        )}
        <ThresholdCard outcome=Signal::derive(move || save.value().get())>
            <ActionForm action=save>
                <ThresholdFields label busy=Signal::derive(move || save.pending().get())/>
            </ActionForm>
        </ThresholdCard>
    }
}

#[component]
fn Figures(d: Dashboard) -> impl IntoView {
    let t = dash_texts();
    let active_contracts = d.contracts.iter().filter(|c| c.status == "active").count();
    let svg = bar_chart_svg(
        &ChartText {
            id: "payments-chart",
            title: t.days_chart_title,
            desc: t.days_chart_desc,
        },
        &day_bars(&d.days, t),
        |k| rub(Kopecks::new(k)),
    );
    let low_tone = if d.low_balance_count > 0 {
        Tone::Warn
    } else {
        Tone::Good
    };
    view! {
        <div class="tiles">
            <Tile id="tile-payments-today" label=t.payments_today figure=rub(Kopecks::new(d.amount_today))
                note=format!("{}: {}", t.payments_n, d.payments_today)
                count=d.payments_today kopecks=d.amount_today/>
            <Tile id="tile-subscribers" label=t.subscribers_active figure=d.active_subscribers.to_string()
                count=d.active_subscribers/>
            <Tile id="tile-low-balance" label=t.low_balance figure=d.low_balance_count.to_string()
                note=format!("< {}", rub(Kopecks::new(d.low_balance_threshold)))
                tone=low_tone count=d.low_balance_count kopecks=d.low_balance_threshold/>
            <Tile id="tile-contracts" label=t.contracts_title figure=format!("{active_contracts} / {}", d.contracts.len())
                note=t.contract_active.to_lowercase() count=active_contracts as i64/>
        </div>
        <section class="card" aria-labelledby="payments-chart-h">
            <h2 id="payments-chart-h">{t.days_chart_title}</h2>
            <div class="chart" inner_html=svg></div>
        </section>
        <div class="dash-columns">
            <section class="card" id="low-balances" aria-labelledby="low-balances-h">
                <h2 id="low-balances-h">{t.low_balance_title}</h2>
                <p class="hint" id="low-balance-threshold" data-kopecks=d.low_balance_threshold>{format!("{}: {}.", t.low_balance_hint, rub(Kopecks::new(d.low_balance_threshold)))}</p>
                <LowBalances rows=d.low_balances/>
                <p><a href="/subscribers">{t.more_details}</a></p>
            </section>
            <section class="card" id="processing-contracts" aria-labelledby="contracts-h">
                <h2 id="contracts-h">{t.contracts_title}</h2>
                <Contracts rows=d.contracts/>
                <p><a href="/processing-contracts">{t.more_details}</a></p>
            </section>
        </div>
    }
}

fn day_bars(days: &[DayBar], t: &DashTexts) -> Vec<ChartBar> {
    days.iter()
        .map(|d| {
            // `MM-DD` under every other day; today by its name.
            let label = if d.ago == 0 {
                t.now.to_owned()
            } else {
                d.day.get(8..10).unwrap_or_default().to_owned()
                    + "."
                    + d.day.get(5..7).unwrap_or_default()
            };
            ChartBar {
                value: d.amount,
                tooltip: format!(
                    "{label}: {} {}, {}",
                    t.payments_n,
                    d.count,
                    rub(Kopecks::new(d.amount))
                ),
                axis_label: (d.ago % 2 == 0).then_some(label),
            }
        })
        .collect()
}

#[component]
fn LowBalances(rows: Vec<LowBalance>) -> impl IntoView {
    let t = dash_texts();
    if rows.is_empty() {
        return view! { <p class="ok">{t.low_balance_none}</p> }.into_any();
    }
    let rows = rows
        .into_iter()
        .map(|s| {
            let href = format!("/subscribers/{}", s.account);
            let account = s.account.clone();
            view! {
                <tr data-account=account data-kopecks=s.balance>
                    <td><a href=href>{s.account}</a></td>
                    <td>{s.full_name}</td>
                    <td class="num">{rub(Kopecks::new(s.balance))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_account}</th>
                <th scope="col">{t.col_subscriber}</th>
                <th scope="col" class="num">{t.col_balance}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn status_badge(status: &str, t: &DashTexts) -> (&'static str, &'static str) {
    match status {
        "active" => (t.contract_active, "badge badge-active"),
        "suspended" => (t.contract_suspended, "badge badge-suspended"),
        _ => (t.contract_closed, "badge badge-closed"),
    }
}

#[component]
fn Contracts(rows: Vec<ContractLine>) -> impl IntoView {
    let t = dash_texts();
    if rows.is_empty() {
        return view! { <p class="empty-state">{t.contracts_none}</p> }.into_any();
    }
    let rows = rows
        .into_iter()
        .map(|c| {
            let (state, class) = status_badge(&c.status, t);
            view! {
                <tr data-contract-id=c.contract_id data-count=c.payments_today>
                    <td>{c.processing_name}</td>
                    <td>{c.protocol.to_uppercase()}</td>
                    <td><span class=class>{state}</span></td>
                    <td class="num">{format!("{} · {}", c.payments_today, rub(Kopecks::new(c.amount_today)))}</td>
                    <td>{ago_text(c.last_payment_age_secs, t)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_processing}</th>
                <th scope="col">{t.col_protocol}</th>
                <th scope="col">{t.col_state}</th>
                <th scope="col" class="num">{t.col_payments_today}</th>
                <th scope="col">{t.col_last_payment}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
