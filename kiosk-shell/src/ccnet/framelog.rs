//! The hex frame log (ccnet.md checklist 35): every frame with a timestamp and its
//! direction, for diagnosing a validator in the field. Lines look like
//! `2026-11-26T09:30:00.123Z > 02 03 06 33 DA 81  POLL`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::stream::hex;

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
    file: Option<File>,
}

impl FrameLog {
    /// A log that only goes to tracing.
    pub fn tracing_only() -> Self {
        Self::default()
    }

    /// Appends to `path` (created if missing).
    pub fn to_file(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FrameLog { file: Some(file) })
    }

    pub fn record(&mut self, direction: Direction, bytes: &[u8], note: &str) {
        let arrow = match direction {
            Direction::Out => '>',
            Direction::In => '<',
        };
        let line = format!("{} {arrow} {}  {note}", timestamp(), hex(bytes));
        tracing::trace!(target: "ccnet::frames", "{line}");
        if let Some(file) = &mut self.file {
            // A log line lost to a full disk must not stop the money path.
            let _ = writeln!(file, "{line}");
        }
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
