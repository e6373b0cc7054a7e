//! The demo's fixed ports, checked before anything starts: a demo that finds one taken
//! says which, instead of starting half a network that then fails in odd ways (a second
//! demo's seeding met the first demo's participants, with other passwords, and failed
//! with "HTTP 401 Unauthorized").

use std::net::{Ipv4Addr, TcpListener};

/// A port the demo needs, and what it is for (for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPort {
    pub port: u16,
    pub what: String,
}

impl DemoPort {
    pub fn new(port: u16, what: impl Into<String>) -> DemoPort {
        DemoPort {
            port,
            what: what.into(),
        }
    }
}

/// Why the demo cannot have one of its ports.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(
        "port {port} ({what}) is already in use: another paymesh demo may be running \
         (stop it with Ctrl-C), or another program listens there (see `ss -ltnp 'sport = :{port}'`)"
    )]
    Taken { port: u16, what: String },
    #[error("cannot check port {port} ({what}): {source}")]
    Unusable {
        port: u16,
        what: String,
        source: std::io::Error,
    },
}

/// Binds each port on loopback (where the demo listens) and lets go at once; the first
/// one that cannot be bound is the error.
pub fn check_free(ports: &[DemoPort]) -> Result<(), PortError> {
    for DemoPort { port, what } in ports {
        if let Err(source) = TcpListener::bind((Ipv4Addr::LOCALHOST, *port)) {
            let (port, what) = (*port, what.clone());
            return Err(if source.kind() == std::io::ErrorKind::AddrInUse {
                PortError::Taken { port, what }
            } else {
                PortError::Unusable { port, what, source }
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_named_with_what_it_is_for() {
        let holder = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let free = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ports = [
            DemoPort::new(free, "consumer"),
            DemoPort::new(taken, "agent"),
        ];
        let message = check_free(&ports).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("port {taken} (agent) is already in use")),
            "{message}"
        );
        assert!(
            message.contains("another paymesh demo may be running"),
            "{message}"
        );
        drop(holder);
        check_free(&ports).unwrap();
    }
}
