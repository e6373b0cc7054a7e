//! A password just issued, shown once — what every portal shows after a contract is
//! signed, a password rotated or a login created. (Actions that can't be taken back ask
//! first through `ui::confirm::ConfirmButton`.)

use leptos::prelude::*;

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
