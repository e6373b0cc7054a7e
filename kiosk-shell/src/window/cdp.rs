//! A small client of the Chrome DevTools protocol over `--remote-debugging-pipe`.
//!
//! Why a pipe and not `--remote-debugging-port`: a port on 127.0.0.1 is open to every
//! local process (and to a web page that guesses it), and whoever connects owns the
//! browser. A pipe is inherited by Chromium alone: fd 3 carries our commands, fd 4 its
//! answers and events, each message JSON ended by a NUL byte.
//!
//! Commands are sent from any thread; a reader thread hands each answer to the caller
//! waiting for its `id` and every event to one queue, read by the kiosk's lockdown loop.
//! Sessions are "flat" (`Target.setAutoAttach {flatten: true}`): a command for a page
//! carries its `sessionId`, and so do the page's events.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

/// The largest message accepted from Chromium: a target list or an error page's URL is a
/// few kilobytes; anything near this is not a message we asked for.
const MESSAGE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// How long [`Cdp::call`] waits for an answer. Browser-level commands are answered by the
/// browser process at once; a page's commands wait for its renderer, which is what the
/// hang probe measures with a timeout of its own.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("Chromium closed the DevTools pipe")]
    Closed,
    #[error("no answer to {0} within {1:?}")]
    Timeout(String, Duration),
    #[error("{method} failed: {message}")]
    Refused { method: String, message: String },
    #[error("cannot write to the DevTools pipe: {0}")]
    Write(#[from] std::io::Error),
}

/// An event: `method` (e.g. `Fetch.requestPaused`), its `params`, and the session of the
/// page it came from (`None`: the browser's own).
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    pub session: Option<String>,
}

type Reply = Result<Value, String>;
type Waiting = Arc<Mutex<HashMap<u64, Sender<Reply>>>>;

/// The connection to one Chromium.
pub struct Cdp {
    out: Mutex<Box<dyn Write + Send>>,
    next_id: AtomicU64,
    waiting: Waiting,
    events: Receiver<Event>,
}

/// A command sent and not yet answered.
pub struct Pending {
    method: String,
    answer: Receiver<Reply>,
}

impl Pending {
    /// The answer if it has come: `None` while it has not.
    pub fn poll(&self) -> Option<Result<Value, CdpError>> {
        match self.answer.try_recv() {
            Ok(reply) => Some(self.outcome(reply)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(CdpError::Closed)),
        }
    }

    pub fn wait(self, limit: Duration) -> Result<Value, CdpError> {
        match self.answer.recv_timeout(limit) {
            Ok(reply) => self.outcome(reply),
            Err(RecvTimeoutError::Timeout) => Err(CdpError::Timeout(self.method, limit)),
            Err(RecvTimeoutError::Disconnected) => Err(CdpError::Closed),
        }
    }

    fn outcome(&self, reply: Reply) -> Result<Value, CdpError> {
        reply.map_err(|message| CdpError::Refused {
            method: self.method.clone(),
            message,
        })
    }
}

impl Cdp {
    /// Talks over `from_chromium` (its fd 4) and `to_chromium` (its fd 3).
    pub fn over(
        from_chromium: impl Read + Send + 'static,
        to_chromium: impl Write + Send + 'static,
    ) -> Cdp {
        let waiting: Waiting = Arc::default();
        let (events_tx, events) = mpsc::channel();
        let reader_waiting = waiting.clone();
        // The thread ends when Chromium closes its end (it exited).
        let _ = thread::Builder::new()
            .name("cdp-reader".into())
            .spawn(move || read_loop(from_chromium, &reader_waiting, &events_tx));
        Cdp {
            out: Mutex::new(Box::new(to_chromium)),
            next_id: AtomicU64::new(1),
            waiting,
            events,
        }
    }

