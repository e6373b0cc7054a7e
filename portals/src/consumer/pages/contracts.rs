//! `/contracts`: the subscriber's contracts, with a button per service that uses it at the
//! provider and shows what was charged (or the provider's refusal in plain words), the
//! history of uses, adding a contract by pasting what the provider issued, and deleting.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::money::Money;

use crate::consumer::server_types::ContractView;
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::rub;

struct Texts {
    title: &'static str,
    add_title: &'static str,
    add_hint: &'static str,
    provider_name: &'static str,
    contract_json: &'static str,
    add: &'static str,
    added: &'static str,
    none: &'static str,
    account: &'static str,
    quantity: &'static str,
    call: &'static str,
    internet: &'static str,
    sms: &'static str,
    charged: &'static str,
    balance: &'static str,
    no_money: &'static str,
    unreachable: &'static str,
    refused: &'static str,
    history: &'static str,
    no_history: &'static str,
    delete: &'static str,
    failed: &'static str,
    or_fill: &'static str,
    usage_url: &'static str,
    login: &'static str,
    password: &'static str,
    keep_password: &'static str,
    services: &'static str,
    edit: &'static str,
    save: &'static str,
    saved: &'static str,
}

static RU: Texts = Texts {
    title: "Договоры",
    add_title: "Добавить договор",
    add_hint: "Вставьте JSON, который выдал провайдер при заключении договора.",
    provider_name: "Провайдер",
    contract_json: "Договор (JSON)",
    add: "Добавить",
    added: "Договор добавлен",
    none: "Договоров пока нет. Добавьте договор, выданный провайдером.",
    account: "Счёт",
    quantity: "Количество",
    call: "Позвонить",
    internet: "Выйти в интернет",
    sms: "SMS",
    charged: "Списано",
    balance: "Остаток",
    no_money: "Недостаточно средств на счёте — пополните его в терминале.",
    unreachable: "Провайдер не отвечает. Попробуйте позже.",
    refused: "Провайдер отказал",
    history: "История",
    no_history: "Услугами ещё не пользовались.",
    delete: "Удалить договор",
    failed: "Не получилось",
    or_fill: "…или заполните поля договора",
    usage_url: "Адрес для списаний",
    login: "Логин",
    password: "Пароль",
    keep_password: "пусто — оставить прежний",
    services: "Услуги",
    edit: "Изменить договор",
    save: "Сохранить",
    saved: "Сохранено",
};

static EN: Texts = Texts {
    title: "Contracts",
    add_title: "Add a contract",
    add_hint: "Paste the JSON the provider issued when you signed the contract.",
    provider_name: "Provider",
    contract_json: "Contract (JSON)",
    add: "Add",
    added: "Contract added",
    none: "No contracts yet. Add the contract your provider issued.",
    account: "Account",
    quantity: "Quantity",
    call: "Make a call",
    internet: "Go online",
    sms: "SMS",
    charged: "Charged",
    balance: "Balance",
    no_money: "Not enough money on the account — top it up at a terminal.",
    unreachable: "The provider does not answer. Try again later.",
    refused: "The provider refused",
    history: "History",
    no_history: "No services used yet.",
    delete: "Delete the contract",
    failed: "It did not work",
    or_fill: "…or fill in the contract's fields",
    usage_url: "Usage URL (usage_url)",
    login: "Login",
    password: "Password",
    keep_password: "empty — keep the current one",
    services: "Services",
    edit: "Change the contract",
    save: "Save",
    saved: "Saved",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

#[cfg(feature = "ssr")]
fn consumer_state() -> Result<crate::consumer::server::ConsumerState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

#[server(prefix = "/ui", endpoint = "consumer/contracts")]
pub async fn load_contracts() -> Result<Vec<ContractView>, ServerFnError> {
    let state = consumer_state()?;
    let contracts = state.contracts.lock().await;
    Ok(contracts.contracts.iter().map(ContractView::from).collect())
}

/// A contract's fields as the add and edit forms send them, under the forms' own field
/// names (the server functions take them flattened, so the names stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractFields {
    pub provider_name: String,
    pub account: String,
    pub usage_url: String,
    pub login: String,
    pub password: String,
    /// The services' checkboxes: present (`on`) when ticked.
    pub call: Option<String>,
    pub internet: Option<String>,
    pub sms: Option<String>,
}

