//! CCNET framing: `SYNC(0x02) ADR LNG [CMD] DATA CRC_L CRC_H`, with the CRC-16/KERMIT of
//! everything before it, sent LSB first. LNG counts the whole frame; a frame longer than
//! 250 bytes puts 0 in LNG and a big-endian 16-bit length after the command byte
//! (ccnet.md §1.1, case 1).

/// First byte of every frame.
pub const SYNC: u8 = 0x02;
/// The bill validator's bus address.
pub const ADDRESS_BILL_VALIDATOR: u8 = 0x03;
/// The largest frame whose length fits in the LNG byte.
pub const MAX_SHORT_FRAME: usize = 250;

/// CRC-16/KERMIT (reflected 0x1021 = 0x8408, init 0, no final xor), as the spec's reference C code.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame does not start with SYNC 0x02")]
    NoSync,
    #[error("frame is shorter than its length field says")]
    Truncated,
    #[error("frame length field is impossible ({0})")]
    BadLength(usize),
    #[error("CRC mismatch: frame says {stated:#06x}, content gives {computed:#06x}")]
    BadCrc { stated: u16, computed: u16 },
    #[error("payload of {0} bytes is too long for a frame")]
    TooLong(usize),
}

/// Encodes a frame to `address` with `payload` (the command byte and its data for the
/// host, the reply data for a device).
pub fn encode(address: u8, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let short_len = payload.len() + 5;
    let mut frame = Vec::with_capacity(short_len + 2);
    frame.push(SYNC);
    frame.push(address);
    if short_len <= MAX_SHORT_FRAME {
        frame.push(short_len as u8);
        frame.extend_from_slice(payload);
    } else {
        let (command, data) = payload.split_first().ok_or(FrameError::TooLong(0))?;
        let long_len = payload.len() + 7;
        let long_len = u16::try_from(long_len).map_err(|_| FrameError::TooLong(payload.len()))?;
        frame.push(0);
        frame.push(*command);
        frame.extend_from_slice(&long_len.to_be_bytes());
        frame.extend_from_slice(data);
    }
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    Ok(frame)
}

/// A checked frame: its address and payload (command + data, or reply data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub address: u8,
    pub payload: Vec<u8>,
}

/// Total length of the frame at the start of `bytes`, once enough of it is there to tell.
pub fn frame_len(bytes: &[u8]) -> Result<Option<usize>, FrameError> {
    if bytes.first().is_some_and(|&b| b != SYNC) {
        return Err(FrameError::NoSync);
    }
    match bytes.get(2) {
        None => Ok(None),
        Some(0) => match (bytes.get(4), bytes.get(5)) {
            (Some(&hi), Some(&lo)) => {
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                if len < 8 {
                    Err(FrameError::BadLength(len))
                } else {
                    Ok(Some(len))
                }
            }
            _ => Ok(None),
        },
        Some(&len) if len < 6 => Err(FrameError::BadLength(usize::from(len))),
        Some(&len) => Ok(Some(usize::from(len))),
    }
}

/// Decodes exactly one frame.
pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    let len = frame_len(bytes)?.ok_or(FrameError::Truncated)?;
    if bytes.len() < len {
        return Err(FrameError::Truncated);
    }
    let (body, crc) = bytes[..len].split_at(len - 2);
    let stated = u16::from_le_bytes([crc[0], crc[1]]);
    let computed = crc16(body);
    if stated != computed {
        return Err(FrameError::BadCrc { stated, computed });
    }
    let payload = if body[2] == 0 {
        let mut p = vec![body[3]];
        p.extend_from_slice(&body[6..]);
        p
    } else {
        body[3..].to_vec()
    };
    Ok(Frame {
        address: body[1],
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x2189);
    }

    #[test]
    fn spec_vectors_round_trip() {
        let vectors: &[(&[u8], &str)] = &[
            (&[0x33], "02 03 06 33 DA 81"),
            (&[0x30], "02 03 06 30 41 B3"),
            (&[0x00], "02 03 06 00 C2 82"),
            (&[0x37], "02 03 06 37 FE C7"),
            (&[0x41], "02 03 06 41 4F D1"),
            (&[0x35], "02 03 06 35 EC E4"),
            (
                &[0x34, 0xFF, 0xFF, 0xFF, 0, 0, 0],
                "02 03 0C 34 FF FF FF 00 00 00 B5 C1",
            ),
            (
                &[0x34, 0, 0, 0, 0, 0, 0],
                "02 03 0C 34 00 00 00 00 00 00 17 0C",
            ),
            (&[0x80, 0x04], "02 03 07 80 04 A8 75"),
            (&[0x81, 0x04], "02 03 07 81 04 70 6C"),
            (&[0x47, 0x50], "02 03 07 47 50 AB E6"),
        ];
        for (payload, wire) in vectors {
            let wire = hex(wire);
            assert_eq!(encode(ADDRESS_BILL_VALIDATOR, payload).unwrap(), wire);
            assert_eq!(
                decode(&wire).unwrap(),
                Frame {
                    address: 3,
                    payload: payload.to_vec()
                }
            );
        }
    }

    #[test]
    fn long_frames_round_trip() {
        let mut payload = vec![0x50];
        payload.extend((0..300).map(|i| i as u8));
        let wire = encode(ADDRESS_BILL_VALIDATOR, &payload).unwrap();
        assert_eq!(wire[2], 0);
        assert_eq!(frame_len(&wire).unwrap(), Some(wire.len()));
        assert_eq!(decode(&wire).unwrap().payload, payload);
    }

    #[test]
    fn refuses_damaged_frames() {
        let mut wire = hex("02 03 06 33 DA 81");
        wire[3] ^= 1;
        assert!(matches!(decode(&wire), Err(FrameError::BadCrc { .. })));
        assert_eq!(decode(&hex("02 03 06 33")), Err(FrameError::Truncated));
        assert_eq!(decode(&hex("03 03 06 33 DA 81")), Err(FrameError::NoSync));
        assert_eq!(
            decode(&hex("02 03 04 33 DA 81")),
            Err(FrameError::BadLength(4))
        );
        assert_eq!(frame_len(&hex("02 03")), Ok(None));
    }
}
