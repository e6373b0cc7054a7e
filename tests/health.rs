use portals::role::Role;

use crate::helpers::{ADMIN_PASSWORD, TestApp};

#[tokio::test]
async fn every_role_answers_healthz_without_credentials() {
    for role in Role::ALL {
        let app = TestApp::spawn(role).await;
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{role}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "role": role.as_str()})
        );
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_the_operator() {
    let app = TestApp::spawn(Role::Processing).await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    let response = app
        .client
        .get(app.url("/metrics"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("paymesh_up{role=\"processing\"} 1"), "{text}");
    assert!(
        text.contains("route=\"/healthz\",status=\"200\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn home_page_is_russian_by_default_and_switches_to_english() {
    let app = TestApp::spawn(Role::Provider).await;
    let get = |cookie: Option<&'static str>| {
        let mut request = app
            .client
            .get(app.url("/"))
            .basic_auth("admin", Some(ADMIN_PASSWORD));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let html = get(None).await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"ru\""), "{html}");
    assert!(html.contains("Биллинг провайдера"));
    assert!(html.contains("data-role=\"provider\""));

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let switch = no_redirects
        .get(app.url("/lang?to=en&back=/tariffs"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), 303);
    assert_eq!(switch.headers()["location"], "/tariffs");
    assert!(
        switch.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("paymesh_lang=en;")
    );
    let evil = no_redirects
        .get(app.url("/lang?to=en&back=//evil.example/"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.headers()["location"], "/", "never an open redirect");

    let html = get(Some("paymesh_lang=en"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains("Provider billing"));
}

#[tokio::test]
async fn unknown_pages_and_routes_are_404_behind_auth() {
    let app = TestApp::spawn(Role::Agent).await;
    let page = app
        .client
        .get(app.url("/no-such-page"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let api = app
        .client
        .get(app.url("/api/admin/v1/nothing"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn state_changes_from_another_site_are_refused() {
    let app = TestApp::spawn(Role::Consumer).await;
    let post = |origin: &'static str| {
        app.client
            .post(app.url("/api/admin/v1/participant"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("origin", origin)
            .send()
    };
    let forged = post("http://evil.example").await.unwrap();
    assert_eq!(forged.status(), 403);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["error"]["code"], "cross_site_request");
    let same_origin = app
        .client
        .post(app.url("/api/admin/v1/participant"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_origin.status(),
        405,
        "passes the check and reaches the router"
    );
}
