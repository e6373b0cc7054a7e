//! The serial line under the driver and the simulator: 9600 8N1, no flow control, short
//! read timeouts so a reader can keep its own deadlines.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

/// A byte pipe with a read timeout: a serial port, a PTY, or anything a test provides.
pub trait Port: Read + Write + Send {}
impl<T: Read + Write + Send> Port for T {}

/// How long one `read` may block. Deadlines are kept above this, per frame.
pub const READ_SLICE: Duration = Duration::from_millis(5);

/// Opens a serial device or a PTY at 9600 8N1. Modem lines are left alone: a PTY has
/// none ("Not a typewriter") and a CashCode unit does not use them.
pub fn open(path: &Path) -> io::Result<Box<dyn Port>> {
    let path = path.to_string_lossy();
    let port = serialport::new(path.as_ref(), 9600)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(READ_SLICE)
        .open_native()
        .map_err(io::Error::from)?;
    Ok(Box::new(port))
}

/// Two connected ends, as `socat pty,raw,echo=0 pty,raw,echo=0` gives, without socat:
/// the shell's `--simulator` runs the device on one and the driver on the other.
pub fn pty_pair() -> io::Result<(Box<dyn Port>, Box<dyn Port>)> {
    let (mut a, mut b) = serialport::TTYPort::pair().map_err(io::Error::from)?;
    for end in [&mut a, &mut b] {
        serialport::SerialPort::set_timeout(end, READ_SLICE).map_err(io::Error::from)?;
    }
    Ok((Box::new(a), Box::new(b)))
}

/// True for the errors a read timeout gives, which are not failures of the line.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
