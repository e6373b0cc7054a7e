//! `/payments`: every payment with its status, attempts and the provider's last answer.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use super::texts::texts;
use crate::processing::figures::AnswerKind;
use crate::processing::model::PaymentRow;
use crate::ui::rub;
use crate::ui::when::local_date_time;

/// Rows on one page of the list: enough to scan, few enough to read.
pub const PAGE_ROWS: i64 = 50;

/// One page of the list, and whether older payments follow it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentsPage {
    pub rows: Vec<PaymentRow>,
    pub more: bool,
}

#[server(prefix = "/ui", endpoint = "processing/payments")]
pub async fn load_payments(
    agent_id: String,
    provider_id: String,
    status: String,
    from: String,
    to: String,
    before: String,
) -> Result<PaymentsPage, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::payment::{self, PaymentFilter};
    use crate::server::clock;
    let state = processing_state()?;
    let bounds = clock::filter_bounds_in(&state.zone, Some(&from), Some(&to))
        .map_err(|_| ServerFnError::new("a date is YYYY-MM-DD"))?;
    let filter = PaymentFilter {
        agent_id: agent_id.trim().parse().ok(),
        provider_id: provider_id.trim().parse().ok(),
        status: Some(status).filter(|s| !s.is_empty()),
        before: before.trim().parse().ok(),
        ..PaymentFilter::default()
    };
    // One more than a page: whether there is a next page, without counting them all.
    let mut rows = payment::payments(&state.pool, &filter, bounds, PAGE_ROWS + 1)
        .await
        .map_err(failed)?;
    let more = rows.len() as i64 > PAGE_ROWS;
    rows.truncate(PAGE_ROWS as usize);
    // Stored instants are UTC; the page shows processing's wall clock, as the detail page does.
    for row in &mut rows {
        if let Some(shown) = state.zone.local(&row.created_at) {
            row.created_at = shown;
        }
    }
    Ok(PaymentsPage { rows, more })
}

/// The agents and providers by name, for the filter's pickers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Choices {
    pub agents: Vec<(i64, String)>,
    pub providers: Vec<(i64, String)>,
}

#[server(prefix = "/ui", endpoint = "processing/payment-choices")]
pub async fn load_choices() -> Result<Choices, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::store;
    let state = processing_state()?;
    let agents = store::agents(&state.pool).await.map_err(failed)?;
    let providers = store::providers(&state.pool).await.map_err(failed)?;
    Ok(Choices {
        agents: agents.into_iter().map(|a| (a.id, a.name)).collect(),
        providers: providers.into_iter().map(|p| (p.id, p.name)).collect(),
    })
}

