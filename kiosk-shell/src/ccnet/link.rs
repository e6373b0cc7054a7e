//! The host's side of the CCNET link layer (ccnet.md §1.3): one command at a time, a
//! per-frame response deadline, NAK on a bad CRC, re-sending on a device NAK or silence
//! up to three times, ACK for every good data reply, and t-free of bus silence after
//! each ACK/NAK before the next command.

use std::io::{self, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use super::codes::{self, ACK, ILLEGAL_COMMAND, NAK};
use super::frame::{self, ADDRESS_BILL_VALIDATOR};
use super::framelog::{Direction, FrameLog};
use super::port::{self, Port};
use super::stream::{FrameReader, Item};

/// The link's timing, with the spec's values as defaults.
#[derive(Debug, Clone)]
pub struct LinkTiming {
    /// How long to wait for a whole reply frame. The spec's t-response is 10 ms; USB
    /// adapters and PTYs deliver in bursts, so a per-frame deadline is kept instead.
    pub response: Duration,
    /// Silence after an ACK/NAK before the next command (spec minimum 10 ms, recommended 20).
    pub t_free: Duration,
    /// Tries per command: the first send and the re-sends after NAK or silence.
    pub tries: u32,
}

impl Default for LinkTiming {
    fn default() -> Self {
        LinkTiming {
            response: Duration::from_millis(150),
            t_free: Duration::from_millis(20),
            tries: 3,
        }
    }
}

/// A device's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ack,
    /// "Command not valid in the current state" (0x30) — not a link error.
    Illegal,
    /// A data reply; the caller must [`Link::ack`] it once it has acted on it.
    Data(Vec<u8>),
}

/// Why a command got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("no reply from the validator")]
    NoResponse,
    #[error("the validator refused the command {0} times (NAK)")]
    Refused(u32),
    #[error("every reply had a bad CRC")]
    Corrupt,
    #[error("serial line failed: {0}")]
    Io(#[from] io::Error),
}

/// The host end of one serial line.
pub struct Link {
    port: Box<dyn Port>,
    reader: FrameReader,
    timing: LinkTiming,
    log: FrameLog,
    /// When the bus became free (end of our last ACK/NAK); the next command waits t-free.
    quiet_since: Option<Instant>,
    /// A data reply not yet acknowledged: the next command ACKs it first.
    owes_ack: bool,
    /// When the device last answered anything.
    pub last_heard: Option<Instant>,
}

impl Link {
    pub fn new(port: Box<dyn Port>, timing: LinkTiming, log: FrameLog) -> Self {
        Link {
            port,
            reader: FrameReader::new(),
            timing,
            log,
            quiet_since: None,
            owes_ack: false,
            last_heard: None,
        }
    }

