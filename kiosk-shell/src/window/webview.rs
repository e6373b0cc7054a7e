//! The built-in window: WebKitGTK (through wry) in a tao window.
//!
//! * Credentials answer WebKit's `authenticate` signal, for the portal's host and port
//!   only, and are kept for the session, so the page's own `fetch()` calls (Leptos server
//!   functions, the wasm bundle) carry them too. The URL stays free of credentials.
//! * Main-frame navigation is allowed within the portal's origin only; pages may not open
//!   new windows. In an ordinary window an off-origin link goes to the desktop's browser
//!   instead (`xdg-open`).
//! * Kiosk: undecorated at (0,0) with the monitor's size, and also asked to go
//!   full screen — a window manager honours that, and without one (a bare X server) the
//!   size alone covers the screen. A crashed web process is replaced by reloading.

use std::cell::Cell;
use std::panic::catch_unwind;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use anyhow::Context;
use tao::dpi::{LogicalSize, PhysicalPosition};
use tao::event::{Event, WindowEvent};
use tao::event_loop::{ControlFlow, EventLoop, EventLoopBuilder};
use tao::platform::run_return::EventLoopExtRunReturn;
use tao::platform::unix::WindowExtUnix;
use tao::window::{Fullscreen, WindowBuilder};
use webkit2gtk::gio::{self, prelude::TlsCertificateExt};
use webkit2gtk::glib;
use webkit2gtk::glib::translate::{ToGlibPtr, mut_override};
use webkit2gtk::{
    AuthenticationRequest, AuthenticationRequestExt, Credential, CredentialPersistence,
    WebContextExt, WebViewExt,
};
use wry::{NewWindowResponse, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

use super::origin::Origin;
use super::{Credentials, Target};

/// The ordinary window's first size; the user may resize it.
const ORDINARY_SIZE: LogicalSize<f64> = LogicalSize::new(1280.0, 800.0);
/// Pause before reloading after a web-process crash, so a page that crashes its renderer
/// at once does not spin the CPU.
const CRASH_RELOAD_DELAY: Duration = Duration::from_secs(1);

/// Pause before trying the portal again when it could not be reached (it may be starting
/// up after a power cut, like the terminal).
const UNREACHABLE_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Pause before trying again when the portal refused the kiosk's credentials: that needs
/// a person to fix, and every try costs the portal a password hash.
const REFUSED_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What the webview's callbacks tell the event loop.
#[derive(Debug)]
enum UserEvent {
    TitleChanged(String),
}

pub(super) fn open(target: &Target, kiosk: bool, ca_file: Option<&Path>) -> anyhow::Result<()> {
    // Read before any window exists: a bad --ca-file is a start-up error, not a blank screen.
    let private_ca = match ca_file {
        Some(path) => Some(
            gio::TlsCertificate::from_file(path)
                .with_context(|| format!("--ca-file {}: not a PEM certificate", path.display()))?,
        ),
        None => None,
    };
    super::require_display()?;
    // tao panics when GTK cannot start (say, a display that refuses us); turn that into an
    // error the caller can report.
    let mut event_loop: EventLoop<UserEvent> =
        catch_unwind(|| EventLoopBuilder::with_user_event().build())
            .map_err(|_| anyhow::anyhow!("cannot start GTK on this display"))?;

    let mut builder = WindowBuilder::new().with_title(format!("paymesh — {}", target.url));
    if kiosk {
        let monitor = event_loop
            .primary_monitor()
            .or_else(|| event_loop.available_monitors().next())
            .context("the display reports no monitor")?;
        builder = builder
            .with_decorations(false)
            .with_position(PhysicalPosition::new(0, 0))
            .with_inner_size(monitor.size())
            .with_fullscreen(Some(Fullscreen::Borderless(Some(monitor))));
    } else {
        builder = builder.with_inner_size(ORDINARY_SIZE).with_resizable(true);
    }
    let window = builder
        .build(&event_loop)
        .context("cannot create the window")?;
    let vbox = window
        .default_vbox()
        .context("the window has no GTK box to hold the webview")?;

    let origin = target.origin.clone();
    let proxy = event_loop.create_proxy();
    let webview = WebViewBuilder::new()
        .with_url(&target.url)
        .with_navigation_handler({
            let origin = origin.clone();
            move |url| allow_navigation(&origin, &url, kiosk)
        })
        .with_new_window_req_handler({
            let origin = origin.clone();
            move |url, _features| {
                // A `target=_blank` link or `window.open` on the portal: there is one window.
                if !kiosk && !origin.contains(&url) {
                    open_elsewhere(&url);
                }
                NewWindowResponse::Deny
            }
        })
        .with_document_title_changed_handler(move |title| {
            // Fails only when the loop has ended; there is no window left to title then.
            let _ = proxy.send_event(UserEvent::TitleChanged(title));
        })
        .with_hotkeys_zoom(false)
        .with_devtools(false)
        .build_gtk(vbox)
        .context("cannot create the webview")?;

    // The load above is asynchronous: these handlers are in place before the first
    // response (and its 401 challenge) is processed by this thread's main loop.
    let view = webview.webview();
    let retry = Retry {
        kiosk,
        home: target.url.clone(),
        origin: origin.clone(),
        pending: Rc::new(Cell::new(false)),
    };
    answer_auth_challenges(&view, &origin, target.credentials.clone(), &retry);
    if let Some(ca) = private_ca {
        trust_private_ca(&view, &origin, ca);
    }
    view.connect_load_failed({
        let retry = retry.clone();
        move |view, _event, uri, error| {
            // A navigation we blocked, or one replaced by the next: not a failure.
            if error.matches(webkit2gtk::NetworkError::Cancelled)
                || error.matches(webkit2gtk::PolicyError::FrameLoadInterruptedByPolicyChange)
            {
                return false;
            }
            tracing::warn!(
                uri = super::origin::without_query(uri),
                %error,
                "the portal could not be loaded; trying again"
            );
            retry.schedule(view, uri, &error.to_string(), UNREACHABLE_RETRY_DELAY);
            true
        }
    });
    view.connect_web_process_terminated(|view, reason| {
        let uri = view.uri();
        tracing::warn!(
            ?reason,
            uri = uri.as_deref().map(super::origin::without_query),
            "the web process ended; reloading"
        );
        let view = view.clone();
        glib::timeout_add_local_once(CRASH_RELOAD_DELAY, move || view.reload());
    });
    if kiosk {
        // No "Back / Reload / Inspect" menu on a terminal.
        view.connect_context_menu(|_, _, _, _| true);
    }
    tracing::info!(
        url = super::origin::without_query(&target.url),
        kiosk,
        "window open"
    );

    let exit = event_loop.run_return(|event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            Event::WindowEvent {
                event: WindowEvent::CloseRequested,
                ..
            } => *control_flow = ControlFlow::Exit,
            Event::UserEvent(UserEvent::TitleChanged(title)) if !kiosk && !title.is_empty() => {
                window.set_title(&title)
            }
            _ => {}
        }
    });
    drop(webview);
    drop(window);
    tracing::info!(exit, "window closed");
    if exit != 0 {
        anyhow::bail!("the display connection was lost (event loop exit code {exit})");
    }
    Ok(())
}

