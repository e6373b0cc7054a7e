//! On the processing-contracts page: a new password for a processing center's login,
//! behind a confirmation box, shown once. The old password stops working at once.
//!
//! The confirmation is a required checkbox in the same form: it holds before hydration
//! (the browser will not submit without it) and the server refuses a request without it.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::credentials::{ConfirmBox, IssuedPassword, IssuedTexts};
use crate::ui::i18n::{Lang, use_lang};

struct Texts {
    rotate: &'static str,
    confirm: &'static str,
    unconfirmed: &'static str,
    rotated_title: &'static str,
    rotated_note: &'static str,
    login: &'static str,
    password: &'static str,
    failed: &'static str,
}

static RU: Texts = Texts {
    rotate: "Новый пароль",
    confirm: "подтверждаю",
    unconfirmed: "Отметьте «подтверждаю» рядом с кнопкой.",
    rotated_title: "Новый пароль процессингового центра",
    rotated_note: "Пароль показан один раз: передайте его процессинговому центру. Прежний пароль уже не действует.",
    login: "Логин",
    password: "Пароль",
    failed: "Не получилось",
};

static EN: Texts = Texts {
    rotate: "New password",
    confirm: "confirm",
    unconfirmed: "Tick “confirm” beside the button.",
    rotated_title: "The processing center's new password",
    rotated_note: "Shown once: hand it to the processing center. The old password no longer works.",
    login: "Login",
    password: "Password",
    failed: "Failed",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// A new password, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotateOutcome {
    Rotated { login: String, password: String },
    Unconfirmed,
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "provider/contract-credentials")]
pub async fn rotate_contract_password(
    id: i64,
    confirm: Option<String>,
) -> Result<RotateOutcome, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    if confirm.is_none() {
        return Ok(RotateOutcome::Unconfirmed);
    }
    let state = provider_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    match crate::provider::server::admin::rotate_contract_password(&state, id, &by).await {
        Ok(rotated) => Ok(RotateOutcome::Rotated {
            login: rotated.login,
            password: rotated.password,
        }),
        Err(shared::error::ApiError::Validation { fields }) => Ok(RotateOutcome::Refused(
            fields.into_values().collect::<Vec<_>>().join("; "),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// The button (with its confirmation box) for one contract.
#[component]
pub fn RotateButton(id: i64, action: ServerAction<RotateContractPassword>) -> impl IntoView {
    let t = texts();
    view! {
        <ActionForm action>
            <input type="hidden" name="id" value=id.to_string()/>
            <ConfirmBox id=format!("confirm-rotate-{id}") label=t.confirm/>
            <button type="submit" class="small" id=format!("rotate-{id}")>{t.rotate}</button>
        </ActionForm>
    }
}

/// The new password (once), or why nothing happened.
#[component]
pub fn RotateResult(action: ServerAction<RotateContractPassword>) -> impl IntoView {
    let t = texts();
    move || {
        action.value().get().map(|outcome| match outcome {
            Ok(RotateOutcome::Rotated { login, password }) => view! {
                <IssuedPassword id="rotated-contract" texts=IssuedTexts {
                    title: t.rotated_title,
                    note: t.rotated_note,
                    login: t.login,
                    password: t.password,
                } login password/>
            }
            .into_any(),
            Ok(RotateOutcome::Unconfirmed) => {
                view! { <p class="error" role="alert">{t.unconfirmed}</p> }.into_any()
            }
            Ok(RotateOutcome::Refused(why)) => {
                view! { <p class="error" role="alert">{format!("{}: {why}", t.failed)}</p> }
                    .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }
                .into_any(),
        })
    }
}
