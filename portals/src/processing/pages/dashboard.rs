//! `/`: what processing's staff watch — turnover today and this hour, payments waiting
//! for providers, providers whose last attempt failed, agents with a low deposit, the
//! ledger check and the last day's turnover by hour.

use leptos::form::ActionForm;
use leptos::prelude::*;
use shared::money::Kopecks;

use crate::dashboard::chart::{ChartBar, ChartText, bar_chart_svg};
use crate::dashboard::threshold::{ThresholdCard, ThresholdFields, threshold_texts};
use crate::dashboard::{DashTexts, Tile, Tone, ago_text, dash_texts, duration_text};
use crate::processing::figures::{AnswerKind, Bar, Dashboard, Health, ProviderHealth};
use crate::ui::rub;

#[server(prefix = "/ui", endpoint = "processing/dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, ServerFnError> {
    use super::providers::{failed, processing_state};
    let state = processing_state()?;
    crate::processing::server::dashboard::dashboard(&state.pool, &state.zone)
        .await
        .map_err(failed)
}

/// The low-deposit threshold typed on the page (`5 000,00`); an administrator's.
#[server(prefix = "/ui", endpoint = "processing/save-threshold")]
pub async fn save_threshold(threshold: String) -> Result<Option<String>, ServerFnError> {
    let state = super::providers::processing_state()?;
    crate::dashboard::threshold::save_typed(
        &state.pool,
        &crate::processing::server::dashboard::LOW_DEPOSIT,
        &threshold,
    )
    .await
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let save = ServerAction::<SaveThreshold>::new();
    let label = threshold_texts().low_deposit;
    view! {
        {crate::dashboard::page_reloaded_by(
            dash_texts().proc_title,
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
    let providers_class = if d.failing_providers() > 0 {
        "card danger"
    } else {
        "card"
    };
    let pending_note = match d.pending.oldest_age_secs {
        Some(age) => format!("{} {}", t.pending_oldest, duration_text(age, t)),
        None => t.pending_none.to_owned(),
    };
    // A payment waiting more than ten minutes means a provider is not taking them.
    let pending_tone = match d.pending.oldest_age_secs {
        Some(age) if age > 600 => Tone::Bad,
        Some(_) => Tone::Warn,
        None => Tone::Good,
    };
    let oldest_pending = d.pending.oldest_payment_id.map(|payment_id| {
        view! { <super::payment_detail::OldestPendingLink payment_id/> }
    });
    let passed = d.ledger.checks.iter().filter(|c| c.ok).count();
    let ledger_note = format!("{passed}/{} {}", d.ledger.checks.len(), t.ledger_checks_n);
    let svg = bar_chart_svg(
        &ChartText {
            id: "turnover-chart",
            title: t.chart_title,
            desc: t.chart_desc,
        },
        &hour_bars(&d.hours, t),
        |k| rub(Kopecks::new(k)),
    );
    view! {
        <div class="tiles">
            <Tile id="tile-today" label=t.today figure=rub(Kopecks::new(d.today.amount))
                note=format!("{}: {} · {} {}", t.payments_n, d.today.count, t.fees, rub(Kopecks::new(d.today.fees)))
                count=d.today.count kopecks=d.today.amount/>
            <Tile id="tile-hour" label=t.last_hour figure=rub(Kopecks::new(d.hour.amount))
                note=format!("{}: {}", t.payments_n, d.hour.count)
                count=d.hour.count kopecks=d.hour.amount/>
            <Tile id="tile-pending" label=t.pending figure=d.pending.count.to_string()
                note=pending_note tone=pending_tone count=d.pending.count kopecks=d.pending.amount/>
            <Tile id="tile-ledger" label=t.ledger_check
                figure=(if d.ledger.ok { t.ledger_ok } else { t.ledger_bad }).to_owned()
                note=ledger_note tone=if d.ledger.ok { Tone::Good } else { Tone::Bad }/>
        </div>
        {oldest_pending}
        <section class="card" aria-labelledby="turnover-chart-h">
            <h2 id="turnover-chart-h">{t.chart_title}</h2>
            <div class="chart" inner_html=svg></div>
            <p class="hint">{t.chart_hint}</p>
        </section>
        <div class="dash-columns">
            <section class=providers_class id="provider-health" aria-labelledby="provider-health-h">
                <h2 id="provider-health-h">{t.providers_title}</h2>
                <p class="hint">{t.providers_hint}</p>
                <ProviderTable providers=d.providers/>
                <p><a href="/providers">{t.more_details}</a></p>
            </section>
            <section class="card" id="low-deposits" aria-labelledby="low-deposits-h">
                <h2 id="low-deposits-h">{t.low_deposits_title}</h2>
                <p class="hint" id="low-deposit-threshold" data-kopecks=d.low_deposit_threshold>
                    {format!("{}: {}.", t.low_deposits_hint, rub(Kopecks::new(d.low_deposit_threshold)))}
                </p>
                <LowDeposits d=d.low_deposits/>
                <p><a href="/agents">{t.more_details}</a></p>
            </section>
        </div>
    }
}

fn hour_bars(hours: &[Bar], t: &DashTexts) -> Vec<ChartBar> {
    hours
        .iter()
        .map(|bar| {
            let when = if bar.ago == 0 {
                t.now.to_owned()
            } else {
                format!("-{} {}", bar.ago, t.hours_short)
            };
            ChartBar {
                value: bar.amount,
                tooltip: format!(
                    "{when}: {} {}, {} {}",
                    t.payments_n,
                    bar.count,
                    t.chart_bar,
                    rub(Kopecks::new(bar.amount))
                ),
                axis_label: (bar.ago % 3 == 0).then_some(when),
            }
        })
        .collect()
}

fn health_text(health: Health, t: &DashTexts) -> (&'static str, &'static str) {
    match health {
        Health::Healthy => (t.health_healthy, "badge badge-active"),
        Health::Failing => (t.health_failing, "badge badge-bad"),
        Health::Refusing => (t.health_refusing, "badge badge-suspended"),
        Health::Unused => (t.health_unused, "badge badge-closed"),
        Health::Off => (t.health_off, "badge badge-closed"),
    }
}

/// A provider's answer in the page's language.
pub(super) fn answer_text(answer: Option<AnswerKind>, t: &DashTexts) -> String {
    match answer {
        Some(AnswerKind::Unauthorized) => t.answer_unauthorized.to_owned(),
        Some(AnswerKind::NoAnswer) => t.answer_none.to_owned(),
        Some(AnswerKind::Code(code)) => format!("{} {code}", t.answer_code),
        None => String::new(),
    }
}

#[component]
fn ProviderTable(providers: Vec<ProviderHealth>) -> impl IntoView {
    let t = dash_texts();
    if providers.is_empty() {
        return view! { <p class="empty-state">{t.no_providers}</p> }.into_any();
    }
    let rows = providers
        .into_iter()
        .map(|p| {
            let (state, class) = health_text(p.health, t);
            view! {
                <tr data-provider-id=p.provider_id data-health=format!("{:?}", p.health)>
                    <td>{p.name}</td>
                    <td><span class=class>{state}</span></td>
                    <td>{answer_text(p.answer, t)}</td>
                    <td>{ago_text(p.last_attempt_age_secs, t)}</td>
                    <td class="num">{p.pending}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_name}</th>
                <th scope="col">{t.col_state}</th>
                <th scope="col">{t.col_last_answer}</th>
                <th scope="col">{t.col_when}</th>
                <th scope="col" class="num">{t.col_pending}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn LowDeposits(d: Vec<crate::processing::figures::LowDeposit>) -> impl IntoView {
    let t = dash_texts();
    if d.is_empty() {
        return view! { <p class="ok">{t.low_deposits_none}</p> }.into_any();
    }
    let rows = d
        .into_iter()
        .map(|a| {
            view! {
                <tr data-agent-id=a.agent_id data-kopecks=a.available>
                    <td>{a.name}</td>
                    <td class="num">{rub(Kopecks::new(a.available))}</td>
                    <td>{if a.status == "suspended" { t.agent_suspended } else { t.agent_active }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_agent}</th>
                <th scope="col" class="num">{t.col_available}</th>
                <th scope="col">{t.col_state}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