/// The primary monitor's size in pixels, asked of GTK; `None` without a display.
pub(super) fn monitor_size() -> Option<(u32, u32)> {
    super::require_display().ok()?;
    let event_loop: EventLoop<()> = catch_unwind(|| EventLoopBuilder::new().build()).ok()?;
    let monitor = event_loop
        .primary_monitor()
        .or_else(|| event_loop.available_monitors().next())?;
    let size = monitor.size();
    Some((size.width, size.height))
}

/// The navigation lock: the main frame stays on the portal's origin.
fn allow_navigation(origin: &Origin, url: &str, kiosk: bool) -> bool {
    if origin.contains(url) {
        return true;
    }
    if kiosk {
        tracing::warn!(url, %origin, "kiosk: navigation off the portal's origin blocked");
    } else {
        open_elsewhere(url);
    }
    false
}

/// An ordinary window hands foreign links to the desktop's browser, best effort.
fn open_elsewhere(url: &str) {
    if Origin::of(url).is_none() {
        tracing::info!(url, "not opening a non-web URL");
        return;
    }
    match std::process::Command::new("xdg-open").arg(url).spawn() {
        Ok(_) => tracing::info!(url, "off-origin link handed to xdg-open"),
        Err(e) => tracing::info!(url, error = %e, "off-origin link not opened (no xdg-open)"),
    }
}

