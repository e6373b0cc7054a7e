//! The agent operator's page of one payment, `/payments/{agent_txn_id}`: reached from the
//! list's link, it shows the customer's sums, the outbox state and processing's answer in
//! Russian, as the server renders it; an unknown number is a 404 page.

use crate::agent::Terminal;
use crate::dashboards::busy_terminal;
use crate::helpers::ADMIN_PASSWORD;

/// The page at `path` with the operator's credentials: its status and all of its HTML.
async fn get(t: &Terminal, path: &str) -> (u16, String) {
    let response = t
        .agent
        .client
        .get(t.agent.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The `href` of every payment link on the list, newest first.
fn payment_links(html: &str) -> Vec<String> {
    html.split(r#"href="/payments/"#)
        .skip(1)
        .filter_map(|rest| Some(format!("/payments/{}", rest.split('"').next()?)))
        .collect()
}

/// The text inside the element with `id`, tags left in.
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</").unwrap();
    &rest[open..close.max(open)]
}

#[tokio::test]
async fn the_operator_opens_a_payment_from_the_list_and_reads_it_in_russian() {
    let t = busy_terminal().await;
    let (status, list) = get(&t, "/payments").await;
    assert_eq!(status, 200);
    let links = payment_links(&list);
    assert_eq!(links.len(), 2, "{list}");

    // The older one went through: 100,00 paid in, processing answered 0.
    let (status, html) = get(&t, &links[1]).await;
    assert_eq!(status, 200, "{html}");
    assert!(element(&html, "payment-cash").contains("100,00"), "{html}");
    assert!(html.contains(r#"data-status="completed""#), "{html}");
    assert!(
        element(&html, "payment-status").contains("Проведён"),
        "{html}"
    );
    assert!(
        element(&html, "payment-answer").contains("Успешно"),
        "{html}"
    );
    assert_eq!(element(&html, "payment-attempts").trim(), "1", "{html}");
    // The terminal's clock: a local stamp with its offset, not raw UTC.
    assert!(
        element(&html, "payment-accepted").contains("(UTC"),
        "{html}"
    );

    // The newer one is still in the outbox while processing is out of reach.
    let (status, html) = get(&t, &links[0]).await;
    assert_eq!(status, 200, "{html}");
    assert!(element(&html, "payment-cash").contains("500,00"), "{html}");
    assert!(
        element(&html, "payment-status").contains("Принят, будет зачислен"),
        "{html}"
    );
    let answer = element(&html, "payment-answer");
    assert!(
        answer.contains("Ждёт") || answer.contains("Не доставлен"),
        "{answer}"
    );

    let (status, html) = get(&t, "/payments/no-such-payment").await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains(r#"id="payment-not-found""#), "{html}");
    assert!(html.contains("Такого платежа на терминале нет."), "{html}");
    t.link.restore();
}
