//! The processing center's pages.

pub mod agent_lifecycle;
pub mod agents;
pub mod dashboard;
pub mod ledger;
pub mod payment_detail;
pub mod payments;
pub mod provider_credentials;
pub mod providers;
pub mod registry;
pub mod reports;
pub mod texts;

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

use crate::role::Role;
use crate::ui::fee_calculator::FeeCalculator;
use crate::ui::i18n::t;
use crate::ui::{NavItem, NotFound, Portal};

/// The processing center's navigation.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: |t| t.nav_home,
    },
    NavItem {
        href: "/providers",
        label: |t| t.nav_providers,
    },
    NavItem {
        href: "/agents",
        label: |t| t.nav_agents,
    },
    NavItem {
        href: "/payments",
        label: |t| t.nav_payments,
    },
    NavItem {
        href: "/ledger",
        label: |t| t.nav_ledger,
    },
    NavItem {
        href: "/reports",
        label: |t| t.nav_reports,
    },
    NavItem {
        href: "/registry",
        label: |t| t.nav_registry,
    },
    NavItem {
        href: "/fee",
        label: |t| t.nav_fee,
    },
    crate::ui::staff::AUDIT_NAV,
    crate::ui::staff::STAFF_NAV,
];

#[component]
pub fn ProcessingApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text=t().processing_title/>
        <Router>
            <Portal role=Role::Processing nav=NAV>
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=dashboard::DashboardPage/>
                    <Route path=StaticSegment("providers") view=providers::ProvidersPage/>
                    <Route path=StaticSegment("agents") view=agents::AgentsPage/>
                    <Route path=StaticSegment("payments") view=payments::PaymentsPage/>
                    <Route path=(StaticSegment("payments"), ParamSegment("payment_id")) view=payment_detail::PaymentDetailPage/>
                    <Route path=StaticSegment("ledger") view=ledger::LedgerPageView/>
                    <Route path=StaticSegment("reports") view=reports::ReportsPage/>
                    <Route path=StaticSegment("registry") view=registry::RegistryPage/>
                    <Route path=StaticSegment("fee") view=FeePage/>
                    <Route path=StaticSegment("audit") view=crate::ui::staff::audit_page::AuditPage/>
                    <Route path=StaticSegment("staff") view=crate::ui::staff::staff_page::StaffPage/>
                </Routes>
            </Portal>
        </Router>
    }
}

/// The agents' fee calculator, once the home page: now a tool of its own beside the
/// dashboard.
#[component]
fn FeePage() -> impl IntoView {
    let t = t();
    view! {
        <h1>{t.processing_title}</h1>
        <p class="intro">{t.processing_intro}</p>
        <FeeCalculator title=t.fee_calc_processing_title/>
    }
}
