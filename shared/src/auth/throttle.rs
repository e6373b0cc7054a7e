//! Login throttling (wire.md, "Common rules"): after [`MAX_FAILURES`] failed logins for
//! one login from one client address within [`FAILURE_WINDOW`], every further attempt
//! for that login from that address — right password or not — is refused with `429
//! too_many_attempts` and `Retry-After` until the lockout ends. The refusal comes before
//! any credential store is asked, so a throttled attempt costs no argon2 work.
//!
//! What counts as a failure: a request with a well-formed Basic credential that no store
//! of the path accepts — a wrong password, a login of another realm, and an unknown login
//! alike (otherwise guessing logins would be free). A request without credentials is not
//! an attempt (browsers send one first to get the challenge).
//!
//! Lockouts grow: the first lasts [`FIRST_LOCKOUT`]; another within [`LOCKOUT_MEMORY`]
//! of the last lasts twice as long, up to [`MAX_LOCKOUT`] (wire.md's bound on
//! `Retry-After`). So a patient guesser gets about 10 tries per 5 minutes, not 10 per
//! minute.
//!
//! Memory is bounded whatever clients send: logins are kept as fixed-size keyed digests,
//! at most [`MAX_LOGINS_PER_CLIENT`] logins per client address (further logins from that
//! address share one "other logins" counter, so a flood of invented logins locks *them*
//! rather than pushing the real target out of the table), and at most [`MAX_CLIENTS`]
//! addresses (when that many are failing at once, further addresses share one "crowd"
//! entry: the table never grows and the throttle is never bypassed; the price is that
//! new addresses may be refused together during such a flood). Expired entries are swept
//! when the table is full, at most once per [`SWEEP_INTERVAL`].
//!
//! IPv6 clients are counted per /64, the block one subscriber line usually gets, so
//! hopping through its addresses does not reset the count. Without a peer address (a
//! router driven in-process, not through `axum::serve` with `ConnectInfo`), all requests
//! share one client entry — stricter, never looser.
//!
//! The counts live in one process: N processing processes behind a load balancer allow
//! up to N × 10 failures per minute in total.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins tolerated within [`FAILURE_WINDOW`]; the next attempt is refused.
pub const MAX_FAILURES: usize = 10;
/// The sliding window the failures are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long the first lockout lasts.
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
/// The longest lockout (wire.md: `Retry-After` is at most 300 s).
pub const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// A lockout that starts within this time after the previous one ended lasts twice as long.
pub const LOCKOUT_MEMORY: Duration = Duration::from_secs(300);
/// Client addresses tracked at once (beyond them: the shared "crowd" entry).
pub const MAX_CLIENTS: usize = 4096;
/// Logins tracked per client address (beyond them: the address's "other logins" counter).
pub const MAX_LOGINS_PER_CLIENT: usize = 16;
/// The least time between two sweeps of a full table, so a flood cannot make every
/// request walk the whole table.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Where an attempt comes from, as the throttle counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Net([u8; 8]),
    /// No peer address was known.
    Unknown,
    /// Any address beyond [`MAX_CLIENTS`].
    Crowd,
}

impl ClientKey {
    fn of(address: Option<IpAddr>) -> ClientKey {
        match address.map(|a| a.to_canonical()) {
            Some(IpAddr::V4(v4)) => ClientKey::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                let mut net = [0u8; 8];
                net.copy_from_slice(&v6.octets()[..8]);
                ClientKey::V6Net(net)
            }
            None => ClientKey::Unknown,
        }
    }
}

/// A login as a fixed-size digest: a login is up to a header's size, a digest 32 bytes.
type LoginKey = [u8; 32];

/// The failures of one login (or one group of logins) from one client.
#[derive(Debug, Default)]
struct Attempts {
    /// Times of the failures still inside the window, oldest first; at most [`MAX_FAILURES`].
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
    /// Lockouts in a row (each within [`LOCKOUT_MEMORY`] of the previous one).
    lockouts: u32,
}

impl Attempts {
    /// How long this entry is still locked, if it is.
    fn remaining_lockout(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Counts a failure; `Some(lockout)` when this one starts a lockout.
    fn fail(&mut self, now: Instant) -> Option<Duration> {
        while self
            .failures
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= FAILURE_WINDOW)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        if self.failures.len() < MAX_FAILURES {
            return None;
        }
        self.failures.clear();
        let in_a_row = self
            .locked_until
            .is_some_and(|until| now.saturating_duration_since(until) < LOCKOUT_MEMORY);
        self.lockouts = if in_a_row {
            self.lockouts.saturating_add(1)
        } else {
            1
        };
        let doublings = self.lockouts.saturating_sub(1).min(8);
        let lockout = FIRST_LOCKOUT
            .saturating_mul(1 << doublings)
            .min(MAX_LOCKOUT);
        self.locked_until = Some(now + lockout);
        Some(lockout)
    }

