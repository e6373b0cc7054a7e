//! `/payments`: every payment with its status, attempts and the provider's last answer.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::money::Kopecks;

use super::texts::texts;
use crate::processing::model::PaymentRow;
use crate::ui::rub;

#[server(prefix = "/ui", endpoint = "processing/payments")]
pub async fn load_payments(
    agent_id: String,
    provider_id: String,
    status: String,
    from: String,
    to: String,
) -> Result<Vec<PaymentRow>, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::payment::{self, PaymentFilter};
    use crate::server::clock;
    let state = processing_state()?;
    let bounds = clock::filter_bounds(Some(&from), Some(&to))
        .map_err(|_| ServerFnError::new("a date is YYYY-MM-DD"))?;
    let filter = PaymentFilter {
        agent_id: agent_id.trim().parse().ok(),
        provider_id: provider_id.trim().parse().ok(),
        status: Some(status).filter(|s| !s.is_empty()),
        from: None,
        to: None,
    };
    payment::payments(&state.pool, &filter, bounds, 500)
        .await
        .map_err(failed)
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let rows = Resource::new(
        move || {
            (
                get("agent_id")(),
                get("provider_id")(),
                get("status")(),
                get("from")(),
                get("to")(),
            )
        },
        |(a, p, s, f, to)| load_payments(a, p, s, f, to),
    );
    let statuses = ["", "pending", "completed", "failed", "rejected"]
        .into_iter()
        .map(|s| {
            let label = if s.is_empty() { t.any } else { t.status(s) };
            view! { <option value=s selected=move || get("status")() == s>{label}</option> }
        })
        .collect_view();
    view! {
        <h1>{t.payments_title}</h1>
        <section class="card">
            <form method="get" class="inline-form">
                <label for="agent_id">{t.agent}" №"</label>
                <input id="agent_id" name="agent_id" size="4" inputmode="numeric" prop:value=get("agent_id")/>
                <label for="provider_id">{t.provider}" №"</label>
                <input id="provider_id" name="provider_id" size="4" inputmode="numeric" prop:value=get("provider_id")/>
                <label for="status">{t.status}</label>
                <select id="status" name="status">{statuses}</select>
                <label for="from">{t.from}</label>
                <input id="from" name="from" type="date" prop:value=get("from")/>
                <label for="to">{t.to}</label>
                <input id="to" name="to" type="date" prop:value=get("to")/>
                <button type="submit">{t.show}</button>
            </form>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || rows.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.no_payments}</p> }.into_any(),
                    Ok(rows) => view! { <PaymentTable rows/> }.into_any(),
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
                    <td>{p.created_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                    <td>{format!("№ {} · {} · agent {}", p.id, p.agent_txn_id, p.agent_id)}</td>
                    <td>{format!("{} · {}", p.provider_id, p.account)}</td>
                    <td class="num">{rub(Kopecks::new(p.amount))}</td>
                    <td class="num">{rub(Kopecks::new(p.processing_fee))}</td>
                    <td><span class=badge>{t.status(&p.status)}</span>{p.result.map(|r| format!(" ({r})")).unwrap_or_default()}</td>
                    <td class="num">{p.attempts}</td>
                    <td>{p.last_answer.clone().unwrap_or_default()}</td>
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
