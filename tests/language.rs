//! Every page of every portal's Russian interface (the default language: no
//! `paymesh_lang` cookie) as the server renders it, read as text: no word made only of
//! Latin letters may show, except the few in [`ALLOWED`]. A leak ("Insufficient funds",
//! `mobile`, `missing field`) means a string that skipped the i18n tables.
//!
//! Plain HTTP GETs of the server-rendered HTML (the whole stream, resources resolved):
//! what a browser shows before hydration, and what hydration must match.

use std::collections::{BTreeMap, BTreeSet};

use crate::dashboards::{busy_terminal, consumer_with_a_use, payments_network};
use crate::helpers::{ADMIN_PASSWORD, KIOSK_PASSWORD, TestApp};

/// Latin words a Russian page may show, each for a reason.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    // The product's name (the page header, the title).
    "paymesh",
    // Protocol and file-format names, written so in Russian documents too: the protocol
    // picker ("OSMP (XML)", "JSON"), the exports ("CSV", "XLSX"), a provider refusing
    // processing's login ("HTTP 401"), the consumer's services ("SMS").
    "OSMP",
    "XML",
    "JSON",
    "CSV",
    "XLSX",
    "HTTP",
    "SMS",
    // A web address is a URL in Russian too ("Адрес (URL) шлюза поставщика").
    "URL",
    // The spreadsheet export is named after the program that opens it.
    "Excel",
    // Agent contract numbers are issued by processing as `AG-…`, printed so on contracts.
    "AG",
    // Zone offsets are shown as `UTC+3` (ui::when::offset_of).
    "UTC",
    // The language switch names English in English, as language switches do.
    "English",
];

/// Latin words of the test data, not of the interface: names and logins the tests'
/// fixtures type in (dashboards.rs, processing.rs), shown back as entered.
const TEST_DATA: &[&str] = &[
    // The provider's name at processing and at the consumer (processing.rs, dashboards.rs).
    "Megafon",
    // The provider's processing contract is named "paymesh processing" (processing.rs).
    "processing",
    // The kiosk's tile for a provider without a logo shows its initial ("M", Megafon).
    "M",
    // The operator's login, shown in the page header.
    "admin",
];

/// The most pages one portal's crawl visits: the route list plus the links found.
const PAGES_MAX: usize = 80;

/// The visible text of an HTML page: tags, comments, scripts, styles and templates'
/// markup gone (attribute values with them), entities for `<>&"'` and spaces decoded.
/// `<code>` elements go too: the pages set identifiers in them as they are on the wire
/// (a login, a transaction id, a protocol field's name or pattern, a ledger account id),
/// which are data in any language. `<textarea>` goes as an `<input>`'s value does: what
/// the operator edits (a provider's fields as JSON), not the interface's words. So does a
/// `<span lang="en">`: a value kept in English on purpose and marked so for screen
/// readers (a payment field's label for the kiosk's English screens).
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        rest = &rest[open..];
        let lower = rest.get(..9).unwrap_or(rest).to_ascii_lowercase();
        // Skip whole elements whose content is code, not text.
        let skip_to = if rest.starts_with("<!--") {
            Some("-->")
        } else if lower.starts_with("<script") {
            Some("</script>")
        } else if lower.starts_with("<style") {
            Some("</style>")
        } else if lower.starts_with("<code>") || lower.starts_with("<code ") {
            Some("</code>")
        } else if rest.starts_with(r#"<span lang="en">"#) {
            Some("</span>")
        } else if lower.starts_with("<textarea") {
            Some("</textarea>")
        } else {
            None
        };
        let end = match skip_to {
            Some(close) => rest.find(close).map(|at| at + close.len()),
            None => rest.find('>').map(|at| at + 1),
        };
        rest = &rest[end.unwrap_or(rest.len())..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The words of `text` made only of Latin letters, e-mail addresses and URLs left out
/// (test data, shown as typed).
fn latin_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|chunk| !chunk.contains('@') && !chunk.contains("://"))
        .flat_map(|chunk| chunk.split(|c: char| !c.is_alphabetic()))
        .filter(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic()))
        .map(str::to_owned)
        .collect()
}

/// The same-portal page paths `html` links to (no API, assets, downloads or the language
/// switch), queries dropped.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.split(['?', '#']).next().unwrap_or(href).to_owned())
        .filter(|path| {
            !["/api/", "/pkg/", "/lang", "/logout", "/kiosk/"]
                .iter()
                .any(|skip| path.starts_with(skip))
                && !path.rsplit('/').next().unwrap_or("").contains('.')
        })
        .collect()
}

