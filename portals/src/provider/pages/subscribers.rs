//! Subscribers: the sign form (credentials shown once), search and list, and one
//! subscriber's page with balance, history, changes and closing.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use shared::money::Kopecks;
use shared::wire::provider::SubscriberContract;

use super::texts::{Texts, texts};
use crate::provider::domain::FieldErrors;
use crate::provider::listing::{SubscriberList, SubscriberSort};
use crate::provider::model::{SubscriberView, TransactionRow};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::rub;
use crate::ui::sort::{SortColumn, SortDir, order_of, query_string, sort_header};

/// What the sign form gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignOutcome {
    Signed(SubscriberContract),
    Invalid(FieldErrors),
}

#[cfg(feature = "ssr")]
pub fn provider_state() -> Result<crate::provider::server::ProviderState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

#[cfg(feature = "ssr")]
pub use crate::ui::server_fn::failed;

/// Checked boxes arrive as `Some("on")`.
#[cfg(feature = "ssr")]
fn checked(services: [(&str, &Option<String>); 3]) -> Vec<String> {
    services
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[server(prefix = "/ui", endpoint = "provider/sign")]
pub async fn sign_subscriber(
    full_name: String,
    passport: String,
    email: String,
    call: Option<String>,
    internet: Option<String>,
    sms: Option<String>,
) -> Result<SignOutcome, ServerFnError> {
    let state = provider_state()?;
    use crate::provider::domain;
    let services = checked([("call", &call), ("internet", &internet), ("sms", &sms)]);
    match domain::contract_data(&full_name, &passport, &email, &services) {
        Err(errors) => Ok(SignOutcome::Invalid(errors)),
        Ok(data) => {
            let by = crate::ui::server_fn::signed_in_login();
            crate::provider::server::admin::sign_subscriber(&state, data, &by)
                .await
                .map(SignOutcome::Signed)
                .map_err(failed)
        }
    }
}

/// Rows on one page of the list: enough to scan, few enough to read.
pub const PAGE_ROWS: i64 = 50;

/// One page of the list for the search `query`, in the order `sort`/`dir` name (read
/// leniently: an unknown value shows the default order), after the cursor `after`.
#[server(prefix = "/ui", endpoint = "provider/subscribers")]
pub async fn list_subscribers(
    query: String,
    sort: String,
    dir: String,
    after: String,
) -> Result<SubscriberList, ServerFnError> {
    use crate::provider::server::subscriber_list::{self, SubscriberQuery};
    let state = provider_state()?;
    let (sort, dir) = order_of::<SubscriberSort>(&sort, &dir);
    let query = SubscriberQuery {
        q: query,
        sort,
        dir,
        after: crate::server::listing::Cursor::parse(&after),
        limit: PAGE_ROWS,
    };
    let (rows, next) = subscriber_list::page(&state.pool, &query)
        .await
        .map_err(failed)?;
    Ok(SubscriberList {
        rows: rows.into_iter().map(SubscriberView::from).collect(),
        next: next.map(|cursor| cursor.to_string()),
    })
}

/// One subscriber and the latest of its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberDetails {
    pub subscriber: SubscriberView,
    pub history: Vec<TransactionRow>,
}

#[server(prefix = "/ui", endpoint = "provider/subscriber")]
pub async fn subscriber_page(account: String) -> Result<Option<SubscriberDetails>, ServerFnError> {
    use crate::provider::server::store;
    let state = provider_state()?;
    let Some(row) = store::subscriber_by_account(&state.pool, &account)
        .await
        .map_err(failed)?
    else {
        return Ok(None);
    };
    let history = store::transactions(
        &state.pool,
        Some(&account),
        crate::server::clock::day_bounds(None, None),
        None,
        200,
    )
    .await
    .map_err(failed)?;
    Ok(Some(SubscriberDetails {
        subscriber: row.into(),
        history,
    }))
}

