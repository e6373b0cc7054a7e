//! Every route of every realm of every role, tried without credentials, with a wrong
//! password, with every *other* realm's valid credentials (all 401), and with its own
//! realm's credentials (never 401). Each route is tried from its own loopback address,
//! so the wrong passwords the matrix sends add up to no login throttle (which counts per
//! login and client address; `throttle.rs` tests it).

use portals::role::Role;
use portals::server::credentials::DbCredentials;

use crate::helpers::{ADMIN_PASSWORD, KIOSK_PASSWORD, TERMINAL_PASSWORD, TestApp};

/// A login/password pair of one realm.
#[derive(Clone)]
struct Login {
    realm: &'static str,
    login: String,
    password: String,
}

/// (method, path, realms that may use it)
type Route = (&'static str, &'static str, &'static [&'static str]);

const OPERATOR_ROUTES: &[Route] = &[
    ("GET", "/", &["operator"]),
    ("GET", "/metrics", &["operator"]),
    ("GET", "/api/admin/v1/participant", &["operator"]),
    ("GET", "/no-such-page", &["operator"]),
    ("POST", "/api/admin/v1/anything", &["operator"]),
];

fn routes(role: Role) -> Vec<Route> {
    let mut routes = OPERATOR_ROUTES.to_vec();
    let pages: &[&'static str] = match role {
        Role::Consumer => &["/contracts", "/history"],
        Role::Provider => &[
            "/subscribers",
            "/tariffs",
            "/processing-contracts",
            "/transactions",
            "/osmp-log",
            "/reports",
        ],
        Role::Processing => &[
            "/providers",
            "/agents",
            "/payments",
            "/ledger",
            "/reports",
            "/registry",
        ],
        Role::Agent => &["/contract", "/payments", "/fee"],
    };
    routes.extend(pages.iter().map(|p| ("GET", *p, &["operator"][..])));
    // The language switch: the kiosk has one too.
    let lang: &'static [&'static str] = if role == Role::Agent {
        &["operator", "kiosk"]
    } else {
        &["operator"]
    };
    routes.push(("GET", "/lang?to=en", lang));
    match role {
        Role::Consumer => routes.extend([
            ("GET", "/pkg/paymesh.js", &["operator"][..]),
            ("GET", "/assets/paymesh.css", &["operator"][..]),
        ]),
        Role::Provider => routes.extend([
            ("GET", "/pkg/paymesh.js", &["operator"][..]),
            ("GET", "/assets/paymesh.css", &["operator"][..]),
            ("POST", "/ui/provider/subscribers", &["operator"][..]),
            ("POST", "/ui/provider/contract-fields", &["operator"][..]),
            ("GET", "/processing-contracts/1", &["operator"][..]),
            (
                "PUT",
                "/api/admin/v1/processing-contracts/1/fields",
                &["operator"][..],
            ),
            ("POST", "/api/usage/v1/usage", &["subscriber"][..]),
            ("GET", "/api/usage/v1/balance", &["subscriber"][..]),
            (
                "GET",
                "/osmp?command=check&txn_id=1&account=1&sum=1.00",
                &["processing"][..],
            ),
            ("POST", "/osmp", &["processing"][..]),
            ("POST", "/api/processing/v1/check", &["processing"][..]),
            ("POST", "/api/processing/v1/pay", &["processing"][..]),
        ]),
        Role::Processing => routes.extend([
            ("GET", "/pkg/paymesh.js", &["operator"][..]),
            ("GET", "/assets/paymesh.css", &["operator"][..]),
            ("GET", "/api/agent/v1/catalog", &["agent"][..]),
            ("GET", "/api/agent/v1/balance", &["agent"][..]),
            ("POST", "/api/agent/v1/payments", &["agent"][..]),
        ]),
        Role::Agent => routes.extend([
            ("GET", "/pkg/paymesh.js", &["operator", "kiosk"][..]),
            ("GET", "/assets/paymesh.css", &["operator", "kiosk"][..]),
            ("GET", "/kiosk", &["kiosk"][..]),
            // A provider's logo on the kiosk's tiles (none here: 404 to the kiosk).
            ("GET", "/kiosk/logos/1", &["kiosk"][..]),
            ("POST", "/ui/kiosk/state", &["kiosk"][..]),
            ("POST", "/ui/agent/status", &["operator"][..]),
            ("GET", "/api/kiosk/v1/catalog", &["kiosk"][..]),
            ("POST", "/api/kiosk/v1/payments", &["kiosk"][..]),
            ("POST", "/api/kiosk/v1/sessions", &["kiosk"][..]),
            ("POST", "/api/kiosk/v1/sessions/1/pay", &["kiosk"][..]),
            // kiosk-shell's realm: the only way cash comes in.
            ("POST", "/api/terminal/v1/bills", &["terminal"][..]),
            ("PUT", "/api/terminal/v1/validator", &["terminal"][..]),
            ("GET", "/api/terminal/v1/limit", &["terminal"][..]),
        ]),
    }
    routes
}

