//! `/tariffs`: the price of one unit of each service.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::texts::texts;
use crate::provider::model::Tariff;
use crate::ui::rub;

#[server(prefix = "/ui", endpoint = "provider/tariffs")]
pub async fn load_tariffs() -> Result<Vec<Tariff>, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    crate::provider::server::store::tariffs(&state.pool)
        .await
        .map_err(failed)
}

/// `Ok(false)` when a price was not a valid amount (nothing is changed then).
#[server(prefix = "/ui", endpoint = "provider/set-tariffs")]
pub async fn save_tariffs(
    call: String,
    internet: String,
    sms: String,
) -> Result<bool, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use crate::provider::domain::Service;
    let state = provider_state()?;
    let mut prices = Vec::new();
    for (service, text) in [
        (Service::Call, call),
        (Service::Internet, internet),
        (Service::Sms, sms),
    ] {
        match crate::ui::server_fn::typed_amount(&text) {
            Ok(price) if !price.is_negative() => prices.push((service, price)),
            _ => return Ok(false),
        }
    }
    let by = crate::ui::server_fn::signed_in_login();
    crate::provider::server::store::set_tariffs(&state.pool, &prices, &by)
        .await
        .map_err(failed)?;
    tracing::info!(?prices, by, "tariffs changed from the portal");
    Ok(true)
}

#[component]
pub fn TariffsPage() -> impl IntoView {
    let t = texts();
    let save = ServerAction::<SaveTariffs>::new();
    let tariffs = Resource::new(move || save.version().get(), |_| load_tariffs());
    view! {
        <h1>{crate::ui::i18n::t().nav_tariffs}</h1>
        <section class="card">
            <p class="hint">{t.tariffs_hint}</p>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || tariffs.get().map(|result| match result {
                    Ok(rows) => {
                        let inputs = rows
                            .into_iter()
                            .map(|tariff| {
                                let id = format!("tariff-{}", tariff.service);
                                let label_for = id.clone();
                                view! {
                                    <div class="field">
                                        <label for=label_for>
                                            {format!("{}, ₽ {} {}", t.service(&tariff.service), t.per, t.unit(&tariff.unit))}
                                        </label>
                                        <input id=id name=tariff.service.clone() inputmode="decimal" required value=crate::ui::money::format_number(crate::ui::i18n::use_lang(), tariff.unit_price)/>
                                        <span class="hint">{rub(tariff.unit_price)}</span>
                                    </div>
                                }
                            })
                            .collect_view();
                        view! {
                            <ActionForm action=save>
                                <div class="fields">{inputs}</div>
                                <button type="submit">{t.save}</button>
                                {move || match save.value().get() {
                                    Some(Ok(true)) => view! { <span class="ok" role="status">{" "}{t.saved}</span> }.into_any(),
                                    Some(Ok(false)) => view! { <span class="error" role="alert">{" "}{t.invalid_amount}</span> }.into_any(),
                                    Some(Err(e)) => view! { <span class="error" role="alert" id="tariffs-failed">{" "}{crate::ui::staff::refusal::failure_text(t.failed, &e)}</span> }.into_any(),
                                    None => ().into_any(),
                                }}
                            </ActionForm>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
