//! # portals — the four paymesh participants and the `paymesh` binary
//!
//! One crate, compiled twice: with `ssr` as the server (axum + Leptos server rendering +
//! SQLite), and with `hydrate` to wasm for the browser. One app with four route trees is
//! one server build and one wasm build instead of eight.
//!
//! * [`role`] — the four kinds of participant.
//! * [`ui`] — the page frame, navigation, language catalogues and shared components.
//! * [`dashboard`] — what the four home pages share: figure tiles, the SVG bar chart.
//! * `consumer`, `provider`, `processing`, `agent` — one module tree per role, each with
//!   `pages` (Leptos, both builds) and `server` (its routes and realms, `ssr` only). Roles
//!   never import each other; they meet in the `shared` crate and over HTTP.
//! * `server` (ssr) — what every role's process shares: data directory and lock,
//!   passwords, database and migrations, the router and its layers, [`server::App`].
//! * `cli`, `demo`, `bench` (ssr) — the command line, `paymesh demo` and `paymesh bench`.
//! * `allocator` (mimalloc) — the settings of the process's allocator.
//!
//! A request flows: tracing span (request id) → metrics → auth gate (path → realm →
//! credential store) → CSRF check → the role's handler or the Leptos renderer →
//! `shared::error::ApiError` on failure, mapped once to the JSON error body.

pub mod dashboard;
pub mod json_column;
pub mod role;
pub mod ui;

#[cfg(feature = "agent")]
pub mod agent;
#[cfg(feature = "consumer")]
pub mod consumer;
#[cfg(feature = "processing")]
pub mod processing;
#[cfg(feature = "provider")]
pub mod provider;

#[cfg(feature = "mimalloc")]
pub mod allocator;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(all(feature = "ssr", feature = "processing", feature = "provider"))]
pub mod chaos;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry: called by Leptos's hydration script once the wasm is loaded.
/// Reads the role from `<body data-role>` and the language from `<html lang>` — both
/// written by the server — and hydrates the same app the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::provide_context;

    console_error_panic_hook::set_once();
    let document = web_sys::window().and_then(|w| w.document());
    let attribute =
        |element: Option<web_sys::Element>, name: &str| element.and_then(|e| e.get_attribute(name));
    let role = attribute(
        document.as_ref().and_then(|d| d.body()).map(Into::into),
        "data-role",
    )
    .and_then(|r| role::Role::parse(&r));
    let lang = ui::i18n::Lang::from_code(
        &attribute(document.as_ref().and_then(|d| d.document_element()), "lang")
            .unwrap_or_default(),
    );
    let Some(role) = role else {
        leptos::logging::error!("paymesh: <body data-role> is missing; nothing to hydrate");
        return;
    };
    leptos::mount::hydrate_body(move || {
        provide_context(lang);
        ui::role_app(role)
    });
}
