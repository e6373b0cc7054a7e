//! Child processes that do not outlive the process that started them.
//!
//! `paymesh demo` and `paymesh <role> --window` start other processes (participants,
//! HAProxy, PostgreSQL, kiosk-shell). When the parent ends in an orderly way it stops them
//! itself; when it is killed outright (SIGKILL, the OOM killer, a crash) nothing of its own
//! runs any more, and its children would keep the demo's fixed ports. Linux's parent-death
//! signal closes that gap: the kernel sends the child a signal when its parent goes.
//!
//! The signal is tied to the *thread* that forked the child, not the whole process: a child
//! spawned from a thread that exits gets its signal then. Spawn these children from a
//! thread that lives as long as they should — `main`, or the runtime's `block_on` on it
//! (a future passed to `Runtime::block_on` is polled on the calling thread, never moved
//! to a worker) — and never from `spawn_blocking`, whose threads end after a while idle.

use std::io;

/// Which signal a child gets when its parent dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentDeathSignal {
    /// An orderly stop: paymesh and kiosk-shell finish their requests, close their
    /// databases and disable the bill validator, as on Ctrl-C.
    Terminate,
    /// PostgreSQL's "fast shutdown": sessions end, what was committed stays.
    Interrupt,
}

impl ParentDeathSignal {
    fn number(self) -> libc::c_int {
        match self {
            ParentDeathSignal::Terminate => libc::SIGTERM,
            ParentDeathSignal::Interrupt => libc::SIGINT,
        }
    }
}

/// A command whose child is sent `signal` when the spawning thread (see the module docs)
/// ends, however it ends.
pub trait DieWithParent {
    fn die_with_parent(&mut self, signal: ParentDeathSignal) -> &mut Self;
}

impl DieWithParent for std::process::Command {
    fn die_with_parent(&mut self, signal: ParentDeathSignal) -> &mut Self {
        let hook = parent_death_hook(signal);
        // SAFETY: the hook calls only prctl(2) and getppid(2), both async-signal-safe, and
        // allocates nothing (its error is a raw OS error), as a pre_exec hook must.
        unsafe { std::os::unix::process::CommandExt::pre_exec(self, hook) }
    }
}

impl DieWithParent for tokio::process::Command {
    fn die_with_parent(&mut self, signal: ParentDeathSignal) -> &mut Self {
        let hook = parent_death_hook(signal);
        // SAFETY: as for std's Command above; tokio hands the hook to std unchanged.
        unsafe { self.pre_exec(hook) }
    }
}

/// What runs in the child between fork and exec. Runs after any other hook registered
/// before it: a hook that changes the user must come first, because a change of
/// credentials clears the parent-death signal.
fn parent_death_hook(signal: ParentDeathSignal) -> impl FnMut() -> io::Result<()> + Send + Sync {
    // SAFETY: getpid has no preconditions and cannot fail.
    let parent = unsafe { libc::getpid() };
    let signal = signal.number();
    move || {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number; the unused arguments are zero.
        let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
        if set == -1 {
            return Err(io::Error::last_os_error());
        }
        // The parent may have died between fork and prctl: no signal will come then, so the
        // child must not start at all.
        // SAFETY: getppid has no preconditions and cannot fail.
        if unsafe { libc::getppid() } != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// A child of a thread that ends is signalled: the hook is really installed.
    #[test]
    fn a_child_dies_when_the_thread_that_started_it_ends() {
        let mut child = std::thread::spawn(|| {
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .die_with_parent(ParentDeathSignal::Terminate)
                .spawn()
                .expect("sleep starts")
        })
        .join()
        .expect("the spawning thread");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        // The process is still our child, so it stays a zombie (state Z) until reaped:
        // it is gone when that is its state, or when it is not there at all.
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z'))
            })
        };
        while !gone() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sleep {pid} outlived its parent thread");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.wait().expect("reaped");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGTERM)
        );
    }
}
