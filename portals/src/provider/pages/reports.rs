//! `/reports`: a subscriber's report for a period — download the workbook or e-mail it to
//! the subscriber — and the outbox of e-mails, where a letter that could not be sent
//! shows its error and attempts and can be sent again.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::texts::texts;
use crate::ui::zone_note::ZoneNote;

/// The provider's zone (`--time-zone`): whose days a report's period and the transaction
/// list's dates name.
#[server(prefix = "/ui", endpoint = "provider/zone")]
pub async fn provider_zone() -> Result<String, ServerFnError> {
    Ok(super::subscribers::provider_state()?.zone.name().to_owned())
}
use crate::provider::model::OutgoingMailView;

/// What the e-mail form gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailOutcome {
    Queued(Box<OutgoingMailView>),
    /// Why it was refused, in one line (bad period, unknown account, no mail server).
    Refused(String),
}

#[cfg(feature = "ssr")]
fn refusal(error: shared::error::ApiError) -> Result<MailOutcome, ServerFnError> {
    use shared::error::ApiError;
    match error {
        ApiError::Validation { fields } => Ok(MailOutcome::Refused(
            fields
                .iter()
                .map(|(field, why)| format!("{field}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        not_found @ ApiError::NotFound { .. } => Ok(MailOutcome::Refused(not_found.to_string())),
        other => Err(super::subscribers::failed(other)),
    }
}

#[server(prefix = "/ui", endpoint = "provider/mail-report")]
pub async fn mail_report(
    account: String,
    from: String,
    to: String,
) -> Result<MailOutcome, ServerFnError> {
    use crate::provider::server::reports::{self, PeriodQuery};
    let state = super::subscribers::provider_state()?;
    let period = match (PeriodQuery {
        from: Some(from),
        to: Some(to),
    })
    .period()
    {
        Ok(period) => period,
        Err(e) => return refusal(e),
    };
    match reports::mail_report(&state, account.trim(), period).await {
        Ok(mail) => Ok(MailOutcome::Queued(Box::new(mail))),
        Err(e) => refusal(e),
    }
}

#[server(prefix = "/ui", endpoint = "provider/outbox")]
pub async fn load_outbox() -> Result<Vec<OutgoingMailView>, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    crate::provider::server::mail_outbox::list(&state.pool, None, 200)
        .await
        .map_err(failed)
}

#[server(prefix = "/ui", endpoint = "provider/mail-retry")]
pub async fn retry_mail(mail_id: i64) -> Result<(), ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    crate::provider::server::reports::retry(&state, mail_id)
        .await
        .map(|_| ())
        .map_err(failed)
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let t = texts();
    let query = use_query_map();
    let get = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let send = ServerAction::<MailReport>::new();
    let zone = Resource::new(|| (), |_| provider_zone());
    let retry = ServerAction::<RetryMail>::new();
    let outbox = Resource::new(
        move || (send.version().get(), retry.version().get()),
        |_| load_outbox(),
    );
    let chosen = move || {
        let (account, from, to) = (get("account")(), get("from")(), get("to")());
        if account.is_empty() || from.is_empty() || to.is_empty() {
            return view! { <p class="hint">{t.report_pick}</p> }.into_any();
        }
        let href = format!("/api/admin/v1/subscribers/{account}/report.xlsx?from={from}&to={to}");
        view! {
            <div class="report-actions">
                <p><a id="report-download" href=href download>{t.report_download}</a></p>
                <ActionForm action=send>
                    <input type="hidden" name="account" value=account/>
                    <input type="hidden" name="from" value=from/>
                    <input type="hidden" name="to" value=to/>
                    <button type="submit" id="report-mail">{t.report_mail}</button>
                </ActionForm>
                {move || send.value().get().map(|outcome| match outcome {
                    Ok(MailOutcome::Queued(mail)) => view! { <p class="ok" role="status">{format!("{} {}", t.report_queued, mail.recipient)}</p> }.into_any(),
                    Ok(MailOutcome::Refused(why)) => view! { <p class="error" role="status">{why}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="status">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </div>
        }
        .into_any()
    };
    view! {
        <h1>{t.reports_title}</h1>
        <section class="card" aria-labelledby="report-title">
            <h2 id="report-title">{t.report_title}</h2>
            <form method="get" class="inline-form" id="report-form">
                <label for="account">{t.account}</label>
                <input id="account" name="account" inputmode="numeric" required prop:value=get("account")/>
                <label for="from">{t.from}</label>
                <input id="from" name="from" type="date" required prop:value=get("from")/>
                <label for="to">{t.to}</label>
                <input id="to" name="to" type="date" required prop:value=get("to")/>
                <button type="submit">{t.show}</button>
            </form>
            <ZoneNote label=t.days_in_zone zone/>
            {chosen}
        </section>
        <section class="card" aria-labelledby="outbox-title">
            <h2 id="outbox-title">{t.outbox_title}</h2>
            <p class="hint">{t.outbox_hint}</p>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || outbox.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.outbox_empty}</p> }.into_any(),
                    Ok(rows) => view! { <Outbox rows retry/> }.into_any(),
                    Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Outbox(rows: Vec<OutgoingMailView>, retry: ServerAction<RetryMail>) -> impl IntoView {
    let t = texts();
    let undelivered = rows
        .iter()
        .filter(|m| m.status != "sent" && m.attempts > 0)
        .count();
    let body = rows
        .into_iter()
        .map(|m| {
            let (badge, word) = match m.status.as_str() {
                "sent" => ("badge badge-active", t.mail_sent),
                "failed" => ("badge badge-closed", t.mail_failed),
                _ if m.attempts > 0 => ("badge badge-suspended", t.mail_retrying),
                _ => ("badge badge-suspended", t.mail_queued),
            };
            let can_retry = m.status != "sent";
            view! {
                <tr>
                    <td>{m.created_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                    <td>{m.account.clone()}" · "{m.recipient.clone()}</td>
                    <td>{m.attachment_name.clone()}</td>
                    <td><span class=badge>{word}</span></td>
                    <td class="num">{m.attempts}</td>
                    <td>{m.last_error.clone().unwrap_or_default()}</td>
                    <td>{can_retry.then(|| view! {
                        <ActionForm action=retry>
                            <input type="hidden" name="mail_id" value=m.mail_id/>
                            <button type="submit">{t.mail_retry}</button>
                        </ActionForm>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {(undelivered > 0).then(|| view! {
            <p class="error" role="status" id="outbox-alert">{format!("{}: {undelivered}", t.outbox_undelivered)}</p>
        })}
        <table class="grid" id="outbox">
            <thead>
                <tr>
                    <th scope="col">{t.col_time}</th>
                    <th scope="col">{t.outbox_to}</th>
                    <th scope="col">{t.outbox_file}</th>
                    <th scope="col">{t.col_status}</th>
                    <th scope="col" class="num">{t.outbox_attempts}</th>
                    <th scope="col">{t.outbox_error}</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}
