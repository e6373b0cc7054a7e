//! A TCP proxy for fault injection on one link (processing → a provider, the terminals →
//! processing): it forwards, or refuses connections (`break_link`), or accepts them and
//! never answers (`hang`). With several targets (processes of one processing center) it
//! hands connections round in turn and skips a target that refuses, as a load balancer
//! with health checks would. Used by `paymesh chaos` and by the tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

const PASS: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;

pub struct ChaosProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl ChaosProxy {
    /// A proxy on a free loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<ChaosProxy> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), target).await
    }

    /// A proxy listening on `listen`, forwarding to `target`.
    pub async fn start_on(listen: SocketAddr, target: SocketAddr) -> std::io::Result<ChaosProxy> {
        Self::balancing(listen, vec![target]).await
    }

    /// A proxy listening on `listen`, handing each connection to the next of `targets`
    /// that accepts it.
    pub async fn balancing(
        listen: SocketAddr,
        targets: Vec<SocketAddr>,
    ) -> std::io::Result<ChaosProxy> {
        let targets: Arc<[SocketAddr]> = targets.into();
        let turn = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mode = Arc::new(AtomicU8::new(PASS));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (task_mode, task_connections) = (mode.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                match task_mode.load(Ordering::SeqCst) {
                    REFUSE => drop(inbound),
                    HANG => {
                        let held = tokio::spawn(async move {
                            let _keep = &mut inbound;
                            std::future::pending::<()>().await;
                        });
                        task_connections
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(held.abort_handle());
                    }
                    _ => {
                        let (targets, first) =
                            (targets.clone(), turn.fetch_add(1, Ordering::Relaxed));
                        let piped = tokio::spawn(async move {
                            for k in 0..targets.len() {
                                let target = targets[(first + k) % targets.len()];
                                if let Ok(mut outbound) = TcpStream::connect(target).await {
                                    let _ =
                                        tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                            .await;
                                    return;
                                }
                            }
                        });
                        task_connections
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(piped.abort_handle());
                    }
                }
            }
        })
        .abort_handle();
        Ok(ChaosProxy {
            addr,
            mode,
            connections,
            accept,
        })
    }

    fn cut_all(&self) {
        for connection in self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            connection.abort();
        }
    }

    /// The provider is unreachable: open connections are cut, new ones refused.
    pub fn break_link(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_all();
    }

    /// The provider accepts connections and never answers (a timeout).
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_all();
    }

    /// Back to forwarding.
    pub fn restore(&self) {
        self.mode.store(PASS, Ordering::SeqCst);
        self.cut_all();
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}