    /// Nothing left to remember: no failure in the window, no lockout to extend.
    fn expired(&self, now: Instant) -> bool {
        let failures_gone = self
            .failures
            .back()
            .is_none_or(|&at| now.saturating_duration_since(at) >= FAILURE_WINDOW);
        let lockout_forgotten = self
            .locked_until
            .is_none_or(|until| now.saturating_duration_since(until) >= LOCKOUT_MEMORY);
        failures_gone && lockout_forgotten
    }
}

/// Everything counted for one client address.
#[derive(Debug, Default)]
struct Client {
    logins: HashMap<LoginKey, Attempts>,
    /// Logins beyond [`MAX_LOGINS_PER_CLIENT`], counted together.
    other_logins: Attempts,
}

impl Client {
    /// The counter an attempt for `login` is judged by, if there is one.
    fn attempts(&self, login: &LoginKey) -> Option<&Attempts> {
        match self.logins.get(login) {
            Some(attempts) => Some(attempts),
            None if self.logins.len() >= MAX_LOGINS_PER_CLIENT => Some(&self.other_logins),
            None => None,
        }
    }

    /// The counter a failure for `login` goes to, made if needed and if there is room.
    fn attempts_mut(&mut self, login: LoginKey, now: Instant) -> &mut Attempts {
        if !self.logins.contains_key(&login) && self.logins.len() >= MAX_LOGINS_PER_CLIENT {
            self.logins.retain(|_, attempts| !attempts.expired(now));
        }
        if self.logins.contains_key(&login) || self.logins.len() < MAX_LOGINS_PER_CLIENT {
            self.logins.entry(login).or_default()
        } else {
            &mut self.other_logins
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.other_logins.expired(now) && self.logins.values().all(|a| a.expired(now))
    }
}

#[derive(Debug, Default)]
struct Table {
    clients: HashMap<ClientKey, Client>,
    last_sweep: Option<Instant>,
}

impl Table {
    /// Forgets whatever has expired, unless the last sweep was very recent.
    fn sweep(&mut self, now: Instant) {
        let due = self
            .last_sweep
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_INTERVAL);
        if due {
            self.clients.retain(|_, client| !client.expired(now));
            self.last_sweep = Some(now);
        }
    }
}

/// Counts failed logins per login and client address; one per [`super::Gate`].
#[derive(Default)]
pub struct LoginThrottle {
    /// Names logins by a secret digest, so what the table holds says nothing about them.
    digest: super::SecretDigest,
    table: Mutex<Table>,
}

/// Whole seconds a client must wait, rounded up, as `Retry-After` carries them.
fn whole_seconds(left: Duration) -> u64 {
    let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    seconds.clamp(1, MAX_LOCKOUT.as_secs())
}

impl LoginThrottle {
    fn login_key(&self, login: &str) -> LoginKey {
        self.digest.of(&[login])
    }

    /// `Err(seconds)` when an attempt for `login` from `client` must be refused now;
    /// the seconds (1..=300) are what `Retry-After` says.
    pub fn check(&self, client: Option<IpAddr>, login: &str) -> Result<(), u64> {
        self.check_at(Instant::now(), client, login)
    }

    /// Counts a failed login; `Some(lockout)` when this failure starts a lockout.
    pub fn record_failure(&self, client: Option<IpAddr>, login: &str) -> Option<Duration> {
        self.record_failure_at(Instant::now(), client, login)
    }

    fn check_at(&self, now: Instant, client: Option<IpAddr>, login: &str) -> Result<(), u64> {
        let login = self.login_key(login);
        let client = ClientKey::of(client);
        // A poisoned lock means a panic elsewhere mid-update; the counts are still
        // usable, and refusing every login over it would be worse.
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match table.clients.get(&client) {
            Some(entry) => Some(entry),
            None => table.clients.get(&ClientKey::Crowd),
        };
        match entry
            .and_then(|entry| entry.attempts(&login))
            .and_then(|attempts| attempts.remaining_lockout(now))
        {
            Some(left) => Err(whole_seconds(left)),
            None => Ok(()),
        }
    }

    fn record_failure_at(
        &self,
        now: Instant,
        client: Option<IpAddr>,
        login: &str,
    ) -> Option<Duration> {
        let login = self.login_key(login);
        let mut client = ClientKey::of(client);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !table.clients.contains_key(&client) && table.clients.len() >= MAX_CLIENTS {
            table.sweep(now);
            if table.clients.len() >= MAX_CLIENTS {
                client = ClientKey::Crowd;
            }
        }
        table
            .clients
            .entry(client)
            .or_default()
            .attempts_mut(login, now)
            .fail(now)
    }