/// The contract from the form: the pasted JSON when there is one, else the typed fields.
#[cfg(feature = "ssr")]
fn contract_input(
    fields: ContractFields,
    contract_json: &str,
) -> Result<crate::consumer::server::api::ContractInput, String> {
    if !contract_json.trim().is_empty() {
        let mut value: serde_json::Value = match serde_json::from_str(contract_json) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => return Err("the contract is not a JSON object".into()),
        };
        value["provider_name"] = serde_json::Value::String(fields.provider_name);
        return serde_json::from_value(value).map_err(|e| e.to_string());
    }
    let services = [
        ("call", fields.call),
        ("internet", fields.internet),
        ("sms", fields.sms),
    ];
    Ok(crate::consumer::server::api::ContractInput {
        provider_name: fields.provider_name,
        subscriber_id: 0,
        account: fields.account,
        usage_url: fields.usage_url,
        protocol: shared::wire::provider::USAGE_PROTOCOL.to_owned(),
        login: fields.login,
        password: fields.password,
        services: services
            .into_iter()
            .filter(|(_, on)| on.is_some())
            .map(|(s, _)| s.to_owned())
            .collect(),
    })
}

#[cfg(feature = "ssr")]
fn refusal(
    result: Result<crate::consumer::server::contracts_file::Contract, shared::error::ApiError>,
) -> Result<Option<String>, ServerFnError> {
    match result {
        Ok(_) => Ok(None),
        Err(shared::error::ApiError::Validation { fields }) => Ok(Some(
            fields
                .iter()
                .map(|(f, w)| format!("{f}: {w}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(e) => Err(crate::ui::server_fn::failed(e)),
    }
}

/// `Ok(None)` when added; `Ok(Some(why))` when refused.
#[server(prefix = "/ui", endpoint = "consumer/add")]
pub async fn add_contract(
    contract_json: String,
    #[server(flatten)] fields: ContractFields,
) -> Result<Option<String>, ServerFnError> {
    let input = match contract_input(fields, &contract_json) {
        Ok(input) => input,
        Err(why) => return Ok(Some(why)),
    };
    refusal(crate::consumer::server::api::add(&consumer_state()?, input).await)
}

/// Changes a contract's details from the typed fields.
#[server(prefix = "/ui", endpoint = "consumer/edit")]
pub async fn edit_contract(
    id: u64,
    #[server(flatten)] fields: ContractFields,
) -> Result<Option<String>, ServerFnError> {
    let mut fields = fields;
    let state = consumer_state()?;
    // An empty password keeps the one on file.
    if fields.password.is_empty() {
        let contracts = state.contracts.lock().await;
        fields.password = contracts
            .contracts
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.password.clone())
            .unwrap_or_default();
    }
    let input = match contract_input(fields, "") {
        Ok(input) => input,
        Err(why) => return Ok(Some(why)),
    };
    refusal(crate::consumer::server::api::update(&state, id, input).await)
}

#[server(prefix = "/ui", endpoint = "consumer/delete")]
pub async fn delete_contract(id: u64, confirm: Option<String>) -> Result<(), ServerFnError> {
    crate::ui::confirm::require_confirmed(confirm.as_deref())
        .map_err(crate::ui::server_fn::failed)?;
    let state = consumer_state()?;
    let mut contracts = state.contracts.lock().await;
    let mut next = contracts.clone();
    next.contracts.retain(|c| c.id != id);
    crate::consumer::server::contracts_file::save(&state.dir, &next)
        .map_err(crate::ui::server_fn::failed)?;
    *contracts = next;
    tracing::info!(id, "contract deleted from the portal");
    Ok(())
}

/// What a use came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UseOutcome {
    Charged { charged: Money, balance: Money },
    NoMoney,
    Unreachable,
    Refused(String),
}

/// The outcome of a use, with the contract it was for (one action serves every card).
#[server(prefix = "/ui", endpoint = "consumer/use")]
pub async fn use_service(
    id: u64,
    service: String,
    quantity: i64,
) -> Result<(u64, UseOutcome), ServerFnError> {
    use crate::consumer::server::api::{self, UseRequest};
    let state = consumer_state()?;
    let outcome = match api::use_service(&state, id, &UseRequest { service, quantity }).await {
        Ok((status, body)) if status.is_success() => {
            let money =
                |f: &str| serde_json::from_value::<Money>(body[f].clone()).unwrap_or_default();
            Ok(UseOutcome::Charged {
                charged: money("charged"),
                balance: money("balance"),
            })
        }
        Ok((status, _)) if status.as_u16() == 402 => Ok(UseOutcome::NoMoney),
        Ok((_, body)) => Ok(UseOutcome::Refused(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )),
        Err(shared::error::ApiError::ProviderUnavailable { .. }) => Ok(UseOutcome::Unreachable),
        Err(e) => Err(crate::ui::server_fn::failed(e)),
    };
    outcome.map(|o| (id, o))
}

#[component]
pub fn ContractsPage() -> impl IntoView {
    let t = texts();
    let add = ServerAction::<AddContract>::new();
    let delete = ServerAction::<DeleteContract>::new();
    let used = ServerAction::<UseService>::new();
    // Bumped by a card whose contract was edited.
    let edited = RwSignal::new(0u32);
    let list = Resource::new(
        move || {
            (
                add.version().get(),
                delete.version().get(),
                used.version().get(),
                edited.get(),
            )
        },
        |_| load_contracts(),
    );
    view! {
        <h1>{t.title}</h1>
        <Transition fallback=|| ()>
            {move || list.get().map(|result| match result {
                Ok(contracts) if contracts.is_empty() => view! { <p class="empty-state">{t.none}</p> }.into_any(),
                Ok(contracts) => contracts.into_iter().map(|c| view! { <ContractCard c used delete edited/> }).collect_view().into_any(),
                Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
            })}
        </Transition>
        <section class="card" aria-labelledby="add-title">
            <h2 id="add-title">{t.add_title}</h2>
            <p class="hint">{t.add_hint}</p>
            <ActionForm action=add>
                <div class="field">
                    <label for="provider_name">{t.provider_name}</label>
                    <input id="provider_name" name="provider_name" required placeholder="Megafon"/>
                </div>
                <div class="field">
                    <label for="contract_json">{t.contract_json}</label>
                    <textarea id="contract_json" name="contract_json" rows="8" spellcheck="false"></textarea>
                </div>
                <details>
                    <summary>{t.or_fill}</summary>
                    {contract_fields(t, "new", None)}
                </details>
                <button type="submit">{t.add}</button>
                {move || add.value().get().map(|r| match r {
                    Ok(None) => view! { <span class="ok" role="status">{" "}{t.added}</span> }.into_any(),
                    Ok(Some(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </ActionForm>
        </section>
    }
}

/// The typed fields of a contract (`current` prefills them for an edit).
fn contract_fields(
    t: &'static Texts,
    prefix: &str,
    current: Option<&ContractView>,
) -> impl IntoView + use<> {
    let value = |pick: fn(&ContractView) -> String| current.map(pick).unwrap_or_default();
    let field = |name: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 value: String,
                 hint: &'static str| {
        let id = format!("{prefix}-{name}");
        let label_for = id.clone();
        view! {
            <div class="field">
                <label for=label_for>{label}</label>
                <input id=id name=name type=kind value=value placeholder=hint autocomplete="off"/>
            </div>
        }
    };
    let ticked = current
        .map(|c| c.services.clone())
        .unwrap_or_else(|| vec!["call".into(), "internet".into(), "sms".into()]);
    let boxes = [("call", t.call), ("internet", t.internet), ("sms", t.sms)]
        .into_iter()
        .map(|(service, label)| {
            let id = format!("{prefix}-service-{service}");
            let label_for = id.clone();
            view! {
                <label class="check" for=label_for>
                    <input type="checkbox" id=id name=service checked=ticked.iter().any(|s| s == service)/>
                    {label}
                </label>
            }
        })
        .collect_view();
    view! {
        <div class="fields">
            {field("account", t.account, "text", value(|c| c.account.clone()), "")}
            {field("usage_url", t.usage_url, "url", value(|c| c.usage_url.clone()), "http://127.0.0.1:8402/api/usage/v1/usage")}
            {field("login", t.login, "text", value(|c| c.login.clone()), "")}
            {field("password", t.password, "password", String::new(), if current.is_some() { t.keep_password } else { "" })}
        </div>
        <fieldset class="services"><legend>{t.services}</legend>{boxes}</fieldset>
    }
}

#[component]
fn ContractCard(
    c: ContractView,
    used: ServerAction<UseService>,
    delete: ServerAction<DeleteContract>,
    edited: RwSignal<u32>,
) -> impl IntoView {
    let t = texts();
    let edit = ServerAction::<EditContract>::new();
    // A saved change reloads the list, so the card shows the contract as it now is.
    Effect::new(move |_| {
        if matches!(edit.value().get(), Some(Ok(None))) {
            edited.update(|n| *n += 1);
        }
    });
    let id = c.id;
    let buttons = c
        .services
        .clone()
        .into_iter()
        .map(|service| {
            let label = service_label(t, &service);
            let qty_id = format!("qty-{id}-{service}");
            let label_for = qty_id.clone();
            view! {
                <ActionForm action=used>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="service" value=service.clone()/>
                    <label for=label_for class="visually-hidden">{t.quantity}</label>
                    <input id=qty_id name="quantity" type="number" min="1" value="1" class="qty"/>
                    <button type="submit" class=format!("use-{service}")>{label}</button>
                </ActionForm>
            }
        })
        .collect_view();
    let history = if c.uses.is_empty() {
        view! { <p class="hint">{t.no_history}</p> }.into_any()
    } else {
        let rows = c
            .uses
            .iter()
            .rev()
            .map(|u| {
                view! {
                    <tr>
                        <td>{u.at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                        <td>{format!("{} × {}", service_label(t, &u.service), u.quantity)}</td>
                        <td class="num">{u.charged.map(|m| rub(m.amount)).unwrap_or_default()}</td>
                        <td class="num">{u.balance.map(|m| rub(m.amount)).unwrap_or_default()}</td>
                        <td>{u.refusal.clone().unwrap_or_default()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! { <table class="grid"><tbody>{rows}</tbody></table> }.into_any()
    };
    view! {
        <section class="card contract" id=format!("contract-{id}")>
            <h2>{format!("{} · {} {}", c.provider_name, t.account, c.account)}</h2>
            <div class="inline-form">{buttons}</div>
            {move || used.value().get().and_then(|r| r.ok()).filter(|(for_id, _)| *for_id == id).map(|(_, r)| match r {
                UseOutcome::Charged { charged, balance } => view! {
                    <p class="ok use-result" role="status">{format!("{}: {} · {}: {}", t.charged, rub(charged.amount), t.balance, rub(balance.amount))}</p>
                }.into_any(),
                UseOutcome::NoMoney => view! { <p class="error use-result" role="alert">{t.no_money}</p> }.into_any(),
                UseOutcome::Unreachable => view! { <p class="error use-result" role="alert">{t.unreachable}</p> }.into_any(),
                UseOutcome::Refused(why) => view! { <p class="error use-result" role="alert">{format!("{}: {why}", t.refused)}</p> }.into_any(),
            })}
            <h3>{t.history}</h3>
            {history}
            <details>
                <summary>{t.edit}</summary>
                <ActionForm action=edit>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <div class="field">
                        <label for=format!("edit-name-{id}")>{t.provider_name}</label>
                        <input id=format!("edit-name-{id}") name="provider_name" required value=c.provider_name.clone()/>
                    </div>
                    {contract_fields(t, &format!("edit-{id}"), Some(&c))}
                    <button type="submit">{t.save}</button>
                    {move || edit.value().get().map(|r| match r {
                        Ok(None) => view! { <span class="ok" role="status">{" "}{t.saved}</span> }.into_any(),
                        Ok(Some(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                    })}
                </ActionForm>
            </details>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=id.to_string()/>
                <ConfirmButton id=format!("delete-{id}") label=t.delete asked=Asked::DeleteConsumerContract danger=true/>
            </ActionForm>
        </section>
    }
}

/// A service by its name on the wire (`call`, `internet`, `sms`), in the page's language.
fn service_label(t: &Texts, service: &str) -> &'static str {
    match service {
        "call" => t.call,
        "internet" => t.internet,
        _ => t.sms,
    }
}
