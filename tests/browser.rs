//! Headless Chromium, driven over WebDriver (chromedriver), on a served portal: proves the
//! page hydrates and its interactive component reacts to a click.
//!
//! The WebDriver calls are a handful of JSON requests, made here with reqwest rather than
//! a WebDriver crate (whose default features download a driver at build time).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp};
use crate::xvfb::Group;

// The kiosk's screens as a customer meets them (Back/Cancel, the +7 mask, the limit, the
// attract screen); a child module, so it drives the same `Browser`.
mod kiosk_screens;
// A second operator with the viewer role refused an action in the page.
mod staff_roles;
// Processing edits a provider's endpoint and credentials behind a confirmation.
mod provider_access;
// Processing's payment detail from the list; a viewer refused "retry now".
mod payment_detail;
// The agent's cash pages page on and back.
mod cash_pages;
// A dashboard's threshold typed in Russian by an administrator.
mod thresholds;
// The agent's payments list opens one payment's page.
mod agent_payment_page;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it; both end on drop, and with the
/// test's process if that dies without dropping (a timeout's SIGKILL, an abort).
struct Browser {
    // Declared before the driver: dropped first, so the watchdog's kill lands while the
    // group is still there and the driver's own drop then only reaps.
    _watchdog: Watchdog,
    driver: Group,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run scripts/install-deps.sh (apt: chromium chromium-driver)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group: chromedriver's Chromium (the browser, its zygotes and
        // renderers) is in it too, and the group is what drop ends. A `Group` from the
        // moment it exists: a panic below (no session, a slow start) still ends it.
        let driver = Group::spawn(
            "chromedriver",
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let watchdog = Watchdog::over(&driver);
        let base = format!("http://127.0.0.1:{port}");
        let http = crate::helpers::plain_client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Browser {
            _watchdog: watchdog,
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let request = self.http.request(method.clone(), url);
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    /// The element for a CSS selector, if it is on the page.
    async fn find(&self, css: &str) -> Option<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT].as_str().map(str::to_owned)
    }

