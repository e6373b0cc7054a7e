//! Provider logos on the kiosk's tiles. The catalog (wire.md) carries no logos, so a
//! terminal network ships them with the terminal: image files in `DIR/kiosk-logos/`,
//! each named by the provider's id in the catalog (`3.svg`, `3.png` or `3.webp`). A
//! provider without one gets its initials on its colour (`pages::kiosk_start`).
//!
//! `GET /kiosk/logos/{provider_id}` (kiosk realm) serves them. Only a number names a file,
//! so no request reaches outside the folder; a file over [`MAX_LOGO_BYTES`] is not served.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AgentState;

/// The folder under the agent's data directory.
pub const LOGO_DIR: &str = "kiosk-logos";
/// A logo is a small picture; anything bigger is a mistake, not served.
pub const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// The picture formats a logo may have, in the order they are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogoFormat {
    Svg,
    Png,
    Webp,
}

impl LogoFormat {
    const ALL: [LogoFormat; 3] = [LogoFormat::Svg, LogoFormat::Png, LogoFormat::Webp];

    fn extension(self) -> &'static str {
        match self {
            LogoFormat::Svg => "svg",
            LogoFormat::Png => "png",
            LogoFormat::Webp => "webp",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            LogoFormat::Svg => "image/svg+xml",
            LogoFormat::Png => "image/png",
            LogoFormat::Webp => "image/webp",
        }
    }
}

/// The logo file of a provider, if there is one of a usable size.
async fn find(dir: &Path, provider_id: i64) -> Option<(PathBuf, LogoFormat)> {
    if provider_id < 0 {
        return None;
    }
    for format in LogoFormat::ALL {
        let path = dir.join(format!("{provider_id}.{}", format.extension()));
        if let Ok(meta) = tokio::fs::metadata(&path).await
            && meta.is_file()
            && meta.len() <= MAX_LOGO_BYTES
        {
            return Some((path, format));
        }
    }
    None
}

/// Of `provider_ids`, those that have a logo (the kiosk page draws the others' initials).
pub async fn available(dir: &Path, provider_ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut with_logo = Vec::new();
    for id in provider_ids {
        if find(dir, id).await.is_some() {
            with_logo.push(id);
        }
    }
    with_logo
}

async fn serve(State(state): State<AgentState>, UrlPath(provider_id): UrlPath<i64>) -> Response {
    let Some((path, format)) = find(&state.logo_dir, provider_id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                (header::CACHE_CONTROL, "max-age=300"),
                // An SVG opened by itself could run a script: it may draw, nothing else.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "a kiosk logo could not be read");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

pub fn router(state: AgentState) -> Router {
    Router::new()
        .route("/kiosk/logos/{provider_id}", get(serve))
        .with_state(state)
}
