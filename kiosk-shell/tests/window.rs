//! The window under a virtual X server: the real `kiosk-shell` binary opens a page from a
//! test server that demands Basic auth, and a screenshot of the whole screen is checked
//! pixel by pixel.
//!
//! Needs `Xvfb` and ImageMagick (`import`, `convert`): `scripts/install-deps.sh --test`.
//! Every child (Xvfb, kiosk-shell and what it starts) runs in its own process group and
//! is killed with it when its guard drops, on every path out of a test (`support/xvfb.rs`,
//! shared with the workspace's window tests).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Generous: WebKit or Chromium starting on a loaded 2-core CI machine.
const DEADLINE: Duration = Duration::from_secs(120);
/// The page's background, an unusual colour nothing else on the screen has.
const PAGE_RGB: [u8; 3] = [18, 140, 126];
/// The background of the shell's own notice ("out of service, retrying").
const NOTICE_RGB: [u8; 3] = [238, 242, 250];
const LOGIN: &str = "kiosk";
const PASSWORD: &str = "s3cret pw";

#[path = "support/proc_tree.rs"]
mod proc_tree;
#[path = "support/xvfb.rs"]
mod xvfb;

use xvfb::{Display, Group, SCREEN, Screenshot, wait_until};

/// The page's colour, as the checks below ask about it.
trait PageColour {
    fn is_page(&self, x: u32, y: u32) -> bool;
    /// Share of the screen in the page's colour.
    fn page_share(&self) -> f64;
}

impl PageColour for Screenshot {
    fn is_page(&self, x: u32, y: u32) -> bool {
        self.pixel(x, y) == PAGE_RGB
    }

    fn page_share(&self) -> f64 {
        self.share(PAGE_RGB)
    }
}

/// One request as the test server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    authorized: bool,
}

/// An HTTP server on 127.0.0.x that answers only with the right Basic credentials
/// (else 401 and a challenge) and records every request.
struct Portal {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
}

impl Portal {
    fn start(ip: &str, pages: HashMap<&'static str, String>) -> Portal {
        Portal::start_at(&format!("{ip}:0"), pages)
    }

    fn start_at(addr: &str, pages: HashMap<&'static str, String>) -> Portal {
        let listener = TcpListener::bind(addr).expect("bind the test portal");
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pages = Arc::new(pages);
        let expected = format!("Basic {}", base64(&format!("{LOGIN}:{PASSWORD}")));
        {
            let (hits, stop) = (hits.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (hits, pages, expected) = (hits.clone(), pages.clone(), expected.clone());
                    thread::spawn(move || answer(stream, &hits, &pages, &expected));
                }
            });
        }
        Portal { addr, hits, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn saw(&self, path: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.authorized && h.path.split('?').next() == Some(path))
            .count()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn answer(
    mut stream: TcpStream,
    hits: &Mutex<Vec<Hit>>,
    pages: &HashMap<&str, String>,
    expected: &str,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    let authorized = head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(n, v)| n.eq_ignore_ascii_case("authorization") && v.trim() == expected)
    });
    hits.lock().unwrap().push(Hit {
        path: path.clone(),
        authorized,
    });
    let bare = path.split('?').next().unwrap_or("");
    let first_hang = bare == "/hang"
        && hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.authorized && h.path == "/hang")
            .count()
            == 1;
    let (status, body) = match pages.get(bare) {
        _ if !authorized => ("401 Unauthorized", "login required".to_owned()),
        // The page that hangs its renderer does so on its first load only.
        _ if bare == "/hang" => ("200 OK", if first_hang { "yes" } else { "no" }.to_owned()),
        Some(body) => ("200 OK", body.clone()),
        None => ("404 Not Found", "no such page".to_owned()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         WWW-Authenticate: Basic realm=\"paymesh-agent\"\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A full-screen page in [`PAGE_RGB`] that proves its script runs with credentials
/// (`/after-load` is fetched relative to the page, as Leptos fetches its server functions)
/// and then runs `then` (more script).
fn page(title: &str, then: &str) -> String {
    let [r, g, b] = PAGE_RGB;
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;overflow:hidden;background:rgb({r},{g},{b});color:#fff;font:40px sans-serif}}
p{{margin:0;padding:40px}}</style></head>
<body><p>paymesh kiosk window test</p><script>
fetch('/after-load').then(r => r.text()).then(t => {{
  document.body.insertAdjacentHTML('beforeend', '<p>fetch with credentials: ' + t + '</p>');
  {then}
}});
</script></body></html>"#
    )
}

fn pages(first: String) -> HashMap<&'static str, String> {
    HashMap::from([
        ("/page", first),
        ("/after-load", "ok".to_owned()),
        ("/still-here", "ok".to_owned()),
        ("/bridge-open", "ok".to_owned()),
    ])
}

