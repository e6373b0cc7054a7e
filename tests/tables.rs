//! Tables that scale (#19): the provider's subscriber search folds Russian case and `ё`,
//! its list sorts on the server by a closed set of columns and pages by keyset past the
//! 500-row cap; processing's agents and providers sort the same way; the payment list
//! exports what its filter selects as xlsx. Run on SQLite, and on PostgreSQL when the run
//! has a cluster (`PAYMESH_TEST_POSTGRES`).

use std::collections::BTreeSet;

use portals::role::Role;
use portals::server::{clock, db, search_key};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp};

/// Signs a subscriber through the API; its account.
async fn sign(app: &TestApp, full_name: &str, email: &str) -> String {
    let (status, body) = crate::helpers::send(
        app,
        reqwest::Method::POST,
        "/api/admin/v1/subscribers",
        ("admin", ADMIN_PASSWORD),
        Some(json!({
            "full_name": full_name, "passport": "4510 123456",
            "email": email, "services": ["call"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["account"].as_str().unwrap().to_owned()
}

/// `GET path` as the operator: (status, body, the `Link` header's next URL if any).
async fn get(app: &TestApp, path: &str) -> (u16, Value, Option<String>) {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let next = response
        .headers()
        .get(reqwest::header::LINK)
        .and_then(|v| v.to_str().ok())
        .map(|link| {
            let (url, rel) = link.split_once(">; ").expect("<url>; rel=\"next\"");
            assert_eq!(rel, "rel=\"next\"");
            url.trim_start_matches('<').to_owned()
        });
    (status, response.json().await.unwrap_or(Value::Null), next)
}

/// The full names a subscriber list answered, in its order.
fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|s| s["full_name"].as_str().unwrap().to_owned())
        .collect()
}

fn search_path(q: &str) -> String {
    format!("/api/admin/v1/subscribers?q={}", url_encode(q))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn subscriber_search_ignores_russian_case_yo_and_extra_spaces() {
    let app = TestApp::spawn(Role::Provider).await;
    sign(&app, "Петров Иван Сергеевич", "ivan@example.ru").await;
    sign(&app, "ПЕТРОВА Анна", "anna@example.ru").await;
    sign(&app, "Сидоров Пётр", "Sidorov.P@Example.RU").await;
    sign(&app, "Ёлкина Мария", "maria@example.ru").await;
    sign(&app, "Smith John", "john@example.com").await;

    let cases: [(&str, &[&str]); 8] = [
        // Lower case finds upper and title case (SQLite's LIKE folded ASCII only).
        ("петров", &["ПЕТРОВА Анна", "Петров Иван Сергеевич"]),
        ("ПЕТРОВ ИВАН", &["Петров Иван Сергеевич"]),
        // ё and е are one letter to the search, either way round.
        ("сидоров петр", &["Сидоров Пётр"]),
        ("СИДОРОВ ПЁТР", &["Сидоров Пётр"]),
        ("елкина", &["Ёлкина Мария"]),
        // Runs of spaces count as one.
        ("  петров    иван  ", &["Петров Иван Сергеевич"]),
        // E-mail and Latin fold too.
        ("sidorov.p@example", &["Сидоров Пётр"]),
        ("SMITH", &["Smith John"]),
    ];
    for (q, expected) in cases {
        let (status, list, _) = get(&app, &search_path(q)).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(names(&list), expected, "search {q:?}");
    }
    // Wildcards are characters, not patterns; a search spanning two fields finds nothing.
    for q in ["%", "_", "анна anna@"] {
        let (_, list, _) = get(&app, &search_path(q)).await;
        assert_eq!(names(&list), Vec::<String>::new(), "search {q:?}");
    }
}

#[tokio::test]
async fn a_changed_name_is_found_by_its_new_name_only() {
    let app = TestApp::spawn(Role::Provider).await;
    let account = sign(&app, "Кузнецов Олег", "oleg@example.ru").await;
    let (status, body) = crate::helpers::send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/subscribers/{account}"),
        ("admin", ADMIN_PASSWORD),
        Some(json!({"full_name": "Ёжиков Олег"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, list, _) = get(&app, &search_path("ежиков")).await;
    assert_eq!(names(&list), ["Ёжиков Олег"]);
    let (_, list, _) = get(&app, &search_path("кузнецов")).await;
    assert_eq!(names(&list), Vec::<String>::new());
    // Changing the e-mail alone keeps the name searchable and makes the new address so.
    crate::helpers::send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/subscribers/{account}"),
        ("admin", ADMIN_PASSWORD),
        Some(json!({"email": "Yozh@Example.RU"})),
    )
    .await;
    let (_, list, _) = get(&app, &search_path("yozh@")).await;
    assert_eq!(names(&list), ["Ёжиков Олег"]);
    let (_, list, _) = get(&app, &search_path("ЁЖИКОВ")).await;
    assert_eq!(names(&list), ["Ёжиков Олег"]);
}

/// Rows from before the keys existed (as migration 0007 leaves them: no `search_key`, an
/// empty `name_key`) are found and sorted once the provider has started again.
#[tokio::test]
async fn keys_of_rows_from_before_the_migration_are_filled_at_start() {
    let app = TestApp::spawn(Role::Provider).await;
    sign(&app, "Петров Иван", "ivan@example.ru").await;
    sign(&app, "Андреев Пётр", "petr@example.ru").await;
    let dir = app.stop().await;
    let pool = TestApp::open_db(Role::Provider, &dir).await;
    db::query("UPDATE subscribers SET search_key = NULL, name_key = ''")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let app = TestApp::spawn_in(Role::Provider, dir, Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    crate::helpers::eventually("the keys filled at start", || async {
        let (_, list, _) = get(&app, &search_path("петров")).await;
        match names(&list).as_slice() {
            [one] if one == "Петров Иван" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers?sort=name&dir=asc").await;
    assert_eq!(names(&list), ["Андреев Пётр", "Петров Иван"]);
    let unfilled: (i64,) =
        db::query_as("SELECT COUNT(*) FROM subscribers WHERE search_key IS NULL OR name_key = ''")
            .fetch_one(app.db.as_ref().unwrap())
            .await
            .unwrap();
    assert_eq!(unfilled.0, 0);
}

#[tokio::test]
async fn subscribers_sort_by_name_balance_and_account_both_ways() {
    let app = TestApp::spawn(Role::Provider).await;
    // Signed out of alphabetical order; balances set below, two equal.
    let people = [
        ("Яковлев Ян", 500),
        ("андреев Антон", 100),
        ("Ёлкин Егор", 300),
        ("Борисов Борис", 300),
        ("Евдокимов Ефим", 900),
    ];
    let mut accounts = Vec::new();
    for (name, balance) in people {
        let account = sign(&app, name, "x@example.ru").await;
        db::query("UPDATE subscribers SET balance = $1 WHERE account = $2")
            .bind(balance)
            .bind(&account)
            .execute(app.db.as_ref().unwrap())
            .await
            .unwrap();
        accounts.push(account);
    }
    // By name: case aside, Ё as Е (Евдокимов before Ёлкин: "д" < "л").
    let alphabetical = [
        "андреев Антон",
        "Борисов Борис",
        "Евдокимов Ефим",
        "Ёлкин Егор",
        "Яковлев Ян",
    ];
    let (status, list, _) = get(&app, "/api/admin/v1/subscribers?sort=name&dir=asc").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(names(&list), alphabetical);
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers?sort=name&dir=desc").await;
    let mut reversed = alphabetical.to_vec();
    reversed.reverse();
    assert_eq!(names(&list), reversed);
    // By balance, largest first by default; equal balances in signing order, reversed
    // with the direction (the id breaks ties).
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers?sort=balance").await;
    assert_eq!(
        names(&list),
        [
            "Евдокимов Ефим",
            "Яковлев Ян",
            "Борисов Борис",
            "Ёлкин Егор",
            "андреев Антон"
        ]
    );
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers?sort=balance&dir=asc").await;
    assert_eq!(
        names(&list),
        [
            "андреев Антон",
            "Ёлкин Егор",
            "Борисов Борис",
            "Яковлев Ян",
            "Евдокимов Ефим"
        ]
    );
    // By account, as text.
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers?sort=account&dir=asc").await;
    let listed: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = accounts.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    // No order asked: newest first, as before.
    let (_, list, _) = get(&app, "/api/admin/v1/subscribers").await;
    assert_eq!(names(&list)[0], "Евдокимов Ефим");
    // Only the list's own columns and directions; SQL text is refused, not run.
    for bad in [
        "sort=full_name",
        "sort=balance%3B%20DROP%20TABLE%20subscribers",
        "sort=name&dir=up",
        "sort=name&dir=DESC",
        "after=garbage",
        "limit=0",
        "limit=501",
    ] {
        let (status, body, _) = get(&app, &format!("/api/admin/v1/subscribers?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{bad}");
        // The parameter at fault is the last one given.
        let field = bad.rsplit('&').next().unwrap().split('=').next().unwrap();
        assert!(body["error"]["fields"][field].is_string(), "{bad}: {body}");
    }
}

/// Subscribers written straight into the table (signing 1 203 through the API would hash
/// as many passwords), with their keys as the provider writes them.
async fn insert_many(app: &TestApp, count: usize) {
    let pool = app.db.as_ref().unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..count {
        // Names that collide in case and ё, and balances with many ties.
        let full_name = match i % 3 {
            0 => format!("Петров Иван{i:04}"),
            1 => format!("ПЁТРОВ Иван{i:04}"),
            _ => format!("Сидоров Пётр{i:04}"),
        };
        let email = format!("s{i}@example.ru");
        let account = format!("{:010}", 5_000_000_000u64 + i as u64);
        db::query(
            "INSERT INTO subscribers (account, full_name, passport, email, services, balance,
                                      created_at, updated_at, name_key, search_key)
             VALUES ($1, $2, '4510 123456', $3, 'call', $4, $5, $5, $6, $7)",
        )
        .bind(&account)
        .bind(&full_name)
        .bind(&email)
        .bind((i % 7) as i64 * 100)
        .bind(clock::now())
        .bind(search_key::fold(&full_name))
        .bind(search_key::key_of(&[&full_name, &email, &account]))
        .execute(&mut tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Follows a list's `Link` headers from `first` to the end: every row's account, in
/// order, and the number of pages.
async fn walk(app: &TestApp, first: &str) -> (Vec<(String, String, i64)>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let (status, list, link) = get(app, &path).await;
        assert_eq!(status, 200, "{path}: {list}");
        let page = list.as_array().unwrap();
        assert!(page.len() <= 500, "a page holds at most 500 rows");
        rows.extend(page.iter().map(|s| {
            (
                s["account"].as_str().unwrap().to_owned(),
                s["full_name"].as_str().unwrap().to_owned(),
                s["balance"]["amount"].as_i64().unwrap(),
            )
        }));
        pages += 1;
        assert!(pages < 20, "the pages never end");
        next = link;
    }
    (rows, pages)
}

#[tokio::test]
async fn the_subscriber_list_pages_past_the_cap_with_every_row_once_in_each_order() {
    let app = TestApp::spawn(Role::Provider).await;
    const ROWS: usize = 1_203;
    insert_many(&app, ROWS).await;

    // Before #19 the list stopped at 500 rows with nothing saying so.
    for order in [
        "",
        "&sort=name&dir=asc",
        "&sort=name&dir=desc",
        "&sort=balance&dir=desc",
        "&sort=balance&dir=asc",
        "&sort=account&dir=asc",
    ] {
        let (rows, pages) =
            walk(&app, &format!("/api/admin/v1/subscribers?limit=500{order}")).await;
        assert_eq!(pages, 3, "{order}: 1 203 rows in pages of 500");
        let unique: BTreeSet<&String> = rows.iter().map(|r| &r.0).collect();
        assert_eq!(unique.len(), ROWS, "{order}: every row once");
        assert_eq!(rows.len(), ROWS, "{order}: no row twice");
        // The pages joined are in the order asked for.
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|(account, name, balance)| match order {
                o if o.contains("name") => (search_key::fold(name), 0),
                o if o.contains("balance") => (String::new(), *balance),
                _ => (account.clone(), 0),
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if order.contains("desc") {
            sorted.reverse();
        }
        if order.is_empty() {
            // Newest first: the accounts were issued in signing order.
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{order}: in order");
    }

    // A search pages too: two thirds of the rows are some Петров/ПЁТРОВ.
    let (rows, pages) = walk(
        &app,
        &format!("{}&sort=name&dir=asc&limit=300", search_path("петров")),
    )
    .await;
    assert_eq!(rows.len(), 802, "i % 3 in {{0, 1}} of 1 203");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn processing_lists_agents_and_providers_in_the_order_asked() {
    let net = crate::processing::Network::start().await;
    net.top_up(250_000, "sorting").await;
    let app = &net.processing;
    for name in ["Яблоко", "альфа", "Ёлка"] {
        let (status, body) = crate::helpers::send(
            app,
            reqwest::Method::POST,
            "/api/admin/v1/agents",
            ("admin", ADMIN_PASSWORD),
            Some(json!({"name": name, "fee": {"percent_bp": 0, "fixed": 0, "min": 0, "max": 0}})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let agent_names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, list, _) = get(app, "/api/admin/v1/agents?sort=name&dir=asc").await;
    assert_eq!(status, 200, "{list}");
    let names = agent_names(&list);
    let position = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(
        position("альфа") < position("Ёлка") && position("Ёлка") < position("Яблоко"),
        "{names:?}"
    );
    let (_, list, _) = get(app, "/api/admin/v1/agents?sort=name&dir=desc").await;
    let mut reversed = names.clone();
    reversed.reverse();
    assert_eq!(agent_names(&list), reversed);
    let (_, list, _) = get(app, "/api/admin/v1/agents?sort=balance&dir=desc").await;
    let balances: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["balance"]["amount"].as_i64().unwrap())
        .collect();
    let mut sorted = balances.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(balances, sorted);
    assert!(
        balances[0] > 0,
        "the network's agent has a deposit: {balances:?}"
    );
    // The page asks the same of the server: its table comes sorted, its header says so.
    let page = app
        .client
        .get(app.url("/agents?sort=name&dir=desc"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} not on the page"))
    };
    assert!(at("Яблоко") < at("Ёлка") && at("Ёлка") < at("альфа"));
    assert!(
        page.contains(r#"aria-sort="descending""#),
        "the name header says the order"
    );
    let (status, body, _) = get(app, "/api/admin/v1/agents?sort=login").await;
    assert_eq!(status, 422, "{body}");
    let (status, body, _) = get(app, "/api/admin/v1/providers?sort=name&dir=sideways").await;
    assert_eq!(status, 422, "{body}");
    let (status, list, _) = get(app, "/api/admin/v1/providers?sort=name&dir=desc").await;
    assert_eq!(status, 200, "{list}");
    let providers: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| search_key::fold(p["name"].as_str().unwrap()))
        .collect();
    let mut sorted = providers.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(providers, sorted);
}

/// A sheet's cells, row by row.
fn sheet_rows(bytes: &[u8]) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = book
        .worksheet_range("Платежи")
        .expect("the sheet «Платежи»");
    range.rows().map(|r| r.to_vec()).collect()
}

fn cell_text(cell: &calamine::Data) -> String {
    match cell {
        calamine::Data::String(s) => s.clone(),
        calamine::Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn cell_number(cell: &calamine::Data) -> f64 {
    match cell {
        calamine::Data::Float(f) => *f,
        calamine::Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

async fn xlsx(app: &TestApp, path: &str) -> Vec<Vec<calamine::Data>> {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    sheet_rows(&response.bytes().await.unwrap())
}

#[tokio::test]
async fn the_payment_list_exports_what_its_filter_selects_as_xlsx() {
    let net = crate::processing::Network::start().await;
    net.top_up(10_000_000, "xlsx").await;
    // Seven payments, two of them refused by the provider (an unknown account).
    for i in 0..5 {
        let (status, body) = net.pay(&format!("x-{i}"), 10_000 + i * 1_111).await;
        assert_eq!(status, 201, "{body}");
    }
    for i in 5..7 {
        let mut body = net.payment_body(&format!("x-{i}"), 5_000);
        body["account"] = json!("9999999999");
        let (status, answer) = crate::helpers::send(
            &net.processing,
            reqwest::Method::POST,
            "/api/agent/v1/payments",
            (&net.agent_login, &net.agent_password),
            Some(body),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
    }
    let (_, completed, _) = get(&net.processing, "/api/admin/v1/payments?status=completed").await;
    let completed = completed.as_array().unwrap().clone();
    assert_eq!(completed.len(), 5, "{completed:?}");

    let rows = xlsx(
        &net.processing,
        "/api/admin/v1/payments.xlsx?status=completed",
    )
    .await;
    // The time on processing's clock (Europe/Moscow, UTC+3 all year), as the page shows it.
    assert_eq!(cell_text(&rows[0][0]), "Создан (Europe/Moscow)");
    assert_eq!(cell_text(&rows[0][8]), "Сумма, ₽");
    assert_eq!(
        rows.len(),
        1 + completed.len(),
        "a header and one row per payment"
    );
    for (row, payment) in rows[1..].iter().zip(&completed) {
        // Newest first, as the list: the same payments in the same order.
        assert_eq!(cell_number(&row[1]) as i64, payment["id"].as_i64().unwrap());
        assert_eq!(
            cell_text(&row[4]),
            payment["agent_txn_id"].as_str().unwrap()
        );
        assert_eq!(cell_text(&row[7]), net.account);
        // Money as a number of roubles, to the kopeck.
        let kopecks = (cell_number(&row[8]) * 100.0).round() as i64;
        assert_eq!(kopecks, payment["amount"].as_i64().unwrap());
        assert_eq!(cell_text(&row[10]), "проведён");
        let calamine::Data::DateTime(created) = &row[0] else {
            panic!("a date, not {:?}", row[0]);
        };
        let utc = time::OffsetDateTime::parse(
            payment["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        // Excel's serial day: days since 1899-12-30, local wall-clock time.
        let moscow = (utc.unix_timestamp() + 3 * 3600) as f64 / 86_400.0 + 25_569.0;
        assert!(
            (created.as_f64() - moscow).abs() < 2.0 / 86_400.0,
            "{} is not {} in Moscow",
            created.as_f64(),
            payment["created_at"]
        );
        assert!(!cell_text(&row[3]).is_empty(), "the agent by name");
        assert!(!cell_text(&row[6]).is_empty(), "the provider by name");
    }
    // Amounts 100.00 to 144.44 roubles, newest first.
    let amounts: Vec<f64> = rows[1..].iter().map(|r| cell_number(&r[8])).collect();
    assert_eq!(amounts, [144.44, 133.33, 122.22, 111.11, 100.0]);

    // Another filter, another selection: the refused ones only; and paging's `before`.
    let failed = xlsx(&net.processing, "/api/admin/v1/payments.xlsx?status=failed").await;
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed[1..]
            .iter()
            .all(|r| cell_text(&r[10]) == "отказ провайдера")
    );
    let before = completed[1]["id"].as_i64().unwrap();
    let older = xlsx(
        &net.processing,
        &format!("/api/admin/v1/payments.xlsx?status=completed&before={before}"),
    )
    .await;
    assert_eq!(older.len(), 1 + 3);
    // A filter the list refuses, the export refuses too.
    let (status, body, _) = get(&net.processing, "/api/admin/v1/payments.xlsx?status=lost").await;
    assert_eq!(status, 422, "{body}");
}

/// The terminal's payment list used to stop at 500 rows: now it pages by `before=` with a
/// `Link` header, every payment on exactly one page.
#[tokio::test]
async fn the_terminals_payment_list_pages_past_500_with_every_payment_once() {
    let app = TestApp::spawn(Role::Agent).await;
    let pool = app.pool.as_ref().unwrap();
    const PAYMENTS: i64 = 1_050;
    let now = clock::now_text();
    let mut tx = pool.begin().await.unwrap();
    for i in 1..=PAYMENTS {
        // Final payments (the outbox leaves them alone), a session each as the schema wants.
        sqlx::query(
            "INSERT INTO sessions (id, provider_id, provider_name, account, min_amount, max_amount, status, created_at)
             VALUES ($1, 1, 'Мегафон', '9161234567', 100, 1500000, 'paid', $2)",
        )
        .bind(i)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO payments (id, session_id, agent_txn_id, provider_id, provider_name, account, cash,
                                   agent_fee, amount, accepted_at, status, created_at, updated_at)
             VALUES ($1, $1, $2, 1, 'Мегафон', '9161234567', 10000, 0, 10000, $3,
                     CASE WHEN $1 % 10 = 0 THEN 'failed' ELSE 'completed' END, $3, $3)",
        )
        .bind(i)
        .bind(format!("t-{i}"))
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    for (filter, expected) in [("", PAYMENTS), ("&status=failed", PAYMENTS / 10)] {
        let mut seen = BTreeSet::new();
        let mut last_id = i64::MAX;
        let mut pages = 0;
        let mut next = Some(format!("/api/admin/v1/payments?limit=500{filter}"));
        while let Some(path) = next.take() {
            let (status, list, link) = get(&app, &path).await;
            assert_eq!(status, 200, "{path}: {list}");
            for payment in list.as_array().unwrap() {
                let id = payment["id"].as_i64().unwrap();
                assert!(id < last_id, "newest first across pages");
                last_id = id;
                assert!(seen.insert(id), "{id} on two pages");
            }
            pages += 1;
            assert!(pages < 10, "the pages never end");
            next = link;
        }
        assert_eq!(seen.len() as i64, expected, "{filter}: every payment once");
    }
    let (status, body, _) = get(&app, "/api/admin/v1/payments?limit=501").await;
    assert_eq!(status, 422, "{body}");

    // The portal's page: 50 a page, a link to the next one before the last shown.
    let html = |path: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(app.url(path))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let first = html("/payments").await;
    assert!(
        first.contains("t-1050") && !first.contains("t-1000<"),
        "50 a page"
    );
    assert!(
        first.contains(r#"href="?before=1001""#),
        "the next page starts before 1001"
    );
    let deep = html("/payments?before=51").await;
    assert!(deep.contains("t-50<") && deep.contains("t-1<"));
    assert!(
        !deep.contains(r#"id="next-page""#),
        "the last page has no next"
    );
    assert!(deep.contains(r#"id="first-page""#));
}

/// Unresolved cash and collections page the same way (they stopped at 500 too).
#[tokio::test]
async fn unresolved_cash_and_collections_page_past_500() {
    let app = TestApp::spawn(Role::Agent).await;
    let pool = app.pool.as_ref().unwrap();
    const ROWS: i64 = 520;
    let now = clock::now_text();
    let mut tx = pool.begin().await.unwrap();
    for i in 1..=ROWS {
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

    for (first, key) in [
        (
            "/api/admin/v1/unresolved-cash?state=open&limit=200",
            "claim_code",
        ),
        ("/api/admin/v1/encashments?limit=200", "encashment_id"),
    ] {
        let mut seen = BTreeSet::new();
        let mut pages = 0;
        let mut next = Some(first.to_owned());
        while let Some(path) = next.take() {
            let (status, list, link) = get(&app, &path).await;
            assert_eq!(status, 200, "{path}: {list}");
            for row in list.as_array().unwrap() {
                assert!(seen.insert(row[key].to_string()), "{} twice", row[key]);
            }
            pages += 1;
            assert!(pages < 10, "the pages never end");
            next = link;
        }
        assert_eq!((seen.len() as i64, pages), (ROWS, 3), "{first}");
    }
    // Without a limit: 500, and a link to the 20 older.
    let (_, list, link) = get(&app, "/api/admin/v1/encashments").await;
    assert_eq!(list.as_array().unwrap().len(), 500);
    let (_, rest, end) = get(&app, &link.expect("a next page")).await;
    assert_eq!((rest.as_array().unwrap().len(), end), (20, None));
    let (status, body, _) = get(&app, "/api/admin/v1/unresolved-cash?limit=0").await;
    assert_eq!(status, 422, "{body}");
}

/// The provider's movements page past 500 too: one account's 620 charges in pages of 250,
/// each once, another account's left out; the subscriber's page links to them all.
#[tokio::test]
async fn the_providers_transactions_page_past_500_for_one_account() {
    let app = TestApp::spawn(Role::Provider).await;
    let mine = sign(&app, "Петров Иван", "ivan@example.ru").await;
    let other = sign(&app, "Сидоров Пётр", "petr@example.ru").await;
    let pool = app.db.as_ref().unwrap();
    let mut tx = pool.begin().await.unwrap();
    for (account, count) in [(&mine, 620), (&other, 30)] {
        for i in 0..count {
            db::query(
                "INSERT INTO transactions (subscriber_id, kind, service, quantity, unit_price, amount, balance_after, created_at)
                 SELECT id, 'usage', 'call', 1, 100, -100, $2, $3 FROM subscribers WHERE account = $1",
            )
            .bind(account)
            .bind(i as i64)
            .bind(clock::now())
            .execute(&mut tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();

    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut next = Some(format!(
        "/api/admin/v1/transactions?account={mine}&limit=250"
    ));
    while let Some(path) = next.take() {
        let (status, list, link) = get(&app, &path).await;
        assert_eq!(status, 200, "{path}: {list}");
        for row in list.as_array().unwrap() {
            assert_eq!(row["account"], mine.as_str());
            assert!(seen.insert(row["id"].as_i64().unwrap()), "{row} twice");
        }
        pages += 1;
        assert!(pages < 10, "the pages never end");
        next = link;
    }
    assert_eq!((seen.len(), pages), (620, 3));
    let (status, body, _) = get(&app, "/api/admin/v1/transactions?limit=9999").await;
    assert_eq!(status, 422, "{body}");

    // The portal: 100 a page, the next page's link keeps the account.
    let page = app
        .client
        .get(app.url(&format!("/transactions?account={mine}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("href=\"?account={mine}&amp;before="))
            || page.contains(&format!("href=\"?account={mine}&before=")),
        "a next page for the account"
    );
    let detail = app
        .client
        .get(app.url(&format!("/subscribers/{mine}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains(&format!("/transactions?account={mine}")),
        "the whole history is one click away"
    );
}
