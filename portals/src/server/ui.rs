//! Serving the Leptos UI: server-side rendering of each role's app, the hydration bundle
//! under `/pkg`, the stylesheet, and the language switch.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use leptos_meta::MetaTags;
use tower_http::services::ServeDir;

use crate::role::Role;
use crate::ui::i18n::{LANG_COOKIE, Lang};
use crate::ui::role_app;

/// Matches `LEPTOS_OUTPUT_NAME` in .cargo/config.toml and scripts/build-ui.sh.
pub const OUTPUT_NAME: &str = "paymesh";
/// The portals' stylesheet, the kiosk's screens after the rest (one request, one file
/// per subject in the source).
const STYLESHEET: &str = concat!(
    include_str!("../../assets/paymesh.css"),
    "\n",
    include_str!("../../assets/kiosk.css")
);

/// Where the built UI bundle (`pkg/paymesh.js`, `pkg/paymesh.wasm`) is: `$PAYMESH_SITE_ROOT`,
/// else `site/` beside the executable (the Docker image), else the workspace's `target/site`.
pub fn site_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PAYMESH_SITE_ROOT") {
        return PathBuf::from(dir);
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("site")))
        && beside.join("pkg").exists()
    {
        return beside;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
}

/// The language of this request, from the `paymesh_lang` cookie.
pub(crate) fn request_lang() -> Lang {
    use_context::<http::request::Parts>()
        .map(|parts| lang_of(&parts.headers))
        .unwrap_or_default()
}

/// The language a request's `paymesh_lang` cookie names; Russian without one. Also for
/// plain handlers whose answer is read by people (the audit log's CSV export).
pub(crate) fn lang_of(headers: &http::HeaderMap) -> Lang {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANG_COOKIE)
        .map(|(_, value)| Lang::from_code(value))
        .unwrap_or_default()
}

/// The HTML document around a role's app.
fn shell(options: LeptosOptions, role: Role) -> impl IntoView {
    let lang = request_lang();
    provide_context(lang);
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href="/assets/paymesh.css"/>
                // No favicon request: on the agent, a 401 for it under the kiosk's login would
                // make the browser forget that login (operator and kiosk share one realm name).
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body data-role=role.as_str()>{role_app(role)}</body>
        </html>
    }
}

#[derive(serde::Deserialize)]
struct LangSwitch {
    to: String,
    back: Option<String>,
}

/// `GET /lang?to=en&back=/path`: remembers the language for a year and goes back.
async fn switch_lang(Query(switch): Query<LangSwitch>) -> Response {
    let lang = Lang::from_code(&switch.to);
    // Only a path of this site: never an open redirect to another one.
    let back = switch
        .back
        .as_deref()
        .and_then(super::local_path::same_site_path)
        .unwrap_or("/");
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    let mut response = Redirect::to(back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The UI routes of one role.
pub fn router(role: Role, context: Option<super::UiContext>) -> Router {
    let site_root = site_root();
    let pkg = site_root.join("pkg");
    if !pkg.join(format!("{OUTPUT_NAME}.wasm")).exists() {
        tracing::warn!(
            path = %pkg.display(),
            "the UI bundle is missing: pages render, but nothing on them reacts; run scripts/build-ui.sh"
        );
    }
    let options = Arc::new(
        LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .build(),
    );
    let routes = generate_route_list(move || role_app(role));
    let shell_options = (*options).clone();
    Router::new()
        .leptos_routes_with_context(
            &*options,
            routes,
            move || {
                if let Some(provide) = &context {
                    provide();
                }
            },
            move || shell(shell_options.clone(), role),
        )
        .with_state((*options).clone())
        .nest_service("/pkg", ServeDir::new(pkg))
        .route(
            "/assets/paymesh.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    STYLESHEET,
                )
            }),
        )
        .route("/lang", get(switch_lang))
}
