//! CCNET command codes and the POLL status a bill validator answers (ccnet.md §1.4, §1.5).

/// Host → device commands this driver sends.
pub mod command {
    pub const RESET: u8 = 0x30;
    pub const GET_STATUS: u8 = 0x31;
    pub const SET_SECURITY: u8 = 0x32;
    pub const POLL: u8 = 0x33;
    pub const ENABLE_BILL_TYPES: u8 = 0x34;
    pub const STACK: u8 = 0x35;
    pub const RETURN: u8 = 0x36;
    pub const IDENTIFICATION: u8 = 0x37;
    pub const HOLD: u8 = 0x38;
    pub const GET_BILL_TABLE: u8 = 0x41;

    /// A name for the frame log.
    pub fn name(code: u8) -> &'static str {
        match code {
            RESET => "RESET",
            GET_STATUS => "GET STATUS",
            SET_SECURITY => "SET SECURITY",
            POLL => "POLL",
            ENABLE_BILL_TYPES => "ENABLE BILL TYPES",
            STACK => "STACK",
            RETURN => "RETURN",
            IDENTIFICATION => "IDENTIFICATION",
            HOLD => "HOLD",
            GET_BILL_TABLE => "GET BILL TABLE",
            0x00 => "ACK",
            0xFF => "NAK",
            _ => "command",
        }
    }
}

/// The one-byte replies that are not data.
pub const ACK: u8 = 0x00;
pub const NAK: u8 = 0xFF;
pub const ILLEGAL_COMMAND: u8 = 0x30;

/// A POLL answer, Z1 with its Z2 where the code has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    PowerUp,
    PowerUpBillInValidator,
    PowerUpBillInStacker,
    Initialize,
    Idling,
    Accepting,
    Stacking,
    Returning,
    UnitDisabled,
    Holding,
    /// Poll again after this many 100 ms.
    Busy(u8),
    /// A bill was refused; the reason code (0x68 = inhibited denomination).
    Rejecting(u8),
    CassetteFull,
    CassetteOut,
    ValidatorJammed,
    CassetteJammed,
    Cheated,
    Pause,
    /// `47 xx`: the sub-codes differ between sources, so the raw byte is kept.
    Failure(u8),
    Escrow(u8),
    Stacked(u8),
    Returned(u8),
    Unknown(u8),
}

impl Status {
    /// Reads the data of a POLL reply.
    pub fn parse(data: &[u8]) -> Option<Status> {
        let (&z1, rest) = data.split_first()?;
        let z2 = rest.first().copied();
        let with = |f: fn(u8) -> Status| z2.map(f);
        Some(match z1 {
            0x10 => Status::PowerUp,
            0x11 => Status::PowerUpBillInValidator,
            0x12 => Status::PowerUpBillInStacker,
            0x13 => Status::Initialize,
            0x14 => Status::Idling,
            0x15 => Status::Accepting,
            0x17 => Status::Stacking,
            0x18 => Status::Returning,
            0x19 => Status::UnitDisabled,
            0x1A => Status::Holding,
            0x1B => return with(Status::Busy).or(Some(Status::Busy(1))),
            0x1C => return with(Status::Rejecting).or(Some(Status::Rejecting(0))),
            0x41 => Status::CassetteFull,
            0x42 => Status::CassetteOut,
            0x43 => Status::ValidatorJammed,
            0x44 => Status::CassetteJammed,
            0x45 => Status::Cheated,
            0x46 => Status::Pause,
            0x47 => return with(Status::Failure).or(Some(Status::Failure(0))),
            0x80 => return with(Status::Escrow),
            0x81 => return with(Status::Stacked),
            0x82 => return with(Status::Returned),
            other => Status::Unknown(other),
        })
    }