/// What the change form gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeOutcome {
    Saved,
    Invalid(FieldErrors),
    Closed,
}

#[server(prefix = "/ui", endpoint = "provider/change")]
pub async fn change_subscriber(
    account: String,
    full_name: String,
    passport: String,
    email: String,
    call: Option<String>,
    internet: Option<String>,
    sms: Option<String>,
) -> Result<ChangeOutcome, ServerFnError> {
    let state = provider_state()?;
    use crate::provider::domain;
    let services = checked([("call", &call), ("internet", &internet), ("sms", &sms)]);
    let changes = match domain::contract_changes(
        Some(&full_name),
        Some(&passport),
        Some(&email),
        Some(&services),
    ) {
        Ok(changes) => changes,
        Err(errors) => return Ok(ChangeOutcome::Invalid(errors)),
    };
    let by = crate::ui::server_fn::signed_in_login();
    if crate::provider::server::billing::update(&state.pool, &account, &changes, &by)
        .await
        .map_err(failed)?
    {
        tracing::info!(account, "subscriber changed from the portal");
        Ok(ChangeOutcome::Saved)
    } else {
        Ok(ChangeOutcome::Closed)
    }
}

#[server(prefix = "/ui", endpoint = "provider/close")]
pub async fn close_subscriber(
    account: String,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    crate::ui::confirm::require_confirmed(confirm.as_deref()).map_err(failed)?;
    let state = provider_state()?;
    if crate::provider::server::billing::close(
        &state.pool,
        &state.subscriber_logins,
        &account,
        &crate::ui::server_fn::signed_in_login(),
    )
    .await
    .map_err(failed)?
    {
        tracing::info!(account, "subscriber contract closed from the portal");
    }
    Ok(())
}

/// The reason for `field`, if it was refused.
fn field_error(
    t: &'static Texts,
    errors: &Option<FieldErrors>,
    field: &str,
) -> Option<&'static str> {
    errors
        .as_ref()
        .and_then(|e| e.get(field))
        .map(|why| t.invalid(*why))
}

/// The three service boxes, ticked as `ticked` says.
fn service_boxes(t: &'static Texts, ticked: Vec<String>) -> impl IntoView {
    ["call", "internet", "sms"]
        .into_iter()
        .map(|service| {
            let id = format!("service-{service}");
            let label_for = id.clone();
            let on = ticked.iter().any(|s| s == service);
            view! {
                <label class="check" for=label_for>
                    <input type="checkbox" id=id name=service checked=on/>
                    {t.service(service)}
                </label>
            }
        })
        .collect_view()
}

fn status_badge(t: &'static Texts, status: &str) -> impl IntoView + use<> {
    view! { <span class=format!("badge badge-{status}")>{t.status(status)}</span> }
}

