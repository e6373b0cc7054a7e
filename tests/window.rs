//! `paymesh <role> --window` under a virtual X server, for each of the four roles: the real
//! binary serves its portal and opens it in kiosk-shell's ordinary window, signed in as
//! the operator without a prompt; a screenshot shows the portal's own page (its frame's
//! colours where they belong, the window titled with the role's portal); closing the
//! window leaves the portal serving.
//!
//! Needs `Xvfb`, ImageMagick and `xwininfo` (`scripts/install-deps.sh --test`). Xvfb and
//! paymesh run in process groups killed when a test ends (`xvfb::Group`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::proc_tree;
use crate::xvfb::{Display, Group, SCREEN, Screenshot, wait_until};

/// Generous: WebKit starting on a loaded 2-core CI machine.
const DEADLINE: Duration = Duration::from_secs(120);
/// kiosk-shell's ordinary window (`ORDINARY_SIZE` there), at the screen's top left.
const WINDOW: (u32, u32) = (1280, 800);
const PASSWORD: &str = "window-test-operator-password";

/// The portal frame's colours (portals/assets/paymesh.css): the top bar, the sidebar,
/// the page's background.
const TOP_BAR: [u8; 3] = [0x14, 0x21, 0x3d];
const SIDEBAR: [u8; 3] = [0xff, 0xff, 0xff];
const BACKGROUND: [u8; 3] = [0xf5, 0xf7, 0xfb];
/// The bare X root window around an ordinary window (no window manager draws there).
const ROOT: [u8; 3] = [0, 0, 0];

#[tokio::test]
async fn consumer_window_shows_its_portal_signed_in_and_closes_alone() {
    window_shows_the_portal_signed_in_and_closes_alone(
        "consumer",
        "Кабинет абонента",
        "/api/admin/v1/contracts",
    )
    .await;
}

#[tokio::test]
async fn provider_window_shows_its_portal_signed_in_and_closes_alone() {
    window_shows_the_portal_signed_in_and_closes_alone(
        "provider",
        "Биллинг провайдера",
        "/api/admin/v1/transactions",
    )
    .await;
}

#[tokio::test]
async fn processing_window_shows_its_portal_signed_in_and_closes_alone() {
    window_shows_the_portal_signed_in_and_closes_alone(
        "processing",
        "Процессинговый центр",
        "/api/admin/v1/payments",
    )
    .await;
}

#[tokio::test]
async fn agent_window_shows_its_portal_signed_in_and_closes_alone() {
    window_shows_the_portal_signed_in_and_closes_alone(
        "agent",
        "Платёжный терминал",
        "/api/admin/v1/payments",
    )
    .await;
}

