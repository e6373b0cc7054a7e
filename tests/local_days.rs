//! Report and registry days are the participant's local days (`--time-zone`, default
//! Europe/Moscow): a payment at 21:30 UTC on 26 November — 00:30 on the 27th in Moscow —
//! is in the 27th's workbooks and registry, not the 26th's, and the workbooks show it at
//! 00:30. The registry is cut at processing's local midnight on both sides, so payments
//! a minute either side of it reconcile without a discrepancy, whatever zone the provider
//! keeps its own days in.

use portals::chaos::proxy::ChaosProxy;
use portals::role::Role;
use portals::server::clock::Stamp;
use portals::server::db;
use portals::server::local_time;
use serde_json::{Value, json};
use shared::zone::Zone;
use time::macros::{date, datetime};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::helpers::{ADMIN_PASSWORD, TestApp, send};
use crate::processing::{Network, spawn_processing_with};
use crate::reports::{Subscriber, download, kopecks, number, row, sheet, text};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// 20:30 UTC on the 26th: 23:30 on the 26th in Moscow.
const EVENING: &str = "2026-11-26T20:30:00Z";
/// 21:30 UTC on the 26th: 00:30 on the 27th in Moscow.
const AFTER_MIDNIGHT: &str = "2026-11-26T21:30:00Z";

/// Excel's serial number of a wall-clock time (days since 1899-12-30, a fraction a day).
fn excel_serial(at: PrimitiveDateTime) -> f64 {
    let days = (at.date() - date!(1899 - 12 - 30)).whole_days() as f64;
    let seconds = u32::from(at.hour()) * 3600 + u32::from(at.minute()) * 60;
    days + f64::from(seconds) / 86_400.0
}

fn serial_of(cell: &calamine::Data) -> f64 {
    match cell {
        calamine::Data::DateTime(at) => at.as_f64(),
        other => panic!("not a date-time: {other:?}"),
    }
}

async fn pay_at(n: &Network, agent_txn_id: &str, amount: i64, accepted_at: &str) -> i64 {
    let mut body = n.payment_body(agent_txn_id, amount);
    body["accepted_at"] = json!(accepted_at);
    let (status, payment) = n
        .agent(reqwest::Method::POST, "/api/agent/v1/payments", Some(body))
        .await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "completed", "{payment}");
    payment["payment_id"].as_i64().unwrap()
}

async fn body_of(app: &TestApp, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.unwrap()
}

/// The registry CSV's payment lines (no header, no trailer).
async fn registry_lines(n: &Network, day: &str) -> Vec<String> {
    let csv = body_of(
        &n.processing,
        &format!("/api/admin/v1/registry/{}/{day}.csv", n.provider_id),
    )
    .await;
    let lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    lines[1..lines.len() - 1].to_vec()
}

async fn reconcile(n: &Network, day: &str) -> Value {
    let (status, found) = send(
        &n.processing,
        reqwest::Method::GET,
        &format!(
            "/api/admin/v1/registry/{}/{day}/discrepancies",
            n.provider_id
        ),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    found
}

#[tokio::test]
async fn a_payment_after_moscow_midnight_is_in_the_next_days_reports_and_registry() {
    let n = Network::start().await;
    n.top_up(100_000, "TZ-1").await;
    let evening = pay_at(&n, "TZ-E", 10_000, EVENING).await;
    let late = pay_at(&n, "TZ-L", 20_000, AFTER_MIDNIGHT).await;

    let (status, _, bytes) = download(
        &n.processing,
        "/api/admin/v1/reports/summary.xlsx?from=2026-11-26&to=2026-11-27",
    )
    .await;
    assert_eq!(status, 200);
    let summary = sheet(&bytes, "Сводка");
    assert_eq!(
        text(&row(&summary, "Часовой пояс")[1]),
        "дни и время — по часовому поясу Europe/Moscow"
    );
    // Columns: day, completed, pending, failed, rejected, cash, agent fee, amount, fee.
    let days = sheet(&bytes, "По дням");
    assert_eq!(days.len(), 1 + 2 + 1, "header, two days, total");
    assert_eq!((number(&days[1][1]), kopecks(&days[1][7])), (1.0, 10_000));
    assert_eq!((number(&days[2][1]), kopecks(&days[2][7])), (1.0, 20_000));

    for (day, id, local) in [
        ("2026-11-26", evening, datetime!(2026-11-26 23:30)),
        ("2026-11-27", late, datetime!(2026-11-27 00:30)),
    ] {
        let (_, _, bytes) = download(
            &n.processing,
            &format!("/api/admin/v1/reports/transactions.xlsx?from={day}&to={day}"),
        )
        .await;
        let rows = sheet(&bytes, "Платежи");
        assert_eq!(rows.len(), 1 + 1 + 2, "{day}: one payment, total, note");
        assert_eq!(number(&rows[1][0]), id as f64, "{day}");
        assert_eq!(text(&rows[0][14]), "Принят");
        assert!(
            (serial_of(&rows[1][14]) - excel_serial(local)).abs() < 1e-6,
            "{day}: accepted at {local} Moscow time, {:?}",
            rows[1][14]
        );

        let (_, _, summary) = download(
            &n.processing,
            &format!("/api/admin/v1/reports/summary.xlsx?from={day}&to={day}"),
        )
        .await;
        assert_eq!(
            number(&row(&sheet(&summary, "Сводка"), "Проведено платежей")[1]),
            1.0,
            "{day}"
        );
    }

    // The payment list's day filter (on when processing recorded a payment) is the same
    // Moscow day: the payments' records moved to when they were accepted.
    db::query("UPDATE payments SET created_at = accepted_at")
        .execute(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    for (day, agent_txn_id) in [("2026-11-26", "TZ-E"), ("2026-11-27", "TZ-L")] {
        let (status, listed) = send(
            &n.processing,
            reqwest::Method::GET,
            &format!("/api/admin/v1/payments?from={day}&to={day}"),
            ADMIN,
            None,
        )
        .await;
        assert_eq!(status, 200, "{listed}");
        let ids: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["agent_txn_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [agent_txn_id], "{day}");
    }

    // The registry: the Moscow day's payments, each with the txn_date the provider got.
    let lines = registry_lines(&n, "2026-11-26").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&format!("{evening};")), "{lines:?}");
    assert!(lines[0].ends_with(";100.00;20261126203000"), "{lines:?}");
    let lines = registry_lines(&n, "2026-11-27").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&format!("{late};")), "{lines:?}");
    assert!(lines[0].ends_with(";200.00;20261126213000"), "{lines:?}");
    for day in ["2026-11-26", "2026-11-27"] {
        let found = reconcile(&n, day).await;
        assert_eq!(found["ok"], true, "{day}: {found}");
        assert_eq!(
            (found["ours"].clone(), found["theirs"].clone()),
            (json!(1), json!(1))
        );
    }
}

