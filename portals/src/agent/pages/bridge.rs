//! The kiosk page's end of the kiosk bridge (wire.md "Kiosk bridge"): kiosk-shell opens
//! the page as `/kiosk?bridge=ws://127.0.0.1:PORT/ccnet`; the page keeps that address for
//! the browser session, connects, and reconnects every two seconds when the link drops.
//!
//! The page enables the validator with what the agent says the session can still take
//! (kiosk-shell asks the agent too and enables the smaller). Cash is none of the page's
//! business: kiosk-shell reports each stacked bill to the agent itself; a `bill` here only
//! tells the page to show the session's new totals, and the page acks it as seen.
//! Without a bridge (a browser, `--kiosk-dev`) nothing here runs.

use leptos::prelude::*;
use serde::Deserialize;
use shared::money::Kopecks;

/// The validator as the shell last described it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidatorView {
    pub state: String,
    pub detail: String,
    #[serde(default)]
    pub simulator: bool,
}

/// A stacked bill, as the shell announces it (kiosk-shell reports it to the agent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BillEvent {
    pub event_id: String,
    pub amount: Kopecks,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum FromShell {
    State(ValidatorView),
    Bill(BillEvent),
    Error { detail: String },
}

/// The page's view of the bridge; cheap to copy into closures.
#[derive(Debug, Clone, Copy)]
pub struct Bridge {
    /// The page was opened by kiosk-shell with a bridge address.
    pub present: RwSignal<bool>,
    /// `None` while not connected.
    pub validator: RwSignal<Option<ValidatorView>>,
    /// Bumped on every (re)connect: the page states its wishes again.
    pub generation: RwSignal<u32>,
    /// Bills announced and not yet acked as seen, oldest first, each once.
    pub bills: RwSignal<Vec<BillEvent>>,
}

impl Bridge {
    pub fn new() -> Self {
        Bridge {
            present: RwSignal::new(false),
            validator: RwSignal::new(None),
            generation: RwSignal::new(0),
            bills: RwSignal::new(Vec::new()),
        }
    }

    /// Connects if the page was opened with a bridge (browser only).
    pub fn start(self) {
        #[cfg(feature = "hydrate")]
        client::start(self);
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn on_text(self, text: &str) {
        match serde_json::from_str::<FromShell>(text) {
            Ok(FromShell::State(view)) => self.validator.set(Some(view)),
            Ok(FromShell::Bill(bill)) => self.bills.update(|queue| {
                if !queue.iter().any(|b| b.event_id == bill.event_id) {
                    queue.push(bill);
                }
            }),
            Ok(FromShell::Error { detail }) => leptos::logging::warn!("kiosk bridge: {detail}"),
            Err(e) => leptos::logging::warn!("kiosk bridge: unreadable message: {e}"),
        }
    }

    /// Accept bills up to `room` in total.
    pub fn enable(&self, room: Kopecks) {
        if room.is_positive() {
            self.send(&serde_json::json!({"type": "enable", "max_amount": room}));
        } else {
            self.disable();
        }
    }

    pub fn disable(&self) {
        self.send(&serde_json::json!({"type": "disable"}));
    }

    /// The page has shown the bill.
    pub fn ack(&self, event_id: &str) {
        self.send(&serde_json::json!({"type": "ack", "event_id": event_id}));
    }

    /// A line of the simulator's script (only when the shell runs the simulator).
    pub fn simulate(&self, action: &str) {
        self.send(&serde_json::json!({"type": "simulate", "action": action}));
    }

    fn send(&self, message: &serde_json::Value) {
        #[cfg(feature = "hydrate")]
        client::send(&message.to_string());
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }
}

impl Default for Bridge {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::RefCell;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    use super::Bridge;

    const STORAGE_KEY: &str = "paymesh-kiosk-bridge";

    thread_local! {
        // A WebSocket is a browser object: it stays on the page's one thread.
        static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
    }

    /// The bridge address from `?bridge=`, remembered for the session (the language
    /// switch reloads the page without the query).
    fn address() -> Option<String> {
        let window = web_sys::window()?;
        let storage = window.session_storage().ok().flatten();
        let search = window.location().search().ok().unwrap_or_default();
        let from_query = web_sys::UrlSearchParams::new_with_str(&search)
            .ok()
            .and_then(|p| p.get("bridge"))
            .filter(|a| a.starts_with("ws://") || a.starts_with("wss://"));
        if let (Some(address), Some(storage)) = (&from_query, &storage) {
            let _ = storage.set_item(STORAGE_KEY, address);
        }
        from_query.or_else(|| storage.and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()))
    }

    pub fn start(bridge: Bridge) {
        let Some(address) = address() else {
            return;
        };
        bridge.present.set(true);
        connect(bridge, address);
    }

    fn connect(bridge: Bridge, address: String) {
        let Ok(socket) = WebSocket::new(&address) else {
            retry(bridge, address);
            return;
        };
        let on_open = Closure::<dyn FnMut()>::new(move || {
            bridge.generation.update(|g| *g += 1);
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                bridge.on_text(&text);
            }
        });
        let again = address.clone();
        let on_close = Closure::<dyn FnMut()>::new(move || {
            bridge.validator.set(None);
            SOCKET.with(|s| s.borrow_mut().take());
            retry(bridge, again.clone());
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // The handlers live as long as the page.
        on_open.forget();
        on_message.forget();
        on_close.forget();
        SOCKET.with(|s| *s.borrow_mut() = Some(socket));
    }

    fn retry(bridge: Bridge, address: String) {
        set_timeout(
            move || connect(bridge, address),
            std::time::Duration::from_secs(2),
        );
    }

    pub fn send(text: &str) {
        SOCKET.with(|s| {
            if let Some(socket) = s.borrow().as_ref()
                && socket.ready_state() == WebSocket::OPEN
            {
                let _ = socket.send_with_str(text);
            }
        });
    }
}
