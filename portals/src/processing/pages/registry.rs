//! `/registry`: a provider's registry of completed payments for a day (the CSV) and its
//! reconciliation against the provider's own `verify` list — payments missing on either
//! side and sums that differ.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::providers::{ProviderOptions, load_providers};
use super::reports::processing_zone;
use super::texts::texts;
use crate::processing::model::Discrepancies;
use crate::ui::rub;
use crate::ui::zone_note::ZoneNote;

/// What the panel shows for a provider and a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reconciliation {
    Checked(Discrepancies),
    /// The provider did not answer `verify` (or refused it): the reason.
    Unreachable(String),
    /// The form was not filled in (or not with a date).
    Incomplete,
}

#[server(prefix = "/ui", endpoint = "processing/registry")]
pub async fn reconcile(provider_id: String, date: String) -> Result<Reconciliation, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::registry;
    use shared::error::ApiError;
    let state = processing_state()?;
    let (Ok(provider_id), Some(day)) = (
        provider_id.trim().parse::<i64>(),
        crate::server::clock::parse_day(&date),
    ) else {
        return Ok(Reconciliation::Incomplete);
    };
    match registry::discrepancies(&state, provider_id, day).await {
        Ok(found) => Ok(Reconciliation::Checked(found)),
        Err(ApiError::ProviderUnavailable { detail }) => Ok(Reconciliation::Unreachable(detail)),
        Err(ApiError::NotFound { what }) => {
            Ok(Reconciliation::Unreachable(format!("{what} not found")))
        }
        Err(other) => Err(failed(other)),
    }
}

#[component]
pub fn RegistryPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let providers = Resource::new(|| (), |_| load_providers("name".to_owned(), String::new()));
    let zone = Resource::new(|| (), |_| processing_zone());
    let result = Resource::new(
        move || (get("provider_id")(), get("date")()),
        |(provider_id, date)| reconcile(provider_id, date),
    );
    view! {
        <h1>{t.registry_title}</h1>
        <p class="hint">{t.registry_hint}</p>
        <section class="card">
            <form method="get" class="inline-form" id="registry-form">
                <label for="provider_id">{t.provider}</label>
                <select id="provider_id" name="provider_id" required>
                    <ProviderOptions providers selected=get("provider_id")/>
                </select>
                <label for="date">{t.registry_day}</label>
                <input id="date" name="date" type="date" required prop:value=get("date")/>
                <button type="submit">{t.registry_check}</button>
            </form>
            <ZoneNote label=t.days_in_zone zone/>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || result.get().map(|r| match r {
                    Ok(Reconciliation::Checked(found)) => view! { <Found found/> }.into_any(),
                    Ok(Reconciliation::Unreachable(why)) => view! { <p class="error" role="status">{format!("{}: {why}", t.registry_unreachable)}</p> }.into_any(),
                    Ok(Reconciliation::Incomplete) => view! { <p class="hint">{t.registry_pick}</p> }.into_any(),
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Found(found: Discrepancies) -> impl IntoView {
    let t = texts();
    let csv = format!(
        "/api/admin/v1/registry/{}/{}.csv",
        found.provider_id, found.date
    );
    let mut rows = Vec::new();
    for id in &found.missing_at_provider {
        rows.push((id.clone(), t.registry_missing_at_provider.to_owned()));
    }
    for id in &found.missing_at_processing {
        rows.push((id.clone(), t.registry_missing_at_processing.to_owned()));
    }
    for (id, ours, theirs) in &found.amount_differs {
        rows.push((
            id.clone(),
            format!(
                "{}: {} / {}",
                t.registry_amount_differs,
                rub(*ours),
                rub(*theirs)
            ),
        ));
    }
    let body = rows
        .into_iter()
        .map(|(id, what)| view! { <tr><td><code>{id}</code></td><td>{what}</td></tr> })
        .collect_view();
    view! {
        <p class=if found.ok { "ok" } else { "error" } role="status" id="registry-verdict">
            {if found.ok { t.registry_ok } else { t.registry_bad }}
            {format!(" ({}: {}, {}: {})", t.registry_ours, found.ours, t.registry_theirs, found.theirs)}
        </p>
        <p><a href=csv download id="registry-csv">{t.registry_csv}</a></p>
        {(!found.ok).then(|| view! {
            <table class="grid" id="discrepancies">
                <thead><tr><th scope="col">{t.registry_txn_id}</th><th scope="col">{t.registry_problem}</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        })}
    }
}
