//! The retrier: re-sends `pay` for pending payments whose next attempt is due, with the
//! same `txn_id` (the payment id), until the provider's answer is final. It lives as long
//! as the process; at start it picks up whatever a previous process left pending. Each
//! payment is claimed with a lease for one attempt (`payment::claim_due`), so two
//! retriers, or a retrier and the request that made the payment, never send the same
//! pay at once, and a payment whose attempt died with its process is taken over when the
//! lease runs out.

use std::time::Duration;

use futures::StreamExt;

use super::ProcessingState;
use super::payment;
use crate::server::clock;

/// How often the retrier looks for due payments.
pub const TICK: Duration = Duration::from_millis(250);
/// Payments taken per look, and attempted at once.
pub const BATCH: i64 = 64;
pub const CONCURRENT_ATTEMPTS: usize = 8;

/// Runs until the database is closed (the participant stopped); spawn it.
pub async fn run(state: ProcessingState) {
    while !state.pool.is_closed() {
        let lease_until = payment::lease_until(state.attempt_lease);
        match payment::claim_due(&state.pool, &clock::now(), &lease_until, BATCH).await {
            Ok(due) if !due.is_empty() => {
                tracing::info!(payments = due.len(), "retrier: attempting pending payments");
                futures::stream::iter(due)
                    .for_each_concurrent(CONCURRENT_ATTEMPTS, |p| {
                        let state = state.clone();
                        async move {
                            if let Err(e) = payment::attempt(&state, &p, None).await {
                                tracing::error!(payment_id = p.id, error = %e, "retrier: attempt failed");
                            }
                        }
                    })
                    .await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retrier: cannot read pending payments"),
        }
        tokio::time::sleep(TICK).await;
    }
}