    async fn text(&self, css: &str) -> Option<String> {
        let element = self.find(css).await?;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    /// What an input holds now (its `value` property, not the attribute it was served with).
    async fn input_value(&self, css: &str) -> Option<String> {
        let element = self.find(css).await?;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/property/value"),
            Value::Null,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self
            .find(css)
            .await
            .unwrap_or_else(|| panic!("no {css} on the page"));
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Opens a portal as its operator. Credentials in the URL stand in for the browser's
    /// login prompt. Chromium refuses to fetch subresources relative to a URL that carries
    /// credentials (the wasm bundle would not load), so the portal is then opened again
    /// by its plain URL, as a person would after the prompt: the browser now sends the
    /// cached credentials by itself.
    async fn open_as_admin(&self, app: &TestApp, path: &str) {
        self.open_as(app, "admin", ADMIN_PASSWORD, path).await;
    }

    async fn open_as(&self, app: &TestApp, login: &str, password: &str, path: &str) {
        self.goto(&format!("http://{login}:{password}@{}{path}", app.addr))
            .await;
        self.goto(&format!("http://{}{path}", app.addr)).await;
    }

    /// Waits until `css` is on the page.
    async fn wait_for(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.find(css).await.is_none() {
            assert!(Instant::now() < deadline, "{css} never appeared");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Polls until `css` has `text`, doing `poke` before each look (a click that only a
    /// hydrated page answers, say).
    async fn wait_for_text<F: std::future::Future<Output = ()>>(
        &self,
        css: &str,
        text: &str,
        poke: impl Fn() -> F,
    ) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            poke().await;
            if self.text(css).await.as_deref() == Some(text) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    /// Sizes the window as a kiosk's screen.
    async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Saves a PNG of the page into `$PAYMESH_SCREENSHOTS/name` when that is set (how
    /// docs/img's kiosk screens are made: `PAYMESH_SCREENSHOTS=docs/img`); else nothing.
    async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let Some(dir) = std::env::var_os("PAYMESH_SCREENSHOTS") else {
            return;
        };
        let png = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a screenshot"))
            .unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }

    /// Whether the `<details>` of `ui::confirm::ConfirmButton` `#id` is open.
    async fn confirm_open(&self, id: &str) -> bool {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": "const d = document.getElementById(arguments[0]); return !!(d && d.open);", "args": [id]}),
        )
        .await
            == Value::Bool(true)
    }

    /// Asks and confirms through `ConfirmButton` `#id`: opens its panel (a click on a
    /// closed one only) and clicks "yes".
    async fn ask_and_confirm(&self, id: &str) {
        if !self.confirm_open(id).await {
            self.click(&format!("#{id}-ask")).await;
        }
        self.click(&format!("#{id}-yes")).await;
    }

    async fn click(&self, css: &str) {
        if let Some(element) = self.find(css).await {
            self.call(
                reqwest::Method::POST,
                &format!("/element/{element}/click"),
                json!({}),
            )
            .await;
        }
    }
}

/// Kills a process group when this test process ends, however it ends. Drop runs on a
/// pass and on a panic, but not when nextest kills a test that ran out of time, nor on an
/// abort; the browser group, in a group of its own, would then outlive the test (the
/// leak of #19: 8 browsers and 72 processes after one run). The watchdog is a shell in a
/// third group (nextest's signal to the test's group does not reach it) that blocks
/// reading a pipe only this process writes to: when the process goes, by any path, the
/// kernel closes the pipe and the shell kills the group.
struct Watchdog {
    shell: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    fn over(group: &Group) -> Watchdog {
        let mut shell = Command::new("sh")
            .args([
                "-c",
                r#"trap '' HUP INT TERM; read -r _; kill -9 "-$1" 2>/dev/null"#,
                "watchdog",
            ])
            .arg(group.pid().to_string())
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the watchdog's shell starts");
        let pipe = shell.stdin.take();
        Watchdog { shell, pipe }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Closing the pipe is the signal: the group is killed now, then reaped by its
        // `Group`.
        drop(self.pipe.take());
        let _ = self.shell.wait();
    }
}

/// Each role's dashboard at 1366 px with a known data set (tests/dashboards.rs), saved as
/// `dashboard-<role>.png` when `PAYMESH_SCREENSHOTS` is set (docs/img's are made so).
/// The processing and provider payments are spread back over hours and days first, so
/// the charts show the shape a working day has.
#[tokio::test]
async fn each_dashboard_renders_at_1366_px() {
    let (n, _) = crate::dashboards::payments_network().await;
    crate::dashboards::spread_over_time(&n).await;
    let browser = Browser::start().await;
    browser.resize(1366, 1500).await;
    for (app, name, first) in [
        (&n.processing, "dashboard-processing.png", "#tile-today"),
        (
            &n.provider,
            "dashboard-provider.png",
            "#tile-payments-today",
        ),
    ] {
        browser.open_as_admin(app, "/").await;
        browser.wait_for(first).await;
        browser.wait_for(".bar-chart").await;
        browser.screenshot(name).await;
    }
    let t = crate::dashboards::busy_terminal().await;
    browser.open_as_admin(&t.agent, "/").await;
    browser.wait_for("#tile-outbox").await;
    browser.screenshot("dashboard-agent.png").await;
    t.link.restore();
    let (_provider, consumer, _, _) = crate::dashboards::consumer_with_a_use().await;
    browser.open_as_admin(&consumer, "/").await;
    browser.wait_for("#recent-uses").await;
    browser.screenshot("dashboard-consumer.png").await;
}

#[tokio::test]
async fn processing_portal_hydrates_and_its_fee_calculator_reacts_to_a_click() {
    let bundle = portals::server::ui::site_root().join("pkg/paymesh.wasm");
    assert!(
        bundle.exists(),
        "{} is missing: run scripts/build-ui.sh first",
        bundle.display()
    );
    let app = TestApp::spawn(Role::Processing).await;
    let browser = Browser::start().await;
    // The calculator was the home page before the dashboard; it is /fee now.
    browser.open_as_admin(&app, "/fee").await;

    // Server-rendered: the default rule gives its minimum fee on 100.00.
    assert_eq!(
        browser.text("h1").await.as_deref(),
        Some("Процессинговый центр")
    );
    assert_eq!(
        browser.text("#fee-result").await.as_deref(),
        Some("10,00 ₽")
    );

    // Only the hydrated page reacts: click «1000 ₽» until the fee follows (hydration
    // finishes a moment after the page loads).
    let reacted = browser
        .wait_for_text("#fee-result", "15,00 ₽", || {
            browser.click(".quick-amount:nth-child(3)")
        })
        .await;
    assert!(
        reacted,
        "the fee calculator never reacted: the page did not hydrate"
    );
    assert_eq!(
        browser.text("#fee-total").await.as_deref(),
        Some("1 015,00 ₽")
    );
}

#[tokio::test]
async fn an_operator_signs_a_subscriber_through_the_form_and_sees_the_account() {
    let app = TestApp::spawn(Role::Provider).await;
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/subscribers").await;
    browser.type_into("#full_name", "Сидоров Пётр Ильич").await;
    browser.type_into("#passport", "4511 000111").await;
    browser.type_into("#email", "sidorov@example.ru").await;
    browser.click("#service-internet").await; // untick: calls and SMS only
    browser.click("button[type=submit]").await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let account = loop {
        if let Some(account) = browser.text("#signed-account").await {
            break account;
        }
        assert!(Instant::now() < deadline, "no signed contract appeared");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(account.len() == 10 && account.starts_with('9'), "{account}");
    let password = browser.text("#signed-password").await.unwrap();
    assert_eq!(password.len(), 20);

    // The contract is real: its login works on the usage API and the list shows it.
    let balance = app
        .client
        .get(app.url("/api/usage/v1/balance"))
        .basic_auth(&account, Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), 200);
    let stored: (String, String) =
        sqlx::query_as("SELECT full_name, services FROM subscribers WHERE account = $1")
            .bind(&account)
            .fetch_one(app.pool.as_ref().unwrap())
            .await
            .unwrap();
    assert_eq!(
        stored,
        ("Сидоров Пётр Ильич".to_owned(), "call,sms".to_owned())
    );
    assert!(
        browser
            .wait_for_text("table.grid tbody tr td a", &account, || async {})
            .await,
        "the list shows the new account"
    );
}

/// Amounts are typed and shown the Russian way: `50 000,00` is taken as fifty thousand
/// roubles and shown back as `50 000,00 ₽`; `5 0000` (a guess either way) is refused.
#[tokio::test]
async fn a_tariff_typed_the_russian_way_is_saved_and_shown_the_russian_way() {
    let app = TestApp::spawn(Role::Provider).await;
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/tariffs").await;
    browser.wait_for("#tariff-call").await;
    let retype = |text: &'static str| {
        let browser = &browser;
        async move {
            let input = browser.find("#tariff-call").await.expect("the call tariff");
            browser
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{input}/clear"),
                    json!({}),
                )
                .await;
            browser.type_into("#tariff-call", text).await;
            browser.click("#main form button[type=submit]").await;
        }
    };
    let price = || async {
        let (price,): (i64,) =
            sqlx::query_as("SELECT unit_price FROM tariffs WHERE service = 'call'")
                .fetch_one(app.pool.as_ref().unwrap())
                .await
                .unwrap();
        price
    };

    retype("50 000,00").await;
    assert!(
        browser
            .wait_for_text("#tariff-call + .hint", "50 000,00 ₽", || async {})
            .await,
        "the saved tariff is shown Russian-formatted: {:?}",
        browser.text("#tariff-call + .hint").await
    );
    assert_eq!(price().await, 5_000_000);
    // Opened afresh, the input holds the figure as it is written (a no-break space
    // between the groups) and the label says «за минуту».
    browser.goto(&format!("http://{}/tariffs", app.addr)).await;
    browser.wait_for("#tariff-call").await;
    assert_eq!(
        browser.input_value("#tariff-call").await.as_deref(),
        Some("50\u{a0}000,00")
    );
    assert!(
        browser
            .text("label[for=tariff-call]")
            .await
            .is_some_and(|label| label.ends_with("₽ за минуту")),
        "{:?}",
        browser.text("label[for=tariff-call]").await
    );

    retype("5 0000").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !browser
        .text("#main form .error")
        .await
        .is_some_and(|error| error.contains("копейки после запятой"))
    {
        assert!(Instant::now() < deadline, "no refusal in Russian");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(price().await, 5_000_000, "a refused figure changes nothing");
}

/// The provider's payment-fields page runs `shared::fields` in the browser: a sample is
/// judged (and shown through the mask) as it is typed, a regex that does not compile is
/// named at once, and saving goes through the server's own check.
#[tokio::test]
async fn a_provider_tries_values_against_a_contracts_fields_as_it_types_and_saves_them() {
    let app = TestApp::spawn(Role::Provider).await;
    let fields = json!([
        {"name": "account", "label": "Номер телефона", "regex": "9\\d{9}", "mask": "(9xx) xxx-xx-xx"},
        {"name": "city", "label": "Город", "regex": "Пермь|Казань", "options": ["Пермь", "Казань"]}
    ]);
    let issued = app
        .client
        .post(app.url("/api/admin/v1/processing-contracts"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"processing_name": "Cyberplat", "protocol": "osmp", "fields": fields}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201);
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/processing-contracts/1").await;
    browser.wait_for("#field-0-sample").await;
    let retype = |css: &'static str, text: &'static str| {
        let browser = &browser;
        async move {
            if let Some(element) = browser.find(css).await {
                browser
                    .call(
                        reqwest::Method::POST,
                        &format!("/element/{element}/clear"),
                        json!({}),
                    )
                    .await;
            }
            browser.type_into(css, text).await;
        }
    };
    // Only the hydrated page judges what is typed.
    let judged = browser
        .wait_for_text(
            "#field-0-row output",
            "✓ подходит · на экране: (916) 123-45-67",
            || retype("#field-0-sample", "9161234567"),
        )
        .await;
    assert!(
        judged,
        "the try-a-value box never judged the sample: no hydration"
    );
    retype("#field-0-sample", "8161234567").await;
    assert!(
        browser
            .wait_for_text("#field-0-row output", "✗ не подходит", || async {
            })
            .await
    );
    retype("#field-1-regex", "(Пермь|Казань").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let said = browser
            .text("#field-1-row output")
            .await
            .unwrap_or_default();
        if said.starts_with("the regex does not compile") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a broken regex was not named: {said}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    browser.click("button[type=submit]").await;
    browser.wait_for("#fields-refused").await;
    retype("#field-1-regex", "Пермь|Казань|Самара").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#fields-saved").await;
    let (stored,): (String,) =
        sqlx::query_as("SELECT fields FROM processing_contracts WHERE id = 1")
            .fetch_one(app.pool.as_ref().unwrap())
            .await
            .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored[1]["regex"], "Пермь|Казань|Самара", "{stored}");
    assert_eq!(stored[0]["mask"], "(9xx) xxx-xx-xx");
}

#[tokio::test]
async fn the_sign_form_names_bad_fields_in_russian_and_signs_nothing() {
    let app = TestApp::spawn(Role::Provider).await;
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/subscribers").await;
    // Wait for hydration: the form then answers in place instead of reloading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.type_into("#full_name", "Сидоров").await;
    browser.type_into("#passport", "12").await;
    browser.type_into("#email", "sidorov@example.ru").await;
    browser.click("button[type=submit]").await;
    let shown = browser
        .wait_for_text(
            ".field:nth-child(1) .field-error",
            "Укажите фамилию и имя (и отчество, если есть).",
            || async {},
        )
        .await;
    assert!(shown, "the full name's error is shown");
    assert_eq!(
        browser
            .text(".field:nth-child(2) .field-error")
            .await
            .as_deref(),
        Some("Паспорт: 4 цифры серии и 6 цифр номера, например 4510 123456.")
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM subscribers")
        .fetch_one(app.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// Walks the kiosk from the start screen to the cash screen: the first provider, the
/// subscriber's account on the keypad, "next".
async fn reach_the_cash_screen(browser: &Browser, t: &crate::agent::Terminal, path: &str) {
    browser
        .open_as(&t.agent, "kiosk", crate::helpers::KIOSK_PASSWORD, path)
        .await;
    browser.wait_for(".kiosk-tile").await;
    // The first tap works once the page is hydrated.
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.find("#kiosk-value").await.is_none() {
        browser.click(".kiosk-tile").await;
        assert!(Instant::now() < deadline, "the provider tile never reacted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for digit in t.net.account.chars() {
        let key = if digit == '0' {
            11
        } else {
            digit.to_digit(10).unwrap()
        };
        browser
            .click(&format!(".keypad .key:nth-child({key})"))
            .await;
    }
    // A mobile number shows after +7.
    let shown = crate::kiosk_fields::masked_phone(&t.net.account);
    assert!(
        browser
            .wait_for_text("#kiosk-value", &shown, || async {})
            .await,
        "{:?}",
        browser.text("#kiosk-value").await
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Введено верно")
    );
    browser.click("#kiosk-next").await;
}

/// The page found the bridge (the simulator's buttons show) and kiosk-shell has enabled
/// the validator for the session. A bill inserted before that is returned by the unit, as
/// a real one would be, so a test that clicks earlier races the enable command.
async fn wait_until_the_validator_accepts(browser: &Browser) {
    browser.wait_for("#kiosk-simulator .sim-bill").await;
    assert!(
        browser
            .wait_for_text(
                "#kiosk-validator",
                "Купюроприёмник: вставляйте купюры",
                || async {}
            )
            .await,
        "the validator is enabled for the session: {:?}",
        browser.text("#kiosk-validator").await
    );
}

#[tokio::test]
async fn a_customer_pays_at_the_kiosk_with_simulated_bills_and_gets_a_receipt() {
    let t = crate::agent::Terminal::start_with(1_000_000, true).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = crate::kiosk_shell::KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    reach_the_cash_screen(&browser, &t, &format!("/kiosk?{}", page.query().unwrap())).await;
    wait_until_the_validator_accepts(&browser).await;
    // WebDriver reports no-break spaces as plain spaces.
    browser.click(".sim-bill:nth-child(3)").await; // 500 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500,00 ₽", || async {})
            .await,
        "the total grows with the first bill"
    );
    wait_until_the_validator_accepts(&browser).await;
    browser.click(".sim-bill:nth-child(2)").await; // 100 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "600,00 ₽", || async {})
            .await
    );
    assert_eq!(
        browser.text("#kiosk-amount").await.as_deref(),
        Some("600,00 ₽")
    );
    browser.click("#kiosk-pay").await;
    assert!(
        browser
            .wait_for_text("#receipt-status", "Проведён", || async {})
            .await,
        "the receipt shows a completed payment"
    );
    assert_eq!(
        browser.text("#receipt-amount").await.as_deref(),
        Some("600,00 ₽")
    );
    assert_eq!(
        browser.text("#receipt-amount-label").await.as_deref(),
        Some("Зачислено")
    );
    receipt_is_the_terminals_in_moscow_time(&browser, &t).await;
    assert_eq!(t.net.subscriber_balance().await, 60_000);
    t.net.assert_ledger_verifies().await;
}

/// The receipt names who took the cash (the terminal's settings), carries the operation
/// number a person reads aloud, and its time is Moscow's (the default `--time-zone`),
/// not UTC's.
async fn receipt_is_the_terminals_in_moscow_time(browser: &Browser, t: &crate::agent::Terminal) {
    let issuer = crate::agent::receipt_issuer();
    for (id, value) in [
        ("#receipt-legal-name", issuer.legal_name),
        ("#receipt-inn", issuer.inn),
        ("#receipt-address", issuer.address),
        ("#receipt-terminal-id", issuer.terminal_id),
        ("#receipt-support-phone", issuer.support_phone),
    ] {
        assert_eq!(browser.text(id).await, value, "{id}");
    }
    let (payment, accepted_at): (i64, String) =
        sqlx::query_as("SELECT id, accepted_at FROM payments")
            .fetch_one(t.agent.pool.as_ref().unwrap())
            .await
            .unwrap();
    let operation = portals::agent::server::operation_number::operation_number(payment);
    assert_eq!(
        browser.text("#receipt-operation").await.as_deref(),
        Some(operation.as_str())
    );
    // accepted_at is UTC (`…Z`); the receipt shows it three hours later, day first.
    let moscow = shared::zone::Zone::default().local(&accepted_at).unwrap();
    assert!(moscow.ends_with("+03:00"), "{moscow}");
    let (date, time) = (&moscow[..10], &moscow[11..19]);
    let shown = format!(
        "{}.{}.{} {time} (UTC+3)",
        &date[8..10],
        &date[5..7],
        &date[..4]
    );
    assert_eq!(browser.text("#receipt-time").await, Some(shown));
    assert_ne!(&accepted_at[11..19], time, "the receipt is not in UTC");
}

/// The payee refuses the payment after the cash is in the box (the subscriber's contract
/// was closed between the check and the pay): the receipt says the money was not
/// credited and gives the claim code the operator finds the cash by.
#[tokio::test]
async fn a_payment_refused_after_the_cash_was_taken_prints_a_claim_code_on_the_receipt() {
    let t = crate::agent::Terminal::start_with(1_000_000, true).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = crate::kiosk_shell::KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    reach_the_cash_screen(&browser, &t, &format!("/kiosk?{}", page.query().unwrap())).await;
    wait_until_the_validator_accepts(&browser).await;
    browser.click(".sim-bill:nth-child(3)").await; // 500 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500,00 ₽", || async {})
            .await
    );
    crate::cashbox::close_at_provider(&t, &t.net.account).await;
    browser.click("#kiosk-pay").await;
    assert!(
        browser
            .wait_for_text("#receipt-status", "Отклонён получателем", || async {})
            .await,
        "the receipt shows the refusal: {:?}",
        browser.text("#receipt-status").await
    );
    // A refused payment never prints «Зачислено».
    assert_eq!(
        browser.text("#receipt-amount-label").await.as_deref(),
        Some("Не зачислено")
    );
    let (code,): (String,) = sqlx::query_as("SELECT code FROM cash_claims")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        browser.text("#receipt-claim-code").await.as_deref(),
        Some(code.as_str())
    );
    assert!(
        browser
            .text("#receipt-claim")
            .await
            .is_some_and(|text| text.contains("не зачислен")),
        "{:?}",
        browser.text("#receipt-claim").await
    );
    let (status,): (String,) = sqlx::query_as("SELECT status FROM payments")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(status, "failed");
}

/// A provider with one subscriber («Иванов Иван», call and SMS) paid 100.00 over OSMP,
/// and a consumer holding that contract as «Megafon» (its contract 1); the contract as
/// the provider issued it (`account`, `password`, …).
async fn a_consumer_with_a_paid_contract() -> (TestApp, TestApp, Value) {
    let provider = TestApp::spawn(Role::Provider).await;
    let admin = |path: &str, body: Value| {
        provider
            .client
            .post(provider.url(path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
    };
    let mut issued: Value = admin("/api/admin/v1/subscribers", json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call", "sms"]
    })).await.unwrap().json().await.unwrap();
    let processing: Value = admin(
        "/api/admin/v1/processing-contracts",
        json!({"processing_name": "p", "protocol": "osmp"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let account = issued["account"].as_str().unwrap().to_owned();
    let paid = provider
        .client
        .get(provider.url(&format!(
            "/osmp?command=pay&txn_id=1&account={account}&sum=100.00&txn_date=20261126101500"
        )))
        .basic_auth(
            processing["login"].as_str().unwrap(),
            processing["password"].as_str(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let consumer = TestApp::spawn(Role::Consumer).await;
    issued["provider_name"] = json!("Megafon");
    let added = consumer
        .client
        .post(consumer.url("/api/admin/v1/contracts"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&issued)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    (provider, consumer, issued)
}

#[tokio::test]
async fn the_consumer_uses_a_service_with_a_button_and_sees_the_charge() {
    let (provider, consumer, issued) = a_consumer_with_a_paid_contract().await;
    let account = issued["account"].as_str().unwrap().to_owned();

    let browser = Browser::start().await;
    browser.open_as_admin(&consumer, "/contracts").await;
    browser.wait_for(".use-call").await;
    // Wait for hydration: the button then answers in place.
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.click(".use-call").await;
    let shown = browser
        .wait_for_text(
            ".use-result",
            "Списано: 2,50 ₽ · Остаток: 97,50 ₽",
            || async {},
        )
        .await;
    assert!(
        shown,
        "the charge and the new balance are shown: {:?}",
        browser.text(".use-result").await
    );
    let balance: Value = provider
        .client
        .get(provider.url("/api/usage/v1/balance"))
        .basic_auth(&account, issued["password"].as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(balance["balance"]["amount"], 9_750);
}

#[tokio::test]
async fn a_contract_typed_into_the_form_appears_and_can_be_edited() {
    let consumer = TestApp::spawn(Role::Consumer).await;
    let browser = Browser::start().await;
    browser.open_as_admin(&consumer, "/contracts").await;
    browser.wait_for("#provider_name").await;
    tokio::time::sleep(Duration::from_millis(500)).await; // hydration
    browser.type_into("#provider_name", "Megafon").await;
    browser
        .click("section[aria-labelledby=add-title] details summary")
        .await;
    browser.type_into("#new-account", "9161234567").await;
    browser
        .type_into("#new-usage_url", "http://127.0.0.1:8402/api/usage/v1/usage")
        .await;
    browser.type_into("#new-login", "9161234567").await;
    browser.type_into("#new-password", "secret").await;
    browser
        .click("section[aria-labelledby=add-title] button[type=submit]")
        .await;
    assert!(
        browser
            .wait_for_text(".contract h2", "Megafon · Счёт 9161234567", || async {
            })
            .await,
        "the typed contract is listed"
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(consumer.data_dir().join("contracts.json")).unwrap())
            .unwrap();
    assert_eq!(stored["contracts"][0]["password"], "secret");
    assert_eq!(
        stored["contracts"][0]["services"],
        json!(["call", "internet", "sms"])
    );

    // Edit: a new account; the empty password keeps the old one.
    browser.click(".contract details summary").await;
    browser
        .call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": "document.querySelector('#edit-1-account').value = ''", "args": []}),
        )
        .await;
    browser.type_into("#edit-1-account", "9161234568").await;
    browser.click(".contract details button[type=submit]").await;
    assert!(
        browser
            .wait_for_text(".contract h2", "Megafon · Счёт 9161234568", || async {
            })
            .await,
        "the change is shown"
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(consumer.data_dir().join("contracts.json")).unwrap())
            .unwrap();
    assert_eq!(stored["contracts"][0]["password"], "secret");
}

#[tokio::test]
async fn the_kiosk_takes_a_banknote_from_the_validator_through_kiosk_shell() {
    let t = crate::agent::Terminal::start_with(1_000_000, false).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = crate::kiosk_shell::KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    // The kiosk page as kiosk-shell opens it: the bridge URL, token and all, in `bridge`.
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    let path = format!("/kiosk?{}", page.query().unwrap());
    reach_the_cash_screen(&browser, &t, &path).await;
    wait_until_the_validator_accepts(&browser).await;
    // 500 ₽ into the simulated unit: escrow, STACK, stacked, journaled, reported to the
    // agent by kiosk-shell itself, shown by the page.
    browser
        .click("#kiosk-simulator .sim-bill:nth-child(3)")
        .await;
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500,00 ₽", || async {})
            .await,
        "the stacked bill reaches the session"
    );
    browser.click("#kiosk-pay").await;
    assert!(
        browser
            .wait_for_text("#receipt-status", "Проведён", || async {})
            .await
    );
    assert_eq!(t.net.subscriber_balance().await, 50_000);
    t.net.assert_ledger_verifies().await;
    // kiosk-shell has the agent's answer journaled; the page has seen the bill.
    assert_eq!(shell.journal_lines("delivered.jsonl").len(), 1);
    assert_eq!(shell.journal_lines("acks.jsonl").len(), 1);
}

/// The kopecks in a figure as the page shows it (`1 234,50 ₽` → 123450).
fn kopecks_in(text: &str) -> i64 {
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no figure in {text:?}"))
}

#[tokio::test]
async fn a_customer_pays_a_two_field_provider_through_its_field_screens_to_the_receipt() {
    // 1000 ₽ of deposit: less than the provider's maximum, so the deposit sets the limit.
    let net = crate::kiosk_fields::network_with_fields(crate::kiosk_fields::two_fields()).await;
    let t = crate::agent::Terminal::start_on(net, 100_000, true).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = crate::kiosk_shell::KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    // 1280×800 inside the window, as the kiosk's screen.
    browser.resize(1280, 943).await;
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    browser
        .open_as(
            &t.agent,
            "kiosk",
            crate::helpers::KIOSK_PASSWORD,
            &format!("/kiosk?{}", page.query().unwrap()),
        )
        .await;
    browser.wait_for(".kiosk-tile").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.find("#kiosk-value").await.is_none() {
        browser.click(".kiosk-tile").await;
        assert!(Instant::now() < deadline, "the provider tile never reacted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Field 1 of 2: the phone number on the digit keypad, shown through its mask.
    assert_eq!(
        browser.text("#kiosk-label").await.as_deref(),
        Some("Номер телефона")
    );
    assert_eq!(
        browser.text("#kiosk-hint").await.as_deref(),
        Some("10 цифр, без восьмёрки")
    );
    // A mobile provider's number shows after +7, whatever mask the field has.
    assert_eq!(
        browser.text("#kiosk-value").await.as_deref(),
        Some("+7 (___) ___-__-__")
    );
    let account = t.net.account.clone();
    for digit in account.chars().take(4) {
        let key = if digit == '0' {
            11
        } else {
            digit.to_digit(10).unwrap()
        };
        browser
            .click(&format!(".keypad .key:nth-child({key})"))
            .await;
    }
    let partly = crate::kiosk_fields::masked_phone(&account[..4]);
    assert!(
        browser
            .wait_for_text("#kiosk-value", &partly, || async {})
            .await
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Введите 10 цифр номера после +7")
    );
    assert!(browser.find("#kiosk-next[disabled]").await.is_some());
    for digit in account.chars().skip(4) {
        let key = if digit == '0' {
            11
        } else {
            digit.to_digit(10).unwrap()
        };
        browser
            .click(&format!(".keypad .key:nth-child({key})"))
            .await;
    }
    let shown = crate::kiosk_fields::masked_phone(&account);
    assert!(
        browser
            .wait_for_text("#kiosk-value", &shown, || async {})
            .await,
        "{:?}",
        browser.text("#kiosk-value").await
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Введено верно")
    );
    browser.screenshot("kiosk-field-mask.png").await;
    browser.click("#kiosk-next").await;

    // Field 2 of 2: the city from a fixed list; Back returns to the number, kept.
    browser.wait_for(".kiosk-option").await;
    assert_eq!(browser.text("#kiosk-label").await.as_deref(), Some("Город"));
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Выберите один из вариантов")
    );
    browser.click("#kiosk-back").await;
    assert!(
        browser
            .wait_for_text("#kiosk-value", &shown, || async {})
            .await
    );
    browser.click("#kiosk-next").await;
    browser.wait_for(".kiosk-option").await;
    browser.click(".kiosk-option:nth-child(2)").await; // Казань
    assert!(
        browser
            .wait_for_text("#kiosk-value-state", "Введено верно", || async {
            })
            .await
    );
    assert!(browser.find(".kiosk-option.chosen").await.is_some());
    browser.screenshot("kiosk-field-options.png").await;
    browser.click("#kiosk-next").await;

    // The check, then cash: the page shows the agent's limit and follows it after a bill.
    wait_until_the_validator_accepts(&browser).await;
    let (session,): (i64,) = sqlx::query_as("SELECT id FROM sessions ORDER BY id DESC LIMIT 1")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    let acceptable = || async { t.session(session).await["acceptable"].as_i64().unwrap() };
    let before = acceptable().await;
    assert!(
        before > 0 && before < 100_000,
        "the deposit, not the provider's maximum, sets the limit: {before}"
    );
    let shown_limit = browser.text("#kiosk-acceptable").await.unwrap();
    assert!(
        shown_limit.starts_with("Можно внести ещё не более"),
        "{shown_limit}"
    );
    assert_eq!(kopecks_in(&shown_limit), before, "{shown_limit}");
    browser.screenshot("kiosk-cash-limit.png").await;
    browser.click(".sim-bill:nth-child(3)").await; // 500 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500,00 ₽", || async {})
            .await,
        "the bill reaches the session"
    );
    assert_eq!(acceptable().await, before - 50_000);
    let deadline = Instant::now() + Duration::from_secs(30);
    while kopecks_in(&browser.text("#kiosk-acceptable").await.unwrap()) != before - 50_000 {
        assert!(
            Instant::now() < deadline,
            "the limit on screen never followed the bill"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    browser.click("#kiosk-pay").await;
    assert!(
        browser
            .wait_for_text("#receipt-status", "Проведён", || async {})
            .await,
        "the receipt shows a completed payment"
    );
    assert_eq!(
        browser.text("#receipt-field-account").await.as_deref(),
        Some(shown.as_str())
    );
    assert_eq!(
        browser.text("#receipt-field-city").await.as_deref(),
        Some("Казань")
    );
    let (extra,): (String,) = sqlx::query_as("SELECT extra FROM payments WHERE session_id = $1")
        .bind(session)
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(extra, r#"{"city":"Казань"}"#);
    assert_eq!(t.net.subscriber_balance().await, 50_000);
}

/// The operator's cash pages, hydrated: a bill in no session is written off from the
/// unresolved-cash page with a reason, and the cash box is collected from its page; both
/// are recorded with the operator's login.
#[tokio::test]
async fn the_operator_writes_off_unresolved_cash_and_collects_the_cash_box_on_the_pages() {
    let t = crate::agent::Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let (status, bill) = t
        .terminal(
            reqwest::Method::POST,
            "/api/terminal/v1/bills",
            Some(json!({"event_id": "w-1", "amount": 10_000, "session_id": null})),
        )
        .await;
    assert_eq!(status, 200, "{bill}");
    let (_, list) = t
        .admin(reqwest::Method::GET, "/api/admin/v1/unresolved-cash", None)
        .await;
    let code = list[0]["claim_code"].as_str().unwrap().to_owned();
    let pool = t.agent.pool.clone().unwrap();

    let browser = Browser::start().await;
    browser.open_as_admin(&t.agent, "/unresolved-cash").await;
    let reason = format!("#reason-{code}");
    browser.wait_for(&reason).await;
    browser
        .type_into(&reason, "купюра не найдена в кассете")
        .await;
    let written_off = || async {
        sqlx::query_as::<_, (String, String, String)>(
            "SELECT resolution, resolved_by, reason FROM cash_claims WHERE code = $1 AND resolution IS NOT NULL",
        )
        .bind(&code)
        .fetch_optional(&pool)
        .await
        .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let resolved = loop {
        browser.ask_and_confirm(&format!("write-off-{code}")).await;
        if let Some(row) = written_off().await {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the write-off was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        resolved,
        (
            "written_off".to_owned(),
            "admin".to_owned(),
            "купюра не найдена в кассете".to_owned()
        )
    );

    browser.open_as_admin(&t.agent, "/cash-box").await;
    browser.wait_for("#counted").await;
    browser.type_into("#counted", "100").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let collected = loop {
        browser.ask_and_confirm("record-collection").await;
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT collected_by, expected, counted FROM encashments ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(row) = row {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the collection was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(collected, ("admin".to_owned(), 10_000, 10_000));
    // The form is emptied once the collection is recorded: a second click must not record
    // another collection of the now-empty box with the same count.
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.input_value("#counted").await.as_deref() != Some("") {
        assert!(Instant::now() < deadline, "the count stayed in the form");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    browser.ask_and_confirm("record-collection").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (encashments,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM encashments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(encashments, 1, "clicked until recorded, recorded once");
}

/// The pids of every process chromedriver started (the browser, its zygotes, renderers,
/// GPU and utility processes), with a check that a Chromium is among them.
fn browser_processes(browser: &Browser) -> Vec<crate::proc_tree::Proc> {
    let family = crate::proc_tree::descendants(browser.driver.pid());
    assert!(
        family.iter().any(|p| p.comm == "chromium"),
        "no Chromium under chromedriver: {family:?}"
    );
    family
}

/// Whether any live process names `profile` on its command line: every Chromium process
/// of a session carries its `--user-data-dir`, and this finds them even once they are
/// orphans reparented to init, no longer below the test.
fn any_process_uses(profile: &Path) -> Option<String> {
    let needle = format!("--user-data-dir={}", profile.display());
    crate::proc_tree::all().into_iter().find_map(|p| {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", p.pid)).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        (p.state != 'Z' && cmdline.contains(&needle)).then_some(format!("{} {cmdline}", p.pid))
    })
}

/// Waits until every one of `pids` has ended and nothing runs on `profile`.
fn assert_all_gone(family: &[crate::proc_tree::Proc], profile: &Path) {
    let ended = crate::xvfb::wait_until(Duration::from_secs(15), || {
        family.iter().all(|p| crate::proc_tree::is_gone(p.pid))
            && any_process_uses(profile).is_none()
    });
    let left: Vec<_> = family
        .iter()
        .filter(|p| !crate::proc_tree::is_gone(p.pid))
        .collect();
    assert!(
        ended,
        "left running: {left:?}; on the profile: {:?}",
        any_process_uses(profile)
    );
}

#[tokio::test]
async fn a_dropped_browser_leaves_no_chromium_running() {
    let browser = Browser::start().await;
    browser.goto("data:text/html,<h1>hello</h1>").await;
    assert_eq!(browser.text("h1").await.as_deref(), Some("hello"));
    let family = browser_processes(&browser);
    let profile = browser._profile.path().to_owned();
    drop(browser);
    assert_all_gone(&family, &profile);
}

/// Set in the child run of [`a_test_process_that_dies_with_its_browser_open_takes_it_along`].
const DIE_WITH_BROWSER: &str = "PAYMESH_TEST_DIE_WITH_BROWSER";

/// Not a test of its own: the child process of the one below. Opens a browser, says which
/// processes it has, and aborts — no unwinding, no drop, as when nextest kills a test
/// that ran out of time.
#[tokio::test]
#[ignore = "run only as the child of a_test_process_that_dies_with_its_browser_open_takes_it_along"]
async fn a_test_that_aborts_with_its_browser_open() {
    if std::env::var_os(DIE_WITH_BROWSER).is_none() {
        return;
    }
    let browser = Browser::start().await;
    browser.goto("data:text/html,<h1>hello</h1>").await;
    let pids: Vec<String> = browser_processes(&browser)
        .iter()
        .map(|p| p.pid.to_string())
        .collect();
    println!("profile={}", browser._profile.path().display());
    println!("pids={}", pids.join(","));
    std::process::abort();
}

#[test]
fn a_test_process_that_dies_with_its_browser_open_takes_it_along() {
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "browser::a_test_that_aborts_with_its_browser_open",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIE_WITH_BROWSER, "1")
        .stderr(Stdio::null())
        .output()
        .expect("the test binary runs");
    assert!(!child.status.success(), "the child aborts");
    let said = String::from_utf8_lossy(&child.stdout);
    let value = |key: &str| {
        said.lines()
            // libtest prints the test's name on the same line as its first output.
            .find_map(|line| line.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("the child did not say {key}: {said}"))
            .to_owned()
    };
    let profile = std::path::PathBuf::from(value("profile="));
    let family: Vec<crate::proc_tree::Proc> = value("pids=")
        .split(',')
        .filter_map(|pid| pid.parse().ok())
        .map(|pid| crate::proc_tree::Proc {
            pid,
            ppid: 0,
            comm: String::new(),
            state: 'R',
        })
        .collect();
    assert!(!family.is_empty(), "{said}");
    assert_all_gone(&family, &profile);
    // The aborted child could not remove its profile.
    let _ = std::fs::remove_dir_all(&profile);
}

/// The operator's payment list pages past the 500 rows a page once stopped at: 520
/// payments, 50 a page, every one reached by «Следующие →» and seen exactly once.
#[tokio::test]
async fn the_payment_list_pages_past_five_hundred_rows() {
    let net = crate::processing::Network::start().await;
    net.top_up(100_000_000, "paging").await;
    const PAYMENTS: usize = 520;
    for i in 0..PAYMENTS {
        let (status, body) = net.pay(&format!("page-{i}"), 10_000).await;
        assert_eq!(status, 201, "{body}");
    }
    let browser = Browser::start().await;
    browser.open_as_admin(&net.processing, "/payments").await;
    browser.wait_for("#payments").await;
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let table = browser.text("#payments").await.unwrap_or_default();
        let ids: Vec<String> = table
            .split_whitespace()
            .filter(|w| w.starts_with("page-"))
            .map(str::to_owned)
            .collect();
        assert!(
            !ids.is_empty() && ids.len() <= 50,
            "page {pages} holds {} payments: {table}",
            ids.len()
        );
        for id in ids {
            assert!(seen.insert(id.clone()), "{id} shown twice");
        }
        pages += 1;
        if browser.find("#next-page").await.is_none() {
            break;
        }
        assert!(pages < 20, "the pager never ends");
        browser.click("#next-page").await;
        // The next page is there when the table no longer shows what it showed.
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.text("#payments").await.unwrap_or_default() == table {
            assert!(Instant::now() < deadline, "the next page never came");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    assert_eq!(pages, 11, "520 rows in pages of 50");
    assert_eq!(seen.len(), PAYMENTS, "every payment on one page");
    assert!(seen.contains("page-0") && seen.contains("page-519"));
    // Back to the newest from the depths.
    assert!(browser.find("#first-page").await.is_some());
}

/// The status of processing contract 1 at the provider.
async fn contract_status(app: &TestApp) -> String {
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM processing_contracts WHERE id = 1")
            .fetch_one(app.pool.as_ref().unwrap())
            .await
            .unwrap();
    status
}

/// The HTTP status a processing center's OSMP check gets with this login.
async fn osmp_check_status(app: &TestApp, login: &str, password: &str) -> u16 {
    app.client
        .get(app.url("/osmp?command=check&txn_id=1&account=9000000000&sum=10.00"))
        .basic_auth(login, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// «Расторгнуть» asks first: the first click only opens the panel saying what will
/// happen, "cancel" closes it with the contract untouched, "yes" ends it; a form posted
/// without the confirmation is refused by the server. Then the way back: «Возобновить
/// договор», confirmed, makes it active again with a new password shown once.
#[tokio::test]
async fn ending_a_processing_contract_asks_first_and_it_can_be_reopened() {
    let app = TestApp::spawn(Role::Provider).await;
    let issued: Value = app
        .client
        .post(app.url("/api/admin/v1/processing-contracts"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"processing_name": "Cyberplat", "protocol": "osmp"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = issued["login"].as_str().unwrap().to_owned();
    let old_password = issued["password"].as_str().unwrap().to_owned();
    assert_eq!(osmp_check_status(&app, &login, &old_password).await, 200);

    // Whoever posts the form without the confirmation: refused, nothing changes.
    let unconfirmed = app
        .client
        .post(app.url("/ui/provider/contract-status"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body("id=1&status=closed")
        .send()
        .await
        .unwrap();
    assert!(
        !unconfirmed.status().is_success(),
        "{}",
        unconfirmed.status()
    );
    assert_eq!(contract_status(&app).await, "active");

    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/processing-contracts").await;
    browser.wait_for("#close-1-ask").await;
    // The first click asks: the panel says what will happen, the contract stays.
    browser.click("#close-1-ask").await;
    assert!(browser.confirm_open("close-1").await, "the panel opens");
    let said = browser
        .text("#close-1 .confirm-will")
        .await
        .unwrap_or_default();
    assert!(said.contains("расторгнут"), "{said}");
    assert_eq!(
        browser.text("#close-1-yes").await.as_deref(),
        Some("Да, расторгнуть")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(contract_status(&app).await, "active");
    // Cancel (it answers once the page is hydrated): the panel closes, nothing changes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.confirm_open("close-1").await {
        browser.click("#close-1-cancel").await;
        assert!(Instant::now() < deadline, "cancel never closed the panel");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(contract_status(&app).await, "active");
    assert_eq!(osmp_check_status(&app, &login, &old_password).await, 200);

    // Confirmed: ended, its login revoked.
    browser.ask_and_confirm("close-1").await;
    crate::helpers::eventually("the contract ends", || async {
        match contract_status(&app).await.as_str() {
            "closed" => Ok(()),
            other => Err(other.to_owned()),
        }
    })
    .await;
    assert_eq!(osmp_check_status(&app, &login, &old_password).await, 401);

    // The way back, confirmed too: active again, a new password shown once, the old one
    // still dead.
    browser.wait_for("#reopen-1-ask").await;
    browser.click("#reopen-1-ask").await;
    assert!(browser.confirm_open("reopen-1").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        contract_status(&app).await,
        "closed",
        "asking re-opens nothing"
    );
    browser.ask_and_confirm("reopen-1").await;
    browser.wait_for("#reopened-contract-password").await;
    let new_password = browser.text("#reopened-contract-password").await.unwrap();
    assert_eq!(new_password.len(), 20, "{new_password}");
    assert_eq!(contract_status(&app).await, "active");
    assert_eq!(osmp_check_status(&app, &login, &new_password).await, 200);
    assert_eq!(osmp_check_status(&app, &login, &old_password).await, 401);
}

/// The consumer's «История»: the provider's record of the contract's payment and charge,
/// newest first; the header then names the subscriber as the provider knows them.
#[tokio::test]
async fn the_consumer_history_shows_the_providers_record_and_the_header_names_the_subscriber() {
    let (_provider, consumer, issued) = a_consumer_with_a_paid_contract().await;
    let account = issued["account"].as_str().unwrap().to_owned();
    let used = consumer
        .client
        .post(consumer.url("/api/admin/v1/contracts/1/use"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"service": "call", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);

    let browser = Browser::start().await;
    browser.open_as_admin(&consumer, "/history").await;
    browser.wait_for("#history-1 tbody tr").await;
    assert_eq!(
        browser.text("#history-1 h2").await.as_deref(),
        Some(format!("Megafon · Счёт {account}").as_str())
    );
    // Newest first: the call's charge, then the payment (figures compared as kopecks,
    // whatever the page's number format).
    let cell = |row: u32, column: u32| {
        let browser = &browser;
        async move {
            browser
                .text(&format!(
                    "#history-1 tbody tr:nth-child({row}) td:nth-child({column})"
                ))
                .await
                .unwrap_or_else(|| panic!("no cell {row}:{column}"))
        }
    };
    assert_eq!(cell(1, 2).await, "Звонки × 1");
    assert!(cell(1, 3).await.contains('-'), "a charge is negative");
    assert_eq!(kopecks_in(&cell(1, 3).await), 250);
    assert_eq!(kopecks_in(&cell(1, 4).await), 9_750);
    assert_eq!(cell(2, 2).await, "Пополнение счёта");
    assert_eq!(kopecks_in(&cell(2, 3).await), 10_000);
    assert_eq!(kopecks_in(&cell(2, 4).await), 10_000);
    assert!(
        browser
            .find("#history-1 tbody tr:nth-child(3)")
            .await
            .is_none()
    );

    // The header names the subscriber, not an operator.
    browser.open_as_admin(&consumer, "/").await;
    assert!(
        browser
            .wait_for_text("#subscriber-name", "Абонент: Иванов Иван", || async {})
            .await,
        "{:?}",
        browser.text("header .who").await
    );
}

/// The subscriber search folds Russian case and ё (#19): «петров» typed into the search
/// box finds «Петров Иван» (SQLite's LIKE found nothing), «иванов петр» finds «Иванов
/// Пётр»; a click on the name header sorts the list alphabetically, a second one back.
#[tokio::test]
async fn typing_petrov_in_lower_case_finds_petrov_ivan() {
    let app = TestApp::spawn(Role::Provider).await;
    for (name, email) in [
        ("Петров Иван", "petrov@example.ru"),
        ("Иванов Пётр", "ivanov@example.ru"),
        ("Сидорова Мария", "sidorova@example.ru"),
    ] {
        let (status, body) = crate::helpers::send(
            &app,
            reqwest::Method::POST,
            "/api/admin/v1/subscribers",
            ("admin", ADMIN_PASSWORD),
            Some(json!({"full_name": name, "passport": "4510 123456", "email": email, "services": ["call"]})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let browser = Browser::start().await;
    browser.open_as_admin(&app, "/subscribers").await;
    browser.wait_for("#subscribers").await;

    // Types `q` into a freshly loaded list and submits it; the table it answers. A try
    // whose click lands while the page is still hydrating (and so is lost) is made again.
    let search = |q: &'static str| {
        let (browser, app) = (&browser, &app);
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                browser
                    .goto(&format!("http://{}/subscribers", app.addr))
                    .await;
                browser.wait_for("#subscribers").await;
                let before = browser.text("#subscribers").await.unwrap_or_default();
                browser.type_into("#q", q).await;
                browser.click("form[role=search] button[type=submit]").await;
                let tried = Instant::now();
                while tried.elapsed() < Duration::from_secs(5) {
                    let now = browser.text("#subscribers").await.unwrap_or_default();
                    if now != before && !now.is_empty() {
                        return now;
                    }
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                assert!(
                    Instant::now() < deadline,
                    "the search {q:?} changed nothing: {before}"
                );
            }
        }
    };
    let found = search("петров").await;
    assert!(found.contains("Петров Иван"), "{found}");
    assert!(
        !found.contains("Сидорова") && !found.contains("Иванов Пётр"),
        "{found}"
    );
    // The box keeps what was typed (its value is a property, set once the page hydrates).
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.input_value("#q").await.as_deref() != Some("петров") {
        assert!(
            Instant::now() < deadline,
            "the box lost what was typed: {:?}",
            browser.input_value("#q").await
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    let found = search("иванов петр").await;
    assert!(found.contains("Иванов Пётр"), "{found}");
    assert!(!found.contains("Петров Иван"), "{found}");

    // Sorting by name: all three, alphabetical; once more, the other way.
    browser
        .goto(&format!("http://{}/subscribers", app.addr))
        .await;
    browser.wait_for("#sort-name").await;
    let rows = |text: String| -> Vec<String> {
        ["Иванов Пётр", "Петров Иван", "Сидорова Мария"]
            .into_iter()
            .filter_map(|n| text.find(n).map(|at| (at, n.to_owned())))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    };
    browser.click("#sort-name").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser
        .find("th[aria-sort=ascending] #sort-name")
        .await
        .is_none()
    {
        assert!(Instant::now() < deadline, "the list never sorted by name");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let ascending = rows(browser.text("#subscribers").await.unwrap_or_default());
    assert_eq!(ascending, ["Иванов Пётр", "Петров Иван", "Сидорова Мария"]);
    browser.click("#sort-name").await;
    while browser
        .find("th[aria-sort=descending] #sort-name")
        .await
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the list never sorted the other way"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let descending = rows(browser.text("#subscribers").await.unwrap_or_default());
    assert_eq!(descending, ["Сидорова Мария", "Петров Иван", "Иванов Пётр"]);
}

/// The subscriber list pages in the order asked (#19): 120 subscribers sorted by name, 50
/// a page; «Следующие →» (a cursor with Cyrillic in the address) goes on until the end,
/// every subscriber on exactly one page, in alphabetical order across the pages.
#[tokio::test]
async fn the_subscriber_list_pages_by_name_with_every_subscriber_once() {
    use portals::server::{clock, db, search_key};
    let app = TestApp::spawn(Role::Provider).await;
    let pool = app.db.as_ref().unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..120 {
        let full_name = format!("{} Иван{i:03}", ["Петров", "ёжиков", "Андреев"][i % 3]);
        let (email, account) = (
            format!("p{i}@example.ru"),
            format!("{}", 6_000_000_000u64 + i as u64),
        );
        db::query(
            "INSERT INTO subscribers (account, full_name, passport, email, services, created_at, updated_at, name_key, search_key)
             VALUES ($1, $2, '4510 123456', $3, 'call', $4, $4, $5, $6)",
        )
        .bind(&account)
        .bind(&full_name)
        .bind(&email)
        .bind(clock::now())
        .bind(search_key::fold(&full_name))
        .bind(search_key::key_of(&[&full_name, &email, &account]))
        .execute(&mut tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let browser = Browser::start().await;
    browser
        .open_as_admin(&app, "/subscribers?sort=name&dir=asc")
        .await;
    browser.wait_for("#subscribers").await;
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let table = browser.text("#subscribers").await.unwrap_or_default();
        // The name column of each row, as the page shows it.
        let page: Vec<String> = browser
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                json!({"script": "return [...document.querySelectorAll('#subscribers tbody tr td:nth-child(2)')].map(td => td.textContent.trim());", "args": []}),
            )
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        assert!(
            !page.is_empty() && page.len() <= 50,
            "page {pages}: {table}"
        );
        names.extend(page);
        pages += 1;
        if browser.find("#next-page").await.is_none() {
            break;
        }
        assert!(pages < 10, "the pager never ends");
        browser.click("#next-page").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.text("#subscribers").await.unwrap_or_default() == table {
            assert!(Instant::now() < deadline, "the next page never came");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    assert_eq!(pages, 3, "120 in pages of 50");
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        (names.len(), unique.len()),
        (120, 120),
        "each once: {names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| search_key::fold(n));
    assert_eq!(names, sorted, "alphabetical across pages, case and ё aside");
    assert!(names[0].starts_with("Андреев") && names[119].starts_with("Петров"));
    assert!(browser.find("#first-page").await.is_some());
}
