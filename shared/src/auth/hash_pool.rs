//! The password-hashing pool: a fixed number of worker threads take argon2 work from a
//! queue of bounded length. Work that finds the queue full is refused at once
//! ([`HashBusy`], a `503` with `Retry-After` at the gate) instead of waiting, so a flood
//! of wrong passwords costs the process at most [`hash_workers`] busy cores and
//! [`HASH_QUEUE_CAPACITY`] queued jobs: the async runtime, `/healthz` and clients whose
//! credentials are already in a `VerifiedCache` never wait behind it.
//!
//! Dedicated threads rather than `spawn_blocking`: tokio's blocking pool grows to
//! hundreds of threads on demand, and a semaphore in front of it queues without bound.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

/// Worker threads of the process-wide pool: half the cores, at least one. argon2 keeps a
/// core fully busy, so a pool as large as the machine would leave nothing for serving
/// (`benches/login_flood.rs` on two cores with two workers: `/healthz` p50 under 1,000
/// wrong passwords in flight was 2–5 times that under 1,000 requests without credentials).
pub fn hash_workers() -> usize {
    std::thread::available_parallelism()
        .map(|cores| cores.get() / 2)
        .unwrap_or(1)
        .max(1)
}
/// Jobs that may wait for a worker; one more is refused, not queued.
pub const HASH_QUEUE_CAPACITY: usize = 64;
/// What a refused client is told to wait (`Retry-After`): the queue drains in well under
/// a second (64 jobs of tens of ms on two workers).
pub const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// The queue was full (or the pool could not start); nothing was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password-hashing queue is full")]
pub struct HashBusy;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads fed by one bounded queue.
pub struct HashPool {
    queue: SyncSender<Job>,
}

impl HashPool {
    /// Starts `workers` threads behind a queue of `queue_capacity` waiting jobs.
    pub fn new(workers: usize, queue_capacity: usize) -> std::io::Result<HashPool> {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Job>(queue_capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("paymesh-hash-{n}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(HashPool { queue })
    }

    /// Queues `job` if there is room; refuses with [`HashBusy`] at once when the queue
    /// is full.
    pub fn try_run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Pending<T>, HashBusy> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A client that hung up while its job waited gets no hashing done for it.
            if !done.is_closed() {
                let _ = done.send(job());
            }
        });
        match self.queue.try_send(job) {
            Ok(()) => Ok(Pending(result)),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(HashBusy),
        }
    }
}

/// A queued job's result to come.
pub struct Pending<T>(tokio::sync::oneshot::Receiver<T>);

impl<T> Pending<T> {
    /// Waits for the job; `None` if it panicked.
    pub async fn wait(self) -> Option<T> {
        self.0.await.ok()
    }
}

/// One worker: takes the next job and runs it, until the pool is dropped. A job that
/// panics loses only its own answer (its sender is dropped), not the worker.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job, never while one runs.
        let next = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else {
            return;
        };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// The process-wide pool every credential store hashes on.
pub fn shared() -> Result<&'static HashPool, HashBusy> {
    static POOL: OnceLock<Option<HashPool>> = OnceLock::new();
    POOL.get_or_init(|| match HashPool::new(hash_workers(), HASH_QUEUE_CAPACITY) {
        Ok(pool) => Some(pool),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the password-hashing threads; every uncached login will be refused");
            None
        }
    })
    .as_ref()
    .ok_or(HashBusy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that holds its worker until the test lets go.
    fn blocker(pool: &HashPool) -> (std::sync::mpsc::Sender<()>, Pending<()>) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let pending = pool
            .try_run(move || {
                let _ = released.recv();
            })
            .expect("an idle pool takes a job");
        (release, pending)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_the_queued_work_still_runs() {
        let pool = HashPool::new(1, 2).unwrap();
        let (release, running) = blocker(&pool);
        // The worker may not have taken the blocker off the queue yet: fill the queue
        // until it refuses, which proves the refusal, then count what was taken.
        let mut queued = Vec::new();
        let mut refused = 0;
        for n in 0..10u32 {
            match pool.try_run(move || n * 2) {
                Ok(pending) => queued.push((n, pending)),
                Err(HashBusy) => refused += 1,
            }
        }
        assert!(
            queued.len() <= 2,
            "two queue slots beside the busy worker, yet {} jobs were taken",
            queued.len()
        );
        assert!(refused >= 8, "the rest is refused, not queued");
        release.send(()).unwrap();
        assert_eq!(running.wait().await, Some(()));
        for (n, pending) in queued {
            assert_eq!(
                pending.wait().await,
                Some(n * 2),
                "queued work is done, not dropped"
            );
        }
        assert_eq!(
            pool.try_run(|| 7).unwrap().wait().await,
            Some(7),
            "room again"
        );
    }

    #[tokio::test]
    async fn work_nobody_waits_for_any_more_is_skipped() {
        let pool = HashPool::new(1, 4).unwrap();
        let (release, running) = blocker(&pool);
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let abandoned = pool
            .try_run(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))
            .unwrap();
        drop(abandoned);
        release.send(()).unwrap();
        assert_eq!(running.wait().await, Some(()));
        // The worker takes jobs in order: once this one is done, the abandoned one was seen.
        assert_eq!(pool.try_run(|| 1).unwrap().wait().await, Some(1));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panicking_job_loses_only_its_answer() {
        let pool = HashPool::new(1, 4).unwrap();
        let panicked = pool.try_run(|| -> u8 { panic!("bad hash") }).unwrap();
        assert_eq!(panicked.wait().await, None);
        assert_eq!(
            pool.try_run(|| 5).unwrap().wait().await,
            Some(5),
            "the worker lives on"
        );
    }
}