/// The list's query string with `before` set (or left out), the other filters kept.
fn query_with_before(filters: &[(&str, String)], before: Option<i64>) -> String {
    let before = before.map(|id| id.to_string()).unwrap_or_default();
    filters
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .chain([("before", before.as_str())])
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", crate::ui::encode_query_value(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let filters = move || {
        ["agent_id", "provider_id", "status", "from", "to"]
            .map(|name| (name, get(name)()))
            .to_vec()
    };
    let rows = Resource::new(
        move || (filters(), get("before")()),
        |(f, before)| {
            let value = |i: usize| f[i].1.clone();
            load_payments(value(0), value(1), value(2), value(3), value(4), before)
        },
    );
    let choices = Resource::new(|| (), |()| load_choices());
    let statuses = ["", "pending", "completed", "failed", "rejected"]
        .into_iter()
        .map(|s| {
            let label = if s.is_empty() { t.any } else { t.status(s) };
            view! { <option value=s selected=move || get("status")() == s>{label}</option> }
        })
        .collect_view();
    let picker = move |name: &'static str, pick: fn(&Choices) -> &Vec<(i64, String)>| {
        move || {
            let options = choices
                .get()
                .and_then(Result::ok)
                .map(|c| pick(&c).clone())
                .unwrap_or_default()
                .into_iter()
                .map(|(id, label)| {
                    let value = id.to_string();
                    let selected = get(name)() == value;
                    view! { <option value=value selected=selected>{label}</option> }
                })
                .collect_view();
            view! { <option value="">{t.any}</option>{options} }
        }
    };
    // Both exports hold what the filter selects (every page, not only this one).
    let export = move |format: &str| {
        format!(
            "/api/admin/v1/payments.{format}?{}",
            query_with_before(&filters(), None)
        )
    };
    view! {
        <h1>{t.payments_title}</h1>
        <section class="card">
            <form method="get" class="inline-form">
                <label for="agent_id">{t.agent}</label>
                <select id="agent_id" name="agent_id">{picker("agent_id", |c| &c.agents)}</select>
                <label for="provider_id">{t.provider}</label>
                <select id="provider_id" name="provider_id">{picker("provider_id", |c| &c.providers)}</select>
                <label for="status">{t.status}</label>
                <select id="status" name="status">{statuses}</select>
                <label for="from">{t.from}</label>
                <input id="from" name="from" type="date" prop:value=get("from")/>
                <label for="to">{t.to}</label>
                <input id="to" name="to" type="date" prop:value=get("to")/>
                <button type="submit">{t.show}</button>
                <a class="button secondary" id="export-csv" href=move || export("csv") download="payments.csv">{t.export_csv}</a>
                <a class="button secondary" id="export-xlsx" href=move || export("xlsx") download="payments.xlsx">{t.export_xlsx}</a>
            </form>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || rows.get().map(|result| match result {
                    Ok(page) if page.rows.is_empty() => view! { <p class="empty-state">{t.no_payments}</p> }.into_any(),
                    Ok(page) => {
                        let next = page
                            .more
                            .then(|| page.rows.last().map(|r| r.id))
                            .flatten()
                            .map(|last| format!("?{}", query_with_before(&filters(), Some(last))));
                        let first = (!get("before")().is_empty())
                            .then(|| format!("?{}", query_with_before(&filters(), None)));
                        view! {
                            <PaymentTable rows=page.rows/>
                            // Whole page loads (rel="external": the router leaves them to
                            // the browser), as the filter form's are: the server renders each
                            // page, and the address is one to bookmark or send.
                            <nav class="pager" aria-label=t.payments_title>
                                {first.map(|href| view! { <a id="first-page" rel="external" href=href>{t.first_page}</a> })}
                                {next.map(|href| view! { <a id="next-page" rel="external" href=href>{t.next_page}</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PaymentTable(rows: Vec<PaymentRow>) -> impl IntoView {
    let t = texts();
    let body = rows
        .into_iter()
        .map(|p| {
            let badge = match p.status.as_str() {
                "completed" => "badge badge-active",
                "pending" => "badge badge-suspended",
                _ => "badge badge-closed",
            };
            view! {
                <tr>
                    <td class="payment-time">{local_date_time(&p.created_at)}</td>
                    <td><a class="payment-link" rel="external" href=format!("/payments/{}", p.id)>{format!("№ {}", p.id)}</a>" · "<code>{p.agent_txn_id.clone()}</code>{format!(" · {} {}", t.agent.to_lowercase(), p.agent_id)}</td>
                    <td>{format!("{} · {}", p.provider_id, p.account)}</td>
                    <td class="num">{rub(Kopecks::new(p.amount))}</td>
                    <td class="num">{rub(Kopecks::new(p.processing_fee))}</td>
                    <td><span class=badge>{t.status(&p.status)}</span>{p.result.map(|r| format!(" ({r})")).unwrap_or_default()}</td>
                    <td class="num">{p.attempts}</td>
                    // The stored answer is the connector's English log line; the page
                    // names what kind of answer it was.
                    <td>{super::dashboard::answer_text(p.last_answer.as_deref().map(AnswerKind::of), crate::dashboard::dash_texts())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid" id="payments">
            <thead>
                <tr>
                    <th scope="col">{t.col_time}</th>
                    <th scope="col">{t.col_ids}</th>
                    <th scope="col">{t.provider}" · "{t.account}</th>
                    <th scope="col" class="num">{t.amount}</th>
                    <th scope="col" class="num">{t.fee}</th>
                    <th scope="col">{t.status}</th>
                    <th scope="col" class="num">{t.col_attempts}</th>
                    <th scope="col">{t.col_answer}</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}
