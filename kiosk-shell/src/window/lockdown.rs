//! Holds a Chromium kiosk on its page, over the DevTools protocol ([`cdp`](super::cdp)).
//!
//! What a customer at the screen could try, and what answers it:
//!
//! * **leave the portal** (a link, a script, a redirect): every document request pauses
//!   in the browser-wide `Fetch` domain and goes on only for the kiosk page's main frame
//!   on the page's origin — anything else is answered `204 No Content` by the shell (the
//!   page stays as it was) and logged; a main frame that
//!   still ends up elsewhere (`about:blank` needs no request) is sent home;
//! * **new windows** (`window.open`, `target=_blank`, Ctrl+N) and **DevTools**: every new
//!   target is attached paused (`waitForDebuggerOnStart`) and closed before it loads —
//!   the kiosk has one page; the keys that open DevTools or browser tools are also
//!   cancelled in the page;
//! * **downloads**: denied browser-wide (`Browser.setDownloadBehavior`);
//! * **context menu, Ctrl+wheel and Ctrl+± zoom**: cancelled by a script that runs in
//!   every document before the page's own; touch pinch-zoom and swipe navigation are off
//!   by Chromium's flags (`--disable-pinch`, `--overscroll-history-navigation=0`);
//! * **a crashed renderer**: `Inspector.targetCrashed` → the kiosk page again after a
//!   pause;
//! * **a hung renderer** (a script in an endless loop, a stopped process): a probe
//!   (`Runtime.evaluate "1"`) must be answered within the hang limit, or the renderer
//!   processes are killed, which is a crash, and the page comes back;
//! * **the portal gone** (the agent restarting, the network down): a watchdog asks the
//!   page's origin for `/healthz`; while nothing answers there, the shell's own
//!   "temporarily out of service" notice covers the screen, and the kiosk page comes
//!   back when the portal does. A page answered `5xx`, or `401` (the kiosk's password
//!   refused — Chromium would open its login dialog on the kiosk), is replaced by the same
//!   notice and asked for again later.
//!
//! The loop returns when Chromium exits (the caller starts it again) or when asked to
//! stop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::cdp::{Cdp, CdpError, Event, Pending};
use super::notice;
use super::origin::Origin;

/// How often the renderer is probed and the loop looks at the watchdog.
const TICK: Duration = Duration::from_millis(500);
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Pause before the kiosk page is loaded again after a crash, so a page that crashes its
/// renderer at once does not spin the CPU.
const CRASH_RELOAD_DELAY: Duration = Duration::from_secs(1);
/// How often the watchdog asks the portal, and for how long.
const WATCH_EVERY: Duration = Duration::from_secs(2);
const WATCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Failed asks in a row before the portal counts as gone (one lost packet is not an
/// outage worth a notice in a customer's face).
const DOWN_AFTER: u32 = 2;
/// The notice's "retrying every" figure.
const NOTICE_RETRY: Duration = WATCH_EVERY;
/// When the portal answered the page with a failure: the page is asked for again after
/// this long.
const UNREACHABLE_RETRY_DELAY: Duration = Duration::from_secs(5);
/// When the portal refused the kiosk's password: that needs a person to fix, and every
/// try costs the portal a password hash.
const REFUSED_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Runs in every document of the kiosk page before the page's own scripts: the browser's
/// own menus and keys have no use at a kiosk. (Handlers on the capture phase of `window`
/// run first; the page still sees the events, already cancelled.)
const PAGE_SCRIPT: &str = r#"(() => {
  const blockedWithCtrl = new Set(['+', '=', '-', '_', '0', 'o', 's', 'p', 'u', 'f', 'g', 'h', 'j', 'd']);
  addEventListener('contextmenu', e => e.preventDefault(), true);
  addEventListener('keydown', e => {
    const key = (e.key || '').toLowerCase();
    const devtools = e.key === 'F12' || (e.ctrlKey && e.shiftKey && ['i', 'j', 'c', 'k'].includes(key));
    if (devtools || (e.ctrlKey && blockedWithCtrl.has(key))) e.preventDefault();
  }, true);
  addEventListener('wheel', e => { if (e.ctrlKey) e.preventDefault(); }, { capture: true, passive: false });
  addEventListener('dragstart', e => e.preventDefault(), true);
  addEventListener('drop', e => e.preventDefault(), true);
})();"#;

