//! `/osmp-log`: every check and pay a processing center sent, with its answer.

use leptos::prelude::*;

use super::texts::texts;
use crate::provider::model::GatewayLogRow;

#[server(prefix = "/ui", endpoint = "provider/gateway-log")]
pub async fn load_gateway_log() -> Result<Vec<GatewayLogRow>, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    crate::provider::server::store::gateway_log(&state.pool, 500)
        .await
        .map_err(failed)
}

#[component]
pub fn GatewayLogPage() -> impl IntoView {
    let t = texts();
    let rows = Resource::new(|| (), |_| load_gateway_log());
    view! {
        <h1>{t.log_title}</h1>
        <super::SumChecker/>
        <p class="hint">{t.log_hint}</p>
        <section class="card">
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || rows.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.no_log}</p> }.into_any(),
                    Ok(rows) => {
                        let body = rows
                            .into_iter()
                            .map(|r| {
                                let ok = r.result == 0;
                                view! {
                                    <tr>
                                        <td>{r.created_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                                        <td>{r.processing_name.unwrap_or_default()}</td>
                                        <td>{r.protocol.to_uppercase()}</td>
                                        <td><code>{r.command}</code></td>
                                        <td>{r.txn_id.unwrap_or_default()}</td>
                                        <td>{r.account.unwrap_or_default()}</td>
                                        <td class="num">{r.sum.unwrap_or_default()}</td>
                                        // The comment is the protocol's own wording, logged as it went on the wire.
                                        <td class=if ok { "ok" } else { "error" }>{format!("{} — ", r.result)}<code>{r.comment}</code></td>
                                        <td>{r.prv_txn.map(|p| p.to_string()).unwrap_or_default()}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="grid">
                                <thead>
                                    <tr>
                                        <th scope="col">{t.col_time}</th>
                                        <th scope="col">{t.col_contract}</th>
                                        <th scope="col">{t.protocol}</th>
                                        <th scope="col">{t.col_command}</th>
                                        <th scope="col">{t.col_txn_id}</th>
                                        <th scope="col">{t.account}</th>
                                        <th scope="col" class="num">{t.col_amount}</th>
                                        <th scope="col">{t.col_result}</th>
                                        <th scope="col">{t.col_prv_txn}</th>
                                    </tr>
                                </thead>
                                <tbody>{body}</tbody>
                            </table>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
