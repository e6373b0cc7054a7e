//! `paymesh demo` end to end, through its real processes: six participants and
//! kiosk-shell with the simulated CashCode validator, on the demo's fixed ports.
//! A subscriber with no money is refused → a banknote goes into the simulator → the
//! kiosk pays → the subscriber's balance rises by the amount, the agent's falls by the
//! amount and the processing fee, the ledger verifies → the subscriber's calls are
//! charged and the balance falls → Ctrl-C stops everything cleanly.
//!
//! And the demo cleans up after itself: killed outright it takes every process it started
//! along (the kernel's parent-death signal), and a demo that finds a port taken says
//! which before it starts anything.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{eventually, send_to};
use crate::proc_tree;

/// The demo's fixed ports (its tests run one at a time: .config/nextest.toml).
const CONSUMER_PORT: u16 = 8401;
const PROCESSING_PORT: u16 = 8403;
const AGENT_PORT: u16 = 8404;
const BRIDGE: &str = "127.0.0.1:8910";
/// Every port of `paymesh demo --processing 2 --postgres`: the participants, HAProxy on
/// processing's port, the two processing processes, PostgreSQL, kiosk-shell's bridge.
const ALL_PORTS: [u16; 10] = [8401, 8402, 8403, 8404, 8405, 8406, 8413, 8423, 8430, 8910];

/// The demo as a process; stopped with SIGTERM (as Ctrl-C) so that it stops its own
/// children: killing it outright would leave them holding the demo's ports.
struct Demo {
    child: Child,
    /// What it printed up to "Press Ctrl-C to stop".
    printed: Vec<String>,
}

impl Demo {
    fn start(dir: &Path, flags: &[&str]) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_paymesh"))
            .args(["demo", "--no-window", "--data-dir"])
            .arg(dir)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            let up = line.contains("Press Ctrl-C to stop");
            printed.push(line);
            if up {
                break;
            }
        }
        assert!(
            printed.last().is_some_and(|l| l.contains("Press Ctrl-C")),
            "the demo did not come up: {printed:#?}"
        );
        std::thread::spawn(move || lines.for_each(drop));
        Demo { child, printed }
    }

    fn stop(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

fn secret(dir: &Path, key: &str, file: &str) -> String {
    std::fs::read_to_string(dir.join(key).join(file))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn the_demo_network_takes_a_banknote_at_the_kiosk_and_the_subscriber_pays_for_calls() {
    a_banknote_at_the_kiosk_pays_for_calls(&[]).await;
}

/// The same over HTTPS (`paymesh demo --tls`): every portal, every hop between them and
/// kiosk-shell's reports, with the CA the demo made; plain HTTP gets no answer.
#[tokio::test]
async fn the_demo_over_https_takes_a_banknote_at_the_kiosk_and_pays_for_calls() {
    a_banknote_at_the_kiosk_pays_for_calls(&["--tls"]).await;
}

/// The same with processing scaled out (`paymesh demo --processing 2 --postgres`): two
/// processing processes on the demo's own PostgreSQL cluster behind HAProxy on
/// processing's port; Ctrl-C stops the cluster and HAProxy with the rest.
#[tokio::test]
async fn the_demo_with_two_processing_processes_on_postgresql_takes_a_banknote_and_pays_for_calls()
{
    let printed =
        a_banknote_at_the_kiosk_pays_for_calls(&["--processing", "2", "--postgres"]).await;
    assert!(
        printed.iter().any(|l| l.contains(
            "processing is HAProxy on :8403 in front of processing-1 :8413, processing-2 :8423"
        )),
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("PostgreSQL: postgres://postgres@127.0.0.1:8430/processing")),
        "{printed:#?}"
    );
    for port in [8413, 8423, 8430] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "something still listens on :{port} after the demo stopped"
        );
    }
}

