//! The dashboard's one setting: the money threshold its list is drawn against
//! (processing's low agent deposit, the provider's low subscriber balance;
//! `server::threshold`). Shown under the figures to administrators only — a viewer or an
//! operator sees the threshold in the figures and cannot change it (the server refuses
//! them too, `server::staff::access`). The amount is typed as the page's language writes
//! numbers: `5 000,00` in Russian.

use leptos::prelude::*;

use crate::ui::i18n::{Lang, use_lang};
use crate::ui::staff::model::StaffRole;

pub struct ThresholdTexts {
    pub title: &'static str,
    pub low_deposit: &'static str,
    pub low_balance: &'static str,
    pub hint: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub negative: &'static str,
    pub too_large: &'static str,
}

pub fn threshold_texts() -> &'static ThresholdTexts {
    texts_in(use_lang())
}

fn texts_in(lang: Lang) -> &'static ThresholdTexts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

pub static RU: ThresholdTexts = ThresholdTexts {
    title: "Настройка сводки",
    low_deposit: "Порог низкого аванса агента, ₽",
    low_balance: "Порог низкого баланса абонента, ₽",
    hint: "От 0 до 10 000 000,00 ₽, например «5 000,00». Изменение записывается в журнал.",
    save: "Сохранить порог",
    saved: "Порог сохранён",
    negative: "Порог не может быть меньше нуля",
    too_large: "Порог — не больше 10 000 000,00 ₽",
};

pub static EN: ThresholdTexts = ThresholdTexts {
    title: "Overview setting",
    low_deposit: "Low agent deposit threshold, ₽",
    low_balance: "Low subscriber balance threshold, ₽",
    hint: "From 0 to 10,000,000.00 ₽, e.g. “5,000.00”. The change is recorded in the audit log.",
    save: "Save the threshold",
    saved: "Threshold saved",
    negative: "The threshold cannot be below zero",
    too_large: "The threshold is at most 10,000,000.00 ₽",
};

/// Reads the typed `text` in the request's language, checks it and saves it with the
/// signed-in login: `Ok(None)` saved, `Ok(Some(why))` refused in the page's language
/// (nothing written).
#[cfg(feature = "ssr")]
pub async fn save_typed(
    pool: &crate::server::db::Db,
    threshold: &crate::server::threshold::Threshold,
    text: &str,
) -> Result<Option<String>, ServerFnError> {
    use crate::server::threshold::{self, THRESHOLD_MAX};
    let t = texts_in(crate::server::ui::request_lang());
    let value = match crate::ui::server_fn::typed_amount(text) {
        Ok(value) => value,
        Err(why) => return Ok(Some(why)),
    };
    if value < shared::money::Kopecks::ZERO {
        return Ok(Some(t.negative.to_owned()));
    }
    if value > THRESHOLD_MAX {
        return Ok(Some(t.too_large.to_owned()));
    }
    let by = crate::ui::server_fn::signed_in_login();
    threshold::set(pool, threshold, value, &by)
        .await
        .map_err(crate::ui::server_fn::failed)?;
    tracing::info!(
        key = threshold.key,
        kopecks = value.get(),
        by,
        "threshold changed from the portal"
    );
    Ok(None)
}

/// The setting's card, for administrators only: `children` is the page's form (its own
/// server function), `outcome` what the last save said.
#[component]
pub fn ThresholdCard(
    children: ChildrenFn,
    outcome: Signal<Option<Result<Option<String>, ServerFnError>>>,
) -> impl IntoView {
    let t = threshold_texts();
    let failed = crate::dashboard::dash_texts().failed;
    let who = Resource::new(|| (), |_| crate::ui::staff::who::signed_in());
    let said = move || {
        outcome.get().map(|r| match r {
            Ok(None) => view! { <p class="ok" role="status" id="threshold-outcome">{t.saved}</p> }.into_any(),
            Ok(Some(why)) => view! { <p class="error" role="alert" id="threshold-outcome">{why}</p> }.into_any(),
            Err(e) => view! {
                <p class="error" role="alert" id="threshold-outcome">{crate::ui::staff::refusal::failure_text(failed, &e)}</p>
            }
            .into_any(),
        })
    };
    view! {
        <Transition fallback=|| ()>
            {move || {
                let admin = who
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .is_some_and(|(_, role)| role == StaffRole::Administrator);
                let children = children.clone();
                admin.then(move || view! {
                    <section class="card" id="threshold-setting" aria-labelledby="threshold-setting-h">
                        <h2 id="threshold-setting-h">{t.title}</h2>
                        <p class="hint">{t.hint}</p>
                        {children()}
                        {said}
                    </section>
                })
            }}
        </Transition>
    }
}

/// The form's fields: the amount (named `threshold`, as the server functions take it)
/// under `label`, and the button.
#[component]
pub fn ThresholdFields(label: &'static str, busy: Signal<bool>) -> impl IntoView {
    let t = threshold_texts();
    view! {
        <div class="fields">
            <div class="field">
                <label for="threshold">{label}</label>
                <input id="threshold" name="threshold" inputmode="decimal" required maxlength="32" autocomplete="off"/>
            </div>
        </div>
        <button type="submit" id="save-threshold" disabled=move || busy.get()>{t.save}</button>
    }
}
