//! The consumer's server side: the contracts file and the API that uses the services
//! (`/api/admin/v1/contracts`, wire.md "Consumer").

pub mod api;
pub mod contracts_file;
pub mod dashboard;
pub mod history;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::server::{RoleContext, RoleParts, StartError};
use contracts_file::Contracts;

/// How long a provider may take to answer a use.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// What every consumer handler needs. The mutex serialises changes of the file.
#[derive(Clone)]
pub struct ConsumerState {
    pub dir: PathBuf,
    pub contracts: Arc<Mutex<Contracts>>,
    pub client: reqwest::Client,
    /// Set when the file found at start was unreadable: where it was moved, and why.
    pub set_aside: Option<(PathBuf, String)>,
}

/// The consumer's client of providers' usage URLs (HTTP or HTTPS, `--ca-file` trusted).
pub fn client(trust: &shared::outbound::Trust) -> Result<reqwest::Client, StartError> {
    trust
        .client(PROVIDER_TIMEOUT)
        .map_err(|e| StartError::Other(format!("cannot build the HTTP client: {e}")))
}

pub fn parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    let dir = context.settings.common.data_dir.clone();
    let loaded = contracts_file::load(&dir).map_err(|e| {
        StartError::Other(format!(
            "cannot read {}: {e}",
            dir.join(contracts_file::FILE_NAME).display()
        ))
    })?;
    let state = ConsumerState {
        dir,
        contracts: Arc::new(Mutex::new(loaded.contracts)),
        client: client(&context.trust)?,
        set_aside: loaded.set_aside,
    };
    let api = api::router(state.clone());
    Ok(RoleParts {
        api,
        ui_context: Some(Arc::new(move || {
            leptos::prelude::provide_context(state.clone())
        })),
        realms: Vec::new(),
        generated: Vec::new(),
    })
}
