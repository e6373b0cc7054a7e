//! Agent and credential lifecycle, and the small holes of issue #13: suspending and
//! resuming an agent, rotating passwords (processing's agents, the provider's processing
//! centers), no stored password in any answer or page, the language switch's redirect,
//! the registry CSV, checked fees, and owner-only files.

use portals::server::db;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use portals::role::Role;
use serde_json::{Value, json};

use crate::agent::Terminal;
use crate::helpers::{ADMIN_PASSWORD, TestApp, eventually, now_rfc3339, send};
use crate::processing::Network;

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A new agent contract on processing `app`: its creation answer (201 asserted).
async fn new_agent(app: &TestApp) -> Value {
    let (status, agent) = admin(
        app,
        reqwest::Method::POST,
        "/api/admin/v1/agents",
        Some(json!({"name": "T"})),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    agent
}

/// A processing process whose database is `db` (`--database-url sqlite:PATH`): a second
/// process behind a load balancer, or a database kept outside the data directory.
/// Processing on the SQLite file `db`.
async fn processing_on(db: &Path) -> TestApp {
    let url = format!("sqlite:{}", db.display());
    TestApp::spawn_with(
        Role::Processing,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| s.common.database_url = Some(url),
    )
    .await
    .expect("processing starts on the given database")
}

/// A second processing process on the database of `first` (its SQLite file, or its
/// PostgreSQL database in the PostgreSQL pass), with a data directory of its own.
async fn processing_beside(first: &TestApp) -> TestApp {
    let url = first.database_url();
    TestApp::spawn_with(
        Role::Processing,
        tempfile::tempdir().unwrap(),
        Some(ADMIN_PASSWORD),
        |s| s.common.database_url = Some(url),
    )
    .await
    .expect("processing starts on the given database")
}

async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    send(app, method, path, ADMIN, body).await
}

/// A page or any answer as text, with the operator's credentials.
async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Asserts that none of `secrets` appears in the answer to any of `paths`, each of which
/// does show `shown` (so a page that rendered nothing cannot pass for a safe one).
async fn assert_nowhere(app: &TestApp, paths: &[String], secrets: &[&str], shown: &str) {
    for path in paths {
        let (status, body) = text(app, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(shown), "{path} does not show {shown}: {body}");
        for secret in secrets {
            assert!(
                !body.contains(secret),
                "{path} shows a stored password: {body}"
            );
        }
    }
}

async fn agent_status_of(n: &Network) -> u16 {
    n.agent(reqwest::Method::GET, "/api/agent/v1/balance", None)
        .await
        .0
}

