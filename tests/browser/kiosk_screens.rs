//! The kiosk as a customer at a payment terminal meets it (issue #19), in headless
//! Chromium at the terminal's portrait 1080×1920: Back and Cancel out of every step until
//! cash is in and only Pay after; a mobile number typed after +7 and sent the way the
//! provider's regex wants it; one error state for a wrong number; the cash limit and its
//! reason in words; the attract screen after `--kiosk-idle-s`, never with cash in; the
//! English kiosk without a Russian word.
//!
//! With `PAYMESH_SCREENSHOTS=docs/img` these tests also make docs/img's `kiosk-*.png`
//! screens (docs/kiosk.md "The screens").

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Browser, kopecks_in, wait_until_the_validator_accepts};
use crate::agent::Terminal;
use crate::helpers::KIOSK_PASSWORD;
use crate::kiosk_fields::masked_phone;
use crate::kiosk_shell::KioskShell;

/// The kiosk's screen: portrait, 1080 wide and 1920 high, as the page sees it (the
/// viewport itself, not the window around it).
async fn kiosk_screen(browser: &Browser) {
    browser
        .call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride",
                   "params": {"width": 1080, "height": 1920, "deviceScaleFactor": 1, "mobile": false}}),
        )
        .await;
}

/// Runs `script` in the page with `args`; its return value.
async fn run(browser: &Browser, script: &str, args: Value) -> Value {
    browser
        .call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
}

/// An attribute of the first element `css` selects (`None`: no element or no attribute).
async fn attribute(browser: &Browser, css: &str, name: &str) -> Option<String> {
    run(
        browser,
        "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
        json!([css, name]),
    )
    .await
    .as_str()
    .map(str::to_owned)
}

