//! On the providers page: where processing reaches a provider and as whom — the OSMP (or
//! JSON) endpoint URL, the login and the password the provider issued — edited in place.
//! The way back from a provider that rotated its password or moved: without it the only
//! remedy was the API. The form asks first (`ui::confirm::ConfirmButton`); the server
//! checks the values as a new contract's, keeps the password when the field is left
//! empty, and audits the change without the secret (`credentials_changed`).

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::processing::model::ProviderView;
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::staff::refusal::failure_text;

/// A field of the form the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialField {
    EndpointUrl,
    Login,
    Password,
}

/// What saving came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialsOutcome {
    Saved,
    Unconfirmed,
    Refused(Vec<CredentialField>),
}

struct Texts {
    title: &'static str,
    hint: &'static str,
    endpoint_url: &'static str,
    login: &'static str,
    password: &'static str,
    password_keep: &'static str,
    save: &'static str,
    saved: &'static str,
    unconfirmed: &'static str,
    bad_url: &'static str,
    bad_login: &'static str,
    bad_password: &'static str,
    failed: &'static str,
}

static RU: Texts = Texts {
    title: "Адрес и доступ",
    hint: "Куда процессинг отправляет проверки и платежи этому поставщику, с какими логином и паролем.",
    endpoint_url: "Адрес (URL) шлюза поставщика",
    login: "Логин",
    password: "Новый пароль",
    password_keep: "оставьте пустым, чтобы не менять",
    save: "Сохранить",
    saved: "Сохранено. Следующие проверки и платежи пойдут с новыми данными.",
    unconfirmed: "Не подтверждено: нажмите «Сохранить» и подтвердите.",
    bad_url: "Адрес: нужен URL, начинающийся с http:// или https://, без пробелов, до 500 символов.",
    bad_login: "Логин: тот, что выдал поставщик, без двоеточия, до 200 символов.",
    bad_password: "Пароль: до 200 символов.",
    failed: "Не получилось",
};

static EN: Texts = Texts {
    title: "Address and access",
    hint: "Where processing sends this provider's checks and payments, with which login and password.",
    endpoint_url: "Provider gateway URL",
    login: "Login",
    password: "New password",
    password_keep: "leave empty to keep it",
    save: "Save",
    saved: "Saved. The next checks and payments use the new details.",
    unconfirmed: "Not confirmed: press “Save” and confirm.",
    bad_url: "Address: an http:// or https:// URL, no spaces, at most 500 characters.",
    bad_login: "Login: the one the provider issued, no colon, at most 200 characters.",
    bad_password: "Password: at most 200 characters.",
    failed: "Failed",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

#[server(prefix = "/ui", endpoint = "processing/provider-credentials")]
pub async fn change_provider_credentials(
    id: i64,
    endpoint_url: String,
    login: String,
    password: String,
    confirm: Option<String>,
) -> Result<CredentialsOutcome, ServerFnError> {
    use super::providers::{failed, processing_state};
    use crate::processing::server::admin::{self, ProviderChanges};
    if crate::ui::confirm::require_confirmed(confirm.as_deref()).is_err() {
        return Ok(CredentialsOutcome::Unconfirmed);
    }
    let state = processing_state()?;
    let changes = ProviderChanges {
        endpoint_url: Some(endpoint_url.trim().to_owned()),
        login: Some(login.trim().to_owned()),
        // An empty field keeps the password: the form never shows the stored one.
        password: Some(password).filter(|p| !p.is_empty()),
        ..ProviderChanges::default()
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::change_provider(&state, id, changes, &by).await {
        Ok(_) => Ok(CredentialsOutcome::Saved),
        Err(shared::error::ApiError::Validation { fields }) => Ok(CredentialsOutcome::Refused(
            fields
                .keys()
                .filter_map(|field| match field.as_str() {
                    "endpoint_url" => Some(CredentialField::EndpointUrl),
                    "login" => Some(CredentialField::Login),
                    "password" => Some(CredentialField::Password),
                    _ => None,
                })
                .collect(),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// The form for one provider: `#credentials-{id}` asks and saves.
#[component]
pub fn ProviderCredentials(provider: ProviderView) -> impl IntoView {
    let t = texts();
    let save = ServerAction::<ChangeProviderCredentials>::new();
    let id = provider.provider_id;
    let field_id = move |name: &str| format!("provider-{id}-{name}");
    let (url_id, login_id, password_id) = (
        field_id("endpoint-url"),
        field_id("login"),
        field_id("password"),
    );
    view! {
        <details class="provider-credentials">
            <summary>{t.title}</summary>
            <p class="hint">{t.hint}</p>
            <ActionForm action=save>
                <input type="hidden" name="id" value=id.to_string()/>
                <div class="fields">
                    <div class="field">
                        <label for=url_id.clone()>{t.endpoint_url}</label>
                        <input id=url_id name="endpoint_url" type="url" required maxlength="500" autocomplete="off" value=provider.endpoint_url/>
                    </div>
                    <div class="field">
                        <label for=login_id.clone()>{t.login}</label>
                        <input id=login_id name="login" required maxlength="200" autocomplete="off" value=provider.login/>
                    </div>
                    <div class="field">
                        <label for=password_id.clone()>{t.password}</label>
                        <input id=password_id name="password" type="password" maxlength="200" autocomplete="new-password" placeholder=t.password_keep/>
                    </div>
                </div>
                <ConfirmButton id=format!("credentials-{id}") label=t.save asked=Asked::ChangeProviderCredentials busy=save.pending()/>
            </ActionForm>
            {move || save.value().get().map(|outcome| match outcome {
                Ok(CredentialsOutcome::Saved) => view! { <p class="ok" role="status">{t.saved}</p> }.into_any(),
                Ok(CredentialsOutcome::Unconfirmed) => view! { <p class="error" role="alert">{t.unconfirmed}</p> }.into_any(),
                Ok(CredentialsOutcome::Refused(fields)) => view! {
                    <ul class="error" role="alert">
                        {fields.into_iter().map(|f| view! { <li>{match f {
                            CredentialField::EndpointUrl => t.bad_url,
                            CredentialField::Login => t.bad_login,
                            CredentialField::Password => t.bad_password,
                        }}</li> }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </details>
    }
}