/// Page script: connect to the kiosk bridge named in the page's `bridge` parameter, as
/// the agent's kiosk page does, and say so (`/bridge-open`) once the bridge let it in —
/// which it does only with the token and the page's exact origin.
const BRIDGE_PROBE: &str = r#"const bridge = new URLSearchParams(location.search).get('bridge');
  if (bridge) { const ws = new WebSocket(bridge); ws.onopen = () => fetch('/bridge-open'); }"#;

/// Waits for `cond`, failing the test with what was seen if it never holds; a kiosk-shell
/// that exited early fails at once.
fn expect(shell: &mut Group, portal: &Portal, what: &str, mut cond: impl FnMut() -> bool) {
    let ok = wait_until(DEADLINE, || {
        if let Some(status) = shell.exited() {
            panic!("kiosk-shell exited ({status}) while waiting for {what}");
        }
        cond()
    });
    assert!(ok, "never saw {what}; the portal saw {:?}", portal.hits());
}

/// Screenshots until `good` accepts one (rendering trails the requests a little); a
/// kiosk-shell that exited meanwhile fails the test at once, with its status, instead of
/// after the whole deadline.
fn screenshot_until(
    display: &Display,
    shell: &mut Group,
    name: &str,
    good: impl Fn(&Screenshot) -> bool,
) -> Screenshot {
    let mut last = None;
    let ok = wait_until(DEADLINE, || {
        if let Some(status) = shell.exited() {
            panic!("kiosk-shell exited ({status}) before the screen showed {name}");
        }
        let shot = display.screenshot(name);
        let ok = good(&shot);
        last = Some(shot);
        ok
    });
    let shot = last.expect("at least one screenshot");
    eprintln!("screenshot: {}", shot.png.display());
    assert!(
        ok,
        "the screen never looked right: {:.1} % page colour; see {}",
        shot.page_share() * 100.0,
        shot.png.display()
    );
    shot
}

fn kiosk_shell(display: &Display) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk-shell"));
    c.env("DISPLAY", display.name())
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("KIOSK_PORTAL_LOGIN")
        .env_remove("KIOSK_PORTAL_PASSWORD")
        .env("KIOSK_LOG", "info,kiosk_shell::window=debug");
    c
}

