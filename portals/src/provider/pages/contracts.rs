//! `/processing-contracts`: contracts with processing centers (credentials shown once),
//! their status, and the provider-wide payments switch.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use super::contract_access::{AccessButton, AccessResult, RenewContractAccess};
use super::texts::texts;
use crate::provider::model::ContractRow;
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::rub;

/// The contracts and the switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractsPageData {
    pub contracts: Vec<ContractRow>,
    pub payments: String,
}

/// A new contract's details, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssueOutcome {
    Issued {
        contract_id: i64,
        endpoint_url: String,
        login: String,
        password: String,
        regex: String,
        min: Kopecks,
        max: Kopecks,
    },
    BadName,
    BadAmount,
    BadLimits,
}

#[server(prefix = "/ui", endpoint = "provider/contracts")]
pub async fn load_contracts() -> Result<ContractsPageData, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use crate::provider::server::store;
    let state = provider_state()?;
    Ok(ContractsPageData {
        contracts: store::contracts(&state.pool, state.kind)
            .await
            .map_err(failed)?,
        payments: store::payments_switch(&state.pool).await.map_err(failed)?,
    })
}

#[server(prefix = "/ui", endpoint = "provider/issue-contract")]
pub async fn issue_contract(
    processing_name: String,
    protocol: String,
    min_amount: String,
    max_amount: String,
) -> Result<IssueOutcome, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use crate::provider::server::admin::{self, CreateContract};
    let state = provider_state()?;
    let (Ok(min), Ok(max)) = (
        crate::ui::server_fn::typed_amount(&min_amount),
        crate::ui::server_fn::typed_amount(&max_amount),
    ) else {
        return Ok(IssueOutcome::BadAmount);
    };
    let body = CreateContract {
        processing_name,
        protocol,
        min_amount: Some(min),
        max_amount: Some(max),
        fields: None,
    };
    let contract = match admin::validate_contract(&body, state.kind) {
        Ok(contract) => contract,
        Err(shared::error::ApiError::Validation { fields })
            if fields.contains_key("processing_name") =>
        {
            return Ok(IssueOutcome::BadName);
        }
        Err(_) => return Ok(IssueOutcome::BadLimits),
    };
    let by = crate::ui::server_fn::signed_in_login();
    let issued = admin::issue_contract(&state, contract, &by)
        .await
        .map_err(failed)?;
    Ok(IssueOutcome::Issued {
        contract_id: issued.contract_id,
        endpoint_url: issued.endpoint_url,
        login: issued.login,
        password: issued.password,
        regex: issued
            .fields
            .first()
            .map(|f| f.regex.clone())
            .unwrap_or_default(),
        min: issued.min_amount,
        max: issued.max_amount,
    })
}

#[server(prefix = "/ui", endpoint = "provider/contract-status")]
pub async fn set_contract_status(
    id: i64,
    status: String,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    // Suspending and ending stop the processing center's payments: asked first.
    if status != "active" {
        crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    }
    if !["active", "suspended", "closed"].contains(&status.as_str()) {
        return Err(ServerFnError::new("unknown status"));
    }
    let by = crate::ui::server_fn::signed_in_login();
    crate::provider::server::billing::set_contract_status(
        &state.pool,
        &state.processing_logins,
        id,
        &status,
        &by,
    )
    .await
    .map_err(failed)?;
    tracing::info!(
        contract = id,
        status,
        by,
        "processing contract status changed from the portal"
    );
    Ok(())
}

#[server(prefix = "/ui", endpoint = "provider/payments-switch")]
pub async fn set_payments_switch(
    payments: String,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    use super::subscribers::{failed, provider_state};
    // Every position changes whether processing centers' payments are taken: asked first.
    crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    let state = provider_state()?;
    if !["open", "paused", "closed"].contains(&payments.as_str()) {
        return Err(ServerFnError::new("unknown switch position"));
    }
    let by = crate::ui::server_fn::signed_in_login();
    crate::provider::server::store::set_payments_switch(&state.pool, &payments, &by)
        .await
        .map_err(failed)?;
    tracing::info!(payments, by, "payments switch changed from the portal");
    Ok(())
}

