//! The four kinds of participant. Known to both the server and the hydrated UI.

use std::fmt;

/// Which participant a process (and its portal) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Consumer,
    Provider,
    Processing,
    Agent,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Consumer,
        Role::Provider,
        Role::Processing,
        Role::Agent,
    ];

    /// The name used on the command line, in realms (`paymesh-<role>`) and in `/healthz`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Consumer => "consumer",
            Role::Provider => "provider",
            Role::Processing => "processing",
            Role::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether the participant keeps a SQL database (the consumer keeps a JSON file).
    pub const fn has_database(self) -> bool {
        !matches!(self, Role::Consumer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
