//! On the processing-contracts page: the way back from «Расторгнуть». A closed contract is
//! re-opened after a confirmation; its login comes back with a new password, shown once
//! (the old password, revoked on closing, stays dead).

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::credentials::{IssuedPassword, IssuedTexts};
use crate::ui::i18n::{Lang, use_lang};

struct Texts {
    reopen: &'static str,
    reopened_title: &'static str,
    reopened_note: &'static str,
    login: &'static str,
    password: &'static str,
    failed: &'static str,
}

static RU: Texts = Texts {
    reopen: "Возобновить договор",
    reopened_title: "Договор возобновлён: новый пароль процессингового центра",
    reopened_note: "Пароль показан один раз: передайте его процессинговому центру. Прежний пароль не действует.",
    login: "Логин",
    password: "Пароль",
    failed: "Не получилось",
};

static EN: Texts = Texts {
    reopen: "Re-open the contract",
    reopened_title: "Contract re-opened: the processing center's new password",
    reopened_note: "Shown once: hand it to the processing center. The old password does not work.",
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

/// The re-opened contract's login and new password, or why it stayed closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReopenOutcome {
    Reopened { login: String, password: String },
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "provider/contract-reopen")]
pub async fn reopen_processing_contract(
    id: i64,
    confirm: Option<String>,
) -> Result<ReopenOutcome, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    let state = provider_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    match crate::provider::server::admin::reopen_contract(&state, id, &by).await {
        Ok(reopened) => Ok(ReopenOutcome::Reopened {
            login: reopened.login,
            password: reopened.password,
        }),
        Err(shared::error::ApiError::Validation { fields }) => Ok(ReopenOutcome::Refused(
            fields.into_values().collect::<Vec<_>>().join("; "),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// The re-open button (it asks first) for one closed contract.
#[component]
pub fn ReopenButton(id: i64, action: ServerAction<ReopenProcessingContract>) -> impl IntoView {
    let t = texts();
    view! {
        <ActionForm action>
            <input type="hidden" name="id" value=id.to_string()/>
            <ConfirmButton id=format!("reopen-{id}") label=t.reopen asked=Asked::ReopenProcessingContract/>
        </ActionForm>
    }
}

/// The new password (once), or why nothing happened.
#[component]
pub fn ReopenResult(action: ServerAction<ReopenProcessingContract>) -> impl IntoView {
    let t = texts();
    move || {
        action.value().get().map(|outcome| match outcome {
            Ok(ReopenOutcome::Reopened { login, password }) => view! {
                <IssuedPassword id="reopened-contract" texts=IssuedTexts {
                    title: t.reopened_title,
                    note: t.reopened_note,
                    login: t.login,
                    password: t.password,
                } login password/>
            }
            .into_any(),
            Ok(ReopenOutcome::Refused(why)) => {
                view! { <p class="error" role="alert">{format!("{}: {why}", t.failed)}</p> }
                    .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }
                .into_any(),
        })
    }
}
