//! The home pages' dashboards: for a known data set, the figures the server renders are
//! the right ones (read from the rendered HTML: each figure carries its numbers in
//! `data-count` / `data-kopecks`). The processing and provider tests run on PostgreSQL
//! too in the PostgreSQL pass (`PAYMESH_TEST_POSTGRES`).

use portals::role::Role;
use serde_json::json;

use crate::agent::Terminal;
use crate::helpers::{ADMIN_PASSWORD, TestApp, send};
use crate::processing::Network;

/// The operator's page at `path`, as the server renders it (all of its stream).
pub async fn page(app: &TestApp, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// The opening tag of the element that has `marker` (`id="tile-today"`, say).
fn tag<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not on the page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The text of the element that has `marker`, up to its first closing `</section>` or
/// `</tr>`, tags left in: enough to look for a word in it.
fn element<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap();
    let rest = &html[at..];
    let end = ["</section>", "</tr>"]
        .iter()
        .filter_map(|close| rest.find(close))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Processing and a provider with: two payments credited (100.00 and 200.00), one to a
/// second provider contract whose password is wrong (the provider answers 401, so it
/// stays pending), an agent with a deposit under the low-deposit threshold, and a
/// second subscriber with nothing on the account.
pub async fn payments_network() -> (Network, i64) {
    let n = Network::start().await;
    n.top_up(400_000, "PP-1").await;
    assert_eq!(n.pay("D-1", 10_000).await.1["status"], "completed");
    assert_eq!(n.pay("D-2", 20_000).await.1["status"], "completed");
    let admin = ("admin", ADMIN_PASSWORD);
    let (_, providers) = send(
        &n.processing,
        reqwest::Method::GET,
        "/api/admin/v1/providers",
        admin,
        None,
    )
    .await;
    let fields = providers
        .as_array()
        .and_then(|all| all.iter().find(|p| p["provider_id"] == n.provider_id))
        .cloned()
        .unwrap_or_else(|| panic!("the provider is listed: {providers}"));
    let (status, wrong) = send(
        &n.processing,
        reqwest::Method::POST,
        "/api/admin/v1/providers",
        admin,
        Some(json!({
            "name": "Билайн", "service_kind": "mobile",
            "endpoint_url": format!("http://{}/osmp", n.proxy.addr), "protocol": "osmp",
            "login": "nobody", "password": "wrong-password",
            "fields": fields["fields"], "min_amount": 100, "max_amount": 1_500_000
        })),
    )
    .await;
    assert_eq!(status, 201, "{wrong}");
    let wrong_id = wrong["provider_id"].as_i64().unwrap();
    let mut body = n.payment_body("D-3", 5_000);
    body["provider_id"] = json!(wrong_id);
    let (_, pending) = n
        .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(body))
        .await;
    assert_eq!(pending["status"], "pending", "{pending}");
    let (status, zero) = send(&n.provider, reqwest::Method::POST, "/api/admin/v1/subscribers", admin, Some(json!({
        "full_name": "Петров Пётр", "passport": "4510 654321", "email": "p@example.ru", "services": ["call"]
    })))
    .await;
    assert_eq!(status, 201, "{zero}");
    (n, wrong_id)
}

