//! `DIR/contracts.json`: the subscriber's contracts and the history of their uses, written
//! atomically — a temporary file beside it, fsync, rename, fsync of the directory — so a
//! crash leaves either the old file or the new one, never half of one. A file that cannot
//! be read is moved aside (`contracts.json.corrupt-<time>`) and reported, never overwritten.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::consumer::server_types::Use;

pub const FILE_NAME: &str = "contracts.json";

/// Uses remembered per contract (the oldest go first).
pub const MAX_USES_PER_CONTRACT: usize = 200;

/// A contract as the provider issued it, plus the provider's name and our id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: u64,
    pub provider_name: String,
    pub subscriber_id: i64,
    pub account: String,
    pub usage_url: String,
    pub protocol: String,
    pub login: String,
    pub password: String,
    pub services: Vec<String>,
    #[serde(default)]
    pub uses: Vec<Use>,
    /// The subscriber's name as the provider last gave it with the history (the header
    /// shows it); absent until the history was first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber_name: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contracts {
    pub next_id: u64,
    pub contracts: Vec<Contract>,
}

/// What loading found.
pub struct Loaded {
    pub contracts: Contracts,
    /// Where an unreadable file was moved, and why it was unreadable.
    pub set_aside: Option<(PathBuf, String)>,
}

/// Reads the file; a missing one is an empty list, an unreadable one is set aside.
pub fn load(dir: &Path) -> std::io::Result<Loaded> {
    let path = dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded {
                contracts: Contracts {
                    next_id: 1,
                    contracts: Vec::new(),
                },
                set_aside: None,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => String::new(),
        Err(e) => return Err(e),
    };
    match serde_json::from_str::<Contracts>(&text) {
        Ok(contracts) => Ok(Loaded {
            contracts,
            set_aside: None,
        }),
        Err(e) => {
            let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
            let aside = dir.join(format!("{FILE_NAME}.corrupt-{stamp}"));
            std::fs::rename(&path, &aside)?;
            tracing::error!(file = %path.display(), kept_as = %aside.display(), error = %e, "contracts file unreadable; set aside");
            Ok(Loaded {
                contracts: Contracts {
                    next_id: 1,
                    contracts: Vec::new(),
                },
                set_aside: Some((aside, e.to_string())),
            })
        }
    }
}

/// Replaces the file with `contracts`, atomically and durably.
pub fn save(dir: &Path, contracts: &Contracts) -> std::io::Result<()> {
    let path = dir.join(FILE_NAME);
    let temp = dir.join(format!(".{FILE_NAME}.tmp"));
    let bytes = serde_json::to_vec_pretty(contracts).map_err(std::io::Error::other)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, &path)?;
    // The rename itself is durable only once the directory is synced.
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(id: u64) -> Contract {
        Contract {
            id,
            provider_name: "Megafon".into(),
            subscriber_id: 1,
            account: "9161234567".into(),
            usage_url: "http://127.0.0.1:1/api/usage/v1/usage".into(),
            protocol: "paymesh-usage/1".into(),
            login: "9161234567".into(),
            password: "pw".into(),
            services: vec!["call".into()],
            uses: Vec::new(),
            subscriber_name: None,
        }
    }

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap().contracts.contracts.len(), 0);
        let contracts = Contracts {
            next_id: 2,
            contracts: vec![contract(1)],
        };
        save(dir.path(), &contracts).unwrap();
        assert_eq!(load(dir.path()).unwrap().contracts, contracts);
        assert!(
            !dir.path().join(".contracts.json.tmp").exists(),
            "no temporary file left behind"
        );
    }

    #[test]
    fn a_corrupt_file_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            b"{\"next_id\": 3, \"contracts\": [",
        )
        .unwrap();
        let loaded = load(dir.path()).unwrap();
        let (aside, _) = loaded.set_aside.expect("set aside");
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            b"{\"next_id\": 3, \"contracts\": ["
        );
        assert!(loaded.contracts.contracts.is_empty());
        assert!(!dir.path().join(FILE_NAME).exists());
    }
}
