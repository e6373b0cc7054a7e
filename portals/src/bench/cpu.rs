//! What a phase of the bench cost in CPU, beside what it took in wall-clock time.
//!
//! The development machines are virtual machines on shared hosts: while a bench runs, the
//! host may give the guest's CPUs to someone else ("steal", up to a third of the time in
//! the runs of docs/performance.md), and a rate measured in one phase then compares badly
//! with a ceiling measured in the next. The CPU this process itself spent is not counted
//! while its CPU is stolen (the kernel accounts steal apart), so CPU per request compares
//! across phases and runs where rates per second do not. The steal share is printed with
//! it, so a reader sees how contended the machine was.

use std::time::Instant;

/// A phase's start: this process's CPU time and the machine's counters.
pub struct Meter {
    cpu: Option<f64>,
    machine: Option<MachineTicks>,
    started: Instant,
}

/// What a phase cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// User and system CPU seconds this process spent (every thread).
    pub cpu_seconds: Option<f64>,
    /// The share of the machine's CPU time the host took away (0–1), over the phase.
    pub steal_share: Option<f64>,
    /// The share of the machine's CPU time left idle (0–1), over the phase.
    pub idle_share: Option<f64>,
    pub wall_seconds: f64,
}

impl CpuUse {
    /// Two phases as one: CPU added, shares weighted by each phase's wall time.
    pub fn and(self, other: CpuUse) -> CpuUse {
        let wall = self.wall_seconds + other.wall_seconds;
        let weighted = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if wall > 0.0 => {
                Some((a * self.wall_seconds + b * other.wall_seconds) / wall)
            }
            _ => None,
        };
        CpuUse {
            cpu_seconds: self.cpu_seconds.zip(other.cpu_seconds).map(|(a, b)| a + b),
            steal_share: weighted(self.steal_share, other.steal_share),
            idle_share: weighted(self.idle_share, other.idle_share),
            wall_seconds: wall,
        }
    }

    /// CPU microseconds per request, given how many requests the phase made.
    pub fn us_per(&self, requests: u64) -> Option<f64> {
        match (self.cpu_seconds, requests) {
            (Some(cpu), n) if n > 0 => Some(cpu * 1e6 / n as f64),
            _ => None,
        }
    }
}

impl Meter {
    pub fn start() -> Meter {
        Meter {
            cpu: process_cpu_seconds(),
            machine: MachineTicks::read(),
            started: Instant::now(),
        }
    }

    pub fn stop(self) -> CpuUse {
        let cpu = match (self.cpu, process_cpu_seconds()) {
            (Some(before), Some(after)) if after >= before => Some(after - before),
            _ => None,
        };
        let shares = match (self.machine, MachineTicks::read()) {
            (Some(before), Some(after)) => after.shares_since(&before),
            _ => None,
        };
        CpuUse {
            cpu_seconds: cpu,
            steal_share: shares.map(|s| s.0),
            idle_share: shares.map(|s| s.1),
            wall_seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}

/// User + system CPU seconds of this process so far.
fn process_cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    let done = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if done != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above (and zeroed before it).
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// The machine's CPU counters of `/proc/stat`'s first line (Linux; clock ticks).
#[derive(Debug, Clone, Copy)]
struct MachineTicks {
    total: u64,
    idle: u64,
    steal: u64,
}

impl MachineTicks {
    fn read() -> Option<MachineTicks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        MachineTicks::parse(stat.lines().next()?)
    }

    /// `cpu  user nice system idle iowait irq softirq steal guest guest_nice`; guest time
    /// is counted in user already, so it is not added again.
    fn parse(line: &str) -> Option<MachineTicks> {
        let mut fields = line.split_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        let values: Vec<u64> = fields
            .take(8)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        if values.len() < 8 {
            return None;
        }
        Some(MachineTicks {
            total: values.iter().sum(),
            idle: values[3] + values[4],
            steal: values[7],
        })
    }

    /// (steal, idle) shares of the time between `before` and `self`.
    fn shares_since(&self, before: &MachineTicks) -> Option<(f64, f64)> {
        let total = self.total.checked_sub(before.total)?;
        if total == 0 {
            return None;
        }
        let steal = self.steal.checked_sub(before.steal)?;
        let idle = self.idle.checked_sub(before.idle)?;
        Some((steal as f64 / total as f64, idle as f64 / total as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_and_idle_are_shares_of_the_ticks_between_two_readings() {
        let before = MachineTicks::parse("cpu  100 0 50 800 50 0 0 0 0 0").unwrap();
        let after = MachineTicks::parse("cpu  300 0 150 900 50 0 0 200 0 0").unwrap();
        let (steal, idle) = after.shares_since(&before).unwrap();
        // 600 ticks passed: 200 user, 100 system, 100 idle, 200 stolen.
        assert!((steal - 200.0 / 600.0).abs() < 1e-9);
        assert!((idle - 100.0 / 600.0).abs() < 1e-9);
        assert!(MachineTicks::parse("intr 1 2 3").is_none());
        assert!(MachineTicks::parse("cpu 1 2 3").is_none());
        // Counters that went backwards (another boot's file) say nothing.
        assert!(before.shares_since(&after).is_none());
    }

    #[test]
    fn a_busy_loop_costs_cpu_and_the_cost_is_divided_per_request() {
        let meter = Meter::start();
        let mut x = 0u64;
        let until = Instant::now() + std::time::Duration::from_millis(50);
        while Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = meter.stop();
        let cpu = used.cpu_seconds.unwrap();
        assert!(cpu > 0.0, "a 50-ms busy loop used no CPU");
        assert!((used.us_per(10).unwrap() - cpu * 1e5).abs() < 1e-6);
        assert!(used.us_per(0).is_none());
    }
}