#[tokio::test]
async fn the_processing_dashboard_shows_turnover_a_waiting_payment_a_401_provider_and_a_low_deposit()
 {
    let (n, wrong_id) = payments_network().await;
    let html = page(&n.processing, "/").await;

    // Two credited payments today and within the hour: 300.00 to providers.
    let today = tag(&html, r#"id="tile-today""#);
    assert!(today.contains(r#"data-count="2""#), "{today}");
    assert!(today.contains(r#"data-kopecks="30000""#), "{today}");
    let hour = tag(&html, r#"id="tile-hour""#);
    assert!(hour.contains(r#"data-count="2""#), "{hour}");
    // The one to the 401 provider waits, and says for how long.
    let pending = tag(&html, r#"id="tile-pending""#);
    assert!(pending.contains(r#"data-count="1""#), "{pending}");
    assert!(pending.contains(r#"data-kopecks="5000""#), "{pending}");
    assert!(
        element(&html, r#"id="tile-pending""#).contains("старейший ждёт"),
        "the oldest one's age is shown"
    );
    // A provider answering 401 is failing, named as such; the other one works.
    let wrong = element(&html, &format!(r#"data-provider-id="{wrong_id}""#));
    assert!(wrong.contains(r#"data-health="Failing""#), "{wrong}");
    assert!(wrong.contains("HTTP 401"), "{wrong}");
    let good = element(&html, &format!(r#"data-provider-id="{}""#, n.provider_id));
    assert!(good.contains(r#"data-health="Healthy""#), "{good}");
    // 4000.00 less 300.00, their fees and the 50.00 held: under the 5000.00 default.
    let threshold = tag(&html, r#"id="low-deposit-threshold""#);
    assert!(
        threshold.contains(r#"data-kopecks="500000""#),
        "{threshold}"
    );
    let fees = crate::processing::fee_of(10_000) + crate::processing::fee_of(20_000);
    let held = 5_000 + crate::processing::fee_of(5_000);
    let available = 400_000 - 30_000 - fees - held;
    let agent = tag(&html, &format!(r#"data-agent-id="{}""#, n.agent_id));
    assert!(
        agent.contains(&format!(r#"data-kopecks="{available}""#)),
        "{agent}"
    );
    // The ledger check, and the chart as server-rendered SVG with its title.
    assert!(element(&html, r#"id="tile-ledger""#).contains("Сходится"));
    assert!(html.contains(r#"<svg class="bar-chart""#));
    assert!(html.contains(r#"<title id="turnover-chart-title">Оборот за 24 часа</title>"#));
}

#[tokio::test]
async fn the_provider_dashboard_shows_payments_today_low_balances_and_its_processing_contract() {
    let (n, _) = payments_network().await;
    let html = page(&n.provider, "/").await;
    let today = tag(&html, r#"id="tile-payments-today""#);
    assert!(today.contains(r#"data-count="2""#), "{today}");
    assert!(today.contains(r#"data-kopecks="30000""#), "{today}");
    // Petrov has nothing on the account (balances never go below zero): listed; Ivanov
    // has 300.00, above the 100.00 default.
    let low = tag(&html, r#"id="tile-low-balance""#);
    assert!(low.contains(r#"data-count="1""#), "{low}");
    let petrov = element(&html, r#"data-kopecks="0""#);
    assert!(petrov.contains("Петров Пётр"), "{petrov}");
    assert!(!html.contains(&format!(r#"data-account="{}""#, n.account)));
    // The processing contract and its two payments today.
    let contract = element(&html, "data-contract-id=");
    assert!(contract.contains(r#"data-count="2""#), "{contract}");
    assert!(contract.contains("Действует"), "{contract}");
}

/// A terminal that took 100.00 (credited) and 500.00 (queued: processing out of reach).
pub async fn busy_terminal() -> Terminal {
    let t = Terminal::start(1_000_000).await;
    t.report_bill_table().await;
    let id = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(id, "ev-1", 10_000).await.0, 200);
    let (status, receipt) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{id}/pay"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{receipt}");
    t.wait_receipt(id, "completed").await;
    // A second payment while processing is out of reach stays in the outbox.
    let second = t.checked_session(&t.net.account).await;
    assert_eq!(t.bill(second, "ev-2", 50_000).await.0, 200);
    t.link.break_link();
    let (_, queued) = t
        .kiosk(
            reqwest::Method::POST,
            &format!("/api/kiosk/v1/sessions/{second}/pay"),
            None,
        )
        .await;
    assert_eq!(queued["status"], "queued", "{queued}");
    t
}

#[tokio::test]
async fn the_agent_dashboard_shows_the_terminal_cash_box_and_outbox() {
    let t = busy_terminal().await;
    let html = page(&t.agent, "/").await;
    let today = tag(&html, r#"id="tile-today""#);
    assert!(today.contains(r#"data-count="2""#), "{today}");
    assert!(today.contains(r#"data-kopecks="60000""#), "{today}");
    let cash_box = tag(&html, r#"id="tile-cash-box""#);
    assert!(cash_box.contains(r#"data-count="2""#), "{cash_box}");
    assert!(cash_box.contains(r#"data-kopecks="60000""#), "{cash_box}");
    let outbox = tag(&html, r#"id="tile-outbox""#);
    assert!(outbox.contains(r#"data-count="1""#), "{outbox}");
    assert!(element(&html, r#"id="tile-validator""#).contains("Исправен"));
    assert!(element(&html, r#"id="tile-terminal""#).contains("Принимает платежи"));
    t.link.restore();
}

/// A consumer with one contract (100.00 paid in at the provider) and one use (2 minutes
/// of calls): the contract's id, the account, and both participants.
pub async fn consumer_with_a_use() -> (TestApp, TestApp, i64, String) {
    let provider = TestApp::spawn(Role::Provider).await;
    let admin = ("admin", ADMIN_PASSWORD);
    let (_, mut issued) = send(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", admin, Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call", "sms"]
    })))
    .await;
    let (_, processing) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        admin,
        Some(json!({"processing_name": "p", "protocol": "osmp"})),
    )
    .await;
    let account = issued["account"].as_str().unwrap().to_owned();
    provider
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
    let consumer = TestApp::spawn(Role::Consumer).await;
    issued["provider_name"] = json!("Megafon");
    let (status, contract) = send(
        &consumer,
        reqwest::Method::POST,
        "/api/admin/v1/contracts",
        admin,
        Some(issued),
    )
    .await;
    assert_eq!(status, 201, "{contract}");
    let id = contract["id"].as_i64().unwrap();
    let (status, used) = send(
        &consumer,
        reqwest::Method::POST,
        &format!("/api/admin/v1/contracts/{id}/use"),
        admin,
        Some(json!({"service": "call", "quantity": 2})),
    )
    .await;
    assert_eq!(status, 200, "{used}");
    (provider, consumer, id, account)
}

#[tokio::test]
async fn the_consumer_dashboard_shows_each_contract_with_its_last_known_balance() {
    let (_provider, consumer, id, account) = consumer_with_a_use().await;
    let html = page(&consumer, "/").await;
    let card = element(&html, &format!(r#"data-contract-id="{id}""#));
    assert!(card.contains(r#"data-kopecks="9500""#), "{card}");
    assert!(
        card.contains("Megafon") && card.contains(&account),
        "{card}"
    );
    let charged = tag(&html, r#"id="tile-charged""#);
    assert!(charged.contains(r#"data-kopecks="500""#), "{charged}");
    let recent = &html[html.find(r#"id="recent-uses""#).unwrap()..];
    assert!(recent[..recent.find("</table>").unwrap()].contains("Звонки"));
}

/// More payments for the screenshots, moved back over the last day (processing) and the
/// last fortnight (provider) so the charts have the shape of a working day; the amounts
/// and the ledger stay as paid.
pub async fn spread_over_time(n: &Network) {
    use portals::server::clock::Stamp;
    use portals::server::db;
    let amounts = [
        45_000, 120_000, 30_000, 80_000, 250_000, 60_000, 150_000, 95_000, 40_000, 110_000, 70_000,
        200_000,
    ];
    // Enough for them, so that the agent's deposit stays low as before.
    n.top_up(amounts.iter().sum::<i64>() * 102 / 100, "PP-2")
        .await;
    for (i, amount) in amounts.iter().enumerate() {
        let (_, paid) = n.pay(&format!("S-{i}"), *amount).await;
        assert_eq!(paid["status"], "completed", "{paid}");
    }
    let now = time::OffsetDateTime::now_utc();
    let hours_back = [0, 1, 1, 2, 3, 5, 6, 8, 9, 11, 13, 15, 18, 21];
    let spread = |db: db::Db, table_step: time::Duration| async move {
        let ids: Vec<(i64,)> = db::query_as("SELECT id FROM payments ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
        for ((id,), back) in ids.iter().zip(hours_back.iter().cycle()) {
            db::query("UPDATE payments SET created_at = $1 WHERE id = $2")
                .bind(Stamp::at(now - table_step * *back))
                .bind(*id)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    // Processing's payments by hours (the pending one included: it then waits longer).
    spread(n.processing.db.clone().unwrap(), time::Duration::hours(1)).await;
    // The provider's by days: each hour back read as 15 hours, so all within the fortnight.
    spread(n.provider.db.clone().unwrap(), time::Duration::hours(15)).await;
}

/// Moves every payment in `db` (processing's or the provider's) to `at`.
async fn move_payments(db: &portals::server::db::Db, at: time::OffsetDateTime) {
    use portals::server::{clock::Stamp, db};
    db::query("UPDATE payments SET created_at = $1")
        .bind(Stamp::at(at))
        .execute(db)
        .await
        .unwrap();
}

#[tokio::test]
async fn today_and_the_chart_bars_are_the_participants_local_day_and_hours() {
    use portals::{processing, provider};
    use shared::zone::Zone;
    use time::macros::datetime;
    let (n, _) = payments_network().await;
    // 22:30 UTC on 2 December is 01:30 on 3 December in Moscow (and 04:00 in Kolkata);
    // the dashboards are read at 06:00 UTC on 3 December, 09:00 in Moscow.
    let paid = datetime!(2026-12-02 22:30 UTC);
    let now = datetime!(2026-12-03 06:00 UTC);
    let (moscow, utc) = (Zone::default(), Zone::named("UTC").unwrap());
    let kolkata = Zone::named("Asia/Kolkata").unwrap();

    let pdb = n.processing.db.clone().unwrap();
    move_payments(&pdb, paid).await;
    let read = |zone: Zone| {
        let pdb = pdb.clone();
        async move {
            processing::server::dashboard::dashboard_at(&pdb, &zone, now)
                .await
                .unwrap()
        }
    };
    // Both credited payments are today in Moscow, none is in UTC's today.
    assert_eq!(read(moscow.clone()).await.today.count, 2);
    assert_eq!(read(utc.clone()).await.today.count, 0);
    // Kolkata's hours begin at :30 UTC: the payments open the bar 7 hours back (22:30–
    // 23:30 UTC); in UTC's hours they are in the one 8 hours back.
    let bar = |d: processing::figures::Dashboard| {
        d.hours
            .iter()
            .find(|b| b.count > 0)
            .map(|b| (b.ago, b.count))
    };
    assert_eq!(bar(read(kolkata).await), Some((7, 2)));
    assert_eq!(bar(read(utc.clone()).await), Some((8, 2)));

    let vdb = n.provider.db.clone().unwrap();
    move_payments(&vdb, paid).await;
    let moscow_view = provider::server::dashboard::dashboard_at(&vdb, &moscow, now)
        .await
        .unwrap();
    let utc_view = provider::server::dashboard::dashboard_at(&vdb, &utc, now)
        .await
        .unwrap();
    assert_eq!(moscow_view.payments_today, 2);
    assert_eq!(utc_view.payments_today, 0);
    let last = moscow_view.days.last().unwrap();
    assert_eq!(
        (last.day.as_str(), last.ago, last.count),
        ("2026-12-03", 0, 2)
    );
    let day_of = |days: &[provider::figures::DayBar]| {
        days.iter()
            .find(|d| d.count > 0)
            .map(|d| (d.day.clone(), d.count))
    };
    assert_eq!(day_of(&utc_view.days), Some(("2026-12-02".to_owned(), 2)));
    assert_eq!(moscow_view.contracts[0].payments_today, 2);
    assert_eq!(utc_view.contracts[0].payments_today, 0);
}
