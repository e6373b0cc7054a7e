//! The agent's pages: the operator's (in the portal frame) and the kiosk's (full screen,
//! kiosk realm).

pub mod answer_texts;
pub mod bridge;
pub mod cashbox;
pub mod cashbox_texts;
pub mod dashboard;
pub mod kiosk;
pub mod kiosk_cash;
pub mod kiosk_field;
pub mod kiosk_start;
pub mod operator;
pub mod payment_detail;
pub mod phone_mask;
pub mod texts;

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

use crate::role::Role;
use crate::ui::fee_calculator::FeeCalculator;
use crate::ui::i18n::t;
use crate::ui::{NavItem, NotFound, Portal};

/// The agent's navigation; later issues fill the planned sections.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: |t| t.nav_home,
    },
    NavItem {
        href: "/contract",
        label: |t| t.nav_contract,
    },
    NavItem {
        href: "/payments",
        label: |t| t.nav_payments,
    },
    NavItem {
        href: "/fee",
        label: |t| t.nav_fee,
    },
    NavItem {
        href: "/unresolved-cash",
        label: |t| t.nav_unresolved_cash,
    },
    NavItem {
        href: "/cash-box",
        label: |t| t.nav_cash_box,
    },
    crate::ui::staff::AUDIT_NAV,
    crate::ui::staff::STAFF_NAV,
];

#[component]
pub fn AgentApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text=t().agent_title/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=StaticSegment("kiosk") view=kiosk::KioskPage/>
                <ParentRoute path=StaticSegment("") view=OperatorFrame>
                    <Route path=StaticSegment("") view=dashboard::DashboardPage/>
                    <Route path=StaticSegment("contract") view=operator::ContractPage/>
                    <Route path=StaticSegment("payments") view=operator::PaymentsPage/>
                    // Async: the whole page at once, so an unknown payment answers 404.
                    <Route path=(StaticSegment("payments"), ParamSegment("agent_txn_id")) view=payment_detail::PaymentDetailPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("fee") view=FeeTools/>
                    <Route path=StaticSegment("unresolved-cash") view=cashbox::UnresolvedCashPage/>
                    <Route path=StaticSegment("cash-box") view=cashbox::CashBoxPage/>
                    <Route path=StaticSegment("audit") view=crate::ui::staff::audit_page::AuditPage/>
                    <Route path=StaticSegment("staff") view=crate::ui::staff::staff_page::StaffPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The operator's pages sit in the portal frame; the kiosk has the whole screen.
#[component]
fn OperatorFrame() -> impl IntoView {
    view! { <Portal role=Role::Agent nav=NAV><Outlet/></Portal> }
}

/// The fee rule and, under it, the calculator that shows what it charges (the
/// calculator was the home page's before the dashboard).
#[component]
fn FeeTools() -> impl IntoView {
    let t = t();
    view! {
        <operator::FeePage/>
        <FeeCalculator title=t.fee_calc_agent_title/>
    }
}
