//! Signing the demo network's contracts through the participants' real APIs, once: each
//! provider signs a subscriber and a contract with processing; processing signs the three
//! providers and an agent, and tops the agent up; the agent saves its contract; the
//! consumer stores its three contracts. The outcome is kept in `DIR/seeded.json`, so the
//! next start reuses the network instead of signing it again.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bench::Admin;

/// One provider of the demo: its key (data directory), display name, kind and port.
pub struct DemoProvider {
    pub key: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub port: u16,
}

pub const PROVIDERS: [DemoProvider; 3] = [
    DemoProvider {
        key: "megafon",
        name: "Megafon",
        kind: "mobile",
        port: 8402,
    },
    DemoProvider {
        key: "tele2",
        name: "Tele2",
        kind: "mobile",
        port: 8405,
    },
    DemoProvider {
        key: "ertelecom",
        name: "Er-Telecom",
        kind: "internet",
        port: 8406,
    },
];
pub const PROCESSING_PORT: u16 = 8403;
pub const AGENT_PORT: u16 = 8404;
pub const CONSUMER_PORT: u16 = 8401;
/// The agent's prepaid deposit in the demo: 100 000.00 RUB.
pub const AGENT_DEPOSIT_KOPECKS: i64 = 10_000_000;
pub const SEEDED_FILE: &str = "seeded.json";

/// The cities Er-Telecom's demo contract serves: its `city` field offers exactly these.
pub const ER_TELECOM_CITIES: [&str; 5] =
    ["Пермь", "Казань", "Екатеринбург", "Самара", "Новосибирск"];

/// The payment fields a demo provider issues on its processing contract, in the shapes
/// real operators use: a mobile number typed under a mask; an internet operator's
/// contract number plus the city of the contract, picked from a fixed list.
pub fn payment_fields(kind: &str) -> Value {
    if kind == "internet" {
        json!([
            {"name": "account", "label": "Номер договора", "label_en": "Contract number",
             "regex": "\\d{8}", "mask": "xxxx xxxx",
             "hint": "8 цифр — в договоре и в личном кабинете"},
            {"name": "city", "label": "Город", "label_en": "City",
             "regex": ER_TELECOM_CITIES.join("|"), "options": ER_TELECOM_CITIES,
             "hint": "Город, где подключён интернет"}
        ])
    } else {
        json!([
            {"name": "account", "label": "Номер телефона", "label_en": "Phone number",
             "regex": "9\\d{9}", "mask": "(9xx) xxx-xx-xx",
             "hint": "10 цифр, без 8 и +7"}
        ])
    }
}

/// What the seeding produced, for the printout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Seeded {
    /// (provider, account, login, password) of the demo subscriber at each provider.
    pub subscribers: Vec<(String, String, String, String)>,
    pub agent_contract: String,
    /// Whether the contracts carry `https://` URLs (`paymesh demo --tls`).
    #[serde(default)]
    pub https: bool,
}

/// How the seeding reaches the participants: their scheme, and a client that trusts them.
pub struct Web {
    pub https: bool,
    pub client: reqwest::Client,
}

impl Web {
    /// `http(s)://127.0.0.1:PORT`.
    pub fn base(&self, port: u16) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{port}")
    }
}

fn password(dir: &Path, key: &str, file: &str) -> Result<String, String> {
    std::fs::read_to_string(dir.join(key).join(file))
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("{key}/{file}: {e}"))
}

