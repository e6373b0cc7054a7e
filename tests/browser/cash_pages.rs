//! The agent's cash pages page through their lists in headless Chromium (issue #19): 30
//! open claims of unresolved cash, 20 cards a page, and 60 collections, 50 rows a page,
//! each walked with «Далее →» to the end, every one seen once, and «← Назад» back to the
//! newest page.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use portals::role::Role;
use portals::server::clock;

use super::Browser;
use crate::helpers::TestApp;

const CLAIMS: i64 = 30;
const COLLECTIONS: i64 = 60;

/// `CLAIMS` open claims (each of an abandoned session with 100 ₽) and `COLLECTIONS`
/// collections, straight into the agent's database.
async fn cash_history(app: &TestApp) {
    let pool = app.pool.as_ref().unwrap();
    let now = clock::now_text();
    let mut tx = pool.begin().await.unwrap();
    for i in 1..=CLAIMS.max(COLLECTIONS) {
        if i <= CLAIMS {
            sqlx::query(
                "INSERT INTO sessions (id, provider_id, provider_name, account, min_amount, max_amount, status,
                                       created_at, abandoned_at)
                 VALUES ($1, 1, 'Мегафон', '9161234567', 100, 1500000, 'open', $2, $2)",
            )
            .bind(i)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO cash_claims (id, code, session_id, cash, opened_at) VALUES ($1, $2, $1, 10000, $3)",
            )
            .bind(i)
            .bind(format!("K-{i:04}-00"))
            .bind(&now)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO encashments (id, collected_by, collected_at, bill_count, expected, counted, sessions_cash)
             VALUES ($1, 'admin', $2, 0, 0, 0, 0)",
        )
        .bind(i)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Walks a paged list from the page open now: `rows` reads what one page shows from the
/// list's text. Returns each page's rows, in order.
async fn walk(browser: &Browser, list: &str, rows: fn(&str) -> Vec<String>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let shown = browser.text(list).await.unwrap_or_default();
        pages.push(rows(&shown));
        if browser.find("#next-page").await.is_none() {
            return pages;
        }
        assert!(pages.len() < 10, "the pager never ends");
        next_page(browser, list, "#next-page", &shown).await;
    }
}

/// Clicks `link` and waits for `list` to show something else (a whole page load).
async fn next_page(browser: &Browser, list: &str, link: &str, shown: &str) {
    browser.click(link).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.text(list).await.unwrap_or_default() == shown {
        assert!(Instant::now() < deadline, "{link} never led anywhere");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The claim codes on a page, in order, each once (a code is on its card's heading).
fn claim_codes(text: &str) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let code = word.len() == 9
            && word.starts_with("K-")
            && word.as_bytes()[6] == b'-'
            && word[2..6]
                .bytes()
                .chain(word[7..].bytes())
                .all(|b| b.is_ascii_digit());
        if code && !codes.iter().any(|c| c == word) {
            codes.push(word.to_owned());
        }
    }
    codes
}

/// The collection numbers: the first cell of each row (the heading's is not a number).
fn collection_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

fn assert_each_once(pages: &[Vec<String>], total: i64, what: &str) {
    let mut seen = BTreeSet::new();
    for row in pages.iter().flatten() {
        assert!(seen.insert(row.clone()), "{what} {row} shown twice");
    }
    assert_eq!(
        seen.len() as i64,
        total,
        "every {what} on a page: {pages:?}"
    );
}

#[tokio::test]
async fn the_cash_pages_page_on_with_next_and_back_with_back() {
    let app = TestApp::spawn(Role::Agent).await;
    cash_history(&app).await;
    let browser = Browser::start().await;

    // Unresolved cash: 20 cards, then the 10 older; back to the newest 20.
    browser.open_as_admin(&app, "/unresolved-cash").await;
    browser.wait_for("#claims").await;
    assert!(
        browser.find("#previous-page").await.is_none(),
        "the newest page has no back"
    );
    let pages = walk(&browser, "#claims", claim_codes).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [20, 10],
        "{pages:?}"
    );
    assert_eq!(pages[0][0], "K-0030-00", "newest first");
    assert_each_once(&pages, CLAIMS, "claim");
    let last = browser.text("#claims").await.unwrap_or_default();
    next_page(&browser, "#claims", "#previous-page", &last).await;
    let back = claim_codes(&browser.text("#claims").await.unwrap_or_default());
    assert_eq!(back, pages[0], "«Назад» leads to the page before");
    assert_eq!(browser.text("#next-page").await.as_deref(), Some("Далее →"));

    // Collections: 50 rows, then the 10 older; back to the newest 50.
    browser.open_as_admin(&app, "/cash-box").await;
    browser.wait_for("#encashments").await;
    let pages = walk(&browser, "#encashments", collection_ids).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [50, 10],
        "{pages:?}"
    );
    assert_eq!(pages[0][0], "60", "newest first");
    assert_each_once(&pages, COLLECTIONS, "collection");
    assert_eq!(
        browser.text("#previous-page").await.as_deref(),
        Some("← Назад")
    );
    let last = browser.text("#encashments").await.unwrap_or_default();
    next_page(&browser, "#encashments", "#previous-page", &last).await;
    let back = collection_ids(&browser.text("#encashments").await.unwrap_or_default());
    assert_eq!(back, pages[0], "«Назад» leads to the page before");
}