/// Crawls `app`'s pages from `routes` and the links on them, as `login`, and returns the
/// Latin words found, each with the pages it is on.
async fn leaks(
    app: &TestApp,
    routes: &[&str],
    login: (&str, &str),
) -> BTreeMap<String, BTreeSet<String>> {
    let mut queue: Vec<String> = routes.iter().map(|r| (*r).to_owned()).collect();
    let mut seen = BTreeSet::new();
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) || seen.len() > PAGES_MAX {
            continue;
        }
        let response = app
            .client
            .get(app.url(&path))
            .basic_auth(login.0, Some(login.1))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"<html lang="ru""#), "{path} is Russian");
        for word in latin_words(&visible_text(&html)) {
            if !ALLOWED.contains(&word.as_str()) && !TEST_DATA.contains(&word.as_str()) {
                found.entry(word).or_default().insert(path.clone());
            }
        }
        queue.extend(links(&html).into_iter().filter(|p| !seen.contains(p)));
    }
    found
}

/// Fails on any leak `found` on `role`'s pages but on the pages in `not_yet` (pages with
/// leaks known and not fixed yet, each with why), and on a `not_yet` page that no longer
/// leaks: the list only shrinks.
fn assert_no_leaks(
    role: &str,
    mut found: BTreeMap<String, BTreeSet<String>>,
    not_yet: &[(&str, &str)],
) {
    let still: BTreeSet<String> = found.values().flatten().cloned().collect();
    let fixed: Vec<&str> = not_yet
        .iter()
        .map(|(page, _)| *page)
        .filter(|page| !still.contains(*page))
        .collect();
    for pages in found.values_mut() {
        pages.retain(|page| !not_yet.iter().any(|(known, _)| known == page));
    }
    found.retain(|_, pages| !pages.is_empty());
    assert!(
        found.is_empty(),
        "Latin words on {role}'s Russian pages (word: pages):\n{}",
        found
            .iter()
            .map(|(word, pages)| format!("  {word}: {pages:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fixed.is_empty(),
        "{fixed:?} no longer leak on {role}'s pages: take them off its not-yet list"
    );
}

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

#[test]
fn the_text_filter_finds_latin_words_only_in_visible_text() {
    let html = r#"<p class="x">Баланс: Insufficient funds <b>OSMP</b></p><script>var a = "b";</script><!-- note --><style>p{color:red}</style><a href="/y" title="hidden">i@example.ru</a> mobile&amp;x <code>txn_id</code>"#;
    assert_eq!(
        latin_words(&visible_text(html)),
        ["Insufficient", "funds", "OSMP", "mobile", "x"]
    );
}

#[tokio::test]
async fn the_processing_pages_in_russian_have_no_english_words() {
    let (n, _) = payments_network().await;
    let routes = [
        "/",
        "/providers",
        "/agents",
        "/payments",
        // A completed payment in detail (the list links every one: the pending ones too).
        "/payments/1",
        "/ledger",
        "/reports",
        "/registry",
        "/fee",
        "/audit",
        "/staff",
    ];
    assert_no_leaks(
        "processing",
        leaks(&n.processing, &routes, ADMIN).await,
        &[],
    );
}

#[tokio::test]
async fn the_provider_pages_in_russian_have_no_english_words() {
    let (n, _) = payments_network().await;
    let subscriber = format!("/subscribers/{}", n.account);
    let routes = [
        "/",
        "/subscribers",
        subscriber.as_str(),
        "/tariffs",
        "/processing-contracts",
        "/transactions",
        "/osmp-log",
        "/reports",
        "/audit",
        "/staff",
    ];
    assert_no_leaks(
        "the provider",
        leaks(&n.provider, &routes, ADMIN).await,
        &[],
    );
}

#[tokio::test]
async fn the_agent_pages_in_russian_have_no_english_words() {
    let t = busy_terminal().await;
    let routes = [
        "/",
        "/contract",
        "/payments",
        "/fee",
        "/unresolved-cash",
        "/cash-box",
        "/audit",
        "/staff",
    ];
    let mut found = leaks(&t.agent, &routes, ADMIN).await;
    // A payment's page, the completed one and the one waiting in the outbox.
    let list = crate::dashboards::page(&t.agent, "/payments").await;
    let details: Vec<String> = list
        .split(r#"href="/payments/"#)
        .skip(1)
        .filter_map(|rest| Some(format!("/payments/{}", rest.split('"').next()?)))
        .collect();
    assert_eq!(details.len(), 2, "{list}");
    let details: Vec<&str> = details.iter().map(String::as_str).collect();
    found.append(&mut leaks(&t.agent, &details, ADMIN).await);
    found.append(&mut leaks(&t.agent, &["/kiosk"], ("kiosk", KIOSK_PASSWORD)).await);
    t.link.restore();
    assert_no_leaks("the agent", found, &[]);
}

#[tokio::test]
async fn the_consumer_pages_in_russian_have_no_english_words() {
    let (_provider, consumer, _, _) = consumer_with_a_use().await;
    let routes = ["/", "/contracts", "/history"];
    assert_no_leaks("the consumer", leaks(&consumer, &routes, ADMIN).await, &[]);
}