/// The kiosk's settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The kiosk page (on the page's origin: the credential proxy's when there is one).
    pub home: String,
    /// The only origin the page may show.
    pub origin: Origin,
    /// A renderer that answers no probe for this long is killed and the page reloaded.
    pub hang_after: Duration,
}

/// Why [`Lockdown::hold`] returned.
#[derive(Debug)]
pub enum Ended {
    /// Asked to stop (SIGTERM, Ctrl-C).
    Stopped,
    /// Chromium closed the pipe: it exited or crashed.
    BrowserGone,
}

/// What the kiosk page is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Showing {
    Nothing,
    Portal,
    Notice,
}

/// The kiosk's one page.
struct Page {
    target: String,
    session: String,
    showing: Showing,
    /// A probe in flight and when it was sent.
    probe: Option<(Instant, Pending)>,
    last_probe: Instant,
    /// Load the kiosk page again at this moment (after a crash).
    reload_at: Option<Instant>,
}

pub struct Lockdown<'a> {
    cdp: &'a Cdp,
    policy: Policy,
    watchdog: &'a Watchdog,
    page: Option<Page>,
}

impl<'a> Lockdown<'a> {
    pub fn new(cdp: &'a Cdp, policy: Policy, watchdog: &'a Watchdog) -> Lockdown<'a> {
        Lockdown {
            cdp,
            policy,
            watchdog,
            page: None,
        }
    }

    /// Sets the browser up and keeps the page in line until Chromium goes or `stop` is set.
    pub fn hold(&mut self, stop: &AtomicBool) -> Result<Ended, CdpError> {
        match self.setup_browser() {
            Ok(()) => {}
            Err(CdpError::Closed) => return Ok(Ended::BrowserGone),
            Err(e) => return Err(e),
        }
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(Ended::Stopped);
            }
            let event = match self.cdp.next_event(TICK) {
                Ok(event) => event,
                Err(CdpError::Closed) => return Ok(Ended::BrowserGone),
                Err(e) => return Err(e),
            };
            let step = match event {
                Some(event) => self.on_event(&event),
                None => Ok(()),
            }
            .and_then(|()| self.on_tick());
            match step {
                Ok(()) => {}
                Err(CdpError::Closed) => return Ok(Ended::BrowserGone),
                // One command refused (a target gone meanwhile) is not the end of the kiosk.
                Err(e) => tracing::warn!(error = %e, "kiosk: a DevTools command failed"),
            }
        }
    }

    fn setup_browser(&self) -> Result<(), CdpError> {
        self.cdp.call(
            None,
            "Browser.setDownloadBehavior",
            json!({"behavior": "deny"}),
        )?;
        // Every document of every window pauses twice, browser-wide: before it is asked
        // for (the navigation lock) and when its answer is in (a refusal or a failure
        // becomes the shell's notice). Browser-wide, so that a new window's first request
        // is held too: a window's own interception would be set up after it began.
        self.cdp.call(
            None,
            "Fetch.enable",
            json!({"patterns": [
                {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"},
                {"urlPattern": "*", "resourceType": "Document", "requestStage": "Response"},
            ]}),
        )?;
        self.cdp
            .call(None, "Target.setDiscoverTargets", json!({"discover": true}))?;
        // Every page target — the first window's and any new one — is attached paused.
        self.cdp.call(
            None,
            "Target.setAutoAttach",
            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
        )?;
        Ok(())
    }

    fn on_event(&mut self, event: &Event) -> Result<(), CdpError> {
        let p = &event.params;
        match event.method.as_str() {
            "Target.attachedToTarget" => self.on_attached(p),
            "Target.targetCreated" => self.on_created(p),
            "Target.targetDestroyed" => {
                let gone = p["targetId"].as_str();
                if self.page.as_ref().map(|page| page.target.as_str()) == gone {
                    tracing::warn!("kiosk: the kiosk page's window was closed; opening it again");
                    self.page = None;
                    self.cdp.call(
                        None,
                        "Target.createTarget",
                        json!({"url": "about:blank", "newWindow": true}),
                    )?;
                }
                Ok(())
            }
            "Fetch.requestPaused" => self.on_request(event),
            "Inspector.targetCrashed" if self.is_page(event) => {
                tracing::warn!("kiosk: the page's renderer crashed; loading the kiosk page again");
                if let Some(page) = self.page.as_mut() {
                    page.reload_at = Some(Instant::now() + CRASH_RELOAD_DELAY);
                    page.probe = None;
                }
                Ok(())
            }
            "Page.frameNavigated" if self.is_page(event) => self.on_navigated(p),
            _ => Ok(()),
        }
    }

    fn is_page(&self, event: &Event) -> bool {
        self.page.as_ref().map(|page| page.session.as_str()) == event.session.as_deref()
    }

    /// A target attached paused: the first page becomes the kiosk's; any other page
    /// (a new window, DevTools) is closed before it loads; workers run on.
    fn on_attached(&mut self, p: &Value) -> Result<(), CdpError> {
        let session = p["sessionId"].as_str().unwrap_or_default().to_owned();
        let info = &p["targetInfo"];
        let target = info["targetId"].as_str().unwrap_or_default().to_owned();
        let kind = info["type"].as_str().unwrap_or_default();
        let url = info["url"].as_str().unwrap_or_default();
        if kind == "page" && self.page.is_none() {
            return self.adopt(target, session);
        }
        if self.page.as_ref().is_some_and(|page| page.target == target) {
            return Ok(());
        }
        if matches!(kind, "page" | "other") {
            tracing::warn!(
                kind,
                url = super::origin::without_query(url),
                "kiosk: a new window was closed"
            );
            // Left paused, a window opened by the page would hold the page's renderer
            // ("Debugger paused in another tab" over the kiosk): it runs — its document
            // requests answered empty, as they are not the kiosk page's — and is closed.
            self.cdp
                .send(Some(&session), "Runtime.runIfWaitingForDebugger", json!({}))?;
            return self.close(&target);
        }
        self.cdp
            .send(Some(&session), "Runtime.runIfWaitingForDebugger", json!({}))?;
        Ok(())
    }

    /// DevTools windows are not always offered for attaching: closed when seen.
    fn on_created(&mut self, p: &Value) -> Result<(), CdpError> {
        let info = &p["targetInfo"];
        let url = info["url"].as_str().unwrap_or_default();
        if url.starts_with("devtools://") {
            tracing::warn!("kiosk: DevTools opened; closed");
            return self.close(info["targetId"].as_str().unwrap_or_default());
        }
        Ok(())
    }

    fn close(&self, target: &str) -> Result<(), CdpError> {
        self.cdp
            .send(None, "Target.closeTarget", json!({"targetId": target}))?;
        Ok(())
    }

    /// Makes `target` the kiosk's page: the lock set up while it waits, then it runs and
    /// is sent to the kiosk page (or the notice).
    fn adopt(&mut self, target: String, session: String) -> Result<(), CdpError> {
        let s = Some(session.as_str());
        self.cdp.call(s, "Page.enable", json!({}))?;
        self.cdp.call(s, "Inspector.enable", json!({}))?;
        self.cdp.call(
            s,
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": PAGE_SCRIPT}),
        )?;
        self.cdp
            .call(s, "Runtime.runIfWaitingForDebugger", json!({}))?;
        tracing::info!("kiosk: page attached and locked to {}", self.policy.origin);
        self.page = Some(Page {
            target,
            session,
            showing: Showing::Nothing,
            probe: None,
            last_probe: Instant::now(),
            reload_at: None,
        });
        self.show_what_fits()
    }

    /// A document request, of any window: the kiosk page's main frame (whose id is its
    /// target's) on the page's origin goes on; anything else is answered empty.
    fn on_request(&mut self, event: &Event) -> Result<(), CdpError> {
        let p = &event.params;
        let id = p["requestId"].as_str().unwrap_or_default();
        let url = p["request"]["url"].as_str().unwrap_or_default();
        let session = event.session.as_deref();
        let kiosk_frame = self
            .page
            .as_ref()
            .is_some_and(|page| p["frameId"].as_str() == Some(page.target.as_str()));
        if let Some(status) = p["responseStatusCode"].as_u64() {
            if kiosk_frame {
                return self.on_response(event, status);
            }
            self.cdp
                .send(session, "Fetch.continueRequest", json!({"requestId": id}))?;
            return Ok(());
        }
        if kiosk_frame && self.policy.origin.contains(url) {
            self.cdp
                .send(session, "Fetch.continueRequest", json!({"requestId": id}))?;
        } else {
            tracing::warn!(
                url = super::origin::without_query(url),
                origin = %self.policy.origin,
                "kiosk: navigation off the portal's origin blocked"
            );
            // Answered "204 No Content" rather than failed: a failed navigation commits
            // Chromium's error page in place of the kiosk page, a 204 leaves the page as
            // it was, as if the link had not been touched.
            self.cdp.send(
                session,
                "Fetch.fulfillRequest",
                json!({"requestId": id, "responseCode": 204, "responseHeaders": []}),
            )?;
        }
        Ok(())
    }

    /// A document's answer is in. The portal refusing the kiosk's password (`401`, which
    /// would otherwise open Chromium's login dialog on the kiosk) or failing (`5xx`, the
    /// proxy's `502` when the portal is gone) is replaced by the shell's notice, and the
    /// kiosk page asked for again later; anything else goes on to the page.
    fn on_response(&mut self, event: &Event, status: u64) -> Result<(), CdpError> {
        let id = event.params["requestId"].as_str().unwrap_or_default();
        let session = event.session.as_deref();
        let (detail, retry) = match status {
            401 | 407 => (
                "the portal refused the kiosk's password",
                REFUSED_RETRY_DELAY,
            ),
            500.. => ("the portal failed to answer", UNREACHABLE_RETRY_DELAY),
            _ => {
                self.cdp
                    .send(session, "Fetch.continueRequest", json!({"requestId": id}))?;
                return Ok(());
            }
        };
        let detail = format!("{detail} (HTTP {status})");
        tracing::warn!(%detail, "kiosk: showing the out-of-service notice instead of the page");
        let html = notice::html(true, &detail, retry);
        self.cdp.send(
            session,
            "Fetch.fulfillRequest",
            json!({
                "requestId": id,
                "responseCode": 503,
                "responseHeaders": [
                    {"name": "Content-Type", "value": "text/html; charset=utf-8"},
                    {"name": "Cache-Control", "value": "no-store"},
                ],
                "body": base64::engine::general_purpose::STANDARD.encode(html),
            }),
        )?;
        if let Some(page) = self.page.as_mut() {
            page.reload_at = Some(Instant::now() + retry);
        }
        Ok(())
    }

    /// The main frame committed a document: anything but the portal or our notice (an
    /// `about:blank` a script went to) is replaced by the kiosk page.
    fn on_navigated(&mut self, p: &Value) -> Result<(), CdpError> {
        let frame = &p["frame"];
        if frame.get("parentId").is_some_and(|v| !v.is_null()) {
            return Ok(());
        }
        let url = frame["url"].as_str().unwrap_or_default();
        let ours = self.policy.origin.contains(url) || url.starts_with(NOTICE_PREFIX);
        let Some(page) = self.page.as_ref() else {
            return Ok(());
        };
        if !ours && page.showing != Showing::Nothing {
            tracing::warn!(
                url = super::origin::without_query(url),
                "kiosk: the page left the portal; back to the kiosk page"
            );
            return self.navigate_home();
        }
        Ok(())
    }

    /// Periodic work: a reload due after a crash, the watchdog's verdict, the hang probe.
    fn on_tick(&mut self) -> Result<(), CdpError> {
        let Some(page) = self.page.as_mut() else {
            return Ok(());
        };
        if page.reload_at.is_some_and(|at| Instant::now() >= at) {
            page.reload_at = None;
            return self.show_what_fits();
        }
        if page.reload_at.is_some() {
            return Ok(());
        }
        let up = self.watchdog.portal_up();
        match (page.showing, up) {
            (Showing::Portal | Showing::Nothing, false)
            | (Showing::Notice | Showing::Nothing, true) => {
                return self.show_what_fits();
            }
            _ => {}
        }
        self.probe()
    }

    /// The kiosk page when the portal answers, the notice when it does not.
    fn show_what_fits(&mut self) -> Result<(), CdpError> {
        if self.watchdog.portal_up() {
            self.navigate_home()
        } else {
            let html = notice::html(true, &self.watchdog.last_failure(), NOTICE_RETRY);
            let url = format!(
                "{NOTICE_PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(html)
            );
            if let Some(page) = self.page.as_ref()
                && page.showing != Showing::Notice
            {
                tracing::warn!(
                    reason = %self.watchdog.last_failure(),
                    "kiosk: the portal does not answer; showing the out-of-service notice"
                );
            }
            self.navigate(&url, Showing::Notice)
        }
    }

    fn navigate_home(&mut self) -> Result<(), CdpError> {
        let home = self.policy.home.clone();
        self.navigate(&home, Showing::Portal)
    }

    fn navigate(&mut self, url: &str, showing: Showing) -> Result<(), CdpError> {
        let Some(page) = self.page.as_mut() else {
            return Ok(());
        };
        page.showing = showing;
        page.probe = None;
        page.last_probe = Instant::now();
        self.cdp
            .send(Some(&page.session), "Page.navigate", json!({"url": url}))?;
        Ok(())
    }

    /// Sends a probe every [`PROBE_EVERY`]; one unanswered for the hang limit means the
    /// renderer is stuck, and its processes are killed (the crash handler reloads).
    fn probe(&mut self) -> Result<(), CdpError> {
        let hang_after = self.policy.hang_after;
        let Some(page) = self.page.as_mut() else {
            return Ok(());
        };
        if let Some((sent, pending)) = page.probe.as_ref() {
            match pending.poll() {
                // Any answer, even an error (no context mid-navigation), is a live renderer.
                Some(Ok(_) | Err(CdpError::Refused { .. })) => page.probe = None,
                Some(Err(e)) => return Err(e),
                None if sent.elapsed() >= hang_after => {
                    tracing::error!(
                        waited_s = sent.elapsed().as_secs(),
                        "kiosk: the page's renderer does not answer; killing it"
                    );
                    page.probe = None;
                    page.last_probe = Instant::now();
                    return kill_renderers(self.cdp);
                }
                None => {}
            }
            return Ok(());
        }
        if page.last_probe.elapsed() >= PROBE_EVERY {
            page.last_probe = Instant::now();
            let pending = self.cdp.send(
                Some(&page.session),
                "Runtime.evaluate",
                json!({"expression": "1", "returnByValue": true}),
            )?;
            page.probe = Some((Instant::now(), pending));
        }
        Ok(())
    }
}

