//! The windows that show a portal: the built-in webview (wry/tao) and Chromium's kiosk
//! mode. Both block the calling thread (it must be the main thread) until the window
//! closes.

/// What to show and how.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// The page to open, e.g. `http://127.0.0.1:8404/kiosk?bridge=ws://127.0.0.1:8910/ccnet`.
    pub url: String,
    /// Basic-auth login and password for the portal, if it needs them.
    pub login: Option<String>,
    pub password: Option<String>,
    /// Kiosk: full screen, undecorated, navigation locked to the portal's origin, reload on
    /// a renderer crash. Otherwise an ordinary window.
    pub kiosk: bool,
}

/// Opens the built-in webview window; returns when it is closed.
pub fn open_webview(spec: &WindowSpec) -> anyhow::Result<()> {
    anyhow::bail!("the webview window for {} is not part of this build yet", spec.url)
}

/// Runs `chromium --kiosk --app=URL`; returns when Chromium exits.
pub fn open_chromium(spec: &WindowSpec) -> anyhow::Result<()> {
    anyhow::bail!("the Chromium window for {} is not part of this build yet", spec.url)
}
