//! The portal in Chromium: `chromium --kiosk --app=URL` with a fresh profile, for
//! terminals where Chromium renders better than WebKitGTK or is what the site already
//! runs.
//!
//! Credentials go through [`AuthProxy`](super::auth_proxy::AuthProxy) on 127.0.0.1, so
//! the page's URL has none in it. The navigation lock and crash reload of the built-in
//! webview are not available here: lock Chromium with its `URLAllowlist`/`URLBlocklist`
//! policies (docs/kiosk.md).

use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::Target;
use super::auth_proxy::AuthProxy;

/// Executable names tried on `PATH`, in order (Debian's, then Ubuntu's).
const BINARY_NAMES: [&str; 2] = ["chromium", "chromium-browser"];
/// The ordinary window's first size.
const ORDINARY_SIZE: (u32, u32) = (1280, 800);

/// Flags for an unattended browser: no first-run screens, no background traffic to
/// Google services, no keyring prompt, no "restore pages?" bubble after a power cut.
const QUIET_FLAGS: [&str; 10] = [
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-features=Translate,MediaRouter",
    "--password-store=basic",
    "--noerrdialogs",
    "--disable-session-crashed-bubble",
    "--hide-crash-restore-bubble",
];

/// Touch-screen flags for the kiosk: no pinch zoom, no swipe-back navigation.
const KIOSK_FLAGS: [&str; 3] = [
    "--kiosk",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
];

/// Chromium found and its credential proxy listening, not started yet: the proxy's
/// origin is known before the page opens (the bridge must let exactly that in).
pub struct Prepared {
    binary: PathBuf,
    proxy: Option<AuthProxy>,
    kiosk: bool,
}

impl Prepared {
    /// The origin the page will have in Chromium: the proxy's (`http://127.0.0.1:PORT`),
    /// or `None` when there is no proxy and the page is on the portal's own origin.
    pub fn page_origin(&self) -> Option<String> {
        self.proxy.as_ref().map(|p| format!("http://{}", p.addr()))
    }

    /// Runs Chromium on `url` (on the portal's origin; the proxy's in its place when
    /// there is one); returns when Chromium exits.
    pub fn run(self, url: &str) -> anyhow::Result<()> {
        run(self, url)
    }
}

pub(super) fn prepare(target: &Target, kiosk: bool) -> anyhow::Result<Prepared> {
    super::require_display()?;
    let binary = find_binary()?;
    let proxy = match &target.credentials {
        Some(c) => Some(AuthProxy::start(
            &target.origin,
            c,
            target.ca_file.as_deref(),
        )?),
        None => None,
    };
    Ok(Prepared {
        binary,
        proxy,
        kiosk,
    })
}

pub(super) fn open(target: &Target, kiosk: bool) -> anyhow::Result<()> {
    prepare(target, kiosk)?.run(&target.url)
}

fn run(prepared: Prepared, url: &str) -> anyhow::Result<()> {
    let Prepared {
        binary,
        proxy,
        kiosk,
    } = prepared;
    let (url, _) = super::origin::split_credentials(url);
    let url = proxy
        .as_ref()
        .map_or_else(|| url.clone(), |p| p.url_for(&url));
    // A fresh profile each run: no state from the last customer, and no "Chromium is
    // already running" hand-off to another instance that would make this one exit at once.
    let profile = tempfile::Builder::new()
        .prefix("kiosk-shell-chromium-")
        .tempdir()
        .context("cannot create Chromium's profile directory")?;
    let size = if kiosk {
        screen_size()
    } else {
        Some(ORDINARY_SIZE)
    };
    let args = arguments(
        &url,
        profile.path(),
        kiosk,
        size,
        running_as_root(),
        std::env::var("KIOSK_CHROMIUM_FLAGS").ok().as_deref(),
    );
    tracing::info!(binary = %binary.display(), url = super::origin::without_query(&url), kiosk, "starting Chromium");
    let status = Command::new(&binary)
        .args(&args)
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    drop(proxy);
    tracing::info!(%status, "Chromium exited");
    // The user closing the window is a normal end; a crash at start-up is worth saying.
    if !status.success() {
        anyhow::bail!("Chromium exited with {status}");
    }
    Ok(())
}

/// `KIOSK_CHROMIUM` if set, else the first of [`BINARY_NAMES`] on `PATH`.
fn find_binary() -> anyhow::Result<PathBuf> {
    if let Some(explicit) = std::env::var_os("KIOSK_CHROMIUM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        anyhow::ensure!(
            is_executable(&path),
            "KIOSK_CHROMIUM={} is not an executable file",
            path.display()
        );
        return Ok(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    BINARY_NAMES
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--chromium: no `chromium` or `chromium-browser` on PATH (apt-get install chromium, or set KIOSK_CHROMIUM=/path/to/chrome)"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Chromium refuses to start as root unless its sandbox is switched off.
fn running_as_root() -> bool {
    // The owner of /proc/self is this process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The size of the screen, for placing the kiosk window when no window manager would
/// make it full screen.
fn screen_size() -> Option<(u32, u32)> {
    #[cfg(feature = "webview")]
    {
        super::webview::monitor_size()
    }
    #[cfg(not(feature = "webview"))]
    {
        None
    }
}

/// Chromium's command line, the URL last.
fn arguments(
    url: &str,
    profile: &Path,
    kiosk: bool,
    size: Option<(u32, u32)>,
    as_root: bool,
    extra: Option<&str>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut user_data_dir = OsString::from("--user-data-dir=");
    user_data_dir.push(profile);
    args.push(user_data_dir);
    args.extend(QUIET_FLAGS.iter().map(OsString::from));
    if kiosk {
        args.extend(KIOSK_FLAGS.iter().map(OsString::from));
        // Without a window manager --kiosk cannot go full screen: place the window over
        // the whole screen ourselves (harmless with one).
        args.push("--window-position=0,0".into());
    }
    if let Some((w, h)) = size {
        args.push(format!("--window-size={w},{h}").into());
    }
    if as_root {
        args.push("--no-sandbox".into());
    }
    args.extend(extra.unwrap_or("").split_whitespace().map(OsString::from));
    args.push(format!("--app={url}").into());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn kiosk_arguments() {
        let args = strings(arguments(
            "http://127.0.0.1:9/kiosk",
            Path::new("/tmp/p"),
            true,
            Some((1280, 800)),
            true,
            Some("--disable-gpu  --foo"),
        ));
        assert_eq!(args[0], "--user-data-dir=/tmp/p");
        for flag in [
            "--kiosk",
            "--window-position=0,0",
            "--window-size=1280,800",
            "--no-sandbox",
            "--disable-gpu",
            "--foo",
        ] {
            assert!(args.iter().any(|a| a == flag), "{flag} missing: {args:?}");
        }
        assert_eq!(args.last().unwrap(), "--app=http://127.0.0.1:9/kiosk");
    }

    #[test]
    fn ordinary_window_arguments() {
        let args = strings(arguments(
            "http://h/",
            Path::new("/p"),
            false,
            Some(ORDINARY_SIZE),
            false,
            None,
        ));
        assert!(!args.iter().any(|a| a == "--kiosk" || a == "--no-sandbox"));
        assert!(args.iter().any(|a| a == "--window-size=1280,800"));
    }
}
