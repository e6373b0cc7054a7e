//! The windows that show a portal: the built-in webview (wry/tao) and Chromium's kiosk
//! mode. Both block the calling thread (it must be the main thread) until the window
//! closes.
//!
//! * [`origin`] — what "the portal's origin" is (navigation lock, whom credentials go to)
//!   and credentials written into a URL.
//! * `webview` (feature `webview`) — WebKitGTK through wry in a tao window; credentials
//!   answer WebKit's `authenticate` signal.
//! * [`chromium`] — `chromium --kiosk --app=URL` with a fresh profile; credentials are
//!   added by [`auth_proxy`], a reverse proxy on 127.0.0.1; the kiosk held on its page by
//!   [`lockdown`] over the DevTools protocol ([`cdp`]).
//! * [`notice`] — the shell's own "out of service" page, for both.

pub mod auth_proxy;
pub mod cdp;
pub mod chromium;
pub mod lockdown;
mod notice;
pub mod origin;
mod upstream_tls;
#[cfg(feature = "webview")]
mod webview;

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
    /// `--ca-file`: a private CA that may vouch for the portal's certificate (built-in
    /// window only; see `webview`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// A [`WindowSpec`] checked and normalised: credentials written into the URL are moved
/// out of it (a page whose URL carries credentials cannot `fetch()` relative URLs in
/// Chromium, which breaks hydration), and the origin is known.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL to load, without credentials.
    pub url: String,
    pub origin: origin::Origin,
    pub credentials: Option<Credentials>,
    /// `--ca-file`: a private CA that may vouch for an `https://` portal.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Basic-auth credentials for the portal's origin only.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // The password must not reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl Target {
    pub(crate) fn of(spec: &WindowSpec) -> anyhow::Result<Target> {
        let (url, in_url) = origin::split_credentials(&spec.url);
        let origin = origin::Origin::of(&url).ok_or_else(|| {
            anyhow::anyhow!("the portal URL {url:?} is not an absolute http(s) URL")
        })?;
        // Flags win over credentials written into the URL; a login without a password
        // means an empty password (Basic auth allows it).
        let credentials = match (&spec.login, &spec.password) {
            (Some(login), password) => Some(Credentials {
                login: login.clone(),
                password: password.clone().unwrap_or_default(),
            }),
            (None, Some(_)) => {
                anyhow::bail!("a portal password was given without a login (--portal-login)")
            }
            (None, None) => in_url,
        };
        Ok(Target {
            url,
            origin,
            credentials,
            ca_file: spec.ca_file.clone(),
        })
    }
}

/// Opens the built-in webview window; returns when it is closed.
pub fn open_webview(spec: &WindowSpec) -> anyhow::Result<()> {
    let target = Target::of(spec)?;
    #[cfg(feature = "webview")]
    {
        webview::open(&target, spec.kiosk, spec.ca_file.as_deref())
    }
    #[cfg(not(feature = "webview"))]
    {
        anyhow::bail!(
            "this kiosk-shell was built without the `webview` feature; use --chromium to open {}",
            target.url
        )
    }
}

/// Runs `chromium --kiosk --app=URL` (or an ordinary app window); returns when Chromium
/// exits.
pub fn open_chromium(spec: &WindowSpec) -> anyhow::Result<()> {
    let target = Target::of(spec)?;
    chromium::open(&target, spec.kiosk)
}

/// Finds Chromium and starts its credential proxy for `spec`'s portal, without opening
/// anything yet: the kiosk asks the result for the page's origin before it opens the
/// page with [`chromium::Prepared::run`].
pub fn prepare_chromium(spec: &WindowSpec) -> anyhow::Result<chromium::Prepared> {
    let target = Target::of(spec)?;
    chromium::prepare(&target, spec.kiosk)
}

/// Whether an X11 or Wayland display is named in the environment. GTK panics rather than
/// failing when it has none, so we ask first and give a plain error.
pub(crate) fn require_display() -> anyhow::Result<()> {
    let named = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if named("DISPLAY") || named("WAYLAND_DISPLAY") {
        Ok(())
    } else {
        anyhow::bail!(
            "no display: neither DISPLAY nor WAYLAND_DISPLAY is set (under systemd set Environment=DISPLAY=:0)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, login: Option<&str>, password: Option<&str>) -> WindowSpec {
        WindowSpec {
            url: url.into(),
            login: login.map(Into::into),
            password: password.map(Into::into),
            kiosk: true,
            ca_file: None,
        }
    }

    #[test]
    fn credentials_in_the_url_are_moved_out_of_it() {
        let t = Target::of(&spec(
            "http://kiosk:s%40cret@127.0.0.1:8404/kiosk",
            None,
            None,
        ))
        .unwrap();
        assert_eq!(t.url, "http://127.0.0.1:8404/kiosk");
        let c = t.credentials.unwrap();
        assert_eq!((c.login.as_str(), c.password.as_str()), ("kiosk", "s@cret"));
    }

    #[test]
    fn flags_win_over_credentials_in_the_url() {
        let t = Target::of(&spec(
            "http://a:b@127.0.0.1:8404/",
            Some("kiosk"),
            Some("pw"),
        ))
        .unwrap();
        assert_eq!(t.url, "http://127.0.0.1:8404/");
        assert_eq!(t.credentials.unwrap().password, "pw");
    }

    #[test]
    fn a_password_without_a_login_is_refused() {
        assert!(Target::of(&spec("http://127.0.0.1/", None, Some("pw"))).is_err());
    }

    #[test]
    fn a_relative_or_odd_url_is_refused() {
        assert!(Target::of(&spec("/kiosk", None, None)).is_err());
        assert!(Target::of(&spec("file:///etc/passwd", None, None)).is_err());
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let c = Credentials {
            login: "kiosk".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