/// The kiosk: the shell with its simulated validator, the window on `url`.
fn kiosk(display: &Display, url: &str, journal: &Path, extra: &[&str]) -> Group {
    Group::spawn(
        "kiosk-shell",
        kiosk_shell(display)
            .args([
                "--portal",
                url,
                "--portal-login",
                LOGIN,
                "--portal-password",
                PASSWORD,
            ])
            .args(["--simulator", "--bridge-listen", "127.0.0.1:0", "--journal"])
            .arg(journal)
            .args(extra),
    )
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn window_only_opens_an_ordinary_window_with_the_credentials() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Ordinary", "")));
    // Credentials through the environment, as `paymesh <role> --window` passes them.
    let mut shell = Group::spawn(
        "kiosk-shell",
        kiosk_shell(&display)
            .args(["--portal", &portal.url("/page"), "--window-only"])
            .env("KIOSK_PORTAL_LOGIN", LOGIN)
            .env("KIOSK_PORTAL_PASSWORD", PASSWORD),
    );
    expect(
        &mut shell,
        &portal,
        "the page and its fetch() with credentials",
        || portal.saw("/page") >= 1 && portal.saw("/after-load") >= 1,
    );
    // An ordinary window: 1280×800 at the top left, the rest of the screen bare.
    screenshot_until(&display, &mut shell, "window-only", |s| {
        s.is_page(5, 5) && s.is_page(1270, 790) && !s.is_page(1400, 900) && !s.is_page(5, 990)
    });
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn kiosk_window_covers_the_screen_and_stays_on_the_portal() {
    let display = Display::start();
    let elsewhere = Portal::start("127.0.0.2", pages("elsewhere".into()));
    // Every way off the portal the page has: navigating, opening a window, following a
    // target=_blank link. Then, half a second on, a sign of life from the same page.
    let escape = format!(
        r#"location.href = '{away}';
  window.open('{popup}');
  const a = document.createElement('a'); a.href = '{link}'; a.target = '_blank';
  document.body.appendChild(a); a.click();
  setTimeout(() => fetch('/still-here'), 500);"#,
        away = elsewhere.url("/page"),
        popup = elsewhere.url("/popup"),
        link = elsewhere.url("/link"),
    );
    let portal = Portal::start("127.0.0.1", pages(page("Kiosk", &escape)));
    let journal = tempfile::tempdir().unwrap();
    let mut shell = kiosk(&display, &portal.url("/page"), journal.path(), &[]);
    expect(
        &mut shell,
        &portal,
        "the page still there after its escapes",
        || portal.saw("/still-here") >= 1,
    );
    assert!(
        elsewhere.hits().is_empty(),
        "the kiosk left the portal: {:?}",
        elsewhere.hits()
    );
    // The kiosk page's colour from corner to corner (the text is the only other colour).
    let (w, h) = SCREEN;
    screenshot_until(&display, &mut shell, "kiosk-window", |s| {
        [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
            .iter()
            .all(|&(x, y)| s.is_page(x, y))
            && s.page_share() > 0.95
    });
    assert!(elsewhere.hits().is_empty(), "{:?}", elsewhere.hits());
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn kiosk_window_reloads_after_its_renderer_crashes() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Crash", BRIDGE_PROBE)));
    let journal = tempfile::tempdir().unwrap();
    let mut shell = kiosk(&display, &portal.url("/page"), journal.path(), &[]);
    // The page opened by the shell reaches the bridge (its token, the portal's origin).
    expect(&mut shell, &portal, "the first load and the bridge", || {
        portal.saw("/after-load") >= 1 && portal.saw("/bridge-open") >= 1
    });
    crash_and_expect_a_reload(
        &display,
        &mut shell,
        &portal,
        &web_processes,
        "kiosk-after-crash",
    );
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn kiosk_window_waits_for_a_portal_that_is_not_up_yet() {
    let display = Display::start();
    // A port nobody listens on, for now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let journal = tempfile::tempdir().unwrap();
    let mut shell = kiosk(
        &display,
        &format!("http://{addr}/page"),
        journal.path(),
        &[],
    );
    // The shell's notice covers the screen meanwhile, not WebKit's error page.
    notice_until_the_portal_answers(&display, &mut shell, addr, "kiosk-portal");
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn kiosk_window_with_a_refused_password_says_so() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Refused", "")));
    let journal = tempfile::tempdir().unwrap();
    let mut shell = Group::spawn(
        "kiosk-shell",
        kiosk_shell(&display)
            .args(["--portal", &portal.url("/page"), "--portal-login", LOGIN])
            .args(["--portal-password", "wrong", "--simulator"])
            .args(["--bridge-listen", "127.0.0.1:0", "--journal"])
            .arg(journal.path()),
    );
    // Asked, answered with the (wrong) credentials, refused — and no login dialog on the
    // kiosk: the notice instead.
    expect(&mut shell, &portal, "two attempts at the page", || {
        portal
            .hits()
            .iter()
            .filter(|h| h.path.starts_with("/page"))
            .count()
            >= 2
    });
    screenshot_until(&display, &mut shell, "kiosk-refused", |s| {
        s.share(NOTICE_RGB) > 0.9
    });
    assert_eq!(portal.saw("/page"), 0);
}

#[test]
fn chromium_window_gets_the_credentials_without_a_prompt() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Chromium", BRIDGE_PROBE)));
    let journal = tempfile::tempdir().unwrap();
    let mut shell = kiosk(
        &display,
        &portal.url("/page"),
        journal.path(),
        &["--chromium"],
    );
    // Through the shell's credential proxy: the page and its relative fetch() (which a
    // URL with user:password@ in it would break) both arrive authenticated. The page's
    // origin is the proxy's, and the bridge lets exactly that origin in.
    expect(
        &mut shell,
        &portal,
        "the page, its fetch() and the bridge through Chromium",
        || {
            portal.saw("/page") >= 1
                && portal.saw("/after-load") >= 1
                && portal.saw("/bridge-open") >= 1
        },
    );
    // Chromium leaves a pixel's edge at the right and bottom without a window manager.
    screenshot_until(&display, &mut shell, "chromium-kiosk", |s| {
        s.is_page(0, 0) && s.is_page(SCREEN.0 - 3, SCREEN.1 - 3) && s.page_share() > 0.95
    });
}

/// WebKit's web (renderer) processes below `ancestor` (with a bubblewrap sandbox they are
/// its grandchildren).
fn web_processes(ancestor: u32) -> Vec<u32> {
    proc_tree::descendants(ancestor)
        .into_iter()
        .filter(|p| p.comm.starts_with("WebKitWebProces"))
        .map(|p| p.pid)
        .collect()
}

/// Chromium's renderer processes below `ancestor`.
fn chromium_renderers(ancestor: u32) -> Vec<u32> {
    proc_tree::descendants(ancestor)
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{}/cmdline", p.pid))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
        })
        .map(|p| p.pid)
        .collect()
}

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA (`ca.pem`) and a server certificate it signed for 127.0.0.1
/// (`cert.pem`, `key.pem`), made with the openssl command line.
fn private_ca(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=kiosk test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut request = vec!["req"];
    request.extend(ec);
    request.extend([
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &request);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "30",
            "-extfile",
            "server.ext",
        ],
    );
}

