//! HAProxy in front of several processing processes: `deploy/haproxy.cfg`, with the
//! listening address and the servers of this run, started in the foreground. Used by
//! `paymesh demo --processing N` and by the scale-out test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::process::{Child, Command};

use crate::server::children::{DieWithParent, ParentDeathSignal};

/// The configuration in the repository, the one operators start from.
const TEMPLATE: &str = include_str!("../../../deploy/haproxy.cfg");

/// HAProxy's binary on the PATH, if it is installed.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

/// `deploy/haproxy.cfg` listening on `listen`, balancing over `servers` (name, address).
pub fn config(listen: SocketAddr, servers: &[(String, SocketAddr)]) -> String {
    let mut config = String::with_capacity(TEMPLATE.len());
    for line in TEMPLATE.lines() {
        let setting = line.trim_start();
        if setting.starts_with("server ") {
            continue;
        }
        if setting.starts_with("bind ") {
            config.push_str(&format!("    bind {listen}\n"));
        } else {
            config.push_str(line);
            config.push('\n');
        }
    }
    for (name, addr) in servers {
        config.push_str(&format!("    server {name} {addr} check\n"));
    }
    config
}

/// Writes the configuration into `dir` and starts HAProxy with it; its output goes to
/// `dir/haproxy.log`. The child is killed when dropped, and gets SIGTERM when the thread
/// that called this ends (`-db` keeps it one process in the foreground, so that is all of
/// it); call it from one that lives as long as HAProxy should (`server::children`).
pub fn start(
    dir: &Path,
    listen: SocketAddr,
    servers: &[(String, SocketAddr)],
) -> Result<Child, String> {
    let program = binary().ok_or("HAProxy is not installed: apt-get install haproxy")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, config(listen, servers))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let log = std::fs::File::create(dir.join("haproxy.log"))
        .map_err(|e| format!("{}/haproxy.log: {e}", dir.display()))?;
    Command::new(program)
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .kill_on_drop(true)
        .die_with_parent(ParentDeathSignal::Terminate)
        .spawn()
        .map_err(|e| format!("cannot start haproxy: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_gets_this_runs_address_and_servers() {
        let text = config(
            "127.0.0.1:9000".parse().unwrap(),
            &[("a".into(), "127.0.0.1:9001".parse().unwrap())],
        );
        assert!(text.contains("    bind 127.0.0.1:9000\n"));
        assert!(text.contains("    server a 127.0.0.1:9001 check\n"));
        assert!(
            !text.contains("8413"),
            "the template's own servers are gone"
        );
        assert!(text.contains("option httpchk GET /healthz"));
    }
}