/// Where the notice lives: a `data:` URL the page itself could never navigate to
/// (Chromium refuses top-level `data:` navigations from pages).
const NOTICE_PREFIX: &str = "data:text/html;charset=utf-8;base64,";

/// Kills this Chromium's renderer processes, as the browser itself lists them.
fn kill_renderers(cdp: &Cdp) -> Result<(), CdpError> {
    let info = cdp.call(None, "SystemInfo.getProcessInfo", json!({}))?;
    let renderers = info["processInfo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "renderer")
        .filter_map(|p| p["id"].as_i64())
        .filter_map(|pid| i32::try_from(pid).ok())
        .filter(|pid| *pid > 1);
    for pid in renderers {
        // SAFETY: kill(2) with a pid Chromium named as its own renderer; no memory is
        // touched. A pid that is already gone gives ESRCH, which is what we wanted.
        let killed = unsafe { libc::kill(pid, libc::SIGKILL) };
        tracing::warn!(pid, killed = killed == 0, "kiosk: renderer killed");
    }
    Ok(())
}

/// Asks the page's origin for `/healthz` every few seconds, on a thread of its own.
///
/// The page's origin is the credential proxy on 127.0.0.1 when there is one (it answers
/// `502` when the portal can't be reached): then the question goes the very way the
/// page's requests go. Any answer below 500 counts as "up" — the portal is there, even
/// if it has no `/healthz`. An `https://` portal reached without the proxy is asked with a
/// TCP connect only.
pub struct Watchdog {
    state: Arc<std::sync::Mutex<WatchState>>,
    stop: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct WatchState {
    up: bool,
    failures: u32,
    last_failure: String,
}

impl Watchdog {
    pub fn start(origin: &Origin) -> Watchdog {
        let state = Arc::new(std::sync::Mutex::new(WatchState {
            last_failure: "not asked yet".into(),
            ..WatchState::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (authority, http) = (origin.authority(), origin.scheme == "http");
        let _ = thread::Builder::new().name("kiosk-watchdog".into()).spawn({
            let (state, stop) = (state.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::SeqCst) {
                    let verdict = ask(&authority, http);
                    record(&state, verdict);
                    thread::sleep(WATCH_EVERY);
                }
            }
        });
        Watchdog { state, stop }
    }

    pub fn portal_up(&self) -> bool {
        self.lock().up
    }

    fn last_failure(&self) -> String {
        self.lock().last_failure.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn record(state: &std::sync::Mutex<WatchState>, verdict: Result<(), String>) {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    match verdict {
        Ok(()) => {
            if !state.up {
                tracing::info!("kiosk: the portal answers");
            }
            state.up = true;
            state.failures = 0;
        }
        Err(reason) => {
            state.failures += 1;
            // The first answer decides at once; later, one miss is not yet an outage.
            if state.up && state.failures >= DOWN_AFTER {
                tracing::warn!(%reason, "kiosk: the portal stopped answering");
                state.up = false;
            }
            state.last_failure = reason;
        }
    }
}

/// One question to the portal: `Ok` if it answered below 500.
fn ask(authority: &str, http: bool) -> Result<(), String> {
    let addr: SocketAddr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, WATCH_TIMEOUT)
        .map_err(|e| format!("{authority}: {e}"))?;
    if !http {
        return Ok(());
    }
    let _ = stream.set_read_timeout(Some(WATCH_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WATCH_TIMEOUT));
    // One write: `write!` on the bare stream sends each piece of the format as a segment
    // of its own, and a server that answers on its first read has the rest still arriving.
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{authority}: {e}"))?;
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("{authority}: {e}")),
        }
    }
    let status = status_of(&head[..read]).ok_or_else(|| format!("{authority}: no HTTP answer"))?;
    if status < 500 {
        Ok(())
    } else {
        Err(format!("{authority}: HTTP {status}"))
    }
}

/// The status code of an HTTP/1.x answer's first bytes.
fn status_of(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.")?;
    rest.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_of(b"HTTP/1.0 502 Bad"), Some(502));
        assert_eq!(status_of(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(status_of(b"HTTP/1.1 2"), None);
    }

    #[test]
    fn one_miss_is_not_an_outage_but_two_are() {
        let state = std::sync::Mutex::new(WatchState::default());
        record(&state, Ok(()));
        record(&state, Err("refused".into()));
        assert!(state.lock().unwrap().up);
        record(&state, Err("refused".into()));
        assert!(!state.lock().unwrap().up);
        record(&state, Ok(()));
        assert!(state.lock().unwrap().up);
    }

    #[test]
    fn the_portal_is_asked_over_http_and_a_5xx_is_down() {
        use std::net::TcpListener;
        let serve = |answer: &'static str| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            thread::spawn(move || {
                if let Ok((mut s, _)) = listener.accept() {
                    // The whole request first: a socket closed with input unread is reset,
                    // and the reset can overtake the answer.
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.ends_with(b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(answer.as_bytes());
                }
            });
            addr.to_string()
        };
        assert!(ask(&serve("HTTP/1.1 404 Not Found\r\n\r\n"), true).is_ok());
        let down = ask(&serve("HTTP/1.1 502 Bad Gateway\r\n\r\n"), true);
        assert!(down.unwrap_err().contains("502"));
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(ask(&closed.to_string(), true).is_err());
    }
}