#[component]
pub fn ContractsPage() -> impl IntoView {
    let t = texts();
    let issue = ServerAction::<IssueContract>::new();
    let status = ServerAction::<SetContractStatus>::new();
    let switch = ServerAction::<SetPaymentsSwitch>::new();
    let access = ServerAction::<RenewContractAccess>::new();
    let data = Resource::new(
        move || {
            (
                issue.version().get(),
                status.version().get(),
                switch.version().get(),
                access.version().get(),
            )
        },
        |_| load_contracts(),
    );
    view! {
        <h1>{t.contracts_title}</h1>
        <section class="card" aria-labelledby="new-contract-title">
            <h2 id="new-contract-title">{t.new_contract}</h2>
            <ActionForm action=issue>
                <div class="fields">
                    <div class="field">
                        <label for="processing_name">{t.processing_name}</label>
                        <input id="processing_name" name="processing_name" required placeholder="Cyberplat"/>
                    </div>
                    <div class="field">
                        <label for="protocol">{t.protocol}</label>
                        <select id="protocol" name="protocol">
                            <option value="osmp" selected>{t.protocol_osmp}</option>
                            <option value="json">{t.protocol_json}</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="min_amount">{t.min_amount}</label>
                        <input id="min_amount" name="min_amount" inputmode="decimal" value="1.00" required/>
                    </div>
                    <div class="field">
                        <label for="max_amount">{t.max_amount}</label>
                        <input id="max_amount" name="max_amount" inputmode="decimal" value="15000.00" required/>
                    </div>
                </div>
                <button type="submit" disabled=move || issue.pending().get()>{t.create_contract}</button>
            </ActionForm>
            {move || issue.value().get().map(|outcome| match outcome {
                Ok(IssueOutcome::Issued { contract_id, endpoint_url, login, password, regex, min, max }) => view! {
                    <div class="issued" role="status" id="issued-contract">
                        <h3>{format!("{} № {contract_id}", t.issued_title)}</h3>
                        <p class="warning">{t.issued_note}</p>
                        <dl class="pairs">
                            <dt>{t.endpoint_url}</dt><dd><code>{endpoint_url}</code></dd>
                            <dt>{t.login}</dt><dd><code>{login}</code></dd>
                            <dt>{t.password}</dt><dd><code id="issued-password">{password}</code></dd>
                            <dt>{t.field_regex}</dt><dd><code>{regex}</code></dd>
                            <dt>{t.limits}</dt><dd>{format!("{} — {}", rub(min), rub(max))}</dd>
                        </dl>
                    </div>
                }.into_any(),
                Ok(IssueOutcome::BadName) => view! { <p class="error" role="alert">{t.invalid_name}</p> }.into_any(),
                Ok(IssueOutcome::BadAmount) => view! { <p class="error" role="alert">{t.invalid_amount}</p> }.into_any(),
                Ok(IssueOutcome::BadLimits) => view! { <p class="error" role="alert">{t.invalid_limits}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || data.get().map(|result| match result {
                Ok(data) => view! { <ContractList contracts=data.contracts status access/> <PaymentsSwitch current=data.payments switch/> }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ContractList(
    contracts: Vec<ContractRow>,
    status: ServerAction<SetContractStatus>,
    access: ServerAction<RenewContractAccess>,
) -> impl IntoView {
    let t = texts();
    if contracts.is_empty() {
        return view! { <section class="card"><p class="empty-state">{t.no_contracts}</p></section> }.into_any();
    }
    let rows = contracts
        .into_iter()
        .map(|c| {
            let actions: Vec<(&'static str, &'static str)> = match c.status.as_str() {
                "active" => vec![("suspended", t.suspend), ("closed", t.close_contract)],
                "suspended" => vec![("active", t.resume), ("closed", t.close_contract)],
                _ => vec![],
            };
            let id = c.id;
            let buttons = actions
                .into_iter()
                .map(|(to, label)| {
                    // Resuming takes nothing away: it alone goes without asking.
                    let button = match to {
                        "suspended" => view! { <ConfirmButton id=format!("suspend-{id}") label asked=Asked::SuspendProcessingContract/> }.into_any(),
                        "closed" => view! { <ConfirmButton id=format!("close-{id}") label asked=Asked::CloseProcessingContract danger=true/> }.into_any(),
                        _ => view! { <button type="submit" class="small" id=format!("resume-{id}")>{label}</button> }.into_any(),
                    };
                    view! {
                        <ActionForm action=status>
                            <input type="hidden" name="id" value=id.to_string()/>
                            <input type="hidden" name="status" value=to/>
                            {button}
                        </ActionForm>
                    }
                })
                .collect_view();
            // The fields by their labels (the payer's words), not their wire names.
            let field_names = c.fields.0.iter().map(|f| f.label.as_str()).collect::<Vec<_>>().join(", ");
            // A live contract's login gets a new password; a closed one is re-opened with one.
            let access_button = view! { <AccessButton id closed=c.status == "closed" action=access/> };
            view! {
                <tr>
                    <td>{c.id}</td>
                    <td>{c.processing_name.clone()}</td>
                    <td>{c.protocol.as_str().to_uppercase()}</td>
                    <td><A href=format!("/processing-contracts/{}", c.id)>{field_names}</A></td>
                    <td><code>{c.login.clone()}</code></td>
                    <td class="num">{format!("{} — {}", rub(Kopecks::new(c.min_amount)), rub(Kopecks::new(c.max_amount)))}</td>
                    <td><span class=format!("badge badge-{}", c.status)>{t.status(&c.status)}</span></td>
                    <td class="actions">{buttons}{access_button}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <table class="grid">
                <thead>
                    <tr>
                        <th scope="col">"№"</th>
                        <th scope="col">{t.processing_name}</th>
                        <th scope="col">{t.protocol}</th>
                        <th scope="col">{t.col_fields}</th>
                        <th scope="col">{t.login}</th>
                        <th scope="col" class="num">{t.limits}</th>
                        <th scope="col">{t.col_status}</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <AccessResult action=access/>
        </section>
    }
    .into_any()
}

#[component]
fn PaymentsSwitch(current: String, switch: ServerAction<SetPaymentsSwitch>) -> impl IntoView {
    let t = texts();
    let options = [
        ("open", t.switch_open),
        ("paused", t.switch_paused),
        ("closed", t.switch_closed),
    ]
    .into_iter()
    .map(|(value, label)| {
        let id = format!("payments-{value}");
        let label_for = id.clone();
        view! {
            <label class="check" for=label_for>
                <input type="radio" id=id name="payments" value=value checked=current == value/>
                {label}
            </label>
        }
    })
    .collect_view();
    view! {
        <section class="card" aria-labelledby="switch-title">
            <h2 id="switch-title">{t.switch_title}</h2>
            <p class="hint">{t.switch_hint}</p>
            <ActionForm action=switch>
                <fieldset class="stack"><legend class="visually-hidden">{t.switch_title}</legend>{options}</fieldset>
                <ConfirmButton id="payments-switch".to_owned() label=t.apply asked=Asked::ChangePaymentsSwitch/>
            </ActionForm>
        </section>
    }
}
