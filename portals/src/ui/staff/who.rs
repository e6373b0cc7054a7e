//! Who the header names: the operator login signed in for this request, with its role —
//! `admin` or any staff login — so that two people at two desks see who they are acting
//! as. Read from the request's credentials by a read-only server function, so the page
//! renders it on the server and hydrates it from the same answer.

use leptos::prelude::*;

use super::model::StaffRole;
use super::texts::texts;

/// The signed-in operator login and its role; `None` outside the operator realm.
#[server(prefix = "/ui", endpoint = "staff/whoami")]
pub async fn signed_in() -> Result<Option<(String, StaffRole)>, ServerFnError> {
    let principal = use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<shared::auth::Principal>()
            .filter(|p| p.realm == crate::server::staff::OPERATOR_REALM)
            .cloned()
    });
    Ok(principal.map(|p| (p.login.clone(), crate::server::staff::role_of(&p))))
}

/// The header's "who": `Сотрудник: vera (Наблюдатель)`.
#[component]
pub fn SignedIn() -> impl IntoView {
    let t = texts();
    let frame = crate::ui::i18n::t();
    let who = Resource::new(|| (), |_| signed_in());
    view! {
        <span class="who" id="signed-in">
            <Transition fallback=|| ()>
                {move || who.get().and_then(Result::ok).flatten().map(|(login, role)| {
                    format!("{}: {login} ({})", frame.signed_in_as, t.role(role))
                })}
            </Transition>
        </span>
    }
}
