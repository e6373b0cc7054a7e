//! `/transactions`: every balance movement, filtered by account and days.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::subscribers::TransactionTable;
use super::texts::texts;
use crate::provider::model::TransactionRow;
use crate::ui::sort::query_string;

/// Movements on one page of the list.
pub const PAGE_ROWS: i64 = 100;

/// One page of movements (older than the id `before`; the newest when empty), and the id
/// the next page starts before when older ones follow.
#[server(prefix = "/ui", endpoint = "provider/transactions")]
pub async fn load_transactions(
    account: String,
    from: String,
    to: String,
    before: String,
) -> Result<(Vec<TransactionRow>, Option<i64>), ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use crate::server::clock;
    let state = provider_state()?;
    let bounds = clock::filter_bounds_in(&state.zone, Some(&from), Some(&to))
        .map_err(|_| ServerFnError::new("a date is YYYY-MM-DD"))?;
    let account = Some(account.trim()).filter(|a| !a.is_empty());
    let before = before.trim().parse().ok();
    // One more than a page: whether an older page exists.
    let mut rows = crate::provider::server::store::transactions(
        &state.pool,
        account,
        bounds,
        before,
        PAGE_ROWS + 1,
    )
    .await
    .map_err(failed)?;
    let more = rows.len() as i64 > PAGE_ROWS;
    rows.truncate(PAGE_ROWS as usize);
    let next = rows.last().filter(|_| more).map(|r| r.id);
    Ok((rows, next))
}

#[component]
pub fn TransactionsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let filters = move || {
        [
            ("account", get("account")()),
            ("from", get("from")()),
            ("to", get("to")()),
        ]
    };
    let rows = Resource::new(
        move || {
            (
                get("account")(),
                get("from")(),
                get("to")(),
                get("before")(),
            )
        },
        |(account, from, to, before)| load_transactions(account, from, to, before),
    );
    let zone = Resource::new(|| (), |_| super::reports::provider_zone());
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
            <crate::ui::zone_note::ZoneNote label=t.days_in_zone zone/>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || rows.get().map(|result| match result {
                    Ok((rows, next)) => {
                        // Whole page loads (rel="external"), as the subscriber list's.
                        let next = next.map(|id| {
                            let mut params = filters().to_vec();
                            params.push(("before", id.to_string()));
                            query_string(&params)
                        });
                        let first = (!get("before")().is_empty()).then(|| query_string(&filters()));
                        view! {
                            <TransactionTable rows show_account=true/>
                            <nav class="pager" aria-label=crate::ui::i18n::t().nav_transactions>
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
