//! Pieces every portal uses around a credential: the box that confirms a one-click action
//! that can't be taken back (a password rotation, a suspension), and a password just
//! issued, shown once.

use leptos::prelude::*;

/// The checkbox an action's form must carry ticked (`confirm=yes`) before its button does
/// anything: the server refuses the action without it.
#[component]
pub fn ConfirmBox(id: String, label: &'static str) -> impl IntoView {
    let for_id = id.clone();
    view! {
        <label class="check" for=for_id>
            <input type="checkbox" id=id name="confirm" value="yes" required/>
            {label}
        </label>
    }
}

/// What the labels of [`IssuedPassword`] say, in the page's language.
#[derive(Clone, Copy)]
pub struct IssuedTexts {
    pub title: &'static str,
    pub note: &'static str,
    pub login: &'static str,
    pub password: &'static str,
}

/// A login with its new password, shown this once (the server keeps only its hash). The
/// password's element is `{id}-password`.
#[component]
pub fn IssuedPassword(
    id: &'static str,
    texts: IssuedTexts,
    login: String,
    password: String,
) -> impl IntoView {
    view! {
        <div class="issued" role="status" id=id>
            <h3>{texts.title}</h3>
            <p class="warning">{texts.note}</p>
            <dl class="pairs">
                <dt>{texts.login}</dt><dd><code>{login}</code></dd>
                <dt>{texts.password}</dt><dd><code id=format!("{id}-password")>{password}</code></dd>
            </dl>
        </div>
    }
}