/// A network whose processing and provider keep the given zones, and processing's
/// login and password at the provider.
async fn network_in(processing_zone: &str, provider_zone: &str) -> (Network, (String, String)) {
    let provider_zone = Zone::named(provider_zone).unwrap();
    let provider = TestApp::spawn_with(
        Role::Provider,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| s.common.time_zone = provider_zone,
    )
    .await
    .expect("the provider starts");
    let (_, subscriber) = send(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", ADMIN, Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
    })))
    .await;
    let (_, contract) = send(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        ADMIN,
        Some(json!({"processing_name": "paymesh processing", "protocol": "osmp"})),
    )
    .await;
    let proxy = ChaosProxy::start(provider.addr)
        .await
        .expect("the proxy listens");
    let processing_zone = Zone::named(processing_zone).unwrap();
    let processing = spawn_processing_with(
        tempfile::tempdir().unwrap(),
        std::time::Duration::from_secs(1),
        |s| s.common.time_zone = processing_zone,
    )
    .await;
    let login = (
        contract["login"].as_str().unwrap().to_owned(),
        contract["password"].as_str().unwrap().to_owned(),
    );
    let n = Network::connect(provider, processing, proxy, &subscriber, &contract).await;
    (n, login)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn payments_a_second_either_side_of_processings_midnight_reconcile_in_any_zones() {
    for (processing_zone, provider_zone) in [
        ("Europe/Moscow", "Europe/Moscow"),
        ("Europe/Moscow", "Asia/Vladivostok"),
        ("America/New_York", "Europe/Moscow"),
    ] {
        let (n, login) = network_in(processing_zone, provider_zone).await;
        n.top_up(100_000, "TZ-2").await;
        let zone = Zone::named(processing_zone).unwrap();
        let midnight = local_time::start_of_day(&zone, date!(2026 - 11 - 27));
        let before = pay_at(
            &n,
            "TZ-B",
            10_000,
            &rfc3339(midnight - time::Duration::seconds(1)),
        )
        .await;
        let at = pay_at(&n, "TZ-A", 20_000, &rfc3339(midnight)).await;
        for (day, id) in [("2026-11-26", before), ("2026-11-27", at)] {
            let lines = registry_lines(&n, day).await;
            assert_eq!(
                lines.len(),
                1,
                "{processing_zone}/{provider_zone} {day}: {lines:?}"
            );
            assert!(lines[0].starts_with(&format!("{id};")), "{lines:?}");
            let found = reconcile(&n, day).await;
            assert_eq!(
                found["ok"], true,
                "{processing_zone}/{provider_zone} {day}: {found}"
            );
            assert_eq!(found["theirs"], 1, "{found}");
        }
        // A credit processing never made, on the provider's books near midnight, is still
        // found — on the day its txn_date falls in.
        let stray = midnight + time::Duration::minutes(1);
        let stray_date = stray
            .format(time::macros::format_description!(
                "[year][month][day][hour][minute][second]"
            ))
            .unwrap();
        let answer = send_osmp_pay(&n, &login, "999999", &stray_date).await;
        assert!(answer.contains("<result>0</result>"), "{answer}");
        let found = reconcile(&n, "2026-11-27").await;
        assert_eq!(found["missing_at_processing"], json!(["999999"]), "{found}");
        assert_eq!(reconcile(&n, "2026-11-26").await["ok"], true);
    }
}

