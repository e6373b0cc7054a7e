//! The agent's server side: the kiosk realm (login `kiosk`) for `/api/kiosk/v1` and the
//! kiosk screens; the UI bundle is open to both the operator and the kiosk.

use std::sync::Arc;

use axum::Router;
use shared::auth::{CredentialStore, SingleLogin};

use crate::server::data_dir;
use crate::server::{RoleContext, RoleParts, StartError};

/// The kiosk's login.
pub const KIOSK_LOGIN: &str = "kiosk";
/// Where a generated kiosk password is kept.
pub const KIOSK_PASSWORD_FILE: &str = "kiosk-password";

pub fn parts(context: &RoleContext) -> Result<RoleParts, StartError> {
    let dir = &context.settings.common.data_dir;
    let (password, generated) = data_dir::password(
        dir,
        KIOSK_PASSWORD_FILE,
        context.settings.kiosk_password.as_deref(),
    )?;
    let kiosk: Arc<dyn CredentialStore> = Arc::new(
        SingleLogin::new("kiosk", KIOSK_LOGIN, &password)
            .map_err(|e| StartError::Other(e.to_string()))?,
    );
    let both = vec![context.admin.clone(), kiosk.clone()];
    let realms = vec![
        ("/api/kiosk/v1", vec![kiosk.clone()]),
        ("/kiosk", vec![kiosk]),
        ("/pkg", both.clone()),
        ("/assets", both),
    ];
    let generated = if generated {
        vec![(
            "kiosk (login kiosk)",
            dir.join(KIOSK_PASSWORD_FILE),
            password,
        )]
    } else {
        Vec::new()
    };
    Ok(RoleParts {
        api: Router::new(),
        ui_context: None,
        realms,
        generated,
    })
}