#[test]
#[cfg_attr(
    not(feature = "webview"),
    ignore = "the built-in window is the `webview` feature"
)]
fn window_trusts_a_portal_certificate_from_the_ca_file() {
    let display = Display::start();
    let dir = tempfile::tempdir().unwrap();
    private_ca(dir.path());
    let [r, g, b] = PAGE_RGB;
    std::fs::write(
        dir.path().join("page.html"),
        format!(
            "<!doctype html><html><head><title>TLS</title><style>html,body{{margin:0;height:100%;background:rgb({r},{g},{b})}}</style></head><body></body></html>"
        ),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // An HTTPS portal whose certificate only the private CA vouches for.
    let _server = Group::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", "cert.pem", "-key", "key.pem"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let url = format!("https://127.0.0.1:{port}/page.html");
    let mut shell = Group::spawn(
        "kiosk-shell",
        kiosk_shell(&display)
            .args(["--portal", &url, "--window-only", "--ca-file"])
            .arg(dir.path().join("ca.pem")),
    );
    screenshot_until(&display, &mut shell, "tls-ca-file", |s| {
        s.is_page(5, 5) && s.is_page(1270, 790)
    });
}

/// `xdotool` on the test's display: keys and clicks as a customer's hands make them.
fn xdotool(display: &Display, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display.name())
        .status()
        .expect("cannot run xdotool (scripts/install-deps.sh --test)");
    assert!(status.success(), "xdotool {args:?}: {status}");
}

/// The Chromium kiosk with a one-second hang limit, `HOME` in `home` (where a download
/// would land).
fn chromium_kiosk(display: &Display, url: &str, journal: &Path, home: &Path) -> Group {
    Group::spawn(
        "kiosk-shell --chromium",
        kiosk_shell(display)
            .env("HOME", home)
            .args([
                "--portal",
                url,
                "--portal-login",
                LOGIN,
                "--portal-password",
                PASSWORD,
            ])
            .args(["--simulator", "--bridge-listen", "127.0.0.1:0", "--journal"])
            .arg(journal)
            .args(["--chromium", "--renderer-hang-s", "3"]),
    )
}