/// Signs everything, unless `DIR/seeded.json` says it was done (with the same scheme:
/// contracts signed over HTTP carry `http://` URLs that an HTTPS network cannot use).
pub async fn seed(dir: &Path, web: &Web) -> Result<Seeded, String> {
    if let Ok(text) = std::fs::read_to_string(dir.join(SEEDED_FILE))
        && let Ok(seeded) = serde_json::from_str::<Seeded>(&text)
    {
        if seeded.https != web.https {
            let (was, now) = if seeded.https {
                ("with --tls", "without")
            } else {
                ("without --tls", "with")
            };
            return Err(format!(
                "{} was seeded {was}; its contracts' URLs do not work {now} it. Start the demo as before, or use another --data-dir",
                dir.display()
            ));
        }
        return Ok(seeded);
    }
    let client = &web.client;
    let processing_pw = password(dir, "processing", "admin-password")?;
    let processing_base = web.base(PROCESSING_PORT);
    let processing = Admin {
        client,
        base: &processing_base,
        password: &processing_pw,
    };
    let post = reqwest::Method::POST;
    let mut subscribers = Vec::new();
    let mut consumer_contracts = Vec::new();
    for (i, p) in PROVIDERS.iter().enumerate() {
        let pw = password(dir, p.key, "admin-password")?;
        let base = web.base(p.port);
        let provider = Admin {
            client,
            base: &base,
            password: &pw,
        };
        let services = if p.kind == "internet" {
            json!(["internet"])
        } else {
            json!(["call", "sms", "internet"])
        };
        let subscriber = provider
            .call(
                post.clone(),
                "/subscribers",
                Some(json!({
                    "full_name": "Иванов Иван Иванович", "passport": format!("4510 12345{i}"),
                    "email": "ivanov@example.ru", "services": services
                })),
            )
            .await?;
        let contract = provider
            .call(
                post.clone(),
                "/processing-contracts",
                Some(json!({
                    "processing_name": "paymesh processing", "protocol": "osmp",
                    "fields": payment_fields(p.kind)
                })),
            )
            .await?;
        let endpoint = contract["endpoint_url"].as_str().unwrap_or_default();
        processing
            .register_provider(p.name, p.kind, endpoint, &contract)
            .await?;
        let mut for_consumer = subscriber.clone();
        for_consumer["provider_name"] = json!(p.name);
        consumer_contracts.push(for_consumer);
        subscribers.push((
            p.name.to_owned(),
            subscriber["account"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            subscriber["login"].as_str().unwrap_or_default().to_owned(),
            subscriber["password"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    let agent = processing
        .call(
            post.clone(),
            "/agents",
            Some(json!({
                "name": "Демо-терминал", "fee": {"percent_bp": 100, "fixed": 0, "min": 0, "max": null}
            })),
        )
        .await?;
    processing
        .call(
            post.clone(),
            &format!("/agents/{}/topups", agent["agent_id"]),
            Some(json!({"amount": AGENT_DEPOSIT_KOPECKS, "reference": "demo-deposit"})),
        )
        .await?;
    let agent_pw = password(dir, "agent", "admin-password")?;
    let agent_base = web.base(AGENT_PORT);
    let terminal = Admin {
        client,
        base: &agent_base,
        password: &agent_pw,
    };
    terminal
        .call(
            reqwest::Method::PUT,
            "/contract",
            Some(json!({
                "processing_url": agent["api_url"], "contract_number": agent["contract_number"],
                "login": agent["login"], "password": agent["password"]
            })),
        )
        .await?;
    terminal
        .call(
            reqwest::Method::PUT,
            "/fee",
            Some(json!({"percent_bp": 200})),
        )
        .await?;
    let consumer_pw = password(dir, "consumer", "admin-password")?;
    let consumer_base = web.base(CONSUMER_PORT);
    let consumer = Admin {
        client,
        base: &consumer_base,
        password: &consumer_pw,
    };
    for contract in consumer_contracts {
        consumer
            .call(post.clone(), "/contracts", Some(contract))
            .await?;
    }
    let seeded = Seeded {
        subscribers,
        agent_contract: agent["contract_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        https: web.https,
    };
    let text = serde_json::to_string_pretty(&seeded).map_err(|e| e.to_string())?;
    // It lists the demo subscribers' passwords: owner-only, like every secret.
    crate::server::data_dir::write_private(&dir.join(SEEDED_FILE), text.as_bytes())
        .map_err(|e| format!("{SEEDED_FILE}: {e}"))?;
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::fields::{Field, FieldSet, Keypad, keypad};

    fn fields(kind: &str) -> Vec<Field> {
        serde_json::from_value(payment_fields(kind)).expect("demo fields are Field objects")
    }

    #[test]
    fn the_demo_fields_compile_and_take_the_accounts_the_providers_issue() {
        let mobile = FieldSet::compile(&fields("mobile")).expect("mobile fields compile");
        assert!(mobile.validate("9161234567", &Default::default()).is_ok());
        assert_eq!(fields("mobile")[0].masked("9161234567"), "(916) 123-45-67");
        assert_eq!(keypad(&fields("mobile")[0]), Keypad::Digits);

        let internet = FieldSet::compile(&fields("internet")).expect("internet fields compile");
        let city = [("city".to_owned(), "Казань".to_owned())].into();
        assert!(internet.validate("10000001", &city).is_ok());
        assert!(internet.validate("10000001", &Default::default()).is_err());
        assert_eq!(keypad(&fields("internet")[1]), Keypad::Options);
    }
}
