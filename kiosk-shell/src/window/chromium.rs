//! The portal in Chromium (the engine CEF embeds), for terminals where Chromium renders
//! better than WebKitGTK or is what the site already runs.
//!
//! * Credentials go through [`AuthProxy`](super::auth_proxy::AuthProxy) on 127.0.0.1, so
//!   the page's URL has none in it.
//! * The kiosk runs Chromium with `--remote-debugging-pipe` and holds it on the kiosk page
//!   over the DevTools protocol ([`lockdown`](super::lockdown)): navigation locked to the
//!   page's origin, new windows, DevTools, downloads and the context menu off, a crashed or
//!   hung renderer reloaded, the shell's notice while the portal is gone. If Chromium
//!   itself exits (a crash, Ctrl+W on its one window) it is started again.
//! * An ordinary window (not kiosk) is a plain `--app=URL` window, closed by its user.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Target;
use super::auth_proxy::AuthProxy;
use super::cdp::Cdp;
use super::lockdown::{Ended, Lockdown, Policy, Watchdog};
use super::origin::Origin;

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
/// And DevTools over the pipe of fds 3 and 4 (never a port another process could reach).
const KIOSK_FLAGS: [&str; 4] = [
    "--kiosk",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--remote-debugging-pipe",
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
    /// there is one). An ordinary window returns when its user closes it; the kiosk holds
    /// the screen — Chromium started again whenever it exits — until `stop` is set.
    pub fn run(self, url: &str, kiosk: &KioskOptions) -> anyhow::Result<()> {
        run(self, url, kiosk)
    }
}

/// How the kiosk holds the screen.
#[derive(Debug)]
pub struct KioskOptions {
    /// A renderer that answers no probe for this long is killed and the page reloaded.
    pub hang_after: Duration,
    /// Set (by SIGTERM or Ctrl-C) to close Chromium and return.
    pub stop: std::sync::Arc<AtomicBool>,
}

impl Default for KioskOptions {
    fn default() -> Self {
        KioskOptions {
            hang_after: Duration::from_secs(10),
            stop: std::sync::Arc::default(),
        }
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
    prepare(target, kiosk)?.run(&target.url, &KioskOptions::default())
}

fn run(prepared: Prepared, url: &str, options: &KioskOptions) -> anyhow::Result<()> {
    let Prepared {
        binary,
        proxy,
        kiosk,
    } = prepared;
    let (url, _) = super::origin::split_credentials(url);
    let url = proxy
        .as_ref()
        .map_or_else(|| url.clone(), |p| p.url_for(&url));
    let outcome = if kiosk {
        hold_kiosk(&binary, &url, options)
    } else {
        run_ordinary(&binary, &url)
    };
    // The proxy serves the page until Chromium is gone.
    drop(proxy);
    outcome
}

/// An ordinary app window on `url`; returns when its user closes it.
fn run_ordinary(binary: &Path, url: &str) -> anyhow::Result<()> {
    let profile = fresh_profile()?;
    let args = arguments(
        profile.path(),
        &Mode::Ordinary,
        Some(ORDINARY_SIZE),
        running_as_root(),
        std::env::var("KIOSK_CHROMIUM_FLAGS").ok().as_deref(),
        url,
    );
    tracing::info!(binary = %binary.display(), url = super::origin::without_query(url), "starting Chromium");
    let status = Command::new(binary)
        .args(&args)
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    tracing::info!(%status, "Chromium exited");
    // The user closing the window is a normal end; a crash at start-up is worth saying.
    if !status.success() {
        anyhow::bail!("Chromium exited with {status}");
    }
    Ok(())
}

/// A fresh profile each run: no state from the last customer, and no "Chromium is already
/// running" hand-off to another instance that would make this one exit at once.
fn fresh_profile() -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("kiosk-shell-chromium-")
        .tempdir()
        .context("cannot create Chromium's profile directory")
}

