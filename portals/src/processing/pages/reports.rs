//! `/reports`: the summary and transactions workbooks for a period and a scope. The form
//! is a plain GET of this page; the links it leaves are the API's own downloads, which
//! the operator's browser fetches with the same login.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::agents::load_agents;
use super::providers::{ProviderOptions, load_providers};
use super::texts::texts;
use crate::ui::zone_note::ZoneNote;

/// The processing center's zone (`--time-zone`): whose days a report's period names.
#[server(prefix = "/ui", endpoint = "processing/zone")]
pub async fn processing_zone() -> Result<String, ServerFnError> {
    Ok(super::providers::processing_state()?.zone.name().to_owned())
}

/// `from=…&to=…[&provider_id=…][&agent_id=…]` of the chosen filters.
fn report_query(from: &str, to: &str, provider_id: &str, agent_id: &str) -> String {
    let mut query = format!("from={from}&to={to}");
    for (name, value) in [("provider_id", provider_id), ("agent_id", agent_id)] {
        if !value.is_empty() {
            query.push_str(&format!("&{name}={value}"));
        }
    }
    query
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let providers = Resource::new(|| (), |_| load_providers("name".to_owned(), String::new()));
    let agents = Resource::new(|| (), |_| load_agents("name".to_owned(), String::new()));
    let zone = Resource::new(|| (), |_| processing_zone());
    let links = move || {
        let (from, to) = (get("from")(), get("to")());
        if from.is_empty() || to.is_empty() {
            return view! { <p class="hint">{t.reports_pick}</p> }.into_any();
        }
        let q = report_query(&from, &to, &get("provider_id")(), &get("agent_id")());
        view! {
            <ul class="downloads" id="report-links">
                <li><a id="summary-link" href=format!("/api/admin/v1/reports/summary.xlsx?{q}") download>{t.reports_summary}</a>
                    " — "{t.reports_summary_hint}</li>
                <li><a id="transactions-link" href=format!("/api/admin/v1/reports/transactions.xlsx?{q}") download>{t.reports_transactions}</a>
                    " — "{t.reports_transactions_hint}</li>
            </ul>
        }
        .into_any()
    };
    view! {
        <h1>{t.reports_title}</h1>
        <section class="card">
            <form method="get" class="inline-form" id="reports-form">
                <label for="from">{t.from}</label>
                <input id="from" name="from" type="date" required prop:value=get("from")/>
                <label for="to">{t.to}</label>
                <input id="to" name="to" type="date" required prop:value=get("to")/>
                <label for="provider_id">{t.provider}</label>
                <select id="provider_id" name="provider_id">
                    <option value="">{t.any}</option>
                    <ProviderOptions providers selected=get("provider_id")/>
                </select>
                <label for="agent_id">{t.agent}</label>
                <select id="agent_id" name="agent_id">
                    <option value="">{t.any}</option>
                    <Transition fallback=|| ()>
                        {move || agents.get().and_then(Result::ok).map(|list| list.into_iter().map(|a| {
                            let id = a.agent_id.to_string();
                            let selected = id == get("agent_id")();
                            view! { <option value=id selected=selected>{format!("№{} {}", a.agent_id, a.name)}</option> }
                        }).collect_view())}
                    </Transition>
                </select>
                <button type="submit">{t.show}</button>
            </form>
            <ZoneNote label=t.days_in_zone zone/>
            {links}
        </section>
    }
}
