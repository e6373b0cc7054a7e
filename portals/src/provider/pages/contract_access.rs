//! On the processing-contracts page: a new password for a processing center — one action,
//! whichever way its contract stands. A live contract's login gets a new password (the
//! old one stops working at once); a closed contract is re-opened with one (the way back
//! from «Расторгнуть»; the old password, revoked on closing, stays dead). Either asks
//! first (`ui::confirm::ConfirmButton`) and shows the password once.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::credentials::{IssuedPassword, IssuedTexts};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::staff::refusal::failure_text;

struct Texts {
    rotate: &'static str,
    reopen: &'static str,
    rotated_title: &'static str,
    rotated_note: &'static str,
    reopened_title: &'static str,
    reopened_note: &'static str,
    login: &'static str,
    password: &'static str,
    failed: &'static str,
}

static RU: Texts = Texts {
    rotate: "Новый пароль",
    reopen: "Возобновить договор",
    rotated_title: "Новый пароль процессингового центра",
    rotated_note: "Пароль показан один раз: передайте его процессинговому центру. Прежний пароль уже не действует.",
    reopened_title: "Договор возобновлён: новый пароль процессингового центра",
    reopened_note: "Пароль показан один раз: передайте его процессинговому центру. Прежний пароль не действует.",
    login: "Логин",
    password: "Пароль",
    failed: "Не получилось",
};

static EN: Texts = Texts {
    rotate: "New password",
    reopen: "Re-open the contract",
    rotated_title: "The processing center's new password",
    rotated_note: "Shown once: hand it to the processing center. The old password no longer works.",
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

/// The login with its new password (and whether the contract was re-opened for it), or
/// why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessOutcome {
    Issued {
        login: String,
        password: String,
        reopened: bool,
    },
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "provider/contract-access")]
pub async fn renew_contract_access(
    id: i64,
    confirm: Option<String>,
) -> Result<AccessOutcome, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    let state = provider_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    match crate::provider::server::admin::renew_contract_access(&state, id, &by).await {
        Ok((issued, reopened)) => Ok(AccessOutcome::Issued {
            login: issued.login,
            password: issued.password,
            reopened,
        }),
        Err(shared::error::ApiError::Validation { fields }) => Ok(AccessOutcome::Refused(
            fields.into_values().collect::<Vec<_>>().join("; "),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// The button for one contract: «Новый пароль» while it lives (`#rotate-{id}`),
/// «Возобновить договор» once it is closed (`#reopen-{id}`); each asks first.
#[component]
pub fn AccessButton(
    id: i64,
    closed: bool,
    action: ServerAction<RenewContractAccess>,
) -> impl IntoView {
    let t = texts();
    let button = if closed {
        view! { <ConfirmButton id=format!("reopen-{id}") label=t.reopen asked=Asked::ReopenProcessingContract/> }
    } else {
        view! { <ConfirmButton id=format!("rotate-{id}") label=t.rotate asked=Asked::RotateProcessingPassword/> }
    };
    view! {
        <ActionForm action>
            <input type="hidden" name="id" value=id.to_string()/>
            {button}
        </ActionForm>
    }
}

/// The new password (once: `#rotated-contract-password` or
/// `#reopened-contract-password`), or why nothing happened.
#[component]
pub fn AccessResult(action: ServerAction<RenewContractAccess>) -> impl IntoView {
    let t = texts();
    move || {
        action.value().get().map(|outcome| match outcome {
            Ok(AccessOutcome::Issued {
                login,
                password,
                reopened,
            }) => {
                let (id, title, note) = if reopened {
                    ("reopened-contract", t.reopened_title, t.reopened_note)
                } else {
                    ("rotated-contract", t.rotated_title, t.rotated_note)
                };
                view! {
                    <IssuedPassword id texts=IssuedTexts {
                        title,
                        note,
                        login: t.login,
                        password: t.password,
                    } login password/>
                }
                .into_any()
            }
            Ok(AccessOutcome::Refused(why)) => {
                view! { <p class="error" role="alert">{format!("{}: {why}", t.failed)}</p> }
                    .into_any()
            }
            Err(e) => {
                view! { <p class="error" role="alert">{failure_text(t.failed, &e)}</p> }.into_any()
            }
        })
    }
}