    /// Client entries held (for tests of the bound).
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.table.lock().map(|t| t.clients.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    fn fail_times(
        throttle: &LoginThrottle,
        now: Instant,
        client: Option<IpAddr>,
        login: &str,
        n: usize,
    ) {
        for _ in 0..n {
            let _ = throttle.record_failure_at(now, client, login);
        }
    }

    #[test]
    fn ten_failures_lock_that_login_from_that_address_only() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        fail_times(&throttle, t0, v4(1), "admin", MAX_FAILURES - 1);
        assert_eq!(
            throttle.check_at(t0, v4(1), "admin"),
            Ok(()),
            "nine are tolerated"
        );
        assert_eq!(
            throttle.record_failure_at(t0, v4(1), "admin"),
            Some(FIRST_LOCKOUT)
        );
        assert_eq!(throttle.check_at(t0, v4(1), "admin"), Err(60));
        assert_eq!(
            throttle.check_at(t0, v4(2), "admin"),
            Ok(()),
            "another address"
        );
        assert_eq!(
            throttle.check_at(t0, v4(1), "kiosk"),
            Ok(()),
            "another login"
        );
        let later = t0 + Duration::from_millis(59_500);
        assert_eq!(
            throttle.check_at(later, v4(1), "admin"),
            Err(1),
            "rounded up"
        );
        assert_eq!(
            throttle.check_at(t0 + FIRST_LOCKOUT, v4(1), "admin"),
            Ok(())
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        fail_times(&throttle, t0, v4(1), "admin", MAX_FAILURES - 1);
        let next_minute = t0 + FAILURE_WINDOW;
        fail_times(&throttle, next_minute, v4(1), "admin", MAX_FAILURES - 1);
        assert_eq!(throttle.check_at(next_minute, v4(1), "admin"), Ok(()));
    }

    #[test]
    fn lockouts_in_a_row_grow_up_to_five_minutes() {
        let throttle = LoginThrottle::default();
        let mut now = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..5 {
            fail_times(&throttle, now, v4(1), "admin", MAX_FAILURES - 1);
            let lockout = throttle.record_failure_at(now, v4(1), "admin").unwrap();
            assert!(throttle.check_at(now, v4(1), "admin").is_err());
            seen.push(lockout.as_secs());
            now += lockout;
        }
        assert_eq!(seen, [60, 120, 240, 300, 300]);
        let rested = now + LOCKOUT_MEMORY;
        fail_times(&throttle, rested, v4(1), "admin", MAX_FAILURES - 1);
        assert_eq!(
            throttle.record_failure_at(rested, v4(1), "admin"),
            Some(FIRST_LOCKOUT),
            "a rested login starts over"
        );
    }

    #[test]
    fn an_ipv6_subscriber_is_counted_per_64_block() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for host in 0..MAX_FAILURES as u16 {
            let address = Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, host);
            let _ = throttle.record_failure_at(t0, Some(IpAddr::V6(address)), "admin");
        }
        let hopped = Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9);
        assert!(
            throttle
                .check_at(t0, Some(IpAddr::V6(hopped)), "admin")
                .is_err()
        );
        let other_line = Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1);
        assert!(
            throttle
                .check_at(t0, Some(IpAddr::V6(other_line)), "admin")
                .is_ok()
        );
        let mapped = Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped();
        fail_times(
            &throttle,
            t0,
            Some(IpAddr::V6(mapped)),
            "admin",
            MAX_FAILURES,
        );
        assert!(
            throttle.check_at(t0, v4(7), "admin").is_err(),
            "v4-mapped is v4"
        );
    }

    #[test]
    fn invented_logins_cannot_push_the_target_out() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        // The attacker fills its address's slots with invented logins first...
        for n in 0..1000 {
            let _ = throttle.record_failure_at(t0, v4(1), &format!("guess-{n}"));
        }
        // ...then goes for the real one, which now shares the overflow counter: locked.
        assert!(throttle.check_at(t0, v4(1), "admin").is_err());
        let client = throttle.table.lock().unwrap();
        assert_eq!(client.clients.len(), 1);
        assert_eq!(
            client.clients[&ClientKey::V4([192, 0, 2, 1])].logins.len(),
            MAX_LOGINS_PER_CLIENT
        );
        drop(client);
        assert!(
            throttle.check_at(t0, v4(2), "admin").is_ok(),
            "others unaffected"
        );
    }

    #[test]
    fn the_table_stays_bounded_and_is_swept() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for n in 0..(MAX_CLIENTS as u32 + 500) {
            let address = Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)));
            let _ = throttle.record_failure_at(t0, address, "admin");
        }
        assert_eq!(
            throttle.clients(),
            MAX_CLIENTS + 1,
            "the rest share the crowd entry"
        );
        // The crowd is counted like one address: ten failures from beyond the table
        // lock the login for every address beyond it, never for none.
        let outsider = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)));
        assert!(throttle.check_at(t0, outsider, "admin").is_err());
        // Once their failures have left the window, a new failure sweeps them away.
        let later = t0 + FAILURE_WINDOW;
        let _ = throttle.record_failure_at(later, outsider, "admin");
        assert_eq!(
            throttle.clients(),
            2,
            "the crowd (still locked) and the newcomer"
        );
    }
}