/// Runs the kiosk scenario on `paymesh demo FLAGS`; what the demo printed on start.
async fn a_banknote_at_the_kiosk_pays_for_calls(flags: &[&str]) -> Vec<String> {
    let tls = flags.contains(&"--tls");
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let mut demo = Demo::start(dir, flags);
    let scheme = if tls { "https" } else { "http" };
    let consumer_url = format!("{scheme}://127.0.0.1:{CONSUMER_PORT}");
    let processing_url = format!("{scheme}://127.0.0.1:{PROCESSING_PORT}");
    let agent_url = format!("{scheme}://127.0.0.1:{AGENT_PORT}");
    let client = if tls {
        let ca = dir.join("tls").join("ca.pem");
        let client = shared::outbound::Trust::load(Some(&ca))
            .unwrap()
            .client(Duration::from_secs(30))
            .unwrap();
        // HTTPS only: plain HTTP, or HTTPS without the demo's CA, gets nowhere.
        let plain = crate::helpers::plain_client();
        assert!(
            plain
                .get(format!("http://127.0.0.1:{AGENT_PORT}/healthz"))
                .send()
                .await
                .is_err()
        );
        assert!(
            plain
                .get(format!("{agent_url}/healthz"))
                .send()
                .await
                .is_err()
        );
        assert_eq!(
            client
                .get(format!("{agent_url}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        client
    } else {
        crate::helpers::plain_client()
    };
    let consumer_pw = secret(dir, "consumer", "admin-password");
    let processing_pw = secret(dir, "processing", "admin-password");
    let kiosk_pw = secret(dir, "agent", "kiosk-password");
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // The consumer's Megafon contract, and the subscriber's balance through it.
    let (_, contracts) = send_to(
        &client,
        get.clone(),
        &format!("{consumer_url}/api/admin/v1/contracts"),
        ("admin", &consumer_pw),
        None,
    )
    .await;
    let megafon = contracts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_name"] == "Megafon")
        .unwrap()
        .clone();
    let balance_url = format!(
        "{}balance",
        megafon["usage_url"]
            .as_str()
            .unwrap()
            .trim_end_matches("usage")
    );
    // The API never sends a stored password back; the consumer's file keeps it.
    let file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("consumer").join("contracts.json")).unwrap(),
    )
    .unwrap();
    let on_file = file["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == megafon["id"])
        .unwrap()
        .clone();
    assert!(megafon.get("password").is_none(), "{megafon}");
    let (login, password) = (
        megafon["login"].as_str().unwrap(),
        on_file["password"].as_str().unwrap(),
    );
    let balance = || async {
        let (_, b) = send_to(
            &client,
            reqwest::Method::GET,
            &balance_url,
            (login, password),
            None,
        )
        .await;
        b["balance"]["amount"].as_i64().unwrap()
    };
    let use_calls = |minutes: i64| {
        let client = client.clone();
        let url = format!(
            "{consumer_url}/api/admin/v1/contracts/{}/use",
            megafon["id"]
        );
        let pw = consumer_pw.clone();
        async move {
            send_to(
                &client,
                reqwest::Method::POST,
                &url,
                ("admin", &pw),
                Some(json!({"service": "call", "quantity": minutes})),
            )
            .await
        }
    };
    assert_eq!(balance().await, 0);
    let (status, refused) = use_calls(3).await;
    assert_eq!(status, 402, "no money, no calls: {refused}");

    let agent_before = agent_balance(&client, &processing_url, &processing_pw).await;

    // The kiosk, as its page does it: a session, the validator enabled over the bridge.
    let (_, state) = send_to(
        &client,
        get.clone(),
        &format!("{agent_url}/api/kiosk/v1/state"),
        ("kiosk", &kiosk_pw),
        None,
    )
    .await;
    let provider_id = state["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Megafon")
        .unwrap()["provider_id"]
        .clone();
    let (status, check) = send_to(
        &client,
        post.clone(),
        &format!("{agent_url}/api/kiosk/v1/checks"),
        ("kiosk", &kiosk_pw),
        Some(json!({"provider_id": provider_id, "account": megafon["account"]})),
    )
    .await;
    assert_eq!((status, &check["result"]), (200, &json!(0)), "{check}");
    let (status, session) = send_to(
        &client,
        post.clone(),
        &format!("{agent_url}/api/kiosk/v1/sessions"),
        ("kiosk", &kiosk_pw),
        Some(json!({"provider_id": provider_id, "account": megafon["account"]})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let session_id = session["session_id"].as_i64().unwrap();
    // The bridge's URL with its token, as kiosk-shell wrote it and the demo printed it
    // (inside the kiosk page's URL); the page's origin is the agent's.
    let bridge_url = std::fs::read_to_string(dir.join("kiosk-shell").join("bridge-url"))
        .unwrap()
        .trim()
        .to_string();
    let token = bridge_url.split_once("?token=").unwrap().1.to_string();
    assert!(
        demo.printed.iter().any(|l| l
            .contains("/kiosk?bridge=ws%3A%2F%2F127.0.0.1%3A8910%2Fccnet%3Ftoken%3D")
            && l.contains(&token)),
        "{:#?}",
        demo.printed
    );
    let with_origin = |url: &str, origin: Option<&str>| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        request
    };
    // Without the token, or from another origin, the bridge refuses the page.
    for (url, origin) in [
        (format!("ws://{BRIDGE}/ccnet"), Some(agent_url.as_str())),
        (bridge_url.clone(), Some("http://127.0.0.1:8401")),
        (bridge_url.clone(), None),
    ] {
        assert!(
            tokio_tungstenite::connect_async(with_origin(&url, origin))
                .await
                .is_err(),
            "{url} {origin:?}"
        );
    }
    let (mut page, _) =
        tokio_tungstenite::connect_async(with_origin(&bridge_url, Some(agent_url.as_str())))
            .await
            .unwrap();
    page.send(Message::Text(
        json!({"type": "enable", "max_amount": 100_000})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    until(&mut page, |m| m["type"] == "state" && m["state"] == "idle").await;

    // A 500 ₽ banknote into the simulated validator (the simulator wants the token too).
    let sim = format!("http://{BRIDGE}/sim?token={token}");
    let (status, _) = send_to(&client, post.clone(), &sim, ("", ""), None).await;
    assert_eq!(status, 422, "an empty script is refused");
    let refused = client
        .post(format!("http://{BRIDGE}/sim"))
        .body("insert-rub 500")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "no token, no banknote");
    let inserted = client
        .post(&sim)
        .body("insert-rub 500")
        .send()
        .await
        .unwrap();
    assert!(inserted.status().is_success());
    let bill = until(&mut page, |m| m["type"] == "bill").await;
    assert_eq!(bill["amount"], 50_000);
    page.send(Message::Text(
        json!({"type": "ack", "event_id": bill["event_id"]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // kiosk-shell reports the bill to the agent itself, with the terminal credential the
    // demo gave it: the session has it without the page doing anything.
    let counted = eventually("kiosk-shell to report the bill", || async {
        let (_, view) = send_to(
            &client,
            reqwest::Method::GET,
            &format!("{agent_url}/api/kiosk/v1/sessions/{session_id}"),
            ("kiosk", &kiosk_pw),
            None,
        )
        .await;
        if view["cash"] == 50_000 {
            Ok(view)
        } else {
            Err(view.to_string())
        }
    })
    .await;
    let amount = counted["amount"].as_i64().unwrap();
    assert!(amount > 0 && amount <= 50_000);

    let (status, paid) = send_to(
        &client,
        post.clone(),
        &format!("{agent_url}/api/kiosk/v1/sessions/{session_id}/pay"),
        ("kiosk", &kiosk_pw),
        None,
    )
    .await;
    assert!(status == 200 || status == 202, "{status} {paid}");
    let receipt = eventually("the kiosk payment to complete", || async {
        let (_, r) = send_to(
            &client,
            reqwest::Method::GET,
            &format!("{agent_url}/api/kiosk/v1/sessions/{session_id}/receipt"),
            ("kiosk", &kiosk_pw),
            None,
        )
        .await;
        if r["status"] == "completed" {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
    .await;
    assert_eq!(receipt["amount"], amount);

    // Money moved exactly: the subscriber got the amount, the agent paid it and the fee.
    assert_eq!(balance().await, amount);
    let (_, payments) = send_to(
        &client,
        get.clone(),
        &format!("{processing_url}/api/admin/v1/payments"),
        ("admin", &processing_pw),
        None,
    )
    .await;
    let payment = &payments[0];
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["amount"], amount);
    let fee = payment["processing_fee"].as_i64().unwrap();
    assert_eq!(
        agent_balance(&client, &processing_url, &processing_pw).await,
        agent_before - amount - fee
    );
    let (_, verify) = send_to(
        &client,
        get.clone(),
        &format!("{processing_url}/api/admin/v1/ledger/verify"),
        ("admin", &processing_pw),
        None,
    )
    .await;
    assert_eq!(verify["ok"], true, "{verify}");

    // Now the calls go through and cost money.
    let (status, used) = use_calls(3).await;
    assert_eq!(status, 200, "{used}");
    let after_calls = balance().await;
    assert!(after_calls < amount, "calls are charged: {used}");

    // The terminal's password went to kiosk-shell through its environment, never argv
    // (which every user of the machine can read).
    let terminal_pw = std::fs::read_to_string(dir.join("agent").join("terminal-password")).unwrap();
    let argv = kiosk_shell_argv(&dir.join("kiosk-shell"));
    assert!(argv.iter().any(|a| a == "--simulator"), "{argv:?}");
    assert!(
        !argv.iter().any(|a| a.contains(terminal_pw.trim())),
        "the terminal password is on kiosk-shell's command line"
    );

    assert_eq!(demo.stop(), Some(0), "Ctrl-C stops the demo cleanly");
    // kiosk-shell journaled the bill, the agent's answer for it, and the page's ack.
    for file in ["acks.jsonl", "delivered.jsonl"] {
        let journal = std::fs::read_to_string(dir.join("kiosk-shell").join(file)).unwrap();
        assert_eq!(journal.lines().count(), 1, "{file}");
    }
    demo.printed.clone()
}

/// The command line of the kiosk-shell process whose journal is `journal`.
fn kiosk_shell_argv(journal: &Path) -> Vec<String> {
    let journal = journal.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .map(|raw| {
            raw.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        })
        .find(|argv| {
            argv.first().is_some_and(|a| a.ends_with("kiosk-shell")) && argv.contains(&journal)
        })
        .expect("kiosk-shell runs beside the demo")
}

async fn agent_balance(client: &reqwest::Client, processing_url: &str, password: &str) -> i64 {
    let (_, agents) = send_to(
        client,
        reqwest::Method::GET,
        &format!("{processing_url}/api/admin/v1/agents"),
        ("admin", password),
        None,
    )
    .await;
    agents[0]["balance"]["amount"].as_i64().unwrap()
}

async fn until<S>(page: &mut S, want: impl Fn(&Value) -> bool) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, page.next())
            .await
            .expect("the bridge said nothing we waited for");
        if let Some(Ok(Message::Text(text))) = next {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if want(&value) {
                return value;
            }
        }
    }
}

/// `paymesh demo` killed with SIGKILL — no Ctrl-C handler runs — takes along every process
/// it started: the participants, HAProxy, kiosk-shell, and PostgreSQL with its backends
/// (`--processing 2 --postgres` has them all). Within seconds each is gone and the ports
/// are free, and the next demo on the same data starts and signs its contracts.
#[tokio::test]
async fn a_demo_killed_with_sigkill_leaves_nothing_running_and_the_next_one_starts() {
    let data = tempfile::tempdir().unwrap();
    let flags = ["--processing", "2", "--postgres"];
    let mut demo = Demo::start(data.path(), &flags);
    let family = proc_tree::descendants(demo.child.id());
    let count = |name: &str| family.iter().filter(|p| p.comm == name).count();
    // Two processing processes, the agent, the consumer, three providers.
    assert_eq!(count("paymesh"), 7, "{family:#?}");
    for name in ["haproxy", "kiosk-shell", "postgres"] {
        assert!(count(name) >= 1, "no {name} below the demo: {family:#?}");
    }

    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    let start = Instant::now();
    let all_gone = || family.iter().all(|p| proc_tree::is_gone(p.pid));
    while !all_gone() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survivors: Vec<_> = family
        .iter()
        .filter(|p| !proc_tree::is_gone(p.pid))
        .collect();
    assert!(
        survivors.is_empty(),
        "still running 10 s after the demo was killed: {survivors:#?}"
    );
    eprintln!(
        "all {} processes of the demo gone {} ms after its SIGKILL",
        family.len(),
        start.elapsed().as_millis()
    );
    for port in ALL_PORTS {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} is still taken after the demo was killed"
        );
    }

    let mut next = Demo::start(data.path(), &flags);
    assert!(
        next.printed
            .iter()
            .any(|l| l.contains("paymesh demo is up")),
        "{:#?}",
        next.printed
    );
    assert_eq!(next.stop(), Some(0), "Ctrl-C stops the next demo cleanly");
}

/// A demo that finds one of its ports taken (here Tele2's, by this test) says which port
/// and that another demo may be running, and exits before it starts anything: its data
/// directory stays empty.
#[test]
fn a_demo_that_finds_a_port_taken_names_it_and_starts_nothing() {
    let _holder = std::net::TcpListener::bind(("127.0.0.1", 8405)).expect("port 8405 is free");
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_paymesh"))
        .args(["demo", "--no-window", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the demo did not stop at the taken port");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("port 8405 (tele2) is already in use: another paymesh demo may be running"),
        "{stderr}"
    );
    let made: Vec<_> = std::fs::read_dir(data.path()).unwrap().flatten().collect();
    assert!(made.is_empty(), "the demo started something: {made:?}");
}
