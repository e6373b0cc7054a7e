//! `/agents`: agent contracts (credentials shown once), fees, balances and top-ups.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;

use super::agent_lifecycle::{
    AgentActions, AgentStatusBadge, LifecycleResult, RotateAgentPassword, SetAgentStatus,
    StatusResult, status_header,
};
use super::texts::texts;
use crate::processing::listing::AgentSort;
use crate::processing::model::{AgentView, IssuedAgent};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::rub;
use crate::ui::sort::{SortDir, order_of, sort_header};

/// Every agent, in the order `sort`/`dir` name (read leniently: an unknown value shows
/// the default order; the API is the one that refuses it).
#[server(prefix = "/ui", endpoint = "processing/agents")]
pub async fn load_agents(sort: String, dir: String) -> Result<Vec<AgentView>, ServerFnError> {
    use super::providers::{failed, processing_state};
    let state = processing_state()?;
    let order = order_of::<AgentSort>(&sort, &dir);
    crate::processing::server::lists::agents(&state, order)
        .await
        .map_err(failed)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentOutcome {
    Issued(IssuedAgent),
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "processing/create-agent")]
pub async fn create_agent(
    name: String,
    percent: String,
    fixed: String,
    min: String,
    max: String,
) -> Result<AgentOutcome, ServerFnError> {
    use super::providers::{processing_state, refusal};
    use crate::processing::server::admin::{self, AgentContract};
    let state = processing_state()?;
    let money = |text: &str| crate::ui::server_fn::typed_amount(text);
    let percent_bp = crate::ui::server_fn::typed_percent_bp(&percent);
    let max = if max.trim().is_empty() {
        Ok(None)
    } else {
        money(&max).map(Some)
    };
    let (Some(percent_bp), Ok(fixed), Ok(min), Ok(max)) =
        (percent_bp, money(&fixed), money(&min), max)
    else {
        let t = crate::server::ui::request_lang().t();
        return Ok(AgentOutcome::Refused(t.fee_bad_rule.into()));
    };
    let body = AgentContract {
        name,
        fee: shared::fee::FeeRule {
            percent_bp,
            fixed,
            min,
            max,
        },
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::create_agent(&state, &body, &by).await {
        Ok(issued) => Ok(AgentOutcome::Issued(issued)),
        Err(e) => refusal(e).map(AgentOutcome::Refused),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopupOutcome {
    Balance(Kopecks),
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "processing/topup")]
pub async fn top_up(
    agent_id: i64,
    amount: String,
    reference: String,
    confirm: Option<String>,
) -> Result<TopupOutcome, ServerFnError> {
    use super::providers::{failed, processing_state, refusal};
    crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    use crate::processing::server::admin::{self, Topup};
    let state = processing_state()?;
    let amount = match crate::ui::server_fn::typed_amount(&amount) {
        Ok(amount) => amount,
        Err(why) => return Ok(TopupOutcome::Refused(why)),
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::top_up(&state, agent_id, &Topup { amount, reference }, &by).await {
        Ok(balance) => Ok(TopupOutcome::Balance(balance)),
        Err(e) => refusal(e).map(TopupOutcome::Refused),
    }
}

#[component]
pub fn AgentsPage() -> impl IntoView {
    let t = texts();
    let create = ServerAction::<CreateAgent>::new();
    let topup = ServerAction::<TopUp>::new();
    let status = ServerAction::<SetAgentStatus>::new();
    let rotate = ServerAction::<RotateAgentPassword>::new();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let list = Resource::new(
        move || {
            (
                get("sort")(),
                get("dir")(),
                create.version().get(),
                topup.version().get(),
                status.version().get(),
            )
        },
        |(sort, dir, ..)| load_agents(sort, dir),
    );
    let order = move || order_of::<AgentSort>(&get("sort")(), &get("dir")());
    let field = |id: &'static str, label: &'static str, value: &'static str, hint: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=id value=value placeholder=hint inputmode="decimal" autocomplete="off"/>
            </div>
        }
    };
    view! {
        <h1>{t.agents_title}</h1>
        <section class="card" aria-labelledby="new-agent-title">
            <h2 id="new-agent-title">{t.new_agent}</h2>
            <ActionForm action=create>
                <div class="fields">
                    <div class="field">
                        <label for="agent-name">{t.name}</label>
                        <input id="agent-name" name="name" required autocomplete="off"/>
                    </div>
                    {field("percent", t.fee_percent, "1.50", "")}
                    {field("fixed", t.fee_fixed, "0.00", "")}
                    {field("min", t.fee_min, "0.00", "")}
                    {field("max", t.fee_max, "", t.fee_max_hint)}
                </div>
                <button type="submit" disabled=move || create.pending().get()>{t.create_agent}</button>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(AgentOutcome::Issued(a)) => view! {
                    <div class="issued" role="status" id="issued-agent">
                        <h3>{t.issued_title}</h3>
                        <p class="warning">{t.issued_note}</p>
                        <dl class="pairs">
                            <dt>{t.contract_number}</dt><dd>{a.contract_number.clone()}</dd>
                            <dt>{t.api_url}</dt><dd><code>{a.api_url.clone()}</code>{format!(" ({})", a.protocol)}</dd>
                            <dt>{t.login}</dt><dd><code>{a.login.clone()}</code></dd>
                            <dt>{t.password}</dt><dd><code id="issued-agent-password">{a.password.clone()}</code></dd>
                        </dl>
                    </div>
                }.into_any(),
                Ok(AgentOutcome::Refused(why)) => view! { <p class="error" role="alert">{format!("{}: {why}", t.invalid_form)}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || list.get().map(|result| match result {
                Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.no_agents}</p> }.into_any(),
                Ok(rows) => view! { <AgentTable rows=rows.clone() order=order() status rotate/> <TopupForm agents=rows topup/> }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn fee_text(fee: &shared::fee::FeeRule) -> String {
    let percent = Kopecks::new(i64::from(fee.percent_bp));
    let mut text = format!("{percent} % + {}", rub(fee.fixed));
    if fee.min.is_positive() {
        text.push_str(&format!(", min {}", rub(fee.min)));
    }
    if let Some(max) = fee.max {
        text.push_str(&format!(", max {}", rub(max)));
    }
    text
}

#[component]
fn AgentTable(
    rows: Vec<AgentView>,
    /// How the list is sorted now (its headers sort it).
    order: (AgentSort, SortDir),
    status: ServerAction<SetAgentStatus>,
    rotate: ServerAction<RotateAgentPassword>,
) -> impl IntoView {
    let t = texts();
    let body = rows
        .into_iter()
        .map(|a| {
            let actions = a.clone();
            view! {
                <tr>
                    <td>{a.agent_id}</td>
                    <td>{a.name.clone()}</td>
                    <td>{a.contract_number.clone()}</td>
                    <td><code>{a.login.clone()}</code></td>
                    <td>{fee_text(&a.fee)}</td>
                    <td class="num">{rub(a.balance.amount)}</td>
                    <td class="num">{rub(a.reserved.amount)}</td>
                    <td class="num"><strong>{rub(a.available.amount)}</strong></td>
                    <td><AgentStatusBadge status=a.status/></td>
                    <td class="actions"><AgentActions agent=actions status rotate/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <table class="grid" id="agents">
                <thead>
                    <tr>
                        {sort_header(AgentSort::Id, "№", order, &[], false)}
                        {sort_header(AgentSort::Name, t.name, order, &[], false)}
                        <th scope="col">{t.contract_number}</th>
                        <th scope="col">{t.login}</th>
                        <th scope="col">{t.fee}</th>
                        {sort_header(AgentSort::Balance, t.balance, order, &[], true)}
                        <th scope="col" class="num">{t.reserved}</th>
                        {sort_header(AgentSort::Available, t.available, order, &[], true)}
                        <th scope="col">{status_header()}</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            <StatusResult action=status/>
            <LifecycleResult action=rotate/>
        </section>
    }
}

#[component]
fn TopupForm(agents: Vec<AgentView>, topup: ServerAction<TopUp>) -> impl IntoView {
    let t = texts();
    let options = agents
        .into_iter()
        .map(|a| view! { <option value=a.agent_id.to_string()>{format!("{} · {}", a.contract_number, a.name)}</option> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="topup-title">
            <h2 id="topup-title">{t.topup_title}</h2>
            <ActionForm action=topup>
                <div class="fields">
                    <div class="field">
                        <label for="topup-agent">{t.agent}</label>
                        <select id="topup-agent" name="agent_id">{options}</select>
                    </div>
                    <div class="field">
                        <label for="topup-amount">{t.amount}</label>
                        <input id="topup-amount" name="amount" inputmode="decimal" required placeholder="10000.00"/>
                    </div>
                    <div class="field">
                        <label for="topup-reference">{t.reference}</label>
                        <input id="topup-reference" name="reference" required placeholder=t.reference_hint/>
                    </div>
                </div>
                <ConfirmButton id="topup".to_owned() label=t.topup_button asked=Asked::TopUpAgent busy=Signal::derive(move || topup.pending().get())/>
            </ActionForm>
            {move || topup.value().get().map(|outcome| match outcome {
                Ok(TopupOutcome::Balance(balance)) => view! { <p class="ok" role="status">{format!("{}: {}", t.topped_up, rub(balance))}</p> }.into_any(),
                Ok(TopupOutcome::Refused(why)) if why == "idempotency_conflict" => view! { <p class="error" role="alert">{t.repeated_reference}</p> }.into_any(),
                Ok(TopupOutcome::Refused(why)) => view! { <p class="error" role="alert">{format!("{}: {why}", t.invalid_form)}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" id="topup-failed">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
    }
}