    /// Sends a command; its answer comes through the returned [`Pending`].
    pub fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Pending, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, answer) = mpsc::channel();
        self.lock_waiting().insert(id, tx);
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        let written = {
            let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
            out.write_all(&bytes).and_then(|()| out.flush())
        };
        if let Err(e) = written {
            self.lock_waiting().remove(&id);
            return Err(if e.kind() == std::io::ErrorKind::BrokenPipe {
                CdpError::Closed
            } else {
                CdpError::Write(e)
            });
        }
        Ok(Pending {
            method: method.to_owned(),
            answer,
        })
    }

    /// Sends a command and waits for its answer (at most [`CALL_TIMEOUT`]).
    pub fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        self.send(session, method, params)?.wait(CALL_TIMEOUT)
    }

    /// The next event, waiting at most `limit`: `Ok(None)` if none came, `Err(Closed)`
    /// once Chromium is gone and every event has been read.
    pub fn next_event(&self, limit: Duration) -> Result<Option<Event>, CdpError> {
        match self.events.recv_timeout(limit) {
            Ok(event) => Ok(Some(event)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(CdpError::Closed),
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Sender<Reply>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads NUL-ended messages until the pipe closes; answers go to their callers, events to
/// the queue. On the way out every caller still waiting learns the pipe closed (its
/// sender dropped).
fn read_loop(from: impl Read, waiting: &Waiting, events: &Sender<Event>) {
    let mut from = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut from).take(MESSAGE_BYTES_MAX).read_until(0, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.last() != Some(&0) {
            // EOF inside a message, or one too long to be ours: the pipe is no use now.
            tracing::warn!(
                bytes = buf.len(),
                "DevTools pipe: a message without its end"
            );
            break;
        }
        buf.pop();
        let Ok(message) = serde_json::from_slice::<Value>(&buf) else {
            tracing::warn!("DevTools pipe: a message that is not JSON; ignored");
            continue;
        };
        dispatch(message, waiting, events);
    }
    waiting.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

fn dispatch(message: Value, waiting: &Waiting, events: &Sender<Event>) {
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let caller = waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(caller) = caller {
            let reply = match message.get("error") {
                Some(error) => Err(error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_owned()),
                None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
            };
            // A caller that stopped waiting (a probe abandoned) no longer listens.
            let _ = caller.send(reply);
        }
        return;
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return;
    };
    let _ = events.send(Event {
        method: method.to_owned(),
        params: message.get("params").cloned().unwrap_or(Value::Null),
        session: message
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::pipe;

    /// A fake browser on the other ends of two pipes: it answers every command with its
    /// own method name and sends one event first.
    fn fake_browser() -> Cdp {
        let (from_browser, mut browser_out) = pipe().unwrap();
        let (browser_in, to_browser) = pipe().unwrap();
        thread::spawn(move || {
            browser_out
                .write_all(b"{\"method\":\"Target.targetCreated\",\"params\":{\"x\":1},\"sessionId\":\"S\"}\0")
                .unwrap();
            let mut input = BufReader::new(browser_in);
            let mut buf = Vec::new();
            while input.read_until(0, &mut buf).unwrap_or(0) > 0 {
                buf.pop();
                let command: Value = serde_json::from_slice(&buf).unwrap();
                let answer = if command["method"] == "Fail.me" {
                    json!({"id": command["id"], "error": {"code": -32000, "message": "no"}})
                } else {
                    json!({"id": command["id"], "result": {"echo": command["method"], "session": command["sessionId"]}})
                };
                let mut bytes = answer.to_string().into_bytes();
                bytes.push(0);
                browser_out.write_all(&bytes).unwrap();
                buf.clear();
            }
        });
        Cdp::over(from_browser, to_browser)
    }

    #[test]
    fn answers_reach_their_callers_and_events_the_queue() {
        let cdp = fake_browser();
        let event = cdp.next_event(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(event.method, "Target.targetCreated");
        assert_eq!(event.session.as_deref(), Some("S"));
        let a = cdp.send(None, "Browser.getVersion", json!({})).unwrap();
        let b = cdp.call(Some("P"), "Page.enable", json!({})).unwrap();
        assert_eq!(b["echo"], "Page.enable");
        assert_eq!(b["session"], "P");
        assert_eq!(
            a.wait(Duration::from_secs(5)).unwrap()["echo"],
            "Browser.getVersion"
        );
        match cdp.call(None, "Fail.me", json!({})) {
            Err(CdpError::Refused { method, message }) => {
                assert_eq!((method.as_str(), message.as_str()), ("Fail.me", "no"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_events_and_fails_the_callers() {
        let (from_browser, browser_out) = pipe().unwrap();
        let (_browser_in, to_browser) = pipe().unwrap();
        let cdp = Cdp::over(from_browser, to_browser);
        let pending = cdp.send(None, "Browser.getVersion", json!({})).unwrap();
        drop(browser_out);
        assert!(matches!(
            pending.wait(Duration::from_secs(5)),
            Err(CdpError::Closed)
        ));
        assert!(matches!(
            cdp.next_event(Duration::from_secs(5)),
            Err(CdpError::Closed)
        ));
    }
}
