//! The hex frame log (ccnet.md checklist 35): every frame with a timestamp and its
//! direction, for diagnosing a validator in the field. Lines look like
//! `2026-11-26T09:30:00.123Z > 02 03 06 33 DA 81  POLL`.
//!
//! A validator polled every 200 ms says "idling" five times a second, all day: logged in
//! full that is some 80 MB a day of the same three lines. So a POLL exchange whose status
//! repeats the previous one is counted, not written, and the count is written when
//! something changes (`… 1234 identical POLL exchanges`). The file is also capped: past
//! [`MAX_LOG_BYTES`] it moves to `frames.log.1` (replacing the older one) and starts anew.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::codes::{ACK, command};
use super::stream::hex;

/// Size at which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;

/// Direction of a frame, from the writer's point of view.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// Host → device.
    Out,
    /// Device → host.
    In,
}

/// Where frames are written: a file, and the `ccnet::frames` tracing target at TRACE.
#[derive(Debug, Default)]
pub struct FrameLog {
    file: Option<(File, PathBuf, u64)>,
    /// A POLL held back until its answer shows whether the exchange repeats the last one.
    held_poll: Option<String>,
    last_status: Option<Vec<u8>>,
    /// The ACK that closes a repeated exchange is not written either.
    skip_next_ack: bool,
    repeats: u64,
}

impl FrameLog {
    /// A log that only goes to tracing.
    pub fn tracing_only() -> Self {
        Self::default()
    }

    /// Appends to `path` (created if missing).
    pub fn to_file(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let mut log = FrameLog::default();
        log.file = Some((file, path.to_path_buf(), size));
        Ok(log)
    }

    pub fn record(&mut self, direction: Direction, frame: &[u8], note: &str) {
        let arrow = match direction {
            Direction::Out => '>',
            Direction::In => '<',
        };
        let line = format!("{} {arrow} {}  {note}", timestamp(), hex(frame));
        let payload = frame.get(3..frame.len().saturating_sub(2)).unwrap_or(&[]);
        match direction {
            Direction::Out if payload == [command::POLL] => {
                // A POLL still held got no status: it is news (and so is the count).
                if self.held_poll.is_some() {
                    self.flush_held();
                }
                self.held_poll = Some(line);
                return;
            }
            Direction::Out if payload == [ACK] && std::mem::take(&mut self.skip_next_ack) => {
                return;
            }
            Direction::In if self.held_poll.is_some() && note == "status" => {
                if self.last_status.as_deref() == Some(payload) {
                    self.held_poll = None;
                    self.repeats += 1;
                    self.skip_next_ack = true;
                    return;
                }
                self.last_status = Some(payload.to_vec());
            }
            _ => {}
        }
        self.skip_next_ack = false;
        self.flush_held();
        self.write(&line);
    }

    /// Writes the count of omitted exchanges and a held POLL.
    fn flush_held(&mut self) {
        if self.repeats > 0 {
            let n = std::mem::take(&mut self.repeats);
            self.write(&format!("{} … {n} identical POLL exchanges", timestamp()));
        }
        if let Some(poll) = self.held_poll.take() {
            self.write(&poll);
        }
    }

    fn write(&mut self, line: &str) {
        tracing::trace!(target: "ccnet::frames", "{line}");
        let Some((file, path, size)) = &mut self.file else {
            return;
        };
        // A log line lost to a full disk must not stop the money path.
        if writeln!(file, "{line}").is_ok() {
            *size += line.len() as u64 + 1;
        }
        if *size > MAX_LOG_BYTES {
            let mut old = path.clone().into_os_string();
            old.push(".1");
            if std::fs::rename(&*path, &old).is_ok()
                && let Ok(fresh) = OpenOptions::new().create(true).append(true).open(&*path)
            {
                *file = fresh;
                *size = 0;
            }
        }
    }
}

impl Drop for FrameLog {
    fn drop(&mut self) {
        self.flush_held();
    }
}

/// UTC time with milliseconds.
fn timestamp() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccnet::frame::encode;

    fn exchange(log: &mut FrameLog, status: u8) {
        log.record(Direction::Out, &encode(3, &[0x33]).unwrap(), "POLL");
        log.record(Direction::In, &encode(3, &[status]).unwrap(), "status");
        log.record(Direction::Out, &encode(3, &[0x00]).unwrap(), "ACK");
    }

    #[test]
    fn repeated_polls_are_counted_and_the_file_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.log");
        {
            let mut log = FrameLog::to_file(&path).unwrap();
            exchange(&mut log, 0x14);
            for _ in 0..5 {
                exchange(&mut log, 0x14);
            }
            exchange(&mut log, 0x15);
            log.record(Direction::Out, &encode(3, &[0x35]).unwrap(), "STACK");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8, "{text}");
        assert!(lines[0].ends_with("> 02 03 06 33 DA 81  POLL"));
        assert!(lines[1].ends_with("< 02 03 06 14 67 D4  status"));
        assert!(lines[2].ends_with("  ACK"));
        assert!(lines[3].ends_with("… 5 identical POLL exchanges"));
        assert!(lines[4].ends_with("POLL") && lines[5].contains(" 15 "));
        assert!(lines[7].ends_with("STACK"));

        let mut log = FrameLog::to_file(&path).unwrap();
        let big = vec![0u8; 250];
        let frame = encode(3, &big).unwrap();
        while std::fs::metadata(dir.path().join("frames.log.1")).is_err() {
            log.record(Direction::In, &frame, "data");
        }
        assert!(std::fs::metadata(&path).unwrap().len() < MAX_LOG_BYTES);
    }
}