/// `role`'s portal with `--window`: the window (titled `title`, the role's home page)
/// shows the page signed in; after it closes, `/healthz` and `api` (an operator's GET)
/// still answer.
async fn window_shows_the_portal_signed_in_and_closes_alone(role: &str, title: &str, api: &str) {
    let display = Display::start();
    let data = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut portal = start_portal(role, addr, &display, data.path());
    let client = crate::helpers::plain_client();
    let base = format!("http://{addr}");

    let portal_pid = portal.pid();
    let shell = wait_for(&mut portal, "kiosk-shell below paymesh", || {
        proc_tree::descendants(portal_pid)
            .into_iter()
            .find(|p| p.comm == "kiosk-shell")
    });
    // The operator's password reaches kiosk-shell in its environment, which only its own
    // user can read — not on its command line, which `ps` shows to everyone.
    let argv = std::fs::read(format!("/proc/{}/cmdline", shell.pid)).unwrap_or_default();
    let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
    assert!(argv.contains("--window-only"), "{argv}");
    assert!(
        !argv.contains(PASSWORD),
        "the password is on kiosk-shell's command line: {argv}"
    );

    // The window is the role's portal: the page sets the title, and only a signed-in
    // page has it (a 401 answer has no such title).
    let shown = wait_until(DEADLINE, || {
        window_titles(&display).iter().any(|t| t == title)
    });
    assert!(
        shown,
        "no window titled {title:?}; windows: {:?}",
        window_titles(&display)
    );
    let shot = screenshot_until(&display, &format!("window-{role}"), shows_a_portal_page);
    eprintln!("{role}: the window's screenshot is {}", shot.png.display());

    // Close the window: kiosk-shell ends, as when its window is closed.
    // SAFETY: kill(2) on a process this test started (through paymesh).
    unsafe {
        libc::kill(shell.pid as libc::pid_t, libc::SIGTERM);
    }
    let closed = wait_until(Duration::from_secs(10), || proc_tree::is_gone(shell.pid));
    assert!(closed, "kiosk-shell {} did not end", shell.pid);
    screenshot_until(&display, &format!("window-{role}-closed"), |s| {
        s.share_in((0, 0), WINDOW, ROOT) > 0.99
    });
    // … and nothing else: the portal still runs and serves its API.
    assert!(
        portal.exited().is_none(),
        "paymesh {role} ended with its window"
    );
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let answer = client
        .get(format!("{base}{api}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{api} after the window closed");
}

/// `paymesh ROLE --window` on `addr` with its data in `dir`, on `display`; the operator's
/// password from the environment, as an operator would give it.
fn start_portal(role: &str, addr: SocketAddr, display: &Display, dir: &Path) -> Group {
    let log = std::fs::File::create(dir.join("paymesh.log")).unwrap();
    Group::spawn(
        "paymesh --window",
        Command::new(env!("CARGO_BIN_EXE_paymesh"))
            .args([
                role,
                "--window",
                "--listen",
                &addr.to_string(),
                "--data-dir",
            ])
            .arg(dir.join("data"))
            .env("DISPLAY", display.name())
            .env_remove("WAYLAND_DISPLAY")
            .env("PAYMESH_ADMIN_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log),
    )
}

/// What a signed-in portal page looks like in an ordinary window at the top left: the
/// dark top bar across it, the white sidebar on the left, the page's pale background on
/// the right beyond the content, and the bare root window outside it. A 401 answer, an
/// error page, a login prompt or an empty window has none of the first three.
fn shows_a_portal_page(shot: &Screenshot) -> bool {
    let (w, h) = WINDOW;
    shot.share_in((0, 4), (w, 40), TOP_BAR) > 0.6
        && shot.share_in((4, 560), (190, h), SIDEBAR) > 0.95
        && shot.share_in((w - 60, 120), (w - 4, h), BACKGROUND) > 0.95
        && shot.share_in((w + 8, h + 8), SCREEN, ROOT) > 0.99
}

/// Screenshots until `good` accepts one (rendering trails the requests a little).
fn screenshot_until(
    display: &Display,
    name: &str,
    good: impl Fn(&Screenshot) -> bool,
) -> Screenshot {
    let mut last = None;
    let ok = wait_until(DEADLINE, || {
        let shot = display.screenshot(name);
        let ok = good(&shot);
        last = Some(shot);
        ok
    });
    let shot = last.expect("at least one screenshot");
    assert!(
        ok,
        "the screen never looked right: {:.1} % top bar colour at the top; see {}",
        shot.share_in((0, 4), (WINDOW.0, 40), TOP_BAR) * 100.0,
        shot.png.display()
    );
    shot
}

/// The names of the display's top-level windows (`xwininfo -root -children`).
fn window_titles(display: &Display) -> Vec<String> {
    let out = Command::new("xwininfo")
        .args(["-display", &display.name(), "-root", "-children"])
        .output()
        .expect("cannot run xwininfo (x11-utils; scripts/install-deps.sh --test)");
    // Lines like `     0x200003 "Кабинет абонента": ("kiosk-shell" "Kiosk-shell")  …`.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(" \"")?
                .1
                .split_once("\":")
                .map(|(t, _)| t.to_owned())
        })
        .collect()
}

/// Polls `find` until it gives a value, failing if `portal` exits or the deadline passes.
fn wait_for<T>(portal: &mut Group, what: &str, mut find: impl FnMut() -> Option<T>) -> T {
    let mut found = None;
    let ok = wait_until(DEADLINE, || {
        if let Some(status) = portal.exited() {
            panic!("paymesh exited ({status}) while waiting for {what}");
        }
        found = find();
        found.is_some()
    });
    assert!(ok, "never saw {what}");
    found.expect("found")
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}