    /// The bytes a device sends for this status (the simulator's side).
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Status::PowerUp => vec![0x10],
            Status::PowerUpBillInValidator => vec![0x11],
            Status::PowerUpBillInStacker => vec![0x12],
            Status::Initialize => vec![0x13],
            Status::Idling => vec![0x14],
            Status::Accepting => vec![0x15],
            Status::Stacking => vec![0x17],
            Status::Returning => vec![0x18],
            Status::UnitDisabled => vec![0x19],
            Status::Holding => vec![0x1A],
            Status::Busy(n) => vec![0x1B, n],
            Status::Rejecting(r) => vec![0x1C, r],
            Status::CassetteFull => vec![0x41],
            Status::CassetteOut => vec![0x42],
            Status::ValidatorJammed => vec![0x43],
            Status::CassetteJammed => vec![0x44],
            Status::Cheated => vec![0x45],
            Status::Pause => vec![0x46],
            Status::Failure(x) => vec![0x47, x],
            Status::Escrow(t) => vec![0x80, t],
            Status::Stacked(t) => vec![0x81, t],
            Status::Returned(t) => vec![0x82, t],
            Status::Unknown(b) => vec![b],
        }
    }

    /// The faults that block payments (ccnet.md checklist 28–30).
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            Status::CassetteFull
                | Status::CassetteOut
                | Status::ValidatorJammed
                | Status::CassetteJammed
                | Status::Cheated
                | Status::Failure(_)
        )
    }

    /// Words for the operator and the frame log.
    pub fn describe(self) -> String {
        match self {
            Status::PowerUp => "power up".into(),
            Status::PowerUpBillInValidator => "power up with a bill in the validator".into(),
            Status::PowerUpBillInStacker => "power up with a bill in the stacker".into(),
            Status::Initialize => "initializing".into(),
            Status::Idling => "idling".into(),
            Status::Accepting => "accepting".into(),
            Status::Stacking => "stacking".into(),
            Status::Returning => "returning".into(),
            Status::UnitDisabled => "unit disabled".into(),
            Status::Holding => "holding".into(),
            Status::Busy(n) => format!("busy for {} ms", u32::from(n) * 100),
            Status::Rejecting(r) => format!("rejecting ({})", reject_reason(r)),
            Status::CassetteFull => "drop cassette full".into(),
            Status::CassetteOut => "drop cassette out of position".into(),
            Status::ValidatorJammed => "validator jammed".into(),
            Status::CassetteJammed => "drop cassette jammed".into(),
            Status::Cheated => "cheated".into(),
            Status::Pause => "pause (a second bill was inserted)".into(),
            Status::Failure(x) => format!("failure {x:#04x}"),
            Status::Escrow(t) => format!("escrow, bill type {t}"),
            Status::Stacked(t) => format!("bill stacked, type {t}"),
            Status::Returned(t) => format!("bill returned, type {t}"),
            Status::Unknown(b) => format!("unknown status {b:#04x}"),
        }
    }
}

/// The spec's words for a `1C xx` rejection reason.
pub fn reject_reason(code: u8) -> &'static str {
    match code {
        0x60 => "insertion",
        0x61 => "magnetic",
        0x62 => "previous bill still in the head",
        0x63 => "multiplying",
        0x64 => "conveying",
        0x65 => "identification",
        0x66 => "verification",
        0x67 => "optic",
        0x68 => "inhibited denomination",
        0x69 => "capacity",
        0x6A => "operation",
        0x6C => "length",
        0x6D => "UV",
        0x92..=0x95 => "barcode",
        _ => "unknown reason",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in [
            Status::PowerUp,
            Status::Busy(3),
            Status::Rejecting(0x68),
            Status::Failure(0x50),
            Status::Escrow(4),
            Status::Stacked(23),
            Status::Returned(0),
            Status::Unknown(0x99),
        ] {
            assert_eq!(Status::parse(&status.to_bytes()), Some(status));
        }
        assert_eq!(Status::parse(&[]), None);
        assert_eq!(Status::parse(&[0x80]), None, "escrow without a bill type");
    }
}