/// Answers HTTP authentication challenges from the portal with its credentials.
///
/// The credential is kept for the session, so WebKit sends it up front on later requests
/// to the same protection space (the page's `fetch()` calls, its scripts and wasm) instead
/// of waiting for a 401 each time. Challenges from any other host or port or from a proxy
/// are never answered with it. When the portal refuses it (a retry), a kiosk cancels, says
/// so on the screen and tries again later; an ordinary window lets WebKit show its login
/// dialog so the operator can type the right password.
fn answer_auth_challenges(
    view: &webkit2gtk::WebView,
    origin: &Origin,
    credentials: Option<Credentials>,
    retry: &Retry,
) {
    let origin = origin.clone();
    let retry = retry.clone();
    view.connect_authenticate(move |view, request| {
        let host = request.host().map(|h| h.to_ascii_lowercase());
        let ours = !request.is_for_proxy()
            && request.port() == u32::from(origin.port)
            && host.as_deref() == Some(origin.host.trim_matches(['[', ']']));
        match &credentials {
            Some(c) if ours && !request.is_retry() => {
                tracing::debug!(login = %c.login, realm = ?request.realm(), "answering the portal's auth challenge");
                authenticate(request, c);
                true
            }
            _ if !retry.kiosk => false,
            _ => {
                request.cancel();
                if ours {
                    tracing::warn!(realm = ?request.realm(), "the portal refused the kiosk's credentials");
                    let uri = view.uri().map(|u| u.to_string()).unwrap_or_default();
                    retry.schedule(
                        view,
                        &uri,
                        "the portal refused the kiosk's login and password",
                        REFUSED_RETRY_DELAY,
                    );
                }
                true
            }
        }
    });
}

/// `--ca-file`: WebKit trusts only the system's roots (GnuTLS's store), so a portal with a
/// certificate from a private CA (`paymesh demo --tls`, a terminal network's own CA)
/// fails with a TLS error. Then, and only for the portal's own host and port, the
/// certificate is verified here against that CA and for that host; if it passes, WebKit
/// is told to accept exactly this certificate for this host, and the page is loaded
/// again. Verification is never switched off: any other certificate, host or error is
/// still refused.
fn trust_private_ca(view: &webkit2gtk::WebView, origin: &Origin, ca: gio::TlsCertificate) {
    let origin = origin.clone();
    view.connect_load_failed_with_tls_errors(move |view, uri, certificate, errors| {
        if !origin.contains(uri) {
            tracing::warn!(uri, ?errors, "TLS error off the portal; refused");
            return false;
        }
        let host = origin.host.trim_matches(['[', ']']).to_owned();
        let identity = gio::NetworkAddress::new(&host, origin.port);
        let problems = certificate.verify(Some(&identity), Some(&ca));
        if !problems.is_empty() {
            tracing::warn!(uri, ?errors, ?problems, "the portal's certificate is not vouched for by --ca-file; refused");
            return false;
        }
        let Some(context) = view.context() else {
            return false;
        };
        tracing::info!(%host, "the portal's certificate is signed by --ca-file; allowed for this host");
        context.allow_tls_certificate_for_host(certificate, &host);
        view.load_uri(uri);
        true
    });
}

/// Shows a notice instead of a page that could not be had, and loads it again later —
/// one pending retry at a time.
#[derive(Clone)]
struct Retry {
    kiosk: bool,
    /// Where to go when the failed page is not on the portal.
    home: String,
    origin: Origin,
    pending: Rc<Cell<bool>>,
}

impl Retry {
    fn schedule(&self, view: &webkit2gtk::WebView, failed: &str, detail: &str, delay: Duration) {
        if self.pending.replace(true) {
            return;
        }
        let url = if self.origin.contains(failed) {
            failed.to_owned()
        } else {
            self.home.clone()
        };
        let html = super::notice::html(self.kiosk, detail, delay);
        // Once the failed load has wound down, so that WebKit doesn't paint over it.
        glib::idle_add_local_once({
            let (view, url) = (view.clone(), url.clone());
            move || view.load_alternate_html(&html, &url, None)
        });
        glib::timeout_add_local_once(delay, {
            let (view, pending) = (view.clone(), self.pending.clone());
            move || {
                pending.set(false);
                view.load_uri(&url);
            }
        });
    }
}

fn authenticate(request: &AuthenticationRequest, c: &Credentials) {
    let credential = Credential::new(&c.login, &c.password, CredentialPersistence::ForSession);
    // SAFETY: the generated bindings lack `webkit_authentication_request_authenticate`.
    // Both pointers are valid for the call (borrowed from live GObject/boxed wrappers) and
    // the function copies the credential rather than taking ownership (transfer none).
    unsafe {
        webkit2gtk::ffi::webkit_authentication_request_authenticate(
            request.to_glib_none().0,
            mut_override(credential.to_glib_none().0),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_navigation_stays_on_the_portal() {
        let portal = Origin::of("http://127.0.0.1:8404/kiosk").unwrap();
        assert!(allow_navigation(
            &portal,
            "http://127.0.0.1:8404/kiosk/pay",
            true
        ));
        assert!(!allow_navigation(&portal, "http://127.0.0.2:8404/", true));
        assert!(!allow_navigation(&portal, "about:blank", true));
    }
}