/// `/subscribers`
#[component]
pub fn SubscribersPage() -> impl IntoView {
    let t = texts();
    let frame = crate::ui::i18n::t();
    let sign = ServerAction::<SignSubscriber>::new();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let search = get("q");
    let list = Resource::new(
        move || {
            (
                search(),
                get("sort")(),
                get("dir")(),
                get("after")(),
                sign.version().get(),
            )
        },
        |(q, sort, dir, after, _)| list_subscribers(q, sort, dir, after),
    );
    let order = move || order_of::<SubscriberSort>(&get("sort")(), &get("dir")());
    let errors = move || match sign.value().get() {
        Some(Ok(SignOutcome::Invalid(errors))) => Some(errors),
        _ => None,
    };
    view! {
        <h1>{frame.nav_subscribers}</h1>
        <section class="card" aria-labelledby="sign-title">
            <h2 id="sign-title">{t.sign_title}</h2>
            <ActionForm action=sign>
                <div class="fields">
                    <div class="field">
                        <label for="full_name">{t.full_name}</label>
                        <input id="full_name" name="full_name" required autocomplete="off" placeholder=t.full_name_hint/>
                        <span class="field-error" role="alert">{move || field_error(t, &errors(), "full_name")}</span>
                    </div>
                    <div class="field">
                        <label for="passport">{t.passport}</label>
                        <input id="passport" name="passport" required inputmode="numeric" autocomplete="off" placeholder=t.passport_hint/>
                        <span class="field-error" role="alert">{move || field_error(t, &errors(), "passport")}</span>
                    </div>
                    <div class="field">
                        <label for="email">{t.email}</label>
                        <input id="email" name="email" type="email" required autocomplete="off" placeholder="name@example.ru"/>
                        <span class="field-error" role="alert">{move || field_error(t, &errors(), "email")}</span>
                    </div>
                </div>
                <fieldset class="services">
                    <legend>{t.services}</legend>
                    {service_boxes(t, vec!["call".into(), "internet".into(), "sms".into()])}
                    <span class="field-error" role="alert">{move || field_error(t, &errors(), "services")}</span>
                </fieldset>
                <button type="submit" disabled=move || sign.pending().get()>{t.sign_button}</button>
            </ActionForm>
            {move || match sign.value().get() {
                Some(Ok(SignOutcome::Signed(contract))) => view! { <SignedContract contract/> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                _ => ().into_any(),
            }}
        </section>
        <section class="card" aria-labelledby="list-title">
            <h2 id="list-title" class="visually-hidden">{frame.nav_subscribers}</h2>
            // A new search keeps the order (hidden fields) and starts at the first page.
            <form method="get" class="inline-form" role="search">
                <label for="q">{t.search_label}</label>
                <input id="q" name="q" type="search" prop:value=search/>
                {move || {
                    let (sort, dir) = order();
                    view! {
                        <input type="hidden" name="sort" value=sort.as_str()/>
                        <input type="hidden" name="dir" value=dir.as_str()/>
                    }
                }}
                <button type="submit">{t.search_button}</button>
            </form>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || list.get().map(|result| match result {
                    Ok(page) if page.rows.is_empty() => view! { <p class="empty-state">{t.no_subscribers}</p> }.into_any(),
                    Ok(page) => {
                        let (sort, dir) = order();
                        let keep = [("q", search())];
                        let listed = [("q", search()), ("sort", sort.as_str().to_owned()), ("dir", dir.as_str().to_owned())];
                        let next = page.next.map(|after| {
                            let mut params = listed.to_vec();
                            params.push(("after", after));
                            query_string(&params)
                        });
                        let first = (!get("after")().is_empty()).then(|| query_string(&listed));
                        view! {
                            <SubscriberTable rows=page.rows order=(sort, dir) keep=keep.to_vec()/>
                            // Whole page loads (rel="external"), as the processing payment
                            // list's: the server renders each page.
                            <nav class="pager" aria-label=t.pager_label>
                                {first.map(|href| view! { <a id="first-page" rel="external" href=href>{t.first_page}</a> })}
                                {next.map(|href| view! { <a id="next-page" rel="external" href=href>{t.next_page}</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The list, its headers sorting it (`order`: how it is sorted now; `keep`: the search
/// a header keeps).
#[component]
fn SubscriberTable(
    rows: Vec<SubscriberView>,
    order: (SubscriberSort, SortDir),
    keep: Vec<(&'static str, String)>,
) -> impl IntoView {
    let t = texts();
    let body = rows
        .into_iter()
        .map(|s| {
            let href = format!("/subscribers/{}", s.account);
            let services = s
                .services
                .iter()
                .map(|x| t.service(x))
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <tr>
                    <td><A href=href>{s.account.clone()}</A></td>
                    <td>{s.full_name}</td>
                    <td>{s.email}</td>
                    <td>{services}</td>
                    <td class="num">{rub(s.balance.amount)}</td>
                    <td>{status_badge(t, &s.status)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid" id="subscribers">
            <thead>
                <tr>
                    {sort_header(SubscriberSort::Account, t.account, order, &keep, false)}
                    {sort_header(SubscriberSort::Name, t.full_name, order, &keep, false)}
                    <th scope="col">{t.email}</th>
                    <th scope="col">{t.services}</th>
                    {sort_header(SubscriberSort::Balance, t.col_balance, order, &keep, true)}
                    <th scope="col">{t.col_status}</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// The freshly signed contract, with its password, once.
#[component]
fn SignedContract(contract: SubscriberContract) -> impl IntoView {
    let t = texts();
    let json = serde_json::to_string_pretty(&contract).unwrap_or_default();
    view! {
        <div class="issued" role="status" id="signed-contract">
            <h3>{t.signed_title}</h3>
            <p class="warning">{t.signed_note}</p>
            <dl class="pairs">
                <dt>{t.account}</dt><dd id="signed-account">{contract.account.clone()}</dd>
                <dt>{t.login}</dt><dd><code>{contract.login.clone()}</code></dd>
                <dt>{t.password}</dt><dd><code id="signed-password">{contract.password.clone()}</code></dd>
                <dt>{t.usage_url}</dt><dd><code>{contract.usage_url.clone()}</code></dd>
                <dt>{t.protocol}</dt><dd><code>{contract.protocol.clone()}</code></dd>
            </dl>
            <label for="contract-json-out">{t.contract_json}</label>
            <textarea id="contract-json-out" readonly rows="10">{json}</textarea>
        </div>
    }
}

/// `/subscribers/:account`
#[component]
pub fn SubscriberDetail() -> impl IntoView {
    let t = texts();
    let params = use_params_map();
    let account = move || params.read().get("account").unwrap_or_default();
    let change = ServerAction::<ChangeSubscriber>::new();
    let close = ServerAction::<CloseSubscriber>::new();
    let page = Resource::new(
        move || (account(), change.version().get(), close.version().get()),
        |(account, _, _)| subscriber_page(account),
    );
    view! {
        <p><A href="/subscribers">{"← "}{crate::ui::i18n::t().nav_subscribers}</A></p>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || page.get().map(|result| match result {
                Ok(Some(page)) => view! { <SubscriberCard page change close/> }.into_any(),
                Ok(None) => view! { <h1>{account()}</h1><p class="empty-state">{t.subscriber_not_found}</p> }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SubscriberCard(
    page: SubscriberDetails,
    change: ServerAction<ChangeSubscriber>,
    close: ServerAction<CloseSubscriber>,
) -> impl IntoView {
    let t = texts();
    let s = page.subscriber;
    let active = s.status == "active";
    let errors = move || match change.value().get() {
        Some(Ok(ChangeOutcome::Invalid(errors))) => Some(errors),
        _ => None,
    };
    let saved = move || matches!(change.value().get(), Some(Ok(ChangeOutcome::Saved)));
    let account_edit = s.account.clone();
    let account_close = s.account.clone();
    view! {
        <h1>{s.full_name.clone()}" · "{s.account.clone()}</h1>
        <div class="summary">
            <div class="figure"><span>{t.col_balance}</span><strong id="subscriber-balance">{rub(s.balance.amount)}</strong></div>
            <div class="figure"><span>{t.col_status}</span>{status_badge(t, &s.status)}</div>
            <div class="figure"><span>{t.opened_at}</span><span>{s.created_at.get(..16).unwrap_or_default().replace('T', " ")}</span></div>
            {s.closed_at.clone().map(|at| view! { <div class="figure"><span>{t.closed_at}</span><span>{at.get(..16).unwrap_or_default().replace('T', " ")}</span></div> })}
        </div>
        <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">{t.history_title}</h2>
            <p><A href=format!("/reports?account={}", s.account)>{t.report_link}</A></p>
            <TransactionTable rows=page.history show_account=false/>
            // The latest 200 here; the transactions page pages through all of them.
            <p><a id="all-history" rel="external" href=format!("/transactions?account={}", s.account)>{t.all_history}</a></p>
        </section>
        {active.then(move || view! {
            <section class="card" aria-labelledby="edit-title">
                <h2 id="edit-title">{t.edit_title}</h2>
                <ActionForm action=change>
                    <input type="hidden" name="account" value=account_edit/>
                    <div class="fields">
                        <div class="field">
                            <label for="edit-full_name">{t.full_name}</label>
                            <input id="edit-full_name" name="full_name" required value=s.full_name.clone()/>
                            <span class="field-error">{move || field_error(t, &errors(), "full_name")}</span>
                        </div>
                        <div class="field">
                            <label for="edit-passport">{t.passport}</label>
                            <input id="edit-passport" name="passport" required value=s.passport.clone()/>
                            <span class="field-error">{move || field_error(t, &errors(), "passport")}</span>
                        </div>
                        <div class="field">
                            <label for="edit-email">{t.email}</label>
                            <input id="edit-email" name="email" type="email" required value=s.email.clone()/>
                            <span class="field-error">{move || field_error(t, &errors(), "email")}</span>
                        </div>
                    </div>
                    <fieldset class="services">
                        <legend>{t.services}</legend>
                        {service_boxes(t, s.services.clone())}
                        <span class="field-error">{move || field_error(t, &errors(), "services")}</span>
                    </fieldset>
                    <button type="submit">{t.save}</button>
                    <Show when=saved><span class="ok" role="status">{" "}{t.saved}</span></Show>
                </ActionForm>
            </section>
            <section class="card danger" aria-labelledby="close-title">
                <h2 id="close-title">{t.close_title}</h2>
                <p>{t.close_warning}</p>
                <ActionForm action=close>
                    <input type="hidden" name="account" value=account_close/>
                    <ConfirmButton id="close-subscriber".to_owned() label=t.close_button asked=Asked::CloseSubscriber danger=true/>
                </ActionForm>
            </section>
        })}
    }
}

/// A table of balance movements.
#[component]
pub fn TransactionTable(rows: Vec<TransactionRow>, show_account: bool) -> impl IntoView {
    let t = texts();
    if rows.is_empty() {
        return view! { <p class="empty-state">{t.no_transactions}</p> }.into_any();
    }
    let body = rows
        .into_iter()
        .map(|r| {
            let (operation, details) = match r.kind.as_str() {
                "usage" => (
                    t.kind_usage,
                    format!(
                        "{} × {} ({} {})",
                        t.service(r.service.as_deref().unwrap_or_default()),
                        r.quantity.unwrap_or_default(),
                        rub(Kopecks::new(r.unit_price.unwrap_or_default())),
                        t.per
                    ),
                ),
                // The payment's fields after the account (`city: Пермь`), as the
                // processing center sent them.
                _ => (t.kind_payment, format!(
                    "{} {} · {} {}{}",
                    t.col_txn_id,
                    r.txn_id.unwrap_or_default(),
                    t.col_prv_txn,
                    r.prv_txn.unwrap_or_default(),
                    r.extra.0.iter().map(|(name, value)| format!(" · {name}: {value}")).collect::<String>()
                )),
            };
            let account = r.account.clone();
            view! {
                <tr>
                    <td>{r.created_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                    {show_account.then(|| view! { <td><A href=format!("/subscribers/{account}")>{account.clone()}</A></td> })}
                    <td>{operation}</td>
                    <td class="num">{rub(Kopecks::new(r.amount))}</td>
                    <td class="num">{rub(Kopecks::new(r.balance_after))}</td>
                    <td>{details}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead>
                <tr>
                    <th scope="col">{t.col_time}</th>
                    {show_account.then(|| view! { <th scope="col">{t.account}</th> })}
                    <th scope="col">{t.col_operation}</th>
                    <th scope="col" class="num">{t.col_amount}</th>
                    <th scope="col" class="num">{t.col_balance_after}</th>
                    <th scope="col">{t.col_details}</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}
