//! `/transactions`: every balance movement, filtered by account and days.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::subscribers::TransactionTable;
use super::texts::texts;
use crate::provider::model::TransactionRow;

#[server(prefix = "/ui", endpoint = "provider/transactions")]
pub async fn load_transactions(
    account: String,
    from: String,
    to: String,
) -> Result<Vec<TransactionRow>, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use crate::server::clock;
    let state = provider_state()?;
    let bounds = clock::filter_bounds(Some(&from), Some(&to))
        .map_err(|_| ServerFnError::new("a date is YYYY-MM-DD"))?;
    let account = Some(account.trim()).filter(|a| !a.is_empty());
    crate::provider::server::store::transactions(&state.pool, account, bounds, 500)
        .await
        .map_err(failed)
}

#[component]
pub fn TransactionsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let rows = Resource::new(
        move || (get("account")(), get("from")(), get("to")()),
        |(account, from, to)| load_transactions(account, from, to),
    );
    view! {
        <h1>{crate::ui::i18n::t().nav_transactions}</h1>
        <section class="card">
            <form method="get" class="inline-form">
                <label for="account">{t.account}</label>
                <input id="account" name="account" inputmode="numeric" prop:value=get("account")/>
                <label for="from">{t.from}</label>
                <input id="from" name="from" type="date" prop:value=get("from")/>
                <label for="to">{t.to}</label>
                <input id="to" name="to" type="date" prop:value=get("to")/>
                <button type="submit">{t.show}</button>
            </form>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || rows.get().map(|result| match result {
                    Ok(rows) => view! { <TransactionTable rows show_account=true/> }.into_any(),
                    Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