/// Fails on a Cyrillic letter in the English kiosk's text. The language switch is left
/// out: it names Russian in Russian («Русский»), as a switch must.
async fn assert_no_russian(browser: &Browser, screen: &str) {
    let text = run(
        browser,
        "const lang = document.getElementById('kiosk-lang'); \
         if (lang) { lang.hidden = true; } \
         const text = document.body.innerText; \
         if (lang) { lang.hidden = false; } \
         return text;",
        json!([]),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned();
    let russian: String = text
        .chars()
        .filter(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'))
        .collect();
    assert!(
        russian.is_empty(),
        "Russian on the English {screen} screen ({russian}): {text}"
    );
}

/// Clicks `css` until `until` is on the page: the first tap counts once the page has
/// hydrated.
async fn tap_until(browser: &Browser, css: &str, until: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.find(until).await.is_none() {
        assert!(Instant::now() < deadline, "{css} never led to {until}");
        browser.click(css).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `css` is gone from the page.
async fn wait_gone(browser: &Browser, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.find(css).await.is_some() {
        assert!(Instant::now() < deadline, "{css} never went away");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Types `digits` on the kiosk's digit keypad.
async fn press(browser: &Browser, digits: &str) {
    for digit in digits.chars() {
        browser
            .click(&format!(".keypad .key[data-key=\"{digit}\"]"))
            .await;
    }
}

/// Opens the kiosk page as kiosk-shell does (its bridge in the URL) and waits for the
/// provider tiles.
async fn open_kiosk(browser: &Browser, t: &Terminal, shell: Option<&KioskShell>) {
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    if let Some(shell) = shell {
        page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    }
    let path = match page.query() {
        Some(query) => format!("/kiosk?{query}"),
        None => "/kiosk".to_owned(),
    };
    browser
        .open_as(&t.agent, "kiosk", KIOSK_PASSWORD, &path)
        .await;
    browser.wait_for(".kiosk-provider").await;
}

/// The validator's state as kiosk-shell's bridge tells it (`GET /` of the bridge).
async fn validator_state(shell: &KioskShell) -> String {
    let bridge = reqwest::Url::parse(&shell.bridge).unwrap();
    let url = format!(
        "http://{}:{}/",
        bridge.host_str().unwrap(),
        bridge.port().unwrap()
    );
    let status: Value = crate::helpers::plain_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["state"].as_str().unwrap_or_default().to_owned()
}

/// Two more payees at processing beside the network's Megafon — Tele2 (mobile, with a
/// logo the terminal has in `DIR/kiosk-logos`) and Er-Telecom (internet, none) — and
/// the terminal's catalog synced: the tile screen as a terminal network's looks. The
/// Megafon tile's selector.
async fn more_payees(t: &Terminal) -> String {
    let admin = ("admin", crate::helpers::ADMIN_PASSWORD);
    let mut ids = Vec::new();
    for (name, kind, regex) in [
        ("Tele2", "mobile", "9[0-9]{9}"),
        ("Er-Telecom", "internet", "[0-9]{8}"),
    ] {
        let (status, row) = crate::helpers::send(
            &t.net.processing,
            reqwest::Method::POST,
            "/api/admin/v1/providers",
            admin,
            Some(json!({
                "name": name, "service_kind": kind,
                "endpoint_url": format!("http://{}/osmp", t.net.proxy.addr), "protocol": "osmp",
                "login": "unused", "password": "unused-password",
                "fields": [{"name": "account", "label": "Номер", "regex": regex}],
                "min_amount": 100, "max_amount": 1_500_000
            })),
        )
        .await;
        assert_eq!(status, 201, "{row}");
        ids.push(row["provider_id"].as_i64().unwrap());
    }
    let logos = t.agent.data_dir().join("kiosk-logos");
    std::fs::create_dir_all(&logos).unwrap();
    std::fs::write(
        logos.join(format!("{}.svg", ids[0])),
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="22" fill="#1f2023"/><circle cx="50" cy="50" r="30" fill="none" stroke="#fff" stroke-width="9"/><circle cx="50" cy="50" r="9" fill="#fff"/></svg>"##,
    )
    .unwrap();
    let (status, body) = t
        .admin(reqwest::Method::POST, "/api/admin/v1/sync", None)
        .await;
    assert_eq!(status, 200, "{body}");
    format!(".kiosk-provider[data-provider=\"{}\"]", t.net.provider_id)
}

/// The kiosk's sessions in the agent's database, oldest first: id and the cash its bills
/// brought.
async fn sessions(t: &Terminal) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT s.id, COALESCE((SELECT SUM(b.amount) FROM bills b WHERE b.session_id = s.id), 0)
         FROM sessions s ORDER BY s.id",
    )
    .fetch_all(t.agent.pool.as_ref().unwrap())
    .await
    .unwrap()
}

#[tokio::test]
async fn back_and_cancel_lead_out_of_every_step_until_cash_is_in_then_only_pay() {
    let t = Terminal::start_with(1_000_000, true).await;
    let journal = tempfile::tempdir().unwrap();
    let megafon = more_payees(&t).await;
    let shell = KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    kiosk_screen(&browser).await;
    open_kiosk(&browser, &t, Some(&shell)).await;

    // The provider choice: Cancel goes to the attract screen; a touch comes back.
    tap_until(&browser, "#kiosk-cancel", "#kiosk-attract").await;
    browser.screenshot("kiosk-attract.png").await;
    browser.click("#kiosk-attract").await;
    browser.wait_for(".kiosk-provider").await;
    // A provider with a logo shows it (loaded, in the kiosk realm); the others their
    // initials on their colour.
    let logo_loaded = || async {
        run(
            &browser,
            "const i = document.querySelector('img.kiosk-logo'); return !!(i && i.complete && i.naturalWidth > 0);",
            json!([]),
        )
        .await
            == Value::Bool(true)
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !logo_loaded().await {
        assert!(Instant::now() < deadline, "the logo never loaded");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        browser
            .text(&format!("{megafon} .kiosk-mark"))
            .await
            .as_deref(),
        Some("M")
    );
    assert!(
        attribute(&browser, &format!("{megafon} .kiosk-mark"), "style")
            .await
            .is_some_and(
                |style| style.contains(portals::agent::pages::kiosk_start::tile_colour("Megafon"))
            ),
        "the initials' colour is the one of the name"
    );
    browser.screenshot("kiosk-providers.png").await;

    // The number: Cancel drops what was typed and goes to the providers.
    browser.click(&megafon).await;
    browser.wait_for("#kiosk-value").await;
    press(&browser, &t.net.account[..3]).await;
    assert!(
        browser
            .wait_for_text(
                "#kiosk-value",
                &masked_phone(&t.net.account[..3]),
                || async {}
            )
            .await
    );
    browser.click("#kiosk-cancel").await;
    wait_gone(&browser, "#kiosk-value").await;
    browser.wait_for(".kiosk-provider").await;
    browser.click(&megafon).await;
    browser.wait_for("#kiosk-value").await;
    assert_eq!(
        browser.text("#kiosk-value").await.as_deref(),
        Some("+7 (___) ___-__-__"),
        "Cancel kept nothing"
    );
    press(&browser, &t.net.account).await;
    let shown = masked_phone(&t.net.account);
    assert!(
        browser
            .wait_for_text("#kiosk-value", &shown, || async {})
            .await
    );
    browser.screenshot("kiosk-number.png").await;

    // The cash screen before any cash: Back and Cancel both there.
    browser.click("#kiosk-next").await;
    wait_until_the_validator_accepts(&browser).await;
    assert!(browser.find("#kiosk-back:not([disabled])").await.is_some());
    assert!(
        browser
            .find("#kiosk-cancel:not([disabled])")
            .await
            .is_some()
    );
    browser.screenshot("kiosk-cash.png").await;
    // Back: the number as it was typed, and the session left without cash.
    browser.click("#kiosk-back").await;
    assert!(
        browser
            .wait_for_text("#kiosk-value", &shown, || async {})
            .await,
        "Back from the cash screen shows the number again: {:?}",
        browser.text("#kiosk-value").await
    );
    assert!(browser.find("#kiosk-cash").await.is_none());
    // The validator takes nothing off the cash screen.
    let deadline = Instant::now() + Duration::from_secs(15);
    while validator_state(&shell).await != "disabled" {
        assert!(
            Instant::now() < deadline,
            "the validator stayed enabled after Back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Forward again, and a banknote: from now on only Pay.
    browser.click("#kiosk-next").await;
    wait_until_the_validator_accepts(&browser).await;
    browser.click(".sim-bill:nth-child(3)").await; // 500 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500,00 ₽", || async {})
            .await,
        "the bill reaches the session"
    );
    wait_gone(&browser, "#kiosk-back").await;
    assert!(
        browser.find("#kiosk-cancel").await.is_none(),
        "no Cancel with cash in"
    );
    assert!(
        browser.find("#kiosk-lang").await.is_none(),
        "no language switch (a page reload) with cash in"
    );
    assert_eq!(
        browser.text("#kiosk-pay-only").await.as_deref(),
        Some("Деньги приняты. Чтобы зачислить их, нажмите «Оплатить».")
    );
    browser.screenshot("kiosk-cash-in.png").await;
    browser.click("#kiosk-pay").await;
    assert!(
        browser
            .wait_for_text("#receipt-status", "Проведён", || async {})
            .await
    );
    browser.screenshot("kiosk-receipt.png").await;

    // Two sessions: the one left by Back holds nothing; the paid one holds the bill.
    let sessions = sessions(&t).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0].1, 0, "{sessions:?}");
    assert_eq!(sessions[1].1, 50_000, "{sessions:?}");
    assert_eq!(t.net.subscriber_balance().await, 50_000);
}

#[tokio::test]
async fn a_mobile_number_is_typed_after_plus_seven_and_sent_as_the_providers_regex_wants_it() {
    // The provider wants the number with its country code, 11 digits.
    let fields = json!([{"name": "account", "label": "Номер телефона", "label_en": "Phone number",
                         "regex": "79\\d{9}"}]);
    let net = crate::kiosk_fields::network_with_fields(fields).await;
    let t = Terminal::start_on(net, 1_000_000, false).await;
    let browser = Browser::start().await;
    kiosk_screen(&browser).await;
    open_kiosk(&browser, &t, None).await;
    tap_until(&browser, ".kiosk-provider", "#kiosk-value").await;
    assert_eq!(
        browser.text("#kiosk-value").await.as_deref(),
        Some("+7 (___) ___-__-__")
    );

    // An 8 first (the old trunk prefix) types nothing and says why.
    press(&browser, "8").await;
    assert!(
        browser
            .wait_for_text(
                "#kiosk-message",
                "+7 уже набрано: вводите номер без восьмёрки, с кода оператора",
                || async {}
            )
            .await
    );
    assert_eq!(
        browser.text("#kiosk-value").await.as_deref(),
        Some("+7 (___) ___-__-__")
    );

    // Ten digits that no mobile number has: one state, red, and no way on.
    press(&browser, "1234567890").await;
    assert!(
        browser
            .wait_for_text("#kiosk-value", "+7 (123) 456-78-90", || async {})
            .await
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Номер введён неверно — проверьте его")
    );
    let wrong = attribute(&browser, "#kiosk-value-state", "class").await;
    assert!(
        wrong.as_deref().is_some_and(|c| c.contains("state-wrong")),
        "{wrong:?}"
    );
    assert!(
        browser.find(".state-ok").await.is_none(),
        "green beside red"
    );
    assert!(browser.find("#kiosk-next[disabled]").await.is_some());

    // The real number: shown after +7, kept as the provider's 11 digits.
    browser.click(".keypad .key[data-key=\"clear\"]").await;
    press(&browser, "9161234567").await;
    assert!(
        browser
            .wait_for_text("#kiosk-value", "+7 (916) 123-45-67", || async {})
            .await
    );
    assert_eq!(
        attribute(&browser, "#kiosk-value", "data-value")
            .await
            .as_deref(),
        Some("79161234567")
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Введено верно")
    );
    assert!(browser.find(".state-wrong").await.is_none());

    // The provider has no such subscriber: the refusal replaces «Введено верно», in red,
    // as the field's one state.
    browser.click("#kiosk-next").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !attribute(&browser, "#kiosk-value-state", "class")
        .await
        .is_some_and(|c| c.contains("state-wrong"))
    {
        assert!(Instant::now() < deadline, "the refusal never showed");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let refusal = browser.text("#kiosk-value-state").await.unwrap_or_default();
    assert!(
        [
            "Такой счёт не найден. Проверьте номер.",
            "Номер в неверном формате."
        ]
        .contains(&refusal.as_str()),
        "{refusal}"
    );
    assert!(
        browser.find(".state-ok").await.is_none(),
        "green beside red"
    );
    browser.screenshot("kiosk-number-refused.png").await;
    // What went to the check is what the provider's regex wants.
    let (account,): (String,) = sqlx::query_as("SELECT account FROM checks")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(account, "79161234567");
    // A changed number is no longer the refused one.
    browser.click(".keypad .key[data-key=\"erase\"]").await;
    assert!(
        browser
            .wait_for_text(
                "#kiosk-value-state",
                "Введите 10 цифр номера после +7",
                || async {}
            )
            .await
    );
}

#[tokio::test]
async fn the_cash_screen_says_the_most_it_takes_and_why() {
    // 1000 ₽ of deposit: the terminal, not the provider, sets the limit.
    let t = Terminal::start_with(100_000, true).await;
    let journal = tempfile::tempdir().unwrap();
    let shell = KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    kiosk_screen(&browser).await;
    let mut page = reqwest::Url::parse("http://kiosk/kiosk").unwrap();
    page.query_pairs_mut().append_pair("bridge", &shell.bridge);
    super::reach_the_cash_screen(&browser, &t, &format!("/kiosk?{}", page.query().unwrap())).await;
    wait_until_the_validator_accepts(&browser).await;
    let (session,): (i64,) = sqlx::query_as("SELECT id FROM sessions ORDER BY id DESC LIMIT 1")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    let view = t.session(session).await;
    let (acceptable, max) = (
        view["acceptable"].as_i64().unwrap(),
        view["max_amount"].as_i64().unwrap(),
    );
    assert!(acceptable > 0 && acceptable < max, "{view}");
    let head = browser.text("#kiosk-acceptable").await.unwrap();
    assert_eq!(kopecks_in(&head), acceptable, "{head}");
    assert_eq!(
        browser.text("#kiosk-limit-reason").await.as_deref(),
        Some(
            "Это предел терминала: сейчас его средств на зачисление платежей хватает не больше \
             чем на эту сумму. Остальное можно оплатить позже или в другом терминале."
        )
    );
    assert_eq!(
        attribute(&browser, ".kiosk-limit", "data-limit")
            .await
            .as_deref(),
        Some("terminal")
    );
    browser.screenshot("kiosk-limit-terminal.png").await;

    // The deposit topped up and synced: the provider's maximum is the limit now, with
    // its figure and the provider's name.
    t.net.top_up(100_000_000, "PP-2").await;
    let (status, body) = t
        .admin(reqwest::Method::POST, "/api/admin/v1/sync", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = loop {
        let reason = browser
            .text("#kiosk-limit-reason")
            .await
            .unwrap_or_default();
        if reason.starts_with("Это предел получателя") {
            break reason;
        }
        assert!(
            Instant::now() < deadline,
            "the limit never became the provider's: {reason}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        reason.starts_with("Это предел получателя: Megafon принимает не больше ")
            && reason.ends_with(" за один платёж."),
        "{reason}"
    );
    assert_eq!(kopecks_in(&reason), max, "{reason}");
    assert_eq!(
        kopecks_in(&browser.text("#kiosk-acceptable").await.unwrap()),
        max
    );
    assert_eq!(
        browser.text(".kiosk-limit-change").await.as_deref(),
        Some("Сдача не выдаётся: купюру, с которой сумма превысит предел, терминал вернёт.")
    );
}

/// Waits until the English cash screen's validator takes banknotes, touching the screen
/// meanwhile (the idle timeout is short here).
async fn wait_until_the_validator_accepts_in_english(browser: &Browser, shell: &KioskShell) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.find("#kiosk-simulator .sim-bill").await.is_none() {
        assert!(
            browser.find("#kiosk-attract").await.is_none(),
            "the kiosk went idle on the cash screen"
        );
        assert!(
            Instant::now() < deadline,
            "the simulator never showed: {:?}; the shell: {}; its log: {:#?}",
            browser.text("#kiosk-validator").await,
            validator_state(shell).await,
            shell.journal_lines("kiosk-shell.log")
        );
        browser.click("#kiosk-limits").await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        browser
            .wait_for_text(
                "#kiosk-validator",
                "Bill validator: insert banknotes",
                || { browser.click("#kiosk-limits") }
            )
            .await,
        "{:?}",
        browser.text("#kiosk-validator").await
    );
}

#[tokio::test]
async fn an_idle_kiosk_shows_its_attract_screen_but_never_with_cash_in() {
    let idle_s = 3;
    let t = Terminal::start_adjusted(
        crate::processing::Network::start().await,
        1_000_000,
        true,
        |s| s.kiosk_timing = portals::agent::model::KioskTiming { idle_s },
    )
    .await;
    let journal = tempfile::tempdir().unwrap();
    let shell = KioskShell::start(t.agent.addr, journal.path());
    let browser = Browser::start().await;
    kiosk_screen(&browser).await;
    open_kiosk(&browser, &t, Some(&shell)).await;
    // In English, where no Russian label may show. The switch reloads the page; the
    // bridge's address stays in the browser session once the page has run (hydrated) —
    // which a tap that only a hydrated page answers proves first.
    tap_until(&browser, "#kiosk-cancel", "#kiosk-attract").await;
    browser.click("#kiosk-attract").await;
    browser.wait_for(".kiosk-provider").await;
    tap_until(&browser, "#kiosk-lang", "html[lang=\"en\"] .kiosk-provider").await;
    assert_no_russian(&browser, "providers").await;

    // Left alone on the first screen: the attract screen.
    let shown_at = Instant::now();
    browser.wait_for("#kiosk-attract").await;
    assert!(
        shown_at.elapsed() < Duration::from_secs(u64::from(idle_s) + 10),
        "{:?}",
        shown_at.elapsed()
    );
    assert_eq!(
        browser.text(".kiosk-attract-touch").await.as_deref(),
        Some("Touch the screen to start")
    );
    assert_no_russian(&browser, "attract").await;
    browser.click("#kiosk-attract").await;
    browser.wait_for(".kiosk-provider").await;

    // Abandoned half-way through the number: the attract screen again, nothing kept.
    browser.click(".kiosk-provider").await;
    browser.wait_for("#kiosk-value").await;
    assert_eq!(
        browser.text("#kiosk-label").await.as_deref(),
        Some("Phone number (10 digits)")
    );
    assert_eq!(
        browser.text("#kiosk-value-state").await.as_deref(),
        Some("Type the 10 digits after +7")
    );
    assert_no_russian(&browser, "number").await;
    press(&browser, &t.net.account[..4]).await;
    browser.wait_for("#kiosk-attract").await;
    browser.click("#kiosk-attract").await;
    browser.wait_for(".kiosk-provider").await;

    // Abandoned on the cash screen before any cash: the attract screen too, and the
    // validator off.
    browser.click(".kiosk-provider").await;
    browser.wait_for("#kiosk-value").await;
    press(&browser, &t.net.account).await;
    browser.click("#kiosk-next").await;
    wait_until_the_validator_accepts_in_english(&browser, &shell).await;
    browser.wait_for("#kiosk-attract").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while validator_state(&shell).await != "disabled" {
        assert!(
            Instant::now() < deadline,
            "the validator stayed enabled on the attract screen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sessions(&t).await.last().map(|s| s.1), Some(0));
    browser.click("#kiosk-attract").await;
    browser.wait_for(".kiosk-provider").await;

    // Cash in and the customer walks away: the kiosk pays it and shows the receipt; no
    // attract screen until the receipt has been up for the timeout.
    browser.click(".kiosk-provider").await;
    browser.wait_for("#kiosk-value").await;
    assert_eq!(
        browser.text("#kiosk-value").await.as_deref(),
        Some("+7 (___) ___-__-__"),
        "the abandoned number was dropped"
    );
    press(&browser, &t.net.account).await;
    browser.click("#kiosk-next").await;
    wait_until_the_validator_accepts_in_english(&browser, &shell).await;
    assert_no_russian(&browser, "cash").await;
    browser.click(".sim-bill:nth-child(3)").await; // 500 ₽
    assert!(
        browser
            .wait_for_text("#kiosk-cash", "500.00 ₽", || async {})
            .await,
        "the bill reaches the session"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while browser.find("#receipt-status").await.is_none() {
        assert!(
            browser.find("#kiosk-attract").await.is_none(),
            "the attract screen came up with cash in"
        );
        assert!(Instant::now() < deadline, "the idle kiosk never paid");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, cash): (String, i64) = sqlx::query_as("SELECT status, cash FROM payments")
        .fetch_one(t.agent.pool.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(cash, 50_000, "{status}");
    browser.wait_for("#kiosk-attract").await;
}

#[tokio::test]
async fn a_logo_is_served_to_the_kiosk_by_the_providers_number_and_within_its_size() {
    let t = Terminal::start(0).await;
    let other = t.net.provider_id + 1;
    let logos = t.agent.data_dir().join("kiosk-logos");
    std::fs::create_dir_all(&logos).unwrap();
    let png = b"\x89PNG\r\n\x1a\n a small picture".to_vec();
    std::fs::write(logos.join(format!("{}.png", t.net.provider_id)), &png).unwrap();
    // Over the 256 KiB a logo may have: not served.
    std::fs::write(logos.join(format!("{other}.svg")), vec![b' '; 300 * 1024]).unwrap();
    let get = |path: String| {
        t.agent
            .client
            .get(t.agent.url(&path))
            .basic_auth("kiosk", Some(KIOSK_PASSWORD))
            .send()
    };
    let answer = get(format!("/kiosk/logos/{}", t.net.provider_id))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "image/png");
    assert_eq!(answer.bytes().await.unwrap().to_vec(), png);
    for path in [
        format!("/kiosk/logos/{other}"),
        format!("/kiosk/logos/{}", other + 1),
    ] {
        assert_eq!(get(path.clone()).await.unwrap().status(), 404, "{path}");
    }
    // Only a number names a file.
    let status = get("/kiosk/logos/..%2Fkiosk-password".into())
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let (_, state) = t
        .kiosk(reqwest::Method::GET, "/api/kiosk/v1/state", None)
        .await;
    assert_eq!(state["logos"], json!([t.net.provider_id]), "{state}");
}
