//! The process tree, read from /proc: which processes descend from a test's child, and
//! whether one is gone. Shared by kiosk-shell's tests and the workspace's
//! (`tests/main.rs` includes this file by path).

#![allow(dead_code)] // each including test crate uses its own part of it

/// One process as /proc/PID/stat describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// The executable's name, cut to 15 bytes by the kernel.
    pub comm: String,
    /// `R`, `S`, `Z` (a zombie: dead, not yet reaped) …
    pub state: char,
}

/// `pid`'s entry, if the process exists.
pub fn read(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split at the
    // last ')'.
    let (front, back) = stat.rsplit_once(')')?;
    let comm = front.split_once('(')?.1.to_owned();
    let mut fields = back.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        comm,
        state,
    })
}

/// Every process there is.
pub fn all() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(read)
                .collect()
        })
        .unwrap_or_default()
}

/// Every process below `ancestor` (children, their children …), not `ancestor` itself.
pub fn descendants(ancestor: u32) -> Vec<Proc> {
    let procs = all();
    let mut family = vec![ancestor];
    let mut found = Vec::new();
    let mut grew = true;
    while grew {
        grew = false;
        for p in &procs {
            if family.contains(&p.ppid) && !family.contains(&p.pid) {
                family.push(p.pid);
                found.push(p.clone());
                grew = true;
            }
        }
    }
    found
}

/// Whether `pid` no longer runs: there is no such process, or it is a zombie waiting to
/// be reaped. (A pid reused by a new process in between would count as running: the tests
/// look within seconds, long before the kernel wraps around.)
pub fn is_gone(pid: u32) -> bool {
    read(pid).is_none_or(|p| p.state == 'Z')
}