/// One valid login for each realm the role has, issued the way contracts will issue them.
async fn logins(app: &TestApp) -> Vec<Login> {
    let mut logins = vec![Login {
        realm: "operator",
        login: "admin".into(),
        password: ADMIN_PASSWORD.into(),
    }];
    let db_realms: &[&'static str] = match app.role {
        Role::Consumer => &[],
        Role::Provider => &["subscriber", "processing"],
        Role::Processing => &["agent"],
        Role::Agent => {
            logins.push(Login {
                realm: "kiosk",
                login: "kiosk".into(),
                password: KIOSK_PASSWORD.into(),
            });
            logins.push(Login {
                realm: "terminal",
                login: "terminal".into(),
                password: TERMINAL_PASSWORD.into(),
            });
            &[]
        }
    };
    for realm in db_realms {
        let pool = app
            .db
            .clone()
            .expect("roles with DB realms have a database");
        let login = format!("{realm}-1");
        let password = DbCredentials::new(pool, realm)
            .issue(&login, "subject-1")
            .await
            .expect("issue login");
        logins.push(Login {
            realm,
            login,
            password,
        });
    }
    logins
}

async fn status(
    app: &TestApp,
    from: std::net::IpAddr,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
) -> (u16, Option<String>) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    // No redirects: the status of this route, not of wherever it points.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .unwrap();
    let mut request = client.request(method, app.url(path));
    if let Some((login, password)) = auth {
        request = request.basic_auth(login, Some(password));
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn every_route_of_every_realm_requires_its_own_realm() {
    for role in Role::ALL {
        let app = TestApp::spawn(role).await;
        let logins = logins(&app).await;
        let expected_challenge = format!("Basic realm=\"paymesh-{role}\", charset=\"UTF-8\"");
        for (n, (method, path, realms)) in routes(role).into_iter().enumerate() {
            let from = std::net::IpAddr::from([127, 0, 1, u8::try_from(n + 1).unwrap()]);
            let (code, challenge) = status(&app, from, method, path, None).await;
            assert_eq!(code, 401, "{role} {method} {path} without credentials");
            assert_eq!(
                challenge.as_deref(),
                Some(expected_challenge.as_str()),
                "{role} {method} {path}"
            );
            for login in &logins {
                let allowed = realms.contains(&login.realm);
                let (code, _) = status(
                    &app,
                    from,
                    method,
                    path,
                    Some((&login.login, "wrong-password")),
                )
                .await;
                assert_eq!(
                    code, 401,
                    "{role} {method} {path} with a wrong {} password",
                    login.realm
                );
                let (code, _) = status(
                    &app,
                    from,
                    method,
                    path,
                    Some((&login.login, &login.password)),
                )
                .await;
                if allowed {
                    assert_ne!(
                        code, 401,
                        "{role} {method} {path} must accept the {} realm",
                        login.realm
                    );
                } else {
                    assert_eq!(
                        code, 401,
                        "{role} {method} {path} must refuse the {} realm",
                        login.realm
                    );
                }
            }
        }
        // Only /healthz is public.
        let from = std::net::IpAddr::from([127, 0, 0, 1]);
        assert_eq!(status(&app, from, "GET", "/healthz", None).await.0, 200);
        assert_eq!(
            status(&app, from, "POST", "/healthz", None).await.0,
            401,
            "{role}: only GET /healthz is public"
        );
    }
}

#[tokio::test]
async fn a_revoked_login_stops_working_at_once() {
    let app = TestApp::spawn(Role::Processing).await;
    let store = DbCredentials::new(app.db.clone().unwrap(), "agent");
    let password = store.issue("agent-7", "7").await.unwrap();
    let get = || {
        app.client
            .get(app.url("/api/agent/v1/balance"))
            .basic_auth("agent-7", Some(&password))
            .send()
    };
    assert_ne!(get().await.unwrap().status(), 401);
    let mut tx = app.db.as_ref().unwrap().begin().await.unwrap();
    store.revoke(&mut tx, "agent-7").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(get().await.unwrap().status(), 401);
}

/// Status, `Retry-After` and error code of a GET of `path` from `from`.
async fn login_from(
    app: &TestApp,
    from: [u8; 4],
    (path, login, password): (&str, &str, &str),
) -> (u16, Option<u64>, String) {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap();
    let response = client
        .get(app.url(path))
        .basic_auth(login, Some(password))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    (status, retry_after, code)
}

#[tokio::test]
async fn ten_failed_logins_throttle_that_login_from_that_address_only() {
    let app = TestApp::spawn(Role::Agent).await;
    let admin = "/api/admin/v1/participant";
    let attacker = [127, 0, 3, 1];
    for n in 0..10 {
        let guess = format!("guess-{n}");
        let (status, _, _) = login_from(&app, attacker, (admin, "admin", &guess)).await;
        assert_eq!(status, 401, "failure {n}");
    }
    let (status, retry_after, code) =
        login_from(&app, attacker, (admin, "admin", ADMIN_PASSWORD)).await;
    assert_eq!(status, 429, "the right password too, from that address");
    assert_eq!(code, "too_many_attempts");
    let retry_after = retry_after.expect("Retry-After");
    assert!(
        (1..=300).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // The same login from another address, and another login from this one, still work.
    let (status, _, _) = login_from(&app, [127, 0, 3, 2], (admin, "admin", ADMIN_PASSWORD)).await;
    assert_eq!(status, 200);
    let kiosk = ("/api/kiosk/v1/state", "kiosk", KIOSK_PASSWORD);
    let (status, _, _) = login_from(&app, attacker, kiosk).await;
    assert_eq!(status, 200);
}