#[tokio::test]
async fn a_suspended_agent_is_refused_403_while_its_pending_payment_still_settles() {
    let n = Network::start().await;
    n.top_up(100_000, "PP-1").await;
    // The provider is unreachable: the payment stays pending in the retrier.
    n.proxy.break_link();
    let (status, payment) = n.pay("T-1", 10_000).await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "pending");

    let path = format!("/api/admin/v1/agents/{}", n.agent_id);
    let (status, agent) = admin(
        &n.processing,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(status, 200, "{agent}");
    assert_eq!(agent["status"], "suspended");
    assert_eq!(agent["active"], false);
    assert_eq!(
        admin(&n.processing, reqwest::Method::GET, &path, None)
            .await
            .1["status"],
        "suspended"
    );

    // Every route of the agent API refuses it, with the code of wire.md.
    for (method, route, body) in [
        (
            reqwest::Method::GET,
            "/api/agent/v1/balance".to_owned(),
            None,
        ),
        (
            reqwest::Method::GET,
            "/api/agent/v1/catalog".to_owned(),
            None,
        ),
        (
            reqwest::Method::GET,
            "/api/agent/v1/payments/T-1".to_owned(),
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/agent/v1/checks".to_owned(),
            Some(json!({"provider_id": n.provider_id, "account": n.account})),
        ),
        (
            reqwest::Method::POST,
            "/api/agent/v1/payments".to_owned(),
            Some(n.payment_body("T-2", 10_000)),
        ),
    ] {
        let (status, body) = n.agent(method, &route, body).await;
        assert_eq!(status, 403, "{route}: {body}");
        assert_eq!(body["error"]["code"], "agent_suspended", "{route}");
    }
    let (count,): (i64,) = db::query_as("SELECT COUNT(*) FROM payments WHERE agent_txn_id = 'T-2'")
        .fetch_one(n.processing.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(count, 0, "a suspended agent's payment is not recorded");

    // Its pending payment settles anyway once the provider is back.
    n.proxy.restore();
    let listing = format!("/api/admin/v1/payments?agent_id={}", n.agent_id);
    eventually(
        "the suspended agent's pending payment to complete",
        || async {
            let (_, rows) = admin(&n.processing, reqwest::Method::GET, &listing, None).await;
            let row = rows
                .as_array()
                .and_then(|r| r.iter().find(|p| p["agent_txn_id"] == "T-1").cloned());
            match row {
                Some(p) if p["status"] == "completed" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert_eq!(n.subscriber_balance().await, 10_000);
    n.assert_ledger_verifies().await;

    // Resumed, it works again at once.
    let (status, agent) = admin(
        &n.processing,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, 200, "{agent}");
    assert_eq!(agent_status_of(&n).await, 200);
    assert_eq!(n.wait_status("T-1", "completed").await["amount"], 10_000);
}

#[tokio::test]
async fn patching_an_agent_validates_and_changes_its_fee() {
    let processing = TestApp::spawn(Role::Processing).await;
    let (_, agent) = admin(
        &processing,
        reqwest::Method::POST,
        "/api/admin/v1/agents",
        Some(json!({"name": "T", "fee": {"percent_bp": 100}})),
    )
    .await;
    let path = format!("/api/admin/v1/agents/{}", agent["agent_id"]);
    for bad in [
        json!({}),
        json!({"status": "closed"}),
        json!({"status": "active", "owner": "x"}),
        json!({"fee": {"percent_bp": 10_001}}),
    ] {
        let (status, body) = admin(
            &processing,
            reqwest::Method::PATCH,
            &path,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
    let (status, _) = admin(
        &processing,
        reqwest::Method::PATCH,
        "/api/admin/v1/agents/999",
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, changed) = admin(
        &processing,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"fee": {"percent_bp": 250, "fixed": 10, "min": 0, "max": 5000}})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["fee"],
        json!({"percent_bp": 250, "fixed": 10, "min": 0, "max": 5000})
    );
    assert_eq!(
        changed["status"], "active",
        "a fee change leaves the status"
    );
}

#[tokio::test]
async fn a_rotated_agent_password_stops_the_old_one_at_once_in_every_process() {
    let first = TestApp::spawn(Role::Processing).await;
    // A second processing process on the same database (as behind a load balancer).
    let second = processing_beside(&first).await;
    let agent = new_agent(&first).await;
    let login = agent["login"].as_str().unwrap().to_owned();
    let old = agent["password"].as_str().unwrap().to_owned();
    // Both processes have verified (and cached) the old password.
    for app in [&first, &second] {
        assert_eq!(
            send(
                app,
                reqwest::Method::GET,
                "/api/agent/v1/balance",
                (&login, &old),
                None
            )
            .await
            .0,
            200
        );
    }

    let path = format!("/api/admin/v1/agents/{}/credentials", agent["agent_id"]);
    let (status, rotated) = admin(&first, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["login"], login.as_str());
    let new = rotated["password"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        rotated.as_object().unwrap().len(),
        2,
        "login and password only: {rotated}"
    );

    for app in [&first, &second] {
        let (status, _) = send(
            app,
            reqwest::Method::GET,
            "/api/agent/v1/balance",
            (&login, &old),
            None,
        )
        .await;
        assert_eq!(status, 401, "the old password still works on {}", app.addr);
        let (status, _) = send(
            app,
            reqwest::Method::GET,
            "/api/agent/v1/balance",
            (&login, &new),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        admin(
            &first,
            reqwest::Method::POST,
            "/api/admin/v1/agents/999/credentials",
            None
        )
        .await
        .0,
        404
    );
    // The agent's login cannot rotate itself: the route is the operator's.
    assert_eq!(
        send(&first, reqwest::Method::POST, &path, (&login, &new), None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn the_provider_rotates_a_processing_centers_password() {
    let provider = TestApp::spawn(Role::Provider).await;
    let (_, contract) = admin(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        Some(json!({"processing_name": "P", "protocol": "json"})),
    )
    .await;
    let login = contract["login"].as_str().unwrap().to_owned();
    let old = contract["password"].as_str().unwrap().to_owned();
    let check = json!({"txn_id": "1", "account": "9000000000", "amount": 10000});
    let gateway = |password: String| {
        let (provider, login, check) = (&provider, login.clone(), check.clone());
        async move {
            send(
                provider,
                reqwest::Method::POST,
                "/api/processing/v1/check",
                (&login, &password),
                Some(check),
            )
            .await
            .0
        }
    };
    assert_eq!(gateway(old.clone()).await, 200);

    let path = format!(
        "/api/admin/v1/processing-contracts/{}/credentials",
        contract["contract_id"]
    );
    let (status, rotated) = admin(&provider, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["login"], login.as_str());
    let new = rotated["password"].as_str().unwrap().to_owned();
    assert_eq!(gateway(old).await, 401, "the old password stopped at once");
    assert_eq!(gateway(new.clone()).await, 200);

    // A closed contract's login stays revoked: no new password for it.
    let status_path = format!(
        "/api/admin/v1/processing-contracts/{}",
        contract["contract_id"]
    );
    assert_eq!(
        admin(
            &provider,
            reqwest::Method::PATCH,
            &status_path,
            Some(json!({"status": "closed"}))
        )
        .await
        .0,
        200
    );
    let (status, body) = admin(&provider, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(gateway(new).await, 401);
    assert_eq!(
        admin(
            &provider,
            reqwest::Method::POST,
            "/api/admin/v1/processing-contracts/999/credentials",
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn processing_never_shows_a_stored_password() {
    let processing = TestApp::spawn(Role::Processing).await;
    let provider_secret = "provider-secret-Zx81";
    let (status, provider) = admin(&processing, reqwest::Method::POST, "/api/admin/v1/providers", Some(json!({
        "name": "Megafon", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:1/osmp", "protocol": "osmp",
        "login": "processing-1", "password": provider_secret,
        "fields": [{"name": "account", "label": "Телефон", "regex": "9[0-9]{9}"}], "min_amount": 100, "max_amount": 100000
    })))
    .await;
    assert_eq!(status, 201, "{provider}");
    let agent = new_agent(&processing).await;
    let agent_password = agent["password"].as_str().unwrap().to_owned();
    let rotate = format!("/api/admin/v1/agents/{}/credentials", agent["agent_id"]);
    let rotated = admin(&processing, reqwest::Method::POST, &rotate, None)
        .await
        .1;
    let rotated_password = rotated["password"].as_str().unwrap().to_owned();
    let patched = admin(
        &processing,
        reqwest::Method::PATCH,
        &format!("/api/admin/v1/providers/{}", provider["provider_id"]),
        Some(json!({"name": "Megafon 2"})),
    )
    .await;
    assert!(
        !patched.1.to_string().contains(provider_secret),
        "{}",
        patched.1
    );
    let secrets = [provider_secret, &agent_password, &rotated_password];
    let provider_paths = [
        "/api/admin/v1/providers".to_owned(),
        "/providers".to_owned(),
    ];
    assert_nowhere(&processing, &provider_paths, &secrets, "Megafon 2").await;
    let agent_paths = [
        "/api/admin/v1/agents".to_owned(),
        format!("/api/admin/v1/agents/{}", agent["agent_id"]),
        "/agents".to_owned(),
    ];
    assert_nowhere(&processing, &agent_paths, &secrets, "agent-1").await;
}

#[tokio::test]
async fn the_provider_never_shows_a_stored_password() {
    let provider = TestApp::spawn(Role::Provider).await;
    let (_, subscriber) = admin(&provider, reqwest::Method::POST, "/api/admin/v1/subscribers", Some(json!({
        "full_name": "Иванов Иван", "passport": "4510 123456", "email": "i@example.ru", "services": ["call"]
    })))
    .await;
    let (_, contract) = admin(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        Some(json!({"processing_name": "P", "protocol": "osmp"})),
    )
    .await;
    let account = subscriber["account"].as_str().unwrap();
    let secrets = [
        subscriber["password"].as_str().unwrap(),
        contract["password"].as_str().unwrap(),
    ];
    let subscriber_paths = [
        "/api/admin/v1/subscribers".to_owned(),
        format!("/api/admin/v1/subscribers/{account}"),
        "/subscribers".to_owned(),
    ];
    assert_nowhere(&provider, &subscriber_paths, &secrets, account).await;
    let contract_paths = [
        "/api/admin/v1/processing-contracts".to_owned(),
        "/processing-contracts".to_owned(),
    ];
    assert_nowhere(&provider, &contract_paths, &secrets, "processing-1").await;
}

#[tokio::test]
async fn the_agent_never_shows_its_contract_password() {
    let t = Terminal::start_with(0, false).await;
    let paths = ["/api/admin/v1/contract".to_owned(), "/contract".to_owned()];
    assert_nowhere(
        &t.agent,
        &paths,
        &[&t.net.agent_password],
        &t.net.agent_login,
    )
    .await;
    let (status, body) = text(&t.agent, "/api/admin/v1/status").await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&t.net.agent_password), "{body}");
}

#[tokio::test]
async fn the_consumer_keeps_the_password_on_file_but_never_sends_it_back() {
    let consumer = TestApp::spawn(Role::Consumer).await;
    let secret = "subscriber-secret-Q7w";
    let contract = json!({
        "provider_name": "Megafon", "subscriber_id": 7, "account": "9161234567",
        "usage_url": "http://127.0.0.1:1/api/usage/v1/usage", "protocol": "paymesh-usage/1",
        "login": "9161234567", "password": secret, "services": ["call"]
    });
    let (status, created) = admin(
        &consumer,
        reqwest::Method::POST,
        "/api/admin/v1/contracts",
        Some(contract.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("password").is_none(), "{created}");
    assert_eq!(created["login"], "9161234567");
    let id = created["id"].as_u64().unwrap();
    // A PUT without the password keeps the stored one (a client cannot read it back).
    let mut changed = contract.clone();
    changed.as_object_mut().unwrap().remove("password");
    changed["services"] = json!(["call", "sms"]);
    let (status, updated) = admin(
        &consumer,
        reqwest::Method::PUT,
        &format!("/api/admin/v1/contracts/{id}"),
        Some(changed),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert!(updated.get("password").is_none(), "{updated}");
    let paths = [
        "/api/admin/v1/contracts".to_owned(),
        format!("/api/admin/v1/contracts/{id}"),
        "/contracts".to_owned(),
    ];
    assert_nowhere(&consumer, &paths, &[secret], "9161234567").await;
    // The file keeps it: the consumer needs it to call the provider.
    let file: Value =
        serde_json::from_slice(&std::fs::read(consumer.data_dir().join("contracts.json")).unwrap())
            .unwrap();
    assert_eq!(file["contracts"][0]["password"], secret);
    assert_eq!(file["contracts"][0]["services"], json!(["call", "sms"]));
}

#[tokio::test]
async fn the_language_switch_goes_back_only_to_a_path_of_this_site() {
    let app = TestApp::spawn(Role::Consumer).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |back: &'static str| {
        let (client, url) = (client.clone(), app.url("/lang"));
        async move {
            let response = client
                .get(url)
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .query(&[("to", "en"), ("back", back)])
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_redirection(),
                "{back:?}: {}",
                response.status()
            );
            response.headers()[reqwest::header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    for good in ["/", "/contracts", "/payments?status=pending"] {
        assert_eq!(location(good).await, good);
    }
    for bad in [
        "//evil.com",
        "/\\evil.com",
        "/\t/evil.com",
        "https://evil.com/",
        "/%2F%2Fevil.com",
        "/%5Cevil.com",
        "/%09/evil.com",
        "/%252F%252Fevil.com",
    ] {
        assert_eq!(location(bad).await, "/", "{bad:?}");
    }
}

#[tokio::test]
async fn registry_csv_cells_are_quoted_and_neutralised() {
    let processing = TestApp::spawn(Role::Processing).await;
    let (_, provider) = admin(&processing, reqwest::Method::POST, "/api/admin/v1/providers", Some(json!({
        "name": "Anything", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:1/osmp", "protocol": "osmp",
        "login": "l", "password": "p", "fields": [{"name": "account", "label": "Счёт", "regex": ".*"}],
        "min_amount": 100, "max_amount": 100000
    })))
    .await;
    let agent = new_agent(&processing).await;
    // Completed payments whose provider-given prv_txn and kiosk-typed account are hostile.
    let pool = processing.db.as_ref().unwrap();
    for (id, account, prv_txn) in [
        (1, "=HYPERLINK(\"http://evil\",\"x\")", "77"),
        (2, "9161234567", "1;2\n3"),
        (3, "@SUM(A1)", "-5"),
    ] {
        db::query(
            "INSERT INTO payments (id, agent_id, agent_txn_id, request_hash, provider_id, account, cash, agent_fee, amount,
                                   processing_fee, status, prv_txn, accepted_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'h', $4, $5, 1000, 0, 1000, 0, 'completed', $6, '2026-11-26T10:15:00Z', '2026-11-26T10:15:01Z', '2026-11-26T10:15:01Z')",
        )
        .bind(id)
        .bind(agent["agent_id"].as_i64().unwrap())
        .bind(format!("T-{id}"))
        .bind(provider["provider_id"].as_i64().unwrap())
        .bind(account)
        .bind(prv_txn)
        .execute(pool)
        .await
        .unwrap();
    }
    let (status, csv) = text(
        &processing,
        &format!(
            "/api/admin/v1/registry/{}/2026-11-26.csv",
            provider["provider_id"]
        ),
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(
        csv,
        "txn_id;prv_txn;account;sum;txn_date\n\
         1;77;\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\";10.00;20261126101500\n\
         2;\"1;2\n3\";9161234567;10.00;20261126101500\n\
         3;'-5;'@SUM(A1);10.00;20261126101500\n\
         TOTAL;3;30.00\n"
    );
}

#[tokio::test]
async fn a_fee_that_overflows_refuses_the_payment_instead_of_charging_nothing() {
    let processing = TestApp::spawn(Role::Processing).await;
    let (_, provider) = admin(&processing, reqwest::Method::POST, "/api/admin/v1/providers", Some(json!({
        "name": "Megafon", "service_kind": "mobile", "endpoint_url": "http://127.0.0.1:1/osmp", "protocol": "osmp",
        "login": "l", "password": "p", "fields": [{"name": "account", "label": "Телефон", "regex": "9[0-9]{9}"}],
        "min_amount": 100, "max_amount": 100000
    })))
    .await;
    // A valid rule whose fee on any payment does not fit in the money range.
    let (status, agent) = admin(
        &processing,
        reqwest::Method::POST,
        "/api/admin/v1/agents",
        Some(json!({
            "name": "T", "fee": {"percent_bp": 10000, "fixed": i64::MAX, "min": 0, "max": null}
        })),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let credentials = (
        agent["login"].as_str().unwrap(),
        agent["password"].as_str().unwrap(),
    );
    let (status, body) = send(
        &processing,
        reqwest::Method::POST,
        "/api/agent/v1/payments",
        credentials,
        Some(json!({
            "agent_txn_id": "T-1", "provider_id": provider["provider_id"], "account": "9161234567",
            "cash": 10000, "agent_fee": 0, "amount": 10000, "accepted_at": now_rfc3339()
        })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["fields"]["amount"]
            .as_str()
            .unwrap()
            .contains("fee"),
        "{body}"
    );
    let (count,): (i64,) = db::query_as("SELECT COUNT(*) FROM payments")
        .fetch_one(processing.db.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing recorded");
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn every_file_with_a_secret_or_money_is_owner_only_after_a_real_start() {
    // The usual umask: files created without an explicit mode come out 0644. (nextest runs
    // each test in its own process, so this touches no other test.)
    unsafe { libc::umask(0o022) };
    for role in [
        Role::Provider,
        Role::Processing,
        Role::Agent,
        Role::Consumer,
    ] {
        // No --admin-password, --kiosk-password or --terminal-password: all are generated
        // into the directory.
        let app = TestApp::spawn_with(role, tempfile::tempdir().unwrap(), None, |s| {
            s.kiosk_password = None;
            s.terminal_password = None;
        })
        .await
        .expect("starts");
        let dir = app.data_dir();
        let password = std::fs::read_to_string(dir.join("admin-password")).unwrap();
        // A write, so that SQLite's WAL and shared-memory files exist.
        let (status, body) = match role {
            Role::Provider => send(&app, reqwest::Method::POST, "/api/admin/v1/processing-contracts", ("admin", password.trim()), Some(json!({"processing_name": "P", "protocol": "osmp"}))).await,
            Role::Processing => send(&app, reqwest::Method::POST, "/api/admin/v1/agents", ("admin", password.trim()), Some(json!({"name": "T"}))).await,
            Role::Agent => send(&app, reqwest::Method::PUT, "/api/admin/v1/fee", ("admin", password.trim()), Some(json!({"percent_bp": 100}))).await,
            Role::Consumer => send(&app, reqwest::Method::POST, "/api/admin/v1/contracts", ("admin", password.trim()), Some(json!({
                "provider_name": "M", "account": "1", "usage_url": "http://127.0.0.1:1/", "login": "1", "password": "p", "services": ["call"]
            }))).await,
        };
        assert!(status < 300, "{role}: {body}");
        let mut files = vec![dir.join("admin-password")];
        if role == Role::Agent {
            // The kiosk page's credential, and kiosk-shell's (the one that reports cash).
            files.push(dir.join("kiosk-password"));
            files.push(dir.join("terminal-password"));
        }
        if role == Role::Consumer {
            files.push(dir.join("contracts.json"));
        } else {
            let db = dir.join(format!("{role}.db"));
            files.extend([
                db.clone(),
                dir.join(format!("{role}.db-wal")),
                dir.join(format!("{role}.db-shm")),
            ]);
        }
        for file in files {
            assert_eq!(
                mode(&file),
                0o600,
                "{role}: {} is {:o}",
                file.display(),
                mode(&file)
            );
        }
        assert_eq!(mode(&dir), 0o700, "{role}: the data directory");
        drop(app);
    }
    // A database named by `--database-url sqlite:PATH`, outside the data directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let db = elsewhere.path().join("shared.db");
    let app = processing_on(&db).await;
    new_agent(&app).await;
    for file in [
        db.clone(),
        elsewhere.path().join("shared.db-wal"),
        elsewhere.path().join("shared.db-shm"),
    ] {
        assert_eq!(
            mode(&file),
            0o600,
            "{} is {:o}",
            file.display(),
            mode(&file)
        );
    }
}

#[tokio::test]
async fn a_suspended_agents_terminal_blocks_until_processing_resumes_it() {
    let t = Terminal::start_with(100_000, false).await;
    let path = format!("/api/admin/v1/agents/{}", t.net.agent_id);
    let sync = || async {
        let (status, body) = send(
            &t.agent,
            reqwest::Method::POST,
            "/api/admin/v1/sync",
            ADMIN,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    assert_eq!(sync().await["blocked"], false);

    let (status, _) = admin(
        &t.net.processing,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(status, 200);
    let blocked = sync().await;
    assert_eq!(blocked["blocked"], true, "{blocked}");
    assert!(
        blocked["blocked_reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("suspended")),
        "{blocked}"
    );

    let (status, _) = admin(
        &t.net.processing,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, 200);
    let open = sync().await;
    assert_eq!(open["blocked"], false, "{open}");
}

/// A portal form posted as the browser posts it (before hydration): the server
/// function's status and JSON answer.
async fn submit(app: &TestApp, endpoint: &str, form: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(endpoint))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form.to_owned())
        .send()
        .await
        .expect("form sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_portal_buttons_suspend_and_rotate_only_when_confirmed() {
    let processing = TestApp::spawn(Role::Processing).await;
    let agent = new_agent(&processing).await;
    let login = agent["login"].as_str().unwrap().to_owned();
    let old = agent["password"].as_str().unwrap().to_owned();
    let balance = |password: String| {
        let (processing, login) = (&processing, login.clone());
        async move {
            send(
                processing,
                reqwest::Method::GET,
                "/api/agent/v1/balance",
                (&login, &password),
                None,
            )
            .await
            .0
        }
    };
    // The agents page offers both buttons, each asking first: the button opens a panel
    // saying what will happen, whose «Да, …» alone sends confirm=yes.
    let (_, page) = text(&processing, "/agents").await;
    for id in [
        "status-1",
        "status-1-ask",
        "status-1-yes",
        "rotate-1",
        "rotate-1-ask",
        "rotate-1-yes",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "no #{id} on the agents page"
        );
    }
    assert!(
        page.contains("Агент не сможет проводить платежи"),
        "the suspension says what will happen"
    );
    assert!(
        !page.contains("подтверждаю"),
        "the old confirmation checkbox is gone"
    );

    // Unconfirmed: nothing changes.
    let (status, answer) = submit(
        &processing,
        "/ui/processing/agent-status",
        "agent_id=1&status=suspended",
    )
    .await;
    assert_eq!((status, answer), (200, json!("Unconfirmed")));
    let (status, answer) = submit(
        &processing,
        "/ui/processing/agent-credentials",
        "agent_id=1",
    )
    .await;
    assert_eq!((status, answer), (200, json!("Unconfirmed")));
    assert_eq!(balance(old.clone()).await, 200);

    // Confirmed: suspended, then a new password, shown once in the answer.
    let (status, answer) = submit(
        &processing,
        "/ui/processing/agent-status",
        "agent_id=1&status=suspended&confirm=yes",
    )
    .await;
    assert_eq!((status, answer), (200, json!({"StatusSet": "suspended"})));
    assert_eq!(balance(old.clone()).await, 403);
    let (status, answer) = submit(
        &processing,
        "/ui/processing/agent-credentials",
        "agent_id=1&confirm=yes",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Rotated"]["login"], login.as_str());
    let new = answer["Rotated"]["password"].as_str().unwrap().to_owned();
    assert_eq!(balance(old.clone()).await, 401, "the old password is gone");
    assert_eq!(
        balance(new.clone()).await,
        403,
        "the new one works, for a suspended agent"
    );
    let (status, _) = submit(
        &processing,
        "/ui/processing/agent-status",
        "agent_id=1&status=active&confirm=yes",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(balance(new).await, 200);

    // The provider's button works the same way.
    let provider = TestApp::spawn(Role::Provider).await;
    let (_, contract) = admin(
        &provider,
        reqwest::Method::POST,
        "/api/admin/v1/processing-contracts",
        Some(json!({"processing_name": "P", "protocol": "json"})),
    )
    .await;
    let (_, page) = text(&provider, "/processing-contracts").await;
    assert!(
        page.contains("id=\"rotate-1-yes\""),
        "no asking button on the contracts page"
    );
    let (status, _) = submit(&provider, "/ui/provider/contract-access", "id=1").await;
    assert_ne!(status, 200, "unconfirmed: refused");
    let (status, answer) = submit(
        &provider,
        "/ui/provider/contract-access",
        "id=1&confirm=yes",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Issued"]["login"], contract["login"]);
    assert_eq!(answer["Issued"]["reopened"], false);
    assert_ne!(answer["Issued"]["password"], contract["password"]);
    // The same action re-opens a closed contract with a new password.
    let (status, _) = admin(
        &provider,
        reqwest::Method::PATCH,
        "/api/admin/v1/processing-contracts/1",
        Some(json!({"status": "closed"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = submit(
        &provider,
        "/ui/provider/contract-access",
        "id=1&confirm=yes",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Issued"]["reopened"], true);
    let (_, contracts) = admin(
        &provider,
        reqwest::Method::GET,
        "/api/admin/v1/processing-contracts",
        None,
    )
    .await;
    assert_eq!(contracts[0]["status"], "active", "{contracts}");
}
