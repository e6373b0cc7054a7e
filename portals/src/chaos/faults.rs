//! The faults of `paymesh chaos`, at seeded points while the payments run: SIGKILL and
//! restart of a participant — every kind in turn (processing, a provider, a terminal),
//! a random one of that kind — and, once, each link cut for the partition's length. Each
//! fault waits for its share of the run, so the faults are spread over the payments, not
//! crowded at the start. Between faults a ledger snapshot must balance.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::Rng;
use super::network::{Kind, Network};

/// What the faults did.
pub struct Done {
    pub kills: usize,
    /// Ledger snapshots that did not balance.
    pub snapshot_violations: i64,
}

pub struct Plan {
    pub kills: usize,
    pub partition_s: u64,
    pub seed: u64,
    pub payments: usize,
}

/// Runs the plan against `net`; `answered` counts the payments the customers are done
/// with, `finished` says they all are.
pub async fn run(
    plan: Plan,
    net: Arc<Network>,
    client: reqwest::Client,
    exe: PathBuf,
    answered: Arc<AtomicUsize>,
    finished: Arc<AtomicBool>,
) -> Done {
    let mut rng = Rng::new(plan.seed);
    let kinds = [Kind::Processing, Kind::Provider, Kind::Agent];
    let first_kind = usize::try_from(rng.below(3)).unwrap_or(0);
    let mut done = Done {
        kills: 0,
        snapshot_violations: 0,
    };
    let mut partitioned = plan.partition_s == 0;
    while done.kills < plan.kills || !partitioned {
        // Fault k waits for the k+1-th of kills+2 parts of the run.
        let share = plan.payments * (done.kills + 1) / (plan.kills + 2);
        while answered.load(Ordering::SeqCst) < share && !finished.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
        if !partitioned && done.kills * 2 >= plan.kills {
            partitioned = true;
            partition(&net, plan.partition_s).await;
            continue;
        }
        if done.kills < plan.kills {
            let kind = kinds[(first_kind + done.kills) % kinds.len()];
            let of_kind: Vec<_> = net.nodes.iter().filter(|n| n.kind == kind).collect();
            let pick = usize::try_from(rng.below(of_kind.len() as u64)).unwrap_or(0);
            let pause = Duration::from_millis(200 + rng.below(800));
            if let Some(node) = of_kind.get(pick) {
                eprintln!(
                    "paymesh chaos: kill {} of {}: SIGKILL {}",
                    done.kills + 1,
                    plan.kills,
                    node.name
                );
                node.kill().await;
                tokio::time::sleep(pause).await;
                if let Err(e) = node.start(&exe).await {
                    eprintln!("paymesh chaos: {e}");
                }
                if let Err(e) = node.healthy(&client).await {
                    eprintln!("paymesh chaos: {e}");
                }
            }
            done.kills += 1;
        }
        // A ledger snapshot between faults: it must balance at every moment.
        if let Ok(v) = net
            .processing_call(&client, reqwest::Method::GET, "/ledger/verify")
            .await
            && v["ok"] != true
        {
            done.snapshot_violations += 1;
        }
        if finished.load(Ordering::SeqCst) && done.kills >= plan.kills {
            break;
        }
    }
    done
}

/// processing ⇄ providers cut for `seconds`, then the terminals ⇄ processing.
async fn partition(net: &Network, seconds: u64) {
    let cut = Duration::from_secs(seconds);
    eprintln!("paymesh chaos: cutting processing ⇄ providers for {seconds} s");
    for link in &net.provider_links {
        link.break_link();
    }
    tokio::time::sleep(cut).await;
    for link in &net.provider_links {
        link.restore();
    }
    eprintln!("paymesh chaos: cutting terminals ⇄ processing for {seconds} s");
    net.terminal_link.break_link();
    tokio::time::sleep(cut).await;
    net.terminal_link.restore();
}
