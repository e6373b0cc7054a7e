//! The data directory: its lock, and the generated passwords kept in it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StartError;

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "paymesh.lock";

/// Holds an exclusive lock on the data directory for as long as it lives, so two
/// processes never share one database (the second would double-credit nothing, but it
/// would serve stale caches and fight over the log and the outbox).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates the directory (owner-only: it holds passwords and money) if it is missing.
pub fn prepare(dir: &Path) -> Result<(), StartError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| StartError::DataDir {
            dir: dir.to_owned(),
            source: e,
        })?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            StartError::DataDir {
                dir: dir.to_owned(),
                source: e,
            }
        })?;
    }
    Ok(())
}

/// Takes the lock or says who holds it. The OS releases it when the process dies, so a
/// crash never leaves a stale lock behind.
pub fn lock(dir: &Path) -> Result<DataDirLock, StartError> {
    let path = dir.join(LOCK_FILE);
    let io_error = |e| StartError::DataDir {
        dir: dir.to_owned(),
        source: e,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(StartError::Locked {
                dir: dir.to_owned(),
                holder: holder.trim().to_owned(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_error(e)),
    }
    file.set_len(0)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .map_err(io_error)?;
    writeln!(file, "{}", std::process::id())
        .and_then(|_| file.sync_all())
        .map_err(io_error)?;
    Ok(DataDirLock { _file: file })
}

/// A password given on the command line, or kept in `DIR/<file_name>`, or generated
/// now into that file (mode 0600). Returns the password and whether it was generated.
pub fn password(
    dir: &Path,
    file_name: &str,
    given: Option<&str>,
) -> Result<(String, bool), StartError> {
    if let Some(given) = given {
        if given.is_empty() {
            return Err(StartError::Secret {
                path: dir.join(file_name),
                why: "an empty password was given".into(),
            });
        }
        return Ok((given.to_owned(), false));
    }
    let path: PathBuf = dir.join(file_name);
    let secret_error = |why: String| StartError::Secret {
        path: path.clone(),
        why,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let password = text.trim().to_owned();
            if password.is_empty() {
                return Err(secret_error(
                    "the file is empty; delete it to generate a new password".into(),
                ));
            }
            Ok((password, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let password = shared::auth::generate_password();
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| secret_error(e.to_string()))?;
            writeln!(file, "{password}")
                .and_then(|_| file.sync_all())
                .map_err(|e| secret_error(e.to_string()))?;
            Ok((password, true))
        }
        Err(e) => Err(secret_error(e.to_string())),
    }
}

/// Writes `bytes` to `path` readable by the owner only (0600), whichever way the file
/// existed before: a new file is created with that mode (no umask window), an existing
/// one is narrowed before anything is written into it. For files that hold passwords or
/// money outside the database (the demo's `seeded.json`).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.set_len(0)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_owner_only_even_when_they_existed_wider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeded.json");
        std::fs::write(&path, b"an older, longer content").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let fresh = dir.path().join("new.json");
        write_private(&fresh, b"x").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
