//! Under a form that takes days: whose days they are — «Дни и время — по часовому поясу
//! процессинга: Europe/Moscow». A report's `from`/`to` are the participant's local days
//! (`--time-zone`), so the operator must see which zone that is. The name comes from the
//! role's own server function; it is an IANA identifier, set in `<code>` as the pages set
//! other identifiers.

use leptos::prelude::*;

/// The note: `label`, then the zone's name once the server has said it.
#[component]
pub fn ZoneNote(
    label: &'static str,
    zone: Resource<Result<String, ServerFnError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || zone.get().and_then(Result::ok).map(|name| view! {
                <p class="hint" id="days-zone">{label}": "<code>{name}</code></p>
            })}
        </Transition>
    }
}
