//! `/staff`: the participant's operator logins with their roles. An administrator adds
//! one (the password is generated and shown once) or disables one (it asks first,
//! `ui::confirm::ConfirmButton`; the login stops working at once). Other roles see the
//! list; the server refuses their changes (`forbidden_role`) and the page says so.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{IssuedStaffAccount, StaffAccount, StaffRole};
use super::texts::texts;
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::credentials::{IssuedPassword, IssuedTexts};

/// What adding a login came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateOutcome {
    Created(IssuedStaffAccount),
    BadLogin,
    Taken,
}

/// What disabling a login came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisableOutcome {
    Disabled,
    Unconfirmed,
}

#[cfg(feature = "ssr")]
fn directory() -> Result<std::sync::Arc<crate::server::staff::StaffDirectory>, ServerFnError> {
    use_context::<crate::server::staff::StaffContext>()
        .map(|c| c.directory)
        .ok_or_else(|| ServerFnError::new("this participant keeps no staff logins"))
}

#[server(prefix = "/ui", endpoint = "staff/accounts")]
pub async fn load_staff() -> Result<Vec<StaffAccount>, ServerFnError> {
    directory()?
        .list()
        .await
        .map_err(crate::ui::server_fn::failed)
}

#[server(prefix = "/ui", endpoint = "staff/create")]
pub async fn create_staff(login: String, role: String) -> Result<CreateOutcome, ServerFnError> {
    use crate::server::staff::StaffError;
    let role = StaffRole::parse(&role).unwrap_or(StaffRole::Viewer);
    let by = crate::ui::server_fn::signed_in_login();
    match directory()?.create(&by, &login, role).await {
        Ok(issued) => Ok(CreateOutcome::Created(issued)),
        Err(StaffError::BadLogin) => Ok(CreateOutcome::BadLogin),
        Err(StaffError::Taken) => Ok(CreateOutcome::Taken),
        Err(e) => Err(crate::ui::server_fn::failed(e)),
    }
}

#[server(prefix = "/ui", endpoint = "staff/disable")]
pub async fn disable_staff(
    login: String,
    confirm: Option<String>,
) -> Result<DisableOutcome, ServerFnError> {
    if crate::ui::confirm::require_confirmed(confirm.as_deref()).is_err() {
        return Ok(DisableOutcome::Unconfirmed);
    }
    let by = crate::ui::server_fn::signed_in_login();
    directory()?
        .disable(&by, &login)
        .await
        .map_err(crate::ui::server_fn::failed)?;
    Ok(DisableOutcome::Disabled)
}

#[component]
pub fn StaffPage() -> impl IntoView {
    let t = texts();
    let create = ServerAction::<CreateStaff>::new();
    let disable = ServerAction::<DisableStaff>::new();
    let accounts = Resource::new(
        move || (create.version().get(), disable.version().get()),
        |_| load_staff(),
    );
    let roles = StaffRole::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == StaffRole::Viewer>{t.role(r)}</option> })
        .collect_view();
    view! {
        <h1>{t.staff_title}</h1>
        <p class="hint">{t.staff_hint}</p>
        <section class="card">
            <h2>{t.new_staff}</h2>
            <ActionForm action=create attr:id="staff-create">
                <div class="fields">
                    <div class="field">
                        <label for="staff-login">{t.login}</label>
                        <input id="staff-login" name="login" required autocomplete="off" maxlength="32"/>
                        <span class="hint">{t.login_hint}</span>
                    </div>
                    <div class="field">
                        <label for="staff-role">{t.role}</label>
                        <select id="staff-role" name="role">{roles}</select>
                    </div>
                </div>
                <button type="submit" id="staff-create-button">{t.create}</button>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(CreateOutcome::Created(issued)) => view! {
                    <IssuedPassword id="staff-issued" texts=IssuedTexts {
                        title: t.new_staff,
                        note: t.created_note,
                        login: t.login,
                        password: t.password,
                    } login=issued.login password=issued.password/>
                }.into_any(),
                Ok(CreateOutcome::BadLogin) => view! { <p class="error" role="alert">{t.login_hint}</p> }.into_any(),
                Ok(CreateOutcome::Taken) => view! { <p class="error" role="alert">{t.taken}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </section>
        <section class="card">
            {move || disable.value().get().map(|outcome| match outcome {
                Ok(DisableOutcome::Disabled) => ().into_any(),
                Ok(DisableOutcome::Unconfirmed) => view! { <p class="error" role="alert">{t.disable_confirm}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || accounts.get().map(|result| match result {
                    Ok(rows) => view! { <StaffTable rows disable/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StaffTable(rows: Vec<StaffAccount>, disable: ServerAction<DisableStaff>) -> impl IntoView {
    let t = texts();
    let body = rows
        .into_iter()
        .map(|account| {
            let StaffAccount {
                login,
                role,
                created_at,
                disabled_at,
            } = account;
            let hidden_login = login.clone();
            let row_login = login.clone();
            let button_id = format!("disable-{login}");
            let action = match disabled_at {
                Some(_) => view! { <span>{t.disabled}</span> }.into_any(),
                None => view! {
                    <ActionForm action=disable>
                        <input type="hidden" name="login" value=hidden_login/>
                        <ConfirmButton id=button_id label=t.disable asked=Asked::DisableStaff danger=true/>
                    </ActionForm>
                }
                .into_any(),
            };
            let created = created_at.get(..19).unwrap_or_default().replace('T', " ");
            view! {
                <tr data-login=row_login>
                    <td>{login}</td>
                    <td>{t.role(role)}</td>
                    <td>{created}</td>
                    <td>{action}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid" id="staff-accounts">
            <thead>
                <tr>
                    <th>{t.login}</th>
                    <th>{t.col_role}</th>
                    <th>{t.col_created}</th>
                    <th>{t.col_state}</th>
                </tr>
            </thead>
            <tbody>
                <tr>
                    <td>{t.file_admin}</td>
                    <td>{t.role(StaffRole::Administrator)}</td>
                    <td></td>
                    <td>{t.enabled}</td>
                </tr>
                {body}
            </tbody>
        </table>
    }
}
