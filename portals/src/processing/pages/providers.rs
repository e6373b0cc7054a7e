//! `/providers`: provider contracts — sign, list, switch on and off, test the connection.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::texts::texts;
use crate::processing::listing::ProviderSort;
use crate::processing::model::{ConnectionTest, ProviderView};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::rub;
use crate::ui::sort::{order_of, sort_link};

#[cfg(feature = "ssr")]
pub fn processing_state() -> Result<crate::processing::server::ProcessingState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

#[cfg(feature = "ssr")]
pub use crate::ui::server_fn::failed;

/// A refusal's fields in one line, for a form's error message.
#[cfg(feature = "ssr")]
pub fn refusal(error: shared::error::ApiError) -> Result<String, ServerFnError> {
    match error {
        shared::error::ApiError::Validation { fields } => Ok(fields
            .iter()
            .map(|(field, why)| format!("{field}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")),
        shared::error::ApiError::IdempotencyConflict => Ok("idempotency_conflict".to_owned()),
        other => Err(failed(other)),
    }
}

/// Every provider, in the order `sort`/`dir` name (read leniently, as the agents').
#[server(prefix = "/ui", endpoint = "processing/providers")]
pub async fn load_providers(sort: String, dir: String) -> Result<Vec<ProviderView>, ServerFnError> {
    let state = processing_state()?;
    let order = order_of::<ProviderSort>(&sort, &dir);
    crate::processing::server::lists::providers(&state, order)
        .await
        .map_err(failed)
}

/// The provider signed, or the form's problems, one per field (`fields.city` for a
/// payment field, as the API keys them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signed {
    Provider(ProviderView),
    Refused(std::collections::BTreeMap<String, String>),
}

/// What the fields box holds when the form opens: a mobile operator's account field.
const DEFAULT_FIELDS_JSON: &str =
    r#"[{"name": "account", "label": "Номер телефона", "regex": "9\\d{9}"}]"#;

/// Longest fields list the form takes.
#[cfg(feature = "ssr")]
const MAX_FIELDS_JSON_BYTES: usize = 64 * 1024;

/// A new provider as the form sends it, under the form's own field names (the server
/// function takes it flattened, so the names stay as they are): amounts and the fields'
/// JSON as typed, read and checked by the server function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProviderForm {
    pub name: String,
    pub service_kind: String,
    pub endpoint_url: String,
    pub protocol: String,
    pub login: String,
    pub password: String,
    /// The payment fields as a JSON list.
    pub fields: String,
    pub min_amount: String,
    pub max_amount: String,
}

