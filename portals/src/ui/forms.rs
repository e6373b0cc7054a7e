//! Behaviour every form that records something shares.

use leptos::html::Form;
use leptos::prelude::*;

/// A form reference that empties its form once `done` turns true (its action recorded
/// what was asked). Leptos rebuilds a re-rendered form in place, keeping what was typed:
/// without this, a second click after the page refreshed (a collection recorded, the box
/// now empty) would send the same figures again against the new state.
pub fn cleared_when(done: impl Fn() -> bool + Send + Sync + 'static) -> NodeRef<Form> {
    let form = NodeRef::<Form>::new();
    Effect::new(move |_| {
        if done()
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
    form
}
