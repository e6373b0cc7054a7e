//! The provider portal's pages.

pub mod contract_access;
pub mod contract_fields;
pub mod contracts;
pub mod dashboard;
pub mod gateway_log;
pub mod reports;
pub mod subscribers;
pub mod tariffs;
pub mod texts;
pub mod transactions;

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};
use shared::wire::osmp::{SumError, parse_sum};

use crate::role::Role;
use crate::ui::i18n::t;
use crate::ui::{NavItem, NotFound, Portal};

/// The provider's navigation.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: |t| t.nav_home,
    },
    NavItem {
        href: "/subscribers",
        label: |t| t.nav_subscribers,
    },
    NavItem {
        href: "/tariffs",
        label: |t| t.nav_tariffs,
    },
    NavItem {
        href: "/processing-contracts",
        label: |t| t.nav_processing_contracts,
    },
    NavItem {
        href: "/transactions",
        label: |t| t.nav_transactions,
    },
    NavItem {
        href: "/osmp-log",
        label: |t| t.nav_osmp_log,
    },
    NavItem {
        href: "/reports",
        label: |t| t.nav_reports,
    },
    crate::ui::staff::AUDIT_NAV,
    crate::ui::staff::STAFF_NAV,
];

#[component]
pub fn ProviderApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text=t().provider_title/>
        <Router>
            <Portal role=Role::Provider nav=NAV>
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=dashboard::DashboardPage/>
                    <Route path=StaticSegment("subscribers") view=subscribers::SubscribersPage/>
                    <Route path=(StaticSegment("subscribers"), ParamSegment("account")) view=subscribers::SubscriberDetail/>
                    <Route path=StaticSegment("tariffs") view=tariffs::TariffsPage/>
                    <Route path=StaticSegment("processing-contracts") view=contracts::ContractsPage/>
                    <Route path=(StaticSegment("processing-contracts"), ParamSegment("id")) view=contract_fields::ContractFieldsPage/>
                    <Route path=StaticSegment("transactions") view=transactions::TransactionsPage/>
                    <Route path=StaticSegment("osmp-log") view=gateway_log::GatewayLogPage/>
                    <Route path=StaticSegment("reports") view=reports::ReportsPage/>
                    <Route path=StaticSegment("audit") view=crate::ui::staff::audit_page::AuditPage/>
                    <Route path=StaticSegment("staff") view=crate::ui::staff::staff_page::StaffPage/>
                </Routes>
            </Portal>
        </Router>
    }
}

/// Sample `sum` values, good and bad, one click each.
const EXAMPLES: [&str; 5] = ["10.45", "10,45", "1e3", "-5.00", "10.456"];

/// Shows how the OSMP endpoint reads a `sum` (the hydrated component of the provider
/// portal, under the OSMP log); it runs the endpoint's own parser.
#[component]
pub fn SumChecker() -> impl IntoView {
    let t = t();
    let text = RwSignal::new("10.45".to_owned());
    let examples = EXAMPLES
        .into_iter()
        .map(|example| view! { <button type="button" class="example" on:click=move |_| text.set(example.to_owned())><code>{example}</code></button> })
        .collect_view();
    view! {
        <section class="card" id="sum-check" aria-labelledby="sum-check-title">
            <h2 id="sum-check-title">{t.sum_check_title}</h2>
            <p class="hint">{t.sum_check_hint}</p>
            <div class="quick" role="group" aria-label=t.sum_check_examples>{examples}</div>
            <div class="field">
                <label for="sum-value">{t.sum_check_label}</label>
                <input id="sum-value" autocomplete="off" value=text.get_untracked() prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/>
            </div>
            <output class="result" for="sum-value" aria-live="polite">
                {move || match parse_sum(text.get().as_str()) {
                    Ok(sum) => view! { <p class="ok">{format!("{}: {sum} ₽ = {} {}", t.sum_check_ok, sum.get(), t.sum_check_kopecks)}</p> }.into_any(),
                    Err(SumError::NotPositive) => view! { <p class="error">{t.sum_check_negative}</p> }.into_any(),
                    Err(SumError::Malformed(_) | SumError::TooLarge) => view! { <p class="error">{t.sum_check_bad}</p> }.into_any(),
                }}
            </output>
        </section>
    }
}
