//! What every portal's interface shares: the page frame with its navigation and language
//! switch, the string catalogues, and components used by more than one role.

pub mod confirm;
pub mod credentials;
pub mod fee_calculator;
pub mod forms;
pub mod i18n;
pub mod money;
#[cfg(feature = "ssr")]
pub mod server_fn;
pub mod sort;
pub mod staff;
pub mod when;
pub mod zone_note;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::role::Role;
use i18n::{Catalogue, t, use_lang};

/// One entry of a portal's navigation.
#[derive(Clone, Copy)]
pub struct NavItem {
    pub href: &'static str,
    pub label: fn(&Catalogue) -> &'static str,
}

pub use money::rub;

/// The portal's title in the current language.
pub fn role_title(role: Role, t: &Catalogue) -> &'static str {
    match role {
        Role::Consumer => t.consumer_title,
        Role::Provider => t.provider_title,
        Role::Processing => t.processing_title,
        Role::Agent => t.agent_title,
    }
}

/// Percent-encodes what would break a query parameter.
pub(crate) fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The frame of every page: top bar, navigation, language switch, main area.
#[component]
pub fn Portal(
    role: Role,
    nav: &'static [NavItem],
    /// Who the header names, where that is not the operator login signed in (the
    /// consumer's portal names its subscriber).
    #[prop(optional)]
    who: Option<AnyView>,
    children: Children,
) -> impl IntoView {
    let t = t();
    let lang = use_lang();
    let location = use_location();
    // A full page load, not a client-side route: the server sets the cookie and re-renders.
    let switch_href = move || {
        format!(
            "/lang?to={}&back={}",
            lang.other().code(),
            encode_query_value(&location.pathname.get())
        )
    };
    let links = nav
        .iter()
        .map(|item| {
            view! { <li><A href=item.href exact=true>{(item.label)(t)}</A></li> }
        })
        .collect_view();
    view! {
        <a class="skip-link" href="#main">{t.skip_to_content}</a>
        <header class="topbar">
            <span class="brand">{t.product}</span>
            <span class="portal-title">{role_title(role, t)}</span>
            <span class="spacer"></span>
            {who.unwrap_or_else(|| view! { <staff::who::SignedIn/> }.into_any())}
            <a class="lang-switch" rel="external" href=switch_href hreflang=lang.other().code()>
                {lang.other().t().language_name}
            </a>
        </header>
        <div class="frame">
            <nav class="sidebar" aria-label=t.nav_label>
                <ul>{links}</ul>
            </nav>
            <main id="main">{children()}</main>
        </div>
    }
}

/// A section that later work fills in; says so plainly instead of showing a broken page.
#[component]
pub fn Planned() -> impl IntoView {
    let t = t();
    view! {
        <h1>{t.planned_title}</h1>
        <p class="empty-state">{t.planned_body}</p>
    }
}

/// The in-app "no such page".
#[component]
pub fn NotFound() -> impl IntoView {
    let t = t();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>{t.not_found_title}</h1>
        <p class="empty-state">{t.not_found_body}</p>
    }
}

/// The whole application of one role, as rendered into `<body>` on the server and
/// hydrated in the browser: both sides call this, so they build the same tree.
pub fn role_app(role: Role) -> AnyView {
    match role {
        #[cfg(feature = "consumer")]
        Role::Consumer => view! { <crate::consumer::pages::ConsumerApp/> }.into_any(),
        #[cfg(feature = "provider")]
        Role::Provider => view! { <crate::provider::pages::ProviderApp/> }.into_any(),
        #[cfg(feature = "processing")]
        Role::Processing => view! { <crate::processing::pages::ProcessingApp/> }.into_any(),
        #[cfg(feature = "agent")]
        Role::Agent => view! { <crate::agent::pages::AgentApp/> }.into_any(),
        #[allow(unreachable_patterns)]
        other => view! { <p>{format!("The {other} portal is not compiled into this build.")}</p> }
            .into_any(),
    }
}