/// Everything a customer's fingers or a page's script could use to leave the kiosk page
/// or open the browser's own tools, tried on a Chromium kiosk: it stays on its page.
#[test]
fn chromium_kiosk_stays_on_the_portal_with_the_browsers_tools_off() {
    let display = Display::start();
    let elsewhere = Portal::start("127.0.0.2", pages("elsewhere".into()));
    // The page reports what reached it (and whether the shell had cancelled it already),
    // then tries every way off the portal, and downloads a file.
    let escape = format!(
        r#"const report = what => fetch('/report?' + what);
  addEventListener('keydown', e => report('key=' + encodeURIComponent(e.key) + '&prevented=' + e.defaultPrevented));
  addEventListener('contextmenu', e => report('contextmenu&prevented=' + e.defaultPrevented));
  addEventListener('wheel', e => {{ if (e.ctrlKey) report('ctrlwheel&prevented=' + e.defaultPrevented); }});
  // A tap is a user's gesture: the popup blocker lets this window open, the kiosk must not.
  addEventListener('click', e => {{ if (e.isTrusted) {{ report('click'); window.open('{tapped}'); }} }});
  const download = document.createElement('a'); download.href = '/after-load'; download.download = 'receipt.txt';
  document.body.appendChild(download); download.click();
  location.href = '{away}';
  window.open('{popup}');
  const a = document.createElement('a'); a.href = '{link}'; a.target = '_blank';
  document.body.appendChild(a); a.click();
  setTimeout(() => fetch('/still-here'), 1500);"#,
        away = elsewhere.url("/page"),
        popup = elsewhere.url("/popup"),
        link = elsewhere.url("/link"),
        tapped = elsewhere.url("/tapped"),
    );
    let mut pages = pages(page("Chromium lock", &escape));
    pages.insert("/report", "ok".to_owned());
    let portal = Portal::start("127.0.0.1", pages);
    let journal = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut shell = chromium_kiosk(&display, &portal.url("/page"), journal.path(), home.path());
    expect(
        &mut shell,
        &portal,
        "the page still there after its escapes",
        || portal.saw("/still-here") >= 1,
    );
    // A customer's hands: the context menu, DevTools' keys, zoom by keys and by wheel.
    xdotool(&display, &["mousemove", "800", "500"]);
    xdotool(&display, &["click", "3"]);
    xdotool(&display, &["key", "F12"]);
    xdotool(&display, &["key", "ctrl+shift+i"]);
    xdotool(&display, &["key", "ctrl+plus"]);
    xdotool(
        &display,
        &["keydown", "ctrl", "click", "4", "keyup", "ctrl"],
    );
    // A new window by a tap on the page and by Ctrl+N.
    xdotool(&display, &["click", "1"]);
    xdotool(&display, &["key", "ctrl+n"]);
    let reports = |what: &str| {
        portal
            .hits()
            .iter()
            .filter(|h| h.path.starts_with(&format!("/report?{what}")))
            .map(|h| h.path.clone())
            .collect::<Vec<_>>()
    };
    expect(
        &mut shell,
        &portal,
        "the page told of every key and click",
        || {
            [
                "click",
                "contextmenu",
                "key=F12",
                "key=I",
                "key=%2B",
                "ctrlwheel",
            ]
            .iter()
            .all(|what| !reports(what).is_empty())
        },
    );
    for what in ["contextmenu", "key=F12", "key=I", "key=%2B", "ctrlwheel"] {
        for seen in reports(what) {
            assert!(
                seen.ends_with("prevented=true"),
                "{seen}: the kiosk let it through"
            );
        }
    }
    // Nothing on the screen but the page: no menu, no DevTools, no second window.
    let (w, h) = SCREEN;
    screenshot_until(&display, &mut shell, "chromium-lock", |s| {
        s.is_page(0, 0) && s.is_page(w - 3, h - 3) && s.page_share() > 0.97
    });
    assert!(
        elsewhere.hits().is_empty(),
        "the kiosk left the portal: {:?}",
        elsewhere.hits()
    );
    assert_eq!(
        portal.saw("/page"),
        1,
        "the page was loaded again: {:?}",
        portal.hits()
    );
    let downloads: Vec<_> = walk(home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("receipt"))
        .collect();
    assert!(downloads.is_empty(), "a download was saved: {downloads:?}");
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn chromium_kiosk_reloads_after_its_renderer_crashes() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Crash", BRIDGE_PROBE)));
    let journal = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut shell = chromium_kiosk(&display, &portal.url("/page"), journal.path(), home.path());
    expect(&mut shell, &portal, "the first load and the bridge", || {
        portal.saw("/after-load") >= 1 && portal.saw("/bridge-open") >= 1
    });
    crash_and_expect_a_reload(
        &display,
        &mut shell,
        &portal,
        &chromium_renderers,
        "chromium-after-crash",
    );
}

