//! Turns a byte stream into frames: hunts for SYNC past garbage, waits for frames split
//! across reads, and hands out each of several frames that arrived in one read
//! (ccnet.md pitfall 9).

use super::frame::{self, Frame, FrameError, SYNC};

/// What the next complete piece of the stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A frame with a good CRC, with its raw bytes for the log.
    Frame(Frame, Vec<u8>),
    /// A frame-shaped run of bytes whose CRC is wrong.
    BadCrc(Vec<u8>),
    /// Bytes before a SYNC, or a SYNC with an impossible length, thrown away.
    Garbage(Vec<u8>),
}

/// Accumulates bytes and yields frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buffer: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes waiting that are not a complete frame yet.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// Drops whatever partial frame is buffered (after a response deadline passes).
    pub fn clear(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffer)
    }

    /// The next complete item, or `None` until more bytes arrive.
    pub fn next_item(&mut self) -> Option<Item> {
        if self.buffer.is_empty() {
            return None;
        }
        if self.buffer[0] != SYNC {
            let end = self
                .buffer
                .iter()
                .position(|&b| b == SYNC)
                .unwrap_or(self.buffer.len());
            return Some(Item::Garbage(self.buffer.drain(..end).collect()));
        }
        match frame::frame_len(&self.buffer) {
            Ok(None) => None,
            Ok(Some(len)) if self.buffer.len() < len => None,
            Ok(Some(len)) => {
                let raw: Vec<u8> = self.buffer.drain(..len).collect();
                match frame::decode(&raw) {
                    Ok(frame) => Some(Item::Frame(frame, raw)),
                    Err(FrameError::BadCrc { .. }) => Some(Item::BadCrc(raw)),
                    Err(_) => Some(Item::Garbage(raw)),
                }
            }
            // A SYNC followed by a length no frame has: it was data, not a frame start.
            Err(_) => Some(Item::Garbage(self.buffer.drain(..1).collect())),
        }
    }
}

/// Bytes as `02 03 06 33 DA 81`, for the frame log.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccnet::frame::encode;

    #[test]
    fn hunts_sync_splits_and_merges() {
        let idling = encode(3, &[0x14]).unwrap();
        let escrow = encode(3, &[0x80, 0x04]).unwrap();
        let mut reader = FrameReader::new();
        // Garbage, then a frame split in two reads, then two frames in one read.
        reader.push(&[0xAA, 0x55]);
        reader.push(&idling[..2]);
        assert!(matches!(reader.next_item(), Some(Item::Garbage(g)) if g == [0xAA, 0x55]));
        assert_eq!(reader.next_item(), None);
        reader.push(&idling[2..]);
        let mut both = escrow.clone();
        both.extend_from_slice(&idling);
        reader.push(&both);
        let frames: Vec<_> = std::iter::from_fn(|| reader.next_item()).collect();
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[0], Item::Frame(f, _) if f.payload == [0x14]));
        assert!(matches!(&frames[1], Item::Frame(f, _) if f.payload == [0x80, 0x04]));
        assert!(matches!(&frames[2], Item::Frame(f, _) if f.payload == [0x14]));
    }

    #[test]
    fn bad_crc_and_short_length() {
        let mut bad = encode(3, &[0x14]).unwrap();
        bad[5] ^= 0xFF;
        let mut reader = FrameReader::new();
        reader.push(&bad);
        assert!(matches!(reader.next_item(), Some(Item::BadCrc(_))));
        // LNG 3 is below the minimum of 6: the SYNC is skipped, the rest re-hunted.
        reader.push(&[0x02, 0x03, 0x03]);
        reader.push(&encode(3, &[0x19]).unwrap());
        let items: Vec<_> = std::iter::from_fn(|| reader.next_item()).collect();
        assert!(matches!(items.last(), Some(Item::Frame(f, _)) if f.payload == [0x19]));
        assert_eq!(hex(&[0x02, 0xDA]), "02 DA");
    }
}
