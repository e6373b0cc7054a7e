//! The load generator the `cargo bench` benchmarks share (scale_out, login_flood): `total`
//! requests with `concurrency` in flight, timed one by one. (`paymesh bench` has its own,
//! with HdrHistogram, pacing and progress: portals::bench::drive.)

use std::time::{Duration, Instant};

pub struct Run {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Sends `total` requests made by `request(i)` with `concurrency` in flight.
pub async fn load<F, Fut>(total: usize, concurrency: usize, request: F) -> Run
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let next = next.clone();
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break latencies;
                }
                let t = Instant::now();
                assert!(request(i).await, "request {i} failed");
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Run {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}
