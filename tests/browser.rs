//! Headless Chromium, driven over WebDriver (chromedriver), on a served portal: proves the
//! page hydrates and its interactive component reacts to a click.
//!
//! The WebDriver calls are a handful of JSON requests, made here with reqwest rather than
//! a WebDriver crate (whose default features download a driver at build time).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portals::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it; both end on drop.
struct Browser {
    driver: Child,
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
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
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

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the driver ends its browser; the session needs no separate DELETE.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
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
    // Credentials in the URL stand in for the browser's login prompt. Chromium refuses to
    // fetch subresources relative to a URL that carries credentials (the wasm bundle would
    // not load), so the portal is then opened again by its plain URL, as a person would
    // after the prompt: the browser now sends the cached credentials by itself.
    browser
        .goto(&format!("http://admin:{ADMIN_PASSWORD}@{}/", app.addr))
        .await;
    browser.goto(&format!("http://{}/", app.addr)).await;

    // Server-rendered: the default rule gives its minimum fee on 100.00.
    assert_eq!(
        browser.text("h1").await.as_deref(),
        Some("Процессинговый центр")
    );
    assert_eq!(
        browser.text("#fee-result").await.as_deref(),
        Some("10.00 ₽")
    );

    // Only the hydrated page reacts: click «1000 ₽» until the fee follows (hydration
    // finishes a moment after the page loads).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        browser.click(".quick-amount:nth-child(3)").await;
        if browser.text("#fee-result").await.as_deref() == Some("15.00 ₽") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fee calculator never reacted: the page did not hydrate"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        browser.text("#fee-total").await.as_deref(),
        Some("1015.00 ₽")
    );
}
