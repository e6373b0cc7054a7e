//! kiosk-shell as a process, for the tests that need the terminal's body: the simulator
//! behind the real CCNET driver, the bridge, the journal, and the reporter that hands
//! bills to the agent with the terminal credential. Its stdout names the bridge.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{KIOSK_PASSWORD, TERMINAL_PASSWORD};

pub struct KioskShell {
    child: std::process::Child,
    /// `ws://127.0.0.1:PORT/ccnet?token=T`, as the shell wrote it into `bridge-url` for
    /// the page it opens.
    pub bridge: String,
    /// The page's origin the bridge admits: the portal's.
    origin: String,
    journal: PathBuf,
}

impl KioskShell {
    /// Starts `kiosk-shell --simulator --no-window` on the agent at `portal`, with its
    /// journal in `journal` (reused across restarts), the passwords in its environment.
    pub fn start(portal: SocketAddr, journal: &Path) -> KioskShell {
        use std::io::BufRead;
        let binary =
            std::path::Path::new(env!("CARGO_BIN_EXE_paymesh")).with_file_name("kiosk-shell");
        assert!(
            binary.exists(),
            "{} is missing: `cargo build -p kiosk-shell` builds it",
            binary.display()
        );
        let mut child = std::process::Command::new(binary)
            .args(["--portal", &format!("http://{portal}/kiosk")])
            .args(["--portal-login", "kiosk", "--simulator", "--no-window"])
            .args(["--bridge-listen", "127.0.0.1:0", "--journal"])
            .arg(journal)
            .env("KIOSK_PORTAL_PASSWORD", KIOSK_PASSWORD)
            .env("KIOSK_TERMINAL_LOGIN", "terminal")
            .env("KIOSK_TERMINAL_PASSWORD", TERMINAL_PASSWORD)
            .stdout(std::process::Stdio::piped())
            // Its log beside the journal, for a failing test's reader.
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(journal.join("kiosk-shell.log"))
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains("bridge on "))
            .expect("kiosk-shell names its bridge");
        // Keep reading, so that the shell never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let bridge = std::fs::read_to_string(journal.join("bridge-url"))
            .expect("kiosk-shell writes its bridge URL before it says it is up")
            .trim()
            .to_string();
        KioskShell {
            child,
            bridge,
            origin: format!("http://{portal}"),
            journal: journal.to_path_buf(),
        }
    }

    /// Lines of a journal file (`acks.jsonl`, `delivered.jsonl`, …).
    pub fn journal_lines(&self, file: &str) -> Vec<String> {
        std::fs::read_to_string(self.journal.join(file))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The stacked bills of `bills.jsonl` (not its STACK lines).
    pub fn journaled_bills(&self) -> Vec<Value> {
        self.journal_lines("bills.jsonl")
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("event_id").is_some())
            .collect()
    }

    /// Script lines for the simulated unit (`POST /sim` on the bridge's port).
    pub async fn simulate(&self, script: &str) {
        let (port, token) = self
            .bridge
            .trim_start_matches("ws://")
            .split_once("/ccnet?token=")
            .unwrap();
        let response = crate::helpers::plain_client()
            .post(format!("http://{port}/sim?token={token}"))
            .body(script.to_owned())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }

    /// A client standing in for the kiosk page on the bridge.
    pub async fn page(&self) -> Page {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.bridge.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", self.origin.parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the bridge takes a page");
        Page { socket }
    }

    /// Ends the process at once, as a crash or a power cut would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for KioskShell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Page {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Page {
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next message `want` accepts (30 s at most).
    pub async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the bridge said nothing we waited for");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if want(&value) {
                        return value;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the bridge closed: {other:?}"),
            }
        }
    }
}
