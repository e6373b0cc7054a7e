//! The consumer portal's pages.

pub mod contracts;
pub mod dashboard;
pub mod history;

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::StaticSegment;
use leptos_router::components::{Route, Router, Routes};

use crate::role::Role;
use crate::ui::i18n::t;
use crate::ui::{NavItem, NotFound, Portal};

/// The consumer's navigation; later issues fill the planned sections.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: |t| t.nav_home,
    },
    NavItem {
        href: "/contracts",
        label: |t| t.nav_contracts,
    },
    NavItem {
        href: "/history",
        label: |t| t.nav_history,
    },
];

#[component]
pub fn ConsumerApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text=t().consumer_title/>
        <Router>
            <Portal role=Role::Consumer nav=NAV who=view! { <history::SubscriberName/> }.into_any()>
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=dashboard::DashboardPage/>
                    <Route path=StaticSegment("contracts") view=ContractsTools/>
                    <Route path=StaticSegment("history") view=history::HistoryPage/>
                </Routes>
            </Portal>
        </Router>
    }
}

/// The contracts, and under them the checker of a provider's pasted answer (the home
/// page's before the dashboard): it helps exactly when a contract is being added.
#[component]
fn ContractsTools() -> impl IntoView {
    view! {
        <contracts::ContractsPage/>
        <ContractCheck/>
    }
}

/// What a pasted contract lacks, or its summary.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    NotAnObject,
    Missing(Vec<&'static str>),
    Usable {
        account: String,
        usage_url: String,
        services: String,
    },
}

/// The fields the consumer needs from a provider's `POST /subscribers` answer.
const REQUIRED: [&str; 5] = ["account", "usage_url", "login", "password", "services"];

fn judge(text: &str) -> Verdict {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Verdict::NotAnObject;
    };
    let present = |key: &str| match map.get(key) {
        Some(serde_json::Value::String(s)) => !s.trim().is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    let missing: Vec<&'static str> = REQUIRED.into_iter().filter(|k| !present(k)).collect();
    if !missing.is_empty() {
        return Verdict::Missing(missing);
    }
    let text_of = |key: &str| {
        map.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let services = map
        .get("services")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Verdict::Usable {
        account: text_of("account"),
        usage_url: text_of("usage_url"),
        services,
    }
}

/// Paste the JSON a provider issued and see whether it can be used (the hydrated
/// component of the consumer portal).
#[component]
fn ContractCheck() -> impl IntoView {
    let t = t();
    let text = RwSignal::new(String::new());
    let verdict = RwSignal::new(None::<Verdict>);
    view! {
        <section class="card" id="contract-check" aria-labelledby="contract-check-title">
            <h2 id="contract-check-title">{t.contract_check_title}</h2>
            <p class="hint">{t.contract_check_hint}</p>
            <div class="field">
                <label for="contract-json">{t.contract_check_label}</label>
                <textarea
                    id="contract-json"
                    rows="6"
                    spellcheck="false"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </div>
            <button type="button" on:click=move |_| verdict.set(Some(judge(&text.get())))>
                {t.contract_check_button}
            </button>
            <output class="result" aria-live="polite">
                {move || verdict.get().map(|v| match v {
                    Verdict::NotAnObject => view! { <p class="error">{t.contract_check_bad_json}</p> }.into_any(),
                    Verdict::Missing(keys) => view! {
                        <p class="error">{format!("{}: {}", t.contract_check_missing, keys.join(", "))}</p>
                    }.into_any(),
                    Verdict::Usable { account, usage_url, services } => view! {
                        <p class="ok">{t.contract_check_ok}</p>
                        <dl>
                            <dt>{t.contract_check_account}</dt><dd>{account}</dd>
                            <dt>{t.contract_check_usage_url}</dt><dd>{usage_url}</dd>
                            <dt>{t.contract_check_services}</dt><dd>{services}</dd>
                        </dl>
                    }.into_any(),
                })}
            </output>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_contracts() {
        assert_eq!(judge("[1]"), Verdict::NotAnObject);
        assert_eq!(
            judge(r#"{"account":"9161234567"}"#),
            Verdict::Missing(vec!["usage_url", "login", "password", "services"])
        );
        let ok = r#"{"account":"9161234567","usage_url":"http://h/api/usage/v1/usage","login":"l","password":"p","services":["call","sms"]}"#;
        assert_eq!(
            judge(ok),
            Verdict::Usable {
                account: "9161234567".into(),
                usage_url: "http://h/api/usage/v1/usage".into(),
                services: "call, sms".into()
            }
        );
    }
}
