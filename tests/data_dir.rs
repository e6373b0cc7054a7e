use std::os::unix::fs::PermissionsExt;

use portals::role::Role;
use portals::server::StartError;

use crate::helpers::TestApp;

#[tokio::test]
async fn generated_admin_password_is_private_works_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let app = TestApp::spawn_in(Role::Provider, dir, None).await.unwrap();
    let file = root.join("data/admin-password");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "admin-password must be readable by its owner only"
    );
    let dir_mode = std::fs::metadata(root.join("data"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_eq!(password.len(), 20);
    let ok = app
        .client
        .get(app.url("/"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // Restart on the same directory: the same password, not a new one.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(Role::Provider, dir, None).await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    let ok = app
        .client
        .get(app.url("/"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_second_participant_on_the_same_data_dir_refuses_to_start() {
    let app = TestApp::spawn(Role::Agent).await;
    let settings = crate::helpers::settings(Role::Agent, app.data_dir(), Some("x"));
    match portals::server::App::build(settings).await {
        Err(StartError::Locked { dir, holder }) => {
            assert_eq!(dir, app.data_dir());
            assert_eq!(holder, std::process::id().to_string());
        }
        Err(other) => panic!("expected a lock error, got {other}"),
        Ok(_) => panic!("a second participant started on a locked data directory"),
    }
    // The first one still serves.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_kiosk_and_terminal_passwords_are_generated_beside_the_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(Role::Agent, dir.path().join("data"), None);
    settings.kiosk_password = None;
    settings.terminal_password = None;
    let app = portals::server::App::build(settings).await.unwrap();
    let files: Vec<_> = app
        .generated
        .iter()
        .map(|(_, f, _)| f.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(
        files,
        ["admin-password", "kiosk-password", "terminal-password"]
    );
    for file in ["kiosk-password", "terminal-password"] {
        let mode = std::fs::metadata(dir.path().join("data").join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    // kiosk-shell's password is its own, not the kiosk page's.
    let read = |f: &str| std::fs::read_to_string(dir.path().join("data").join(f)).unwrap();
    assert_ne!(read("kiosk-password"), read("terminal-password"));
}