/// Kills the window's renderer processes (`renderers` finds them below kiosk-shell) and
/// waits for the reload: the page asked for again with credentials, its script run, the
/// bridge reached, and the page drawn again.
fn crash_and_expect_a_reload(
    display: &Display,
    shell: &mut Group,
    portal: &Portal,
    renderers: &dyn Fn(u32) -> Vec<u32>,
    screenshot: &str,
) {
    let pids = renderers(shell.pid());
    assert!(!pids.is_empty(), "no renderer process under kiosk-shell");
    for pid in &pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    expect(shell, portal, "a reload after the crash", || {
        portal.saw("/page") >= 2
            && portal.saw("/after-load") >= 2
            && portal.saw("/bridge-open") >= 2
    });
    screenshot_until(display, shell, screenshot, |s| s.page_share() > 0.95);
}

#[test]
fn chromium_kiosk_reloads_a_renderer_that_hangs() {
    let display = Display::start();
    // The first load's script loops for ever; a reload's goes on to say it is alive.
    let hang = r#"fetch('/hang').then(r => r.text()).then(t => {
    if (t === 'yes') { while (true) {} }
    fetch('/alive');
  });"#;
    let mut pages = pages(page("Hang", hang));
    pages.insert("/alive", "ok".to_owned());
    let portal = Portal::start("127.0.0.1", pages);
    let journal = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut shell = chromium_kiosk(&display, &portal.url("/page"), journal.path(), home.path());
    expect(
        &mut shell,
        &portal,
        "the hang, then a reload that lives",
        || portal.saw("/hang") >= 2 && portal.saw("/alive") >= 1,
    );
    assert!(portal.saw("/page") >= 2, "{:?}", portal.hits());
    screenshot_until(&display, &mut shell, "chromium-after-hang", |s| {
        s.page_share() > 0.95
    });
}

#[test]
fn chromium_kiosk_shows_out_of_service_while_the_portal_is_gone() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Before", "")));
    let addr = portal.addr;
    let journal = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut shell = chromium_kiosk(&display, &portal.url("/page"), journal.path(), home.path());
    expect(&mut shell, &portal, "the page", || {
        portal.saw("/after-load") >= 1
    });
    screenshot_until(&display, &mut shell, "chromium-before-outage", |s| {
        s.page_share() > 0.95
    });
    drop(portal);
    // The shell's notice, not Chromium's error page nor the proxy's 502.
    notice_until_the_portal_answers(&display, &mut shell, addr, "chromium-outage");
}

/// With nothing answering at `addr`: the shell's notice covers the screen and the shell
/// stays up; then a portal starts there and its page comes back by itself.
fn notice_until_the_portal_answers(
    display: &Display,
    shell: &mut Group,
    addr: SocketAddr,
    screenshots: &str,
) {
    screenshot_until(display, shell, &format!("{screenshots}-down"), |s| {
        s.share(NOTICE_RGB) > 0.9
    });
    assert!(shell.exited().is_none(), "kiosk-shell gave up");
    let portal = Portal::start_at(&addr.to_string(), pages(page("Back", "")));
    expect(shell, &portal, "the page once the portal answers", || {
        portal.saw("/after-load") >= 1
    });
    screenshot_until(display, shell, &format!("{screenshots}-up"), |s| {
        s.page_share() > 0.95
    });
}

#[test]
fn chromium_kiosk_with_a_refused_password_says_so() {
    let display = Display::start();
    let portal = Portal::start("127.0.0.1", pages(page("Refused", "")));
    let journal = tempfile::tempdir().unwrap();
    let mut shell = Group::spawn(
        "kiosk-shell --chromium",
        kiosk_shell(&display)
            .args(["--portal", &portal.url("/page"), "--portal-login", LOGIN])
            .args(["--portal-password", "wrong", "--simulator"])
            .args(["--bridge-listen", "127.0.0.1:0", "--journal"])
            .arg(journal.path())
            .arg("--chromium"),
    );
    expect(&mut shell, &portal, "the page asked for", || {
        portal.hits().iter().any(|h| h.path.starts_with("/page"))
    });
    // The shell's notice, not Chromium's login dialog over a 401 page.
    screenshot_until(&display, &mut shell, "chromium-refused", |s| {
        s.share(NOTICE_RGB) > 0.9
    });
    assert_eq!(portal.saw("/page"), 0);
}
