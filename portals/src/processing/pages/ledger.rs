//! `/ledger`: every ledger account's balance and reservation, and the ledger check.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use super::texts::texts;
use crate::processing::model::{AccountRow, Verification};
use crate::ui::rub;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPage {
    pub accounts: Vec<AccountRow>,
    pub verification: Verification,
}

#[server(prefix = "/ui", endpoint = "processing/ledger")]
pub async fn load_ledger() -> Result<LedgerPage, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::ledger;
    let state = processing_state()?;
    Ok(LedgerPage {
        accounts: ledger::accounts(&state.pool).await.map_err(failed)?,
        verification: ledger::verify(&state.pool).await.map_err(failed)?,
    })
}

#[component]
pub fn LedgerPageView() -> impl IntoView {
    let t = texts();
    let again = RwSignal::new(0u32);
    let data = Resource::new(move || again.get(), |_| load_ledger());
    view! {
        <h1>{t.ledger_title}</h1>
        <p class="hint">{t.ledger_hint}</p>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || data.get().map(|result| match result {
                Ok(page) => {
                    let ok = page.verification.ok;
                    // A check that holds needs no more than its title; a failing one
                    // adds what was found, as the check wrote it (account ids, sums).
                    let checks = page.verification.checks.into_iter().map(|c| view! {
                        <li class=if c.ok { "ok" } else { "error" }>
                            {format!("{} {}", if c.ok { "✓" } else { "✗" }, t.check_title(&c.name))}
                            {(!c.ok).then(|| view! { " — "<code>{c.detail.clone()}</code> })}
                        </li>
                    }).collect_view();
                    let total: i64 = page.accounts.iter().map(|a| a.balance).sum();
                    let rows = page.accounts.into_iter().map(|a| view! {
                        <tr>
                            <td><code>{a.id.clone()}</code></td>
                            <td>{t.account_kind(&a.kind)}</td>
                            <td class="num">{rub(Kopecks::new(a.balance))}</td>
                            <td class="num">{if a.kind == "agent" { rub(Kopecks::new(a.reserved)) } else { String::new() }}</td>
                        </tr>
                    }).collect_view();
                    view! {
                        <section class=if ok { "card" } else { "card danger" } aria-labelledby="verify-title" id="ledger-check">
                            <h2 id="verify-title">{t.verify_title}</h2>
                            <p class=if ok { "ok" } else { "error" } role="status">{if ok { t.verify_ok } else { t.verify_bad }}</p>
                            <ul class="checks">{checks}</ul>
                            <button type="button" on:click=move |_| again.update(|n| *n += 1)>{t.verify_again}</button>
                        </section>
                        <section class="card">
                            <table class="grid" id="ledger">
                                <thead>
                                    <tr>
                                        <th scope="col">{t.col_account}</th>
                                        <th scope="col"></th>
                                        <th scope="col" class="num">{t.balance}</th>
                                        <th scope="col" class="num">{t.reserved}</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                                <tfoot><tr><th scope="row" colspan="2">"Σ"</th><td class="num"><strong>{rub(Kopecks::new(total))}</strong></td><td></td></tr></tfoot>
                            </table>
                        </section>
                    }.into_any()
                }
                Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
            })}
        </Transition>
    }
}
