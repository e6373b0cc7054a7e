//! `/audit`: the audit log, newest first, filtered by kind, login and object, with the
//! same selection exported as CSV (`/api/admin/v1/audit.csv`).

use leptos::prelude::*;

use super::model::{AuditEntry, AuditKind};
use super::texts::texts;

/// Entries the page shows at most (the CSV export has the API's limit).
pub const PAGE_ROWS: i64 = 500;

#[server(prefix = "/ui", endpoint = "staff/audit")]
pub async fn load_audit(
    kind: String,
    login: String,
    object: String,
) -> Result<Vec<AuditEntry>, ServerFnError> {
    use crate::server::audit::{self, AuditLog, Filter};
    use crate::ui::server_fn::failed;
    let log = use_context::<AuditLog>()
        .ok_or_else(|| ServerFnError::new("this participant keeps no audit log"))?;
    let filter = Filter {
        kind: AuditKind::parse(&kind),
        login: Some(login),
        object: Some(object),
        before_id: None,
        limit: Some(PAGE_ROWS),
    };
    audit::list(&log.0, &filter).await.map_err(failed)
}

/// `?kind=…&login=…&object=…`, percent-encoded, for the CSV link.
fn export_href(kind: &str, login: &str, object: &str) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "/api/admin/v1/audit.csv?kind={}&login={}&object={}",
        encode(kind),
        encode(login),
        encode(object)
    )
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let t = texts();
    let kind = RwSignal::new(String::new());
    let login = RwSignal::new(String::new());
    let object = RwSignal::new(String::new());
    // The filter applies on "Show", not on every key.
    let applied = RwSignal::new((String::new(), String::new(), String::new()));
    let entries = Resource::new(
        move || applied.get(),
        |(kind, login, object)| load_audit(kind, login, object),
    );
    let kinds = AuditKind::ALL
        .into_iter()
        .map(|k| view! { <option value=k.as_str()>{t.kind(k)}</option> })
        .collect_view();
    let export = move || {
        let (k, l, o) = applied.get();
        export_href(&k, &l, &o)
    };
    view! {
        <h1>{t.audit_title}</h1>
        <p class="hint">{t.audit_hint}</p>
        <section class="card">
            <form class="fields" id="audit-filter" on:submit=move |ev| {
                ev.prevent_default();
                applied.set((kind.get_untracked(), login.get_untracked(), object.get_untracked()));
            }>
                <div class="field">
                    <label for="audit-kind">{t.filter_kind}</label>
                    <select id="audit-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="">{t.any_kind}</option>
                        {kinds}
                    </select>
                </div>
                <div class="field">
                    <label for="audit-login">{t.filter_login}</label>
                    <input id="audit-login" autocomplete="off" on:input=move |ev| login.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="audit-object">{t.filter_object}</label>
                    <input id="audit-object" autocomplete="off" on:input=move |ev| object.set(event_target_value(&ev))/>
                </div>
                <button type="submit">{t.apply_filter}</button>
                " "
                <a id="audit-export" rel="external" download="audit.csv" href=export>{t.export_csv}</a>
            </form>
        </section>
        <section class="card">
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || entries.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty-state">{t.no_entries}</p> }.into_any(),
                    Ok(rows) => view! { <AuditTable rows/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditEntry>) -> impl IntoView {
    let t = texts();
    let body = rows
        .into_iter()
        .map(|e| {
            view! {
                <tr data-kind=e.kind.as_str()>
                    <td>{e.shown_at()}</td>
                    <td>{e.login}</td>
                    <td>{t.kind(e.kind)}</td>
                    <td>{t.object(&e.object)}</td>
                    <td><code>{e.before.unwrap_or_default()}</code></td>
                    <td><code>{e.after.unwrap_or_default()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid" id="audit-log">
            <thead>
                <tr>
                    <th>{t.col_time}</th>
                    <th>{t.col_login}</th>
                    <th>{t.col_kind}</th>
                    <th>{t.col_object}</th>
                    <th>{t.col_before}</th>
                    <th>{t.col_after}</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}