/// First pause before Chromium is started again, doubled after each quick exit up to
/// the last; a run that lasted [`RESTART_STABLE`] starts the count over.
const RESTART_FIRST: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(30);
const RESTART_STABLE: Duration = Duration::from_secs(60);
/// How long Chromium may take to close after SIGTERM before it is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// The kiosk: Chromium held on `home` until `options.stop`, started again when it exits.
fn hold_kiosk(binary: &Path, home: &str, options: &KioskOptions) -> anyhow::Result<()> {
    let origin = Origin::of(home)
        .ok_or_else(|| anyhow::anyhow!("the kiosk page {home:?} is not an http(s) URL"))?;
    let watchdog = Watchdog::start(&origin);
    let policy = Policy {
        home: home.to_owned(),
        origin,
        hang_after: options.hang_after,
    };
    let mut pause = RESTART_FIRST;
    loop {
        let started = Instant::now();
        let mut browser = Browser::launch(binary)?;
        let ended = Lockdown::new(&browser.cdp, policy.clone(), &watchdog).hold(&options.stop);
        let status = browser.close();
        match ended {
            Ok(Ended::Stopped) => return Ok(()),
            Ok(Ended::BrowserGone) => {
                tracing::warn!(status = %status, "kiosk: Chromium exited; starting it again")
            }
            Err(e) => {
                tracing::error!(error = %e, "kiosk: lost control of Chromium; starting it again")
            }
        }
        if started.elapsed() >= RESTART_STABLE {
            pause = RESTART_FIRST;
        }
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if options.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        pause = (pause * 2).min(RESTART_MAX);
    }
}

/// A Chromium under DevTools control through a pipe.
struct Browser {
    child: Child,
    cdp: Cdp,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(binary: &Path) -> anyhow::Result<Browser> {
        let profile = fresh_profile()?;
        let args = arguments(
            profile.path(),
            &Mode::Kiosk,
            screen_size(),
            running_as_root(),
            std::env::var("KIOSK_CHROMIUM_FLAGS").ok().as_deref(),
            // The page is loaded over DevTools once the lock is set: nothing before it.
            "about:blank",
        );
        let (to_chromium_read, to_chromium) = std::io::pipe().context("a pipe for DevTools")?;
        let (from_chromium, from_chromium_write) =
            std::io::pipe().context("a pipe for DevTools")?;
        // Chromium's ends, moved above fd 4 first so that placing them at 3 and 4 in the
        // child cannot overwrite one with the other.
        let child_reads = above_stdio(to_chromium_read.into())?;
        let child_writes = above_stdio(from_chromium_write.into())?;
        let (reads, writes) = (child_reads.as_raw_fd(), child_writes.as_raw_fd());
        let mut command = Command::new(binary);
        command.args(&args);
        // SAFETY: between fork and exec only async-signal-safe calls: dup2 (which also
        // clears close-on-exec on the copies) and prctl. PDEATHSIG: Chromium goes when
        // the shell does, instead of holding the screen for nobody.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(reads, 3) < 0 || libc::dup2(writes, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        tracing::info!(binary = %binary.display(), "starting Chromium (kiosk, DevTools over a pipe)");
        let child = command
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        // Only Chromium holds its ends now: its exit closes the pipe for us.
        drop((child_reads, child_writes));
        let cdp = Cdp::over(from_chromium, to_chromium);
        Ok(Browser {
            child,
            cdp,
            _profile: profile,
        })
    }

    /// Closes Chromium (SIGTERM, then SIGKILL after a grace) and says how it ended.
    fn close(&mut self) -> String {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.to_string();
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.to_string();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string())
    }
}

/// A copy of `fd` numbered 10 or above, close-on-exec; the original is closed.
fn above_stdio(fd: OwnedFd) -> anyhow::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor we own; the new one is owned by the
    // returned OwnedFd alone.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot place the DevTools pipe");
    }
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
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

/// Which window Chromium opens.
enum Mode {
    Ordinary,
    Kiosk,
}

/// Chromium's command line, the URL last.
fn arguments(
    profile: &Path,
    mode: &Mode,
    size: Option<(u32, u32)>,
    as_root: bool,
    extra: Option<&str>,
    url: &str,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut user_data_dir = OsString::from("--user-data-dir=");
    user_data_dir.push(profile);
    args.push(user_data_dir);
    args.extend(QUIET_FLAGS.iter().map(OsString::from));
    if let Mode::Kiosk = mode {
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
            Path::new("/tmp/p"),
            &Mode::Kiosk,
            Some((1280, 800)),
            true,
            Some("--disable-gpu  --foo"),
            "http://127.0.0.1:9/kiosk",
        ));
        assert_eq!(args[0], "--user-data-dir=/tmp/p");
        for flag in [
            "--kiosk",
            "--window-position=0,0",
            "--window-size=1280,800",
            "--no-sandbox",
            "--remote-debugging-pipe",
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
            Path::new("/p"),
            &Mode::Ordinary,
            Some(ORDINARY_SIZE),
            false,
            None,
            "http://h/",
        ));
        assert!(
            !args
                .iter()
                .any(|a| a == "--kiosk" || a == "--no-sandbox" || a == "--remote-debugging-pipe")
        );
        assert!(args.iter().any(|a| a == "--window-size=1280,800"));
    }
}