#[server(prefix = "/ui", endpoint = "processing/create-provider")]
pub async fn create_provider(
    #[server(flatten)] form: NewProviderForm,
) -> Result<Signed, ServerFnError> {
    use crate::processing::server::admin::{self, ProviderContract};
    let state = processing_state()?;
    let refused = |field: &str, why: String| Ok(Signed::Refused([(field.to_owned(), why)].into()));
    let (min_amount, max_amount) = match (
        crate::ui::server_fn::typed_amount(&form.min_amount),
        crate::ui::server_fn::typed_amount(&form.max_amount),
    ) {
        (Ok(min), Ok(max)) => (min, max),
        (Err(why), _) => return refused("min_amount", why),
        (_, Err(why)) => return refused("max_amount", why),
    };
    if form.fields.len() > MAX_FIELDS_JSON_BYTES {
        return refused("fields", format!("at most {MAX_FIELDS_JSON_BYTES} bytes"));
    }
    let fields: Vec<shared::wire::agent::Field> = match serde_json::from_str(&form.fields) {
        Ok(fields) => fields,
        Err(e) => return refused("fields", format!("not a JSON list of fields: {e}")),
    };
    let body = ProviderContract {
        name: form.name,
        service_kind: form.service_kind,
        endpoint_url: form.endpoint_url,
        protocol: form.protocol,
        login: form.login,
        password: form.password,
        fields,
        min_amount,
        max_amount,
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::create_provider(&state, &body, &by).await {
        Ok(view) => Ok(Signed::Provider(view)),
        Err(shared::error::ApiError::Validation { fields }) => Ok(Signed::Refused(fields)),
        Err(e) => refusal(e).map(|why| Signed::Refused([("form".to_owned(), why)].into())),
    }
}

#[server(prefix = "/ui", endpoint = "processing/provider-active")]
pub async fn set_provider_active(
    id: i64,
    active: bool,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    // Disabling stops every agent's payments to the provider: asked first.
    if !active {
        crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    }
    let state = processing_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    crate::processing::server::admin::switch_provider(&state, id, active, &by)
        .await
        .map_err(failed)?;
    Ok(())
}

#[server(prefix = "/ui", endpoint = "processing/test-provider")]
pub async fn test_provider(id: i64, account: String) -> Result<ConnectionTest, ServerFnError> {
    let state = processing_state()?;
    crate::processing::server::admin::test_provider(&state, id, account.trim())
        .await
        .map_err(failed)
}

/// The `<option>`s of a provider picker, the one chosen in the page's query marked.
#[component]
pub fn ProviderOptions(
    providers: Resource<Result<Vec<ProviderView>, ServerFnError>>,
    selected: impl Fn() -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || providers.get().and_then(Result::ok).map(|list| list.into_iter().map(|p| {
                let id = p.provider_id.to_string();
                let chosen = id == selected();
                view! { <option value=id selected=chosen>{format!("№{} {}", p.provider_id, p.name)}</option> }
            }).collect_view())}
        </Transition>
    }
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let t = texts();
    let create = ServerAction::<CreateProvider>::new();
    let switch = ServerAction::<SetProviderActive>::new();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let list = Resource::new(
        move || {
            (
                get("sort")(),
                get("dir")(),
                create.version().get(),
                switch.version().get(),
            )
        },
        |(sort, dir, ..)| load_providers(sort, dir),
    );
    let order = move || order_of::<ProviderSort>(&get("sort")(), &get("dir")());
    let field = |id: &'static str, label: &'static str, value: &'static str, hint: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=id required value=value placeholder=hint autocomplete="off"/>
            </div>
        }
    };
    view! {
        <h1>{t.providers_title}</h1>
        <section class="card" aria-labelledby="new-provider-title">
            <h2 id="new-provider-title">{t.new_provider}</h2>
            <ActionForm action=create>
                <div class="fields">
                    {field("name", t.name, "", "Megafon")}
                    {field("service_kind", t.service_kind, "mobile", "")}
                    {field("endpoint_url", t.endpoint_url, "", "http://127.0.0.1:8402/osmp")}
                    <div class="field">
                        <label for="protocol">{t.protocol}</label>
                        <select id="protocol" name="protocol">
                            <option value="osmp" selected>"OSMP (XML)"</option>
                            <option value="json">"JSON"</option>
                        </select>
                    </div>
                    {field("login", t.login, "", "processing-1")}
                    <div class="field">
                        <label for="password">{t.password}</label>
                        <input id="password" name="password" type="password" required autocomplete="off" placeholder=t.password_hint/>
                    </div>
                    {field("min_amount", t.min_amount, "1.00", "")}
                    {field("max_amount", t.max_amount, "15000.00", "")}
                </div>
                <div class="field">
                    <label for="fields">{t.fields_json}</label>
                    <textarea id="fields" name="fields" rows="6" required spellcheck="false" aria-describedby="fields-hint">{DEFAULT_FIELDS_JSON}</textarea>
                    <span class="hint" id="fields-hint">{t.fields_json_hint}</span>
                </div>
                <button type="submit" disabled=move || create.pending().get()>{t.create_provider}</button>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(Signed::Provider(p)) => view! { <p class="ok" role="status">{format!("{} № {}: {}", t.saved, p.provider_id, p.name)}</p> }.into_any(),
                Ok(Signed::Refused(refused)) => view! {
                    <div class="error" role="alert" id="provider-refused">
                        <p>{t.invalid_form}</p>
                        <ul>{refused.into_iter().map(|(field, why)| view! { <li><code>{field}</code>": "{why}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || list.get().map(|result| match result {
                Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.no_providers}</p> }.into_any(),
                Ok(rows) => view! {
                    // The cards in the order asked (a whole page load each, as a table's
                    // sorting headers).
                    <nav class="sort-links" aria-label=t.sort_label>
                        {t.sort_label}" "
                        {sort_link(ProviderSort::Id, "№", order(), &[])}" · "
                        {sort_link(ProviderSort::Name, t.name, order(), &[])}" · "
                        {sort_link(ProviderSort::Kind, t.service_kind, order(), &[])}
                    </nav>
                    {rows.into_iter().map(|p| view! { <ProviderCard p switch/> }).collect_view()}
                }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProviderCard(p: ProviderView, switch: ServerAction<SetProviderActive>) -> impl IntoView {
    let t = texts();
    let test = ServerAction::<TestProvider>::new();
    let field_rows = p
        .fields
        .iter()
        .map(|f| {
            let more = [
                f.mask.clone(),
                f.hint.clone(),
                (!f.options.is_empty()).then(|| f.options.join(" | ")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            view! {
                <tr>
                    <td><code>{f.name.clone()}</code></td>
                    // The English label is for the kiosk's English screens: shown as
                    // typed, marked as English for screen readers.
                    <td>{f.label.clone()}{f.label_en.clone().map(|en| view! { " / "<span lang="en">{en}</span> })}</td>
                    <td><code>{f.regex.clone()}</code></td>
                    <td>{more}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let account_id = format!("test-account-{}", p.provider_id);
    let label_for = account_id.clone();
    view! {
        <section class="card">
            <h2>{format!("№ {} · {}", p.provider_id, p.name)}
                {" "}<span class=if p.active { "badge badge-active" } else { "badge badge-closed" }>
                    {if p.active { t.active } else { t.deactivate }}
                </span>
            </h2>
            <dl class="pairs">
                <dt>{t.service_kind}</dt><dd>{t.service_kind_name(&p.service_kind).to_owned()}</dd>
                <dt>{t.endpoint_url}</dt><dd><code>{p.endpoint_url.clone()}</code>{format!(" ({})", p.protocol.as_str().to_uppercase())}</dd>
                <dt>{t.login}</dt><dd><code>{p.login.clone()}</code></dd>
                <dt>{t.min_amount}</dt><dd>{format!("{} — {}", rub(p.min_amount), rub(p.max_amount))}</dd>
            </dl>
            <table class="grid">
                <caption>{t.field_regex}</caption>
                <thead><tr>
                    <th scope="col">{t.col_field_name}</th>
                    <th scope="col">{t.col_field_label}</th>
                    <th scope="col">{t.col_field_regex}</th>
                    <th scope="col">{t.col_field_more}</th>
                </tr></thead>
                <tbody>{field_rows}</tbody>
            </table>
            <div class="inline-form">
                <ActionForm action=switch>
                    <input type="hidden" name="id" value=p.provider_id.to_string()/>
                    <input type="hidden" name="active" value=(!p.active).to_string()/>
                    {if p.active {
                        view! { <ConfirmButton id=format!("deactivate-{}", p.provider_id) label=t.deactivate asked=Asked::DisableProvider danger=true/> }.into_any()
                    } else {
                        view! { <button type="submit" class="small" id=format!("activate-{}", p.provider_id)>{t.activate}</button> }.into_any()
                    }}
                </ActionForm>
                <ActionForm action=test>
                    <input type="hidden" name="id" value=p.provider_id.to_string()/>
                    <label for=label_for>{t.test_account}</label>
                    <input id=account_id name="account" inputmode="numeric" value="0"/>
                    <button type="submit" class="small">{t.test_button}</button>
                </ActionForm>
            </div>
            <super::provider_credentials::ProviderCredentials provider=p.clone()/>
            {move || test.value().get().map(|outcome| match outcome {
                Ok(result) => view! {
                    <p class=if result.reached { "ok" } else { "error" } role="status">
                        {format!("{}: {}", if result.reached { t.test_reached } else { t.test_unreached }, result.answer)}
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
    }
    // Type-erased: the card's view type (fields table, forms, the credentials panel) is
    // deep enough to overflow the compiler's query depth in the browser build.
    .into_any()
}
