//! `/contracts`: the subscriber's contracts, with a button per service that uses it at the
//! provider and shows what was charged (or the provider's refusal in plain words), the
//! history of uses, adding a contract by pasting what the provider issued, and deleting.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::money::Money;

use crate::consumer::server_types::ContractView;
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

/// `Ok(None)` when added; `Ok(Some(why))` when refused.
#[server(prefix = "/ui", endpoint = "consumer/add")]
pub async fn add_contract(
    provider_name: String,
    contract_json: String,
) -> Result<Option<String>, ServerFnError> {
    use crate::consumer::server::api::{self, ContractInput};
    let mut value: serde_json::Value = match serde_json::from_str(&contract_json) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => return Ok(Some("the contract is not a JSON object".into())),
    };
    value["provider_name"] = serde_json::Value::String(provider_name);
    let input: ContractInput = match serde_json::from_value(value) {
        Ok(input) => input,
        Err(e) => return Ok(Some(e.to_string())),
    };
    match api::add(&consumer_state()?, input).await {
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

#[server(prefix = "/ui", endpoint = "consumer/delete")]
pub async fn delete_contract(id: u64) -> Result<(), ServerFnError> {
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
    let list = Resource::new(
        move || {
            (
                add.version().get(),
                delete.version().get(),
                used.version().get(),
            )
        },
        |_| load_contracts(),
    );
    view! {
        <h1>{t.title}</h1>
        <Transition fallback=|| ()>
            {move || list.get().map(|result| match result {
                Ok(contracts) if contracts.is_empty() => view! { <p class="empty-state">{t.none}</p> }.into_any(),
                Ok(contracts) => contracts.into_iter().map(|c| view! { <ContractCard c used delete/> }).collect_view().into_any(),
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
                    <textarea id="contract_json" name="contract_json" rows="8" required spellcheck="false"></textarea>
                </div>
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

#[component]
fn ContractCard(
    c: ContractView,
    used: ServerAction<UseService>,
    delete: ServerAction<DeleteContract>,
) -> impl IntoView {
    let t = texts();
    let id = c.id;
    let buttons = c
        .services
        .clone()
        .into_iter()
        .map(|service| {
            let label = match service.as_str() {
                "call" => t.call,
                "internet" => t.internet,
                _ => t.sms,
            };
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
                        <td>{format!("{} × {}", u.service, u.quantity)}</td>
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
            <ActionForm action=delete>
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit" class="small danger">{t.delete}</button>
            </ActionForm>
        </section>
    }
}