/// A `pay` straight to the provider with the processing contract's credentials, as if
/// from processing, for a payment processing has no record of.
async fn send_osmp_pay(
    n: &Network,
    login: &(String, String),
    txn_id: &str,
    txn_date: &str,
) -> String {
    n.provider
        .client
        .get(n.provider.url(&format!(
            "/osmp?command=pay&txn_id={txn_id}&account={}&sum=5.00&txn_date={txn_date}",
            n.account
        )))
        .basic_auth(&login.0, Some(&login.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_providers_report_and_transactions_count_its_local_days() {
    let s = Subscriber::new(TestApp::spawn(Role::Provider).await).await;
    // Move the first payment to 21:30 UTC on the 26th: 00:30 on the 27th in Moscow.
    let pool = s.app.db.as_ref().unwrap();
    db::query(
        "UPDATE transactions SET created_at = $1
         WHERE payment_id = (SELECT id FROM payments WHERE txn_id = '7001')",
    )
    .bind(Stamp::parse(AFTER_MIDNIGHT).unwrap())
    .execute(pool)
    .await
    .unwrap();
    let report = |day: &str| {
        format!(
            "/api/admin/v1/subscribers/{}/report.xlsx?from={day}&to={day}",
            s.account
        )
    };
    let (status, _, bytes) = download(&s.app, &report("2026-11-27")).await;
    assert_eq!(status, 200);
    let summary = sheet(&bytes, "Сводка");
    assert_eq!(kopecks(&row(&summary, "Оплачено, ₽")[1]), 15_000);
    assert_eq!(
        text(&row(&summary, "Часовой пояс")[1]),
        "дни и время — по часовому поясу Europe/Moscow"
    );
    let movements = sheet(&bytes, "Операции");
    assert_eq!(movements.len(), 2, "a header and the payment");
    assert_eq!(text(&movements[0][0]), "Дата и время");
    assert!((serial_of(&movements[1][0]) - excel_serial(datetime!(2026-11-27 00:30))).abs() < 1e-6);
    let days = sheet(&bytes, "По дням");
    assert_eq!(kopecks(&days[1][2]), 15_000);
    let (_, _, bytes) = download(&s.app, &report("2026-11-26")).await;
    assert_eq!(
        sheet(&bytes, "Операции").len(),
        1,
        "the 26th in Moscow had nothing"
    );

    let (status, listed) = send(
        &s.app,
        reqwest::Method::GET,
        "/api/admin/v1/transactions?from=2026-11-27&to=2026-11-27",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["txn_id"], "7001");
    let (_, earlier) = send(
        &s.app,
        reqwest::Method::GET,
        "/api/admin/v1/transactions?from=2026-11-26&to=2026-11-26",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(earlier, json!([]));
}

/// A page as the operator's browser gets it, in Russian or English.
async fn page_in(app: &TestApp, path: &str, lang: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("accept-language", lang)
        .header("cookie", format!("paymesh_lang={lang}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_report_forms_name_the_zone_their_days_are_in() {
    let (n, _) = network_in("Europe/Moscow", "Asia/Vladivostok").await;
    for (app, path, ru, en, zone) in [
        (
            &n.processing,
            "/reports",
            "Дни и время — по часовому поясу процессинга: ",
            "Days and times are in the processing center's time zone: ",
            "Europe/Moscow",
        ),
        (
            &n.processing,
            "/registry",
            "Дни и время — по часовому поясу процессинга: ",
            "Days and times are in the processing center's time zone: ",
            "Europe/Moscow",
        ),
        (
            &n.provider,
            "/reports",
            "Дни и время — по часовому поясу оператора: ",
            "Days and times are in the operator's time zone: ",
            "Asia/Vladivostok",
        ),
        (
            &n.provider,
            "/transactions",
            "Дни и время — по часовому поясу оператора: ",
            "Days and times are in the operator's time zone: ",
            "Asia/Vladivostok",
        ),
    ] {
        for (lang, label) in [("ru", ru), ("en", en)] {
            let html = page_in(app, path, lang).await;
            // The note's paragraph, hydration markers gone (attribute order varies).
            let note = html
                .split_once("id=\"days-zone\"")
                .and_then(|(_, rest)| rest.split_once("</p>"))
                .map(|(p, _)| {
                    p.replace("<!-- -->", "")
                        .replace("<!>", "")
                        .replace("&#x27;", "'")
                })
                .unwrap_or_else(|| panic!("{path} ({lang}) has no zone note: {html}"));
            assert!(
                note.contains(&format!("{label}<code>{zone}</code>")),
                "{path} ({lang}) names {zone}: {note}"
            );
        }
    }
}