    /// Sends `command` with `data` and returns the device's answer. A data reply must be
    /// acknowledged with [`Link::ack`]; a device NAK, a bad CRC and silence are retried.
    pub fn request(&mut self, command: u8, data: &[u8]) -> Result<Reply, LinkError> {
        if self.owes_ack {
            self.ack()?;
        }
        let mut payload = Vec::with_capacity(1 + data.len());
        payload.push(command);
        payload.extend_from_slice(data);
        let bytes = frame::encode(ADDRESS_BILL_VALIDATOR, &payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut outcome = LinkError::NoResponse;
        let mut naks = 0;
        for _ in 0..self.timing.tries {
            self.wait_t_free();
            self.send(&bytes, codes::command::name(command))?;
            match self.read_reply()? {
                Some(Answer::Reply(Reply::Data(data))) => {
                    self.owes_ack = true;
                    return Ok(Reply::Data(data));
                }
                Some(Answer::Reply(reply)) => return Ok(reply),
                Some(Answer::Nak) => {
                    naks += 1;
                    outcome = LinkError::Refused(naks);
                }
                Some(Answer::Corrupt) => {
                    self.send_control(NAK)?;
                    outcome = LinkError::Corrupt;
                }
                None => outcome = LinkError::NoResponse,
            }
        }
        Err(outcome)
    }

    /// Sends a command whose data reply needs no decision before it is acknowledged.
    pub fn command(&mut self, command: u8, data: &[u8]) -> Result<Reply, LinkError> {
        let reply = self.request(command, data)?;
        if matches!(reply, Reply::Data(_)) {
            self.ack()?;
        }
        Ok(reply)
    }

    /// Acknowledges the last data reply (ccnet.md checklist 6).
    pub fn ack(&mut self) -> Result<(), LinkError> {
        self.owes_ack = false;
        self.send_control(ACK)
    }

    /// Drops an owed ACK without sending it: the device will repeat its answer, which is
    /// what we want when we could not act on it (e.g. the journal could not be written).
    pub fn withhold_ack(&mut self) {
        self.owes_ack = false;
        self.quiet_since = Some(Instant::now());
    }

    fn send_control(&mut self, code: u8) -> Result<(), LinkError> {
        let bytes = frame::encode(ADDRESS_BILL_VALIDATOR, &[code])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.send(&bytes, codes::command::name(code))?;
        self.quiet_since = Some(Instant::now());
        Ok(())
    }

    fn wait_t_free(&mut self) {
        if let Some(since) = self.quiet_since.take() {
            let free_at = since + self.timing.t_free;
            let now = Instant::now();
            if free_at > now {
                thread::sleep(free_at - now);
            }
        }
    }

    fn send(&mut self, bytes: &[u8], note: &str) -> Result<(), LinkError> {
        self.log.record(Direction::Out, bytes, note);
        self.port.write_all(bytes)?;
        self.port.flush()?;
        Ok(())
    }

    /// Reads until one reply frame from the validator, or the deadline.
    fn read_reply(&mut self) -> Result<Option<Answer>, LinkError> {
        // Anything left from an earlier exchange is stale.
        let stale = self.reader.clear();
        if !stale.is_empty() {
            self.log
                .record(Direction::In, &stale, "stale bytes dropped");
        }
        let deadline = Instant::now() + self.timing.response;
        let mut chunk = [0u8; 256];
        loop {
            while let Some(item) = self.reader.next_item() {
                match item {
                    Item::Garbage(bytes) => self.log.record(Direction::In, &bytes, "garbage"),
                    Item::BadCrc(bytes) => {
                        self.log.record(Direction::In, &bytes, "BAD CRC");
                        self.last_heard = Some(Instant::now());
                        return Ok(Some(Answer::Corrupt));
                    }
                    Item::Frame(frame, raw) if frame.address != ADDRESS_BILL_VALIDATOR => {
                        self.log
                            .record(Direction::In, &raw, "other address, ignored");
                    }
                    Item::Frame(frame, raw) => {
                        self.last_heard = Some(Instant::now());
                        let answer = match frame.payload.as_slice() {
                            [ACK] => Answer::Reply(Reply::Ack),
                            [NAK] => Answer::Nak,
                            [ILLEGAL_COMMAND] => Answer::Reply(Reply::Illegal),
                            _ => Answer::Reply(Reply::Data(frame.payload.clone())),
                        };
                        self.log
                            .record(Direction::In, &raw, answer.note(&frame.payload));
                        return Ok(Some(answer));
                    }
                }
            }
            if Instant::now() >= deadline {
                let partial = self.reader.clear();
                if !partial.is_empty() {
                    self.log.record(Direction::In, &partial, "incomplete frame");
                }
                return Ok(None);
            }
            match self.port.read(&mut chunk) {
                // A serial port with a timeout never reads 0 bytes: the line hung up.
                Ok(0) => {
                    return Err(LinkError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the serial line hung up",
                    )));
                }
                Ok(n) => self.reader.push(&chunk[..n]),
                Err(e) if port::is_timeout(&e) => {}
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
    }
}

enum Answer {
    Reply(Reply),
    Nak,
    Corrupt,
}

impl Answer {
    fn note(&self, payload: &[u8]) -> &'static str {
        match self {
            Answer::Reply(Reply::Ack) => "ACK",
            Answer::Nak => "NAK",
            Answer::Reply(Reply::Illegal) => "ILLEGAL COMMAND",
            Answer::Corrupt => "BAD CRC",
            Answer::Reply(Reply::Data(_)) if payload.len() <= 2 => "status",
            Answer::Reply(Reply::Data(_)) => "data",
        }
    }
}
